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
    engine_layer,
    torch_layer,
)

torch = pytest.importorskip("torch")

# BatchNorm on one value per channel: torch raises in training mode only, which the source does
# not show; the engine reports nothing and gives eval mode's shape
TRAINING_ONLY = [
    ("nn.BatchNorm1d(8)", (1, 8)),
    ("nn.BatchNorm1d(8)", (1, 8, 1)),
    ("nn.BatchNorm2d(3)", (1, 3, 1, 1)),
    ("nn.BatchNorm3d(2, affine=False)", (1, 2, 1, 1, 1)),
]


@pytest.mark.parametrize(("ctor", "shape"), TRAINING_ONLY)
def test_batchnorm_single_value_is_training_only(ctor: str, shape: tuple[int, ...]) -> None:
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
    assert d.classify("nn.BatchNorm1d(8)", ((1, 9),))[0] == "agree"
    # an engine error where torch raises in training mode only is not proven
    monkeypatch.setattr(harness, "engine_layer", lambda ctor, inputs: Outcome(None, "SH112"))
    assert d.classify("nn.BatchNorm1d(8)", ((1, 8),))[0] == "false positive"
