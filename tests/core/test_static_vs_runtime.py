"""Differential check of the engine against torch on correct models: every module call the
verifier observes at runtime must match the static shape, which must be known (these models are
all static), and the
static parameter totals must equal sum(p.numel())."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from shape_lsp.core.api import Analyzer
from shape_lsp.core.codes import CODES
from shape_lsp.core.results import Severity
from tests.core.test_fixtures import FILES, FIXTURES, expectations

pytest.importorskip("torch")

CORRECT = [
    p
    for p in FILES
    if p.parent.name == "torch"
    and not any(
        CODES[c].severity == Severity.ERROR
        for _, c in expectations(p.read_text(encoding="utf-8"))[0]
    )
]


@pytest.mark.parametrize("path", CORRECT, ids=[str(p.relative_to(FIXTURES)) for p in CORRECT])
def test_static_shapes_agree_with_runtime(path: Path) -> None:
    from shape_lsp.verifier.client import run_verify

    report = run_verify(str(path), device="cpu", timeout=120)
    assert report.status == "ok", (report.status, report.message, report.stderr[-2000:])
    calls = [(m.name, c) for m in report.models for c in m.calls]
    assert calls, "no module call observed"
    # every call's static shape is known and right: an unknown is a regression here too
    assert [c for c in calls if c[1].agrees is not True] == []


PARAMS = r"""
import json, runpy, sys, torch.nn as nn
out = {}
for path in sys.argv[1:]:
    g = runpy.run_path(path, run_name="__main__")
    for name, v in g.items():
        if isinstance(v, nn.Module):
            key = name if isinstance(v, nn.Sequential) else type(v).__name__
            out.setdefault(path, {})[key] = sum(p.numel() for p in v.parameters())
print(json.dumps(out))
"""


def test_static_parameter_counts_match_torch() -> None:
    proc = subprocess.run(
        [sys.executable, "-c", PARAMS, *map(str, CORRECT)],
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )
    runtime = json.loads(proc.stdout.strip().splitlines()[-1])
    an = Analyzer()
    compared = 0
    for path in CORRECT:
        result = an.analyze(path.read_text(encoding="utf-8"), str(path))
        static = {m.name: m.total_params for m in result.models}
        for name, n in runtime.get(str(path), {}).items():
            if name in static:
                assert static[name] == n, f"{path.name}:{name}: {static[name]} != {n}"
                compared += 1
    assert compared >= 8
