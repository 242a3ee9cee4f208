"""Helpers shared by the Keras 3 layer rules (channels_last by default, lazy build).

Keras layers learn their input size when first called ("build"): a Dense learns its input
features, a Conv2D its channels. The bound arguments of a layer value are the place that state
lives (`BUILD_KEY`), so a shared layer applied to a second, incompatible input reports what
Keras raises: "Input 0 of layer 'dense' is incompatible with the layer".
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from shape_lsp.core.rules.base import Args, Example, LayerForward, RuleCall, fmt, fmt_shape, layer
from shape_lsp.core.values import shapes as S
from shape_lsp.core.values.abstract import Tensor, Value
from shape_lsp.core.values.shapes import UNKNOWN, Dim, Shape

KW = "**kwargs"
"""Every Keras layer accepts name=, dtype=, input_shape=, trainable=, ... as keyword args."""

BUILD_KEY = "__keras_build__"
NAME_KEY = "__keras_name__"
B = S.sym("B")

EXAMPLES: dict[str, tuple[Example, ...]] = {}
"""Examples of the Keras rules, checked against Keras 3 by tests/keras (not against torch)."""


def keras_layer(
    *names: str, examples: Iterable[Example] = (), **kw: Any
) -> Callable[[LayerForward], LayerForward]:
    """`layer(...)` for Keras: framework='keras'; examples go to EXAMPLES, not the torch tests."""
    EXAMPLES[names[0]] = tuple(examples)
    kw.setdefault("framework", "keras")
    return layer(*names, **kw)


def kwargs_of(a: Args) -> dict[str, Value]:
    """The extra keyword arguments a Keras layer was given."""
    kw = a.get("kwargs")
    return kw if isinstance(kw, dict) else {}


def declared_input(a: Args) -> Shape | None:
    """(B, *input_shape) / batch_input_shape / input_dim given to a model's first layer."""
    kw = kwargs_of(a)
    shape = kw.get("input_shape")
    if isinstance(shape, int) and not isinstance(shape, bool):
        shape = (shape,)
    if isinstance(shape, tuple | list):
        return (B, *(_dim(d) for d in shape))
    batch = kw.get("batch_input_shape", kw.get("batch_shape"))
    if isinstance(batch, tuple | list) and batch:
        return (_dim(batch[0], B), *(_dim(d) for d in batch[1:]))
    dim = kw.get("input_dim")
    if isinstance(dim, int) and not isinstance(dim, bool):
        return (B, dim)
    return None


def _dim(d: Value, none: Dim | None = None) -> Dim:
    if d is None:
        return none if none is not None else UNKNOWN
    if isinstance(d, int | S.Expr) and not isinstance(d, bool):
        return d
    return UNKNOWN


def template_or(default: Shape | None) -> object:
    """An input template: the declared input shape, else `default` (symbolic)."""

    def template(a: Args) -> Shape | None:
        return declared_input(a) or default

    return template


def channels_first(a: Args) -> bool:
    """data_format='channels_first' (Keras's default is channels_last)."""
    return a.str("data_format") == "channels_first"


def layer_name(c: RuleCall) -> str:
    """The Keras name of the layer ('conv2d_1'), else its class name."""
    name = c.args.get(NAME_KEY)
    return name if isinstance(name, str) else c.layer_name or "layer"


def cls_name(c: RuleCall) -> str:
    """The layer's class name for messages ('Conv2D'); the recorder prefixes the Keras name."""
    return c.layer_name or "layer"


def out(x: Tensor, shape: Shape | None, dtype: str | None = None) -> Tensor:
    """A Keras layer's output: float inputs compute in float32 (Keras autocasts NumPy data)."""
    d = dtype or ("float32" if x.dtype in (None, "float16", "float64", "float32") else x.dtype)
    return Tensor(shape, d, False, x.trace)


def build(c: RuleCall, x: Tensor, axes: tuple[int, ...]) -> None:
    """Remember the input sizes on `axes` at the first call; a later call must agree.

    Only concrete sizes are remembered; a symbolic or unknown size never proves a mismatch.
    """
    if x.shape is None:
        return
    rank = len(x.shape)
    values = c.args.values
    state = values.get(BUILD_KEY)
    if isinstance(state, dict) and state.get("rank") == rank:
        for ax in axes:
            want = state.get(ax)
            got = x.shape[ax]
            if isinstance(want, int) and isinstance(got, int) and want != got:
                c.fail(
                    "SH116",
                    f"Input 0 of layer '{layer_name(c)}' is incompatible with the layer: "
                    f"expected axis {ax} of input shape to have value {want}, but received "
                    f"input with shape {fmt_shape(x.shape)} (the layer was built by an earlier "
                    "call with another input: shared layers need inputs of the same shape)",
                )
        for ax in axes:
            if not isinstance(state.get(ax), int) and isinstance(x.shape[ax], int):
                state[ax] = x.shape[ax]
        return
    new: dict[object, object] = {"rank": rank, "shape": x.shape}
    for ax in axes:
        new[ax] = x.shape[ax]
    values[BUILD_KEY] = new


def built_dim(a: Args, axis: int) -> Dim:
    """The input size along `axis` learnt at build time (UNKNOWN before the first call)."""
    state = a.get(BUILD_KEY)
    if not isinstance(state, dict):
        return UNKNOWN
    v = state.get(axis)
    return v if isinstance(v, int | S.Expr) else UNKNOWN


def known(n: Dim) -> Dim | None:
    """n when it is a concrete count, else None (parameter counts)."""
    return n if isinstance(n, int) else None


def positive(c: RuleCall, out_dim: Dim, axis: str, size: Dim, detail: str) -> None:
    """Keras: "Computed output size would be zero or negative" (SH104)."""
    if isinstance(out_dim, int) and out_dim < 1:
        c.fail(
            "SH104",
            f"computed output size would be zero or negative "
            f"({axis}: {fmt(size)} → {out_dim}; {detail})",
        )
