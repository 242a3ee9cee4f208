"""Shared arithmetic for convolution-like layers (conv, transposed conv, pooling)."""

from __future__ import annotations

from shape_lsp.core.rules.base import FixHint, RuleCall, fmt
from shape_lsp.core.values import shapes as S
from shape_lsp.core.values.shapes import Dim

AXIS_NAMES = {1: ("L",), 2: ("H", "W"), 3: ("D", "H", "W")}


def conv_out(
    c: RuleCall,
    axis: str,
    size: Dim,
    k: Dim,
    s: Dim,
    p: Dim,
    d: Dim,
    what: str,
    warn_gaps: bool = False,
) -> Dim:
    """floor((size + 2p - d(k-1) - 1)/s) + 1, with a hover note and SH104 when below 1.

    warn_gaps (pooling): SH113 when the stride exceeds the window, so rows between windows
    are never read. Strided 1x1 convolutions (ResNet shortcuts) do that by design.
    """
    span = S.add(S.mul(d, S.sub(k, 1)), 1)  # effective kernel extent
    num = S.sub(S.add(size, S.mul(2, p)), span)
    out = S.add(S.floordiv(num, s) if isinstance(s, int) else S.UNKNOWN, 1)
    pad = f" + 2·{fmt(p)}" if p != 0 else ""
    ker = fmt(k) if d == 1 else f"{fmt(d)}·({fmt(k)}-1) - 1"
    c.note(f"{axis}_out = ⌊({fmt(size)}{pad} - {ker})/{fmt(s)}⌋ + 1 = {fmt(out)}")
    if isinstance(out, int) and out < 1:
        c.fail(
            "SH104",
            f"{what}: output {axis} would be {out} (input {axis}={fmt(size)}, kernel {fmt(k)}, "
            f"stride {fmt(s)}, padding {fmt(p)}, dilation {fmt(d)}); the input is too small",
        )
    if (
        warn_gaps
        and all(isinstance(v, int) for v in (size, p, s, span))
        and isinstance(out, int)
        and out >= 1
        and s > span  # type: ignore[operator]
    ):
        # Windows are spaced wider than they are: rows between them are never read (seed 004).
        skipped = (s - span) * (out - 1)  # type: ignore[operator]
        trailing = max(p + size - ((out - 1) * s + span), 0)  # type: ignore[operator]
        c.warn(
            "SH113",
            f"{what}: stride {s} is larger than the window ({fmt(span)}): {skipped + trailing} "
            f"of {fmt(size)} input rows/cols along {axis} are never read",
        )
    return out


def pool_out(
    c: RuleCall,
    axis: str,
    size: Dim,
    k: Dim,
    s: Dim,
    p: Dim,
    d: Dim,
    ceil_mode: bool | None,
    what: str,
) -> Dim:
    """torch's pooling_output_shape: conv arithmetic, plus ceil_mode's last-window rule.

    With ceil_mode the division rounds up, but a last window that would start beyond the
    input and its left padding is dropped. torch also refuses padding above half the kernel.
    """
    if isinstance(k, int) and isinstance(p, int) and isinstance(d, int) and p > k // 2:
        c.fail(
            "SH112",
            f"{what}: padding {p} must be at most half the kernel size {k}",
            FixHint("set_arg", "padding", k // 2),
        )
    if ceil_mode is None:
        return S.UNKNOWN
    if not ceil_mode:
        return conv_out(c, axis, size, k, s, p, d, what, warn_gaps=True)
    if not isinstance(s, int):
        return S.UNKNOWN
    span = S.add(S.mul(d, S.sub(k, 1)), 1)
    num = S.sub(S.add(size, S.mul(2, p)), span)
    out = S.add(S.floordiv(S.add(num, s - 1), s), 1)
    if s == 1:
        pass  # ceil == floor, and the last window always starts inside
    elif isinstance(out, int) and isinstance(size, int) and isinstance(p, int):
        if (out - 1) * s >= size + p:
            out -= 1
    else:
        out = S.UNKNOWN
    c.note(f"{axis}_out = ⌈({fmt(size)} + 2·{fmt(p)} - {fmt(span)})/{fmt(s)}⌉ + 1 = {fmt(out)}")
    if isinstance(out, int) and out < 1:
        c.fail(
            "SH104",
            f"{what}: output {axis} would be {out} (input {axis}={fmt(size)}, kernel {fmt(k)}, "
            f"stride {fmt(s)}, padding {fmt(p)}); the input is too small",
        )
    return out


def check_positive(c: RuleCall, what: str, **values: tuple[Dim, ...] | None) -> None:
    """SH112 when a kernel / stride / dilation entry is a known int below 1."""
    for name, vals in values.items():
        for v in vals or ():
            if isinstance(v, int) and v < 1:
                c.fail("SH112", f"{what}: {name} must be greater than zero, got {v}")
