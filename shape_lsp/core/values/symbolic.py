"""Fresh named sizes for integers the engine cannot compute.

`int(dim * mlp_ratio)` with a symbolic `dim` has no closed form in the dims algebra, but it is
one definite integer: it becomes a symbol of its own, named after the computation, so that its
relations to itself are still proven (`h + 1 != h`, `2*h != h` for sizes >= 1) while nothing is
claimed about its relation to anything else. The real-valued steps on the way (`dim * 4.0`,
`dim / 3`) are `SymNum`s: unknown numbers with a canonical name. A `SymNum` is an `Unknown`, so
every place that does not know about it treats it as unknown.
"""

from __future__ import annotations

from shape_lsp.core.values import shapes as S
from shape_lsp.core.values.shapes import Expr, Unknown

MAX_NAME = 80  # longer computations stay plain unknown (names are shown to users)
ROUNDINGS = {
    "int": "int",
    "builtins.int": "int",
    "round": "round",
    "builtins.round": "round",
    "math.ceil": "ceil",
    "math.floor": "floor",
    "math.trunc": "int",
}


class SymNum(Unknown):
    """An unknown real number with a canonical name (equal names: equal numbers)."""

    key: str

    def __new__(cls, key: str) -> SymNum:
        obj = object.__new__(cls)
        obj.key = key
        return obj

    def __eq__(self, other: object) -> bool:
        return isinstance(other, SymNum) and other.key == self.key

    def __hash__(self) -> int:
        return hash(("SymNum", self.key))


def _name(v: object) -> str | None:
    """The canonical text of an operand, parenthesised when composite; None if not numeric."""
    if isinstance(v, bool):
        return None
    if isinstance(v, int | float):
        return repr(v)
    if isinstance(v, SymNum):
        return f"({v.key})" if any(op in v.key for op in "+-*/% ") else v.key
    if isinstance(v, Expr):
        text = S.render(v)
        return f"({text})" if any(op in text for op in "+-*/% ") else text
    return None


def applies(a: object, b: object) -> bool:
    """Whether `a op b` is a computation on a named unknown number (not plain ints/exprs)."""
    if isinstance(a, SymNum) or isinstance(b, SymNum):
        return _name(a) is not None and _name(b) is not None
    return (isinstance(a, Expr) and isinstance(b, float)) or (
        isinstance(b, Expr) and isinstance(a, float)
    )


def number_op(op: str, a: object, b: object) -> Unknown:
    """`a op b` as a SymNum (or plain unknown when it cannot be named)."""
    na, nb = _name(a), _name(b)
    if na is None or nb is None or op not in ("+", "-", "*", "/", "//", "%", "**"):
        return S.UNKNOWN
    if op in ("+", "*") and nb < na:  # commutative: one name for a*b and b*a
        na, nb = nb, na
    key = f"{na}{op}{nb}"
    return SymNum(key) if len(key) <= MAX_NAME else S.UNKNOWN


def rounded(fn: str, v: object) -> Expr | None:
    """`int(v)` / `round(v)` / `math.ceil(v)` of a named unknown number: a fresh size."""
    kind = ROUNDINGS.get(fn)
    if kind is None or not isinstance(v, SymNum):
        return None
    name = f"{kind}({v.key})"
    return S.sym(name) if len(name) <= MAX_NAME else None
