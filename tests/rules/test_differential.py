"""Differential test against torch (small): random configurations around the examples of the
main layer families, through the engine and through torch (benchmarks/differential.py is the
large run, thousands per rule, with the full classification)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

pytest.importorskip("torch")

ROOT = Path(__file__).parents[2]
_spec = importlib.util.spec_from_file_location(
    "shape_differential", ROOT / "benchmarks" / "differential.py"
)
assert _spec is not None and _spec.loader is not None
differential = importlib.util.module_from_spec(_spec)
sys.modules["shape_differential"] = differential
_spec.loader.exec_module(differential)

# Main families (the large run covers every rule; it finds no disagreement). BatchNorm on one
# value per channel raises in training mode only: counted as "training only", not a miss.
RULES = [
    "torch.nn.BatchNorm1d",
    "torch.nn.CosineEmbeddingLoss",
    "torch.nn.TripletMarginLoss",
    "torch.nn.Conv1d",
    "torch.nn.Conv2d",
    "torch.nn.Conv3d",
    "torch.nn.ConvTranspose1d",
    "torch.nn.ConvTranspose2d",
    "torch.nn.MaxPool1d",
    "torch.nn.MaxPool2d",
    "torch.nn.AvgPool2d",
    "torch.nn.AdaptiveAvgPool2d",
    "torch.nn.Linear",
    "torch.nn.LayerNorm",
    "torch.nn.GroupNorm",
    "torch.nn.Flatten",
    "torch.nn.Unflatten",
    "torch.nn.Upsample",
    "torch.nn.PixelShuffle",
    "torch.nn.PixelUnshuffle",
    "torch.nn.ZeroPad2d",
    "torch.nn.CircularPad2d",
    "torch.nn.Softmax",
    "torch.nn.UpsamplingNearest2d",
    "torch.nn.Bilinear",
    "torch.nn.ReflectionPad2d",
    "torch.nn.ReplicationPad2d",
]


@pytest.mark.parametrize("name", RULES)
def test_engine_agrees_with_torch(name: str) -> None:
    result = differential.run_rule((name, 100, 1234))
    bad = {k: v for k, v in result["counts"].items() if k in differential.DISAGREE}
    assert not bad, (bad, result["samples"])
    assert sum(result["counts"].values()) >= 80
