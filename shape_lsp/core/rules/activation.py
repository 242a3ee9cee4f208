"""Elementwise activations, dropout, softmax and friends: nn layers, `F.` and torch functions."""

from __future__ import annotations

from shape_lsp.core.rules.base import (
    Args,
    FixHint,
    RuleCall,
    ShapeError,
    bad,
    dtype_of,
    fmt,
    fmt_shape,
    function,
    layer,
    norm_dim,
    ok,
    unknown_like,
)
from shape_lsp.core.values import shapes as S
from shape_lsp.core.values.abstract import Tensor, Value

FLOAT_DTYPES = ("float16", "bfloat16", "float32", "float64", "complex64", "complex128")


def to_float(x: Tensor) -> Tensor:
    """Ops like exp/sigmoid turn integer tensors into float32 (torch's default dtype)."""
    if x.dtype is None or x.dtype in FLOAT_DTYPES:
        return x
    return x.with_dtype("float32")


def same_shape(x: Tensor | None, what: str, floating: bool = False) -> Value:
    """The output of an elementwise op: x's shape (and dtype, float when `floating`)."""
    if x is None or x.shape is None:
        return unknown_like(x)
    y = x.with_shape(x.shape, what)
    return to_float(y) if floating else y


# name -> (nn signature, F name, F signature after input, torch name or "", float output)
ACTIVATIONS: dict[str, tuple[str, str, str, bool]] = {
    "ReLU": ("inplace=False", "relu", "inplace=False", False),
    "ReLU6": ("inplace=False", "relu6", "inplace=False", False),
    "LeakyReLU": (
        "negative_slope=0.01, inplace=False",
        "leaky_relu",
        "negative_slope=0.01, inplace=False",
        False,
    ),
    "RReLU": (
        "lower=0.125, upper=0.3333333333333333, inplace=False",
        "rrelu",
        "lower=0.125, upper=0.3333333333333333, training=False, inplace=False",
        True,
    ),
    "ELU": ("alpha=1.0, inplace=False", "elu", "alpha=1.0, inplace=False", True),
    "SELU": ("inplace=False", "selu", "inplace=False", True),
    "CELU": ("alpha=1.0, inplace=False", "celu", "alpha=1.0, inplace=False", True),
    "GELU": ("approximate='none'", "gelu", "approximate='none'", True),
    "SiLU": ("inplace=False", "silu", "inplace=False", True),
    "Mish": ("inplace=False", "mish", "inplace=False", True),
    "Sigmoid": ("", "sigmoid", "", True),
    "Tanh": ("", "tanh", "", True),
    "Hardtanh": (
        "min_val=-1.0, max_val=1.0, inplace=False, min_value=None, max_value=None",
        "hardtanh",
        "min_val=-1.0, max_val=1.0, inplace=False",
        False,
    ),
    "Hardswish": ("inplace=False", "hardswish", "inplace=False", True),
    "Hardsigmoid": ("inplace=False", "hardsigmoid", "inplace=False", True),
    "Hardshrink": ("lambd=0.5", "hardshrink", "lambd=0.5", True),
    "Softshrink": ("lambd=0.5", "softshrink", "lambd=0.5", True),
    "Softplus": ("beta=1.0, threshold=20.0", "softplus", "beta=1.0, threshold=20.0", True),
    "Softsign": ("", "softsign", "", True),
    "Tanhshrink": ("", "tanhshrink", "", True),
    "Threshold": (
        "threshold, value, inplace=False",
        "threshold",
        "threshold, value, inplace=False",
        False,
    ),
    "LogSigmoid": ("", "logsigmoid", "", True),
}

TORCH_UNARY_FLOAT = [
    "sigmoid",
    "exp",
    "exp2",
    "expm1",
    "log",
    "log2",
    "log10",
    "log1p",
    "sqrt",
    "rsqrt",
    "sin",
    "cos",
    "tan",
    "asin",
    "acos",
    "atan",
    "sinh",
    "cosh",
    "tanh",
    "asinh",
    "acosh",
    "atanh",
    "erf",
    "erfc",
    "erfinv",
    "reciprocal",
    "lgamma",
    "digamma",
]
TORCH_UNARY_SAME = [
    "abs",
    "neg",
    "negative",
    "floor",
    "ceil",
    "round",
    "trunc",
    "frac",
    "sign",
    "square",
    "positive",
    "logical_not",
    "bitwise_not",
    "sgn",
]


def _unary_register() -> None:
    for cls, (nn_sig, fname, f_sig, floating) in ACTIVATIONS.items():
        layer(
            f"torch.nn.{cls}",
            sig=nn_sig,
            params=lambda a: 0,
            examples=[
                ok(
                    f"nn.{cls}()" if "threshold," not in nn_sig else f"nn.{cls}(0.1, 20.0)",
                    (2, 3, 4),
                )
            ],
        )(lambda c, cls=cls, floating=floating: same_shape(c.tensor(), cls, floating))  # type: ignore[misc]
        names = [f"torch.nn.functional.{fname}", f"torch.nn.functional.{fname}_"]
        if fname in ("relu", "selu", "celu", "rrelu", "threshold"):
            names += [f"torch.{fname}", f"torch.{fname}_"]
        if fname == "relu":
            names += ["torch.Tensor.relu", "torch.Tensor.relu_"]
        function(*names, sig="input" + (", " + f_sig if f_sig else ""))(
            lambda c, cls=cls, floating=floating: same_shape(c.args.tensor("input"), cls, floating)  # type: ignore[misc]
        )
    for name in TORCH_UNARY_FLOAT + TORCH_UNARY_SAME:
        floating = name in TORCH_UNARY_FLOAT
        names = [f"torch.{name}", f"torch.Tensor.{name}", f"torch.Tensor.{name}_"]
        if name in ("sigmoid", "tanh"):
            names.append(f"torch.nn.functional.{name}")
        function(*names, sig="input")(
            lambda c, name=name, floating=floating: same_shape(  # type: ignore[misc]
                c.args.tensor("input"), name, floating
            )
        )


_unary_register()


@function(
    "torch.clamp",
    "torch.clip",
    "torch.Tensor.clamp",
    "torch.Tensor.clip",
    "torch.Tensor.clamp_",
    "torch.Tensor.clip_",
    sig="input, min=None, max=None",
)
def clamp(c: RuleCall) -> Value:
    """Keeps the shape (tensor bounds broadcast; handled loosely)."""
    return same_shape(c.args.tensor("input"), "clamp")


@function("torch.nn.functional.normalize", sig="input, p=2.0, dim=1, eps=1e-12, out=None")
def normalize(c: RuleCall) -> Value:
    """Lp-normalize along dim: the dim must exist."""
    x = c.args.tensor("input")
    if x is not None and x.shape is not None:
        norm_dim(c, c.args.get("dim"), len(x.shape))
    return same_shape(x, "normalize", True)


# ------------------------------------------------------------------------------ PReLU, GLU


def prelu_apply(c: RuleCall, x: Tensor | None, n_params: Value) -> Value:
    """num_parameters must be 1 or the channel count (dim 1; 1 for inputs below 2D)."""
    if x is None or x.shape is None:
        return unknown_like(x)
    channels = x.shape[1] if len(x.shape) >= 2 else 1
    if isinstance(n_params, int) and n_params != 1 and S.eq(channels, n_params) is False:
        c.fail(
            "SH112",
            f"PReLU(num_parameters={n_params}) gets {fmt_shape(x.shape)} with "
            f"{fmt(channels)} channels",
            FixHint("set_arg", "num_parameters", channels),
        )
    return x.with_shape(x.shape, "PReLU")


@layer(
    "torch.nn.PReLU",
    sig="num_parameters=1, init=0.25, device=None, dtype=None",
    params=lambda a: a.int("num_parameters"),
    has_weights=True,
    examples=[
        ok("nn.PReLU()", (2, 3, 5)),
        ok("nn.PReLU(3)", (2, 3, 5)),
        ok("nn.PReLU(4)", (2, 4)),
        bad("nn.PReLU(3)", (2, 4, 5), "SH112"),
        bad("nn.PReLU(3)", (3,), "SH112"),
    ],
)
def prelu(c: RuleCall) -> Value:
    """Elementwise with a learned slope per channel."""
    return prelu_apply(c, c.tensor(), c.args.get("num_parameters"))


@function("torch.nn.functional.prelu", "torch.prelu", sig="input, weight")
def f_prelu(c: RuleCall) -> Value:
    """F.prelu(input, weight)."""
    w = c.args.tensor("weight")
    n = w.shape[0] if w is not None and w.shape and isinstance(w.shape[0], int) else None
    return prelu_apply(c, c.args.tensor("input"), n)


def glu_apply(c: RuleCall, x: Tensor | None, dim: Value) -> Value:
    """Halves dim, which must be even."""
    if x is None or x.shape is None:
        return unknown_like(x)
    if not x.shape:
        c.fail("SH109", "GLU does not accept a 0D tensor")
    d = norm_dim(c, dim, len(x.shape))
    if d is None:
        return unknown_like(x)
    size = x.shape[d]
    if isinstance(size, int) and size % 2:
        c.fail("SH112", f"GLU: dimension {d} has odd size {size}; it must be even to halve")
    out = list(x.shape)
    out[d] = S.floordiv(size, 2)
    return x.with_shape(tuple(out), "GLU")


@layer(
    "torch.nn.GLU",
    sig="dim=-1",
    params=lambda a: 0,
    examples=[
        ok("nn.GLU()", (4, 6)),
        ok("nn.GLU(dim=1)", (2, 8, 3)),
        bad("nn.GLU()", (4, 5), "SH112"),
        bad("nn.GLU(dim=2)", (4, 6), "SH111"),
    ],
)
def glu(c: RuleCall) -> Value:
    """Gated linear unit."""
    return glu_apply(c, c.tensor(), c.args.get("dim"))


@function("torch.nn.functional.glu", sig="input, dim=-1")
def f_glu(c: RuleCall) -> Value:
    """F.glu."""
    return glu_apply(c, c.args.tensor("input"), c.args.get("dim"))


# ------------------------------------------------------------------------------ softmax


def softmax_apply(c: RuleCall, x: Tensor | None, dim: Value, what: str) -> Value:
    """Keeps the shape; dim must be in range (None: torch's legacy choice, 0 for 0/1/3D)."""
    if x is None or x.shape is None:
        return unknown_like(x)
    rank = len(x.shape)
    if dim is None:
        dim = 0 if rank in (0, 1, 3) else 1
    norm_dim(c, dim, rank)
    y = x.with_shape(x.shape, what)
    dt = dtype_of(c.args.get("dtype")) if c.args.get("dtype") is not None else None
    return y.with_dtype(dt) if dt else to_float(y)


for _cls, _fn in (("Softmax", "softmax"), ("LogSoftmax", "log_softmax"), ("Softmin", "softmin")):
    layer(
        f"torch.nn.{_cls}",
        sig="dim=None",
        params=lambda a: 0,
        examples=[
            ok(f"nn.{_cls}(dim=1)", (2, 10)),
            ok(f"nn.{_cls}(-1)", (2, 3, 10)),
            ok(f"nn.{_cls}()", (2, 3, 10)),
            bad(f"nn.{_cls}(dim=2)", (2, 10), "SH111"),
        ],
    )(lambda c, cls=_cls: softmax_apply(c, c.tensor(), c.args.get("dim"), cls))  # type: ignore[misc]
    function(
        f"torch.nn.functional.{_fn}",
        sig="input, dim=None, _stacklevel=3, dtype=None",
    )(lambda c, fn=_fn: softmax_apply(c, c.args.tensor("input"), c.args.get("dim"), fn))  # type: ignore[misc]
    if _fn != "softmin":
        function(f"torch.{_fn}", f"torch.Tensor.{_fn}", sig="input, dim, dtype=None")(
            lambda c, fn=_fn: softmax_apply(c, c.args.tensor("input"), c.args.get("dim"), fn)  # type: ignore[misc]
        )


@layer(
    "torch.nn.Softmax2d",
    sig="",
    params=lambda a: 0,
    examples=[ok("nn.Softmax2d()", (2, 3, 4, 4)), bad("nn.Softmax2d()", (4, 5), "SH109")],
)
def softmax2d(c: RuleCall) -> Value:
    """Softmax over channels of a 3D or 4D input."""
    x = c.tensor()
    if x is None or x.shape is None:
        return unknown_like(x)
    c.expect_rank(x, (3, 4), "Softmax2d")
    return to_float(x.with_shape(x.shape, "Softmax2d"))


# ------------------------------------------------------------------------------ dropout


def _validate_p(a: Args) -> None:
    p = a.float("p")
    if p is not None and not 0 <= p <= 1:
        raise ShapeError(
            "SH112",
            f"dropout probability has to be between 0 and 1, got {p}",
            at_constructor=True,
        )


def dropout_apply(c: RuleCall, x: Tensor | None, what: str, ranks: tuple[int, ...]) -> Value:
    """Dropout keeps the shape; Dropout1d insists on 2D or 3D."""
    if x is None or x.shape is None:
        return unknown_like(x)
    if ranks:
        c.expect_rank(x, ranks, what)
    return x.with_shape(x.shape, what)


_DROPOUTS = {
    "Dropout": ("dropout", "training=True", ()),
    "Dropout1d": ("dropout1d", "training=True", (2, 3)),
    "Dropout2d": ("dropout2d", "training=True", ()),
    "Dropout3d": ("dropout3d", "training=True", ()),
    "AlphaDropout": ("alpha_dropout", "training=False", ()),
    "FeatureAlphaDropout": ("feature_alpha_dropout", "training=False", ()),
}

for _cls, (_fn, _train, _ranks) in _DROPOUTS.items():
    _ex = [
        ok(f"nn.{_cls}()", (2, 3, 4, 5)[: max(_ranks or (4,))]),
        ok(f"nn.{_cls}(0.2, inplace=False)", (2, 3, 4)),
        bad(f"nn.{_cls}(1.5)", (2, 3, 4), "SH112"),
    ]
    if _ranks:
        _ex.append(bad(f"nn.{_cls}()", (2, 3, 4, 5), "SH109"))
    layer(
        f"torch.nn.{_cls}",
        sig="p=0.5, inplace=False",
        params=lambda a: 0,
        validate=_validate_p,
        examples=_ex,
    )(lambda c, cls=_cls, ranks=_ranks: dropout_apply(c, c.tensor(), cls, ranks))  # type: ignore[misc]

    def _f(c: RuleCall, fn: str = _fn, ranks: tuple[int, ...] = _ranks) -> Value:
        _validate_p(c.args)
        return dropout_apply(c, c.args.tensor("input"), fn, ranks)

    function(
        f"torch.nn.functional.{_fn}",
        *((f"torch.{_fn}",) if _fn in ("dropout", "alpha_dropout") else ()),
        sig=f"input, p=0.5, {_train}, inplace=False",
    )(_f)
