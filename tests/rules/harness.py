"""Run a rule on an example without the interpreter, and the same layer in torch."""

from __future__ import annotations

import ast
from dataclasses import dataclass

from shape_lsp.core.rules import FUNCTIONS, LAYERS
from shape_lsp.core.rules.base import Args, RuleCall, ShapeError, bind
from shape_lsp.core.values.abstract import Tensor
from shape_lsp.core.values.shapes import Dim

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


def engine_function(qualname: str, args: list[object], kwargs: dict[str, object]) -> Outcome:
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


def torch_layer(
    ctor: str, inputs: tuple[tuple[int, ...], ...], dtype: str = "float32", training: bool = True
) -> object:
    """Build the layer in torch and run it: the output shape tuple, or the exception raised.
    A new module is in training mode; `training=False` runs it after `.eval()`."""
    import torch
    from torch import nn

    torch.manual_seed(0)
    try:
        mod = eval(ctor, {"nn": nn, "torch": torch})
        mod.train(training)
        xs = [torch.rand(s, dtype=getattr(torch, dtype)) for s in inputs]  # in [0, 1)
        with torch.no_grad():
            out = mod(*xs)
    except (RuntimeError, ValueError, IndexError, TypeError) as e:
        return e
    if isinstance(out, tuple):
        out = out[0]
    return tuple(out.shape)


# ----------------------------------------------------------------- function calls, both sides
#
# A call is written once as Python source, e.g. "T(2, 3), dim=1" or "[T(2, 3), T(2, 4)], 1",
# and evaluated twice: with T(...) building engine Tensors (and torch.X / np.X naming dtypes as
# Qual values), and with T(...) building real torch tensors (N(...): NumPy arrays).


class _QualShim:
    def __init__(self, prefix: str) -> None:
        self._prefix = prefix

    def __getattr__(self, name: str) -> object:
        from shape_lsp.core.values.abstract import Qual

        return Qual(f"{self._prefix}.{name}")


class Dims:
    """Which input dims become symbols, and the sizes the torch side uses for them.

    mode "none": all concrete; "all": every nonzero dim is a symbol; "first": only the dims of
    the first tensor written in the call (the others stay concrete, so symbols meet integers).
    Both sides evaluate the same call source, so the k-th symbol names the same input dim on
    each; `assign` gives the torch side other sizes for some symbols (the engine's symbolic
    result, with those values substituted, must still be torch's shape)."""

    def __init__(self, mode: str = "none", assign: dict[str, int] | None = None) -> None:
        assert mode in ("none", "all", "first")
        self.mode, self.assign = mode, dict(assign or {})
        self.values: dict[str, int] = {}
        self._tensors = 0

    def _names(self, shape: tuple[int, ...]) -> list[str | None]:
        on = self.mode == "all" or (self.mode == "first" and self._tensors == 0)
        self._tensors += 1
        out: list[str | None] = []
        for d in shape:
            if not on or d == 0:  # symbols stand for sizes >= 1
                out.append(None)
                continue
            name = f"s{len(self.values)}"
            self.values[name] = d
            out.append(name)
        return out

    def engine(self, shape: tuple[int, ...]) -> tuple[Dim, ...]:
        """The engine's dims for an input written with these sizes."""
        from shape_lsp.core.values.shapes import sym

        names = self._names(tuple(shape))
        return tuple(d if n is None else sym(n) for d, n in zip(shape, names, strict=True))

    def real(self, shape: tuple[int, ...]) -> tuple[int, ...]:
        """The sizes torch gets for the same input."""
        names = self._names(tuple(shape))
        return tuple(
            d if n is None else self.assign.get(n, d) for d, n in zip(shape, names, strict=True)
        )


def engine_env(
    symbolic: bool = False, dims: Dims | None = None
) -> tuple[dict[str, object], dict[str, int]]:
    """Names for evaluating a call's source on the engine side (symbolic: dims become symbols)."""
    from shape_lsp.core.values.abstract import Qual

    plan = dims if dims is not None else Dims("all" if symbolic else "none")

    def t(*shape: int, dtype: str = "float32") -> Tensor:
        return Tensor(plan.engine(shape), dtype)

    def n(*shape: int, dtype: str = "float64") -> Tensor:
        return Tensor(plan.engine(shape), dtype, numpy=True)

    env = {
        "T": t,
        "N": n,
        "torch": _QualShim("torch"),
        "np": _QualShim("numpy"),
        "float": Qual("builtins.float"),
        "int": Qual("builtins.int"),
        "bool": Qual("builtins.bool"),
    }
    return env, plan.values


def torch_env(dims: Dims | None = None) -> dict[str, object]:
    """Names for evaluating a call's source with real torch / NumPy (`dims`: other sizes)."""
    import numpy as np
    import torch

    torch.manual_seed(0)
    rng = np.random.default_rng(0)
    plan = dims if dims is not None else Dims()

    def t(*shape: int, dtype: str = "float32") -> object:
        shape = plan.real(shape)
        x = torch.rand(shape, dtype=torch.float64) + 0.5
        if dtype == "bool":
            return x > 1.0
        return x.to(getattr(torch, dtype))

    def n(*shape: int, dtype: str = "float64") -> object:
        return (rng.random(plan.real(shape)) + 0.5).astype(dtype)

    return {"T": t, "N": n, "torch": torch, "np": np}


def split_call(src: str, env: dict[str, object]) -> tuple[list[object], dict[str, object]]:
    """Evaluate "a, b, k=v" into positional and keyword arguments."""

    def grab(*args: object, **kwargs: object) -> tuple[list[object], dict[str, object]]:
        return list(args), kwargs

    return eval(f"grab({src})", {**env, "grab": grab})  # type: ignore[no-any-return]


def engine_call(
    qualname: str, src: str, symbolic: bool = False, dims: Dims | None = None
) -> tuple[object, dict[str, int]]:
    """The engine's answer for `qualname(src)`: a value, or the ShapeError's code as Outcome."""
    env, values = engine_env(symbolic, dims)
    args, kwargs = split_call(src, env)
    rule = FUNCTIONS[qualname]
    rc = RuleCall(Args(bind(rule.signature, args, kwargs)))
    try:
        return rule.apply(rc), values
    except ShapeError as e:
        return Outcome(None, e.code), values


def _torch_callable(qualname: str) -> object:
    import importlib

    import numpy as np
    import torch

    parts = qualname.split(".")
    if parts[:2] == ["torch", "Tensor"] or parts[:2] == ["numpy", "ndarray"]:
        owner = torch.Tensor if parts[0] == "torch" else np.ndarray
        attr = getattr(owner, parts[2])
        if callable(attr):
            return attr
        return lambda self: getattr(self, parts[2])
    mod_name = ".".join(parts[:-1])
    mod = importlib.import_module(mod_name)
    return getattr(mod, parts[-1])


def torch_call(qualname: str, src: str, dims: Dims | None = None) -> object:
    """Run the real function: its result, or the exception it raised."""
    env = torch_env(dims)
    fn = _torch_callable(qualname)
    try:
        args, kwargs = split_call(src, env)
        return fn(*args, **kwargs)  # type: ignore[operator]
    except (RuntimeError, ValueError, IndexError, TypeError) as e:
        return e


def describe_real(v: object) -> object:
    """A comparable description of a real result: ("T", shape, dtype, numpy) or plain values."""
    import numpy as np
    import torch

    if isinstance(v, torch.Tensor):
        return ("T", tuple(v.shape), str(v.dtype).removeprefix("torch."), False)
    if isinstance(v, np.ndarray):
        return ("T", tuple(v.shape), str(v.dtype), True)
    if isinstance(v, np.generic):
        return ("T", (), str(v.dtype), True)
    if isinstance(v, torch.Size):
        return tuple(v)
    if isinstance(v, tuple | list):
        if v and isinstance(v[0], torch.Tensor) and not isinstance(v, torch.Size):
            return describe_real(v[0])
        return tuple(describe_real(e) for e in v)
    return v


def describe_engine(v: object) -> object:
    """The engine's result in the same form as describe_real."""
    if isinstance(v, Tensor):
        return ("T", v.shape, v.dtype, v.numpy)
    if isinstance(v, tuple | list):
        if v and isinstance(v[0], Tensor):
            return describe_engine(v[0])
        return tuple(describe_engine(e) for e in v)
    return v
