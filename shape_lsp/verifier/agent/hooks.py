"""Hooks and recording: forward (pre-)hooks on every module record each call's output shape,
and map a failure to the innermost module running, its inputs and the user's line.

Stdlib only (torch is passed in); valid on Python 3.8.
"""

from __future__ import annotations

import sys
from types import FrameType, TracebackType
from typing import TYPE_CHECKING, Any

from .protocol import AgentBase, def_line, same_file

if TYPE_CHECKING:  # annotations only: the agent must also run on older Pythons (3.8+)
    from collections.abc import Callable

    Shape = list[int]


class Tracer:
    """Forward pre-hooks keep a stack of the modules being called; forward hooks record calls."""

    def __init__(
        self,
        agent: AgentBase,
        model: Any,
        modules: list[tuple[str, Any]] | None = None,
        keras: bool = False,
    ) -> None:
        self.agent = agent
        self.torch = agent.torch
        self.keras = keras
        self.calls: list[dict[str, Any]] = []
        self.stack: list[tuple[str, str, list[Any], int]] = []
        self.running: list[tuple[Any, list[Any]]] = []  # (module, input dtypes), like stack
        self.failed: tuple[Any, list[Any]] | None = None  # the innermost on failure
        self.handles: list[Any] = []
        self.root_line = def_line(type(model), agent.path)
        self.names: dict[int, str] = {}
        self.symbolic: Callable[[], bool] = lambda: False
        if keras:
            try:
                from keras.src.backend.common.symbolic_scope import in_symbolic_scope

                self.symbolic = in_symbolic_scope
            except ImportError:
                pass
        for name, mod in modules if modules is not None else model.named_modules():
            self.names[id(mod)] = name
            self.handles.append(mod.register_forward_pre_hook(self._pre(name)))
            self.handles.append(mod.register_forward_hook(self._post(name)))

    def _pre(self, name: str) -> Callable[..., None]:
        def hook(mod: Any, args: Any) -> None:
            line = self.call_line(sys._getframe(1)) or (self.root_line if name == "" else 0)
            self.stack.append(
                (name, type(mod).__name__, [shape_of(self.torch, a) for a in args], line)
            )
            self.running.append((mod, [getattr(a, "dtype", None) for a in args]))

        return hook

    def _post(self, name: str) -> Callable[..., None]:
        def hook(mod: Any, args: Any, output: Any) -> None:
            line = 0
            if self.stack and self.stack[-1][0] == name:
                line = self.stack.pop()[3]
                self.running.pop()
            t = first_tensor(self.torch, output)
            call = {
                "module": name,
                "line": line,
                "layer": type(mod).__name__,
                "output": None if t is None else [int(d) for d in t.shape],
                "dtype": None if t is None else dtype_name(t.dtype),
            }
            if self.keras:
                if t is None or t.device.type == "meta" or self.symbolic():
                    return  # Keras's symbolic shape inference (meta or filler tensors)
                call["occ"] = _graph_occurrence(mod, sys._getframe(1))
            self.calls.append(call)

        return hook

    def finish(self) -> list[dict[str, Any]]:
        """The calls; a Keras layer shared by several graph nodes keeps its calls in the order
        its nodes were created (the source order), not the order the graph ran them."""
        groups: dict[str, list[int]] = {}
        for i, c in enumerate(self.calls):
            if c.get("occ") is not None:
                groups.setdefault(c["module"], []).append(i)
        for idxs in groups.values():
            ordered = sorted((self.calls[i] for i in idxs), key=lambda c: c["occ"])
            for i, c in zip(idxs, ordered):  # noqa: B905 (3.8)
                self.calls[i] = c
        for c in self.calls:
            c.pop("occ", None)
        return self.calls

    def call_line(self, frame: FrameType | None) -> int:
        while frame is not None:
            if same_file(frame.f_code.co_filename, self.agent.path):
                return int(frame.f_lineno)
            frame = frame.f_back
        return 0

    def failure(self, e: BaseException) -> dict[str, Any]:
        """The error dict: the user's line, the innermost module still running, its inputs."""
        line = self.agent.user_line(e.__traceback__)
        module: str | None = None
        layer = ""
        inputs: list[Any] = []
        if self.stack:
            module, layer, inputs, call_line = self.stack[-1]
            line = line or call_line or None
            self.failed = self.running[-1]
        msg = str(e).strip() or type(e).__name__
        if self.keras:  # Keras checks inputs in Layer.__call__, before the torch hooks run
            found = _raising_layer(e.__traceback__, self.names)
            if found is not None and found[0] != module:
                module, mod, args = found
                layer = type(mod).__name__
                inputs = [shape_of(self.torch, a) for a in args]
            msg = msg.split("\n\nArguments received by", maxsplit=1)[0].strip()
        if isinstance(e, SystemExit):
            msg = f"the forward pass called sys.exit({e.code!r})"
        return self.agent.error("forward", msg, line, e, module=module, inputs=inputs, layer=layer)

    def remove(self) -> None:
        for h in self.handles:
            h.remove()


def dtype_name(dt: Any) -> str:
    return str(dt).replace("torch.", "")


def shape_of(torch: Any, v: Any) -> Shape | None:
    t = first_tensor(torch, v)
    return None if t is None else [int(d) for d in t.shape]


def first_tensor(torch: Any, v: Any, depth: int = 0) -> Any:
    """The first tensor in an output (tensor, tuple/list, dict, dataclass-like)."""
    if isinstance(v, torch.Tensor):
        return v
    if depth > 4:
        return None
    items: Any = ()
    if isinstance(v, (tuple, list)):
        items = v
    elif isinstance(v, dict):
        items = v.values()
    for item in items:
        t = first_tensor(torch, item, depth + 1)
        if t is not None:
            return t
    return None


def _graph_occurrence(layer: Any, frame: FrameType | None) -> int | None:
    """Which of `layer`'s nodes in the running functional graph this call is (0 = first made)."""
    depth = 0
    while frame is not None and depth < 60:
        if frame.f_code.co_name == "_run_through_graph":
            node = frame.f_locals.get("node")
            by_depth = getattr(frame.f_locals.get("self"), "_nodes_by_depth", None)
            if node is None or not isinstance(by_depth, dict):
                return None
            ids = {id(n) for ns in by_depth.values() for n in ns}
            mine = [n for n in getattr(layer, "_inbound_nodes", []) if id(n) in ids]
            return next((i for i, n in enumerate(mine) if n is node), None)
        frame = frame.f_back
        depth += 1
    return None


def _raising_layer(tb: TracebackType | None, names: dict[int, str]) -> tuple[str, Any, Any] | None:
    """(name, layer, args) of the innermost traced layer whose method is in the traceback."""
    found = None
    while tb is not None:
        loc = tb.tb_frame.f_locals
        obj = loc.get("self")
        if obj is not None and id(obj) in names:
            args = loc.get("args")
            if isinstance(args, tuple):
                found = (names[id(obj)], obj, args)
            elif found is None or found[1] is not obj:  # build() etc.: keep __call__'s args
                found = (names[id(obj)], obj, ())
        tb = tb.tb_next
    return found
