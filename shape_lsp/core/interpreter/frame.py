"""Interpreter state shared by its parts and by the frameworks: frames, limits, control-flow
signals, joins of values from two paths, and the interface a framework hook may use."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

from shape_lsp.core.interpreter.objects import ClassInfo, FunctionRef
from shape_lsp.core.source.parse import Chunk, ParsedFile
from shape_lsp.core.values import shapes as S
from shape_lsp.core.values.abstract import Tensor, Value
from shape_lsp.core.values.shapes import UNKNOWN

MAX_DEPTH = 24
MAX_EXPR_DEPTH = 150  # deeper expressions (valid Python) are unknown, not a RecursionError
MAX_STEPS = 400_000  # library models (transformers) take ~250k steps per model run
MAX_UNROLL = 64

ITERATING_BUILTINS = frozenset(
    {
        "zip",
        "enumerate",
        "reversed",
        "len",
        "list",
        "tuple",
        "sorted",
        "sum",
        "min",
        "max",
        "any",
        "all",
    }
)


class Budget(Exception):
    """The analysis ran out of steps or depth: the rest is unknown."""


class Return(Exception):
    """`return value` unwinding to the function call."""

    def __init__(self, value: Value) -> None:
        self.value = value


class LoopExit(Exception):
    """`break`/`continue` (loops are unrolled; the rest of the body is skipped)."""


class ImportResolver(Protocol):
    """Finds what an imported dotted name means in another file (the analysis workspace)."""

    def resolve(self, name: str, from_path: str, depth: int = 0) -> Value | None:
        """The value `name` refers to, None when no file the resolver reads defines it."""
        ...


class InterpreterAPI(Protocol):
    """What module calls and framework hooks use of the interpreter."""

    parsed: ParsedFile
    globals: dict[str, Value]
    aliases: dict[str, str]

    def external(self, name: str) -> Value | None:
        """What an imported name means when a project file defines it."""
        ...

    def star_name(self, name: str) -> Value | None:
        """`name` as a `from m import *` brings it in."""
        ...

    def inert(self, func: Value) -> bool:
        """A call whose arguments cannot matter."""
        ...

    def call_function(
        self,
        fn: FunctionRef,
        args: list[Value],
        kwargs: dict[str, Value],
        frame: Frame,
        record_facts: bool | None = None,
        symbolic_missing: bool = False,
    ) -> Value:
        """Run a user function."""
        ...


@dataclass
class Frame:
    """A function activation (or the module scope)."""

    env: dict[str, Value]
    chunk: Chunk
    self_obj: Value = None
    owner: ClassInfo | None = None
    returns: list[Value] = field(default_factory=list)
    record_facts: bool = True
    home: InterpreterAPI | None = None  # whose module names this code sees (None: this file)


def join_values(a: Value, b: Value) -> Value:
    """What is known on both paths."""
    if a is b:
        return a
    if isinstance(a, Tensor) and isinstance(b, Tensor):
        return Tensor(
            S.join_shapes(a.shape, b.shape),
            a.dtype if a.dtype == b.dtype else None,
            a.numpy and b.numpy,
            a.trace,
            origin=a.origin + tuple(o for o in b.origin if o not in a.origin),
        )
    if isinstance(a, tuple) and isinstance(b, tuple) and len(a) == len(b):
        return tuple(join_values(x, y) for x, y in zip(a, b, strict=True))
    try:
        if type(a) is type(b) and isinstance(a, int | float | str | bool | S.Expr) and a == b:
            return a
    except TypeError:
        pass
    if a is None and b is None:
        return None
    return UNKNOWN


def join_envs(a: dict[str, Value], b: dict[str, Value]) -> dict[str, Value]:
    """Join two environments key by key (a name bound on one path only becomes UNKNOWN)."""
    out: dict[str, Value] = {}
    for k in a.keys() | b.keys():
        if k in a and k in b:
            out[k] = join_values(a[k], b[k])
        else:
            out[k] = UNKNOWN
    return out
