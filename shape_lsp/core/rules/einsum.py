"""torch.einsum, tensordot, outer/ger, dot/vdot/inner, mv, addmm/baddbmm.

einsum follows torch: subscripts are letters, `...` stands for broadcast dims, a missing
`->` gives the letters used once in alphabetical order (after the ellipsis dims), and sizes of
one subscript broadcast (equal or 1).
"""

from __future__ import annotations

from shape_lsp.core.rules.arith import matmul_apply
from shape_lsp.core.rules.base import (
    RuleCall,
    fmt,
    fmt_shape,
    function,
    norm_dim,
    unknown_like,
)
from shape_lsp.core.values import shapes as S
from shape_lsp.core.values.abstract import Tensor, Value
from shape_lsp.core.values.shapes import UNKNOWN, Dim, Shape

ELL = "."  # one token standing for "..."


def parse_term(c: RuleCall, term: str) -> list[str]:
    """Letters of one term, with "..." as a single ELL token."""
    out: list[str] = []
    t = term.replace(" ", "")
    i = 0
    while i < len(t):
        if t.startswith("...", i):
            if ELL in out:
                c.fail("SH112", f"einsum(): more than one ellipsis in the term '{term}'")
            out.append(ELL)
            i += 3
        elif t[i].isalpha() and t[i].isascii():
            out.append(t[i])
            i += 1
        else:
            c.fail("SH112", f"einsum(): invalid subscript '{t[i]}' in '{term}'")
    return out


def _merge(c: RuleCall, letter: str, have: Dim, new: Dim, k: int) -> Dim:
    res, err = S.broadcast((have,), (new,))
    if err is not None:
        c.fail(
            "SH107",
            f"einsum(): subscript {letter} has size {fmt(new)} for operand {k}, which does not "
            f"broadcast with the size {fmt(have)} seen before",
        )
    assert res is not None
    return res[0]


def einsum_apply(c: RuleCall, eq: str, ops: list[Tensor]) -> Value:
    """The output shape of an einsum equation over known-shaped operands."""
    lhs, arrow, rhs = eq.partition("->")
    terms = [parse_term(c, t) for t in lhs.split(",")]
    if len(terms) != len(ops):
        c.fail(
            "SH112",
            f"einsum(): the equation '{eq}' names {len(terms)} operands but {len(ops)} were given",
        )
    sizes: dict[str, Dim] = {}
    ell: Shape | None = None
    counts: dict[str, int] = {}
    for k, (term, x) in enumerate(zip(terms, ops, strict=True)):
        assert x.shape is not None
        letters = [t for t in term if t != ELL]
        if ELL in term:
            if len(x.shape) < len(letters):
                c.fail(
                    "SH109",
                    f"einsum(): term '{''.join(term).replace(ELL, '...')}' needs at least "
                    f"{len(letters)} dims, operand {k} is {fmt_shape(x.shape)}",
                )
        elif len(x.shape) != len(letters):
            c.fail(
                "SH109",
                f"einsum(): the term '{''.join(term)}' has {len(letters)} subscripts but operand "
                f"{k} {fmt_shape(x.shape)} has {len(x.shape)} dimensions",
            )
        n_ell = len(x.shape) - len(letters)
        dims: list[Dim] = []
        pos = 0
        seen_here: dict[str, Dim] = {}
        for t in term:
            if t == ELL:
                part = x.shape[pos : pos + n_ell]
                pos += n_ell
                if ell is None:
                    ell = part
                else:
                    res, err = S.broadcast(ell, part)
                    if err is not None:
                        c.fail(
                            "SH108",
                            f"einsum(): the dims {fmt_shape(part)} covered by '...' in operand "
                            f"{k} do not broadcast with {fmt_shape(ell)}",
                        )
                    ell = res
                continue
            d = x.shape[pos]
            pos += 1
            dims.append(d)
            if t in seen_here:
                if S.eq(seen_here[t], d) is False:
                    c.fail(
                        "SH112",
                        f"einsum(): subscript {t} is repeated for operand {k} but the sizes "
                        f"differ ({fmt(seen_here[t])} vs {fmt(d)})",
                    )
                continue
            seen_here[t] = d
            counts[t] = counts.get(t, 0) + 1
            sizes[t] = d if t not in sizes else _merge(c, t, sizes[t], d, k)
        for t in set(letters):
            if letters.count(t) > 1:
                counts[t] = counts.get(t, 0) + 1  # a diagonal is not kept implicitly
    if arrow:
        out_terms = parse_term(c, rhs)
        for t in out_terms:
            if t != ELL and t not in sizes:
                c.fail("SH112", f"einsum(): output subscript {t} does not appear in any input")
            if t != ELL and out_terms.count(t) > 1:
                c.fail("SH112", f"einsum(): output subscript {t} appears more than once")
    else:
        out_terms = ([ELL] if ell is not None else []) + sorted(
            t for t, n in counts.items() if n == 1
        )
    out: list[Dim] = []
    for t in out_terms:
        if t == ELL:
            out.extend(ell or ())
        else:
            out.append(sizes[t])
    return tuple(out)


@function("torch.einsum", sig="equation, *operands")
def einsum(c: RuleCall) -> Value:
    """torch.einsum('bij,bjk->bik', a, b) or with a list of operands."""
    eq = c.args.str("equation")
    raw = c.args.get("operands")
    ops = list(raw) if isinstance(raw, tuple) else []
    if len(ops) == 1 and isinstance(ops[0], tuple | list):
        ops = list(ops[0])
    tensors = [t for t in ops if isinstance(t, Tensor)]
    first = tensors[0] if tensors else None
    if eq is None or len(tensors) != len(ops) or not tensors:
        return unknown_like(first)
    dts = {t.dtype for t in tensors}
    if None not in dts and len(dts) > 1:
        c.fail("SH110", f"einsum(): operands have different dtypes {sorted(dts)}")  # type: ignore[type-var]
    if any(t.shape is None for t in tensors):
        return unknown_like(first)
    assert first is not None
    out = einsum_apply(c, eq, tensors)
    if not isinstance(out, tuple):
        return unknown_like(first)
    c.note(f"{eq}: {' , '.join(fmt_shape(t.shape) for t in tensors)} → {fmt_shape(out)}")
    return first.with_shape(out, f"einsum → {fmt_shape(out)}")


@function("torch.tensordot", sig="a, b, dims=2, out=None")
def tensordot(c: RuleCall) -> Value:
    """Contract the last n dims of a with the first n of b, or the listed dims."""
    a, b = c.args.tensor("a"), c.args.tensor("b")
    if a is None or b is None or a.shape is None or b.shape is None:
        return unknown_like(a)
    dims = c.args.get("dims")
    ra, rb = len(a.shape), len(b.shape)
    if isinstance(dims, int) and not isinstance(dims, bool):
        if dims < 0:
            c.fail("SH112", f"tensordot expects dims >= 0, got {dims}")
        if dims > min(ra, rb):
            c.fail(
                "SH109",
                f"tensordot: dims={dims} is more than the rank of {fmt_shape(a.shape)} or "
                f"{fmt_shape(b.shape)}",
            )
        da, db = list(range(ra - dims, ra)), list(range(dims))
    elif isinstance(dims, tuple | list) and len(dims) == 2:
        xs, ys = dims
        xs = [xs] if isinstance(xs, int) else xs
        ys = [ys] if isinstance(ys, int) else ys
        if not isinstance(xs, tuple | list) or not isinstance(ys, tuple | list):
            return unknown_like(a)
        if len(xs) != len(ys):
            c.fail("SH112", "tensordot: both dimension lists should have the same length")
        na = [norm_dim(c, v, ra) for v in xs]
        nb = [norm_dim(c, v, rb) for v in ys]
        if any(v is None for v in (*na, *nb)):
            return unknown_like(a)
        da, db = [v for v in na if v is not None], [v for v in nb if v is not None]
    else:
        return unknown_like(a)
    for i, j in zip(da, db, strict=True):
        _, err = S.broadcast((a.shape[i],), (b.shape[j],))
        if err is not None:
            c.fail(
                "SH107",
                f"tensordot: contracted dimensions differ: {fmt(a.shape[i])} (dim {i} of "
                f"{fmt_shape(a.shape)}) vs {fmt(b.shape[j])} (dim {j} of {fmt_shape(b.shape)})",
            )
    out = (
        *(d for i, d in enumerate(a.shape) if i not in da),
        *(d for j, d in enumerate(b.shape) if j not in db),
    )
    return a.with_shape(out, f"tensordot → {fmt_shape(out)}")


def _vec(c: RuleCall, x: Tensor, what: str, arg: str) -> None:
    if x.shape is not None and len(x.shape) != 1:
        c.fail("SH109", f"{what}: expected a 1-D {arg}, got {fmt_shape(x.shape)}")


@function("torch.outer", "torch.Tensor.outer", "torch.ger", "torch.Tensor.ger", sig="input, vec2")
def outer(c: RuleCall) -> Value:
    """(n,) x (m,) → (n, m)."""
    a, b = c.args.tensor("input"), c.args.tensor("vec2")
    if a is None or b is None:
        return unknown_like(a)
    _vec(c, a, "outer", "self")
    _vec(c, b, "outer", "vec2")
    if a.shape is None or b.shape is None:
        return Tensor((UNKNOWN, UNKNOWN), a.dtype)
    out = (a.shape[0], b.shape[0])
    return a.with_shape(out, f"outer → {fmt_shape(out)}")


@function(
    "torch.dot",
    "torch.Tensor.dot",
    "torch.vdot",
    "torch.Tensor.vdot",
    sig="input, other",
)
def dot(c: RuleCall) -> Value:
    """Two 1-D tensors of the same length → a 0-dim tensor."""
    a, b = c.args.tensor("input"), c.args.tensor("other")
    if a is None or b is None:
        return unknown_like(a)
    _vec(c, a, "dot", "tensor")
    _vec(c, b, "dot", "tensor")
    if a.shape is not None and b.shape is not None and S.eq(a.shape[0], b.shape[0]) is False:
        c.fail(
            "SH107",
            f"dot: inconsistent tensor sizes {fmt_shape(a.shape)} and {fmt_shape(b.shape)}",
        )
    if a.dtype and b.dtype and a.dtype != b.dtype:
        c.fail("SH110", f"dot: the tensors have different dtypes {a.dtype} and {b.dtype}")
    return a.with_shape((), "dot → ()")


@function("torch.inner", "torch.Tensor.inner", sig="input, other")
def inner(c: RuleCall) -> Value:
    """Contract the last dims: a.shape[:-1] + b.shape[:-1]."""
    a, b = c.args.tensor("input"), c.args.tensor("other")
    if a is None or b is None or a.shape is None or b.shape is None:
        return unknown_like(a)
    if not a.shape or not b.shape:
        return a.with_shape((*a.shape, *b.shape), "inner")
    if S.eq(a.shape[-1], b.shape[-1]) is False:
        c.fail(
            "SH107",
            f"inner: last dimensions differ: {fmt_shape(a.shape)} and {fmt_shape(b.shape)}",
        )
    out = (*a.shape[:-1], *b.shape[:-1])
    return a.with_shape(out, f"inner → {fmt_shape(out)}")


@function("torch.mv", "torch.Tensor.mv", sig="input, vec")
def mv(c: RuleCall) -> Value:
    """(n, m) @ (m,) → (n,)."""
    a, v = c.args.tensor("input"), c.args.tensor("vec")
    if a is not None and a.shape is not None and len(a.shape) != 2:
        c.fail("SH109", f"mv expects a 2-D matrix, got {fmt_shape(a.shape)}")
    if v is not None:
        _vec(c, v, "mv", "vector")
    return matmul_apply(c, a, v, "mv")


def _addmm(c: RuleCall, what: str, strict_rank: int) -> Value:
    x, m1, m2 = c.args.tensor("input"), c.args.tensor("mat1"), c.args.tensor("mat2")
    for t in (m1, m2):
        if t is not None and t.shape is not None and len(t.shape) != strict_rank:
            c.fail("SH109", f"{what} expects {strict_rank}-D matrices, got {fmt_shape(t.shape)}")
    prod = matmul_apply(c, m1, m2, what)
    if x is None or x.shape is None or not isinstance(prod, Tensor) or prod.shape is None:
        return unknown_like(x)
    res, err = S.broadcast(x.shape, prod.shape)
    if err is not None or (res is not None and S.shape_eq(res, prod.shape) is False):
        c.fail(
            "SH108",
            f"{what}: input {fmt_shape(x.shape)} does not broadcast to the product's shape "
            f"{fmt_shape(prod.shape)}",
        )
    return prod


function("torch.addmm", "torch.Tensor.addmm", sig="input, mat1, mat2, *, beta=1, alpha=1")(
    lambda c: _addmm(c, "addmm", 2)
)


@function(
    "torch.baddbmm",
    "torch.Tensor.baddbmm",
    sig="input, batch1, batch2, *, beta=1, alpha=1",
)
def baddbmm(c: RuleCall) -> Value:
    """input + batch1 @ batch2 (3-D, equal batch sizes)."""
    c.args.values["mat1"] = c.args.get("batch1")
    c.args.values["mat2"] = c.args.get("batch2")
    b1, b2 = c.args.tensor("batch1"), c.args.tensor("batch2")
    if (
        b1 is not None
        and b2 is not None
        and b1.shape is not None
        and b2.shape is not None
        and len(b1.shape) == 3
        and len(b2.shape) == 3
        and S.eq(b1.shape[0], b2.shape[0]) is False
    ):
        c.fail(
            "SH107", f"baddbmm: batch sizes differ: {fmt_shape(b1.shape)} and {fmt_shape(b2.shape)}"
        )
    return _addmm(c, "baddbmm", 3)
