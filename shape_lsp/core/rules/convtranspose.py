"""ConvTranspose1d/2d/3d and F.conv_transpose1d/2d/3d."""

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
from shape_lsp.core.rules.conv import conv_params
from shape_lsp.core.rules.spatial import AXIS_NAMES, check_positive
from shape_lsp.core.values import shapes as S
from shape_lsp.core.values.abstract import Tensor, Value
from shape_lsp.core.values.shapes import UNKNOWN, Dim, Shape

CONVT_SIG = (
    "in_channels, out_channels, kernel_size, stride=1, padding=0, output_padding=0, groups=1, "
    "bias=True, dilation=1, padding_mode='zeros', device=None, dtype=None"
)


def convt_out(
    c: RuleCall, axis: str, size: Dim, k: Dim, s: Dim, p: Dim, op: Dim, d: Dim, what: str
) -> Dim:
    """(size - 1)*s - 2p + d(k-1) + output_padding + 1, SH104 when below 0.

    An output of 0 is an empty tensor on some of torch's CPU paths and an error on others
    (which one depends on stride, dilation and output_padding): a warning, not an error.
    """
    if isinstance(op, int) and isinstance(s, int) and isinstance(d, int) and op >= max(s, d):
        c.fail(
            "SH112",
            f"{what}: output_padding {op} must be smaller than either stride {s} or dilation {d}",
            FixHint("set_arg", "output_padding", 0),
        )
    out = S.add(S.sub(S.mul(S.sub(size, 1), s), S.mul(2, p)), S.add(S.mul(d, S.sub(k, 1)), 1))
    out = S.add(out, op)
    c.note(
        f"{axis}_out = ({fmt(size)} - 1)·{fmt(s)} - 2·{fmt(p)} + {fmt(d)}·({fmt(k)} - 1)"
        f" + {fmt(op)} + 1 = {fmt(out)}"
    )
    if out == 0:
        c.warn("SH104", f"{what}: output {axis} is 0: the result is empty (or torch raises)")
    if isinstance(out, int) and out < 0:
        c.fail(
            "SH104",
            f"{what}: output {axis} would be {out} (input {axis}={fmt(size)}, kernel {fmt(k)}, "
            f"stride {fmt(s)}, padding {fmt(p)}); the padding is too large",
        )
    return out


def validate_convt(a: Args) -> None:
    """torch refuses groups that do not divide the channels, and string paddings."""
    g = a.int("groups")
    for name in ("in_channels", "out_channels"):
        ch = a.int(name)
        if g is not None and ch is not None and g > 0 and ch % g:
            raise ShapeError(
                "SH112", f"{name}={ch} must be divisible by groups={g}", at_constructor=True
            )
    if a.str("padding") is not None:
        raise ShapeError(
            "SH112", "transposed convolutions take no string padding", at_constructor=True
        )


def _check_dilation(
    c: RuleCall, what: str, k: tuple[Dim, ...] | None, d: tuple[Dim, ...] | None
) -> None:
    """torch's own check is dilation >= 0. A dilation of 0 is left to the backend: with a
    kernel of 1 (where dilation does not matter) the oneDNN path runs it for float32 while the
    native path rejects it, so only a 0 paired with a kernel above 1 is proven to fail; the
    others leave that output dim unknown."""
    for i, v in enumerate(d or ()):
        if not isinstance(v, int):
            continue
        kv = k[i] if k is not None and i < len(k) else None
        if v < 0 or (v == 0 and isinstance(kv, int) and kv > 1):
            c.fail("SH112", f"{what}: dilation must be greater than zero, got {v}")


def convt_apply(c: RuleCall, x: Tensor | None, n: int, cin: Dim, cout: Dim, what: str) -> Value:
    """The shared transposed-convolution shape function (cin: channels expected)."""
    if x is None or x.shape is None:
        return unknown_like(x)
    c.expect_rank(x, (n + 1, n + 2), what)
    a = c.args
    ch_axis = len(x.shape) - n - 1
    got = x.shape[ch_axis]
    if S.eq(got, cin) is False:
        c.fail(
            "SH102",
            f"{what}(in_channels={fmt(cin)}) gets {fmt_shape(x.shape)}: "
            f"{fmt(got)} channels != in_channels {fmt(cin)}",
            FixHint("set_arg", "in_channels", got),
        )
    k, s = a.tuple("kernel_size", n), a.tuple("stride", n)
    p, op, d = a.tuple("padding", n), a.tuple("output_padding", n), a.tuple("dilation", n)
    check_positive(c, what, stride=s)
    _check_dilation(c, what, k, d)
    out: list[Dim] = [*x.shape[:ch_axis], cout]
    for i, axis in enumerate(AXIS_NAMES[n]):
        if k is None or s is None or p is None or op is None or d is None:
            out.append(UNKNOWN)
        else:
            size = x.shape[ch_axis + 1 + i]
            dim = convt_out(c, axis, size, k[i], s[i], p[i], op[i], d[i], what)
            if d[i] == 0:  # whether it runs at all is the backend's call: not decided here
                c.note(f"{axis}: dilation 0 runs on some of torch's backends only")
                dim = UNKNOWN
            out.append(dim)
    return x.with_shape(tuple(out), what)


def convt_template(n: int) -> object:
    """(B, in_channels, *spatial symbols)."""

    def template(a: Args) -> Shape | None:
        return (S.sym("B"), a.dim("in_channels"), *(S.sym(s) for s in AXIS_NAMES[n]))

    return template


def _functional(n: int, c: RuleCall) -> Value:
    """F.conv_transpose{n}d(input, weight, ...): weight is (in, out/groups, *k)."""
    x, w = c.args.tensor("input"), c.args.tensor("weight")
    if w is None or w.shape is None or len(w.shape) != n + 2:
        return unknown_like(x)
    g = c.args.dim("groups")
    c.args.values["kernel_size"] = tuple(w.shape[2:])
    return convt_apply(c, x, n, w.shape[0], S.mul(w.shape[1], g), f"conv_transpose{n}d")


def _register(n: int, examples: list[object]) -> None:
    layer(
        f"torch.nn.ConvTranspose{n}d",
        sig=CONVT_SIG,
        params=conv_params(n),  # type: ignore[arg-type]
        template=convt_template(n),  # type: ignore[arg-type]
        validate=validate_convt,
        has_weights=True,
        examples=examples,  # type: ignore[arg-type]
    )(
        lambda c: convt_apply(
            c,
            c.tensor(),
            n,
            c.args.dim("in_channels"),
            c.args.dim("out_channels"),
            f"ConvTranspose{n}d",
        )
    )
    function(
        f"torch.nn.functional.conv_transpose{n}d",
        f"torch.conv_transpose{n}d",
        sig="input, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1, dilation=1",
    )(lambda c: _functional(n, c))


_register(
    1,
    [
        ok("nn.ConvTranspose1d(4, 8, 3)", (2, 4, 10)),
        ok("nn.ConvTranspose1d(4, 8, 3, stride=2, padding=1, output_padding=1)", (2, 4, 10)),
        ok("nn.ConvTranspose1d(4, 8, 3, dilation=2, output_padding=1)", (4, 7)),
        bad("nn.ConvTranspose1d(4, 8, 3)", (2, 5, 10), "SH102"),
        bad("nn.ConvTranspose1d(4, 8, 3, stride=2, output_padding=2)", (2, 4, 10), "SH112"),
        bad("nn.ConvTranspose1d(4, 8, 3, dilation=0)", (2, 4, 10), "SH112"),
        bad("nn.ConvTranspose1d(4, 8, 1, dilation=-1)", (2, 4, 10), "SH112"),
    ],
)
_register(
    2,
    [
        ok("nn.ConvTranspose2d(16, 8, 4, stride=2, padding=1)", (2, 16, 8, 8)),
        ok("nn.ConvTranspose2d(16, 8, (3, 5), stride=(2, 1), padding=(1, 2))", (2, 16, 7, 9)),
        ok("nn.ConvTranspose2d(4, 6, 3, groups=2, bias=False)", (1, 4, 5, 5)),
        ok("nn.ConvTranspose2d(4, 2, 3, stride=1, dilation=3, output_padding=2)", (1, 4, 5, 5)),
        ok("nn.ConvTranspose2d(4, 2, 2, stride=2)", (4, 3, 3)),
        bad("nn.ConvTranspose2d(16, 8, 4)", (2, 8, 8, 8), "SH102"),
        bad("nn.ConvTranspose2d(4, 2, 3, padding=5)", (1, 4, 2, 2), "SH104"),
        bad("nn.ConvTranspose2d(4, 2, 3, stride=2, output_padding=2)", (1, 4, 5, 5), "SH112"),
        bad("nn.ConvTranspose2d(4, 2, 3, groups=3)", (1, 4, 5, 5), "SH112"),
        bad("nn.ConvTranspose2d(4, 2, 3)", (4, 5), "SH109"),
    ],
)
_register(
    3,
    [
        ok("nn.ConvTranspose3d(2, 4, 3, stride=2)", (1, 2, 3, 4, 5)),
        ok("nn.ConvTranspose3d(2, 4, (1, 3, 3), padding=(0, 1, 1))", (2, 3, 4, 5)),
        bad("nn.ConvTranspose3d(2, 4, 3)", (1, 3, 3, 4, 5), "SH102"),
    ],
)
