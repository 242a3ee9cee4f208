"""Max / average pooling 1-3d, adaptive pooling, and their `F.` counterparts.

The arithmetic lives in `pool_forward` / `adaptive_forward`, shared by nn layers and functions.
"""

from __future__ import annotations

from shape_lsp.core.rules.base import (
    Args,
    RuleCall,
    bad,
    fmt,
    fmt_shape,
    function,
    layer,
    ok,
    unknown_like,
)
from shape_lsp.core.rules.spatial import AXIS_NAMES, check_positive, pool_out
from shape_lsp.core.values import shapes as S
from shape_lsp.core.values.abstract import Tensor, Value, as_dim
from shape_lsp.core.values.shapes import UNKNOWN, Dim, Shape


def pool_template(n: int) -> object:
    """(B, C, *spatial symbols): pooling fixes the rank, not the channels."""

    def template(a: Args) -> Shape | None:
        return (S.sym("B"), S.sym("C"), *(S.sym(s) for s in AXIS_NAMES[n]))

    return template


def pool_forward(c: RuleCall, x: Tensor | None, n: int, kind: str) -> Value:
    """Shape of an n-d max / avg pooling of x (args: kernel_size, stride, padding, ...)."""
    name = f"{kind}Pool{n}d"
    if x is None or x.shape is None:
        return unknown_like(x)
    c.expect_rank(x, (n + 1, n + 2), name)
    a = c.args
    k = a.tuple("kernel_size", n)
    stride = a.get("stride")
    s = k if stride is None or stride in ((), []) else a.tuple("stride", n)
    p = a.tuple("padding", n)
    d = a.tuple("dilation", n) if "dilation" in a else (1,) * n
    check_positive(c, name, kernel_size=k, stride=s, dilation=d)
    ceil = a.bool("ceil_mode")
    lead = len(x.shape) - n
    if kind == "Avg" and n == 3 and k is not None:
        # avg_pool3d also insists on an input at least as large kernel, padding aside
        for axis, size, kk in zip(AXIS_NAMES[n], x.shape[lead:], k, strict=True):
            if isinstance(size, int) and isinstance(kk, int) and size < kk:
                c.fail("SH104", f"{name}: input {axis}={size} is smaller than the kernel {kk}")
    out: list[Dim] = list(x.shape[:lead])
    for i, axis in enumerate(AXIS_NAMES[n]):
        if k is None or s is None or p is None or d is None:
            out.append(UNKNOWN)
        else:
            out.append(pool_out(c, axis, x.shape[lead + i], k[i], s[i], p[i], d[i], ceil, name))
    y = x.with_shape(tuple(out), name)
    if kind == "Max" and a.bool("return_indices"):
        return (y, Tensor(y.shape, "int64"))
    return y


def adaptive_forward(c: RuleCall, x: Tensor | None, n: int, kind: str) -> Value:
    """Adaptive pooling: the spatial dims become output_size (None keeps the input size)."""
    name = f"Adaptive{kind}Pool{n}d"
    if x is None or x.shape is None:
        return unknown_like(x)
    raw = c.args.get("output_size")
    ones = (1,) * n
    if kind == "Avg" and n in (2, 3) and (raw == 1 or raw in (ones, list(ones))):
        # torch takes a shortcut here (a mean over the last n dims) that accepts any rank
        # from n (int 1) or n + 1 (a tuple) upwards.
        if len(x.shape) < (n if raw == 1 else n + 1):
            c.fail("SH109", f"{name}({raw}) gets a {len(x.shape)}D input {fmt_shape(x.shape)}")
        return x.with_shape((*x.shape[:-n], *ones), name)
    c.expect_rank(x, (n + 1, n + 2), name)
    sizes: tuple[Value, ...]
    if isinstance(raw, tuple | list):
        sizes = tuple(raw)
        if len(sizes) == 1 and n > 1:
            sizes = sizes * n
    else:
        sizes = (raw,) * n
    if len(sizes) != n or (n == 1 and sizes[0] is None):
        c.fail("SH112", f"{name}: output_size {raw} must have {n} entries")
    lead = len(x.shape) - n
    out: list[Dim] = list(x.shape[:lead])
    for i, v in enumerate(sizes):
        out.append(x.shape[lead + i] if v is None else as_dim(v))
    for d in out[lead:]:
        if isinstance(d, int) and d < 0:
            c.fail("SH112", f"{name}: output_size entries must be >= 0, got {d}")
    c.note(f"out = (*, {', '.join(fmt(d) for d in out[lead:])})")
    y = x.with_shape(tuple(out), name)
    if kind == "Max" and c.args.bool("return_indices"):
        return (y, Tensor(y.shape, "int64"))
    return y


MAX_SIG = "kernel_size, stride=None, padding=0, dilation=1, return_indices=False, ceil_mode=False"
AVG1_SIG = "kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True"
AVG_SIG = AVG1_SIG + ", divisor_override=None"


def _register(n: int, max_examples: list[object], avg_examples: list[object]) -> None:
    layer(
        f"torch.nn.MaxPool{n}d",
        sig=MAX_SIG,
        params=lambda a: 0,
        template=pool_template(n),  # type: ignore[arg-type]
        examples=max_examples,  # type: ignore[arg-type]
    )(lambda c: pool_forward(c, c.tensor(), n, "Max"))
    layer(
        f"torch.nn.AvgPool{n}d",
        sig=AVG1_SIG if n == 1 else AVG_SIG,
        params=lambda a: 0,
        template=pool_template(n),  # type: ignore[arg-type]
        examples=avg_examples,  # type: ignore[arg-type]
    )(lambda c: pool_forward(c, c.tensor(), n, "Avg"))
    function(
        f"torch.nn.functional.max_pool{n}d",
        f"torch.max_pool{n}d",
        sig="input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False, "
        "return_indices=False",
    )(lambda c: pool_forward(c, c.args.tensor("input"), n, "Max"))
    function(
        f"torch.nn.functional.max_pool{n}d_with_indices",
        sig="input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False, "
        "return_indices=True",
    )(lambda c: pool_forward(c, c.args.tensor("input"), n, "Max"))
    function(
        f"torch.nn.functional.avg_pool{n}d",
        f"torch.avg_pool{n}d",
        sig="input, " + (AVG1_SIG if n == 1 else AVG_SIG),
    )(lambda c: pool_forward(c, c.args.tensor("input"), n, "Avg"))
    for kind in ("Avg", "Max"):
        extra = ", return_indices=False" if kind == "Max" else ""
        layer(
            f"torch.nn.Adaptive{kind}Pool{n}d",
            sig="output_size" + extra,
            params=lambda a: 0,
            template=pool_template(n),  # type: ignore[arg-type]
            examples=[
                ok(f"nn.Adaptive{kind}Pool{n}d(1)", (2, 3, *(7,) * n)),
                ok(f"nn.Adaptive{kind}Pool{n}d({(5, None, 2)[:n]})", (3, *(9, 4, 6)[:n])),
                ok(f"nn.Adaptive{kind}Pool{n}d(4)", (2, 3, *(2,) * n)),
                bad(f"nn.Adaptive{kind}Pool{n}d(2)", (2, 3, 4, 5, 6, 7)[: n + 3], "SH109"),
            ],
        )(lambda c, kind=kind: adaptive_forward(c, c.tensor(), n, kind))  # type: ignore[misc]
        function(
            f"torch.nn.functional.adaptive_{kind.lower()}_pool{n}d",
            f"torch.adaptive_{kind.lower()}_pool{n}d",
            sig="input, output_size" + extra,
        )(lambda c, kind=kind: adaptive_forward(c, c.args.tensor("input"), n, kind))  # type: ignore[misc]


_register(
    1,
    [
        ok("nn.MaxPool1d(2)", (2, 3, 9)),
        ok("nn.MaxPool1d(3, stride=2, padding=1, dilation=2)", (2, 3, 20)),
        ok("nn.MaxPool1d(3, stride=2, ceil_mode=True)", (3, 10)),
        ok("nn.MaxPool1d(2, padding=1, stride=3, ceil_mode=True)", (1, 2, 3)),
        ok("nn.MaxPool1d(2, return_indices=True)", (2, 3, 8)),
        bad("nn.MaxPool1d(4)", (1, 2, 3), "SH104"),
        bad("nn.MaxPool1d(3, padding=2)", (1, 2, 10), "SH112"),
        bad("nn.MaxPool1d(2)", (1, 2, 3, 4), "SH109"),
    ],
    [
        ok("nn.AvgPool1d(2)", (2, 3, 9)),
        ok("nn.AvgPool1d(3, stride=2, padding=1, ceil_mode=True)", (2, 3, 10)),
        bad("nn.AvgPool1d(4)", (1, 2, 3), "SH104"),
        bad("nn.AvgPool1d(3, padding=2)", (1, 2, 10), "SH112"),
    ],
)
_register(
    2,
    [
        ok("nn.MaxPool2d(2)", (2, 3, 32, 32)),
        ok("nn.MaxPool2d(2, 2)", (2, 3, 7, 9)),
        ok("nn.MaxPool2d(3, stride=2, padding=1)", (2, 3, 8, 8)),
        ok("nn.MaxPool2d((2, 3), stride=(1, 2), dilation=(2, 1))", (3, 10, 11)),
        ok("nn.MaxPool2d(3, stride=2, ceil_mode=True)", (1, 4, 6, 7)),
        ok("nn.MaxPool2d(2, stride=2, padding=1, ceil_mode=True)", (1, 4, 5, 4)),
        ok("nn.MaxPool2d(3, stride=2, padding=1, ceil_mode=True)", (1, 1, 3, 4)),
        bad("nn.MaxPool2d(2)", (2, 3, 1, 8), "SH104"),
        bad("nn.MaxPool2d(3, padding=2)", (1, 2, 10, 10), "SH112"),
        bad("nn.MaxPool2d(2)", (8, 8), "SH109"),
        bad("nn.MaxPool2d(2, stride=0)", (1, 1, 8, 8), "SH112"),
    ],
    [
        ok("nn.AvgPool2d(2)", (2, 3, 32, 32)),
        ok("nn.AvgPool2d(3, stride=1, padding=1)", (2, 3, 5, 6)),
        ok("nn.AvgPool2d(4, padding=2)", (1, 2, 10, 10)),
        ok("nn.AvgPool2d(3, stride=2, ceil_mode=True)", (1, 4, 6, 7)),
        ok("nn.AvgPool2d(3, stride=2, padding=1, ceil_mode=True)", (1, 1, 3, 4)),
        bad("nn.AvgPool2d(5)", (2, 3, 4, 8), "SH104"),
        bad("nn.AvgPool2d(2, padding=2)", (2, 3, 8, 8), "SH112"),
        bad("nn.AvgPool2d(2)", (2, 3, 8, 8, 8), "SH109"),
    ],
)
_register(
    3,
    [
        ok("nn.MaxPool3d(2)", (2, 3, 8, 9, 10)),
        ok("nn.MaxPool3d((1, 2, 2), stride=(1, 2, 2), ceil_mode=True)", (1, 5, 7, 7)),
        bad("nn.MaxPool3d(3)", (1, 2, 2, 8, 8), "SH104"),
        bad("nn.MaxPool3d(2)", (1, 8, 8), "SH109"),
    ],
    [
        ok("nn.AvgPool3d(2, stride=1)", (2, 3, 4, 5, 6)),
        bad("nn.AvgPool3d(3, padding=2)", (1, 2, 10, 10, 10), "SH112"),
    ],
)
