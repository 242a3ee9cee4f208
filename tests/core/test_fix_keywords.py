"""Quick fixes on keyword arguments: `Set in_features` rewrites `in_features=...` in place."""

from __future__ import annotations

from pathlib import Path

import pytest

from shape_lsp import cli

SOURCE = """\
import torch
import torch.nn as nn

class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(in_features=32, out_features=16)
        self.fc2 = nn.Linear(out_features=4, in_features=10)

    def forward(self, x):
        return self.fc2(self.fc1(x))

net = Net()
y = net(torch.randn(2, 32))
"""


def test_set_in_features_on_keyword_arguments(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target = tmp_path / "kw.py"
    target.write_text(SOURCE)
    assert cli.main(["check", str(target)]) == 1
    assert "SH101" in capsys.readouterr().out
    assert cli.main(["check", "--fix", str(target)]) == 0
    fixed = target.read_text()
    assert "nn.Linear(out_features=4, in_features=16)" in fixed, fixed
    assert fixed.replace("in_features=16)", "in_features=10)") == SOURCE
