"""view/reshape, flatten/unflatten, squeeze/unsqueeze, permute/transpose/t/T, size/dim/numel,
expand/repeat: nn layers (Flatten, Unflatten), torch functions and tensor methods."""

from __future__ import annotations

from dataclasses import replace

from shape_lsp.core.rules.base import (
    FixHint,
    RuleCall,
    bad,
    fmt,
    fmt_shape,
    function,
    layer,
    norm_dim,
    ok,
    unknown_like,
)
from shape_lsp.core.values import shapes as S
from shape_lsp.core.values.abstract import Qual, Tensor, Value, as_dim
from shape_lsp.core.values.shapes import UNKNOWN, Dim, Shape


def size_list(v: Value) -> tuple[Value, ...] | None:
    """Sizes given as varargs (a tuple of values) or as one tuple/list inside them."""
    if isinstance(v, tuple) and len(v) == 1:
        if isinstance(v[0], tuple | list):
            v = v[0]
        elif not isinstance(v[0], int | S.Expr):
            return None  # one unknown argument may be a whole torch.Size: rank unknown
    if isinstance(v, tuple | list):
        return tuple(v)
    if isinstance(v, (int, S.Expr)):
        return (v,)
    return None


def _is_int(v: Value) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def reshape_apply(c: RuleCall, x: Tensor | None, raw: Value, what: str) -> Value:
    """view / reshape with at most one -1, the element count preserved."""
    sizes = size_list(raw)
    if sizes is None or (len(sizes) == 1 and isinstance(sizes[0], Qual)):
        return unknown_like(x)
    infer = [i for i, v in enumerate(sizes) if _is_int(v) and v == -1]
    if len(infer) > 1:
        c.fail("SH112", f"{what}: only one dimension can be inferred (-1), got {sizes}")
    for v in sizes:
        if _is_int(v) and v < -1:
            c.fail("SH112", f"{what}: invalid shape dimension {v}")
    dims = [as_dim(v) for v in sizes]
    shown = "(" + ", ".join(fmt(d) for d in dims) + ")"
    if x is None or x.shape is None:
        out = [UNKNOWN if i in infer else d for i, d in enumerate(dims)]
        return Tensor(tuple(out), x.dtype if x else None)
    total = S.numel(x.shape)
    if not infer:
        want = S.product(dims)
        if S.eq(total, want) is False:
            c.fail(
                "SH105",
                f"{what}{shown} on {fmt_shape(x.shape)}: shape {shown} has {fmt(want)} "
                f"elements but the tensor has {fmt(total)}",
            )
        c.note(f"{fmt_shape(x.shape)} → {shown}")
        return x.with_shape(tuple(dims), f"{what} → {shown}")
    i = infer[0]
    others = S.product(d for j, d in enumerate(dims) if j != i)
    if others == 0:
        return unknown_like(x)
    inferred = S.exact_div(total, others)
    if inferred is UNKNOWN and isinstance(total, int) and isinstance(others, int):
        c.fail(
            "SH105",
            f"{what}{shown} on {fmt_shape(x.shape)}: {fmt(total)} elements are not "
            f"divisible by {others}",
        )
    dims[i] = inferred
    c.note(f"-1 = {fmt(total)} / {fmt(others)} = {fmt(inferred)}")
    return x.with_shape(tuple(dims), f"{what} → {fmt_shape(tuple(dims))}")


@function("torch.Tensor.view", "torch.Tensor.reshape", "numpy.ndarray.reshape", sig="input, *shape")
def view(c: RuleCall) -> Value:
    """x.view(a, b) / x.view((a, b)) / x.reshape(...)."""
    return reshape_apply(c, c.args.tensor("input"), c.args.get("shape"), "view")


@function("torch.reshape", "numpy.reshape", sig="input, shape")
def reshape(c: RuleCall) -> Value:
    """torch.reshape(x, shape)."""
    return reshape_apply(c, c.args.tensor("input"), (c.args.get("shape"),), "reshape")


@function("torch.Tensor.view_as", "torch.Tensor.reshape_as", sig="input, other")
def view_as(c: RuleCall) -> Value:
    """x.view_as(other)."""
    other = c.args.tensor("other")
    if other is None or other.shape is None:
        return unknown_like(c.args.tensor("input"))
    return reshape_apply(c, c.args.tensor("input"), (other.shape,), "view_as")


def flatten_apply(c: RuleCall, x: Tensor | None, start: Value, end: Value, what: str) -> Value:
    """Merge dims start..end into one."""
    if x is None or x.shape is None:
        return unknown_like(x)
    shape = x.shape if x.shape else (1,)
    rank = len(shape)
    s, e = norm_dim(c, start, rank, "start_dim"), norm_dim(c, end, rank, "end_dim")
    if s is None or e is None:
        return unknown_like(x)
    if s > e:
        c.fail(
            "SH112", f"{what}: start_dim {start} comes after end_dim {end} for {fmt_shape(x.shape)}"
        )
    merged = S.numel(shape[s : e + 1])
    out = (*shape[:s], merged, *shape[e + 1 :])
    c.note(f"{fmt_shape(x.shape)} → {fmt_shape(out)}")
    flat = x.with_shape(out, f"{what} → {fmt_shape(out)}")
    if e == rank - 1 and e > s:
        flat = replace(flat, factors=tuple(shape[s : e + 1]))
    return flat


@layer(
    "torch.nn.Flatten",
    sig="start_dim=1, end_dim=-1",
    params=lambda a: 0,
    examples=[
        ok("nn.Flatten()", (4, 16, 5, 5)),
        ok("nn.Flatten(0)", (4, 16, 5)),
        ok("nn.Flatten(1, 2)", (4, 3, 5, 6)),
        ok("nn.Flatten(start_dim=2)", (2, 3, 4, 5)),
        bad("nn.Flatten()", (3,), "SH111"),
        bad("nn.Flatten(2, 1)", (2, 3, 4), "SH112"),
    ],
)
def flatten_layer(c: RuleCall) -> Value:
    """nn.Flatten."""
    return flatten_apply(c, c.tensor(), c.args.get("start_dim"), c.args.get("end_dim"), "Flatten")


@function("torch.flatten", "torch.Tensor.flatten", sig="input, start_dim=0, end_dim=-1")
def flatten(c: RuleCall) -> Value:
    """torch.flatten / x.flatten."""
    a = c.args
    return flatten_apply(c, a.tensor("input"), a.get("start_dim"), a.get("end_dim"), "flatten")


@function("numpy.ndarray.flatten", "numpy.ndarray.ravel", "numpy.ravel", sig="input, order='C'")
def np_flatten(c: RuleCall) -> Value:
    """NumPy flatten: always 1D."""
    x = c.args.tensor("input")
    if x is None or x.shape is None:
        return unknown_like(x)
    return x.with_shape((S.numel(x.shape),), "flatten")


def unflatten_apply(c: RuleCall, x: Tensor | None, dim: Value, raw: Value, what: str) -> Value:
    """Split one dim into sizes (one -1 allowed) whose product is that dim."""
    sizes = size_list(raw)
    if x is None or x.shape is None or sizes is None:
        return unknown_like(x)
    d = norm_dim(c, dim, len(x.shape))
    if d is None:
        return unknown_like(x)
    size = x.shape[d]
    dims = [as_dim(v) for v in sizes]
    infer = [i for i, v in enumerate(sizes) if _is_int(v) and v == -1]
    if len(infer) > 1:
        c.fail("SH112", f"{what}: only one size can be -1")
    if infer:
        others = S.product(v for j, v in enumerate(dims) if j != infer[0])
        inferred = S.exact_div(size, others)
        if inferred is UNKNOWN and isinstance(size, int) and isinstance(others, int):
            c.fail("SH105", f"{what}: sizes {tuple(sizes)} do not divide dim {d} of size {size}")
        dims[infer[0]] = inferred
    elif S.eq(S.product(dims), size) is False:
        c.fail(
            "SH105",
            f"{what}: sizes {tuple(fmt(v) for v in dims)} do not multiply up to dim {d} "
            f"of size {fmt(size)} in {fmt_shape(x.shape)}",
        )
    out = (*x.shape[:d], *dims, *x.shape[d + 1 :])
    return x.with_shape(out, f"{what} → {fmt_shape(out)}")


@layer(
    "torch.nn.Unflatten",
    sig="dim, unflattened_size",
    params=lambda a: 0,
    examples=[
        ok("nn.Unflatten(1, (16, 5, 5))", (4, 400)),
        ok("nn.Unflatten(-1, (2, -1))", (3, 10)),
        bad("nn.Unflatten(1, (16, 5, 4))", (4, 400), "SH105"),
        bad("nn.Unflatten(2, (2, 2))", (4, 4), "SH111"),
    ],
)
def unflatten_layer(c: RuleCall) -> Value:
    """nn.Unflatten."""
    a = c.args
    return unflatten_apply(c, c.tensor(), a.get("dim"), a.get("unflattened_size"), "Unflatten")


@function("torch.unflatten", "torch.Tensor.unflatten", sig="input, dim, sizes")
def unflatten(c: RuleCall) -> Value:
    """torch.unflatten."""
    a = c.args
    return unflatten_apply(c, a.tensor("input"), a.get("dim"), a.get("sizes"), "unflatten")


@function("torch.squeeze", "torch.Tensor.squeeze", "torch.Tensor.squeeze_", sig="input, dim=None")
def squeeze(c: RuleCall) -> Value:
    """Drop size-1 dims (all, or the given ones); a dim not provably 1 or not-1 → unknown."""
    x = c.args.tensor("input")
    if x is None or x.shape is None:
        return unknown_like(x)
    rank = len(x.shape)
    raw = c.args.get("dim")
    if raw is None:
        axes = list(range(rank))
    else:
        items = raw if isinstance(raw, tuple | list) else (raw,)
        axes = []
        for v in items:
            ax = norm_dim(c, v, rank)
            if ax is None:
                return unknown_like(x)
            axes.append(ax)
    out: list[Dim] = []
    for i, size in enumerate(x.shape):
        if i in axes:
            is_one = S.eq(size, 1)
            if is_one is None:
                return unknown_like(x)
            if is_one:
                continue
        out.append(size)
    return x.with_shape(tuple(out), f"squeeze → {fmt_shape(tuple(out))}")


@function("torch.unsqueeze", "torch.Tensor.unsqueeze", "torch.Tensor.unsqueeze_", sig="input, dim")
def unsqueeze(c: RuleCall) -> Value:
    """Insert a size-1 dim; dim ranges over rank + 1 positions."""
    x = c.args.tensor("input")
    if x is None or x.shape is None:
        return unknown_like(x)
    d = norm_dim(c, c.args.get("dim"), len(x.shape) + 1)
    if d is None:
        return unknown_like(x)
    out = (*x.shape[:d], 1, *x.shape[d:])
    return x.with_shape(out, f"unsqueeze({d}) → {fmt_shape(out)}")


def permute_apply(c: RuleCall, x: Tensor | None, raw: Value) -> Value:
    """Reorder all dims."""
    dims = size_list(raw)
    if x is None or x.shape is None or dims is None:
        return unknown_like(x)
    rank = len(x.shape)
    if len(dims) != rank:
        c.fail(
            "SH112",
            f"permute{tuple(dims)} on {fmt_shape(x.shape)}: number of dims "
            f"{len(dims)} != tensor rank {rank}",
        )
    order: list[int] = []
    for v in dims:
        d = norm_dim(c, v, rank)
        if d is None:
            return unknown_like(x)
        if d in order:
            c.fail("SH112", f"permute{tuple(dims)}: dim {v} is repeated")
        order.append(d)
    out = tuple(x.shape[i] for i in order)
    return x.with_shape(out, f"permute → {fmt_shape(out)}")


@function("torch.Tensor.permute", sig="input, *dims")
def permute_method(c: RuleCall) -> Value:
    """x.permute(0, 2, 1) / x.permute((0, 2, 1))."""
    return permute_apply(c, c.args.tensor("input"), c.args.get("dims"))


@function("torch.permute", sig="input, dims")
def permute(c: RuleCall) -> Value:
    """torch.permute(x, dims)."""
    return permute_apply(c, c.args.tensor("input"), (c.args.get("dims"),))


def _swap(c: RuleCall, x: Tensor | None, a: Value, b: Value, what: str) -> Value:
    if x is None or x.shape is None:
        return unknown_like(x)
    rank = len(x.shape)
    i, j = norm_dim(c, a, rank), norm_dim(c, b, rank)
    if i is None or j is None:
        return unknown_like(x)
    if rank == 0:
        return x
    out = list(x.shape)
    out[i], out[j] = out[j], out[i]
    return x.with_shape(tuple(out), f"{what} → {fmt_shape(tuple(out))}")


@function(
    "torch.transpose",
    "torch.Tensor.transpose",
    "torch.Tensor.transpose_",
    "torch.swapdims",
    "torch.Tensor.swapdims",
    sig="input, dim0, dim1",
)
def transpose(c: RuleCall) -> Value:
    """Swap two dims."""
    return _swap(c, c.args.tensor("input"), c.args.get("dim0"), c.args.get("dim1"), "transpose")


@function("torch.swapaxes", "torch.Tensor.swapaxes", sig="input, axis0, axis1")
def swapaxes(c: RuleCall) -> Value:
    """Swap two dims (NumPy spelling)."""
    return _swap(c, c.args.tensor("input"), c.args.get("axis0"), c.args.get("axis1"), "swapaxes")


@function("torch.t", "torch.Tensor.t", "torch.Tensor.t_", sig="input")
def t(c: RuleCall) -> Value:
    """2D transpose; 0D and 1D are returned as is; above 2D torch raises."""
    x = c.args.tensor("input")
    if x is None or x.shape is None:
        return unknown_like(x)
    if len(x.shape) > 2:
        c.fail("SH109", f"t() expects a tensor with <= 2 dimensions, got {fmt_shape(x.shape)}")
    return x.with_shape(tuple(reversed(x.shape)), "t()")


@function("torch.Tensor.T", "numpy.ndarray.T", sig="input")
def big_t(c: RuleCall) -> Value:
    """x.T reverses all dims."""
    x = c.args.tensor("input")
    if x is None or x.shape is None:
        return unknown_like(x)
    return x.with_shape(tuple(reversed(x.shape)), ".T")


@function("torch.Tensor.mT", sig="input")
def m_t(c: RuleCall) -> Value:
    """x.mT swaps the last two dims."""
    x = c.args.tensor("input")
    if x is None or x.shape is None:
        return unknown_like(x)
    if len(x.shape) < 2:
        c.fail("SH109", f"mT expects a tensor with >= 2 dimensions, got {fmt_shape(x.shape)}")
    return x.with_shape((*x.shape[:-2], x.shape[-1], x.shape[-2]), ".mT")


@function(
    "torch.movedim",
    "torch.Tensor.movedim",
    "torch.moveaxis",
    "torch.Tensor.moveaxis",
    sig="input, source, destination",
)
def movedim(c: RuleCall) -> Value:
    """Move one dim (int source/destination) to a new position."""
    x = c.args.tensor("input")
    if x is None or x.shape is None:
        return unknown_like(x)
    rank = len(x.shape)
    src, dst = c.args.get("source"), c.args.get("destination")
    if not (_is_int(src) and _is_int(dst)):
        return unknown_like(x)
    i, j = norm_dim(c, src, rank), norm_dim(c, dst, rank)
    assert i is not None and j is not None
    rest = [d for k, d in enumerate(x.shape) if k != i]
    rest.insert(j, x.shape[i])
    return x.with_shape(tuple(rest), "movedim")


# ------------------------------------------------------------------------------ queries


@function("torch.Tensor.size", sig="input, dim=None")
def size(c: RuleCall) -> Value:
    """x.size() → the tuple of dims; x.size(i) → one dim."""
    x = c.args.tensor("input")
    dim = c.args.get("dim")
    if x is None or x.shape is None:
        return UNKNOWN
    if dim is None:
        return tuple(x.shape)
    d = norm_dim(c, dim, len(x.shape))
    if d is None or not x.shape:
        return UNKNOWN
    return x.shape[d]


@function("torch.Tensor.shape", "numpy.ndarray.shape", sig="input")
def shape(c: RuleCall) -> Value:
    """x.shape as a tuple of dims."""
    x = c.args.tensor("input")
    if x is None or x.shape is None:
        return UNKNOWN
    return tuple(x.shape)


@function(
    "torch.Tensor.dim",
    "torch.Tensor.ndimension",
    "torch.Tensor.ndim",
    "numpy.ndarray.ndim",
    sig="input",
)
def ndim(c: RuleCall) -> Value:
    """The rank."""
    x = c.args.tensor("input")
    return UNKNOWN if x is None or x.rank is None else x.rank


@function("torch.numel", "torch.Tensor.numel", "torch.Tensor.nelement", sig="input")
def numel(c: RuleCall) -> Value:
    """The element count."""
    x = c.args.tensor("input")
    return UNKNOWN if x is None or x.shape is None else S.numel(x.shape)


@function("numpy.ndarray.size", sig="input")
def np_size(c: RuleCall) -> Value:
    """NumPy's .size is the element count."""
    return numel(c)


# ------------------------------------------------------------------------------ expand, repeat


def expand_to(c: RuleCall, x: Tensor, target: Shape, what: str) -> Value:
    """Expand x to target (-1 keeps a dim); existing dims must be equal or 1."""
    assert x.shape is not None
    k = len(target) - len(x.shape)
    if k < 0:
        c.fail(
            "SH112", f"{what}: target {fmt_shape(target)} has fewer dims than {fmt_shape(x.shape)}"
        )
    out: list[Dim] = list(target[:k])
    for have, want in zip(x.shape, target[k:], strict=True):
        if want == -1:
            out.append(have)
        elif S.eq(have, want) is True or have == 1:
            out.append(want)
        elif S.eq(have, want) is False and isinstance(have, int):
            c.fail(
                "SH108",
                f"{what}: cannot expand {fmt_shape(x.shape)} to "
                f"{fmt_shape(target)} (size {fmt(have)} is not 1)",
            )
        else:
            out.append(want)
    return x.with_shape(tuple(out), f"{what} → {fmt_shape(tuple(out))}")


@function("torch.Tensor.expand", sig="input, *sizes")
def expand(c: RuleCall) -> Value:
    """x.expand(sizes)."""
    x = c.args.tensor("input")
    sizes = size_list(c.args.get("sizes"))
    if x is None or x.shape is None or sizes is None:
        return unknown_like(x)
    return expand_to(c, x, tuple(as_dim(v) for v in sizes), "expand")


@function("torch.Tensor.expand_as", sig="input, other")
def expand_as(c: RuleCall) -> Value:
    """x.expand_as(other)."""
    x, o = c.args.tensor("input"), c.args.tensor("other")
    if x is None or x.shape is None or o is None or o.shape is None:
        return unknown_like(x)
    return expand_to(c, x, o.shape, "expand_as")


@function("torch.Tensor.repeat", sig="input, *sizes")
def repeat(c: RuleCall) -> Value:
    """x.repeat(sizes): tile; at least as many sizes as dims."""
    x = c.args.tensor("input")
    sizes = size_list(c.args.get("sizes"))
    if x is None or x.shape is None or sizes is None:
        return unknown_like(x)
    reps = [as_dim(v) for v in sizes]
    if len(reps) < len(x.shape):
        c.fail(
            "SH112",
            f"repeat: {len(reps)} sizes for a {len(x.shape)}D tensor {fmt_shape(x.shape)}",
            FixHint("set_arg"),
        )
    k = len(reps) - len(x.shape)
    out = tuple(reps[:k]) + tuple(S.mul(d, r) for d, r in zip(x.shape, reps[k:], strict=True))
    return x.with_shape(out, f"repeat → {fmt_shape(out)}")
