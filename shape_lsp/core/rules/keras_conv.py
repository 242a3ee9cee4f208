"""Keras convolutions, pooling, up-sampling, padding and cropping (channels_last by default).

Keras padding: 'valid' is torch's padding=0; 'same' gives ceil(size / stride) for any stride.
"""

from __future__ import annotations

from collections.abc import Callable

from shape_lsp.core.rules.base import Args, RuleCall, bad, fmt, ok, unknown_like
from shape_lsp.core.rules.keras_base import (
    KW,
    B,
    build,
    built_dim,
    channels_first,
    cls_name,
    keras_layer,
    known,
    out,
    positive,
    template_or,
)
from shape_lsp.core.rules.spatial import AXIS_NAMES, conv_out
from shape_lsp.core.values import shapes as S
from shape_lsp.core.values.abstract import Tensor, Value
from shape_lsp.core.values.shapes import UNKNOWN, Dim, Shape

CONV_SIG = (
    "filters, kernel_size, strides=1, padding='valid', data_format=None, dilation_rate=1, "
    "groups=1, activation=None, use_bias=True, kernel_initializer='glorot_uniform', "
    "bias_initializer='zeros', kernel_regularizer=None, bias_regularizer=None, "
    "activity_regularizer=None, kernel_constraint=None, bias_constraint=None, " + KW
)
TRANSPOSE_SIG = (
    "filters, kernel_size, strides=1, padding='valid', output_padding=None, data_format=None, "
    "dilation_rate=1, activation=None, use_bias=True, " + KW
)
SEPARABLE_SIG = (
    "filters, kernel_size, strides=1, padding='valid', data_format=None, dilation_rate=1, "
    "depth_multiplier=1, activation=None, use_bias=True, " + KW
)
DEPTHWISE_SIG = (
    "kernel_size, strides=1, padding='valid', depth_multiplier=1, data_format=None, "
    "dilation_rate=1, activation=None, use_bias=True, " + KW
)
POOL_SIG = "pool_size=2, strides=None, padding='valid', data_format=None, name=None, " + KW


def _spatial_template(n: int) -> Shape:
    return (B, *(S.sym(s) for s in AXIS_NAMES[n]), S.sym("C"))


def split(x: Tensor, n: int, a: Args, what: str, c: RuleCall) -> tuple[int, list[Dim]] | None:
    """(channel axis, spatial sizes) of an n-d feature map; SH109 on a wrong rank."""
    if x.shape is None:
        return None
    c.expect_rank(x, (n + 2,), what)
    if channels_first(a):
        return 1, list(x.shape[2:])
    return len(x.shape) - 1, list(x.shape[1:-1])


def assemble(x: Tensor, a: Args, spatial: list[Dim], channels: Dim) -> Shape:
    """(B, *spatial, C) or (B, C, *spatial)."""
    assert x.shape is not None
    if channels_first(a):
        return (x.shape[0], channels, *spatial)
    return (x.shape[0], *spatial, channels)


def window(
    c: RuleCall, axis: str, size: Dim, k: Dim, s: Dim, d: Dim, pad: str | None, what: str
) -> Dim:
    """Output size of a Keras window: 'valid' as torch padding=0, 'same' = ceil(size/stride)."""
    if pad in ("same", "causal"):
        if not isinstance(s, int):
            return UNKNOWN
        o = S.ceildiv(size, s)
        c.note(f"{axis}_out = ⌈{fmt(size)}/{s}⌉ = {fmt(o)} (padding='{pad}')")
        return o
    if pad != "valid":
        return UNKNOWN
    eff = S.add(S.mul(d, S.sub(k, 1)), 1)
    if isinstance(size, int) and isinstance(eff, int) and isinstance(s, int) and size < eff:
        positive(
            c, (size - eff) // s + 1, axis, size, f"window {fmt(eff)}, strides {s}, padding='valid'"
        )
    # Only pooling warns about strides wider than the window (SH113); see spatial.conv_out.
    return conv_out(c, axis, size, k, s, 0, d, what, warn_gaps="Pool" in what)


def _conv_params(n: int, kind: str) -> Callable[[Args], Dim | None]:
    def count(a: Args) -> Dim | None:
        k = a.tuple("kernel_size", n)
        cin = built_dim(a, 1 if channels_first(a) else -1)
        if k is None or not isinstance(cin, int):
            return None
        kp = S.product(k)
        bias = a.bool("use_bias") is not False
        if kind == "separable":
            dm = a.dim("depth_multiplier")
            f = a.dim("filters")
            total = S.add(S.mul(S.mul(kp, cin), dm), S.mul(S.mul(cin, dm), f))
            return known(S.add(total, f) if bias else total)
        if kind == "depthwise":
            dm = a.dim("depth_multiplier")
            total = S.mul(S.mul(kp, cin), dm)
            return known(S.add(total, S.mul(cin, dm)) if bias else total)
        f = a.dim("filters")
        g = a.int("groups") or 1
        total = S.mul(S.mul(kp, S.exact_div(cin, g)), f)
        return known(S.add(total, f) if bias else total)

    return count


def conv_forward(n: int, kind: str, c: RuleCall) -> Value:
    """Conv{n}D / Conv{n}DTranspose / SeparableConv / DepthwiseConv output shape."""
    x = c.tensor()
    a = c.args
    what = cls_name(c)
    if x is None or x.shape is None:
        return unknown_like(x)
    got = split(x, n, a, what, c)
    if got is None:
        return unknown_like(x)
    ch_axis, spatial = got
    build(c, x, (ch_axis if channels_first(a) else -1,))
    cin = x.shape[ch_axis]
    g = a.int("groups") or 1
    if kind == "conv" and g > 1 and isinstance(cin, int) and cin % g:
        c.fail(
            "SH112", f"{what}: the number of input channels ({cin}) must be divisible by groups={g}"
        )
    k, s, d = a.tuple("kernel_size", n), a.tuple("strides", n), a.tuple("dilation_rate", n)
    pad = a.str("padding")
    pad = pad.lower() if pad else None
    depthwise = kind == "depthwise"
    channels = S.mul(cin, a.dim("depth_multiplier")) if depthwise else a.dim("filters")
    sizes: list[Dim] = []
    for i, axis in enumerate(AXIS_NAMES[n]):
        if k is None or s is None or d is None:
            sizes.append(UNKNOWN)
        elif kind == "transpose":
            sizes.append(_deconv(c, axis, spatial[i], k[i], s[i], d[i], pad, i))
        else:
            sizes.append(window(c, axis, spatial[i], k[i], s[i], d[i], pad, what))
    return out(x, assemble(x, a, sizes, channels))


def _deconv(
    c: RuleCall, axis: str, size: Dim, k: Dim, s: Dim, d: Dim, pad: str | None, i: int
) -> Dim:
    """keras deconv_output_length."""
    eff = S.add(k, S.mul(S.sub(k, 1), S.sub(d, 1)))
    op = c.args.get("output_padding")
    if op is None:
        if pad == "same":
            o = S.mul(size, s)
        elif pad == "valid" and isinstance(eff, int) and isinstance(s, int):
            o = S.add(S.mul(size, s), max(eff - s, 0))
        else:
            return UNKNOWN
    else:
        opv = op[i] if isinstance(op, tuple | list) and i < len(op) else op
        p = S.floordiv(eff, 2) if pad == "same" else 0
        if not isinstance(opv, int):
            return UNKNOWN
        o = S.add(S.sub(S.add(S.mul(S.sub(size, 1), s), eff), S.mul(2, p)), opv)
    c.note(f"{axis}_out = {fmt(o)} (transposed, padding='{pad}')")
    return o


def _register_conv(n: int) -> None:
    tmpl = template_or(_spatial_template(n))
    keras_layer(
        f"keras.layers.Conv{n}D",
        sig=CONV_SIG,
        params=_conv_params(n, "conv"),
        template=tmpl,
        examples=CONV_EXAMPLES[n],
    )(lambda c: conv_forward(n, "conv", c))
    keras_layer(
        f"keras.layers.Conv{n}DTranspose",
        sig=TRANSPOSE_SIG,
        params=_conv_params(n, "transpose"),
        template=tmpl,
        examples=TRANSPOSE_EXAMPLES.get(n, []),
    )(lambda c: conv_forward(n, "transpose", c))
    if n < 3:
        keras_layer(
            f"keras.layers.SeparableConv{n}D",
            sig=SEPARABLE_SIG,
            params=_conv_params(n, "separable"),
            template=tmpl,
            examples=SEPARABLE_EXAMPLES.get(n, []),
        )(lambda c: conv_forward(n, "separable", c))
        keras_layer(
            f"keras.layers.DepthwiseConv{n}D",
            sig=DEPTHWISE_SIG,
            params=_conv_params(n, "depthwise"),
            template=tmpl,
            examples=DEPTHWISE_EXAMPLES.get(n, []),
        )(lambda c: conv_forward(n, "depthwise", c))


CONV_EXAMPLES = {
    1: [
        ok("layers.Conv1D(8, 3)", (2, 20, 4)),
        ok("layers.Conv1D(8, 3, strides=2, padding='same')", (2, 21, 4)),
        ok("layers.Conv1D(8, 3, padding='causal')", (2, 21, 4)),
        bad("layers.Conv1D(8, 5)", (2, 3, 4), "SH104"),
    ],
    2: [
        ok("layers.Conv2D(32, (3, 3), activation='relu')", (1, 28, 28, 1)),
        ok("layers.Conv2D(16, 3, strides=2, padding='same')", (2, 9, 9, 3)),
        ok("layers.Conv2D(16, (3, 5), strides=(2, 1), dilation_rate=1)", (2, 31, 17, 3)),
        ok("layers.Conv2D(8, 3, dilation_rate=2)", (1, 12, 12, 2)),
        ok("layers.Conv2D(8, 3, data_format='channels_first')", (1, 3, 12, 10)),
        ok("layers.Conv2D(8, 3, groups=2)", (1, 12, 12, 4)),
        ok("layers.Conv2D(64, (5, 5), strides=2)", (1, 64, 64, 32)),
        bad("layers.Conv2D(2, 5)", (1, 3, 3, 1), "SH104"),
        bad("layers.Conv2D(2, 3)", (1, 8, 8), "SH109"),
    ],
    3: [
        ok("layers.Conv3D(4, 3, strides=2)", (1, 9, 10, 11, 2)),
        ok("layers.Conv3D(4, 3, padding='same', data_format='channels_first')", (1, 2, 5, 6, 7)),
    ],
}
TRANSPOSE_EXAMPLES = {
    1: [ok("layers.Conv1DTranspose(4, 3, strides=2)", (1, 7, 2))],
    2: [
        ok("layers.Conv2DTranspose(2, 3, strides=2)", (1, 5, 5, 1)),
        ok(
            "layers.Conv2DTranspose(2, 3, strides=2, padding='same', output_padding=1)",
            (1, 5, 5, 1),
        ),
        ok(
            "layers.Conv2DTranspose(32, (3, 3), activation='relu', padding='same', strides=(2, 2))",
            (1, 64, 64, 16),
        ),
        ok("layers.Conv2DTranspose(3, 4, strides=2, dilation_rate=1)", (1, 6, 7, 2)),
    ],
    3: [ok("layers.Conv3DTranspose(2, 2, strides=2)", (1, 3, 3, 3, 1))],
}
SEPARABLE_EXAMPLES = {
    1: [ok("layers.SeparableConv1D(6, 3, depth_multiplier=2)", (1, 10, 4))],
    2: [
        ok("layers.SeparableConv2D(8, 3, padding='same', strides=2)", (1, 15, 15, 3)),
        ok("layers.SeparableConv2D(8, 3, depth_multiplier=2)", (1, 15, 15, 3)),
    ],
}
DEPTHWISE_EXAMPLES = {
    1: [ok("layers.DepthwiseConv1D(3)", (1, 10, 4))],
    2: [
        ok("layers.DepthwiseConv2D(3, depth_multiplier=2)", (1, 10, 10, 3)),
        ok("layers.DepthwiseConv2D(3, strides=2, padding='same')", (1, 11, 11, 3)),
    ],
}


def pool_forward(n: int, c: RuleCall) -> Value:
    """MaxPooling / AveragePooling: strides default to pool_size."""
    x = c.tensor()
    a = c.args
    what = cls_name(c)
    if x is None or x.shape is None:
        return unknown_like(x)
    got = split(x, n, a, what, c)
    if got is None:
        return unknown_like(x)
    ch_axis, spatial = got
    k = a.tuple("pool_size", n)
    s = a.tuple("strides", n) if a.get("strides") is not None else k
    pad = a.str("padding")
    pad = pad.lower() if pad else None
    sizes: list[Dim] = []
    for i, axis in enumerate(AXIS_NAMES[n]):
        if k is None or s is None:
            sizes.append(UNKNOWN)
        else:
            sizes.append(window(c, axis, spatial[i], k[i], s[i], 1, pad, what))
    return out(x, assemble(x, a, sizes, x.shape[ch_axis]))


POOL_EXAMPLES = {
    1: [
        ok("layers.MaxPooling1D(2)", (2, 9, 3)),
        ok("layers.AveragePooling1D(3, strides=1, padding='same')", (2, 9, 3)),
    ],
    2: [
        ok("layers.MaxPooling2D((2, 2))", (1, 26, 26, 32)),
        ok("layers.MaxPooling2D((2, 2), strides=(3, 3))", (1, 126, 126, 32)),
        ok("layers.MaxPooling2D(pool_size=(2, 2), strides=1)", (1, 30, 30, 64)),
        ok("layers.MaxPooling2D(3, strides=2, padding='same')", (1, 10, 10, 1)),
        ok("layers.AveragePooling2D(2, data_format='channels_first')", (1, 3, 9, 8)),
        bad("layers.MaxPooling2D(5)", (1, 3, 3, 1), "SH104"),
    ],
    3: [
        ok("layers.MaxPooling3D(2)", (1, 5, 6, 7, 2)),
        ok("layers.AveragePooling3D(2, padding='same')", (1, 5, 6, 7, 2)),
    ],
}

for _n in (1, 2, 3):
    _register_conv(_n)
    for _kind in ("Max", "Average"):
        keras_layer(
            f"keras.layers.{_kind}Pooling{_n}D",
            sig=POOL_SIG,
            template=template_or(_spatial_template(_n)),
            params=lambda a: 0,
            examples=POOL_EXAMPLES[_n] if _kind == "Max" else [],
        )(lambda c, n=_n: pool_forward(n, c))  # type: ignore[misc]


def global_pool_forward(n: int, c: RuleCall) -> Value:
    """GlobalAveragePooling / GlobalMaxPooling: (B, C), keepdims keeps size-1 axes."""
    x = c.tensor()
    a = c.args
    if x is None or x.shape is None:
        return unknown_like(x)
    got = split(x, n, a, cls_name(c), c)
    if got is None:
        return unknown_like(x)
    ch_axis, _ = got
    ch = x.shape[ch_axis]
    if a.bool("keepdims"):
        return out(x, assemble(x, a, [1] * n, ch))
    return out(x, (x.shape[0], ch))


for _n in (1, 2, 3):
    for _kind in ("Max", "Average"):
        keras_layer(
            f"keras.layers.Global{_kind}Pooling{_n}D",
            sig="data_format=None, keepdims=False, " + KW,
            template=template_or(_spatial_template(_n)),
            params=lambda a: 0,
            examples=[
                ok(f"layers.Global{_kind}Pooling{_n}D()", (2, *([5] * _n), 3)),
                ok(f"layers.Global{_kind}Pooling{_n}D(keepdims=True)", (2, *([5] * _n), 3)),
            ],
        )(lambda c, n=_n: global_pool_forward(n, c))  # type: ignore[misc]


def upsampling_forward(n: int, c: RuleCall) -> Value:
    """UpSampling{n}D: each spatial axis times size."""
    x = c.tensor()
    a = c.args
    if x is None or x.shape is None:
        return unknown_like(x)
    if n == 1:
        c.expect_rank(x, (3,), cls_name(c))
        return out(x, (x.shape[0], S.mul(x.shape[1], a.dim("size")), x.shape[2]))
    got = split(x, n, a, cls_name(c), c)
    if got is None:
        return unknown_like(x)
    ch_axis, spatial = got
    size = a.tuple("size", n)
    sizes = [S.mul(d, size[i]) if size else UNKNOWN for i, d in enumerate(spatial)]
    return out(x, assemble(x, a, sizes, x.shape[ch_axis]))


keras_layer(
    "keras.layers.UpSampling1D",
    sig="size=2, " + KW,
    params=lambda a: 0,
    examples=[ok("layers.UpSampling1D(3)", (2, 4, 5))],
)(lambda c: upsampling_forward(1, c))
keras_layer(
    "keras.layers.UpSampling2D",
    sig="size=(2, 2), data_format=None, interpolation='nearest', " + KW,
    params=lambda a: 0,
    examples=[
        ok("layers.UpSampling2D((2, 2))", (1, 40, 40, 16)),
        ok("layers.UpSampling2D(3, data_format='channels_first')", (1, 2, 4, 5)),
    ],
)(lambda c: upsampling_forward(2, c))
keras_layer(
    "keras.layers.UpSampling3D",
    sig="size=(2, 2, 2), data_format=None, " + KW,
    params=lambda a: 0,
    examples=[ok("layers.UpSampling3D(2)", (1, 2, 3, 4, 5))],
)(lambda c: upsampling_forward(3, c))


def _pairs(v: Value, n: int) -> list[tuple[Dim, Dim]] | None:
    """Keras padding/cropping spec: int, (a, b, ...) symmetric, or ((a0, a1), (b0, b1), ...)."""
    if isinstance(v, int) and not isinstance(v, bool):
        return [(v, v)] * n
    if isinstance(v, tuple | list) and len(v) == n:
        out_: list[tuple[Dim, Dim]] = []
        for e in v:
            if isinstance(e, int) and not isinstance(e, bool):
                out_.append((e, e))
            elif isinstance(e, tuple | list) and len(e) == 2 and all(isinstance(i, int) for i in e):
                out_.append((e[0], e[1]))
            else:
                return None
        return out_
    if n == 1 and isinstance(v, tuple | list) and len(v) == 2:
        return _pairs((tuple(v),), 1)
    return None


def pad_crop_forward(n: int, sign: int, arg: str, c: RuleCall) -> Value:
    """ZeroPadding{n}D (sign +1) / Cropping{n}D (sign -1)."""
    x = c.tensor()
    a = c.args
    if x is None or x.shape is None:
        return unknown_like(x)
    got = split(x, n, a, cls_name(c), c)
    if got is None:
        return unknown_like(x)
    ch_axis, spatial = got
    pairs = _pairs(a.get(arg), n)
    sizes: list[Dim] = []
    for i, axis in enumerate(AXIS_NAMES[n]):
        if pairs is None:
            sizes.append(UNKNOWN)
            continue
        o = S.add(spatial[i], sign * (pairs[i][0] + pairs[i][1]))  # type: ignore[operator]
        if sign < 0:
            positive(c, o, axis, spatial[i], f"cropping {pairs[i]}")
        sizes.append(o)
    return out(x, assemble(x, a, sizes, x.shape[ch_axis]))


for _n, _pad, _crop in (
    (1, 1, (1, 1)),
    (2, (1, 1), ((0, 0), (0, 0))),
    (3, (1, 1, 1), ((1, 1), (1, 1), (1, 1))),
):
    keras_layer(
        f"keras.layers.ZeroPadding{_n}D",
        sig=f"padding={_pad!r}, data_format=None, " + KW,
        params=lambda a: 0,
        examples=[ok(f"layers.ZeroPadding{_n}D()", (1, *([4] * _n), 2))]
        + (
            [
                ok("layers.ZeroPadding2D(((1, 2), (3, 4)))", (1, 5, 5, 2)),
                ok("layers.ZeroPadding2D(2, data_format='channels_first')", (1, 2, 5, 5)),
            ]
            if _n == 2
            else []
        ),
    )(lambda c, n=_n: pad_crop_forward(n, 1, "padding", c))  # type: ignore[misc]
    keras_layer(
        f"keras.layers.Cropping{_n}D",
        sig=f"cropping={_crop!r}, data_format=None, " + KW,
        params=lambda a: 0,
        examples=[ok(f"layers.Cropping{_n}D()", (1, *([6] * _n), 2))]
        + (
            [
                ok("layers.Cropping2D(((1, 2), (0, 1)))", (1, 6, 6, 2)),
                bad("layers.Cropping2D(3)", (1, 6, 6, 2), "SH104"),
            ]
            if _n == 2
            else []
        ),
    )(lambda c, n=_n: pad_crop_forward(n, -1, "cropping", c))  # type: ignore[misc]
