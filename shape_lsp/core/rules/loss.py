"""Loss functions: input/target shape checks (nn.XLoss layers and their F. counterparts)."""

from __future__ import annotations

from shape_lsp.core.rules.base import (
    RuleCall,
    bad,
    fmt_shape,
    function,
    layer,
    ok,
    unknown_like,
)
from shape_lsp.core.values import shapes as S
from shape_lsp.core.values.abstract import Tensor, Value

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
    if y.dtype in ("int32", "int16", "int8") or (
        what == "nll_loss" and y.dtype in ("float16", "bfloat16", "float32", "float64")
    ):
        c.fail(
            "SH110",
            f"{what}: class-index targets must be int64 (Long) or uint8, got {y.dtype}; "
            "convert them with `.long()`",
        )
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


# ------------------------------------------------------------------------------ pairwise losses


def _kl_div(c: RuleCall) -> Value:
    """kl_div: input and target broadcast; 'batchmean' also gives a scalar."""
    x, y = _pair(c)
    if x is None or y is None or x.shape is None or y.shape is None:
        return unknown_like(x)
    out, err = S.broadcast(x.shape, y.shape)
    if err is not None:
        c.fail(
            "SH117",
            f"kl_div: input {fmt_shape(x.shape)} and target {fmt_shape(y.shape)} do not broadcast",
        )
    if c.args.str("reduction") == "batchmean":
        return x.with_shape(())
    return _reduce(c, x, out)


layer(
    "torch.nn.KLDivLoss",
    sig="size_average=None, reduce=None, reduction='mean', log_target=False",
    params=lambda a: 0,
    examples=[
        ok("nn.KLDivLoss(reduction='batchmean')", (4, 10), (4, 10)),
        ok("nn.KLDivLoss(reduction='none', log_target=True)", (4, 10), (10,)),
        bad("nn.KLDivLoss()", (4, 10), (4, 9), "SH117"),
    ],
)(_kl_div)
function(
    "torch.nn.functional.kl_div",
    sig="input, target, size_average=None, reduce=None, reduction='mean', log_target=False",
)(_kl_div)


def _three(c: RuleCall, names: tuple[str, str, str]) -> tuple[Tensor | None, ...]:
    if c.inputs:
        return tuple(c.tensor(i) for i in range(3))
    return tuple(c.args.tensor(n) for n in names)


def _cosine_embedding(c: RuleCall) -> Value:
    """input1/input2 (N, D) with target (N,), or (D,) with a 0-D target."""
    a, b, y = _three(c, ("input1", "input2", "target"))
    what = "cosine_embedding_loss"
    if a is None or b is None or a.shape is None or b.shape is None:
        return unknown_like(a)
    out, err = S.broadcast(a.shape, b.shape)
    if err is not None or out is None:
        c.fail(
            "SH117",
            f"{what}: input1 {fmt_shape(a.shape)} and input2 {fmt_shape(b.shape)} do not broadcast",
        )
    if y is None or y.shape is None:
        return unknown_like(a)
    if len(y.shape) > 1:
        c.fail("SH117", f"{what}: 0D or 1D target tensor expected, got {fmt_shape(y.shape)}")
    # torch checks each input's own rank, before any broadcasting
    if len(a.shape) != len(y.shape) + 1 or len(b.shape) != len(y.shape) + 1:
        c.fail(
            "SH117",
            f"{what}: a {len(y.shape)}D target {fmt_shape(y.shape)} expects "
            f"{len(y.shape) + 1}D inputs, got {fmt_shape(a.shape)} and {fmt_shape(b.shape)}",
        )
    per, err2 = S.broadcast(out[:-1], y.shape)
    if err2 is not None:
        c.fail(
            "SH117",
            f"{what}: inputs {fmt_shape(out)} and target {fmt_shape(y.shape)} "
            "disagree in the batch size",
        )
    return _reduce(c, a, per)


layer(
    "torch.nn.CosineEmbeddingLoss",
    sig="margin=0.0, size_average=None, reduce=None, reduction='mean'",
    params=lambda a: 0,
    examples=[
        ok("nn.CosineEmbeddingLoss()", (4, 5), (4, 5), (4,)),
        ok("nn.CosineEmbeddingLoss(reduction='none')", (4, 5), (4, 5), (4,)),
        bad("nn.CosineEmbeddingLoss()", (4, 5), (4, 6), (4,), "SH117"),
        bad("nn.CosineEmbeddingLoss()", (4, 5), (4, 5), (3,), "SH117"),
        bad("nn.CosineEmbeddingLoss()", (4, 5), (4, 5), (4, 1), "SH117"),
        bad("nn.CosineEmbeddingLoss()", (4, 5), (5,), (4,), "SH117"),
        bad("nn.CosineEmbeddingLoss()", (6,), (4, 6), (4,), "SH117"),
    ],
)(_cosine_embedding)
function(
    "torch.nn.functional.cosine_embedding_loss",
    sig="input1, input2, target, margin=0, size_average=None, reduce=None, reduction='mean'",
)(_cosine_embedding)


def _same_rank_broadcast(
    c: RuleCall, what: str, shapes: list[S.Shape], rank_message: str
) -> S.Shape:
    """Inputs that torch requires to share a rank and then broadcasts together."""
    if len({len(s) for s in shapes}) > 1:
        c.fail(
            "SH117",
            f"{what}: {rank_message}, got {', '.join(fmt_shape(s) for s in shapes)}",
        )
    out: S.Shape = shapes[0]
    for s in shapes[1:]:
        res, err = S.broadcast(out, s)
        if err is not None or res is None:
            c.fail(
                "SH117",
                f"{what}: shapes {', '.join(fmt_shape(s) for s in shapes)} do not broadcast",
            )
        out = res
    return out


def _margin_ranking(c: RuleCall) -> Value:
    """All three of the same rank; broadcast together."""
    ts = _three(c, ("input1", "input2", "target"))
    what = "margin_ranking_loss"
    if any(t is None or t.shape is None for t in ts):
        return unknown_like(ts[0])
    shapes = [t.shape for t in ts if t is not None and t.shape is not None]
    out = _same_rank_broadcast(
        c, what, shapes, "all input tensors should have the same number of dimensions"
    )
    first = ts[0]
    assert first is not None
    return _reduce(c, first, out)


layer(
    "torch.nn.MarginRankingLoss",
    sig="margin=0.0, size_average=None, reduce=None, reduction='mean'",
    params=lambda a: 0,
    examples=[
        ok("nn.MarginRankingLoss()", (4,), (4,), (4,)),
        ok("nn.MarginRankingLoss(0.1, reduction='none')", (4,), (1,), (4,)),
        bad("nn.MarginRankingLoss()", (4,), (3,), (4,), "SH117"),
        bad("nn.MarginRankingLoss()", (4, 1), (4,), (4,), "SH117"),
    ],
)(_margin_ranking)
function(
    "torch.nn.functional.margin_ranking_loss",
    sig="input1, input2, target, margin=0, size_average=None, reduce=None, reduction='mean'",
)(_margin_ranking)


def _pairwise(c: RuleCall, what: str, x: S.Shape, y: S.Shape, names: str) -> S.Shape:
    """pairwise_distance: x - y broadcast, then the norm over the last dim."""
    out, err = S.broadcast(x, y)
    if err is not None or out is None:
        c.fail(
            "SH117",
            f"{what}: {names} {fmt_shape(x)} and {fmt_shape(y)} do not broadcast",
        )
    return out[:-1] if out else ()


def _distances(c: RuleCall, what: str, x: S.Shape, y: S.Shape) -> S.Shape:
    """Distances computed pairwise broadcast together."""
    out, err = S.broadcast(x, y)
    if err is not None or out is None:
        c.fail(
            "SH117",
            f"{what}: the distances {fmt_shape(x)} and {fmt_shape(y)} do not broadcast",
        )
    return out


def _triplet(c: RuleCall) -> Value:
    """anchor/positive/negative of one rank; torch takes the distances anchor-positive and
    anchor-negative (and positive-negative with swap) over the last dim, then broadcasts them:
    positive and negative need not agree in the last dim unless swap is on."""
    ts = _three(c, ("anchor", "positive", "negative"))
    what = "triplet_margin_loss"
    if any(t is None or t.shape is None for t in ts):
        return unknown_like(ts[0])
    anc, pos, neg = (t.shape for t in ts if t is not None and t.shape is not None)
    if len({len(anc), len(pos), len(neg)}) > 1:
        c.fail(
            "SH117",
            f"{what}: anchor, positive and negative must have the same number of dimensions, "
            f"got {fmt_shape(anc)}, {fmt_shape(pos)}, {fmt_shape(neg)}",
        )
    d_pos = _pairwise(c, what, anc, pos, "anchor and positive")
    d_neg = _pairwise(c, what, anc, neg, "anchor and negative")
    # an unknown swap proves nothing more, and the shape is the same either way
    if c.args.bool("swap") is True:
        d_swap = _pairwise(c, what, pos, neg, "positive and negative (swap=True)")
        d_neg = _distances(c, what, d_neg, d_swap)
    out = _distances(c, what, d_pos, d_neg)
    first = ts[0]
    assert first is not None
    return _reduce(c, first, out)


layer(
    "torch.nn.TripletMarginLoss",
    sig="margin=1.0, p=2.0, eps=1e-06, swap=False, size_average=None, reduce=None, "
    "reduction='mean'",
    params=lambda a: 0,
    examples=[
        ok("nn.TripletMarginLoss()", (4, 5), (4, 5), (4, 5)),
        ok("nn.TripletMarginLoss(margin=0.5, swap=True, reduction='none')", (4, 5), (1, 5), (4, 5)),
        ok("nn.TripletMarginLoss(reduction='none')", (5,), (5,), (5,)),
        bad("nn.TripletMarginLoss()", (4, 5), (4, 5), (4, 6), "SH117"),
        bad("nn.TripletMarginLoss()", (4, 5), (4, 5), (5,), "SH117"),
        ok("nn.TripletMarginLoss()", (1, 1), (4, 5), (4, 6)),
        bad("nn.TripletMarginLoss(swap=True)", (1, 1), (4, 5), (4, 6), "SH117"),
        bad("nn.TripletMarginLoss()", (1, 5), (4, 5), (3, 5), "SH117"),
    ],
)(_triplet)
function(
    "torch.nn.functional.triplet_margin_loss",
    sig="anchor, positive, negative, margin=1.0, p=2, eps=1e-06, swap=False, "
    "size_average=None, reduce=None, reduction='mean'",
)(_triplet)
