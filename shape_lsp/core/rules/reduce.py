"""Reductions (sum/mean/max/argmax/std/norm/...), sort/topk/kthvalue, cumulative ops, gather /
scatter / index_select / masked_fill and nonzero: torch functions and tensor methods.

`dim` is an int, a tuple/list of ints, or None (all dims); keepdim keeps reduced dims as 1.
Ops that return (values, indices) give a Python tuple of two tensors.
"""

from __future__ import annotations

from shape_lsp.core.rules.base import (
    RuleCall,
    dtype_of,
    fmt,
    fmt_shape,
    function,
    norm_dim,
    unknown_like,
)
from shape_lsp.core.values import shapes as S
from shape_lsp.core.values.abstract import Tensor, Value
from shape_lsp.core.values.shapes import UNKNOWN, Dim, Shape

FLOATS = ("float16", "bfloat16", "float32", "float64", "complex64", "complex128")
INTS = ("uint8", "int8", "int16", "int32", "int64")


def _is_int(v: Value) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def reduced_axes(c: RuleCall, x: Tensor, dim: Value, empty_is_all: bool = True) -> list[int] | None:
    """The normalized axes a `dim` argument names (all for None / ()); None when not static."""
    assert x.shape is not None
    rank = len(x.shape)
    if dim is None:
        return list(range(rank))
    if _is_int(dim):
        d = norm_dim(c, dim, rank)
        return None if d is None else ([d] if rank else [])
    if isinstance(dim, tuple | list):
        if not dim and empty_is_all:
            return list(range(rank))
        out: list[int] = []
        for v in dim:
            if not _is_int(v):
                return None
            d = norm_dim(c, v, rank)
            assert d is not None
            if d in out:
                c.fail("SH112", f"dim {d} appears multiple times in the list of dims {tuple(dim)}")
            out.append(d)
        return out if rank else []
    return None


def reduce_shape(x: Tensor, axes: list[int], keepdim: bool) -> Shape:
    """x's shape with `axes` removed (or set to 1 with keepdim)."""
    assert x.shape is not None
    if keepdim:
        return tuple(1 if i in axes else d for i, d in enumerate(x.shape))
    return tuple(d for i, d in enumerate(x.shape) if i not in axes)


def _reduce(
    c: RuleCall, what: str, dtype: str | None, dim: Value = None, keepdim: Value = False
) -> Value:
    x = c.args.tensor("input")
    if x is None or x.shape is None:
        return Tensor(None, dtype) if x is not None else UNKNOWN
    axes = reduced_axes(c, x, dim)
    if axes is None or not isinstance(keepdim, bool):
        return Tensor(None, dtype, x.numpy)
    out = reduce_shape(x, axes, keepdim)
    return x.with_shape(out, f"{what} → {fmt_shape(out)}").with_dtype(dtype)


def _want_float(c: RuleCall, x: Tensor | None, what: str) -> None:
    if x is not None and x.dtype is not None and x.dtype not in FLOATS:
        c.fail("SH110", f"{what}() needs a floating point input, got {x.dtype}")


def _explicit_dtype(c: RuleCall) -> str | None:
    v = c.args.get("dtype")
    return None if v is None else dtype_of(v)


def _sum_dtype(x: Tensor | None) -> str | None:
    if x is None or x.dtype is None:
        return None
    return "int64" if x.dtype in (*INTS, "bool") else x.dtype


_SUM_SIG = "input, dim=None, keepdim=False, *, dtype=None"


@function("torch.sum", "torch.Tensor.sum", "torch.nansum", "torch.Tensor.nansum", sig=_SUM_SIG)
def sum_(c: RuleCall) -> Value:
    """sum over dims; integer and bool inputs give int64."""
    x = c.args.tensor("input")
    dt = _explicit_dtype(c) if c.args.get("dtype") is not None else _sum_dtype(x)
    return _reduce(c, "sum", dt, c.args.get("dim"), c.args.get("keepdim"))


@function("torch.mean", "torch.Tensor.mean", "torch.nanmean", "torch.Tensor.nanmean", sig=_SUM_SIG)
def mean(c: RuleCall) -> Value:
    """mean needs a floating input unless dtype= is given."""
    x = c.args.tensor("input")
    if c.args.get("dtype") is None:
        _want_float(c, x, "mean")
        dt = x.dtype if x is not None else None
    else:
        dt = _explicit_dtype(c)
    return _reduce(c, "mean", dt, c.args.get("dim"), c.args.get("keepdim"))


@function("torch.prod", "torch.Tensor.prod", sig=_SUM_SIG)
def prod(c: RuleCall) -> Value:
    """prod over all dims, or one int dim."""
    x = c.args.tensor("input")
    dim = c.args.get("dim")
    if isinstance(dim, tuple | list):
        c.fail("SH112", "prod() takes a single int dim, not a tuple")
    dt = _explicit_dtype(c) if c.args.get("dtype") is not None else _sum_dtype(x)
    return _reduce(c, "prod", dt, dim, c.args.get("keepdim"))


@function(
    "torch.std",
    "torch.Tensor.std",
    "torch.var",
    "torch.Tensor.var",
    sig="input, dim=None, unbiased=None, keepdim=False, *, correction=None",
)
def std_var(c: RuleCall) -> Value:
    """std/var(x, dim, unbiased, keepdim); a bool in the dim slot is `unbiased`."""
    x = c.args.tensor("input")
    _want_float(c, x, "std/var")
    dim = c.args.get("dim")
    if isinstance(dim, bool):
        dim = None
    return _reduce(c, "std", x.dtype if x else None, dim, c.args.get("keepdim"))


@function(
    "torch.amax",
    "torch.Tensor.amax",
    "torch.amin",
    "torch.Tensor.amin",
    sig="input, dim=(), keepdim=False",
)
def amax(c: RuleCall) -> Value:
    """amax/amin: dim=() reduces every dim."""
    x = c.args.tensor("input")
    return _reduce(c, "amax", x.dtype if x else None, c.args.get("dim"), c.args.get("keepdim"))


@function("torch.logsumexp", "torch.Tensor.logsumexp", sig="input, dim, keepdim=False")
def logsumexp(c: RuleCall) -> Value:
    """logsumexp: integer inputs give float32."""
    x = c.args.tensor("input")
    dt = None if x is None else (x.dtype if x.dtype in FLOATS or x.dtype is None else "float32")
    return _reduce(c, "logsumexp", dt, c.args.get("dim"), c.args.get("keepdim"))


@function(
    "torch.norm",
    "torch.Tensor.norm",
    sig="input, p='fro', dim=None, keepdim=False, out=None, dtype=None",
)
def norm(c: RuleCall) -> Value:
    """The vector / Frobenius norm over dims (float inputs only)."""
    x = c.args.tensor("input")
    _want_float(c, x, "norm")
    dt = _explicit_dtype(c) if c.args.get("dtype") is not None else (x.dtype if x else None)
    return _reduce(c, "norm", dt, c.args.get("dim"), c.args.get("keepdim"))


@function(
    "torch.linalg.vector_norm",
    sig="x, ord=2, dim=None, keepdim=False, *, dtype=None",
)
def vector_norm(c: RuleCall) -> Value:
    """torch.linalg.vector_norm."""
    c.args.values["input"] = c.args.get("x")
    return norm(c)


@function(
    "torch.all",
    "torch.Tensor.all",
    "torch.any",
    "torch.Tensor.any",
    sig="input, dim=None, keepdim=False",
)
def all_any(c: RuleCall) -> Value:
    """all/any give bool (uint8 stays uint8)."""
    x = c.args.tensor("input")
    dt = "uint8" if x is not None and x.dtype == "uint8" else "bool"
    return _reduce(c, "all", dt, c.args.get("dim"), c.args.get("keepdim"))


@function("torch.count_nonzero", "torch.Tensor.count_nonzero", sig="input, dim=None")
def count_nonzero(c: RuleCall) -> Value:
    """count_nonzero: int64 counts."""
    return _reduce(c, "count_nonzero", "int64", c.args.get("dim"), False)


def _nonempty_full(c: RuleCall, x: Tensor, what: str) -> None:
    assert x.shape is not None
    if any(S.eq(d, 0) is True for d in x.shape):
        c.fail(
            "SH112",
            f"{what}(): the input {fmt_shape(x.shape)} is empty; specify the reduction dim",
        )


def _pair_along(c: RuleCall, what: str, dim: Value, keepdim: Value) -> Value:
    """(values, indices) reducing one int dim."""
    x = c.args.tensor("input")
    if x is None or x.shape is None:
        dt = x.dtype if x is not None else None
        return (Tensor(None, dt), Tensor(None, "int64"))
    if not _is_int(dim) or not isinstance(keepdim, bool):
        return (Tensor(None, x.dtype), Tensor(None, "int64"))
    axes = reduced_axes(c, x, dim)
    assert axes is not None
    if axes and S.eq(x.shape[axes[0]], 0) is True:
        c.fail("SH112", f"{what}(): cannot reduce over the empty dim {axes[0]}")
    out = reduce_shape(x, axes, keepdim)
    values = x.with_shape(out, f"{what} → {fmt_shape(out)}")
    return (values, values.with_dtype("int64"))


@function(
    "torch.max",
    "torch.Tensor.max",
    "torch.min",
    "torch.Tensor.min",
    sig="input, dim=None, keepdim=False, *, other=None",
)
def max_min(c: RuleCall) -> Value:
    """max(x) → 0-dim; max(x, dim) → (values, indices); max(x, other) → elementwise."""
    from shape_lsp.core.rules.arith import elementwise, promote

    x = c.args.tensor("input")
    dim = c.args.get("dim")
    other = c.args.get("other")
    if isinstance(dim, Tensor):
        other = dim
    if isinstance(other, Tensor):
        return elementwise(c, [x, other], "max", promote([x, other]))
    if dim is None:
        if x is None or x.shape is None:
            return unknown_like(x)
        _nonempty_full(c, x, "max")
        return x.with_shape((), "max → ()")
    return _pair_along(c, "max", dim, c.args.get("keepdim"))


@function(
    "torch.median",
    "torch.Tensor.median",
    "torch.nanmedian",
    "torch.Tensor.nanmedian",
    sig="input, dim=None, keepdim=False",
)
def median(c: RuleCall) -> Value:
    """median(x) → 0-dim; median(x, dim) → (values, indices)."""
    x = c.args.tensor("input")
    dim = c.args.get("dim")
    if dim is None:
        if x is None or x.shape is None:
            return unknown_like(x)
        return x.with_shape((), "median → ()")
    return _pair_along(c, "median", dim, c.args.get("keepdim"))


@function("torch.mode", "torch.Tensor.mode", sig="input, dim=-1, keepdim=False")
def mode(c: RuleCall) -> Value:
    """(values, indices) along dim (default -1)."""
    return _pair_along(c, "mode", c.args.get("dim"), c.args.get("keepdim"))


@function(
    "torch.argmax",
    "torch.Tensor.argmax",
    "torch.argmin",
    "torch.Tensor.argmin",
    sig="input, dim=None, keepdim=False",
)
def argmax(c: RuleCall) -> Value:
    """Indices (int64); without dim, over the flattened tensor (all dims)."""
    x = c.args.tensor("input")
    if x is not None and x.shape is not None and c.args.get("dim") is None:
        _nonempty_full(c, x, "argmax")
    return _reduce(c, "argmax", "int64", c.args.get("dim"), c.args.get("keepdim"))


def _k_along(c: RuleCall, what: str, k: Value, dim: Value, keep: bool, kth: bool) -> Value:
    x = c.args.tensor("input")
    if x is None or x.shape is None or not _is_int(dim):
        dt = x.dtype if x is not None else None
        return (Tensor(None, dt), Tensor(None, "int64"))
    rank = len(x.shape)
    d = norm_dim(c, dim, rank)
    assert d is not None
    size: Dim = x.shape[d] if rank else 1
    kd = S.UNKNOWN if isinstance(k, bool) else (k if isinstance(k, int | S.Expr) else UNKNOWN)
    low = 1 if kth else 0
    if isinstance(kd, int) and (kd < low or S.lt(size, kd) is True):
        c.fail(
            "SH112",
            f"{what}: k={kd} is out of range for dim {d} of size {fmt(size)} "
            f"in {fmt_shape(x.shape)}",
        )
    if not rank:
        out: Shape = ()
    elif kth:
        out = reduce_shape(x, [d], keep)
    else:
        out = (*x.shape[:d], kd, *x.shape[d + 1 :])
    values = x.with_shape(out, f"{what} → {fmt_shape(out)}")
    return (values, values.with_dtype("int64"))


@function(
    "torch.topk",
    "torch.Tensor.topk",
    sig="input, k, dim=-1, largest=True, sorted=True",
)
def topk(c: RuleCall) -> Value:
    """(values, indices) with dim resized to k."""
    return _k_along(c, "topk", c.args.get("k"), c.args.get("dim"), False, False)


@function("torch.kthvalue", "torch.Tensor.kthvalue", sig="input, k, dim=-1, keepdim=False")
def kthvalue(c: RuleCall) -> Value:
    """(values, indices) with dim reduced; 1 <= k <= size."""
    keep = c.args.get("keepdim")
    if not isinstance(keep, bool):
        x = c.args.tensor("input")
        return (unknown_like(x), Tensor(None, "int64"))
    return _k_along(c, "kthvalue", c.args.get("k"), c.args.get("dim"), keep, True)


def _same_along(c: RuleCall, what: str, dtype: str | None) -> Value:
    x = c.args.tensor("input")
    if x is None or x.shape is None:
        return Tensor(None, dtype)
    dim = c.args.get("dim")
    if _is_int(dim):
        norm_dim(c, dim, len(x.shape))
    return x.with_shape(x.shape, what).with_dtype(dtype)


@function(
    "torch.sort",
    "torch.Tensor.sort",
    sig="input, dim=-1, descending=False, *, stable=None",
)
def sort(c: RuleCall) -> Value:
    """(sorted values, indices), both of the input's shape."""
    x = c.args.tensor("input")
    values = _same_along(c, "sort", x.dtype if x else None)
    return (values, values.with_dtype("int64") if isinstance(values, Tensor) else values)


@function(
    "torch.argsort",
    "torch.Tensor.argsort",
    sig="input, dim=-1, descending=False, *, stable=False",
)
def argsort(c: RuleCall) -> Value:
    """Indices of the input's shape."""
    return _same_along(c, "argsort", "int64")


@function(
    "torch.cumsum",
    "torch.Tensor.cumsum",
    "torch.cumprod",
    "torch.Tensor.cumprod",
    sig="input, dim, *, dtype=None",
)
def cumsum(c: RuleCall) -> Value:
    """Same shape; integer and bool inputs give int64."""
    x = c.args.tensor("input")
    dt = _explicit_dtype(c) if c.args.get("dtype") is not None else _sum_dtype(x)
    return _same_along(c, "cumsum", dt)


@function(
    "torch.cummax",
    "torch.Tensor.cummax",
    "torch.cummin",
    "torch.Tensor.cummin",
    sig="input, dim",
)
def cummax(c: RuleCall) -> Value:
    """(values, indices) of the input's shape."""
    x = c.args.tensor("input")
    values = _same_along(c, "cummax", x.dtype if x else None)
    return (values, values.with_dtype("int64") if isinstance(values, Tensor) else values)


def _keep(c: RuleCall) -> Value:
    x = c.args.tensor("input")
    if x is None or x.shape is None:
        return unknown_like(x)
    return x.with_shape(x.shape, "same shape")


function("torch.flip", "torch.Tensor.flip", sig="input, *dims")(_keep)
function("torch.roll", "torch.Tensor.roll", sig="input, shifts, dims=None")(_keep)
function("torch.logcumsumexp", "torch.Tensor.logcumsumexp", sig="input, dim")(
    lambda c: _same_along(c, "logcumsumexp", (c.args.tensor("input") or Tensor(None)).dtype)
)


# ------------------------------------------------------------------------------ gather / scatter


def _index_dtype(c: RuleCall, idx: Tensor, what: str) -> None:
    if idx.dtype is not None and idx.dtype not in ("int64", "int32"):
        c.fail("SH110", f"{what}: the index tensor must be int64 or int32, got {idx.dtype}")


@function("torch.gather", "torch.Tensor.gather", sig="input, dim, index, *, sparse_grad=False")
def gather(c: RuleCall) -> Value:
    """Output has index's shape; same rank; index.size(d) <= input.size(d) for d != dim."""
    x, idx = c.args.tensor("input"), c.args.tensor("index")
    if x is None or idx is None:
        return unknown_like(x)
    _index_dtype(c, idx, "gather")
    if x.shape is None or idx.shape is None:
        return Tensor(idx.shape, x.dtype)
    rx, ri = max(len(x.shape), 1), max(len(idx.shape), 1)
    d = norm_dim(c, c.args.get("dim"), len(x.shape))
    if rx != ri:
        c.fail(
            "SH109",
            f"gather: index {fmt_shape(idx.shape)} must have the same number of dimensions "
            f"as input {fmt_shape(x.shape)}",
        )
    for i, (a, b) in enumerate(zip(x.shape, idx.shape, strict=True)):
        if i != d and S.lt(a, b) is True:
            c.fail(
                "SH112",
                f"gather: index {fmt_shape(idx.shape)} is larger than input "
                f"{fmt_shape(x.shape)} in dim {i}",
            )
    return x.with_shape(idx.shape, f"gather → {fmt_shape(idx.shape)}")


def _scatter(c: RuleCall, what: str, inplace: bool) -> Value:
    x, idx = c.args.tensor("input"), c.args.tensor("index")
    src = c.args.tensor("src")
    if x is None or idx is None:
        return unknown_like(x)
    _index_dtype(c, idx, what)
    if x.shape is None or idx.shape is None:
        return x if inplace else x.with_shape(x.shape)
    d = norm_dim(c, c.args.get("dim"), len(x.shape))
    if max(len(x.shape), 1) != max(len(idx.shape), 1):
        c.fail(
            "SH109",
            f"{what}: index {fmt_shape(idx.shape)} must have the same number of dimensions "
            f"as self {fmt_shape(x.shape)}",
        )
    for i, (a, b) in enumerate(zip(x.shape, idx.shape, strict=True)):
        if i != d and S.lt(a, b) is True:
            c.fail(
                "SH112",
                f"{what}: index {fmt_shape(idx.shape)} is larger than self "
                f"{fmt_shape(x.shape)} in dim {i}",
            )
    if src is not None and src.shape is not None and len(src.shape) == len(idx.shape):
        for i, (a, b) in enumerate(zip(src.shape, idx.shape, strict=True)):
            if S.lt(a, b) is True:
                c.fail(
                    "SH112",
                    f"{what}: index {fmt_shape(idx.shape)} is larger than src "
                    f"{fmt_shape(src.shape)} in dim {i}",
                )
    return x if inplace else x.with_shape(x.shape, what)


_SCATTER_SIG = "input, dim, index, src=None, value=None, *, reduce=None"
function("torch.scatter", "torch.Tensor.scatter", sig=_SCATTER_SIG)(
    lambda c: _scatter(c, "scatter", False)
)
function("torch.Tensor.scatter_", sig=_SCATTER_SIG)(lambda c: _scatter(c, "scatter_", True))
function("torch.scatter_add", "torch.Tensor.scatter_add", sig="input, dim, index, src")(
    lambda c: _scatter(c, "scatter_add", False)
)
function("torch.Tensor.scatter_add_", sig="input, dim, index, src")(
    lambda c: _scatter(c, "scatter_add_", True)
)


@function("torch.index_select", "torch.Tensor.index_select", sig="input, dim, index")
def index_select(c: RuleCall) -> Value:
    """dim resized to the index's length; the index is 0-D or 1-D int."""
    x, idx = c.args.tensor("input"), c.args.tensor("index")
    if x is None or idx is None or x.shape is None:
        return unknown_like(x)
    if idx.dtype is not None and idx.dtype not in ("int64", "int32"):
        c.fail("SH110", f"index_select: the index must be int64 or int32, got {idx.dtype}")
    d = norm_dim(c, c.args.get("dim"), len(x.shape))
    if idx.shape is None or d is None:
        return Tensor((UNKNOWN,) * len(x.shape) if d is None else None, x.dtype)
    if len(idx.shape) > 1:
        c.fail("SH109", f"index_select: the index must be 0-D or 1-D, got {fmt_shape(idx.shape)}")
    n = idx.shape[0] if idx.shape else 1
    if not x.shape:
        return x.with_shape((), "index_select")
    out = (*x.shape[:d], n, *x.shape[d + 1 :])
    return x.with_shape(out, f"index_select → {fmt_shape(out)}")


def _masked_fill(c: RuleCall, inplace: bool) -> Value:
    x, mask = c.args.tensor("input"), c.args.tensor("mask")
    if x is None or mask is None or x.shape is None or mask.shape is None:
        return unknown_like(x)
    if mask.dtype is not None and mask.dtype != "bool":
        c.fail("SH110", f"masked_fill only supports boolean masks, got {mask.dtype}")
    res, err = S.broadcast(x.shape, mask.shape)
    if err is not None or res is None or (inplace and S.shape_eq(res, x.shape) is False):
        c.fail(
            "SH108",
            f"masked_fill: the mask {fmt_shape(mask.shape)} does not broadcast to the "
            f"tensor {fmt_shape(x.shape)}",
        )
    return x if inplace else x.with_shape(res, f"masked_fill → {fmt_shape(res)}")


function("torch.masked_fill", "torch.Tensor.masked_fill", sig="input, mask, value")(
    lambda c: _masked_fill(c, False)
)
function("torch.Tensor.masked_fill_", sig="input, mask, value")(lambda c: _masked_fill(c, True))


@function("torch.nonzero", "torch.Tensor.nonzero", sig="input, *, as_tuple=False")
def nonzero(c: RuleCall) -> Value:
    """(n, rank) int64 indices with n data-dependent; as_tuple: rank 1-D tensors."""
    x = c.args.tensor("input")
    if x is None or x.shape is None:
        return Tensor(None, "int64")
    rank = len(x.shape)
    if c.args.get("as_tuple") is True:
        return tuple(Tensor((UNKNOWN,), "int64") for _ in range(max(rank, 1)))
    if c.args.get("as_tuple") is not False:
        return Tensor(None, "int64")
    return Tensor((UNKNOWN, rank), "int64", x.numpy, (*x.trace, "nonzero"))
