"""Keras merge layers: Concatenate, Add, Subtract, Multiply, Average, Maximum, Minimum, Dot.

They take a list of tensors: `Concatenate()([a, b])`. The lower-case functional forms
(`keras.layers.concatenate([a, b])`) build the same layer (see frameworks/keras/models.py).
"""

from __future__ import annotations

from collections.abc import Callable

from shape_lsp.core.rules.base import RuleCall, bad, fmt, fmt_shape, ok
from shape_lsp.core.rules.keras_base import KW, keras_layer, out
from shape_lsp.core.values import shapes as S
from shape_lsp.core.values.abstract import Tensor, Value
from shape_lsp.core.values.shapes import UNKNOWN, Dim


def _inputs(c: RuleCall, what: str, exactly: int | None = None) -> list[Tensor] | None:
    """The list of input tensors; None when not all are tensors of known rank."""
    v = c.inputs[0] if len(c.inputs) == 1 else list(c.inputs)
    if not isinstance(v, list | tuple):
        return None
    if len(v) < 2 and exactly is None:
        c.fail(
            "SH112",
            f"a `{what}` layer should be called on a list of at least 2 inputs, received {len(v)}",
        )
    if exactly is not None and len(v) != exactly:
        c.fail(
            "SH112",
            f"a `{what}` layer should be called on exactly {exactly} inputs, received {len(v)}",
        )
    if not all(isinstance(t, Tensor) and t.shape is not None for t in v):
        return None
    return list(v)


@keras_layer(
    "keras.layers.Concatenate",
    sig="axis=-1, " + KW,
    params=lambda a: 0,
    examples=[
        ok("layers.Concatenate()", (2, 62, 62, 32), (2, 62, 62, 32)),
        ok("layers.Concatenate(axis=1)", (2, 3, 4), (2, 5, 4)),
        bad("layers.Concatenate()", (2, 62, 62, 32), (2, 30, 30, 32), "SH106"),
        bad("layers.Concatenate()", (2, 4), (2, 4, 1), "SH106"),
    ],
)
def concatenate(c: RuleCall) -> Value:
    """Shapes must match except on `axis`, which adds up."""
    ts = _inputs(c, "Concatenate")
    if ts is None:
        return Tensor(None, "float32")
    shapes = [t.shape for t in ts if t.shape is not None]
    rank = len(shapes[0])
    axis = c.args.int("axis")
    msg = (
        f"a `Concatenate` layer requires inputs with matching shapes "
        f"except for the concatenation axis. Received: input_shape="
        f"[{', '.join(fmt_shape(s) for s in shapes)}]"
    )
    if any(len(s) != rank for s in shapes):
        c.fail("SH106", msg)
    if axis is None or not -rank <= axis < rank:
        return out(ts[0], (UNKNOWN,) * rank)
    ax = axis % rank
    res: list[Dim] = list(shapes[0])
    for s in shapes[1:]:
        for j in range(rank):
            if j != ax and S.eq(res[j], s[j]) is False:
                c.fail("SH106", f"{msg} (axis {j}: {fmt(res[j])} vs {fmt(s[j])})")
            if j != ax and not isinstance(res[j], int) and isinstance(s[j], int):
                res[j] = s[j]
    res[ax] = _sum([s[ax] for s in shapes])
    return out(ts[0], tuple(res))


def _sum(dims: list[Dim]) -> Dim:
    total: Dim = 0
    for d in dims:
        total = S.add(total, d)
    return total


def _elementwise(what: str, exactly: int | None) -> Callable[[RuleCall], Value]:
    def forward(c: RuleCall) -> Value:
        ts = _inputs(c, what, exactly)
        if ts is None:
            return Tensor(None, "float32")
        shape = ts[0].shape
        assert shape is not None
        for t in ts[1:]:
            assert t.shape is not None
            got, bad_dim = S.broadcast(shape, t.shape)
            if got is None:
                c.fail(
                    "SH108",
                    f"inputs have incompatible shapes. Received "
                    f"shapes {fmt_shape(shape[1:])} and {fmt_shape(t.shape[1:])}"
                    + (f" (sizes {fmt(bad_dim[1])} vs {fmt(bad_dim[2])})" if bad_dim else ""),
                )
            shape = got
        return out(ts[0], shape)

    return forward


for _name, _n in (
    ("Add", None),
    ("Subtract", 2),
    ("Multiply", None),
    ("Average", None),
    ("Maximum", None),
    ("Minimum", None),
):
    keras_layer(
        f"keras.layers.{_name}",
        sig=KW,
        params=lambda a: 0,
        examples=[
            ok(f"layers.{_name}()", (2, 8), (2, 8)),
            bad(f"layers.{_name}()", (2, 4), (2, 5), "SH108"),
        ]
        if _name in ("Add", "Subtract", "Multiply")
        else [],
    )(_elementwise(_name, _n))


@keras_layer(
    "keras.layers.Dot",
    sig="axes, normalize=False, " + KW,
    params=lambda a: 0,
    examples=[
        ok("layers.Dot(axes=1)", (2, 8), (2, 8)),
        ok("layers.Dot(axes=(1, 2))", (2, 3, 4), (2, 5, 3)),
        bad("layers.Dot(axes=1)", (2, 8), (2, 9), "SH107"),
    ],
)
def dot(c: RuleCall) -> Value:
    """Batch dot product over `axes`; a rank-1 result becomes (batch, 1)."""
    ts = _inputs(c, "Dot", 2)
    if ts is None:
        return Tensor(None, "float32")
    a_shape, b_shape = ts[0].shape, ts[1].shape
    assert a_shape is not None and b_shape is not None
    axes = c.args.get("axes")
    pair = tuple(axes) if isinstance(axes, tuple | list) else (axes, axes)
    if len(pair) != 2 or not all(isinstance(v, int) for v in pair):
        return Tensor(None, "float32")
    ax0 = pair[0] % len(a_shape)
    ax1 = pair[1] % len(b_shape)
    if S.eq(a_shape[ax0], b_shape[ax1]) is False:
        c.fail(
            "SH107",
            f"incompatible input shapes: axis values "
            f"{fmt(a_shape[ax0])} (at axis {ax0}) != {fmt(b_shape[ax1])} "
            f"(at axis {ax1}). Full input shapes: {fmt_shape(a_shape)}, "
            f"{fmt_shape(b_shape)}",
        )
    s1 = [d for i, d in enumerate(a_shape) if i != ax0]
    s2 = [d for i, d in enumerate(b_shape) if i != ax1][1:]
    res = s1 + s2
    if len(res) == 1:
        res.append(1)
    return out(ts[0], tuple(res))
