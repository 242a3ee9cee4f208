"""The rule interface: one small declarative entry per layer or op.

A layer entry names the qualified layer, its constructor signature (as torch writes it), how an
input shape maps to the output shape, optionally its parameter count, the input it implies
when it is a model's first layer, and a few examples that the test suite runs against torch.

    @layer("torch.nn.Linear", sig="in_features, out_features, bias=True, device=None, dtype=None",
           params=lambda a: ..., template=lambda a: ...,
           examples=[ok("nn.Linear(20, 30)", (4, 20)), bad("nn.Linear(20, 30)", (4, 21), "SH101")])
    def linear(c: RuleCall) -> Value:
        x = c.tensor()
        ...

Function entries (`torch.cat`, `torch.Tensor.view`, `torch.nn.functional.relu`) get all call
arguments bound to their signature; a tensor method receives the tensor as its first argument.
"""

from __future__ import annotations

import ast
import builtins
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, NoReturn

if TYPE_CHECKING:
    import libcst as cst

    from shape_lsp.core.results import Span
    from shape_lsp.core.source.parse import Chunk

from shape_lsp.core.values import shapes as S
from shape_lsp.core.values.abstract import Tensor, Value, as_dim
from shape_lsp.core.values.shapes import UNKNOWN, Dim, Shape


class _Required:
    def __repr__(self) -> str:
        return "<required>"


REQUIRED = _Required()


@dataclass(frozen=True)
class Param:
    """One signature parameter; `star` is "" / "*" (varargs) / "**" (varkw); kw_only after *."""

    name: str
    default: Value = REQUIRED
    star: str = ""
    kw_only: bool = False


def parse_signature(sig: str) -> tuple[Param, ...]:
    """Parse "a, b=1, *shape, c=None" into Params (defaults are Python literals)."""
    if not sig.strip():
        return ()
    fn = ast.parse(f"def f({sig}): pass").body[0]
    assert isinstance(fn, ast.FunctionDef)
    a = fn.args
    out: list[Param] = []
    positional = a.posonlyargs + a.args
    n_def = len(a.defaults)
    for i, arg in enumerate(positional):
        j = i - (len(positional) - n_def)
        default = ast.literal_eval(a.defaults[j]) if j >= 0 else REQUIRED
        out.append(Param(arg.arg, default))
    if a.vararg:
        out.append(Param(a.vararg.arg, star="*"))
    for arg, d in zip(a.kwonlyargs, a.kw_defaults, strict=True):
        out.append(Param(arg.arg, REQUIRED if d is None else ast.literal_eval(d), kw_only=True))
    if a.kwarg:
        out.append(Param(a.kwarg.arg, star="**"))
    return tuple(out)


class BindError(Exception):
    """Arguments do not fit the signature (too many, unknown keyword, missing)."""


def bind(
    params: tuple[Param, ...], args: Iterable[Value], kwargs: dict[str, Value]
) -> dict[str, Value]:
    """Bind call arguments to a signature like Python would; defaults fill the rest."""
    out: dict[str, Value] = {}
    pos = list(args)
    extra_kw = dict(kwargs)
    for p in params:
        if p.star == "*":
            out[p.name] = tuple(pos)
            pos = []
        elif p.star == "**":
            out[p.name] = extra_kw
            extra_kw = {}
        elif pos and not p.kw_only:
            if p.name in extra_kw:
                raise BindError(f"multiple values for argument '{p.name}'")
            out[p.name] = pos.pop(0)
        elif p.name in extra_kw:
            out[p.name] = extra_kw.pop(p.name)
        elif p.default is REQUIRED:
            raise BindError(f"missing required argument '{p.name}'")
        else:
            out[p.name] = p.default
    if pos:
        raise BindError(f"takes at most {len(params)} positional arguments")
    if extra_kw:
        raise BindError(f"unexpected keyword argument '{next(iter(extra_kw))}'")
    return out


class Args:
    """Bound arguments with typed accessors that answer None / UNKNOWN when not static."""

    def __init__(self, values: dict[str, Value]) -> None:
        self.values = values

    def __contains__(self, name: builtins.str) -> builtins.bool:
        return name in self.values

    def get(self, name: builtins.str, default: Value = None) -> Value:
        """The raw value."""
        return self.values.get(name, default)

    def known(self, name: builtins.str) -> builtins.bool:
        """Whether the value is fully static (no UNKNOWN anywhere inside)."""
        return _is_static(self.values.get(name))

    def dim(self, name: builtins.str) -> Dim:
        """An int or symbolic size, else UNKNOWN."""
        return as_dim(self.values.get(name))

    def int(self, name: builtins.str) -> builtins.int | None:
        """A concrete int, else None."""
        v = self.values.get(name)
        return v if isinstance(v, int) and not isinstance(v, bool) else None

    def float(self, name: builtins.str) -> builtins.float | None:
        """A concrete number, else None."""
        v = self.values.get(name)
        return float(v) if isinstance(v, int | float) and not isinstance(v, bool) else None

    def str(self, name: builtins.str) -> builtins.str | None:
        """A concrete string, else None."""
        v = self.values.get(name)
        return v if isinstance(v, str) else None

    def bool(self, name: builtins.str) -> builtins.bool | None:
        """A concrete truth value, else None."""
        v = self.values.get(name)
        if isinstance(v, bool):
            return v
        if isinstance(v, int):
            return bool(v)
        return None

    def tuple(self, name: builtins.str, n: builtins.int) -> builtins.tuple[Dim, ...] | None:
        """An int broadcast to n entries, or an n-tuple of sizes; None otherwise."""
        v = self.values.get(name)
        if isinstance(v, list):
            v = tuple(v)
        if isinstance(v, tuple):
            if len(v) == 1 and n > 1:
                v = v * n
            if len(v) != n:
                return None
            return tuple(as_dim(e) for e in v)
        d = as_dim(v)
        if d is UNKNOWN:
            return None
        return (d,) * n

    def ints(self, name: builtins.str) -> builtins.tuple[builtins.int, ...] | None:
        """A tuple / list / single int of concrete ints, else None."""
        v = self.values.get(name)
        if isinstance(v, int) and not isinstance(v, bool):
            return (v,)
        if isinstance(v, tuple | list) and all(
            isinstance(e, int) and not isinstance(e, bool) for e in v
        ):
            return tuple(v)
        return None

    def tensor(self, name: builtins.str) -> Tensor | None:
        """A tensor argument, else None."""
        v = self.values.get(name)
        return v if isinstance(v, Tensor) else None


def _is_static(v: Value) -> bool:
    if isinstance(v, tuple | list):
        return all(_is_static(e) for e in v)
    return not isinstance(v, S.Unknown | S.Expr | Tensor)


@dataclass(frozen=True)
class FixHint:
    """What would fix a finding; the interpreter turns it into source edits.

    kind: "set_arg" (arg -> value, e.g. in_features), "insert_flatten", "set_padding".
    """

    kind: str
    arg: str = ""
    value: Value = None


class ShapeError(Exception):
    """Raised by a rule when torch would raise: the interpreter makes it a finding."""

    def __init__(
        self, code: str, message: str, fix: FixHint | None = None, at_constructor: bool = False
    ) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.fix = fix
        self.at_constructor = at_constructor


@dataclass
class RuleCall:
    """What a rule sees: bound arguments, the tensors passed in, and a place for notes."""

    args: Args
    inputs: tuple[Value, ...] = ()
    kwinputs: dict[str, Value] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    layer_name: str = ""
    warnings: list[tuple[str, str]] = field(default_factory=list)

    def fail(self, code: str, message: str, fix: FixHint | None = None) -> NoReturn:
        """Report what torch would raise here."""
        raise ShapeError(code, message, fix)

    def warn(self, code: str, message: str) -> None:
        """Report a non-fatal finding (e.g. a stride that drops rows); shapes go on."""
        self.warnings.append((code, message))

    def note(self, text: str) -> None:
        """A formula line for hover, e.g. `H_out = (32 + 2*1 - 3)/1 + 1 = 32`."""
        self.notes.append(text)

    def tensor(self, i: int = 0) -> Tensor | None:
        """Forward input i when it is a tensor."""
        if i < len(self.inputs) and isinstance(self.inputs[i], Tensor):
            return self.inputs[i]  # type: ignore[no-any-return]
        return None

    def expect_rank(self, x: Tensor, ranks: Iterable[int], what: str) -> None:
        """Fail with SH109 when x's rank is known and not one of `ranks`."""
        allowed = tuple(ranks)
        if x.shape is not None and len(x.shape) not in allowed:
            want = " or ".join(f"{r}D" for r in allowed)
            self.fail(
                "SH109",
                f"{what} expects a {want} input, got {len(x.shape)}D {S.render_shape(x.shape)}",
            )


LayerForward = Callable[[RuleCall], Value]
ParamCount = Callable[[Args], Dim | None]
InputTemplate = Callable[[Args], Shape | None]
Validate = Callable[[Args], None]


@dataclass(frozen=True)
class Example:
    """A test case run against torch: construct `ctor`, feed `inputs`, expect ok or `code`."""

    ctor: str
    inputs: tuple[tuple[int, ...], ...]
    code: str | None = None
    dtype: str = "float32"


def ok(ctor: str, *inputs: tuple[int, ...], dtype: str = "float32") -> Example:
    """An example torch runs; the rule must give the same output shape."""
    return Example(ctor, tuple(inputs), None, dtype)


def bad(ctor: str, *inputs_and_code: object) -> Example:
    """An example torch rejects; the rule must report `code` (the last argument)."""
    *inputs, code = inputs_and_code
    assert isinstance(code, str)
    return Example(ctor, tuple(inputs), code)  # type: ignore[arg-type]


@dataclass(frozen=True)
class LayerRule:
    """A library layer: signature, forward shape function, parameter count, input template."""

    names: tuple[str, ...]
    signature: tuple[Param, ...]
    forward: LayerForward
    params: ParamCount | None = None
    template: InputTemplate | None = None
    validate: Validate | None = None
    has_weights: bool = False
    family: str = ""
    examples: tuple[Example, ...] = ()
    framework: str = "torch"


@dataclass(eq=False)
class LayerValue:
    """A constructed library layer (nn.Conv2d(...), keras Dense(...)) with bound arguments."""

    rule: LayerRule
    args: dict[str, Value]
    span: Span | None
    path: str = ""
    dtype: str = "float32"
    node: cst.CSTNode | None = None
    chunk: Chunk | None = None

    @property
    def type_name(self) -> str:
        """Short class name, e.g. `Conv2d`."""
        return self.rule.names[0].rsplit(".", 1)[-1]


@dataclass(frozen=True)
class FunctionRule:
    """A function or tensor method; every call argument is bound to `signature`."""

    names: tuple[str, ...]
    signature: tuple[Param, ...]
    apply: LayerForward
    family: str = ""
    examples: tuple[Example, ...] = ()


LAYERS: dict[str, LayerRule] = {}
FUNCTIONS: dict[str, FunctionRule] = {}


def layer(
    *names: str,
    sig: str,
    params: ParamCount | None = None,
    template: InputTemplate | None = None,
    validate: Validate | None = None,
    has_weights: bool = False,
    family: str = "",
    examples: Iterable[Example] = (),
    framework: str = "torch",
) -> Callable[[LayerForward], LayerForward]:
    """Register a layer rule under one or more qualified names."""

    def deco(fn: LayerForward) -> LayerForward:
        rule = LayerRule(
            names=tuple(names),
            signature=parse_signature(sig),
            forward=fn,
            params=params,
            template=template,
            validate=validate,
            has_weights=has_weights,
            family=family or fn.__module__.rsplit(".", 1)[-1],
            examples=tuple(examples),
            framework=framework,
        )
        for n in names:
            LAYERS[n] = rule
        return fn

    return deco


def function(
    *names: str, sig: str, family: str = "", examples: Iterable[Example] = ()
) -> Callable[[LayerForward], LayerForward]:
    """Register a function / tensor-method rule under one or more qualified names."""

    def deco(fn: LayerForward) -> LayerForward:
        rule = FunctionRule(
            names=tuple(names),
            signature=parse_signature(sig),
            apply=fn,
            family=family or fn.__module__.rsplit(".", 1)[-1],
            examples=tuple(examples),
        )
        for n in names:
            FUNCTIONS[n] = rule
        return fn

    return deco


# ---------------------------------------------------------------- helpers for rule authors


def norm_dim(c: RuleCall, dim: Value, rank: int, what: str = "dim") -> int | None:
    """A dim argument normalized to 0..rank-1; SH111 when out of range; None when not static."""
    if not isinstance(dim, int) or isinstance(dim, bool):
        return None
    if not -rank <= dim < max(rank, 1):
        c.fail(
            "SH111",
            f"{what}={dim} is out of range for a {rank}D tensor "
            f"(expected {-rank}..{max(rank, 1) - 1})",
        )
    return dim % rank if rank else 0


DTYPE_ALIASES = {
    "float": "float32",
    "float32": "float32",
    "float64": "float64",
    "double": "float64",
    "half": "float16",
    "float16": "float16",
    "bfloat16": "bfloat16",
    "int": "int32",
    "int32": "int32",
    "int64": "int64",
    "long": "int64",
    "int16": "int16",
    "int8": "int8",
    "uint8": "uint8",
    "bool": "bool",
    "bool_": "bool",
    "short": "int16",
    "float_": "float64",
    "int_": "int64",
    "cfloat": "complex64",
    "complex64": "complex64",
    "complex128": "complex128",
}


def dtype_of(v: Value) -> str | None:
    """The dtype named by a value: Qual("torch.float64"), Qual("numpy.float32"), "float32"."""
    from shape_lsp.core.values.abstract import Qual

    name = v.name.rsplit(".", 1)[-1] if isinstance(v, Qual) else v if isinstance(v, str) else None
    if isinstance(v, Qual) and v.name in ("builtins.float", "builtins.int", "builtins.bool"):
        return {"float": "float64", "int": "int64", "bool": "bool"}[v.name[9:]]
    return DTYPE_ALIASES.get(name) if name else None


def unknown_like(x: Tensor | None) -> Tensor:
    """An unknown-shaped tensor keeping x's dtype."""
    return Tensor(None, x.dtype if x is not None else None)


def fmt(d: Dim) -> str:
    """Render a dim for messages."""
    return S.render(d)


def fmt_shape(shape: Shape | None) -> str:
    """Render a shape for messages."""
    return S.render_shape(shape)
