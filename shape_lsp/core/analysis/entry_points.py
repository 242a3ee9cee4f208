"""Find the models of a file and run each one that no example call has run yet.

Inputs, in order: configured shapes (`[tool.shape-lsp] input-shapes`), the file's example
call (already run during the module pass), jaxtyping annotations on forward, a
`# shape: x=(B, 3, 32, 32)` comment, else symbols from the first layer each input reaches
(Conv2d(3, ...) implies (B, 3, H, W)).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import libcst as cst

from shape_lsp.core.analysis.inputs import (
    assumption,
    comment_inputs,
    discover,
    input_params,
    inputs_for,
    optional_inputs,
    shape_of_spec,
)
from shape_lsp.core.analysis.interpreters import recorder_of
from shape_lsp.core.analysis.workspace import workspace_of
from shape_lsp.core.config import Settings
from shape_lsp.core.interpreter.module_calls import Site
from shape_lsp.core.interpreter.objects import ClassInfo, Container, ModuleInstance, type_name
from shape_lsp.core.results import Finding, ModelSummary, ShapeFact
from shape_lsp.core.source.names import dotted
from shape_lsp.core.source.parse import Chunk
from shape_lsp.core.values.abstract import ASSUMED_FLOAT32, Tensor, Value

if TYPE_CHECKING:
    from shape_lsp.core.interpreter.frame import Frame
    from shape_lsp.core.interpreter.interpret import Interpreter
    from shape_lsp.core.interpreter.objects import FunctionRef


def analyze_models(interp: Interpreter) -> None:
    """Run every model class / module-level Sequential not yet run by an example call."""
    from shape_lsp.core.interpreter.frame import Budget, Frame

    done = {m.name for m in recorder_of(interp).models}
    instances: dict[str, ModuleInstance] = {}
    for name, v in list(interp.globals.items()):
        if isinstance(v, ModuleInstance) and v.cls.name not in instances:
            instances[v.cls.name] = v
        if isinstance(v, Container) and v.kind in ("Sequential", "Functional") and name not in done:
            _guard(interp, lambda n=name, c=v: _run_sequential(interp, n, c))
    file = _file(interp)
    for info in list(interp.classes.values()):
        if info.framework not in ("torch", "keras") or info.name in done:
            continue
        inst = instances.get(info.name)
        run = lambda i=info, m=inst: _run_class(interp, i, m, Frame, Budget)  # noqa: E731
        if inst is not None or info.framework != "torch" or file is None:
            _guard(interp, run)
        else:
            _cached_run(interp, info, file, run)
    _run_factories(interp, file)


_Place = tuple[str, int, int, tuple[int, ...]]
_File = tuple[tuple[str, ...], set[_Place], set[str]]


def _place(c: Chunk) -> _Place:
    return c.parsed.text, c.start_line, c.col_offset, tuple(c.line_map or ())


def _file(interp: Interpreter) -> _File | None:
    """The text of every top-level statement (class bodies: skeletons), every chunk and
    method piece with its place, and their texts; None without a workspace (no caching)."""
    if workspace_of(interp) is None:
        return None
    chunks = interp.parsed.chunks
    places = {_place(m) for c in chunks for m in (c, *c.members)}
    return tuple(c.parsed.text for c in chunks), places, {p[0] for p in places}


@dataclass(eq=False)
class _Run:
    """What one model run (or factory probe) recorded, and everything it depended on."""

    env: tuple[str, ...]
    settings: Settings
    generation: int  # the workspace's: imported files unchanged
    touched: list[_Place]  # the code that ran, and where it was
    findings: list[tuple[Any, Finding]]
    facts: list[tuple[Any, ShapeFact]]
    models: list[ModelSummary]

    def valid(self, interp: Interpreter, file: _File, placed: bool = True) -> bool:
        """Nothing it depended on has changed: the file's top-level statements, the
        settings, the imported files, and the text and place of every piece of code it ran
        (an edit in another method, or below it, leaves it valid). Without `placed` only
        the pieces' text counts: for runs that recorded nothing, where lines don't matter."""
        ws = workspace_of(interp)
        return (
            ws is not None
            and self.generation == ws.generation
            and self.env == file[0]
            and self.settings == interp.settings
            and (
                all(p in file[1] for p in self.touched)
                if placed
                else all(p[0] in file[2] for p in self.touched)
            )
        )


MAX_RUNS = 2048


def _tracked(
    interp: Interpreter, file: _File, run: Callable[[], None], touched: dict[int, Chunk]
) -> _Run | None:
    """Run under `_guard`, noting the code that ran and everything recorded; None when it
    ended in an internal error (never cached)."""
    ws, rec = workspace_of(interp), recorder_of(interp)
    assert ws is not None
    capture: tuple[list[tuple[Any, Finding]], list[tuple[Any, ShapeFact]]] = ([], [])
    n_models, n_errors = len(rec.models), len(rec.errors)
    interp.touched, rec.capture = touched, capture
    try:
        _guard(interp, run)
    finally:
        interp.touched, rec.capture = None, None
    if len(rec.errors) > n_errors or rec.quiet:
        return None
    return _Run(
        file[0],
        interp.settings,
        ws.generation,
        [_place(c) for c in touched.values() if c.origin == rec.origin],
        capture[0],
        capture[1],
        rec.models[n_models:],
    )


def _store(interp: Interpreter, key: tuple[str, str], run: _Run | None) -> None:
    ws = workspace_of(interp)
    assert ws is not None
    if run is None:
        ws.runs.pop(key, None)
        return
    if len(ws.runs) >= MAX_RUNS:
        ws.runs.clear()
    ws.runs[key] = run


def _cached_run(interp: Interpreter, info: ClassInfo, file: _File, run: Callable[[], None]) -> None:
    """Run a model class, or replay its last run when nothing it depended on has changed."""
    ws, rec = workspace_of(interp), recorder_of(interp)
    assert ws is not None
    key = (rec.origin, info.name)
    hit = ws.runs.get(key)
    if isinstance(hit, _Run) and hit.valid(interp, file):
        for k, f in hit.findings:
            rec.findings.setdefault(k, f)
        for k2, fact in hit.facts:
            rec.facts.setdefault(k2, fact)
        rec.models.extend(hit.models)
        return
    touched = {id(m): m for m in (info.chunk, *info.chunk.members)}
    _store(interp, key, _tracked(interp, file, run, touched))


MAX_FACTORIES = 24
MAX_FACTORY_MISSES = 3


def _run_factories(interp: Interpreter, file: _File | None) -> None:
    """Public functions without required arguments that build a model (`resnet18()`): each
    distinct model structure they build is run once, with symbolic inputs."""
    from shape_lsp.core.interpreter.frame import Frame
    from shape_lsp.core.interpreter.objects import FunctionRef

    seen: set[tuple[str, frozenset[str]]] = set()
    failed: list[frozenset[str]] = []  # what the factories that built nothing called
    probed = misses = 0
    for name, fn in list(interp.globals.items()):
        if (
            not isinstance(fn, FunctionRef)
            or name.startswith("_")
            or fn.owner is not None
            or fn.chunk.origin != recorder_of(interp).origin
            or _required(fn.node)
        ):
            continue
        if probed >= MAX_FACTORIES:
            break
        callees = _callees(fn.node)
        if any(callees <= f for f in failed):
            continue  # e.g. timm's 100 `vit_*()`: same builder as one that built nothing
        probed += 1
        memo = (recorder_of(interp).origin, f"{name}()")
        ws = workspace_of(interp)
        hit = ws.runs.get(memo) if file is not None and ws is not None else None
        if isinstance(hit, _Run) and file is not None and hit.valid(interp, file, placed=False):
            failed.append(callees)  # only probes that built nothing (and so recorded nothing)
            misses += 1
            if misses >= MAX_FACTORY_MISSES:
                break
            continue
        frame = Frame(interp.globals, fn.chunk, record_facts=False)
        built: list[Value] = []

        def probe(f: FunctionRef = fn, fr: Frame = frame, out: list[Value] = built) -> None:
            recorder_of(interp).discovery = {}  # quiet: building the model reports nothing yet
            try:
                out.append(interp.call_function(f, [], {}, fr, record_facts=False))
            finally:
                recorder_of(interp).discovery = None

        if file is None:
            _guard(interp, probe)
            outcome = None
        else:
            outcome = _tracked(interp, file, probe, {id(fn.chunk): fn.chunk})
        model = built[0] if built else None
        if not isinstance(model, ModuleInstance | Container):
            if outcome is not None and not outcome.findings and not outcome.facts:
                _store(interp, memo, outcome)
            failed.append(callees)
            misses += 1
            if misses >= MAX_FACTORY_MISSES:
                break  # e.g. timm: factories go through an opaque builder; stop early
            continue
        misses = 0
        key = (type_name(model), frozenset(_structure(model)))
        if key in seen:
            continue
        seen.add(key)
        _guard(interp, lambda n=name, m=model, f=fn: _run_built(interp, n, m, f))


def _run_built(interp: Interpreter, name: str, model: Value, fn: FunctionRef) -> None:
    from shape_lsp.core.interpreter.frame import Frame

    frame = Frame(interp.globals, fn.chunk)
    n = 1
    if isinstance(model, ModuleInstance):
        hit = model.cls.find_method("call" if model.cls.framework == "keras" else "forward")
        if hit is None and model.cls.container is None:
            return
        n = len(input_params(hit[1])) if hit is not None else 1
    inputs = discover(interp, model, n, frame)
    if inputs is None:
        return
    span = recorder_of(interp).span(fn.chunk, fn.node.name)
    recorder_of(interp).expect(model, name=f"{name}()", span=span, source="symbolic")
    recorder_of(interp).module_call(
        model, list(inputs), {}, fn.node.name, frame, Site(fn.chunk, fn.node.name)
    )


_CALLEES: dict[int, tuple[cst.FunctionDef, frozenset[str]]] = {}


def _callees(fn: cst.FunctionDef) -> frozenset[str]:
    """The dotted names a function's body calls (`dict`, `_create_vit`, `nn.Linear`...);
    memoized per node (unchanged code keeps its nodes across edits)."""
    hit = _CALLEES.get(id(fn))
    if hit is not None and hit[0] is fn:
        return hit[1]
    names: set[str] = set()

    class _Calls(cst.CSTVisitor):
        def visit_Call(self, node: cst.Call) -> None:
            names.add(dotted(node.func) or "?")

    fn.body.visit(_Calls())
    if len(_CALLEES) > 4096:
        _CALLEES.clear()
    _CALLEES[id(fn)] = (fn, frozenset(names))
    return _CALLEES[id(fn)][1]


def _required(fn: cst.FunctionDef) -> bool:
    p = fn.params
    return any(x.default is None for x in [*p.posonly_params, *p.params, *p.kwonly_params])


def _structure(v: Value, depth: int = 0) -> set[str]:
    """Type names of all sub-modules (tells resnet18's BasicBlocks from resnet50's)."""
    out = {type_name(v)}
    if depth > 6:
        return out
    children = (
        v.children()
        if isinstance(v, ModuleInstance)
        else (v.items if isinstance(v, Container) else [])
    )
    for _, c in children:
        out |= _structure(c, depth + 1)
    return out


def _guard(interp: Interpreter, fn: object) -> None:
    from shape_lsp.core.interpreter.frame import Budget

    interp.steps = 0
    interp.depth = 0
    try:
        fn()  # type: ignore[operator]
    except Budget:
        pass
    except RecursionError:
        recorder_of(interp).internal("recursion too deep")
    except Exception as e:
        recorder_of(interp).internal(f"{type(e).__name__}: {e}")
        recorder_of(interp).session = None
        recorder_of(interp).discovery = None


def _run_class(
    interp: Interpreter,
    info: ClassInfo,
    inst: ModuleInstance | None,
    frame_cls: type[Frame],
    budget: type[Exception],
) -> None:
    frame = frame_cls(interp.globals, info.chunk)
    fresh = inst is None
    if inst is None:
        made = interp.instantiate(info, [], {}, None, None, symbolic_missing=True)
        if not isinstance(made, ModuleInstance):
            return
        inst = made
    method = "call" if info.framework == "keras" else "forward"
    hit = info.find_method(method)
    if hit is None:
        return
    _, fn = hit
    params = input_params(fn)
    inputs, source = inputs_for(interp, info.name, fn, params, hit[0].chunk_for(fn))
    if inputs is None:
        inputs = discover(interp, inst, len(params), frame)
        source = "symbolic"
    if inputs is None:
        return
    span = recorder_of(interp).span(info.chunk, info.node.name) or inst.span
    recorder_of(interp).expect(inst, name=info.name, span=span, source=source)
    recorder_of(interp).assumption = assumption(interp, inputs) if source == "symbolic" else ""
    try:
        recorder_of(interp).module_call(
            inst,
            list(inputs),
            optional_inputs(fn),
            info.node.name,
            frame,
            Site(info.chunk, info.node.name),
        )
    finally:
        recorder_of(interp).assumption = ""
    del fresh


def _run_sequential(interp: Interpreter, name: str, c: Container) -> None:
    from shape_lsp.core.interpreter.frame import Frame

    chunk = c.chunk
    if chunk is None:
        return
    frame = Frame(interp.globals, chunk)
    configured = interp.settings.input_shapes.get(name)
    inputs: list[Value] | None = None
    source = "symbolic"
    if configured:
        inputs = [Tensor(shape_of_spec(spec), ASSUMED_FLOAT32) for spec in configured]
        source = "config"
    else:
        span = c.span
        if span is not None:
            inputs = comment_inputs(interp, span.start_line, 1)
            source = "comment"
    if inputs is None:
        inputs = discover(interp, c, getattr(c, "n_inputs", 1), frame)
        source = "symbolic"
    if inputs is None:
        return
    recorder_of(interp).expect(c, name=name, span=c.span, source=source, variable=name)
    recorder_of(interp).assumption = assumption(interp, inputs) if source == "symbolic" else ""
    try:
        recorder_of(interp).module_call(c, inputs, {}, c.node, frame, Site(chunk, c.node))
    finally:
        recorder_of(interp).assumption = ""
