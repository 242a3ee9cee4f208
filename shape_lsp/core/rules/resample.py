"""Upsample / F.interpolate, PixelShuffle / PixelUnshuffle, padding layers and F.pad."""

from __future__ import annotations

import math

from shape_lsp.core.rules.base import (
    Args,
    RuleCall,
    ShapeError,
    bad,
    fmt,
    fmt_shape,
    function,
    layer,
    ok,
    unknown_like,
)
from shape_lsp.core.values import shapes as S
from shape_lsp.core.values.abstract import Tensor, Value, as_dim
from shape_lsp.core.values.shapes import UNKNOWN, Dim

MODE_RANK = {"linear": 3, "bilinear": 4, "bicubic": 4, "trilinear": 5}


def interpolate_apply(c: RuleCall, x: Tensor | None, what: str) -> Value:
    """Spatial dims become `size`, or floor(dim * scale_factor)."""
    a = c.args
    size, scale = a.get("size"), a.get("scale_factor")
    mode = a.str("mode") or "nearest"
    if size is not None and scale is not None:
        c.fail("SH112", f"{what}: only one of size or scale_factor should be defined")
    if size is None and scale is None:
        c.fail("SH112", f"{what}: either size or scale_factor should be defined")
    if a.get("align_corners") is not None and mode not in MODE_RANK:
        c.fail("SH112", f"{what}: align_corners can only be set with linear modes, not {mode!r}")
    if x is None or x.shape is None:
        return unknown_like(x)
    rank = len(x.shape)
    if mode in MODE_RANK:
        c.expect_rank(x, (MODE_RANK[mode],), f"{what}(mode={mode!r})")
    else:
        c.expect_rank(x, (3, 4, 5), what)
    n = rank - 2
    spatial = x.shape[2:]
    out: list[Dim]
    if size is not None:
        sizes = size if isinstance(size, tuple | list) else (size,) * n
        if len(sizes) != n:
            c.fail(
                "SH112",
                f"{what}: size {size} has {len(sizes)} entries for {n} spatial "
                f"dims of {fmt_shape(x.shape)}",
            )
        out = [as_dim(v) for v in sizes]
    else:
        scales = scale if isinstance(scale, tuple | list) else (scale,) * n
        if len(scales) != n:
            c.fail(
                "SH112",
                f"{what}: scale_factor {scale} has {len(scales)} entries for {n} "
                f"spatial dims of {fmt_shape(x.shape)}",
            )
        out = [_scaled(d, f) for d, f in zip(spatial, scales, strict=True)]
    for d in out:
        if isinstance(d, int) and d < 1:
            c.fail("SH104", f"{what}: output size {d} is below 1 for {fmt_shape(x.shape)}")
    shape = (*x.shape[:2], *out)
    c.note(f"{fmt_shape(x.shape)} → {fmt_shape(shape)}")
    return x.with_shape(shape, f"{what} → {fmt_shape(shape)}")


def _scaled(d: Dim, f: Value) -> Dim:
    if isinstance(f, bool) or not isinstance(f, int | float):
        return UNKNOWN
    if isinstance(d, int):
        return math.floor(d * float(f))
    if float(f).is_integer():
        return S.mul(d, int(f))
    return UNKNOWN


def _validate_upsample(a: Args) -> None:
    if a.get("size") is not None and a.get("scale_factor") is not None:
        raise ShapeError(
            "SH112",
            "Upsample: only one of size or scale_factor should be defined",
            at_constructor=True,
        )


@layer(
    "torch.nn.Upsample",
    sig="size=None, scale_factor=None, mode='nearest', align_corners=None, "
    "recompute_scale_factor=None",
    params=lambda a: 0,
    examples=[
        ok("nn.Upsample(scale_factor=2)", (2, 3, 4, 5)),
        ok("nn.Upsample(scale_factor=1.5)", (2, 3, 5, 7)),
        ok("nn.Upsample(size=(8, 9))", (2, 3, 4, 5)),
        ok("nn.Upsample(size=10, mode='linear')", (2, 3, 4)),
        ok("nn.Upsample(scale_factor=2, mode='bilinear', align_corners=True)", (2, 3, 4, 5)),
        ok("nn.Upsample(scale_factor=(1, 2, 3), mode='trilinear')", (1, 2, 3, 4, 5)),
        ok("nn.Upsample(scale_factor=2)", (2, 3, 4)),
        bad("nn.Upsample(scale_factor=2, mode='bilinear')", (2, 3, 4), "SH109"),
        bad("nn.Upsample(scale_factor=2, mode='linear')", (2, 3, 4, 4), "SH109"),
        bad("nn.Upsample(size=(3, 4, 5))", (2, 3, 5, 7), "SH112"),
        bad("nn.Upsample(size=3, align_corners=True)", (2, 3, 5, 7), "SH112"),
        bad("nn.Upsample(scale_factor=2)", (4, 5), "SH109"),
    ],
)
def upsample(c: RuleCall) -> Value:
    """nn.Upsample."""
    return interpolate_apply(c, c.tensor(), "Upsample")


for _cls, _mode in (("UpsamplingNearest2d", "nearest"), ("UpsamplingBilinear2d", "bilinear")):

    def _fixed(c: RuleCall, mode: str = _mode, cls: str = _cls) -> Value:
        c.args.values["mode"] = mode
        c.args.values["align_corners"] = True if mode == "bilinear" else None
        x = c.tensor()
        if x is not None and x.shape is not None:  # nearest is plain Upsample: 3D to 5D
            c.expect_rank(x, (4,) if mode == "bilinear" else (3, 4, 5), cls)
        return interpolate_apply(c, x, cls)

    layer(
        f"torch.nn.{_cls}",
        sig="size=None, scale_factor=None",
        params=lambda a: 0,
        examples=[
            ok(f"nn.{_cls}(scale_factor=2)", (2, 3, 4, 5)),
            ok(f"nn.{_cls}(scale_factor=2)", (2, 4, 5))
            if _mode == "nearest"
            else bad(f"nn.{_cls}(scale_factor=2)", (2, 4, 5), "SH109"),
        ],
    )(_fixed)


@function(
    "torch.nn.functional.interpolate",
    "torch.nn.functional.upsample",
    sig="input, size=None, scale_factor=None, mode='nearest', align_corners=None, "
    "recompute_scale_factor=None, antialias=False",
)
def interpolate(c: RuleCall) -> Value:
    """F.interpolate."""
    return interpolate_apply(c, c.args.tensor("input"), "interpolate")


# ------------------------------------------------------------------------------ pixel shuffle


def shuffle_apply(c: RuleCall, x: Tensor | None, r: Value, down: bool) -> Value:
    """(*, C·r², H, W) ↔ (*, C, H·r, W·r)."""
    what = "PixelUnshuffle" if down else "PixelShuffle"
    if x is None or x.shape is None or not isinstance(r, int):
        return unknown_like(x)
    if r <= 0:
        c.fail("SH112", f"{what} expects a positive factor, got {r}")
    if len(x.shape) < 3:
        c.fail("SH109", f"{what} expects at least a 3D input, got {fmt_shape(x.shape)}")
    *lead, ch, h, w = x.shape
    if down:
        for name, d in (("height", h), ("width", w)):
            if isinstance(d, int) and d % r:
                c.fail("SH112", f"{what}: {name} {d} is not divisible by {r}")
        out = (*lead, S.mul(ch, r * r), S.floordiv(h, r), S.floordiv(w, r))
    else:
        if isinstance(ch, int) and ch % (r * r):
            c.fail("SH112", f"{what}: {ch} channels are not divisible by {r}² = {r * r}")
        out = (*lead, S.exact_div(ch, r * r), S.mul(h, r), S.mul(w, r))
    return x.with_shape(tuple(out), f"{what} → {fmt_shape(tuple(out))}")


@layer(
    "torch.nn.PixelShuffle",
    sig="upscale_factor",
    params=lambda a: 0,
    examples=[
        ok("nn.PixelShuffle(2)", (2, 12, 4, 5)),
        ok("nn.PixelShuffle(3)", (9, 2, 2)),
        bad("nn.PixelShuffle(0)", (2, 12, 4, 5), "SH112"),
        bad("nn.PixelShuffle(2)", (2, 6, 4, 4), "SH112"),
        bad("nn.PixelShuffle(2)", (8, 4), "SH109"),
    ],
)
def pixel_shuffle(c: RuleCall) -> Value:
    """nn.PixelShuffle."""
    return shuffle_apply(c, c.tensor(), c.args.get("upscale_factor"), False)


@layer(
    "torch.nn.PixelUnshuffle",
    sig="downscale_factor",
    params=lambda a: 0,
    examples=[
        ok("nn.PixelUnshuffle(2)", (2, 3, 4, 6)),
        bad("nn.PixelUnshuffle(2)", (2, 3, 5, 6), "SH112"),
    ],
)
def pixel_unshuffle(c: RuleCall) -> Value:
    """nn.PixelUnshuffle."""
    return shuffle_apply(c, c.tensor(), c.args.get("downscale_factor"), True)


@function("torch.nn.functional.pixel_shuffle", "torch.pixel_shuffle", sig="input, upscale_factor")
def f_pixel_shuffle(c: RuleCall) -> Value:
    """F.pixel_shuffle."""
    return shuffle_apply(c, c.args.tensor("input"), c.args.get("upscale_factor"), False)


@function(
    "torch.nn.functional.pixel_unshuffle", "torch.pixel_unshuffle", sig="input, downscale_factor"
)
def f_pixel_unshuffle(c: RuleCall) -> Value:
    """F.pixel_unshuffle."""
    return shuffle_apply(c, c.args.tensor("input"), c.args.get("downscale_factor"), True)


# ------------------------------------------------------------------------------ padding


def pad_apply(c: RuleCall, x: Tensor | None, pad: Value, mode: str, what: str) -> Value:
    """pad = (left, right, top, bottom, ...) from the last dim backwards."""
    if x is None or x.shape is None or not isinstance(pad, tuple | list):
        return unknown_like(x)
    if len(pad) % 2:
        c.fail("SH112", f"{what}: padding length {len(pad)} must be even")
    k = len(pad) // 2
    if k > len(x.shape):
        c.fail("SH109", f"{what}: {k} padded dims for a {len(x.shape)}D input")
    if mode != "constant":
        c.expect_rank(x, (k + 1, k + 2), what)
    out = list(x.shape)
    for i in range(k):
        axis = len(out) - 1 - i
        lo, hi = pad[2 * i], pad[2 * i + 1]
        size = out[axis]
        if mode == "reflect" and isinstance(size, int):
            for p in (lo, hi):
                if isinstance(p, int) and p >= size:
                    c.fail(
                        "SH112",
                        f"{what}: padding {p} must be smaller than the input "
                        f"size {size} (dim {axis} of {fmt_shape(x.shape)})",
                    )
        if mode == "circular" and isinstance(size, int):
            for p in (lo, hi):
                if isinstance(p, int) and p > size:
                    c.fail(
                        "SH112",
                        f"{what}: padding {p} is larger than the input size {size} (dim {axis})",
                    )
        new = S.add(S.add(size, as_dim(lo)), as_dim(hi))
        if isinstance(new, int) and new < 0:
            c.fail("SH104", f"{what}: dim {axis} would become {fmt(new)}")
        out[axis] = new
    # torch allows empty dims, except reflect / replicate when every padded dim is empty
    padded = [out[len(out) - 1 - i] for i in range(k)]
    if (
        mode in ("replicate", "reflect")
        and padded
        and all(isinstance(d, int) and d < 1 for d in padded)
    ):
        c.fail("SH104", f"{what}: every padded dim would be empty ({fmt_shape(tuple(out))})")
    return x.with_shape(tuple(out), f"{what} → {fmt_shape(tuple(out))}")


def _pad_tuple(a: Args, n: int) -> Value:
    p = a.get("padding")
    if isinstance(p, int) and not isinstance(p, bool):
        return (p,) * (2 * n)
    return p


_PADS = {
    "Zero": "constant",
    "Constant": "constant",
    "Reflection": "reflect",
    "Replication": "replicate",
    "Circular": "circular",
}

for _kind, _pmode in _PADS.items():
    for _n in (1, 2, 3):
        _cls = f"{_kind}Pad{_n}d"
        _ex = [
            ok(
                f"nn.{_cls}(1" + (", 0.5)" if _kind == "Constant" else ")"),
                (2, 3, 5, 6, 7)[: _n + 2],
            )
        ]
        if _n == 2:
            _ex.append(
                ok(
                    f"nn.{_cls}((1, 2, 0, 3)" + (", 0.0)" if _kind == "Constant" else ")"),
                    (2, 3, 5, 6),
                )
            )
        if _kind == "Reflection":
            _ex.append(bad(f"nn.{_cls}(5)", (2, 3, 4, 4, 4)[: _n + 2], "SH112"))
        if _n == 2 and _kind in ("Circular", "Replication"):  # empty dims: torch allows some
            _ex.append(
                ok(f"nn.{_cls}(-3)", (2, 5, 6, 6))
                if _kind == "Circular"
                else bad(f"nn.{_cls}(-3)", (2, 5, 6, 6), "SH104")
            )
            _ex.append(ok(f"nn.{_cls}(-3)", (2, 5, 8, 6)))  # one padded dim stays non-empty
        layer(
            f"torch.nn.{_cls}",
            sig="padding, value" if _kind == "Constant" else "padding",
            params=lambda a: 0,
            examples=_ex,
        )(
            lambda c, n=_n, mode=_pmode, cls=_cls: pad_apply(  # type: ignore[misc]
                c, c.tensor(), _pad_tuple(c.args, n), mode, cls
            )
        )


@function("torch.nn.functional.pad", sig="input, pad, mode='constant', value=None")
def f_pad(c: RuleCall) -> Value:
    """F.pad(x, (l, r, t, b), mode)."""
    mode = c.args.str("mode") or "constant"
    return pad_apply(c, c.args.tensor("input"), c.args.get("pad"), mode, "pad")
