"""Keras core layers: Dense, Flatten, normalization, activations, reshaping, Embedding, Input.

Dense acts on the last axis of any rank >= 2 (that is legal Keras); on a 4D+ feature map it is
usually a forgotten Flatten, so that is a warning (SH114) with a quick fix, never an error.
"""

from __future__ import annotations

from shape_lsp.core.rules.base import (
    Args,
    FixHint,
    RuleCall,
    bad,
    fmt,
    fmt_shape,
    ok,
    unknown_like,
)
from shape_lsp.core.rules.keras_base import (
    KW,
    B,
    build,
    built_dim,
    cls_name,
    declared_input,
    keras_layer,
    known,
    out,
    template_or,
)
from shape_lsp.core.values import shapes as S
from shape_lsp.core.values.abstract import Tensor, Value
from shape_lsp.core.values.shapes import UNKNOWN, Dim, Shape


def _dense_params(a: Args) -> Dim | None:
    fin = built_dim(a, -1)
    units = a.dim("units")
    if not isinstance(fin, int):
        return None
    n = S.mul(fin, units)
    return known(S.add(n, units) if a.bool("use_bias") is not False else n)


@keras_layer(
    "keras.layers.Dense",
    sig="units, activation=None, use_bias=True, kernel_initializer='glorot_uniform', "
    "bias_initializer='zeros', kernel_regularizer=None, bias_regularizer=None, "
    "activity_regularizer=None, kernel_constraint=None, bias_constraint=None, lora_rank=None, "
    + KW,
    params=_dense_params,
    template=template_or((B, S.sym("F"))),
    examples=[
        ok("layers.Dense(128, activation='relu')", (4, 1600)),
        ok("layers.Dense(10, activation='softmax')", (1, 57600)),
        ok("layers.Dense(8, use_bias=False)", (2, 5, 7)),
        ok("layers.Dense(128, activation='relu')", (1, 5, 5, 64)),
        bad("layers.Dense(3)", (5,), "SH109"),
    ],
)
def dense(c: RuleCall) -> Value:
    """units over the last axis; SH114 when a 4D+ feature map reaches it."""
    x = c.tensor()
    if x is None or x.shape is None:
        return unknown_like(x)
    if len(x.shape) < 2:
        c.fail(
            "SH109",
            f"Dense expects an input of rank >= 2 (batch, features), got {fmt_shape(x.shape)}",
        )
    build(c, x, (-1,))
    units = c.args.dim("units")
    after_dense = bool(x.trace) and "(Dense)" in x.trace[-1]
    if len(x.shape) >= 4 and not after_dense:  # only the first Dense of a chain is the culprit
        flat = S.numel(x.shape[1:])
        c.warn(
            "SH114",
            f"Dense gets the {len(x.shape)}D feature map {fmt_shape(x.shape)} "
            f"and acts on its last axis only (output {fmt_shape((*x.shape[:-1], units))}); "
            f"a Flatten() before it would give {fmt(flat)} features per sample",
        )
    c.note(f"out = (*, {fmt(x.shape[-1])}) → (*, {fmt(units)})")
    return out(x, (*x.shape[:-1], units))


DENSE_FIX = FixHint("insert_flatten")
"""The quick fix attached to SH114 (see frameworks/keras/models.py)."""


@keras_layer(
    "keras.layers.Flatten",
    sig="data_format=None, " + KW,
    params=lambda a: 0,
    template=template_or(None),
    examples=[
        ok("layers.Flatten()", (2, 5, 5, 64)),
        ok("layers.Flatten()", (3, 4)),
        ok("layers.Flatten(data_format='channels_first')", (2, 3, 4, 5)),
    ],
)
def flatten(c: RuleCall) -> Value:
    """(B, d1, d2, ...) → (B, d1·d2·...)."""
    x = c.tensor()
    if x is None or x.shape is None:
        return unknown_like(x)
    if len(x.shape) < 2:
        return out(x, (*x.shape, 1) if x.shape else (1,))
    n = S.numel(x.shape[1:])
    c.note(f"features = {' · '.join(fmt(d) for d in x.shape[1:])} = {fmt(n)}")
    return out(x, (x.shape[0], n))


def _same(c: RuleCall) -> Value:
    x = c.tensor()
    if x is None or x.shape is None:
        return unknown_like(x)
    return out(x, x.shape)


_SAME_LAYERS = {
    "Dropout": ("rate, noise_shape=None, seed=None, ", "0.5"),
    "SpatialDropout1D": ("rate, seed=None, ", None),
    "SpatialDropout2D": ("rate, data_format=None, seed=None, ", "0.2"),
    "SpatialDropout3D": ("rate, data_format=None, seed=None, ", None),
    "GaussianNoise": ("stddev, seed=None, ", "0.1"),
    "GaussianDropout": ("rate, seed=None, ", None),
    "AlphaDropout": ("rate, noise_shape=None, seed=None, ", None),
    "Activation": ("activation, ", "'relu'"),
    "ReLU": ("max_value=None, negative_slope=0.0, threshold=0.0, ", ""),
    "LeakyReLU": ("negative_slope=0.3, ", ""),
    "ELU": ("alpha=1.0, ", None),
    "Softmax": ("axis=-1, ", ""),
    "Identity": ("", ""),
    "Masking": ("mask_value=0.0, ", None),
    "ActivityRegularization": ("l1=0.0, l2=0.0, ", None),
    "Rescaling": ("scale, offset=0.0, ", "0.5"),
}

for _name, (_sig, _ex) in _SAME_LAYERS.items():
    keras_layer(
        f"keras.layers.{_name}",
        sig=_sig + KW,
        params=lambda a: 0,
        template=template_or(None),
        examples=[ok(f"layers.{_name}({_ex})", (2, 6, 6, 3))] if _ex is not None else [],
    )(_same)


def _axes(a: Args, rank: int) -> list[int] | None:
    ax = a.get("axis")
    items = list(ax) if isinstance(ax, tuple | list) else [ax]
    if not all(isinstance(i, int) and not isinstance(i, bool) for i in items):
        return None
    if any(not -rank <= i < rank for i in items):
        return None
    return [i % rank for i in items]


def _norm_params(per: int) -> object:
    def count(a: Args) -> Dim | None:
        state = a.get("__keras_build__")
        if not isinstance(state, dict):
            return None
        shape = state.get("shape")
        if not isinstance(shape, tuple):
            return None
        axes = _axes(a, len(shape))
        if axes is None:
            return None
        n = S.product([shape[i] for i in axes])
        k = sum(1 for f in ("center", "scale") if a.bool(f) is not False)
        extra = 2 if per == 4 else 0
        return known(S.mul(n, k + extra))

    return count


def _norm_forward(c: RuleCall) -> Value:
    x = c.tensor()
    if x is None or x.shape is None:
        return unknown_like(x)
    axes = _axes(c.args, len(x.shape))
    if axes is None and isinstance(c.args.get("axis"), int):
        c.fail(
            "SH111",
            f"axis={c.args.get('axis')} is out of range for "
            f"the {len(x.shape)}D input {fmt_shape(x.shape)}",
        )
    if axes is not None:
        build(c, x, tuple(i - len(x.shape) for i in axes))
    return out(x, x.shape)


keras_layer(
    "keras.layers.BatchNormalization",
    sig="axis=-1, momentum=0.99, epsilon=0.001, center=True, scale=True, " + KW,
    params=_norm_params(4),
    template=template_or(None),
    examples=[
        ok("layers.BatchNormalization()", (2, 5, 5, 8)),
        ok("layers.BatchNormalization(axis=1)", (2, 8, 5, 5)),
    ],
)(_norm_forward)
keras_layer(
    "keras.layers.LayerNormalization",
    sig="axis=-1, epsilon=0.001, center=True, scale=True, rms_scaling=False, " + KW,
    params=_norm_params(2),
    template=template_or(None),
    examples=[
        ok("layers.LayerNormalization()", (2, 7, 16)),
        ok("layers.LayerNormalization(axis=[1, 2])", (2, 7, 16)),
    ],
)(_norm_forward)


@keras_layer(
    "keras.layers.Reshape",
    sig="target_shape, " + KW,
    params=lambda a: 0,
    template=template_or(None),
    examples=[
        ok("layers.Reshape((4, 6))", (2, 24)),
        ok("layers.Reshape((-1, 3))", (2, 4, 6)),
        bad("layers.Reshape((5, 5))", (2, 24), "SH105"),
    ],
)
def reshape(c: RuleCall) -> Value:
    """(B, *target_shape), one -1 inferred; the element count must not change."""
    x = c.tensor()
    target = c.args.get("target_shape")
    if x is None or x.shape is None or not isinstance(target, tuple | list):
        return unknown_like(x)
    dims: list[Dim] = [d if isinstance(d, int | S.Expr) else UNKNOWN for d in target]
    have = S.numel(x.shape[1:])
    if dims.count(-1) == 1:
        rest = S.product([d for d in dims if d != -1])
        dims[dims.index(-1)] = S.exact_div(have, rest)
        if isinstance(have, int) and isinstance(rest, int) and rest and have % rest:
            c.fail(
                "SH105",
                f"cannot reshape {fmt_shape(x.shape)} to "
                f"(batch, {', '.join(fmt(d) for d in target)}): {have} elements "
                f"per sample are not divisible by {rest}",
            )
    want = S.product(dims)
    if S.eq(want, have) is False:
        c.fail(
            "SH105",
            f"the total size of the new array must be unchanged: "
            f"input {fmt_shape(x.shape)} has {fmt(have)} elements per sample, "
            f"target_shape {tuple(target)} has {fmt(want)}",
        )
    return out(x, (x.shape[0], *dims))


@keras_layer(
    "keras.layers.Permute",
    sig="dims, " + KW,
    params=lambda a: 0,
    examples=[
        ok("layers.Permute((2, 1))", (2, 10, 64)),
        ok("layers.Permute((3, 1, 2))", (2, 4, 5, 6)),
    ],
)
def permute(c: RuleCall) -> Value:
    """dims index the non-batch axes from 1."""
    x = c.tensor()
    dims = c.args.ints("dims")
    if x is None or x.shape is None or dims is None:
        return unknown_like(x)
    if sorted(dims) != list(range(1, len(x.shape))):
        c.fail(
            "SH112",
            f"dims={dims} must be a permutation of "
            f"1..{len(x.shape) - 1} for the input {fmt_shape(x.shape)}",
        )
    return out(x, (x.shape[0], *(x.shape[d] for d in dims)))


@keras_layer(
    "keras.layers.RepeatVector",
    sig="n, " + KW,
    params=lambda a: 0,
    examples=[
        ok("layers.RepeatVector(3)", (2, 5)),
        bad("layers.RepeatVector(3)", (2, 5, 4), "SH109"),
    ],
)
def repeat_vector(c: RuleCall) -> Value:
    """(B, F) → (B, n, F)."""
    x = c.tensor()
    if x is None or x.shape is None:
        return unknown_like(x)
    c.expect_rank(x, (2,), cls_name(c))
    return out(x, (x.shape[0], c.args.dim("n"), x.shape[1]))


@keras_layer(
    "keras.layers.Resizing",
    sig="height, width, interpolation='bilinear', crop_to_aspect_ratio=False, "
    "pad_to_aspect_ratio=False, fill_mode='constant', fill_value=0.0, antialias=False, "
    "data_format=None, " + KW,
    params=lambda a: 0,
    template=template_or((B, S.sym("H"), S.sym("W"), S.sym("C"))),
    examples=[
        ok("layers.Resizing(64, 64)", (1, 32, 32, 3)),
        ok("layers.Resizing(8, 10, data_format='channels_first')", (2, 3, 5, 5)),
    ],
)
def resizing(c: RuleCall) -> Value:
    """Spatial size becomes (height, width); works batched (4D) or on one image (3D)."""
    x = c.tensor()
    if x is None or x.shape is None:
        return unknown_like(x)
    c.expect_rank(x, (3, 4), cls_name(c))
    h, w = c.args.dim("height"), c.args.dim("width")
    lead = x.shape[:-3]
    if c.args.str("data_format") == "channels_first":
        return out(x, (*lead, x.shape[-3], h, w))
    return out(x, (*lead, h, w, x.shape[-1]))


@keras_layer(
    "keras.layers.Embedding",
    sig="input_dim, output_dim, embeddings_initializer='uniform', "
    "embeddings_regularizer=None, embeddings_constraint=None, mask_zero=False, "
    "weights=None, lora_rank=None, " + KW,
    params=lambda a: known(S.mul(a.dim("input_dim"), a.dim("output_dim"))),
    template=template_or((B, S.sym("L"))),
    examples=[ok("layers.Embedding(1000, 64)", (2, 10), dtype="int32")],
)
def embedding(c: RuleCall) -> Value:
    """(*ids) → (*ids, output_dim)."""
    x = c.tensor()
    if x is None or x.shape is None:
        return unknown_like(x)
    return out(x, (*x.shape, c.args.dim("output_dim")), "float32")


@keras_layer(
    "keras.layers.Lambda",
    sig="function, output_shape=None, mask=None, arguments=None, " + KW,
    params=lambda a: 0,
)
def lambda_(c: RuleCall) -> Value:
    """Unknown, unless output_shape is given statically."""
    x = c.tensor()
    shape = c.args.get("output_shape")
    if (
        x is not None
        and x.shape
        and isinstance(shape, tuple)
        and all(isinstance(d, int) for d in shape)
    ):
        return out(x, (x.shape[0], *shape))
    return Tensor(None, x.dtype if x is not None else None)


def _input_template(a: Args) -> Shape | None:
    shape = a.get("shape")
    if isinstance(shape, tuple | list):
        bs = a.get("batch_size")
        return (
            bs if isinstance(bs, int) else B,
            *(d if isinstance(d, int) else UNKNOWN for d in shape),
        )
    batch = a.get("batch_shape")
    if isinstance(batch, tuple | list) and batch:
        return tuple(
            d if isinstance(d, int) else (B if i == 0 else UNKNOWN) for i, d in enumerate(batch)
        )
    return declared_input(a)


@keras_layer(
    "keras.layers.InputLayer",
    sig="shape=None, batch_size=None, dtype=None, sparse=None, batch_shape=None, "
    "input_tensor=None, optional=False, name=None, " + KW,
    params=lambda a: 0,
    template=_input_template,
)
def input_layer(c: RuleCall) -> Value:
    """Passes its input on (the model's declared input shape is its template)."""
    x = c.tensor()
    if x is None or x.shape is None:
        return unknown_like(x)
    return out(x, x.shape)
