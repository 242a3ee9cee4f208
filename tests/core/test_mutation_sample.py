"""Offline sample of benchmarks/mutate.py: the same mutation procedure over the self-written
zoo fixtures (no download). Every derivable Linear/ConvNd/BatchNormNd size mutant must be
caught at the constructor (>= 90% required, as for the real corpus) and the unmutated files
must be clean.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
ZOO = sorted((ROOT / "tests" / "fixtures" / "torch").glob("zoo_*.py"))


def _mutate_module():  # type: ignore[no-untyped-def]
    spec = importlib.util.spec_from_file_location(
        "shape_lsp_bench_mutate", ROOT / "benchmarks" / "mutate.py"
    )
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = mod  # dataclasses look their module up
    spec.loader.exec_module(mod)
    return mod


def test_zoo_mutants_caught() -> None:
    assert ZOO, "no zoo fixtures"
    mutate = _mutate_module()
    out = mutate.run([(p, p.name) for p in ZOO], jobs=1, time_box=25.0, limit=10.0)
    detail = f"missed: {out['missed']}; unmutated: {out['unmutated_list']}"
    assert out["unmutated_findings"] == 0, detail
    assert not out["crashes"], out["crashes"]
    assert out["timed_out"] == 0
    assert out["derivable"] >= 10, out  # the sample must exercise something
    assert out["caught"] >= 0.9 * out["derivable"], detail


def test_mutation_site_and_criterion() -> None:
    mutate = _mutate_module()
    src = (
        "import torch.nn as nn\n"
        "net = nn.Sequential(\n"
        "    nn.Linear(8, 4),\n"
        "    nn.Linear(in_features=4, out_features=2),\n"
        ")\n"
    )
    sites = mutate.sites(src)
    assert [(s.layer, s.line, s.arg_text) for s in sites] == [
        ("Linear", 3, "8"),
        ("Linear", 4, "4"),
    ]
    assert "nn.Linear(in_features=(4) + 1, out_features=2)" in mutate.mutate(src, sites[1])
    assert mutate.split_shape("(B, 64, (H + 1)//2, W)") == ["B", "64", "(H + 1)//2", "W"]
    assert mutate.checked_dim("Conv2d", ["64", "H", "W"]) == "64"  # unbatched
    assert mutate.checked_dim("Linear", ["B", "?", "768"]) == "768"
