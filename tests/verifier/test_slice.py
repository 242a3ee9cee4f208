"""verify runs a static slice of the file: never its training code (torch and Keras)."""

from __future__ import annotations

import ast
import importlib.util
import io
import json
import shutil
from pathlib import Path

import pytest

from shape_lsp.verifier.agent import slicing
from shape_lsp.verifier.client import run_verify
from shape_lsp.verifier.command import main
from tests.verifier.conftest import fixture


def _copy(name: str, tmp_path: Path) -> Path:
    target = tmp_path / name
    shutil.copy(fixture(name), target)
    return target


def _slice(source: str, roots: set[str] = frozenset(), discover: bool = True):  # type: ignore[no-untyped-def,assignment]
    tree = ast.parse(source)
    module, info, missing = slicing.slice_module(tree, source.splitlines(), set(roots), discover)
    return [ast.get_source_segment(source, s) for s in module.body], info, missing


def test_slice_keeps_what_the_model_uses_and_skips_training() -> None:
    source = (
        "import torch\n"  # 1
        "import torch.nn as nn\n"  # 2
        "torch.manual_seed(0)\n"  # 3
        "WIDTH = 8\n"  # 4
        "train_data = download('mnist')\n"  # 5
        "blocks = []\n"  # 6
        "for i in range(3):\n"  # 7
        "    blocks.append(nn.Linear(WIDTH, WIDTH))\n"  # 8
        "def helper():\n"  # 9
        "    return train_data\n"  # 10
        "model = nn.Sequential(*blocks)\n"  # 11
        "model.fit(train_data)\n"  # 12
        "for x in train_data:\n"  # 13
        "    model(x)\n"  # 14
        "print(model)\n"  # 15
        "if __name__ == '__main__':\n"  # 16
        "    helper()\n"  # 17
    )
    kept, info, missing = _slice(source)
    assert kept == [
        "import torch",
        "import torch.nn as nn",
        "torch.manual_seed(0)",
        "WIDTH = 8",
        "blocks = []",
        "for i in range(3):\n    blocks.append(nn.Linear(WIDTH, WIDTH))",
        "def helper():\n    return train_data",
        "model = nn.Sequential(*blocks)",
    ]
    assert info["ran"] == [[1, 4], [6, 11]]
    assert [(k["line"], k["end_line"], k["reason"]) for k in info["skipped"]] == [
        (5, 5, "not needed by the model"),
        (12, 12, "not needed by the model"),
        (13, 14, "not needed by the model"),
        (15, 15, "not needed by the model"),
        (16, 17, "__main__ block"),
    ]
    assert missing == {"train_data": 5, "x": 13}


def test_slice_follows_what_the_requested_model_reads() -> None:
    source = (
        "import torch.nn as nn\n"
        "import data\n"
        "vocab = data.load_vocab()\n"  # read by the model: kept
        "loader = data.loader()\n"  # read only by train(): skipped
        "class Net(nn.Module):\n"
        "    def __init__(self):\n"
        "        super().__init__()\n"
        "        self.emb = nn.Embedding(len(vocab), 4)\n"
        "def train(net):\n"
        "    for x in loader:\n"
        "        net(x)\n"
        "net = Net()\n"
        "train(net)\n"
    )
    kept, _, _ = _slice(source, {"Net"}, discover=False)
    assert "vocab = data.load_vocab()" in kept
    assert "loader = data.loader()" not in kept and "train(net)" not in kept
    assert "net = Net()" not in kept  # not requested (a module-level model found by discovery)
    assert "net = Net()" in _slice(source)[0]


@pytest.mark.usefixtures("no_static")  # discovery: the agent finds `model = Net()` itself
def test_training_script_is_not_run_and_the_model_still_verifies(tmp_path: Path) -> None:
    path = _copy("training_script.py", tmp_path)
    r = run_verify(str(path), device="cpu", timeout=60)
    assert r.status == "ok", r.message
    assert [m.name for m in r.models] == ["model"]
    assert [(c.module, c.output) for c in r.models[0].calls] == [
        ("fc1", [2, 32]),
        ("fc2", [2, 3]),
        ("", [2, 3]),
    ]
    assert "training finished" not in r.stdout
    assert not (tmp_path / "weights.pt").exists() and not (tmp_path / "dataset.tar.gz").exists()
    assert r.ran == [[1, 8], [12, 24], [29, 29]]  # not: 9 (OUT), 30 (load_state_dict)...
    skipped = [k.line for k in r.skipped]
    assert skipped == [9, 27, 28, 30, 31, 32, 35, 36, 37, 38, 41]
    assert r.skipped[-1].reason == "__main__ block"


@pytest.mark.usefixtures("no_static")
def test_text_and_json_say_what_ran_and_what_was_skipped(tmp_path: Path) -> None:
    path = _copy("training_script.py", tmp_path)
    out = io.StringIO()
    assert main([str(path), "--device", "meta"], out=out) == 0
    text = out.getvalue()
    assert "ran lines 1-8, 12-24, 29 (imports, definitions and what the models use)" in text
    assert "skipped 11 statement(s): line 9 `OUT = pathlib.Path(" in text
    assert "line 27 `urllib.request.urlretrieve(" in text and "and 5 more" in text
    out = io.StringIO()
    assert main([str(path), "--device", "meta", "--format", "json"], out=out) == 0
    doc = json.loads(out.getvalue())
    assert doc["ran"] == [[1, 8], [12, 24], [29, 29]]
    assert doc["skipped"][1] == {
        "line": 27,
        "end_line": 27,
        "code": 'urllib.request.urlretrieve("http://127.0.0.1:9/dataset.ta...',
        "reason": "not needed by the model",
    }
    assert doc["skipped"][5]["end_line"] == 34  # the training loop, whole


def test_names_the_model_reads_are_kept_and_a_missing_one_is_explained(tmp_path: Path) -> None:
    path = tmp_path / "uses_globals.py"
    model = (
        "import torch.nn as nn\n"
        "def width():\n"
        "    return n_in * 2\n"
        "class Net(nn.Module):\n"
        "    def __init__(self):\n"
        "        super().__init__()\n"
        "        self.fc = nn.Linear(width(), 2)\n"
        "    def forward(self, x):\n"
        "        return self.fc(x)\n"
    )
    path.write_text(model + "n_in = len(open(__file__).read()) and 4\nprint(open(__file__))\n")
    ok = run_verify(str(path), device="meta")
    assert ok.status == "ok", ok.message  # read by width(), which the model calls: kept
    assert ok.models[0].calls[-1].output == [2, 2]
    assert [k.line for k in ok.skipped] == [11]
    path.write_text(model + "if __name__ == '__main__':\n    n_in = 4\n")
    bad = run_verify(str(path), device="meta")
    assert bad.status == "error"
    assert "NameError" in bad.message and "`n_in` is only assigned at line 10" in bad.message


@pytest.mark.skipif(importlib.util.find_spec("keras") is None, reason="keras is not installed")
def test_keras_fit_and_save_are_skipped(tmp_path: Path) -> None:
    path = _copy("keras_fit.py", tmp_path)
    r = run_verify(str(path), device="cpu", timeout=120)
    assert r.status == "ok", r.message
    (m,) = r.models
    assert [(c.module, c.output[1:]) for c in m.calls if c.output] == [
        ("dense", [8]),
        ("dense_1", [2]),
        ("", [2]),
    ]
    assert all(c.agrees is not False for c in m.calls)
    assert [k.line for k in r.skipped] == [7, 12, 13, 14, 15, 16]
    assert not (tmp_path / "model.keras").exists()


def test_slice_keeps_builders_config_and_keras_graphs_but_not_training() -> None:
    source = (
        "import argparse, sys, numpy as np, keras\n"
        "sys.path.append('..')\n"  # config of an imported module: kept
        "np.random.seed(0)\n"
        "parser = argparse.ArgumentParser()\n"
        "parser.add_argument('--hidden', type=int, default=8)\n"  # fills `parser`: kept
        "args = parser.parse_args([])\n"
        "inputs = keras.Input(shape=(4,))\n"
        "x = keras.layers.Dense(args.hidden)(inputs)\n"
        "x = keras.layers.Dense(2)(x)\n"
        "model = keras.Model(inputs, x)\n"
        "model.compile('adam', 'mse')\n"
        "model.summary()\n"
        "model.fit(np.zeros((4, 4)), np.zeros((4, 2)))\n"
        "model.save('m.keras')\n"
    )
    kept, info, _ = _slice(source)
    assert info["ran"] == [[1, 10]]
    assert [k["line"] for k in info["skipped"]] == [11, 12, 13, 14]
    kept_requested, _, _ = _slice(source, {"model"}, discover=False)
    assert kept_requested == kept


def test_agent_package_is_valid_python_38_syntax() -> None:
    path = Path(slicing.__file__).parent
    for module in path.glob("*.py"):
        ast.parse(module.read_text(encoding="utf-8"), feature_version=(3, 8))
