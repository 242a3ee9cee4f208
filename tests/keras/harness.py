"""Build a Keras layer from a rule example's constructor text, statically and in Keras 3.

`layers.Conv2D(32, 3)` / `applications.ResNet50(...)` name `keras.layers.*` /
`keras.applications.*`; nested layer arguments (`Bidirectional(layers.LSTM(4))`) work.
"""

from __future__ import annotations

import ast
import os
from dataclasses import dataclass

from shape_lsp.core.rules import LAYERS
from shape_lsp.core.rules.base import Args, LayerValue, RuleCall, ShapeError, bind
from shape_lsp.core.values.abstract import Tensor
from shape_lsp.core.values.shapes import Dim

os.environ["KERAS_BACKEND"] = "torch"

PREFIXES = {"layers": "keras.layers", "applications": "keras.applications"}


@dataclass
class Outcome:
    """The engine's answer: output shape and parameter count, or an error code."""

    shape: tuple[Dim, ...] | None
    code: str | None
    params: object = None


def _qualify(node: ast.expr) -> str:
    parts: list[str] = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    assert isinstance(node, ast.Name)
    parts.append(PREFIXES.get(node.id, node.id))
    return ".".join(reversed(parts))


def _value(node: ast.expr) -> object:
    if isinstance(node, ast.Call):
        return _construct(node)
    return ast.literal_eval(node)


def _construct(call: ast.Call) -> LayerValue:
    rule = LAYERS[_qualify(call.func)]
    args = [_value(a) for a in call.args]
    kwargs = {k.arg: _value(k.value) for k in call.keywords if k.arg}
    return LayerValue(rule, bind(rule.signature, args, kwargs), None)


def engine(ctor: str, inputs: tuple[tuple[int, ...], ...], dtype: str = "float32") -> Outcome:
    """Apply the rule to tensors of the given shapes (one input, or a list for merge layers)."""
    call = ast.parse(ctor, mode="eval").body
    assert isinstance(call, ast.Call)
    lv = _construct(call)
    tensors = [Tensor(tuple(s), dtype) for s in inputs]
    arg: object = tensors[0] if len(tensors) == 1 else tensors
    rc = RuleCall(Args(lv.args), (arg,), layer_name=lv.type_name)
    try:
        if lv.rule.validate:
            lv.rule.validate(Args(lv.args))
        out = lv.rule.forward(rc)
    except ShapeError as e:
        return Outcome(None, e.code)
    if isinstance(out, tuple | list):
        out = out[0]
    assert isinstance(out, Tensor)
    params = lv.rule.params(Args(lv.args)) if lv.rule.params else None
    return Outcome(out.shape, None, params)


def keras_run(ctor: str, inputs: tuple[tuple[int, ...], ...], dtype: str = "float32") -> object:
    """Build the layer in Keras and call it: (shape, count_params), or the exception."""
    import keras

    try:
        layer = eval(ctor, {"layers": keras.layers, "applications": keras.applications})
        xs = [keras.ops.zeros(s, dtype=dtype) for s in inputs]
        out = layer(xs[0] if len(xs) == 1 else xs)
    except (ValueError, TypeError, RuntimeError, IndexError) as e:
        return e
    if isinstance(out, tuple | list):
        out = out[0]
    return tuple(out.shape), layer.count_params()
