"""`shape-lsp check`'s result cache: reused when nothing changed, never stale."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest

from shape_lsp import cli
from shape_lsp.core.api import Analyzer

BLOCKS = """
import torch.nn as nn


class Block(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(8, {width})

    def forward(self, x):
        return self.fc(x)
"""

MODEL = """
import torch
import torch.nn as nn

from .blocks import Block


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.block = Block()
        self.out = nn.Linear(16, 2)

    def forward(self, x):
        return self.out(self.block(x))


net = Net()
y = net(torch.randn(4, 8))
"""


def _project(tmp_path: Path, width: int) -> Path:
    pkg = tmp_path / "proj"
    pkg.mkdir(exist_ok=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "blocks.py").write_text(textwrap.dedent(BLOCKS.format(width=width)))
    (pkg / "model.py").write_text(textwrap.dedent(MODEL))
    return pkg


def _check(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, dict[str, object]]:
    code = cli.main(["check", "--format", "json", *args])
    return code, json.loads(capsys.readouterr().out)


def _codes(report: dict[str, object]) -> list[str]:
    files = report["files"]
    assert isinstance(files, list)
    return [d["code"] for f in files for d in f["diagnostics"]]


def _no_analysis(monkeypatch: pytest.MonkeyPatch) -> None:
    def fail(*_: object, **__: object) -> None:
        raise AssertionError("analysed although the cache was current")

    monkeypatch.setattr(Analyzer, "analyze", fail)


def test_second_run_is_served_from_the_cache(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    pkg = _project(tmp_path, 32)
    first = _check(capsys, str(pkg))
    assert first[0] == 1 and _codes(first[1]) == ["SH101"]
    _no_analysis(monkeypatch)
    assert _check(capsys, str(pkg)) == first


def test_an_edited_import_invalidates_its_importer(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pkg = _project(tmp_path, 32)
    assert _codes(_check(capsys, str(pkg / "model.py"))[1]) == ["SH101"]
    _project(tmp_path, 16)  # blocks.py fixed; model.py itself unchanged
    assert _check(capsys, str(pkg / "model.py")) == (
        0,
        _check(capsys, "--no-cache", str(pkg / "model.py"))[1],
    )
    assert _codes(_check(capsys, str(pkg / "model.py"))[1]) == []


def test_a_new_file_that_changes_imports_invalidates(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pkg = _project(tmp_path, 32)
    model = pkg / "model.py"
    model.write_text(model.read_text().replace("from .blocks import", "from .layers import"))
    assert _codes(_check(capsys, str(model))[1]) == []  # .layers is missing: nothing known
    (pkg / "layers.py").write_text((pkg / "blocks.py").read_text())
    assert _codes(_check(capsys, str(model))[1]) == ["SH101"]


def test_settings_are_part_of_the_key(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    pkg = _project(tmp_path, 32)
    assert _codes(_check(capsys, str(pkg))[1]) == ["SH101"]
    assert _check(capsys, "--ignore", "SH101", str(pkg)) == (
        0,
        _check(capsys, "--no-cache", "--ignore", "SH101", str(pkg))[1],
    )
    assert _codes(_check(capsys, str(pkg))[1]) == ["SH101"]


def test_a_damaged_cache_is_recomputed(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    pkg = _project(tmp_path, 32)
    cache = tmp_path / "cache"
    first = _check(capsys, "--cache-dir", str(cache), str(pkg))
    entries = sorted((cache / "v1").glob("*.json"))
    assert len(entries) == 3
    for i, entry in enumerate(entries):
        entry.write_text(["", "{", "[1]", '{"key": 1}'][i % 4])
    assert _check(capsys, "--cache-dir", str(cache), str(pkg)) == first
    assert (cache / ".gitignore").read_text().strip().endswith("*")


def test_no_cache_writes_nothing(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    pkg = _project(tmp_path, 32)
    cache = tmp_path / "cache"
    _check(capsys, "--no-cache", "--cache-dir", str(cache), str(pkg))
    assert not cache.exists()
