"""Regressions from benchmarks/differential.py: each case once disagreed with torch. Every case
runs the engine and the real torch layer (or function) and compares them."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.rules import harness
from tests.rules.harness import (
    Outcome,
    engine_call,
    engine_layer,
    torch_call,
    torch_layer,
)

torch = pytest.importorskip("torch")

Shapes = tuple[tuple[int, ...], ...]


def _agree(ctor: str, inputs: Shapes) -> tuple[Outcome, object]:
    """Engine and torch (training mode, as a new module is) give the same outcome."""
    ours, theirs = engine_layer(ctor, inputs), torch_layer(ctor, inputs)
    if isinstance(theirs, Exception):
        assert ours.code is not None, f"torch raised {theirs!r}, engine gave {ours.shape}"
    else:
        assert ours.code is None, f"engine reported {ours.code}, torch gave {theirs}"
        assert ours.shape == theirs
    return ours, theirs


# (ctor, inputs, whether torch raises); the engine must say the same and give torch's shape
CASES: list[tuple[str, Shapes, bool]] = [
    # false positive: the anchor broadcasts against positive and negative separately, the
    # two distances are over the last dim, so positive and negative may differ there
    ("nn.TripletMarginLoss()", ((1, 1), (4, 5), (4, 6)), False),
    ("nn.TripletMarginLoss(reduction='none')", ((4, 1), (1, 5), (1, 6)), False),
    ("nn.TripletMarginLoss(reduction='none')", ((2, 1, 5), (1, 3, 5), (2, 3, 5)), False),
    # ... unless swap=True, which also takes the positive-negative distance
    ("nn.TripletMarginLoss(swap=True)", ((1, 1), (4, 5), (4, 6)), True),
    ("nn.TripletMarginLoss(swap=True)", ((4, 5), (4, 1), (4, 6)), True),
    # the distances themselves must broadcast
    ("nn.TripletMarginLoss()", ((1, 5), (4, 5), (3, 5)), True),
    # missed: torch checks each input's own rank against the target's, before broadcasting
    ("nn.CosineEmbeddingLoss(reduction='none')", ((4, 5), (5,), (4,)), True),
    ("nn.CosineEmbeddingLoss()", ((6,), (4, 6), (4,)), True),
    ("nn.CosineEmbeddingLoss(reduction='none')", ((1, 5), (4, 5), (4,)), False),
    ("nn.CosineEmbeddingLoss(reduction='none')", ((4, 5), (4, 5), (1,)), False),
    # 0-D target with 1-D inputs (the harness builds 0-D tensors too)
    ("nn.CosineEmbeddingLoss(reduction='none')", ((5,), (1,), ()), False),
    ("nn.CosineEmbeddingLoss()", ((4, 5), (4, 5), ()), True),
    # missed: group_norm's _verify_batch_size runs in eval mode too: one value per group
    ("nn.GroupNorm(4, 4)", ((1, 4),), True),
    ("nn.GroupNorm(4, 4)", ((1, 4, 1),), True),
    ("nn.GroupNorm(8, 8)", ((1, 8, 1, 1),), True),
    ("nn.GroupNorm(2, 4)", ((1, 4),), False),
    ("nn.GroupNorm(4, 4)", ((2, 4),), False),
    ("nn.GroupNorm(8, 8)", ((1, 8, 2),), False),
    ("nn.GroupNorm(4, 8, affine=False)", ((1, 8, 1, 1),), False),
    # dilation below 0 fails in torch's own check; 0 fails with a kernel above 1 on every path
    ("nn.ConvTranspose1d(4, 8, 1, dilation=-1)", ((2, 4, 10),), True),
    ("nn.ConvTranspose1d(4, 8, 3, dilation=0)", ((2, 4, 10),), True),
    ("nn.ConvTranspose2d(4, 8, (3, 1), dilation=(0, 1))", ((2, 4, 6, 6),), True),
]


@pytest.mark.parametrize(("ctor", "inputs", "raises"), CASES, ids=[f"{c[0]}{c[1]}" for c in CASES])
def test_layer_agrees_with_torch(ctor: str, inputs: Shapes, raises: bool) -> None:
    _, theirs = _agree(ctor, inputs)
    assert isinstance(theirs, Exception) == raises, theirs


# false positive: a dilation of 0 with a kernel of 1 is the backend's call (oneDNN runs it for
# float32, the native path refuses it), so the engine must report nothing and leave that dim
# unknown; every dim it does give is torch's
SILENT = [
    ("nn.ConvTranspose1d(4, 8, 1, stride=2, padding=8, output_padding=1, dilation=0)", (2, 4, 10)),
    ("nn.ConvTranspose1d(4, 8, 1, dilation=0)", (2, 4, 10)),
    ("nn.ConvTranspose2d(4, 8, (1, 3), dilation=(0, 1))", (2, 4, 6, 6)),
]


@pytest.mark.parametrize(("ctor", "shape"), SILENT)
def test_transposed_dilation_zero_with_kernel_one_is_not_reported(
    ctor: str, shape: tuple[int, ...]
) -> None:
    ours = engine_layer(ctor, (shape,))
    assert ours.code is None and ours.shape is not None
    assert any(not isinstance(d, int) for d in ours.shape)
    assert isinstance(torch_layer(ctor, (shape,), "float64"), Exception)  # the native path
    assert isinstance(torch_layer(ctor, (shape[1:],)), Exception)  # unbatched: native too
    if torch.backends.mkldnn.is_available():  # float32 on CPU goes through oneDNN: it runs
        theirs = torch_layer(ctor, (shape,))
        assert isinstance(theirs, tuple) and len(theirs) == len(ours.shape)
        assert all(a == b for a, b in zip(ours.shape, theirs, strict=True) if isinstance(a, int))


# BatchNorm on one value per channel (InstanceNorm tracking running stats on one spatial
# element): torch raises in training mode only, which the source does not show; the engine
# reports nothing and gives eval mode's shape
TRAINING_ONLY = [
    ("nn.BatchNorm1d(8)", (1, 8)),
    ("nn.BatchNorm1d(8)", (1, 8, 1)),
    ("nn.BatchNorm2d(3)", (1, 3, 1, 1)),
    ("nn.BatchNorm3d(2, affine=False)", (1, 2, 1, 1, 1)),
    ("nn.InstanceNorm1d(3, track_running_stats=True)", (2, 3, 1)),
    ("nn.InstanceNorm2d(4, affine=True, track_running_stats=True)", (4, 1, 1)),
]


@pytest.mark.parametrize(("ctor", "shape"), TRAINING_ONLY)
def test_single_value_is_training_only(ctor: str, shape: tuple[int, ...]) -> None:
    ours = engine_layer(ctor, (shape,))
    assert ours.code is None
    assert isinstance(torch_layer(ctor, (shape,)), ValueError)
    assert torch_layer(ctor, (shape,), training=False) == ours.shape == shape


def _differential() -> object:
    if "shape_differential" in sys.modules:  # test_differential loads it too
        return sys.modules["shape_differential"]
    spec = importlib.util.spec_from_file_location(
        "shape_differential", Path(__file__).parents[2] / "benchmarks" / "differential.py"
    )
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    sys.modules["shape_differential"] = mod
    spec.loader.exec_module(mod)
    return mod


def test_differential_counts_training_only_apart(monkeypatch: pytest.MonkeyPatch) -> None:
    d: Any = _differential()
    assert d.classify("nn.BatchNorm1d(8)", ((1, 8),))[0] == "training only"
    ctor = "nn.InstanceNorm1d(3, track_running_stats=True)"  # self.training in a base class
    assert d.classify(ctor, ((2, 3, 1),))[0] == "training only"
    assert d.classify("nn.BatchNorm1d(8)", ((1, 9),))[0] == "agree"
    # GroupNorm raises in eval mode too: an ordinary error, which the engine must report
    assert d.classify("nn.GroupNorm(4, 4)", ((1, 4),))[0] == "agree"
    # an engine error where torch raises in training mode only is not proven
    monkeypatch.setattr(harness, "engine_layer", lambda ctor, inputs: Outcome(None, "SH112"))
    assert d.classify("nn.BatchNorm1d(8)", ((1, 8),))[0] == "false positive"


FUNCTIONS = [
    ("torch.nn.functional.group_norm", "T(1, 4), 4", True),
    ("torch.nn.functional.group_norm", "T(1, 4), 2", False),
    ("torch.nn.functional.triplet_margin_loss", "T(1, 1), T(4, 5), T(4, 6)", False),
    ("torch.nn.functional.triplet_margin_loss", "T(1, 1), T(4, 5), T(4, 6), swap=True", True),
    ("torch.nn.functional.cosine_embedding_loss", "T(4, 5), T(5), T(4)", True),
    ("torch.nn.functional.cosine_embedding_loss", "T(1, 5), T(4, 5), T(4)", False),
    ("torch.nn.functional.conv_transpose1d", "T(2, 4, 10), T(4, 8, 3), dilation=0", True),
    ("torch.nn.functional.conv_transpose1d", "T(2, 4, 10), T(4, 8, 1), dilation=-1", True),
]


@pytest.mark.parametrize(("qualname", "src", "raises"), FUNCTIONS)
def test_function_agrees_with_torch(qualname: str, src: str, raises: bool) -> None:
    ours, _ = engine_call(qualname, src)
    theirs = torch_call(qualname, src)
    assert isinstance(theirs, Exception) == raises, theirs
    if raises:
        assert isinstance(ours, Outcome) and ours.code is not None, ours
    else:
        assert not isinstance(ours, Outcome), ours
        assert ours.shape == tuple(theirs.shape)  # type: ignore[attr-defined]
