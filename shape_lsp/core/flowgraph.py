"""The data-flow graph of one model run: frozen values, no behaviour beyond JSON.

Nodes are the model's inputs and outputs, every module call (layers, containers, user modules,
the model itself) and every functional op (`torch.cat`, `x + y`, `x.view(...)`) that produced a
tensor. A module call whose body ran holds the nodes inside it (`parent`); edges join only the
nodes that consume tensors directly (layers, functional ops, modules whose body is unknown,
inputs and outputs), from the node that produced a tensor to the node that used it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

JsonShape = tuple[int | str, ...] | None


@dataclass(frozen=True)
class GraphNode:
    """One node. kind: module | function | input | output; status: ok | error | unknown.

    depth: 0 for the model itself and its inputs and outputs, 1 for what the model's forward
    calls directly, and so on (torchview's depth); parent: the enclosing module call's id.
    """

    id: int
    name: str
    type: str
    kind: str
    line: int
    depth: int
    parent: int | None = None
    params: int | None = None
    shape: JsonShape = None
    dtype: str | None = None
    status: str = "ok"
    message: str = ""

    def json(self) -> dict[str, Any]:
        """The node as `models[].graph.nodes[]` prints it."""
        return {
            "id": self.id,
            "name": self.name,
            "type": self.type,
            "kind": self.kind,
            "line": self.line,
            "depth": self.depth,
            "parent": self.parent,
            "params": self.params,
            "shape": list(self.shape) if self.shape is not None else None,
            "dtype": self.dtype,
            "status": self.status,
            "message": self.message,
        }


@dataclass(frozen=True)
class GraphEdge:
    """A tensor going from the node that produced it to a node that used it."""

    src: int
    dst: int
    shape: JsonShape = None
    dtype: str | None = None

    def json(self) -> dict[str, Any]:
        """The edge as `models[].graph.edges[]` prints it."""
        return {
            "from": self.src,
            "to": self.dst,
            "shape": list(self.shape) if self.shape is not None else None,
            "dtype": self.dtype,
        }


@dataclass(frozen=True)
class ModelGraph:
    """Nodes in call order (a parent before its children) and edges in data-flow order."""

    nodes: tuple[GraphNode, ...] = ()
    edges: tuple[GraphEdge, ...] = ()

    def json(self) -> dict[str, Any]:
        """`{"nodes": [...], "edges": [...]}`."""
        return {"nodes": [n.json() for n in self.nodes], "edges": [e.json() for e in self.edges]}
