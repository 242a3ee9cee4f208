"""Shared arithmetic for convolution-like layers (conv, transposed conv, pooling)."""

from __future__ import annotations

from shape_lsp.core import shapes as S
from shape_lsp.core.rules.base import RuleCall, fmt
from shape_lsp.core.shapes import Dim

AXIS_NAMES = {1: ("L",), 2: ("H", "W"), 3: ("D", "H", "W")}


def conv_out(
    c: RuleCall, axis: str, size: Dim, k: Dim, s: Dim, p: Dim, d: Dim, what: str
) -> Dim:
    """floor((size + 2p - d(k-1) - 1)/s) + 1, with a hover note and SH104 when below 1."""
    span = S.add(S.mul(d, S.sub(k, 1)), 1)  # effective kernel extent
    num = S.sub(S.add(size, S.mul(2, p)), span)
    out = S.add(S.floordiv(num, s) if isinstance(s, int) else S.UNKNOWN, 1)
    pad = f" + 2·{fmt(p)}" if p != 0 else ""
    ker = fmt(k) if d == 1 else f"{fmt(d)}·({fmt(k)}−1) − 1"
    c.note(f"{axis}_out = ⌊({fmt(size)}{pad} − {ker})/{fmt(s)}⌋ + 1 = {fmt(out)}")
    if isinstance(out, int) and out < 1:
        c.fail(
            "SH104",
            f"{what}: output {axis} would be {out} (input {axis}={fmt(size)}, kernel {fmt(k)}, "
            f"stride {fmt(s)}, padding {fmt(p)}, dilation {fmt(d)}); the input is too small",
        )
    if isinstance(num, int) and isinstance(s, int) and s > 1 and num >= 0 and num % s:
        c.warn(
            "SH113",
            f"{what}: stride {s} does not divide {axis} travel {num}: "
            f"the last {num % s} row(s)/col(s) are dropped",
        )
    return out
