"""Callable values the interpreter builds from library helpers (kept apart from values.py)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from shape_lsp.core.values.abstract import Value


@dataclass(frozen=True, eq=False)
class Partial:
    """`functools.partial(func, *args, **kwargs)`: calling it calls `func` with the bound
    arguments first."""

    func: Value
    args: tuple[Value, ...] = ()
    kwargs: dict[str, Value] = field(default_factory=dict)


_CALLABLE_TYPES = {
    "builtins.type": "type",
    "types.FunctionType": "function",
    "types.LambdaType": "function",
    "types.MethodType": "method",
    "types.BuiltinFunctionType": "builtin",
    "functools.partial": "partial",
}
_OTHER_TYPES = frozenset(
    [
        *(f"builtins.{t}" for t in ("str", "int", "float", "bool", "list", "tuple", "dict", "set")),
        "collections.abc.Iterable",
        "collections.abc.Sequence",
        "typing.Iterable",
        "typing.Sequence",
    ]
)


def callable_kind(obj: Value) -> str | None:
    """ "type", "function" or "partial" for a class, function or partial the interpreter
    knows (None: not such a value, or not known)."""
    from shape_lsp.core.interpreter.objects import ClassRef, FunctionRef
    from shape_lsp.core.values.abstract import Qual

    if isinstance(obj, Partial):
        return "partial"
    if isinstance(obj, ClassRef):
        return "type"
    if isinstance(obj, FunctionRef):
        return "function" if obj.self_obj is None else "method"
    if isinstance(obj, Qual) and obj.name.startswith(("torch.nn.", "keras.layers.")):
        last = obj.name.rsplit(".", 1)[-1]
        return "type" if last[:1].isupper() else None
    return None


def callable_isinstance(obj: Value, kinds: Value) -> bool | None:
    """`isinstance(obj, kinds)` for a known class/function/partial against `type`,
    `types.FunctionType`, `functools.partial` and the plain builtin types; None: unknown."""
    kind = callable_kind(obj)
    if kind is None:
        return None
    from shape_lsp.core.values.abstract import Qual

    names = kinds if isinstance(kinds, tuple) else (kinds,)
    for k in names:
        if not isinstance(k, Qual):
            return None
        if k.name in _CALLABLE_TYPES:
            if _CALLABLE_TYPES[k.name] == kind:
                return True
        elif k.name not in _OTHER_TYPES:
            return None
    return False


@dataclass(frozen=True, eq=False)
class NativeCall:
    """A callable the engine implements itself (e.g. a dataclass's generated `__init__`
    reached through `super().__init__`): `fn(args, kwargs)`."""

    fn: Callable[[list[Value], dict[str, Value]], Value]
