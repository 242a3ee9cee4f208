"""Embedding, EmbeddingBag, F.embedding, F.embedding_bag and F.one_hot.

Indices are integer tensors of any shape; an embedding appends `embedding_dim`. Inputs whose
rank was only guessed for a first layer (`assumed`) are not checked for their dtype, since the
template tensor is a float placeholder.
"""

from __future__ import annotations

from shape_lsp.core.rules.base import (
    Args,
    RuleCall,
    ShapeError,
    dtype_of,
    fmt,
    fmt_shape,
    function,
    layer,
)
from shape_lsp.core.values import shapes as S
from shape_lsp.core.values.abstract import Tensor, Value
from shape_lsp.core.values.shapes import UNKNOWN, Dim, Shape

INDEX_DTYPES = ("int64", "int32")


def _weights_dtype(a: Args) -> str:
    return dtype_of(a.get("dtype")) or "float32"


def _check_indices(c: RuleCall, x: Tensor, what: str) -> None:
    if x.assumed or x.dtype is None:
        return
    if x.dtype not in INDEX_DTYPES:
        c.fail(
            "SH110",
            f"{what} expects integer indices (int64 or int32), got a {x.dtype} tensor "
            f"{fmt_shape(x.shape)}; convert it with `.long()`",
        )


def _table_params(a: Args) -> Dim | None:
    n = S.mul(a.dim("num_embeddings"), a.dim("embedding_dim"))
    return n if S.is_known(n) else None


def _validate_padding(a: Args) -> None:
    n, p = a.int("num_embeddings"), a.int("padding_idx")
    if n is not None and p is not None and not -n <= p < n:
        raise ShapeError(
            "SH112",
            f"padding_idx={p} must be within num_embeddings={n} (-{n}..{n - 1})",
            at_constructor=True,
        )


def embedding_apply(c: RuleCall, x: Tensor | None, dim: Dim, dtype: str | None, what: str) -> Value:
    """(*indices, dim)."""
    if x is None:
        return Tensor(None, dtype)
    _check_indices(c, x, what)
    if x.shape is None:
        return Tensor(None, dtype)
    out = (*x.shape, dim)
    c.note(f"{fmt_shape(x.shape)} → {fmt_shape(out)}")
    return Tensor(out, dtype, False, (*x.trace, f"{what} → {fmt_shape(out)}"), x.assumed)


@layer(
    "torch.nn.Embedding",
    sig="num_embeddings, embedding_dim, padding_idx=None, max_norm=None, norm_type=2.0, "
    "scale_grad_by_freq=False, sparse=False, _weight=None, _freeze=False, device=None, "
    "dtype=None",
    params=_table_params,
    template=lambda a: (S.sym("B"), S.sym("L")),
    validate=_validate_padding,
)
def embedding(c: RuleCall) -> Value:
    """Look up rows: indices of any shape gain a trailing embedding_dim."""
    return embedding_apply(
        c, c.tensor(), c.args.dim("embedding_dim"), _weights_dtype(c.args), "Embedding"
    )


def bag_apply(
    c: RuleCall,
    x: Tensor | None,
    offsets: Value,
    psw: Value,
    dim: Dim,
    dtype: str | None,
    mode: str | None,
    last: bool | None,
    what: str,
) -> Value:
    """(B, N) without offsets, or 1D indices with 1D offsets → (bags, dim)."""
    if x is None:
        return Tensor(None, dtype)
    _check_indices(c, x, what)
    if x.shape is None:
        return Tensor(None, dtype)
    if isinstance(offsets, Tensor) and offsets.dtype not in (None, *INDEX_DTYPES):
        c.fail("SH110", f"{what}: offsets must be int64 or int32, got {offsets.dtype}")
    if isinstance(psw, Tensor):
        if mode is not None and mode != "sum":
            c.fail("SH112", f"{what}: per_sample_weights is only supported for mode='sum'")
        if psw.shape is not None and S.shape_eq(psw.shape, x.shape) is False:
            c.fail(
                "SH112",
                f"{what}: per_sample_weights {fmt_shape(psw.shape)} must have the shape of "
                f"the input {fmt_shape(x.shape)}",
            )
    if len(x.shape) == 2:
        if isinstance(offsets, Tensor):
            c.fail("SH112", f"{what}: offsets must be None when the input is 2D")
        out: Shape = (x.shape[0], dim)
    elif len(x.shape) == 1:
        if offsets is None:
            c.fail("SH112", f"{what}: a 1D input needs offsets (or give a 2D input)")
        if not isinstance(offsets, Tensor) or offsets.shape is None:
            return Tensor((UNKNOWN, dim), dtype)
        if len(offsets.shape) != 1:
            c.fail("SH109", f"{what}: offsets must be 1D, got {fmt_shape(offsets.shape)}")
        if last is None:
            return Tensor((UNKNOWN, dim), dtype)
        bags = S.sub(offsets.shape[0], 1) if last else offsets.shape[0]
        out = (bags, dim)
    else:
        c.fail("SH109", f"{what} expects a 1D or 2D input, got {fmt_shape(x.shape)}")
    c.note(f"{fmt_shape(x.shape)} → {fmt_shape(out)} (mode={mode})")
    return Tensor(out, dtype, False, (*x.trace, f"{what} → {fmt_shape(out)}"), x.assumed)


@layer(
    "torch.nn.EmbeddingBag",
    sig="num_embeddings, embedding_dim, max_norm=None, norm_type=2.0, scale_grad_by_freq=False, "
    "mode='mean', sparse=False, _weight=None, include_last_offset=False, padding_idx=None, "
    "device=None, dtype=None",
    params=_table_params,
    template=lambda a: (S.sym("B"), S.sym("L")),
    validate=_validate_padding,
)
def embedding_bag(c: RuleCall) -> Value:
    """Sum / mean / max over bags of looked-up rows."""
    a = c.args
    offsets = c.inputs[1] if len(c.inputs) > 1 else c.kwinputs.get("offsets")
    psw = c.inputs[2] if len(c.inputs) > 2 else c.kwinputs.get("per_sample_weights")
    return bag_apply(
        c,
        c.tensor(),
        offsets,
        psw,
        a.dim("embedding_dim"),
        _weights_dtype(a),
        a.str("mode"),
        a.bool("include_last_offset"),
        "EmbeddingBag",
    )


def _weight_table(c: RuleCall, what: str) -> tuple[Dim, str | None]:
    w = c.args.tensor("weight")
    if w is None or w.shape is None:
        return UNKNOWN, w.dtype if w is not None else None
    if len(w.shape) != 2:
        c.fail("SH109", f"{what}: weight must be 2D, got {fmt_shape(w.shape)}")
    return w.shape[1], w.dtype


@function(
    "torch.nn.functional.embedding",
    sig="input, weight, padding_idx=None, max_norm=None, norm_type=2.0, "
    "scale_grad_by_freq=False, sparse=False",
)
def f_embedding(c: RuleCall) -> Value:
    """F.embedding(indices, weight (num, dim))."""
    dim, dtype = _weight_table(c, "embedding")
    return embedding_apply(c, c.args.tensor("input"), dim, dtype, "embedding")


@function(
    "torch.nn.functional.embedding_bag",
    sig="input, weight, offsets=None, max_norm=None, norm_type=2, scale_grad_by_freq=False, "
    "mode='mean', sparse=False, per_sample_weights=None, include_last_offset=False, "
    "padding_idx=None",
)
def f_embedding_bag(c: RuleCall) -> Value:
    """F.embedding_bag."""
    a = c.args
    dim, dtype = _weight_table(c, "embedding_bag")
    return bag_apply(
        c,
        a.tensor("input"),
        a.get("offsets"),
        a.get("per_sample_weights"),
        dim,
        dtype,
        a.str("mode"),
        a.bool("include_last_offset"),
        "embedding_bag",
    )


@function("torch.nn.functional.one_hot", sig="tensor, num_classes=-1")
def one_hot(c: RuleCall) -> Value:
    """(*x, num_classes) int64; num_classes=-1 depends on the data (unknown)."""
    x = c.args.tensor("tensor")
    if x is None:
        return Tensor(None, "int64")
    if x.dtype is not None and x.dtype != "int64" and not x.assumed:
        c.fail("SH110", f"one_hot is only applicable to int64 index tensors, got {x.dtype}")
    raw = c.args.get("num_classes")
    n: Dim = UNKNOWN if raw == -1 else c.args.dim("num_classes")
    if isinstance(n, int) and n < -1:
        c.fail("SH112", f"one_hot: num_classes={fmt(n)} must be -1 or positive")
    if x.shape is None:
        return Tensor(None, "int64")
    out = (*x.shape, n)
    return Tensor(out, "int64", False, (*x.trace, f"one_hot → {fmt_shape(out)}"))
