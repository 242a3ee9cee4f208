"""The fixtures are real programs: torch must fail exactly on those that expect an error.

All fixtures run in one subprocess (one torch import); each is executed as `__main__`.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from shape_lsp.core.codes import CODES
from shape_lsp.core.results import Severity
from tests.core.test_fixtures import FILES, FIXTURES, expectations

pytest.importorskip("torch")

RUNNER = r"""
import json, runpy, sys, traceback, warnings
warnings.simplefilter("ignore")
out = {}
for path in sys.argv[1:]:
    try:
        runpy.run_path(path, run_name="__main__")
        out[path] = None
    except Exception as e:  # what torch raised
        out[path] = f"{type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}"
print(json.dumps(out))
"""

TORCH_FILES = [p for p in FILES if p.parent.name == "torch"]


@pytest.fixture(scope="module")
def torch_outcomes() -> dict[str, str | None]:
    proc = subprocess.run(
        [sys.executable, "-c", RUNNER, *map(str, TORCH_FILES)],
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )
    return json.loads(proc.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


@pytest.mark.parametrize(
    "path", TORCH_FILES, ids=[str(p.relative_to(FIXTURES)) for p in TORCH_FILES]
)
def test_torch_agrees(path: Path, torch_outcomes: dict[str, str | None]) -> None:
    want, _ = expectations(path.read_text(encoding="utf-8"))
    errors = {c for _, c in want if CODES[c].severity == Severity.ERROR}
    raised = torch_outcomes[str(path)]
    if errors:
        assert raised is not None, f"torch ran it fine but the fixture expects {sorted(errors)}"
        assert raised.split(":")[0] in ("RuntimeError", "ValueError", "IndexError"), raised
    else:
        assert raised is None, f"torch raised {raised}"
