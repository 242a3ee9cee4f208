"""`shape-lsp check --fix`: the preferred fixes are applied and torch then runs the file."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from shape_lsp import cli

ROOT = Path(__file__).resolve().parents[2]
FIXABLE = [
    ROOT / "examples" / "cnn.py",
    ROOT / "tests" / "fixtures" / "torch" / "seed000_flatten_bug.py",
    ROOT / "tests" / "fixtures" / "torch" / "seed003_in_features_bug.py",
]


def _runs(path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(path)], capture_output=True, text=True, timeout=300, check=False
    )


@pytest.mark.parametrize("source", FIXABLE, ids=lambda p: p.name)
def test_fix_makes_the_model_run_in_torch(
    source: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pytest.importorskip("torch")
    target = tmp_path / source.name
    shutil.copy(source, target)
    assert "Error" in _runs(target).stderr  # torch raises before the fix
    assert cli.main(["check", "--fix", str(target)]) == 0
    out = capsys.readouterr().out
    assert "Fixed" in out and "All checks passed" in out
    ran = _runs(target)
    assert ran.returncode == 0, ran.stderr[-2000:]
    fixed = target.read_text()
    assert cli.main(["check", "--fix", str(target)]) == 0  # nothing left to do
    assert "Fixed" not in capsys.readouterr().out
    assert target.read_text() == fixed


def test_fix_leaves_unfixable_findings_and_undecodable_files(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    fixture = ROOT / "tests" / "fixtures" / "torch" / "seed000_embedding_size_bug.py"
    target = tmp_path / fixture.name
    shutil.copy(fixture, target)
    latin = tmp_path / "latin.py"
    data = (ROOT / "examples" / "cnn.py").read_bytes() + b"# caf\xe9\n"
    latin.write_bytes(data)
    assert cli.main(["check", "--fix", str(tmp_path)]) == 1
    assert target.read_text() == fixture.read_text()
    assert latin.read_bytes() == data  # not valid UTF-8: never rewritten
    assert "SH101" in capsys.readouterr().out
