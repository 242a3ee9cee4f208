"""The analysis core imports neither torch nor the LSP stack, and never runs user code."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

CORE = Path(__file__).parents[2] / "shape_lsp" / "core"
FORBIDDEN = (
    "torch",  # torchvision too
    "keras",
    "tensorflow",
    "pygls",
    "lsprotocol",
    "shape_lsp.server",
    "shape_lsp.verifier",
)


def test_core_sources_do_not_import_forbidden_modules() -> None:
    for path in CORE.rglob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            names: list[str] = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                names = [node.module]
            for n in names:
                assert not n.startswith(FORBIDDEN), f"{path.name} imports {n}"


def test_analysis_loads_no_torch_and_runs_nothing(tmp_path: Path) -> None:
    marker = tmp_path / "executed"
    model = tmp_path / "model.py"
    model.write_text(
        "import pathlib\n"
        f"pathlib.Path({str(marker)!r}).write_text('ran')\n"
        "import torch.nn as nn\n"
        "from torch.utils.data import DataLoader\n"
        "from torchvision import datasets, transforms\n"
        "from keras.datasets import mnist\n"
        "(xk, yk), _ = mnist.load_data()\n"
        "ds = datasets.MNIST('d', transform=transforms.ToTensor())\n"
        "net = nn.Sequential(nn.Flatten(), nn.Linear(784, 8), nn.Linear(9, 2))\n"
        "for x, y in DataLoader(ds, batch_size=4):\n"
        "    net(x)\n"
        "if __name__ == '__main__':\n"
        f"    pathlib.Path({str(marker)!r}).write_text('main ran')\n",
        encoding="utf-8",
    )
    code = (
        "import sys\n"
        "from shape_lsp.cli import main\n"
        f"rc = main(['check', {str(model)!r}])\n"
        "for lib in ('torch', 'torchvision', 'keras', 'tensorflow'):\n"
        "    assert lib not in sys.modules, lib + ' was imported'\n"
        "print('rc', rc)\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=False
    )
    assert proc.returncode == 0, proc.stderr
    assert "rc 1" in proc.stdout and "SH101" in proc.stdout, proc.stdout
    assert not marker.exists()


def test_rules_page_is_in_sync() -> None:
    from shape_lsp.core.codes import rules_markdown

    page = Path(__file__).parents[2] / "docs" / "rules.md"
    assert page.read_text(encoding="utf-8").strip() == rules_markdown().strip(), (
        "regenerate with: shape-lsp rules --format markdown > docs/rules.md"
    )
