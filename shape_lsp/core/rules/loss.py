"""Loss functions: input/target shape checks (nn.XLoss layers and their F. counterparts)."""

from __future__ import annotations

from shape_lsp.core import shapes as S
from shape_lsp.core.rules.base import (
    RuleCall,
    bad,
    fmt_shape,
    function,
    layer,
    ok,
    unknown_like,
)
from shape_lsp.core.values import Tensor, Value

_INTS = {"int64", "int32", "int16", "int8", "uint8"}


def _pair(c: RuleCall) -> tuple[Tensor | None, Tensor | None]:
    if c.inputs:
        return c.tensor(0), c.tensor(1)
    return c.args.tensor("input"), c.args.tensor("target")


def _reduce(c: RuleCall, x: Tensor, shape: S.Shape | None) -> Value:
    reduction = c.args.str("reduction")
    if reduction == "none":
        return x.with_shape(shape)
    if reduction in ("mean", "sum"):
        return x.with_shape(())
    return unknown_like(x)


def _elementwise(what: str, c: RuleCall) -> Value:
    """mse / l1 / smooth_l1 / huber: torch warns on a size difference and then broadcasts."""
    x, y = _pair(c)
    if x is None or y is None or x.shape is None or y.shape is None:
        return unknown_like(x)
    out, err = S.broadcast(x.shape, y.shape)
    if err is not None:
        c.fail(
            "SH117",
            f"{what}: input {fmt_shape(x.shape)} and target {fmt_shape(y.shape)} differ and do "
            "not broadcast (the model's output does not match the target it is trained on)",
        )
    return _reduce(c, x, out)


def _same_size(what: str, c: RuleCall) -> Value:
    """binary_cross_entropy(_with_logits): target must have exactly the input's size."""
    x, y = _pair(c)
    if x is None or y is None or x.shape is None or y.shape is None:
        return unknown_like(x)
    if S.shape_eq(x.shape, y.shape) is False:
        c.fail(
            "SH117",
            f"{what}: target size {fmt_shape(y.shape)} must be the same as input size "
            f"{fmt_shape(x.shape)}",
        )
    return _reduce(c, x, x.shape)


def _class_index(what: str, c: RuleCall) -> Value:
    """cross_entropy / nll_loss: class indices (N, d...) for logits (N, C, d...), or
    probabilities of the input's own shape."""
    x, y = _pair(c)
    if x is None or y is None or x.shape is None or y.shape is None:
        return unknown_like(x)
    if y.dtype in _INTS:
        if len(x.shape) == 1:
            want: S.Shape = ()
        elif len(x.shape) >= 2:
            want = (x.shape[0], *x.shape[2:])
        else:
            return unknown_like(x)
        if S.shape_eq(y.shape, want) is False:
            c.fail(
                "SH117",
                f"{what}: logits {fmt_shape(x.shape)} need class-index targets of shape "
                f"{fmt_shape(want)}, got {fmt_shape(y.shape)}",
            )
        return _reduce(c, x, want)
    if y.dtype in ("float32", "float64", "float16") and what == "cross_entropy":
        if S.shape_eq(x.shape, y.shape) is False:
            c.fail(
                "SH117",
                f"{what}: probability targets must have the input's shape "
                f"{fmt_shape(x.shape)}, got {fmt_shape(y.shape)}",
            )
        return _reduce(c, x, (x.shape[0], *x.shape[2:]) if len(x.shape) >= 2 else ())
    return unknown_like(x)


_LOSS_SIG = "size_average=None, reduce=None, reduction='mean'"
_F_SIG = "input, target, size_average=None, reduce=None, reduction='mean'"

for _name, _fn, _extra in (
    ("MSELoss", "mse_loss", ""),
    ("L1Loss", "l1_loss", ""),
    ("SmoothL1Loss", "smooth_l1_loss", ", beta=1.0"),
    ("HuberLoss", "huber_loss", ", delta=1.0"),
):
    def _make(fname: str) -> object:
        return lambda c: _elementwise(fname, c)

    _impl = _make(_fn)
    if _name == "HuberLoss":
        _lsig = "reduction='mean', delta=1.0"
        _fsig = "input, target, reduction='mean', delta=1.0, weight=None"
    else:
        _lsig = _LOSS_SIG + _extra
        _fsig = _F_SIG + _extra
    layer(
        f"torch.nn.{_name}",
        sig=_lsig,
        params=lambda a: 0,
        examples=[
            ok(f"nn.{_name}()", (4, 10), (4, 10)),
            ok(f"nn.{_name}(reduction='none')", (4, 1, 8, 8), (4, 1, 8, 8)),
            bad(f"nn.{_name}()", (4, 1, 78, 78), (4, 1, 128, 128), "SH117"),
        ],
    )(_impl)  # type: ignore[arg-type]
    function(f"torch.nn.functional.{_fn}", sig=_fsig)(_impl)  # type: ignore[arg-type]


def _bce(c: RuleCall) -> Value:
    return _same_size("binary_cross_entropy", c)


layer(
    "torch.nn.BCELoss",
    sig="weight=None, size_average=None, reduce=None, reduction='mean'",
    params=lambda a: 0,
    examples=[
        ok("nn.BCELoss()", (4, 1), (4, 1)),
        bad("nn.BCELoss()", (4, 1), (4,), "SH117"),
    ],
)(_bce)
layer(
    "torch.nn.BCEWithLogitsLoss",
    sig="weight=None, size_average=None, reduce=None, reduction='mean', pos_weight=None",
    params=lambda a: 0,
    examples=[
        ok("nn.BCEWithLogitsLoss()", (4, 3), (4, 3)),
        bad("nn.BCEWithLogitsLoss()", (4, 3), (4, 1), "SH117"),
    ],
)(_bce)
function(
    "torch.nn.functional.binary_cross_entropy",
    sig="input, target, weight=None, size_average=None, reduce=None, reduction='mean'",
)(_bce)
function(
    "torch.nn.functional.binary_cross_entropy_with_logits",
    sig="input, target, weight=None, size_average=None, reduce=None, reduction='mean', "
    "pos_weight=None",
)(_bce)


def _ce(c: RuleCall) -> Value:
    return _class_index("cross_entropy", c)


def _nll(c: RuleCall) -> Value:
    return _class_index("nll_loss", c)


layer(
    "torch.nn.CrossEntropyLoss",
    sig="weight=None, size_average=None, ignore_index=-100, reduce=None, reduction='mean', "
    "label_smoothing=0.0",
    params=lambda a: 0,
)(_ce)
layer(
    "torch.nn.NLLLoss",
    sig="weight=None, size_average=None, ignore_index=-100, reduce=None, reduction='mean'",
    params=lambda a: 0,
)(_nll)
function(
    "torch.nn.functional.cross_entropy",
    sig="input, target, weight=None, size_average=None, ignore_index=-100, reduce=None, "
    "reduction='mean', label_smoothing=0.0",
)(_ce)
function(
    "torch.nn.functional.nll_loss",
    sig="input, target, weight=None, size_average=None, ignore_index=-100, reduce=None, "
    "reduction='mean'",
)(_nll)
