"""What the interpreter learns: findings, shape facts, module calls and model summaries.

Module calls go through here so that every invocation (layer, container, user module) is
recorded once, with torch's module path, for the summary table, the JSON `calls` and the
verifier's diff.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

import libcst as cst

from shape_lsp.core import shapes as S
from shape_lsp.core.config import Settings
from shape_lsp.core.fixes import fixes_for, padding_fix
from shape_lsp.core.modules import (
    Container,
    ModuleInstance,
    OpaqueModule,
    param_count,
    type_name,
)
from shape_lsp.core.parse import Chunk
from shape_lsp.core.rules.base import Args, RuleCall, ShapeError
from shape_lsp.core.shapes import Unknown
from shape_lsp.core.types import (
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
from shape_lsp.core.values import (
    AssumedDtype,
    LayerValue,
    Tensor,
    Value,
    dtype_assumed,
    unknown_tensor,
)

if TYPE_CHECKING:
    from shape_lsp.core.interpret import Frame, Interpreter

log = logging.getLogger(__name__)

_FLOATS = {"float16", "bfloat16", "float32", "float64"}

CALL_OBSERVERS: list[Callable[[Recorder, Value, list[Value], Value, Site], None]] = []
"""Called after every module call with (recorder, module, args, output, site) (Keras graphs)."""

CONTAINER_CALLS: dict[str, Callable[..., Value]] = {}
"""Container kinds run by a framework hook.

Called as (recorder, container, args, kwargs, node, frame, site)."""

WARNING_FIXES: dict[str, Callable[..., tuple[Fix, ...]]] = {}
"""Quick fixes for a layer's non-fatal finding by code: (interp, layer, site) -> fixes."""


@dataclass
class Session:
    """One top-level model invocation being recorded."""

    name: str
    calls: list[list[Any]] = field(default_factory=list)  # [path, line, output, layer, dtype]
    counts: dict[str, int] = field(default_factory=dict)


@dataclass
class Site:
    """Where a module call happens: the node errors are placed on, and its chunk."""

    chunk: Chunk
    node: cst.CSTNode | None
    related: tuple[Related, ...] = ()
    entry: bool = False  # an entry of a Sequential (gets an inlay hint)


class Recorder:
    """Collects results; suppresses everything while discovering input templates."""

    def __init__(self, interp: Interpreter, settings: Settings) -> None:
        self.interp = interp
        self.settings = settings
        self.findings: dict[tuple[str, Span, str], Finding] = {}
        self.facts: dict[tuple[Span, str, str, str], ShapeFact] = {}
        self.models: list[ModelSummary] = []
        self.errors: list[str] = []
        self.session: Session | None = None
        self.discovery: dict[int, int] | None = None
        self.templates: dict[int, tuple[object, ...]] = {}
        self.ranks: dict[int, int] = {}  # input index -> rank seen in `a, b, c = x.shape`
        self._pending: dict[int, dict[str, Any]] = {}
        self.origin = interp.parsed.chunks[0].origin if interp.parsed.chunks else ""
        self.local_sites: list[Span] = []  # call sites in this file, innermost last
        # every finding / fact a cached model run tried to add (see models._cached_run)
        self.capture: tuple[list[tuple[Any, Finding]], list[tuple[Any, ShapeFact]]] | None = None
        # what the current model run assumed, not written in the file ("with the input ...")
        self.assumption = ""

    # ------------------------------------------------------------------ basics

    @property
    def quiet(self) -> bool:
        """True while discovering input templates (nothing is recorded)."""
        return self.discovery is not None

    def span(self, chunk: Chunk | None, node: cst.CSTNode | None) -> Span | None:
        """A node's span, None when it cannot be located."""
        if chunk is None or node is None or chunk.origin != self.origin:
            return None
        try:
            return chunk.span(node)
        except Exception:  # position computation must never take analysis down
            log.debug("position lookup failed", exc_info=True)
            return None

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

    def module_call(
        self,
        mod: Value,
        args: list[Value],
        kwargs: dict[str, Value],
        node: cst.CSTNode | None,
        frame: Frame,
        site: Site | None = None,
        session_name: str | None = None,
    ) -> Value:
        """Call a layer / container / user module; records the call and its facts."""
        site = site or Site(frame.chunk, node)
        started = False
        if self.session is None and not self.quiet and isinstance(mod, ModuleInstance | Container):
            self.session = Session(session_name or self._model_label(mod))
            started = True
        entry: list[object] | None = None
        if self.session is not None and not self.quiet:
            path = getattr(mod, "path", "")
            line = self._line(site)
            entry = [path, line, None, type_name(mod), None]
            self.session.calls.append(entry)
        out: Value = UNKNOWN_TENSOR
        local = self.span(site.chunk, site.node)
        if local is not None:
            self.local_sites.append(local)
        try:
            out = self._dispatch(mod, args, kwargs, node, frame, site)
        finally:
            if local is not None:
                self.local_sites.pop()
            if entry is not None:
                first = out[0] if isinstance(out, tuple) and out else out
                if isinstance(first, Tensor):
                    entry[2] = first.shape
                    entry[4] = first.dtype
            if started:
                self._close_session(mod, args, frame, site)
        for observe in CALL_OBSERVERS:
            observe(self, mod, args, out, site)
        return out

    def _model_label(self, mod: Value) -> str:
        if isinstance(mod, ModuleInstance):
            return mod.cls.name
        for name, v in self.interp.globals.items():
            if v is mod:
                return name
        return "Sequential"

    def _line(self, site: Site) -> int:
        span = self.span(site.chunk, site.node)
        return span.start_line + 1 if span else 0

    def _dispatch(
        self,
        mod: Value,
        args: list[Value],
        kwargs: dict[str, Value],
        node: cst.CSTNode | None,
        frame: Frame,
        site: Site,
    ) -> Value:
        if isinstance(mod, LayerValue):
            return self.layer_call(mod, args, kwargs, frame, site)
        if isinstance(mod, Container):
            return self.container_call(mod, args, kwargs, node, frame, site)
        if isinstance(mod, ModuleInstance):
            return self.instance_call(mod, args, kwargs, frame)
        if isinstance(mod, OpaqueModule):
            span = self.span(site.chunk, site.node)
            if span is not None and not self.quiet:
                self.fact(
                    ShapeFact(
                        span,
                        "note",
                        mod.name,
                        "unknown",
                        detail=(
                            f"`{mod.name}` is not known to shape-lsp: shapes after it are unknown",
                        ),
                    )
                )
            return UNKNOWN_TENSOR
        return UNKNOWN_TENSOR

    def layer_call(
        self,
        layer: LayerValue,
        args: list[Value],
        kwargs: dict[str, Value],
        frame: Frame,
        site: Site,
    ) -> Value:
        """Apply a library layer's rule to its inputs."""
        x = args[0] if args else kwargs.get("input")
        if (
            self.discovery is not None
            and isinstance(x, Tensor)
            and id(x) in self.discovery
            and layer.rule.template
        ):
            idx = self.discovery.pop(id(x))
            shape = layer.rule.template(Args(layer.args))
            if shape is not None:
                self.templates[idx] = (shape, layer.rule.names[0])
        x_t = x if isinstance(x, Tensor) else None
        if (
            x_t is not None
            and layer.rule.has_weights
            and dtype_assumed(x_t)
            and x_t.dtype in _FLOATS
            and layer.dtype in _FLOATS
            and x_t.dtype != layer.dtype
        ):
            # An assumed float32 input into a float64 / float16 model: assume the model's dtype.
            x = x_t = x_t.with_dtype(AssumedDtype(layer.dtype))
            args = [x_t, *args[1:]] if args else args
            if not args:
                kwargs = {**kwargs, "input": x_t}
        if (
            x_t is not None
            and layer.rule.has_weights
            and x_t.dtype in _FLOATS
            and x_t.dtype != layer.dtype
        ):
            self.layer_error(
                layer,
                ShapeError(
                    "SH110",
                    f"{layer.type_name} has {layer.dtype} parameters but gets a {x_t.dtype} "
                    f"input {S.render_shape(x_t.shape)}; convert the input (e.g. `.float()`) "
                    "or the model",
                ),
                x_t,
                RuleCall(Args(layer.args)),
                frame,
                site,
            )
            return unknown_tensor(None)  # torch raised here: nothing after it is known
        rc = RuleCall(Args(layer.args), tuple(args), dict(kwargs), layer_name=layer.type_name)
        try:
            out = layer.rule.forward(rc)
        except ShapeError as e:
            self.layer_error(layer, e, x_t, rc, frame, site)
            return unknown_tensor(x_t.dtype if x_t else None)
        except (ArithmeticError, TypeError, ValueError, IndexError, KeyError) as e:
            log.debug("rule %s failed: %s", layer.type_name, e)
            return UNKNOWN_TENSOR
        self.warnings(rc, site.node, frame, site.chunk, layer, site)
        first = out[0] if isinstance(out, tuple) and out else out
        if isinstance(first, Tensor) and not self.quiet:
            self._layer_facts(layer, x_t, first, rc, site)
            line = self._line(site)
            label = f"{layer.path or layer.type_name} ({layer.type_name})"
            step = f"line {line}: {label} → {first.describe()}"
            trace = (*(x_t.trace if x_t else ()), step)[-10:]
            changed = x_t is None or first.shape != x_t.shape
            new_first = replace(
                first,
                trace=trace,
                assumed=first.assumed or bool(x_t and x_t.assumed),
                producer=(layer, x_t.shape if x_t else None)
                if changed
                else (x_t.producer if x_t is not None else None),
            )
            out = (new_first, *out[1:]) if isinstance(out, tuple) else new_first
        return out

    def _layer_facts(
        self, layer: LayerValue, x: Tensor | None, out: Tensor, rc: RuleCall, site: Site
    ) -> None:
        params = param_count(layer)
        n = params if isinstance(params, int) else None
        label = f"{layer.path or 'layer'}: {layer.type_name}"
        common = {
            "label": label,
            "shape": S.render_shape(out.shape),
            "dtype": out.dtype,
            "input_shape": S.render_shape(x.shape) if x is not None else None,
            "detail": tuple(rc.notes),
            "params": n,
        }
        span = self.span(site.chunk, site.node)
        if span is not None:
            self.fact(ShapeFact(span, "layer", inlay=site.entry, **common))  # type: ignore[arg-type]
        if layer.span is not None and layer.span != span:
            self.fact(ShapeFact(layer.span, "layer", **common))  # type: ignore[arg-type]

    def container_call(
        self,
        c: Container,
        args: list[Value],
        kwargs: dict[str, Value],
        node: cst.CSTNode | None,
        frame: Frame,
        site: Site,
    ) -> Value:
        """nn.Sequential runs its items in order; errors land on the offending entry."""
        if c.kind in CONTAINER_CALLS:
            return CONTAINER_CALLS[c.kind](self, c, args, kwargs, node, frame, site)
        if c.kind != "Sequential" or not args:
            return UNKNOWN_TENSOR
        out = args[0]
        call_related: tuple[Related, ...] = ()
        call_span = self.span(site.chunk, site.node)
        if call_span is not None and node is not None:
            call_related = (Related(call_span, "the Sequential is called here"),)
        for i, (_, item) in enumerate(c.items):
            item_node = c.item_nodes[i] if i < len(c.item_nodes) else None
            chunk = c.chunk if c.chunk is not None else site.chunk
            if item_node is None and isinstance(item, LayerValue) and item.node is not None:
                item_node, chunk = item.node, item.chunk  # type: ignore[assignment]
            item_site = (
                Site(chunk, item_node, call_related, True) if item_node is not None else site
            )
            out = self.module_call(item, [out], {}, item_node, frame, item_site)
        return out

    def instance_call(
        self, inst: ModuleInstance, args: list[Value], kwargs: dict[str, Value], frame: Frame
    ) -> Value:
        """Interpret the user module's forward (or Keras call) on its instance."""
        from shape_lsp.core.modules import FunctionRef

        method = "call" if inst.cls.framework == "keras" else "forward"
        hit = inst.cls.find_method(method)
        if hit is None and inst.cls.container == "Sequential" and args:
            return self.run_children(inst, args[0], frame)
        if hit is None:
            return UNKNOWN_TENSOR
        owner, fn = hit
        return self.interp.call_function(
            FunctionRef(fn, owner.chunk_for(fn), owner, inst),
            args,
            kwargs,
            frame,
            record_facts=True,
        )

    def run_children(
        self, inst: ModuleInstance, x: Value, frame: Frame, call: cst.Call | None = None
    ) -> Value:
        """nn.Sequential.forward of a subclass: children in registration order.

        A child with no constructor node of its own is placed at the calling line.
        """
        out = x
        for _, child in inst.children():
            node = child.node if isinstance(child, LayerValue) else None
            chunk = child.chunk if isinstance(child, LayerValue) else None
            site = (
                Site(chunk, node, (), True)
                if node is not None and chunk is not None
                else Site(frame.chunk, call)
            )
            out = self.module_call(child, [out], {}, node, frame, site)
        return out

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
            where = f" (inside {_foreign(site)})"
        trace = (*(x.trace if x is not None else ()), *rc.notes)
        if x is not None:
            trace = (*trace, f"{layer.path or layer.type_name} gets {x.describe()}")
        fixes = fixes_for(self.interp, e.fix, layer, site, x) if e.fix else ()
        prefix = f"{layer.path}: " if layer.path and not layer.path.isdigit() else ""
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
            message += f" (inside {_foreign(Site(frame.chunk, node))})"
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
            fixer = WARNING_FIXES.get(code) if layer is not None and site is not None else None
            self.add(code, span, msg, fixes=fixer(self.interp, layer, site) if fixer else ())

    # ------------------------------------------------------------------ sessions

    def _close_session(self, mod: Value, args: list[Value], frame: Frame, site: Site) -> None:
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
            )
        )

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


UNKNOWN_TENSOR = Tensor(None, None)


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


def _foreign(site: Site) -> str:
    """`blocks.py:12` for a node in another file's chunk."""
    import os

    try:
        span = site.chunk.span(site.node) if site.node is not None else None
    except Exception:
        span = None
    line = f":{span.start_line + 1}" if span is not None else ""
    return f"{os.path.basename(site.chunk.origin)}{line}"


def _informativeness(f: ShapeFact) -> tuple[int, int]:
    """Sort key: concrete shapes first, then symbolic, then partly or wholly unknown."""
    if f.shape in ("unknown", "error"):
        return (3, 0)
    unknown = f.shape.count("?")
    symbolic = any(ch.isalpha() for ch in f.shape)
    return (2 if unknown else 1 if symbolic else 0, unknown)


# Codes whose check reads only trailing dims or dtypes: valid even when the rank was guessed.
RANK_FREE = frozenset({"SH101", "SH110", "SH001"})


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


__all__ = ["Recorder", "Session", "Site", "Unknown"]
