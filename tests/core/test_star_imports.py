"""`from .parts import *` brings in what `parts` exports (its `__all__`, else public names).

Each project is also run in torch (`python -m proj.model`) to confirm the bug is real and the
fixed version runs.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from shape_lsp.core.api import Analyzer

PARTS = """
import torch.nn as nn

__all__ = ["Block", "WIDTH"]
WIDTH = 4


class Block(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.conv = nn.Conv2d(c, c * 2, 3, padding=1)

    def forward(self, x):
        return self.conv(x)


class _Private(nn.Module):
    pass
"""

MODEL = """
import torch
import torch.nn as nn
from torch.nn import *
from .parts import *


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.b = Block(WIDTH)
        self.out = Conv2d(OUT_IN, 2, 1)

    def forward(self, x):
        return self.out(self.b(x))


OUT_IN = 8
if __name__ == "__main__":
    Net()(torch.randn(1, 4, 8, 8))
"""


def _project(tmp_path: Path, out_in: int, all_names: str = '"Block", "WIDTH"') -> Path:
    pkg = tmp_path / "proj"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    parts = textwrap.dedent(PARTS).replace('"Block", "WIDTH"', all_names)
    (pkg / "parts.py").write_text(parts)
    model = pkg / "model.py"
    model.write_text(textwrap.dedent(MODEL).replace("OUT_IN = 8", f"OUT_IN = {out_in}"))
    return model


def _torch_raises(model: Path) -> bool:
    pytest.importorskip("torch")
    proc = subprocess.run(
        [sys.executable, "-m", "proj.model"],
        cwd=model.parent.parent,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert "ModuleNotFoundError" not in proc.stderr, proc.stderr
    return proc.returncode != 0


def test_star_import_valid(tmp_path: Path) -> None:
    model = _project(tmp_path, 8)
    r = Analyzer().analyze(model.read_text(), str(model))
    assert r.findings == ()
    (net,) = [m for m in r.models if m.name == "Net"]
    assert net.output == "(1, 2, 8, 8)"
    assert not _torch_raises(model)


def test_star_import_invalid(tmp_path: Path) -> None:
    model = _project(tmp_path, 4)
    r = Analyzer().analyze(model.read_text(), str(model))
    assert [f.code for f in r.findings] == ["SH102"]
    assert _torch_raises(model)


def test_names_outside_all_are_not_imported(tmp_path: Path) -> None:
    """`Block` left out of `__all__`: Python raises NameError; the engine must not follow it."""
    model = _project(tmp_path, 4, '"WIDTH"')
    r = Analyzer().analyze(model.read_text(), str(model))
    assert r.findings == ()
    (net,) = [m for m in r.models if m.name == "Net"]
    assert "b.conv" not in [c.module for c in net.calls]
