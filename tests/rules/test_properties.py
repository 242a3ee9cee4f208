"""Property tests: conv / transposed conv / pooling arithmetic against torch over random params.

Valid configurations must give torch's shape; where torch raises the engine must report a
code, the one meant for torch's error (TORCH_ERRORS); where the engine reports, torch must raise.
"""

from __future__ import annotations

import os

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.rules.harness import engine_layer, torch_layer

pytest.importorskip("torch")

# SHAPE_LSP_PROPERTY_EXAMPLES raises the count for a deeper run.
FAST = settings(
    max_examples=int(os.environ.get("SHAPE_LSP_PROPERTY_EXAMPLES", "60")),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)


# torch's message -> the code the rule is meant to raise for it
# torch's message -> the codes the rule is meant to raise for it. torch checks padding before
# the output size and the engine the other way round, so a too-small input with too much
# padding may give either.
TORCH_ERRORS: list[tuple[str, tuple[str, ...]]] = [
    ("kernel size can't be greater than actual input size", ("SH104",)),
    ("output size is too small", ("SH104",)),
    ("invalid computed output size", ("SH104",)),
    ("smaller than kernel size", ("SH104",)),
    ("sizes should be greater than 0", ("SH104",)),
    ("should be at most half", ("SH112", "SH104")),
    ("pad should be smaller than or equal to half", ("SH112", "SH104")),
    ("output padding must be smaller than either stride or dilation", ("SH112",)),
    # oneDNN refusing an empty output: any proven error code
    ("could not construct a memory descriptor", ("SH104", "SH112")),
]


def expected_codes(e: Exception) -> tuple[str, ...]:
    """The codes the engine may report where torch raised `e` (unlisted messages fail)."""
    msg = str(e).lower()
    for part, codes in TORCH_ERRORS:
        if part in msg:
            return codes
    raise AssertionError(f"no code listed for torch's error: {e!r}")


def _agree(ctor: str, shape: tuple[int, ...]) -> None:
    ours = engine_layer(ctor, (shape,))
    theirs = torch_layer(ctor, (shape,))
    if isinstance(theirs, Exception):
        # an empty transposed-conv output is only a warning: torch raises on some paths
        warned_empty = "SH104" in ours.warnings and ours.shape is not None and 0 in ours.shape
        if warned_empty:
            return
        assert ours.code in expected_codes(theirs), (
            f"torch raised {theirs!r}, engine gave {ours.code or ours.shape}"
        )
    else:
        assert ours.code is None, f"engine reported {ours.code}, torch gave {theirs}"
        assert ours.shape == theirs


small = st.integers(1, 4)


@FAST
@given(
    n=st.sampled_from([1, 2]),
    size=st.integers(1, 12),
    k=small,
    s=small,
    p=st.integers(0, 3),
    d=st.integers(1, 3),
    groups=st.sampled_from([1, 2]),
    batched=st.booleans(),
)
def test_conv(
    n: int, size: int, k: int, s: int, p: int, d: int, groups: int, batched: bool
) -> None:
    ctor = f"nn.Conv{n}d(4, 6, {k}, stride={s}, padding={p}, dilation={d}, groups={groups})"
    shape = ((2,) if batched else ()) + (4,) + (size,) * n
    _agree(ctor, shape)


@FAST
@given(
    n=st.sampled_from([1, 2]),
    size=st.integers(1, 8),
    k=small,
    s=small,
    p=st.integers(0, 4),
    op=st.integers(0, 3),
    d=st.integers(1, 3),
    groups=st.sampled_from([1, 2]),
)
def test_conv_transpose(
    n: int, size: int, k: int, s: int, p: int, op: int, d: int, groups: int
) -> None:
    ctor = (
        f"nn.ConvTranspose{n}d(4, 6, {k}, stride={s}, padding={p}, output_padding={op}, "
        f"dilation={d}, groups={groups})"
    )
    _agree(ctor, (2, 4) + (size,) * n)


@FAST
@given(
    n=st.sampled_from([1, 2, 3]),
    size=st.integers(1, 12),
    k=small,
    s=st.one_of(st.none(), small),
    p=st.integers(0, 2),
    d=st.integers(1, 3),
    ceil=st.booleans(),
)
def test_max_pool(n: int, size: int, k: int, s: int | None, p: int, d: int, ceil: bool) -> None:
    if n == 3:
        size = min(size, 6)
    ctor = f"nn.MaxPool{n}d({k}, stride={s}, padding={p}, dilation={d}, ceil_mode={ceil})"
    _agree(ctor, (2, 3) + (size,) * n)


@FAST
@given(
    n=st.sampled_from([1, 2, 3]),
    size=st.integers(1, 12),
    k=small,
    s=st.one_of(st.none(), small),
    p=st.integers(0, 2),
    ceil=st.booleans(),
    include=st.booleans(),
)
def test_avg_pool(
    n: int, size: int, k: int, s: int | None, p: int, ceil: bool, include: bool
) -> None:
    if n == 3:
        size = min(size, 6)
    ctor = (
        f"nn.AvgPool{n}d({k}, stride={s}, padding={p}, ceil_mode={ceil}, "
        f"count_include_pad={include})"
    )
    _agree(ctor, (2, 3) + (size,) * n)


@FAST
@given(
    size=st.integers(1, 10),
    out=st.one_of(st.none(), st.integers(1, 12)),
    kind=st.sampled_from(["Avg", "Max"]),
)
def test_adaptive_pool(size: int, out: int | None, kind: str) -> None:
    _agree(f"nn.Adaptive{kind}Pool2d(({out}, 3))", (2, 3, size, size + 1))


@FAST
@given(
    h=st.integers(1, 9),
    scale=st.sampled_from([0.5, 1, 1.5, 2, 2.7, 3]),
    mode=st.sampled_from(["nearest", "bilinear", "bicubic"]),
)
def test_upsample_scale(h: int, scale: float, mode: str) -> None:
    _agree(f"nn.Upsample(scale_factor={scale}, mode={mode!r})", (1, 2, h, h + 2))
