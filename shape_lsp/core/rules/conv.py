"""Conv1d/2d/3d (transposed convolutions live in convtranspose.py)."""

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
from shape_lsp.core.rules.spatial import AXIS_NAMES, conv_out
from shape_lsp.core.values import shapes as S
from shape_lsp.core.values.abstract import Value
from shape_lsp.core.values.shapes import UNKNOWN, Dim, Shape

CONV_SIG = (
    "in_channels, out_channels, kernel_size, stride=1, padding=0, dilation=1, groups=1, "
    "bias=True, padding_mode='zeros', device=None, dtype=None"
)


def conv_params(n: int) -> object:
    """Parameter count of an n-d convolution: out*in/groups*prod(k) (+ out for the bias)."""

    def count(a: Args) -> Dim | None:
        k = a.tuple("kernel_size", n)
        g = a.int("groups") or 1
        if k is None:
            return None
        total = S.mul(S.exact_div(a.dim("in_channels"), g), a.dim("out_channels"))
        total = S.mul(total, S.product(k))
        if a.bool("bias") is not False:
            total = S.add(total, a.dim("out_channels"))
        return total if S.is_known(total) else None

    return count


def conv_template(n: int) -> object:
    """(B, in_channels, *spatial symbols)."""

    def template(a: Args) -> Shape | None:
        return (S.sym("B"), a.dim("in_channels"), *(S.sym(s) for s in AXIS_NAMES[n]))

    return template


def validate_groups(a: Args) -> None:
    """torch raises at construction when groups do not divide the channels."""
    g = a.int("groups")
    for name in ("in_channels", "out_channels"):
        ch = a.int(name)
        if g is not None and ch is not None and g > 0 and ch % g:
            raise ShapeError(
                "SH112", f"{name}={ch} must be divisible by groups={g}", at_constructor=True
            )
    pad = a.str("padding")
    if pad is not None and pad not in ("same", "valid"):
        raise ShapeError("SH112", f"padding='{pad}' is not 'same' or 'valid'", at_constructor=True)
    if pad == "same" and any(s != 1 for s in (a.ints("stride") or (1,))):
        raise ShapeError(
            "SH112",
            "padding='same' is not supported for strided convolutions",
            at_constructor=True,
        )


def conv_forward(n: int, c: RuleCall) -> Value:
    """Shape of an n-d convolution's output."""
    x = c.tensor()
    name = f"Conv{n}d"
    if x is None or x.shape is None:
        return unknown_like(x)
    c.expect_rank(x, (n + 1, n + 2), name)
    a = c.args
    ch_axis = len(x.shape) - n - 1
    cin = a.dim("in_channels")
    got = x.shape[ch_axis]
    if S.eq(got, cin) is False:
        c.fail(
            "SH102",
            f"{name}(in_channels={fmt(cin)}) gets {fmt_shape(x.shape)}: "
            f"{fmt(got)} channels != in_channels {fmt(cin)}",
            FixHint("set_arg", "in_channels", got),
        )
    k, s, d = a.tuple("kernel_size", n), a.tuple("stride", n), a.tuple("dilation", n)
    pad_mode = a.str("padding")
    p: tuple[Dim, ...] | None
    if pad_mode == "valid":
        p = (0,) * n
    elif pad_mode == "same":
        p = None
    else:
        p = a.tuple("padding", n)
    out: list[Dim] = [*x.shape[:ch_axis], a.dim("out_channels")]
    for i, axis in enumerate(AXIS_NAMES[n]):
        size = x.shape[ch_axis + 1 + i]
        if pad_mode == "same":
            c.note(f"{axis}_out = {fmt(size)} (padding='same')")
            out.append(size)
        elif k is None or s is None or d is None or p is None:
            out.append(UNKNOWN)
        else:
            out.append(conv_out(c, axis, size, k[i], s[i], p[i], d[i], name))
    return x.with_shape(tuple(out))


def _register(n: int, examples: list[object]) -> None:
    layer(
        f"torch.nn.Conv{n}d",
        sig=CONV_SIG,
        params=conv_params(n),  # type: ignore[arg-type]
        template=conv_template(n),  # type: ignore[arg-type]
        validate=validate_groups,
        has_weights=True,
        examples=examples,  # type: ignore[arg-type]
    )(lambda c: conv_forward(n, c))


_register(
    1,
    [
        ok("nn.Conv1d(4, 8, 3)", (2, 4, 20)),
        ok("nn.Conv1d(4, 8, 3, stride=2, padding=1, dilation=2)", (2, 4, 21)),
        ok("nn.Conv1d(4, 8, 3, padding='same')", (4, 17)),
        bad("nn.Conv1d(4, 8, 3)", (2, 5, 20), "SH102"),
        bad("nn.Conv1d(4, 8, 5)", (2, 4, 3), "SH104"),
    ],
)
_register(
    2,
    [
        ok("nn.Conv2d(3, 16, 3)", (2, 3, 32, 32)),
        ok("nn.Conv2d(3, 16, 3, padding=1)", (2, 3, 32, 32)),
        ok("nn.Conv2d(3, 16, (3, 5), stride=(2, 1), padding=(1, 2))", (2, 3, 31, 17)),
        ok("nn.Conv2d(4, 8, 3, groups=2, padding='valid')", (1, 4, 9, 9)),
        ok("nn.Conv2d(3, 16, 3)", (3, 10, 10)),
        bad("nn.Conv2d(3, 16, 3)", (2, 4, 32, 32), "SH102"),
        bad("nn.Conv2d(3, 16, 3)", (2, 3), "SH109"),
        bad("nn.Conv2d(3, 16, 7)", (2, 3, 5, 5), "SH104"),
    ],
)
_register(
    3,
    [
        ok("nn.Conv3d(2, 4, 3, stride=2)", (1, 2, 9, 10, 11)),
        bad("nn.Conv3d(2, 4, 3)", (1, 3, 9, 9, 9), "SH102"),
    ],
)


def _functional_conv(n: int, c: RuleCall) -> Value:
    """F.conv{n}d(input, weight, bias, stride, padding, dilation, groups); weight (out, in/g, k)."""
    x, w = c.args.tensor("input"), c.args.tensor("weight")
    if w is None or w.shape is None:
        return unknown_like(x)
    if len(w.shape) != n + 2:
        c.fail("SH109", f"conv{n}d expects a {n + 2}D weight, got {fmt_shape(w.shape)}")
    g = c.args.dim("groups")
    a = c.args.values
    a["in_channels"] = S.mul(w.shape[1], g)
    a["out_channels"] = w.shape[0]
    a["kernel_size"] = tuple(w.shape[2:])
    c.inputs = (x,)
    return conv_forward(n, c)


for _n in (1, 2, 3):
    function(
        f"torch.nn.functional.conv{_n}d",
        f"torch.conv{_n}d",
        sig="input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1",
    )(lambda c, n=_n: _functional_conv(n, c))  # type: ignore[misc]
