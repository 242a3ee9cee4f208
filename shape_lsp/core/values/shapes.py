"""Dimensions and shapes: ints, named symbols and simplified integer expressions.

A dimension (`Dim`) is a Python `int`, an `Expr` (an integer polynomial over symbols and
floor-division atoms, kept in a canonical form so that equal sizes compare equal), or
`UNKNOWN`. Symbols stand for sizes >= 1. Comparisons answer True, False or None (cannot
tell); a mismatch is only ever reported on a proven False.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass


class Unknown:
    """A dimension nothing is known about."""

    _instance: Unknown | None = None

    def __new__(cls) -> Unknown:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "?"


UNKNOWN = Unknown()


@dataclass(frozen=True)
class FloorDiv:
    """The atom `num // den` for a non-constant numerator and den >= 2."""

    num: Expr
    den: int


Atom = str | FloorDiv
Monomial = tuple[Atom, ...]


def _atom_key(a: Atom) -> tuple[int, str]:
    return (0, a) if isinstance(a, str) else (1, render(a.num) + "//" + str(a.den))


def _mono_key(m: Monomial) -> tuple[int, tuple[tuple[int, str], ...]]:
    return (-len(m), tuple(_atom_key(a) for a in m))


@dataclass(frozen=True)
class Expr:
    """An integer polynomial: a sorted tuple of (monomial, coefficient); () is the constant."""

    terms: tuple[tuple[Monomial, int], ...]

    @staticmethod
    def of(terms: dict[Monomial, int]) -> Dim:
        """Canonical Expr from a term map; a constant comes back as a plain int."""
        items = [(m, c) for m, c in terms.items() if c != 0]
        if not items:
            return 0
        if len(items) == 1 and items[0][0] == ():
            return items[0][1]
        items.sort(key=lambda mc: _mono_key(mc[0]))
        return Expr(tuple(items))

    def as_dict(self) -> dict[Monomial, int]:
        """The term map."""
        return dict(self.terms)

    def __repr__(self) -> str:
        return render(self)


Dim = int | Expr | Unknown
Shape = tuple[Dim, ...]


def sym(name: str) -> Expr:
    """The symbol `name` as a dimension."""
    return Expr((((name,), 1),))


def _terms(d: int | Expr) -> dict[Monomial, int]:
    if isinstance(d, int):
        return {(): d} if d else {}
    return d.as_dict()


def is_known(d: Dim) -> bool:
    """True for ints and expressions, False for UNKNOWN."""
    return not isinstance(d, Unknown)


def add(a: Dim, b: Dim) -> Dim:
    """a + b."""
    if isinstance(a, int) and isinstance(b, int):
        return a + b
    if isinstance(a, Unknown) or isinstance(b, Unknown):
        return UNKNOWN
    t = _terms(a)
    for m, c in _terms(b).items():
        t[m] = t.get(m, 0) + c
    return Expr.of(t)


def neg(a: Dim) -> Dim:
    """-a."""
    if isinstance(a, int):
        return -a
    if isinstance(a, Unknown):
        return UNKNOWN
    return Expr.of({m: -c for m, c in a.terms})


def sub(a: Dim, b: Dim) -> Dim:
    """a - b."""
    return add(a, neg(b))


def mul(a: Dim, b: Dim) -> Dim:
    """a * b."""
    if isinstance(a, int) and isinstance(b, int):
        return a * b
    if a == 0 or b == 0:
        return 0
    if isinstance(a, Unknown) or isinstance(b, Unknown):
        return UNKNOWN
    out: dict[Monomial, int] = {}
    for ma, ca in _terms(a).items():
        for mb, cb in _terms(b).items():
            m = tuple(sorted(ma + mb, key=_atom_key))
            out[m] = out.get(m, 0) + ca * cb
    return Expr.of(out)


def product(dims: Iterable[Dim]) -> Dim:
    """The product of `dims` (1 for none)."""
    out: Dim = 1
    for d in dims:
        out = mul(out, d)
    return out


def floordiv(a: Dim, b: Dim) -> Dim:
    """a // b, exact where the algebra can tell, else a floor-division atom or UNKNOWN."""
    if isinstance(a, Unknown) or isinstance(b, Unknown):
        return UNKNOWN
    if isinstance(b, int):
        if b == 0:
            return UNKNOWN
        if isinstance(a, int):
            return a // b
        if b < 0:
            return floordiv(neg(a), -b)
        if b == 1:
            return a
        return _floordiv_int(a, b)
    return exact_div(a, b)


def _floordiv_int(a: Expr, k: int) -> Dim:
    whole: dict[Monomial, int] = {}
    rest: dict[Monomial, int] = {}
    for m, c in a.terms:
        if m == ():
            q, r = divmod(c, k)
            if q:
                whole[()] = q
            if r:
                rest[()] = r
        elif c % k == 0:
            whole[m] = c // k
        else:
            rest[m] = c
    if rest:
        rest_expr = Expr.of(rest)
        if isinstance(rest_expr, int):  # only a constant remainder 0 < r < k left
            atom_val: Dim = rest_expr // k
        elif len(rest) == 1 and isinstance(rest_expr, Expr):
            ((m, c),) = rest_expr.terms
            if c == 1 and len(m) == 1 and isinstance(m[0], FloorDiv):
                inner = m[0]  # (x // a) // k == x // (a*k)
                atom_val = _floordiv_int(inner.num, inner.den * k)
            else:
                atom_val = Expr((((FloorDiv(rest_expr, k),), 1),))
        else:
            assert isinstance(rest_expr, Expr)
            atom_val = Expr((((FloorDiv(rest_expr, k),), 1),))
        return add(Expr.of(whole) if whole else 0, atom_val)
    return Expr.of(whole)


def exact_div(a: Dim, b: Dim) -> Dim:
    """a / b when b divides a exactly in the algebra (e.g. B*C*H // C), else UNKNOWN."""
    if isinstance(a, Unknown) or isinstance(b, Unknown):
        return UNKNOWN
    if isinstance(b, int):
        if b == 0:
            return UNKNOWN
        if isinstance(a, int):
            return a // b if a % b == 0 else UNKNOWN
        if all(c % b == 0 for _, c in a.terms):
            return Expr.of({m: c // b for m, c in a.terms})
        return UNKNOWN
    if len(b.terms) != 1:
        if a == b:
            return 1
        return UNKNOWN
    ((bm, bc),) = b.terms
    out: dict[Monomial, int] = {}
    for m, c in _terms(a).items():
        rest = list(m)
        for atom in bm:
            if atom not in rest:
                return UNKNOWN
            rest.remove(atom)
        if c % bc:
            return UNKNOWN
        out[tuple(rest)] = out.get(tuple(rest), 0) + c // bc
    return Expr.of(out)


def ceildiv(a: Dim, k: int) -> Dim:
    """ceil(a / k) for k >= 1."""
    return floordiv(add(a, k - 1), k)


def _sign(d: Dim) -> int | None:
    """+1 / -1 / 0 when provable with symbols >= 1, else None."""
    if isinstance(d, int):
        return (d > 0) - (d < 0)
    if isinstance(d, Unknown):
        return None
    signs = set()
    for m, c in d.terms:
        if any(not isinstance(a, str) for a in m):
            return None
        signs.add(1 if c > 0 else -1)
    if len(signs) != 1:
        return None
    return signs.pop()


def eq(a: Dim, b: Dim) -> bool | None:
    """True / False when provable, None when it cannot be told."""
    if isinstance(a, int) and isinstance(b, int):
        return a == b
    if isinstance(a, Unknown) or isinstance(b, Unknown):
        return None
    s = _sign(sub(a, b))
    return None if s is None else s == 0


def lt(a: Dim, b: Dim) -> bool | None:
    """a < b when provable."""
    s = _sign(sub(a, b))
    return None if s is None else s < 0


def shape_eq(a: Sequence[Dim] | None, b: Sequence[Dim] | None) -> bool | None:
    """Element-wise equality of two shapes, three-valued."""
    if a is None or b is None:
        return None
    if len(a) != len(b):
        return False
    result: bool | None = True
    for x, y in zip(a, b, strict=True):
        e = eq(x, y)
        if e is False:
            return False
        if e is None:
            result = None
    return result


def join(a: Dim, b: Dim) -> Dim:
    """The dimension known on both paths of a branch: equal sizes survive, others go unknown."""
    return a if eq(a, b) is True else UNKNOWN


def join_shapes(a: Shape | None, b: Shape | None) -> Shape | None:
    """Shape join for if/else: same rank keeps agreeing dims; different rank is unknown."""
    if a is None or b is None or len(a) != len(b):
        return None
    return tuple(join(x, y) for x, y in zip(a, b, strict=True))


def broadcast(a: Shape, b: Shape) -> tuple[Shape | None, tuple[int, Dim, Dim] | None]:
    """Broadcast two shapes: (result, None) or (None, (axis from the right, dim a, dim b))."""
    n = max(len(a), len(b))
    pa = (1,) * (n - len(a)) + tuple(a)
    pb = (1,) * (n - len(b)) + tuple(b)
    out: list[Dim] = []
    for i, (x, y) in enumerate(zip(pa, pb, strict=True)):
        if eq(x, y) is True or y == 1:
            out.append(x)
        elif x == 1:
            out.append(y)
        elif (isinstance(x, int) and isinstance(y, int)) or (
            eq(x, y) is False and lt(1, x) and lt(1, y)
        ):
            return None, (n - i, x, y)
        elif isinstance(y, int):
            out.append(y)  # x must be y or 1: either way the result is y
        elif isinstance(x, int):
            out.append(x)
        else:
            out.append(UNKNOWN)
    return tuple(out), None


def numel(shape: Sequence[Dim]) -> Dim:
    """The element count of a shape."""
    return product(shape)


def render(d: Dim | FloorDiv) -> str:
    """Human-readable form: `64`, `B`, `H//2 - 1`, `64*H*W`, `?`."""
    if isinstance(d, int):
        return str(d)
    if isinstance(d, Unknown):
        return "?"
    if isinstance(d, FloorDiv):
        inner = render(d.num)
        if len(d.num.terms) > 1 or d.num.terms[0][1] != 1:
            inner = f"({inner})"
        return f"{inner}//{d.den}"
    parts: list[str] = []
    for idx, (m, c) in enumerate(d.terms):
        mag = abs(c)
        wrap = len(m) > 1 or mag != 1
        atoms = "*".join(
            (f"({render(a)})" if wrap else render(a)) if isinstance(a, FloorDiv) else a for a in m
        )
        if not m:
            body = str(mag)
        elif mag == 1:
            body = atoms
        else:
            body = f"{mag}*{atoms}"
        if idx == 0:
            parts.append(("-" if c < 0 else "") + body)
        else:
            parts.append((" - " if c < 0 else " + ") + body)
    return "".join(parts)


def render_shape(shape: Sequence[Dim] | None) -> str:
    """`(B, 64, 16, 16)`; `(?)` style for unknown rank is `unknown`."""
    if shape is None:
        return "unknown"
    if len(shape) == 1:
        return f"({render(shape[0])},)"
    return "(" + ", ".join(render(d) for d in shape) + ")"


def to_json_dim(d: Dim) -> int | str:
    """An int, or the rendered expression for symbolic and unknown dims."""
    return d if isinstance(d, int) else render(d)


def symbols_of(d: Dim) -> set[str]:
    """The symbol names a dimension mentions."""
    if not isinstance(d, Expr):
        return set()
    out: set[str] = set()
    for m, _ in d.terms:
        for a in m:
            if isinstance(a, str):
                out.add(a)
            else:
                out |= symbols_of(a.num)
    return out


def substitute(d: Dim, values: dict[str, int]) -> Dim:
    """Replace symbols by ints (used to fill defaults for verify and for tests)."""
    if not isinstance(d, Expr):
        return d
    total: Dim = 0
    for m, c in d.terms:
        term: Dim = c
        for a in m:
            if isinstance(a, str):
                term = mul(term, values.get(a, sym(a)))
            else:
                term = mul(term, floordiv(substitute(a.num, values), a.den))
        total = add(total, term)
    return total
