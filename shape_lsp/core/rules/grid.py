"""Sampling grids and patch extraction: F.grid_sample, F.affine_grid, F.unfold / nn.Unfold and
F.fold / nn.Fold (im2col / col2im)."""

from __future__ import annotations

from shape_lsp.core.rules.base import (
    Args,
    RuleCall,
    bad,
    fmt,
    fmt_shape,
    function,
    layer,
    ok,
    unknown_like,
)
from shape_lsp.core.rules.spatial import conv_out
from shape_lsp.core.values import shapes as S
from shape_lsp.core.values.abstract import Tensor, Value, as_dim
from shape_lsp.core.values.shapes import UNKNOWN, Dim, Shape


@function(
    "torch.nn.functional.grid_sample",
    sig="input, grid, mode='bilinear', padding_mode='zeros', align_corners=None",
)
def grid_sample(c: RuleCall) -> Value:
    """(N, C, H, W) sampled at grid (N, Ho, Wo, 2) → (N, C, Ho, Wo); 5-D with a 3-vector grid."""
    x, g = c.args.tensor("input"), c.args.tensor("grid")
    if x is None or g is None or x.shape is None or g.shape is None:
        return unknown_like(x)
    what = "grid_sample"
    if len(x.shape) not in (4, 5):
        c.fail("SH109", f"{what}: expected a 4-D or 5-D input, got {fmt_shape(x.shape)}")
    n = len(x.shape) - 2
    if len(g.shape) != len(x.shape):
        c.fail(
            "SH109",
            f"{what}: grid {fmt_shape(g.shape)} and input {fmt_shape(x.shape)} must have the "
            "same number of dimensions",
        )
    if S.eq(g.shape[-1], n) is False:
        c.fail(
            "SH112",
            f"{what}: a {len(x.shape)}-D input needs a grid whose last dim is {n}, got "
            f"{fmt_shape(g.shape)}",
        )
    if S.eq(x.shape[0], g.shape[0]) is False:
        c.fail(
            "SH112",
            f"{what}: input {fmt_shape(x.shape)} and grid {fmt_shape(g.shape)} have different "
            "batch sizes",
        )
    if x.dtype and g.dtype and x.dtype != g.dtype:
        c.fail("SH110", f"{what}: input ({x.dtype}) and grid ({g.dtype}) must share a dtype")
    out = (x.shape[0], x.shape[1], *g.shape[1:-1])
    return x.with_shape(out, f"{what} → {fmt_shape(out)}")


@function("torch.nn.functional.affine_grid", sig="theta, size, align_corners=None")
def affine_grid(c: RuleCall) -> Value:
    """theta (N, 2, 3) with size (N, C, H, W) → (N, H, W, 2); 3-D likewise."""
    theta = c.args.tensor("theta")
    size = c.args.get("size")
    if theta is None:
        return UNKNOWN
    if not isinstance(size, tuple | list) or len(size) not in (4, 5):
        return Tensor(None, theta.dtype)
    dims = [as_dim(v) for v in size]
    n = len(dims) - 2
    if theta.shape is not None:
        want: Shape = (dims[0], n, n + 1)
        if S.shape_eq(theta.shape, want) is False:
            c.fail(
                "SH112",
                f"affine_grid: for size {tuple(fmt(d) for d in dims)} theta must be "
                f"{fmt_shape(want)}, got {fmt_shape(theta.shape)}",
            )
    out = (dims[0], *dims[2:], n)
    return theta.with_shape(out, f"affine_grid → {fmt_shape(out)}")


def _pair(v: Value) -> tuple[Dim, Dim] | None:
    if isinstance(v, tuple | list):
        if len(v) != 2:
            return None
        return as_dim(v[0]), as_dim(v[1])
    d = as_dim(v)
    return None if not S.is_known(d) and not isinstance(v, int) else (d, d)


def _geometry(a: Args) -> tuple[tuple[Dim, Dim], ...] | None:
    out = []
    for name in ("kernel_size", "dilation", "padding", "stride"):
        p = _pair(a.get(name))
        if p is None:
            return None
        out.append(p)
    return tuple(out)


def unfold_apply(c: RuleCall, x: Tensor | None, a: Args, what: str) -> Value:
    """(N, C, H, W) → (N, C·kh·kw, L) with L the number of sliding blocks; 3-D unbatched."""
    if x is None or x.shape is None:
        return unknown_like(x)
    if len(x.shape) not in (3, 4):
        c.fail("SH109", f"{what}: expected a 3-D or 4-D input, got {fmt_shape(x.shape)}")
    geo = _geometry(a)
    if geo is None:
        return Tensor((UNKNOWN,) * (len(x.shape) - 1), x.dtype)
    k, d, p, s = geo
    ch = x.shape[-3]
    blocks: Dim = 1
    for i, axis in enumerate(("H", "W")):
        size = x.shape[-2 + i]
        blocks = S.mul(blocks, conv_out(c, axis, size, k[i], s[i], p[i], d[i], what))
    out = (*x.shape[:-3], S.mul(ch, S.mul(k[0], k[1])), blocks)
    return x.with_shape(out, f"{what} → {fmt_shape(out)}")


def fold_apply(c: RuleCall, x: Tensor | None, a: Args, what: str) -> Value:
    """(N, C·kh·kw, L) → (N, C, oh, ow); L must be the number of blocks in output_size."""
    if x is None or x.shape is None:
        return unknown_like(x)
    if len(x.shape) not in (2, 3):
        c.fail("SH109", f"{what}: expected a 2-D or 3-D input, got {fmt_shape(x.shape)}")
    geo, osz = _geometry(a), _pair(a.get("output_size"))
    if geo is None or osz is None:
        return Tensor((UNKNOWN,) * (len(x.shape) + 1), x.dtype)
    k, d, p, s = geo
    kk = S.mul(k[0], k[1])
    ch = S.exact_div(x.shape[-2], kk)
    cols = x.shape[-2]
    if isinstance(cols, int) and isinstance(kk, int) and kk and cols % kk:
        c.fail(
            "SH112",
            f"{what}: dim -2 of {fmt_shape(x.shape)} ({cols}) must be divisible by the kernel "
            f"size product {kk}",
        )
    blocks: Dim = 1
    for i, axis in enumerate(("H", "W")):
        blocks = S.mul(blocks, conv_out(c, axis, osz[i], k[i], s[i], p[i], d[i], what))
    if S.eq(blocks, x.shape[-1]) is False:
        c.fail(
            "SH112",
            f"{what}: output_size {tuple(fmt(v) for v in osz)} gives {fmt(blocks)} blocks, but "
            f"the input {fmt_shape(x.shape)} has {fmt(x.shape[-1])}",
        )
    out = (*x.shape[:-2], ch, *osz)
    return x.with_shape(out, f"{what} → {fmt_shape(out)}")


@layer(
    "torch.nn.Unfold",
    sig="kernel_size, dilation=1, padding=0, stride=1",
    params=lambda a: 0,
    examples=[
        ok("nn.Unfold(3)", (2, 4, 8, 8)),
        ok("nn.Unfold((2, 3), dilation=2, padding=1, stride=2)", (2, 3, 9, 10)),
        ok("nn.Unfold(2)", (3, 5, 5)),
        bad("nn.Unfold(3)", (2, 4, 2, 8), "SH104"),
    ],
)
def unfold_layer(c: RuleCall) -> Value:
    """nn.Unfold."""
    return unfold_apply(c, c.tensor(), c.args, "Unfold")


@function(
    "torch.nn.functional.unfold",
    sig="input, kernel_size, dilation=1, padding=0, stride=1",
)
def f_unfold(c: RuleCall) -> Value:
    """F.unfold."""
    return unfold_apply(c, c.args.tensor("input"), c.args, "unfold")


@layer(
    "torch.nn.Fold",
    sig="output_size, kernel_size, dilation=1, padding=0, stride=1",
    params=lambda a: 0,
    examples=[
        ok("nn.Fold((4, 5), (2, 2))", (1, 12, 12)),
        ok("nn.Fold(6, 3, padding=1, stride=2)", (2, 18, 9)),
        bad("nn.Fold((4, 5), (2, 2))", (1, 12, 11), "SH112"),
        bad("nn.Fold((4, 5), (2, 2))", (1, 13, 12), "SH112"),
    ],
)
def fold_layer(c: RuleCall) -> Value:
    """nn.Fold."""
    return fold_apply(c, c.tensor(), c.args, "Fold")


@function(
    "torch.nn.functional.fold",
    sig="input, output_size, kernel_size, dilation=1, padding=0, stride=1",
)
def f_fold(c: RuleCall) -> Value:
    """F.fold."""
    return fold_apply(c, c.args.tensor("input"), c.args, "fold")
