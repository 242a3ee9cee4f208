"""Which call produced each tensor while a model runs: the data-flow graph of `flowgraph`.

Every tensor carries `origin`, the ids of the nodes that produced it (one, or several after a
branch the interpreter could not decide). A node links each tensor it consumes to those nodes.
Recording happens only inside a model session (never while discovering inputs), so an analysis
without models pays nothing; inside one it costs a node and a `replace` per call or op.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

from shape_lsp.core.flowgraph import GraphEdge, GraphNode, JsonShape, ModelGraph
from shape_lsp.core.interpreter.extensions import EXTENSIONS
from shape_lsp.core.interpreter.objects import (
    Container,
    ModuleInstance,
    OpaqueModule,
    param_count,
    type_name,
)
from shape_lsp.core.rules.base import LayerValue
from shape_lsp.core.values import shapes as S
from shape_lsp.core.values.abstract import Tensor, Value
from shape_lsp.core.values.shapes import Shape

if TYPE_CHECKING:
    import libcst as cst

    from shape_lsp.core.source.parse import Chunk

LineOf = Callable[["Chunk | None", "cst.CSTNode | None"], int]

MAX_NODES = 5000
"""A runaway run (a huge unrolled loop) stops growing the graph here; shapes go on."""


@dataclass
class _Node:
    """A node while it is being recorded."""

    id: int
    name: str
    type: str
    kind: str
    depth: int
    parent: int | None
    chunk: Chunk | None = None
    node: cst.CSTNode | None = None
    module: Value = None  # the module called (its parameters are counted at the end)
    shape: Shape | None = None
    dtype: str | None = None
    status: str = "ok"
    message: str = ""
    known: bool = True  # output shape known


@dataclass
class Call:
    """A module call in progress."""

    node: _Node
    atomic: bool
    first: int  # how many nodes existed when it started
    inputs: tuple[Tensor, ...]


class Flow:
    """The graph of one session (one top-level model run)."""

    def __init__(self, ids: Iterator[int]) -> None:
        self.ids = ids
        self.nodes: list[_Node] = []
        self.known: dict[int, _Node] = {}
        self.edges: dict[tuple[int, int], tuple[Shape | None, str | None]] = {}
        self.stack: list[Call] = []

    # ------------------------------------------------------------------ recording

    def _new(
        self,
        name: str,
        type_: str,
        kind: str,
        chunk: Chunk | None = None,
        node: cst.CSTNode | None = None,
        outside: bool = False,
    ) -> _Node | None:
        if len(self.nodes) >= MAX_NODES:
            return None
        parent = None if outside or not self.stack else self.stack[-1].node
        n = _Node(
            next(self.ids),
            name,
            type_,
            kind,
            0 if parent is None else parent.depth + 1,
            None if parent is None else parent.id,
            chunk,
            node,
        )
        self.nodes.append(n)
        self.known[n.id] = n
        return n

    def _link(self, tensors: Iterator[Tensor], dst: _Node) -> None:
        for t in tensors:
            for o in t.origin:
                if o != dst.id and o in self.known and (o, dst.id) not in self.edges:
                    self.edges[(o, dst.id)] = (t.shape, t.dtype)

    def inputs(self, args: list[Value], mod: Value = None) -> list[Value]:
        """The model's inputs, each stamped as an input node (named after forward's
        parameters when each is one tensor)."""
        n_in = sum(1 for _ in tensors_in(args))
        names = _param_names(mod)
        if len(names) != n_in or n_in != len(args):
            names = ["input"] if n_in == 1 else [f"input {i}" for i in range(n_in)]
        counter = iter(names)

        def stamp_input(t: Tensor) -> Tensor:
            n = self._new(next(counter, "input"), "input", "input", outside=True)
            if n is None:
                return t
            _output(n, t)
            return stamp(t, n.id)  # type: ignore[no-any-return]

        return [_map_tensors(a, stamp_input) for a in args]

    def enter(
        self,
        mod: Value,
        args: list[Value],
        kwargs: dict[str, Value],
        chunk: Chunk | None,
        node: cst.CSTNode | None,
        label: str,
    ) -> Call | None:
        """A module call starts (the model itself when nothing is running yet)."""
        name = str(getattr(mod, "path", "") or "") or (label if not self.stack else type_name(mod))
        n = self._new(name, type_name(mod), "module", chunk, node)
        if n is None:
            return None
        n.module = mod
        if isinstance(mod, OpaqueModule):
            n.message = f"{mod.name} is not known to shape-lsp"
        atomic = isinstance(mod, LayerValue | OpaqueModule) or not isinstance(
            mod, ModuleInstance | Container
        )
        ins = tuple(tensors_in([*args, *kwargs.values()]))
        if atomic:
            self._link(iter(ins), n)
        call = Call(n, atomic, len(self.nodes), ins)
        self.stack.append(call)
        return call

    def leave(self, call: Call, out: Value) -> Value:
        """The module call returned `out`: a call with nothing recorded inside it (a layer, a
        module whose body is unknown) produced its output itself."""
        while self.stack and self.stack[-1] is not call:
            self.stack.pop()  # an exception unwound inner calls
        if self.stack:
            self.stack.pop()
        n = call.node
        first = next(tensors_in([out]), None)
        if first is not None:
            _output(n, first)
        else:
            n.known = False
        if not call.atomic and len(self.nodes) > call.first:
            return out
        if not call.atomic:
            self._link(iter(call.inputs), n)
        return stamp(out, n.id)

    def fail(self, message: str) -> None:
        """The innermost running call's rule failed."""
        if self.stack:
            n = self.stack[-1].node
            n.status, n.message = "error", message

    def op(
        self,
        name: str,
        tensors: list[Tensor],
        out: Value,
        chunk: Chunk | None,
        node: cst.CSTNode | None,
        error: str | None = None,
    ) -> Value:
        """A functional op (`torch.cat`, `x + y`, `x.view(...)`) consumed `tensors`."""
        first = next(tensors_in([out]), None)
        if first is None and error is None:
            return out
        short = name.rsplit(".", 1)[-1]
        n = self._new(short, name, "function", chunk, node)
        if n is None:
            return out
        self._link(iter(tensors), n)
        if first is not None:
            _output(n, first)
        else:
            n.known = False
        if error is not None:
            n.status, n.message = "error", error
        return stamp(out, n.id)

    def outputs(self, out: Value) -> None:
        """What the model returned: one output node per tensor."""
        outs = list(tensors_in([out]))
        for i, t in enumerate(outs):
            n = self._new("output" if len(outs) == 1 else f"output {i}", "output", "output")
            if n is None:
                return
            n.parent, n.depth = None, 0
            _output(n, t)
            self._link(iter((t,)), n)

    # ------------------------------------------------------------------ result

    def graph(self, line_of: LineOf, params: dict[str, int | None]) -> ModelGraph:
        """The frozen graph; unknown nodes downstream of a failure say after which.

        `params`: parameter counts by module path, where already known (the summary rows)."""
        failed: dict[int, str] = {}
        for a, b in self.edges:
            src = self.known[a]
            if src.status == "error":
                failed.setdefault(b, src.name)
            elif a in failed:
                failed.setdefault(b, failed[a])
        for n in self.nodes:
            parent = self.known.get(n.parent) if n.parent is not None else None
            while n.status == "error" and parent is not None:
                failed.setdefault(parent.id, n.name)
                parent = self.known.get(parent.parent) if parent.parent is not None else None
        memo: dict[int, JsonShape] = {}

        def js(shape: Shape | None) -> JsonShape:
            got = memo.get(id(shape), _MISSING)
            if got is _MISSING:
                got = memo[id(shape)] = _shape(shape)
            return got  # type: ignore[return-value]

        nodes = []
        for n in self.nodes:
            status, message = n.status, n.message
            if status == "ok" and not n.known:
                status = "unknown"
                after = failed.get(n.id)
                message = f"unknown after {after}" if after else (n.message or "unknown")
            nodes.append(
                GraphNode(
                    n.id,
                    n.name,
                    n.type,
                    n.kind,
                    line_of(n.chunk, n.node) if n.node is not None else 0,
                    n.depth,
                    n.parent,
                    _params(n, params),
                    js(n.shape),
                    n.dtype,
                    status,
                    message,
                )
            )
        edges = tuple(GraphEdge(a, b, js(s), d) for (a, b), (s, d) in self.edges.items())
        return ModelGraph(tuple(nodes), edges)


_MISSING = object()


def _param_names(mod: Value) -> list[str]:
    """forward's (Keras: call's) parameter names after self, without defaults."""
    if not isinstance(mod, ModuleInstance):
        return []
    hit = mod.cls.find_method(EXTENSIONS.forward_methods.get(mod.cls.framework or "", "forward"))
    if hit is None:
        return []
    params = [*hit[1].params.posonly_params, *hit[1].params.params][1:]
    return [p.name.value for p in params if p.default is None]


def _params(n: _Node, known: dict[str, int | None]) -> int | None:
    if n.module is None:
        return None
    if n.name in known and n.depth > 0:
        return known[n.name]
    count = param_count(n.module)
    return count if isinstance(count, int) and not isinstance(count, bool) else None


def _output(n: _Node, t: Tensor) -> None:
    n.shape, n.dtype = t.shape, t.dtype
    n.known = t.shape is not None


def _shape(shape: object) -> JsonShape:
    if not isinstance(shape, tuple):
        return None
    return tuple(S.to_json_dim(d) for d in shape)


def tensors_in(values: list[Value], depth: int = 0) -> Iterator[Tensor]:
    """Tensors among values, inside tuples, lists and dicts too (two levels)."""
    for v in values:
        if isinstance(v, Tensor):
            yield v
        elif depth < 2 and isinstance(v, list | tuple):
            yield from tensors_in(list(v), depth + 1)
        elif depth < 2 and isinstance(v, dict):
            yield from tensors_in(list(v.values()), depth + 1)


def _map_tensors(v: Value, fn: Callable[[Tensor], Tensor], depth: int = 0) -> Value:
    if isinstance(v, Tensor):
        return fn(v)
    if depth < 2 and type(v) is tuple:
        return tuple(_map_tensors(x, fn, depth + 1) for x in v)
    if depth < 2 and type(v) is list:
        return [_map_tensors(x, fn, depth + 1) for x in v]
    return v


def stamp(out: Value, node_id: int) -> Value:
    """`out` with every tensor in it marked as produced by the node."""
    origin = (node_id,)

    def mark(t: Tensor) -> Tensor:
        # dataclasses.replace, without its per-field overhead (this runs for every op)
        new = object.__new__(Tensor)
        new.__dict__.update(t.__dict__)
        object.__setattr__(new, "origin", origin)
        return new

    return _map_tensors(out, mark)
