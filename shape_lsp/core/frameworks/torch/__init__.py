"""PyTorch for the interpreter: `nn.Module` subclasses, its containers, `nn.Parameter`, where
tensor methods and operators find their rules. The layer and function rules themselves are the
declarative ones under `core/rules/`; nothing here imports torch."""

from __future__ import annotations

from shape_lsp.core.interpreter.evaluate import truth
from shape_lsp.core.interpreter.extensions import EXTENSIONS
from shape_lsp.core.interpreter.frame import Unreachable
from shape_lsp.core.interpreter.objects import Parameter
from shape_lsp.core.values.abstract import Tensor, Value

OPERATORS = {
    "+": "torch.add",
    "-": "torch.sub",
    "*": "torch.mul",
    "/": "torch.div",
    "//": "torch.floor_divide",
    "**": "torch.pow",
    "@": "torch.matmul",
    "%": "torch.remainder",
}


def _parameter(interp: object, args: list[Value], kwargs: dict[str, Value], *_: object) -> Value:
    """`nn.Parameter(t)` holds the tensor (its shape is the parameter's)."""
    if args and isinstance(args[0], Tensor):
        return Parameter(args[0])
    return NotImplemented


def _assert(interp: object, args: list[Value], kwargs: dict[str, Value], *_: object) -> Value:
    """`torch._assert(cond, msg)`: a condition that is provably false ends the run there."""
    cond = args[0] if args else kwargs.get("condition")
    if truth(cond) is False:
        raise Unreachable
    return None


def register() -> None:
    """Install what torch adds (idempotent)."""
    ext = EXTENSIONS
    ext.register_framework("torch")
    ext.register_library("torch.")
    ext.register_layer_namespace("torch.nn", "timm.layers", "torchvision.ops")
    ext.register_module_base("torch.nn.Module", "torch")
    for kind in ("Sequential", "ModuleList", "ModuleDict"):
        ext.register_container(f"torch.nn.{kind}", kind, "torch")
    ext.mutable_containers.add("torch")
    ext.forward_methods["torch"] = "forward"
    ext.register_call("torch.nn.Parameter", _parameter)
    ext.register_call("torch._assert", _assert)
    ext.register_tensors("torch.Tensor", "numpy.ndarray", "torch", OPERATORS)
