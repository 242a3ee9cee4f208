"""CLI rough edges a new user hits: usage errors exit 2, counts, exit rule, broken pipes."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from shape_lsp import cli

BUG = "import torch.nn as nn\nimport torch\nnet = nn.Linear(10, 5)\nnet(torch.randn(2, 11))\n"
CLEAN = "import torch.nn as nn\nimport torch\nnet = nn.Linear(10, 5)\nnet(torch.randn(2, 10))\n"
# MaxPool with stride 3 over a window of 2: only SH113 (information).
INFO = (
    "import keras\n"
    "model = keras.Sequential([keras.Input((128, 128, 1)), keras.layers.MaxPooling2D(2, 3)])\n"
)


def _run(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = cli.main([*args, "--no-cache"] if args[0] == "check" else args)
    out, err = capsys.readouterr()
    return code, out, err


def test_missing_config_file_is_a_usage_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "m.py").write_text(CLEAN)
    code, _, err = _run(["check", "--config", str(tmp_path / "nope.toml"), str(tmp_path)], capsys)
    assert code == 2 and "nope.toml" in err


def test_config_file_is_read_even_when_not_named_pyproject(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "m.py").write_text(BUG)
    cfg = tmp_path / "shape.toml"
    cfg.write_text('[tool.shape-lsp]\nignore = ["SH101"]\n')
    code, out, _ = _run(["check", "--config", str(cfg), str(tmp_path)], capsys)
    assert code == 0 and "All checks passed" in out


@pytest.mark.parametrize("flag", ["--select", "--ignore"])
def test_unknown_rule_code_is_a_usage_error(
    flag: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "m.py").write_text(BUG)
    code, out, err = _run(["check", flag, "SH999", str(tmp_path)], capsys)
    assert code == 2 and "SH999" in err and "All checks passed" not in out


def test_count_says_files_with_problems_and_files_checked(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "a.py").write_text(BUG)
    (tmp_path / "b.py").write_text(CLEAN)
    (tmp_path / "c.py").write_text(CLEAN)
    code, out, _ = _run(["check", str(tmp_path)], capsys)
    assert code == 1
    assert out.rstrip().splitlines()[-1] == "Found 1 problem in 1 file (3 checked)."


def test_information_is_shown_with_its_severity_and_does_not_fail(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "k.py").write_text(INFO)
    code, out, _ = _run(["check", str(tmp_path)], capsys)
    assert "SH113 [information]" in out
    assert code == 0


def test_severity_override_is_visible_and_decides_the_exit(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "k.py").write_text(INFO)
    (tmp_path / "pyproject.toml").write_text('[tool.shape-lsp]\nseverity = { SH113 = "error" }\n')
    code, out, _ = _run(["check", str(tmp_path / "k.py")], capsys)
    assert "SH113 " in out and "[information]" not in out
    assert code == 1


def test_summary_into_a_closed_pipe_exits_quietly(tmp_path: Path) -> None:
    layers = ", ".join(["nn.Linear(8, 8)"] * 400)
    src = f"import torch, torch.nn as nn\nnet = nn.Sequential({layers})\nnet(torch.randn(2, 8))\n"
    f = tmp_path / "big.py"
    f.write_text(src)
    proc = subprocess.Popen(
        [sys.executable, "-m", "shape_lsp", "summary", str(f)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert proc.stdout is not None and proc.stderr is not None
    proc.stdout.readline()
    proc.stdout.close()  # like `| head -1`
    err = proc.stderr.read().decode()
    proc.wait(timeout=60)
    assert "Traceback" not in err and "BrokenPipeError" not in err
