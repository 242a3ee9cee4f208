"""Calling a module: a layer's rule, a container's entries, a user module's forward.

Every invocation goes through `ModuleCalls.module_call` so that it is recorded once, with the
module path torch would report, for the summary table, the JSON `calls` and the verifier's
diff. What is *recorded* (findings, facts, model summaries) is left to the analysis layer,
which subclasses `ModuleCalls` (analysis/recorder.py) and implements the sink methods below.
"""

from __future__ import annotations

import itertools
import logging
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

import libcst as cst

from shape_lsp.core.config import Settings
from shape_lsp.core.interpreter.dataflow import Flow
from shape_lsp.core.interpreter.extensions import EXTENSIONS
from shape_lsp.core.interpreter.objects import (
    Container,
    FunctionRef,
    ModuleInstance,
    OpaqueModule,
    param_count,
    type_name,
)
from shape_lsp.core.results import AnalysisResult, Related, ShapeFact, Span
from shape_lsp.core.rules.base import Args, LayerValue, RuleCall, ShapeError
from shape_lsp.core.source.parse import Chunk
from shape_lsp.core.values import shapes as S
from shape_lsp.core.values.abstract import (
    AssumedDtype,
    Tensor,
    Value,
    dtype_assumed,
    unknown_tensor,
)

if TYPE_CHECKING:
    from shape_lsp.core.interpreter.frame import Frame, InterpreterAPI

log = logging.getLogger(__name__)

_FLOATS = {"float16", "bfloat16", "float32", "float64"}
# Codes whose check reads only trailing dims or dtypes: valid even when the rank was guessed.
RANK_FREE = frozenset({"SH101", "SH110", "SH001", "SH002"})
UNKNOWN_TENSOR = Tensor(None, None)


@dataclass
class Session:
    """One top-level model invocation being recorded."""

    name: str
    calls: list[list[Any]] = field(default_factory=list)  # [path, line, output, layer, dtype]
    counts: dict[str, int] = field(default_factory=dict)
    flow: Flow | None = None  # the data-flow graph (models[].graph)


@dataclass
class Site:
    """Where a module call happens: the node errors are placed on, and its chunk."""

    chunk: Chunk
    node: cst.CSTNode | None
    related: tuple[Related, ...] = ()
    entry: bool = False  # an entry of a Sequential (gets an inlay hint)


class ModuleCalls:
    """Module-call semantics plus the sink interface the analysis layer implements."""

    def __init__(self, interp: InterpreterAPI, settings: Settings) -> None:
        self.interp = interp
        self.settings = settings
        self.session: Session | None = None
        self.discovery: dict[int, int] | None = None
        self.templates: dict[int, tuple[object, ...]] = {}
        self.ranks: dict[int, int] = {}  # input index -> rank seen in `a, b, c = x.shape`
        self.origin = interp.parsed.chunks[0].origin if interp.parsed.chunks else ""
        self.local_sites: list[Span] = []  # call sites in this file, innermost last
        self.flow_ids = itertools.count()
        # what the current model run assumed, not written in the file ("with the input ...")
        self.assumption = ""

    # ------------------------------------------------------------------ the sink

    def internal(
        self, message: str, chunk: Chunk | None = None, node: cst.CSTNode | None = None
    ) -> None:
        """An internal error: kept, never raised."""
        raise NotImplementedError

    def add(
        self,
        code: str,
        span: Span | None,
        message: str,
        trace: tuple[str, ...] = (),
        related: tuple[Related, ...] = (),
        fixes: tuple[Any, ...] = (),
        tensors: tuple[Tensor | None, ...] = (),
    ) -> None:
        """Record a finding."""
        raise NotImplementedError

    def fact(self, fact: ShapeFact) -> None:
        """Record a shape fact."""
        raise NotImplementedError

    def tensor_fact(self, chunk: Chunk, node: cst.CSTNode, label: str, value: Value) -> None:
        """A fact for an assignment target holding a tensor."""
        raise NotImplementedError

    def layer_error(
        self,
        layer: LayerValue,
        e: ShapeError,
        x: Tensor | None,
        rc: RuleCall,
        frame: Frame,
        site: Site,
    ) -> None:
        """A layer rule failed at a call."""
        raise NotImplementedError

    def constructor_error(self, layer: LayerValue, e: ShapeError) -> None:
        """A constructor-time check failed."""
        raise NotImplementedError

    def function_error(
        self,
        name: str,
        e: ShapeError,
        rc: RuleCall,
        tensors: list[Tensor],
        node: cst.CSTNode,
        frame: Frame,
    ) -> None:
        """A function rule failed at a call."""
        raise NotImplementedError

    def warnings(
        self,
        rc: RuleCall,
        node: cst.CSTNode | None,
        frame: Frame,
        chunk: Chunk | None = None,
        layer: LayerValue | None = None,
        site: Site | None = None,
    ) -> None:
        """Non-fatal findings a rule reported."""
        raise NotImplementedError

    def close_session(self, mod: Value, args: list[Value], frame: Frame, site: Site) -> None:
        """A top-level model invocation ended."""
        raise NotImplementedError

    def expect(self, mod: Value, **info: object) -> None:
        """Attach metadata (name, span, input source, variable) to mod's next session."""
        raise NotImplementedError

    def foreign(self, site: Site) -> str:
        """Where a node of another file is, for messages (`blocks.py:12`)."""
        raise NotImplementedError

    def result(self, path: str) -> AnalysisResult:
        """Everything recorded."""
        raise NotImplementedError

    # ------------------------------------------------------------------ module calls

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
            self.session.flow = Flow(self.flow_ids)
            args = self.session.flow.inputs(args, mod)
            started = True
        flow = self.session.flow if self.session is not None and not self.quiet else None
        call = None
        if flow is not None and self.session is not None:
            call = flow.enter(mod, args, kwargs, site.chunk, site.node, self.session.name)
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
            if flow is not None and call is not None:
                out = flow.leave(call, out)
            if entry is not None:
                first = out[0] if isinstance(out, tuple) and out else out
                if isinstance(first, Tensor):
                    entry[2] = first.shape
                    entry[4] = first.dtype
            if started:
                if flow is not None:
                    flow.outputs(out)
                self.close_session(mod, args, frame, site)
        for observe in EXTENSIONS.call_observers:
            observe(self, mod, args, out, site)
        return out

    def _model_label(self, mod: Value) -> str:
        if isinstance(mod, ModuleInstance):
            return mod.cls.name
        for name, v in self.interp.globals.items():
            if v is mod:
                return name
        return "Sequential"

    def where(self, chunk: Chunk, node: cst.CSTNode | None) -> str:
        """`line 12` in this file; `torchvision/models/resnet.py:113` in another file."""
        span = self.span(chunk, node)
        if span is not None:
            return f"line {span.start_line + 1}"
        if chunk.origin != self.origin:
            return self.foreign(Site(chunk, node))
        return f"line {chunk.start_line + 1}"

    def chunk_line(self, chunk: Chunk | None, node: cst.CSTNode | None) -> int:
        """1-based line of a node, 0 when it cannot be placed."""
        span = self.span(chunk, node)
        return span.start_line + 1 if span else 0

    def _line(self, site: Site) -> int:
        return self.chunk_line(site.chunk, site.node)

    def flow_op(
        self,
        name: str,
        tensors: list[Tensor],
        out: Value,
        chunk: Chunk,
        node: cst.CSTNode,
        error: ShapeError | None = None,
    ) -> Value:
        """A functional op's result, marked as its data-flow node's output (inside a model)."""
        flow = self.session.flow if self.session is not None and not self.quiet else None
        if flow is None:
            return out
        kept = error is not None and (
            error.code in RANK_FREE or not any(t.assumed for t in tensors)
        )
        return flow.op(name, tensors, out, chunk, node, error.message if kept and error else None)

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
            label = f"{layer.path or layer.type_name} ({layer.type_name})"
            step = f"{self.where(site.chunk, site.node)}: {label} → {first.describe()}"
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
        hook = EXTENSIONS.container_calls.get(c.kind)
        if hook is not None:
            return hook(self, c, args, kwargs, node, frame, site)
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
        method = EXTENSIONS.forward_methods.get(inst.cls.framework or "", "forward")
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
