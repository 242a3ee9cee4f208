"""Run a rule on an example without the interpreter, and the same layer in torch."""

from __future__ import annotations

import ast
from dataclasses import dataclass

from shape_lsp.core.rules import FUNCTIONS, LAYERS
from shape_lsp.core.rules.base import Args, RuleCall, ShapeError, bind
from shape_lsp.core.shapes import Dim
from shape_lsp.core.values import Tensor

PREFIXES = {"nn": "torch.nn", "F": "torch.nn.functional", "torch": "torch"}


@dataclass
class Outcome:
    """What the engine said: an output shape (None: unknown), or an error code."""

    shape: tuple[Dim, ...] | None
    code: str | None
    warnings: tuple[str, ...] = ()


def _qualify(node: ast.expr) -> str:
    parts: list[str] = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    assert isinstance(node, ast.Name)
    parts.append(PREFIXES.get(node.id, node.id))
    return ".".join(reversed(parts))


def engine_layer(ctor: str, inputs: tuple[tuple[int, ...], ...], dtype: str = "float32") -> Outcome:
    """Construct the layer statically from `ctor` and apply it to tensors of `inputs` shapes."""
    call = ast.parse(ctor, mode="eval").body
    assert isinstance(call, ast.Call)
    rule = LAYERS[_qualify(call.func)]
    args = [ast.literal_eval(a) for a in call.args]
    kwargs = {k.arg: ast.literal_eval(k.value) for k in call.keywords if k.arg}
    bound = Args(bind(rule.signature, args, kwargs))
    tensors = tuple(Tensor(tuple(s), dtype) for s in inputs)
    rc = RuleCall(bound, tensors)
    try:
        if rule.validate:
            rule.validate(bound)
        out = rule.forward(rc)
    except ShapeError as e:
        return Outcome(None, e.code)
    warns = tuple(code for code, _ in rc.warnings)
    if isinstance(out, tuple):
        out = out[0]
    assert isinstance(out, Tensor)
    return Outcome(out.shape, None, warns)


def engine_function(
    qualname: str, args: list[object], kwargs: dict[str, object]
) -> Outcome:
    """Apply a function rule; tensors are given as Tensor values inside args."""
    rule = FUNCTIONS[qualname]
    rc = RuleCall(Args(bind(rule.signature, args, kwargs)))
    try:
        out = rule.apply(rc)
    except ShapeError as e:
        return Outcome(None, e.code)
    if isinstance(out, tuple):
        out = out[0]
    return Outcome(out.shape if isinstance(out, Tensor) else None, None)


def torch_layer(ctor: str, inputs: tuple[tuple[int, ...], ...], dtype: str = "float32") -> object:
    """Build the layer in torch and run it: the output shape tuple, or the exception raised."""
    import torch
    from torch import nn

    torch.manual_seed(0)
    try:
        mod = eval(ctor, {"nn": nn, "torch": torch})
        xs = [torch.randn(*s, dtype=getattr(torch, dtype)) for s in inputs]
        with torch.no_grad():
            out = mod(*xs)
    except (RuntimeError, ValueError, IndexError, TypeError) as e:
        return e
    if isinstance(out, tuple):
        out = out[0]
    return tuple(out.shape)
