"""`shape-lsp verify` on a notebook: only the cells that define the model run (really, in
torch), the report says which, and locations name the cell."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest

from shape_lsp.notebooks import model_cells, read_cells
from shape_lsp.verifier.command import main

MODEL = """\
class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 6, 5)
        self.fc = nn.Linear(100, 10)

    def forward(self, x):
        x = self.conv(x)
        return self.fc(x)"""


def code(source: str) -> dict[str, Any]:
    return {"cell_type": "code", "execution_count": None, "metadata": {}, "outputs": [],
            "source": source}  # fmt: skip


def write(path: Path, cells: list[dict[str, Any]]) -> Path:
    nb = {"cells": cells, "metadata": {}, "nbformat": 4, "nbformat_minor": 5}
    path.write_text(json.dumps(nb, indent=1))
    return path


def _notebook(tmp_path: Path) -> Path:
    marker = tmp_path / "ran"
    return write(
        tmp_path / "nb.ipynb",
        [
            {"cell_type": "markdown", "metadata": {}, "source": "# training"},
            code("import torch\nfrom torch import nn\n%matplotlib inline"),
            code("!pip install torchvision"),
            code(
                f"ds = torchvision.datasets.MNIST('data', download=True)\nopen({str(marker)!r}, 'w')"
            ),
            code(MODEL),
            code("net = Net()\nx = torch.randn(4, 3, 32, 32)"),
            code(
                f"for epoch in range(2):\n    open({str(marker)!r}, 'w')\n    net(x).sum().backward()"
            ),
            code("loader = torch.utils.data.DataLoader(ds)"),
            code("n = len(loader)"),
        ],
    )


def test_model_cells_leave_out_training_downloads_and_what_needs_them(tmp_path: Path) -> None:
    cells = read_cells(_notebook(tmp_path).read_text())
    run, why = model_cells(cells)
    assert run == [1, 4, 5]
    assert why == {
        2: "IPython commands only",
        3: "downloads (download=...)",
        6: "a loop (training or evaluation)",
        7: "calls DataLoader()",
        8: "needs `loader` from cell 8",
    }


def test_verify_runs_only_the_model_cells(tmp_path: Path) -> None:
    pytest.importorskip("torch")
    nb = _notebook(tmp_path)
    out = io.StringIO()
    assert main([str(nb), "--device", "cpu", "--timeout", "120"], out=out) == 1
    text = out.getvalue()
    assert not (tmp_path / "ran").exists()  # neither the download cell nor the loop ran
    assert "ran cells 2, 5, 6 (not run: cell 3: IPython commands only; cell 4:" in text, text
    # torch's own error, located in the model's cell
    assert f"{nb}:cell 5:9:" in text and "mat1 and mat2 shapes cannot be multiplied" in text
    out = io.StringIO()
    main([str(nb), "--device", "cpu", "--timeout", "120", "--format", "json"], out=out)
    doc = json.loads(out.getvalue())
    assert doc["cells_run"] == [2, 5, 6] and sorted(doc["cells_not_run"]) == [
        "3",
        "4",
        "7",
        "8",
        "9",
    ]
    assert any(d["cell"] == 5 and d["line"] == 9 for d in doc["diagnostics"]), doc["diagnostics"]
