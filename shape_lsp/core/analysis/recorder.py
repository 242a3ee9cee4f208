"""What the interpreter learns: findings, shape facts and model summaries.

`Recorder` implements the sink of `interpreter.module_calls.ModuleCalls`: deduplicated
findings with severities from the settings, the most informative fact per place, quick fixes
(fixes.py), and one `ModelSummary` per top-level model invocation.
"""

from __future__ import annotations

import logging
import re
from typing import TYPE_CHECKING, Any

import libcst as cst

from shape_lsp.core.analysis.fixes import fixes_for, padding_fix
from shape_lsp.core.analysis.libraries import display_path
from shape_lsp.core.config import Settings
from shape_lsp.core.interpreter.extensions import EXTENSIONS
from shape_lsp.core.interpreter.module_calls import RANK_FREE, ModuleCalls, Site
from shape_lsp.core.interpreter.objects import (
    Container,
    ModuleInstance,
    param_count,
)
from shape_lsp.core.results import (
    AnalysisResult,
    Finding,
    Fix,
    ModelCall,
    ModelSummary,
    Related,
    ShapeFact,
    Span,
    SummaryRow,
)
from shape_lsp.core.rules.base import LayerValue, RuleCall, ShapeError
from shape_lsp.core.source.parse import Chunk
from shape_lsp.core.values import shapes as S
from shape_lsp.core.values.abstract import Tensor, Value, dtype_assumed

if TYPE_CHECKING:
    from shape_lsp.core.interpreter.frame import Frame
    from shape_lsp.core.interpreter.interpret import Interpreter

log = logging.getLogger(__name__)


class Recorder(ModuleCalls):
    """Collects results; suppresses everything while discovering input templates."""

    def __init__(self, interp: Interpreter, settings: Settings) -> None:
        super().__init__(interp, settings)
        self.interp: Interpreter = interp
        self.findings: dict[tuple[str, Span, str], Finding] = {}
        self.facts: dict[tuple[Span, str, str, str], ShapeFact] = {}
        self.models: list[ModelSummary] = []
        self.errors: list[str] = []
        self._pending: dict[int, dict[str, Any]] = {}
        # every finding / fact a cached model run tried to add (see models._cached_run)
        self.capture: tuple[list[tuple[Any, Finding]], list[tuple[Any, ShapeFact]]] | None = None

    # ------------------------------------------------------------------ basics

    def internal(
        self, message: str, chunk: Chunk | None = None, node: cst.CSTNode | None = None
    ) -> None:
        """An internal error: logged and kept, never raised."""
        self.errors.append(message)

    def add(
        self,
        code: str,
        span: Span | None,
        message: str,
        trace: tuple[str, ...] = (),
        related: tuple[Related, ...] = (),
        fixes: tuple[Fix, ...] = (),
        tensors: tuple[Tensor | None, ...] = (),
    ) -> None:
        """Record a finding (deduplicated); rank-dependent ones are dropped on guessed ranks."""
        if self.quiet or span is None:
            return
        if code not in RANK_FREE and any(t is not None and t.assumed for t in tensors):
            return
        if code == "SH110" and any(dtype_assumed(t) for t in tensors):
            return  # the input's dtype was assumed (float32): the file may feed another
        key = (code, span, message)
        if self.capture is None and key in self.findings:
            return
        if self.assumption:
            message = f"{message} ({self.assumption})"
        found = Finding(code, self.settings.severity_of(code), span, message, trace, related, fixes)
        if self.capture is not None:  # a cached run replays every add, duplicates included
            self.capture[0].append((key, found))
        self.findings.setdefault(key, found)

    def fact(self, fact: ShapeFact) -> None:
        """Record a shape fact (deduplicated)."""
        if self.quiet:
            return
        key = (fact.span, fact.kind, fact.label, fact.shape)
        if self.capture is not None:
            self.capture[1].append((key, fact))
        self.facts.setdefault(key, fact)

    def tensor_fact(self, chunk: Chunk, node: cst.CSTNode, label: str, value: Value) -> None:
        """A fact for an assignment target holding a tensor."""
        if self.quiet or not isinstance(value, Tensor) or value.shape is None:
            return
        span = self.span(chunk, node)
        if span is None:
            return
        self.fact(
            ShapeFact(span, "tensor", label, S.render_shape(value.shape), value.dtype, inlay=True)
        )

    # ------------------------------------------------------------------ module calls

    # ------------------------------------------------------------------ errors

    def layer_error(
        self,
        layer: LayerValue,
        e: ShapeError,
        x: Tensor | None,
        rc: RuleCall,
        frame: Frame,
        site: Site,
    ) -> None:
        """A layer rule failed: finding at the call site, related info at the constructor."""
        if self.quiet:
            return
        span = self.span(site.chunk, site.node)
        related = list(site.related)
        if layer.span is not None and layer.span != span:
            related.insert(0, Related(layer.span, f"{layer.type_name} defined here"))
        if span is None:
            span = layer.span
        where = ""
        if span is None and self.local_sites and site.chunk.origin != self.origin:
            # Inside code imported from another file: report at this file's call site.
            span = self.local_sites[-1]
            where = f" (inside {_foreign(site, self.interp)})"
        trace = (*(x.trace if x is not None else ()), *rc.notes)
        if x is not None:
            trace = (*trace, f"{layer.path or layer.type_name} gets {x.describe()}")
        fixes = fixes_for(self.interp, e.fix, layer, site, x) if e.fix else ()
        prefix = f"{layer.path}: " if layer.path and not layer.path.isdigit() else ""
        flow = self.session.flow if self.session is not None else None
        if flow is not None and (e.code in RANK_FREE or x is None or not x.assumed):
            flow.fail(prefix + e.message + where)
        self.add(
            e.code,
            span,
            prefix + e.message + where,
            trace,
            tuple(related),
            fixes if not where else (),
            (x, *(t for t in (*rc.inputs, *rc.kwinputs.values()) if isinstance(t, Tensor))),
        )
        if span is not None and not where:
            # Hover at the failing call still shows what goes in.
            self.fact(
                ShapeFact(
                    span,
                    "layer",
                    f"{layer.path or 'layer'}: {layer.type_name}",
                    "error",
                    x.dtype if x else None,
                    S.render_shape(x.shape) if x is not None else None,
                    (e.message, *rc.notes),
                    _int_or_none(param_count(layer)),
                )
            )

    def constructor_error(self, layer: LayerValue, e: ShapeError) -> None:
        """A constructor-time check failed (torch raises when the layer is built)."""
        self.add(e.code, layer.span, f"{layer.type_name}: {e.message}")

    def function_error(
        self,
        name: str,
        e: ShapeError,
        rc: RuleCall,
        tensors: list[Tensor],
        node: cst.CSTNode,
        frame: Frame,
    ) -> None:
        """A function rule failed at this call."""
        if self.quiet:
            return
        trace: tuple[str, ...] = ()
        for t in tensors[:2]:
            trace = (*trace, *t.trace)
        trace = (
            *trace,
            *rc.notes,
            *(f"input {i}: {t.describe()}" for i, t in enumerate(tensors[:4])),
        )
        span = self.span(frame.chunk, node)
        message = e.message
        if span is None and self.local_sites and frame.chunk.origin != self.origin:
            span = self.local_sites[-1]
            message += f" (inside {_foreign(Site(frame.chunk, node), self.interp)})"
        fixes = padding_fix(self.interp, tensors) if e.code == "SH108" else ()
        self.add(e.code, span, message, trace, fixes=fixes, tensors=tuple(tensors))

    def warnings(
        self,
        rc: RuleCall,
        node: cst.CSTNode | None,
        frame: Frame,
        chunk: Chunk | None = None,
        layer: LayerValue | None = None,
        site: Site | None = None,
    ) -> None:
        """Non-fatal findings a rule reported (with a framework's quick fix when one exists)."""
        if self.quiet or not rc.warnings:
            return
        span = self.span(chunk or frame.chunk, node)
        for code, msg in _merge_axes(rc.warnings):
            fixer = (
                EXTENSIONS.warning_fixes.get(code)
                if layer is not None and site is not None
                else None
            )
            self.add(code, span, msg, fixes=fixer(self.interp, layer, site) if fixer else ())

    # ------------------------------------------------------------------ sessions

    def close_session(self, mod: Value, args: list[Value], frame: Frame, site: Site) -> None:
        session = self.session
        self.session = None
        if session is None:
            return
        info = self._pending.pop(id(mod), None) or {}
        if not info and isinstance(mod, ModuleInstance):
            info = {"span": self.span(mod.cls.chunk, mod.cls.node.name)}
        elif not info and isinstance(mod, Container):
            info = {
                "span": mod.span,
                "variable": session.name if session.name in self.interp.globals else None,
            }
        span = info.get("span") or self.span(site.chunk, site.node) or Span(0, 0, 0, 0)
        calls = tuple(
            ModelCall(str(p), int(line), _json_shape(out), str(layer), dtype)
            for p, line, out, layer, dtype in session.calls
        )
        rows = tuple(
            SummaryRow(
                c.module,
                c.layer,
                c.module.count(".") + 1,
                S.render_shape(out) if out is not None else "unknown",
                _int_or_none(param_count(_resolve(mod, c.module))),
            )
            for c, (_, _, out, _, _) in zip(calls, session.calls, strict=True)
            if c.module
        )
        root_out = session.calls[0][2] if session.calls else None
        inputs = [a for a in args if isinstance(a, Tensor)]
        if not info.get("source") and (
            not args or len(inputs) != len(args) or any(t.shape is None for t in inputs)
        ):
            return  # an example with unknown inputs: the model is run symbolically instead
        total = param_count(mod)
        source = str(info.get("source", "example"))
        origin = ""
        first_trace = inputs[0].trace if inputs else ()
        if source == "example" and first_trace and first_trace[0].startswith("from "):
            source, origin = "pipeline", first_trace[0][len("from ") :]
        self.models.append(
            ModelSummary(
                name=info.get("name") or session.name,
                span=span,
                kind="class" if isinstance(mod, ModuleInstance) else "sequential",
                input_source=source,
                input_origin=origin,
                inputs=tuple(t.describe() for t in inputs),
                output=S.render_shape(root_out) if root_out is not None else "unknown",
                calls=calls,
                rows=rows,
                total_params=_int_or_none(total),
                input_shapes=tuple(_json_shape(t.shape) for t in inputs),
                input_dtypes=tuple(t.dtype for t in inputs),
                ctor=mod.ctor_text if isinstance(mod, ModuleInstance) else None,
                variable=info.get("variable"),
                framework=(mod.framework if isinstance(mod, Container) else None)
                or getattr(getattr(mod, "cls", None), "framework", None)
                or "torch",
                graph=session.flow.graph(self.chunk_line, {r.module: r.params for r in rows})
                if session.flow
                else None,
            )
        )

    def foreign(self, site: Site) -> str:
        """`blocks.py:12`, or a library file's path inside its environment."""
        return _foreign(site, self.interp)

    def expect(self, mod: Value, **info: object) -> None:
        """Attach metadata (name, span, input source, variable) to mod's next session."""
        self._pending[id(mod)] = info

    def result(self, path: str) -> AnalysisResult:
        """The collected results; per place, facts come most informative first."""
        findings = sorted(self.findings.values(), key=lambda f: (f.span, f.code))
        best: dict[tuple[Span, str], list[ShapeFact]] = {}
        for f in self.facts.values():
            best.setdefault((f.span, f.kind), []).append(f)
        facts: list[ShapeFact] = []
        for group in best.values():
            group.sort(key=_informativeness)
            known = [f for f in group if f.shape != "unknown"]
            facts.extend(known or group[:1])
        facts.sort(key=lambda f: (f.span, _informativeness(f)))
        return AnalysisResult(
            path, tuple(findings), tuple(facts), tuple(self.models), True, tuple(self.errors)
        )


_AXIS = re.compile(r" along ([A-Z]) ")


def _merge_axes(warnings: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """One message for the same warning on several axes ("along H and W")."""
    out: list[tuple[str, str]] = []
    axes: dict[tuple[str, str], list[str]] = {}
    for code, msg in warnings:
        m = _AXIS.search(msg)
        key = (code, _AXIS.sub(" along {} ", msg) if m else msg)
        if m and key in axes:
            axes[key].append(m.group(1))
            continue
        axes[key] = [m.group(1)] if m else []
        out.append(key)
    return [(c, t.replace("{}", " and ".join(axes[(c, t)])) if axes[(c, t)] else t) for c, t in out]


def _foreign(site: Site, interp: Interpreter) -> str:
    """`blocks.py:12` for a node in another file's chunk (`torchvision/models/resnet.py:268`
    for a library file: its path inside the environment's folder)."""
    try:
        span = site.chunk.span(site.node) if site.node is not None else None
    except Exception:
        span = None
    line = f":{span.start_line + 1}" if span is not None else ""
    modules = getattr(interp.workspace, "libraries", None)
    libraries = modules.libraries if modules is not None else None
    return f"{display_path(libraries, site.chunk.origin)}{line}"


def _informativeness(f: ShapeFact) -> tuple[int, int]:
    """Sort key: concrete shapes first, then symbolic, then partly or wholly unknown."""
    if f.shape in ("unknown", "error"):
        return (3, 0)
    unknown = f.shape.count("?")
    symbolic = any(ch.isalpha() for ch in f.shape)
    return (2 if unknown else 1 if symbolic else 0, unknown)


def _json_shape(shape: object) -> tuple[int | str, ...] | None:
    if not isinstance(shape, tuple):
        return None
    return tuple(S.to_json_dim(d) for d in shape)


def _int_or_none(n: object) -> int | None:
    return n if isinstance(n, int) and not isinstance(n, bool) else None


def _resolve(root: Value, path: str) -> Value:
    """The sub-module at a dotted path under root."""
    cur = root
    for part in path.split(".") if path else []:
        if isinstance(cur, ModuleInstance):
            cur = cur.attrs.get(part)
        elif isinstance(cur, Container):
            cur = dict(cur.items).get(part)
        else:
            return None
    return cur


__all__ = ["Recorder"]
