"""Interpreter state shared by its parts and by the frameworks: frames, limits, control-flow
signals, joins of values from two paths, and the interface a framework hook may use."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

from shape_lsp.core.interpreter.objects import (
    ClassInfo,
    Container,
    FunctionRef,
    ModuleInstance,
    is_module,
)
from shape_lsp.core.source.parse import Chunk, ParsedFile
from shape_lsp.core.values import shapes as S
from shape_lsp.core.values.abstract import Tensor, Value, dtype_assumed
from shape_lsp.core.values.shapes import UNKNOWN, Unknown

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


class Unreachable(Budget):
    """An assertion that provably fails: Python (torch) raises there, so nothing after it runs
    and nothing after it is reported; like running out of budget, the rest is unknown."""


class Return(Exception):
    """`return value` unwinding to the function call."""

    def __init__(self, value: Value) -> None:
        self.value = value


class LoopExit(Exception):
    """`break`/`continue` (loops are unrolled; the rest of the body is skipped)."""


class Break(LoopExit):
    """`break`."""


class Continue(LoopExit):
    """`continue`."""


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
            (b.dtype if dtype_assumed(b) else a.dtype) if a.dtype == b.dtype else None,
            a.numpy and b.numpy,
            a.trace,
            a.assumed or b.assumed,  # a guessed rank on either path stays a guess
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


_Seq = list[Value] | Container
_State = tuple[list[Value], list[Value]]  # items (and a container's item nodes)
_Snapshot = dict[int, tuple[_Seq, _State]]


def _state(seq: _Seq) -> _State:
    if isinstance(seq, Container):
        return list(seq.items), list(seq.item_nodes)
    return list(seq), []


def _restore(seq: _Seq, st: _State) -> None:
    if isinstance(seq, Container):
        seq.items[:] = st[0]
        seq.item_nodes[:] = st[1]
    else:
        seq[:] = st[0]


def _same(a: _State, b: _State) -> bool:
    return len(a[0]) == len(b[0]) and all(x is y for x, y in zip(a[0], b[0], strict=True))


def _sequences(frame: Frame) -> _Snapshot:
    """The lists and containers a loop body or a branch may change: bound to names, in
    tuples bound to names, or attributes of `self`; with a copy of their items."""
    roots = list(frame.env.values())
    if isinstance(frame.self_obj, ModuleInstance):
        roots += frame.self_obj.attrs.values()
    out: _Snapshot = {}
    for v in roots:
        for seq in (v, *v) if isinstance(v, tuple) else (v,):
            if isinstance(seq, list | Container):
                out[id(seq)] = (seq, _state(seq))
    return out


def _forget_changed(frame: Frame, before: _Snapshot) -> None:
    """After one pass of a loop of unknown trip count: what it changed is not known. A list
    it only appended to keeps its items (each is checked where it is used) and gets an unknown
    one at the end, so that what it is concatenated or run into is unknown."""
    lost: list[_Seq] = []
    for seq, st in before.values():
        now = _state(seq)
        if _same(now, st):
            continue
        grew = len(now[0]) > len(st[0]) and _same((now[0][: len(st[0])], []), st)
        if isinstance(seq, list) and grew:
            seq.append(UNKNOWN)
        else:
            lost.append(seq)
    _forget(frame, lost)


def _join_sequences(
    frame: Frame, before: _Snapshot, after_a: dict[int, _State], left: tuple[str | None, ...]
) -> None:
    """After both arms of an unknown `if` (the second ran on the state restored from before):
    a list or container keeps what both arms agree on; items of equal-length lists are
    joined; one appended to on only one path is not known. An arm that returned does not go
    on; one that left its loop goes on at the loop's end, where the state is not known."""
    lost: list[_Seq] = []
    for k, (seq, _) in before.items():
        a, b = after_a[k], _state(seq)
        if left[0] == "return" or _same(a, b):
            continue  # only the second arm goes on, or both agree
        if left[1] == "return":
            _restore(seq, a)
        elif not any(left) and isinstance(seq, list) and len(a[0]) == len(b[0]):
            seq[:] = [join_values(x, y) for x, y in zip(a[0], b[0], strict=True)]
        elif not any(left) and _optional_layers(a, b):
            # `if norm_layer is not None: layers.append(norm_layer(c))` with the condition
            # unknown: the layers stay in (kept guess: optional layers rarely change shapes)
            _restore(seq, a if len(a[0]) > len(b[0]) else b)
        else:
            lost.append(seq)
    _forget(frame, lost)


def _optional_layers(a: _State, b: _State) -> bool:
    """One state is the other plus modules (or values not known) appended at its end."""
    short, long = (a, b) if len(a[0]) < len(b[0]) else (b, a)
    n = len(short[0])
    return (
        len(long[0]) > n
        and _same((long[0][:n], []), short)
        and all(is_module(v) or isinstance(v, Unknown) for v in long[0][n:])
    )


def _forget(frame: Frame, seqs: list[_Seq]) -> None:
    """These lists have unknown length (names and `self` attributes bound to them become
    UNKNOWN); these containers get an unknown entry (running or iterating them past their
    known entries is unknown)."""
    if not seqs:
        return
    ids = {id(s) for s in seqs}
    attrs = frame.self_obj.attrs if isinstance(frame.self_obj, ModuleInstance) else {}
    for table in (frame.env, attrs):
        for name, v in list(table.items()):
            if isinstance(v, list) and id(v) in ids:
                table[name] = UNKNOWN
    for seq in seqs:
        if isinstance(seq, Container) and seq.kind in ("Sequential", "ModuleList"):
            seq.items.append((str(len(seq.items)), UNKNOWN))
            seq.item_nodes.append(None)


def _join_into(frame: Frame, envs: list[dict[str, Value]]) -> None:
    """The frame's environment joined, in place, with each of `envs`."""
    for env in envs:
        joined = join_envs(frame.env, env)
        frame.env.clear()
        frame.env.update(joined)


def join_envs(a: dict[str, Value], b: dict[str, Value]) -> dict[str, Value]:
    """Join two environments key by key (a name bound on one path only becomes UNKNOWN)."""
    out: dict[str, Value] = {}
    for k in a.keys() | b.keys():
        if k in a and k in b:
            out[k] = join_values(a[k], b[k])
        else:
            out[k] = UNKNOWN
    return out
