"""einops: `rearrange` / `reduce` / `repeat` and the `Rearrange` / `Reduce` layers.

The pattern string fixes the output shape. This follows einops 0.8: a pattern is
`left -> right`, each side a list of axis names, `...`, anonymous sizes (`1`, `3`) and
parenthesised groups (`(h w)`, `()`); axis sizes may be given as keyword arguments. What einops
rejects when it builds the recipe (names on one side only, duplicate names, sizes it cannot
infer) and when it sees the tensor (wrong rank, a group that does not split into its sizes) is
reported; a pattern this module does not understand leaves the output unknown.
"""

from __future__ import annotations

from dataclasses import dataclass

from shape_lsp.core.rules.base import RuleCall, fmt, fmt_shape, function, layer, unknown_like
from shape_lsp.core.values import shapes as S
from shape_lsp.core.values.abstract import Tensor, Value, as_dim
from shape_lsp.core.values.shapes import UNKNOWN, Dim, Shape

ELLIPSIS = "…"
REDUCTIONS = ("min", "max", "sum", "mean", "prod", "any", "all")


class PatternNotUnderstood(Exception):
    """A pattern (or part of one) outside what this module models: the result is unknown."""


@dataclass(frozen=True)
class Side:
    """One side of a pattern: groups of axes; an axis is a name, ELLIPSIS or an int size."""

    groups: tuple[tuple[str | int, ...], ...]
    grouped: tuple[bool, ...]

    @property
    def names(self) -> list[str]:
        """Named axes (no ellipsis, no anonymous sizes), in order."""
        return [a for g in self.groups for a in g if isinstance(a, str) and a != ELLIPSIS]

    @property
    def has_ellipsis(self) -> bool:
        """Whether `...` appears."""
        return any(a == ELLIPSIS for g in self.groups for a in g)


def parse_side(c: RuleCall, text: str, op: str) -> Side:
    """Tokenise one side; einops' own syntax errors are reported, odd names are unknown."""
    groups: list[tuple[str | int, ...]] = []
    grouped: list[bool] = []
    current: list[str | int] | None = None
    seen: set[str] = set()
    for tok in text.replace("(", " ( ").replace(")", " ) ").replace("...", f" {ELLIPSIS} ").split():
        if tok == "(":
            if current is not None:
                c.fail("SH112", f"{op}(): nested parentheses in the pattern '{text}'")
            current = []
            continue
        if tok == ")":
            if current is None:
                c.fail("SH112", f"{op}(): unbalanced parentheses in the pattern '{text}'")
            groups.append(tuple(current))
            grouped.append(True)
            current = None
            continue
        axis: str | int
        if tok == ELLIPSIS:
            if ELLIPSIS in seen:
                c.fail("SH112", f"{op}(): more than one ellipsis in '{text}'")
            axis = tok
        elif tok.isdecimal():
            axis = int(tok)
        elif tok.isidentifier() and not tok.startswith("_") and not tok.endswith("_"):
            axis = tok
        else:
            raise PatternNotUnderstood(tok)
        if isinstance(axis, str):
            if axis in seen:
                c.fail("SH112", f"{op}(): the axis '{axis}' appears twice in '{text}'")
            seen.add(axis)
        if current is not None:
            current.append(axis)
        else:
            groups.append((axis,))
            grouped.append(False)
    if current is not None:
        c.fail("SH112", f"{op}(): unbalanced parentheses in the pattern '{text}'")
    return Side(tuple(groups), tuple(grouped))


def _check_recipe(c: RuleCall, op: str, left: Side, right: Side, lengths: dict[str, Dim]) -> None:
    """The checks einops makes before it looks at the tensor."""
    if right.has_ellipsis and not left.has_ellipsis:
        c.fail("SH112", f"{op}(): '...' on the right side of the pattern but not on the left")
    if any(a == ELLIPSIS for g, p in zip(left.groups, left.grouped, strict=True) if p for a in g):
        c.fail("SH112", f"{op}(): '...' inside parentheses on the left side is not allowed")
    lnames = set(left.names) | ({ELLIPSIS} if left.has_ellipsis else set())
    rnames = set(right.names) | ({ELLIPSIS} if right.has_ellipsis else set())
    if op == "rearrange":
        anon = [a for s in (left, right) for g in s.groups for a in g if isinstance(a, int)]
        if any(a != 1 for a in anon):
            c.fail("SH112", "rearrange(): anonymous axes other than 1 are not supported")
        if lnames ^ rnames:
            c.fail(
                "SH112",
                f"rearrange(): axes {sorted(lnames ^ rnames)} appear on one side of the "
                "pattern only",
            )
    elif op == "repeat":
        if lnames - rnames:
            c.fail("SH112", f"repeat(): axes {sorted(lnames - rnames)} are dropped on the right")
        missing = rnames - lnames - set(lengths)
        if missing:
            c.fail("SH112", f"repeat(): give the sizes of the new axes {sorted(missing)}")
    elif rnames - lnames:
        c.fail("SH112", f"reduce(): axes {sorted(rnames - lnames)} are not on the left side")
    for name in lengths:
        if name not in lnames | rnames:
            c.fail("SH112", f"{op}(): the axis '{name}' given a size is not in the pattern")


def _bind_left(
    c: RuleCall, op: str, left: Side, shape: Shape, lengths: dict[str, Dim]
) -> tuple[dict[str, Dim], Shape]:
    """Sizes of the left side's axes from the input shape; the dims `...` covers."""
    n_groups = len(left.groups) - (1 if left.has_ellipsis else 0)
    if left.has_ellipsis and len(shape) < n_groups:
        c.fail("SH109", f"{op}(): expected at least {n_groups} dims, got {fmt_shape(shape)}")
    if not left.has_ellipsis and len(shape) != n_groups:
        c.fail(
            "SH109",
            f"{op}(): the pattern expects {n_groups} dims, got {len(shape)}-dim {fmt_shape(shape)}",
        )
    sizes: dict[str, Dim] = dict(lengths)
    ell: Shape = ()
    pos = 0
    for group in left.groups:
        if group == (ELLIPSIS,):
            k = len(shape) - n_groups
            ell = tuple(shape[pos : pos + k])
            pos += k
            continue
        dim = shape[pos]
        pos += 1
        known: Dim = 1
        free: list[str] = []
        for a in group:
            if isinstance(a, int):
                known = S.mul(known, a)
            elif a in sizes:
                known = S.mul(known, sizes[a])
            else:
                free.append(a)
        if len(free) > 1:
            c.fail("SH112", f"{op}(): cannot infer the sizes of {free}: give all but one")
        if free:
            part = S.exact_div(dim, known)
            if isinstance(dim, int) and isinstance(known, int) and known > 0 and dim % known:
                c.fail(
                    "SH105",
                    f"{op}(): cannot split the axis of size {dim} into chunks of {known} "
                    f"({' '.join(map(str, group))})",
                )
            sizes[free[0]] = part
        elif S.eq(dim, known) is False:
            c.fail(
                "SH105",
                f"{op}(): the axis ({' '.join(map(str, group))}) should be {fmt(known)}, "
                f"the tensor has {fmt(dim)}",
            )
    return sizes, ell


def apply_pattern(
    c: RuleCall, op: str, pattern: str, shape: Shape | None, lengths: dict[str, Dim]
) -> Shape | None:
    """The output shape of `op` (rearrange/reduce/repeat) with `pattern`; None when unknown."""
    if pattern.count("->") != 1:
        c.fail("SH112", f"{op}(): the pattern '{pattern}' needs exactly one '->'")
    lhs, rhs = pattern.split("->")
    left, right = parse_side(c, lhs, op), parse_side(c, rhs, op)
    _check_recipe(c, op, left, right, lengths)
    if shape is None:
        return None
    sizes, ell = _bind_left(c, op, left, shape, lengths)
    out: list[Dim] = []
    for group, paren in zip(right.groups, right.grouped, strict=True):
        if group == (ELLIPSIS,) and not paren:
            out.extend(ell)
            continue
        size: Dim = 1
        for a in group:
            if a == ELLIPSIS:
                size = S.mul(size, S.product(ell))
            elif isinstance(a, int):
                size = S.mul(size, a)
            else:
                size = S.mul(size, sizes.get(a, UNKNOWN))
        out.append(size)
    return tuple(out)


def _reduction(c: RuleCall) -> None:
    red = c.args.get("reduction")
    if isinstance(red, str) and red not in REDUCTIONS:
        c.fail("SH112", f"reduce(): unknown reduction '{red}' (one of {', '.join(REDUCTIONS)})")


def _lengths(raw: Value) -> dict[str, Dim] | None:
    if not isinstance(raw, dict):
        return None
    out = {k: as_dim(v) for k, v in raw.items() if isinstance(k, str)}
    return out if len(out) == len(raw) else None


def _run(c: RuleCall, op: str, x: Tensor | None, pattern: str | None, raw: Value) -> Value:
    lengths = _lengths(raw)
    if x is None or pattern is None or lengths is None:
        return unknown_like(x)
    try:
        out = apply_pattern(c, op, pattern, x.shape, lengths)
    except PatternNotUnderstood:
        return unknown_like(x)
    if out is None:
        return unknown_like(x)
    c.note(f"{op} '{pattern}': {fmt_shape(x.shape)} → {fmt_shape(out)}")
    return x.with_shape(out, f"{op} → {fmt_shape(out)}")


@function("einops.rearrange", sig="tensor, pattern, **axes_lengths")
def rearrange(c: RuleCall) -> Value:
    """rearrange(x, 'b c (h p) (w q) -> b (h w) (p q c)', p=16, q=16)."""
    return _run(
        c, "rearrange", c.args.tensor("tensor"), c.args.str("pattern"), c.args.get("axes_lengths")
    )


@function("einops.repeat", sig="tensor, pattern, **axes_lengths")
def repeat(c: RuleCall) -> Value:
    """repeat(x, 'h w -> h w c', c=3)."""
    return _run(
        c, "repeat", c.args.tensor("tensor"), c.args.str("pattern"), c.args.get("axes_lengths")
    )


@function("einops.reduce", sig="tensor, pattern, reduction, **axes_lengths")
def reduce(c: RuleCall) -> Value:
    """reduce(x, 'b c h w -> b c', 'mean')."""
    _reduction(c)
    return _run(
        c, "reduce", c.args.tensor("tensor"), c.args.str("pattern"), c.args.get("axes_lengths")
    )


@layer(
    "einops.layers.torch.Rearrange",
    sig="pattern, **axes_lengths",
    family="einops",
)
def rearrange_layer(c: RuleCall) -> Value:
    """The Rearrange layer: the same as rearrange() with the pattern fixed at construction."""
    return _run(c, "rearrange", c.tensor(), c.args.str("pattern"), c.args.get("axes_lengths"))


@layer(
    "einops.layers.torch.Reduce",
    sig="pattern, reduction, **axes_lengths",
    family="einops",
)
def reduce_layer(c: RuleCall) -> Value:
    """The Reduce layer: reduce() with the pattern and reduction fixed at construction."""
    _reduction(c)
    return _run(c, "reduce", c.tensor(), c.args.str("pattern"), c.args.get("axes_lengths"))
