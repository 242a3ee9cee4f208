"""Models imported from other files of the same project."""

from __future__ import annotations

import textwrap
from pathlib import Path

from shape_lsp.core.api import Analyzer

BLOCKS = """
from torch import nn as tnn  # not the importer's spelling
WIDTH = 3


class ConvBlock(tnn.Module):
    def __init__(self, cin, cout):
        super().__init__()
        self.conv = tnn.Conv2d(cin, cout, WIDTH, padding=1)
        self.act = tnn.ReLU()

    def forward(self, x):
        return self.act(self.conv(x))


def head(features, classes=10):
    return tnn.Sequential(tnn.Flatten(), tnn.Linear(features, classes))
"""

MODEL = """
import torch
import torch.nn as nn

from .blocks import ConvBlock, head
from . import blocks


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.b1 = ConvBlock(3, 16)
        self.b2 = blocks.ConvBlock(IN_2, 32)
        self.pool = nn.AdaptiveAvgPool2d(4)
        self.head = head(32 * 4 * 4)

    def forward(self, x):
        x = self.b2(self.b1(x))
        return self.head(self.pool(x))


IN_2 = 16
net = Net()
out = net(torch.randn(2, 3, 32, 32))
"""


def _project(tmp_path: Path, in_2: int) -> Path:
    pkg = tmp_path / "proj"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "blocks.py").write_text(textwrap.dedent(BLOCKS))
    model = pkg / "model.py"
    model.write_text(textwrap.dedent(MODEL).replace("IN_2 = 16", f"IN_2 = {in_2}"))
    return model


def test_imported_blocks_are_followed(tmp_path: Path) -> None:
    model = _project(tmp_path, 16)
    r = Analyzer().analyze(model.read_text(), str(model))
    assert r.findings == ()
    (net,) = [m for m in r.models if m.name == "Net"]
    assert net.output == "(2, 10)"
    assert [c.module for c in net.calls][:4] == ["", "b1", "b1.conv", "b1.act"]
    assert net.total_params == 3 * 16 * 9 + 16 + 16 * 32 * 9 + 32 + 512 * 10 + 10


def test_bug_inside_imported_code_is_reported_at_the_local_call(tmp_path: Path) -> None:
    model = _project(tmp_path, 8)
    r = Analyzer().analyze(model.read_text(), str(model))
    (f,) = r.findings
    assert f.code == "SH102"
    assert "inside blocks.py:" in f.message
    line = model.read_text().splitlines()[f.span.start_line]
    assert "self.b2(" in line


def test_open_buffer_overrides_the_disk(tmp_path: Path) -> None:
    model = _project(tmp_path, 16)
    an = Analyzer()
    assert an.analyze(model.read_text(), str(model)).findings == ()
    blocks = model.parent / "blocks.py"
    an.set_source(str(blocks), blocks.read_text().replace("padding=1", "padding=0"))
    r = an.analyze(model.read_text(), str(model))
    assert r.findings == ()  # sizes shrink but the adaptive pool absorbs it
    (net,) = [m for m in r.models if m.name == "Net"]
    assert [c.output for c in net.calls if c.module == "b2.conv"] == [(2, 32, 28, 28)]
    an.set_source(str(blocks), None)
    r = an.analyze(model.read_text(), str(model))
    (net,) = [m for m in r.models if m.name == "Net"]
    assert [c.output for c in net.calls if c.module == "b2.conv"] == [(2, 32, 32, 32)]


def test_cached_class_runs_follow_edits_of_imported_buffers(tmp_path: Path) -> None:
    # No example call: Net is run on its own, and that run is cached between analyses; the
    # imported file's buffer changing must invalidate it.
    model = _project(tmp_path, 16)
    text = model.read_text().split("net = Net()")[0]
    an = Analyzer()
    assert an.analyze(text, str(model)).findings == ()
    assert an.analyze(text, str(model)).findings == ()  # replayed
    blocks = model.parent / "blocks.py"
    an.set_source(str(blocks), blocks.read_text().replace("cout, WIDTH", "cout + 1, WIDTH"))
    got = an.analyze(text, str(model))
    fresh = Analyzer()
    fresh.set_source(str(blocks), blocks.read_text().replace("cout, WIDTH", "cout + 1, WIDTH"))
    assert got.findings == fresh.analyze(text, str(model)).findings != ()
    an.set_source(str(blocks), None)
    assert an.analyze(text, str(model)).findings == ()
