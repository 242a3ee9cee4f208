"""BatchNorm, InstanceNorm, LayerNorm, GroupNorm, LocalResponseNorm (+ F.layer_norm etc.)."""

from __future__ import annotations

from shape_lsp.core.rules.base import (
    Args,
    FixHint,
    RuleCall,
    ShapeError,
    bad,
    fmt,
    fmt_shape,
    function,
    layer,
    ok,
    unknown_like,
)
from shape_lsp.core.rules.spatial import AXIS_NAMES
from shape_lsp.core.values import shapes as S
from shape_lsp.core.values.abstract import Tensor, Value, as_dim
from shape_lsp.core.values.shapes import Dim, Shape

BN_SIG = (
    "num_features, eps=1e-05, momentum=0.1, affine=True, track_running_stats=True, "
    "device=None, dtype=None, *, bias=True"
)
IN_SIG = (
    "num_features, eps=1e-05, momentum=0.1, affine=False, track_running_stats=False, "
    "device=None, dtype=None, *, bias=True"
)


def _affine_params(a: Args) -> Dim | None:
    if a.bool("affine") is False:
        return 0
    per = 2 if a.bool("bias") is not False else 1
    n = S.mul(per, a.dim("num_features"))
    return n if S.is_known(n) else None


def _norm_template(n: int) -> object:
    def template(a: Args) -> Shape | None:
        return (S.sym("B"), a.dim("num_features"), *(S.sym(s) for s in AXIS_NAMES[n]))

    return template


def _check_features(c: RuleCall, x: Tensor, axis: int, what: str, fatal: bool = True) -> None:
    assert x.shape is not None
    want, got = c.args.dim("num_features"), x.shape[axis]
    if S.eq(got, want) is False:
        msg = (
            f"{what}(num_features={fmt(want)}) gets {fmt_shape(x.shape)}: "
            f"{fmt(got)} channels != num_features {fmt(want)}"
        )
        if fatal:
            c.fail("SH103", msg, FixHint("set_arg", "num_features", got))
        c.warn("SH103", msg + " (ignored by torch since affine=False)")


def batchnorm(c: RuleCall, n: int) -> Value:
    """BatchNorm{n}d: (N, C, *spatial) with C == num_features; 1d also takes (N, C)."""
    x = c.tensor()
    what = f"BatchNorm{n}d"
    if x is None or x.shape is None:
        return unknown_like(x)
    c.expect_rank(x, (2, 3) if n == 1 else (n + 2,), what)
    _check_features(c, x, 1, what)
    return x.with_shape(x.shape, what)


def instancenorm(c: RuleCall, n: int) -> Value:
    """InstanceNorm{n}d: (N, C, *spatial) or (C, *spatial); more than one spatial element."""
    x = c.tensor()
    what = f"InstanceNorm{n}d"
    if x is None or x.shape is None:
        return unknown_like(x)
    c.expect_rank(x, (n + 1, n + 2), what)
    a = c.args
    fatal = a.bool("affine") is True or a.bool("track_running_stats") is True
    _check_features(c, x, len(x.shape) - n - 1, what, fatal)
    spatial = S.numel(x.shape[-n:])
    if spatial == 1 and a.bool("track_running_stats") is not True:
        c.fail("SH112", f"{what} expects more than 1 spatial element, got {fmt_shape(x.shape)}")
    return x.with_shape(x.shape, what)


for _n in (1, 2, 3):
    layer(
        f"torch.nn.BatchNorm{_n}d",
        sig=BN_SIG,
        params=_affine_params,
        template=_norm_template(_n),  # type: ignore[arg-type]
        has_weights=True,
        examples={
            1: [
                ok("nn.BatchNorm1d(8)", (4, 8)),
                ok("nn.BatchNorm1d(8, affine=False)", (4, 8, 10)),
                bad("nn.BatchNorm1d(8)", (4, 9), "SH103"),
                bad("nn.BatchNorm1d(8)", (4, 8, 2, 2), "SH109"),
            ],
            2: [
                ok("nn.BatchNorm2d(16)", (2, 16, 8, 8)),
                ok("nn.BatchNorm2d(16, momentum=None, track_running_stats=False)", (2, 16, 3, 3)),
                bad("nn.BatchNorm2d(16)", (2, 32, 8, 8), "SH103"),
                bad("nn.BatchNorm2d(16)", (16, 8, 8), "SH109"),
            ],
            3: [
                ok("nn.BatchNorm3d(4)", (2, 4, 3, 3, 3)),
                bad("nn.BatchNorm3d(4)", (2, 5, 3, 3, 3), "SH103"),
            ],
        }[_n],
    )(lambda c, n=_n: batchnorm(c, n))  # type: ignore[misc]
    layer(
        f"torch.nn.InstanceNorm{_n}d",
        sig=IN_SIG,
        params=_affine_params,
        template=_norm_template(_n),  # type: ignore[arg-type]
        has_weights=False,  # only with affine=True; the default holds no tensors
        examples={
            1: [
                ok("nn.InstanceNorm1d(3)", (2, 3, 5)),
                ok("nn.InstanceNorm1d(3)", (2, 4, 5)),
                ok("nn.InstanceNorm1d(3, affine=True)", (3, 5)),
                bad("nn.InstanceNorm1d(3, affine=True)", (2, 4, 5), "SH103"),
                bad("nn.InstanceNorm1d(3)", (2, 3, 1), "SH112"),
            ],
            2: [
                ok("nn.InstanceNorm2d(8, affine=True)", (2, 8, 4, 4)),
                ok("nn.InstanceNorm2d(8)", (8, 4, 4)),
                bad("nn.InstanceNorm2d(8, track_running_stats=True)", (2, 6, 4, 4), "SH103"),
                bad("nn.InstanceNorm2d(8)", (2, 8), "SH109"),
            ],
            3: [ok("nn.InstanceNorm3d(2, affine=True)", (1, 2, 3, 3, 3))],
        }[_n],
    )(lambda c, n=_n: instancenorm(c, n))  # type: ignore[misc]


def _shape_arg(v: Value) -> tuple[Dim, ...] | None:
    if isinstance(v, tuple | list):
        return tuple(as_dim(e) for e in v)
    d = as_dim(v)
    return None if d is S.UNKNOWN and not isinstance(v, int) else (d,)


def layer_norm_apply(c: RuleCall, x: Tensor | None, ns: tuple[Dim, ...] | None) -> Value:
    """The trailing dims of x must equal normalized_shape."""
    if x is None or x.shape is None or ns is None:
        return unknown_like(x)
    k = len(ns)
    tail = x.shape[-k:] if k else ()
    if len(x.shape) < k or S.shape_eq(tail, ns) is False:
        got = tail[-1] if tail else S.UNKNOWN
        c.fail(
            "SH103",
            f"LayerNorm(normalized_shape={fmt_shape(ns)}) expects an input of shape "
            f"(*, {', '.join(fmt(d) for d in ns)}), got {fmt_shape(x.shape)}",
            FixHint("set_arg", "normalized_shape", tuple(x.shape[-k:]) if k > 1 else got),
        )
    return x.with_shape(x.shape, "LayerNorm")


def _ln_params(a: Args) -> Dim | None:
    ns = _shape_arg(a.get("normalized_shape"))
    if a.bool("elementwise_affine") is False:
        return 0
    if ns is None:
        return None
    per = 2 if a.bool("bias") is not False else 1
    n = S.mul(per, S.product(ns))
    return n if S.is_known(n) else None


@layer(
    "torch.nn.LayerNorm",
    sig="normalized_shape, eps=1e-05, elementwise_affine=True, bias=True, device=None, dtype=None",
    params=_ln_params,
    template=lambda a: (S.sym("B"), *(_shape_arg(a.get("normalized_shape")) or ())),
    has_weights=True,
    examples=[
        ok("nn.LayerNorm(10)", (4, 7, 10)),
        ok("nn.LayerNorm([7, 10])", (4, 7, 10)),
        ok("nn.LayerNorm((10,), elementwise_affine=False)", (10,)),
        ok("nn.LayerNorm(10, bias=False)", (2, 10)),
        bad("nn.LayerNorm(10)", (4, 10, 7), "SH103"),
        bad("nn.LayerNorm([4, 7, 10])", (7, 10), "SH103"),
    ],
)
def layernorm(c: RuleCall) -> Value:
    """Normalize over the trailing normalized_shape dims."""
    return layer_norm_apply(c, c.tensor(), _shape_arg(c.args.get("normalized_shape")))


@function(
    "torch.nn.functional.layer_norm",
    "torch.layer_norm",
    sig="input, normalized_shape, weight=None, bias=None, eps=1e-05",
)
def f_layer_norm(c: RuleCall) -> Value:
    """F.layer_norm."""
    return layer_norm_apply(c, c.args.tensor("input"), _shape_arg(c.args.get("normalized_shape")))


def _validate_groupnorm(a: Args) -> None:
    g, ch = a.int("num_groups"), a.int("num_channels")
    if g is not None and ch is not None and g > 0 and ch % g:
        raise ShapeError(
            "SH112",
            f"num_channels={ch} must be divisible by num_groups={g}",
            at_constructor=True,
        )


def _gn_params(a: Args) -> Dim | None:
    if a.bool("affine") is False:
        return 0
    per = 2 if a.bool("bias") is not False else 1
    n = S.mul(per, a.dim("num_channels"))
    return n if S.is_known(n) else None


def group_norm_apply(c: RuleCall, x: Tensor | None, groups: Dim, ch: Dim | None) -> Value:
    """(N, C, *) with C divisible by groups and equal to num_channels."""
    if x is None or x.shape is None:
        return unknown_like(x)
    if len(x.shape) < 2:
        c.fail("SH109", f"GroupNorm expects at least a 2D input, got {fmt_shape(x.shape)}")
    got = x.shape[1]
    if ch is not None and S.eq(got, ch) is False:
        c.fail(
            "SH103",
            f"GroupNorm(num_channels={fmt(ch)}) gets {fmt_shape(x.shape)}: "
            f"{fmt(got)} channels != num_channels {fmt(ch)}",
            FixHint("set_arg", "num_channels", got),
        )
    if isinstance(got, int) and isinstance(groups, int) and groups > 0 and got % groups:
        c.fail("SH112", f"GroupNorm: {got} channels are not divisible by {groups} groups")
    # F.group_norm's _verify_batch_size([N * C // groups, groups, *spatial]), in eval mode too
    n, rest = x.shape[0], x.shape[2:]
    if (
        isinstance(groups, int)
        and groups > 0
        and isinstance(n, int)
        and isinstance(got, int)
        and all(isinstance(d, int) for d in rest)
        and S.numel(((n * got) // groups, *rest)) == 1
    ):
        c.fail(
            "SH112",
            f"GroupNorm({fmt(groups)} groups) gets {fmt_shape(x.shape)}: a single value per "
            "group (batch 1, one channel per group, no spatial extent); torch raises "
            "'Expected more than 1 value per channel' in training and eval alike",
        )
    return x.with_shape(x.shape, "GroupNorm")


@layer(
    "torch.nn.GroupNorm",
    sig="num_groups, num_channels, eps=1e-05, affine=True, device=None, dtype=None, *, bias=True",
    params=_gn_params,
    template=lambda a: (S.sym("B"), a.dim("num_channels"), S.sym("H"), S.sym("W")),
    validate=_validate_groupnorm,
    has_weights=True,
    examples=[
        ok("nn.GroupNorm(4, 16)", (2, 16, 8, 8)),
        ok("nn.GroupNorm(2, 4)", (2, 4)),
        ok("nn.GroupNorm(1, 6, affine=False)", (3, 6, 5)),
        ok("nn.GroupNorm(1, 6, affine=False)", (3, 8, 5)),  # torch checks C only via weights
        bad("nn.GroupNorm(2, 4)", (2, 6, 3), "SH103"),
        bad("nn.GroupNorm(2, 4)", (4,), "SH109"),
        bad("nn.GroupNorm(3, 4)", (2, 4, 5), "SH112"),
        bad("nn.GroupNorm(4, 4)", (1, 4), "SH112"),
        bad("nn.GroupNorm(8, 8)", (1, 8, 1, 1), "SH112"),
    ],
)
def groupnorm(c: RuleCall) -> Value:
    """Group normalization keeps the shape; without affine weights torch does not check C."""
    ch = c.args.dim("num_channels") if c.args.get("affine") is not False else None
    return group_norm_apply(c, c.tensor(), c.args.dim("num_groups"), ch)


@function(
    "torch.nn.functional.group_norm",
    "torch.group_norm",
    sig="input, num_groups, weight=None, bias=None, eps=1e-05",
)
def f_group_norm(c: RuleCall) -> Value:
    """F.group_norm; the weight (when given) fixes the channel count."""
    w = c.args.tensor("weight")
    ch = w.shape[0] if w is not None and w.shape else None
    return group_norm_apply(c, c.args.tensor("input"), c.args.dim("num_groups"), ch)


@layer(
    "torch.nn.LocalResponseNorm",
    sig="size, alpha=0.0001, beta=0.75, k=1.0",
    params=lambda a: 0,
    examples=[
        ok("nn.LocalResponseNorm(2)", (2, 4, 5)),
        ok("nn.LocalResponseNorm(3)", (2, 4, 5, 5, 5)),
        bad("nn.LocalResponseNorm(2)", (2, 4), "SH109"),
    ],
)
def local_response_norm(c: RuleCall) -> Value:
    """Needs at least 3 dims; keeps the shape."""
    x = c.tensor()
    if x is None or x.shape is None:
        return unknown_like(x)
    if len(x.shape) < 3:
        c.fail("SH109", f"LocalResponseNorm expects a 3D or higher input, got {fmt_shape(x.shape)}")
    return x.with_shape(x.shape, "LocalResponseNorm")
