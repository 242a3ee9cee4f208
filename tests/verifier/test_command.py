"""`shape-lsp verify` as a command: formats and exit codes."""

from __future__ import annotations

import io
import json
import shutil
import sys
from pathlib import Path

import pytest

from shape_lsp.verifier.command import main
from tests.verifier.conftest import fixture

pytestmark = pytest.mark.usefixtures("no_static")


def _run(*argv: str) -> tuple[int, str]:
    out = io.StringIO()
    return main(list(argv), out=out), out.getvalue()


def test_json_output() -> None:
    code, text = _run(fixture("sequential.py"), "--device", "meta", "--format", "json")
    assert code == 0
    doc = json.loads(text)
    assert doc["version"] == 1 and doc["status"] == "ok" and doc["device"] == "meta"
    assert doc["dtype"] == "float32" and doc["diagnostics"] == []
    (m,) = doc["models"]
    assert m["name"] == "model" and m["error"] is None
    assert m["calls"][0] == {
        "module": "0",
        "line": 4,
        "layer": "Linear",
        "output": [2, 64],
        "dtype": "float32",
        "static_output": None,
        "agrees": None,
    }


def test_text_output_and_error_exit() -> None:
    code, text = _run(fixture("buggy.py"), "--device", "cpu")
    assert code == 1
    first = text.splitlines()[0]
    assert first.startswith(fixture("buggy.py") + ":14:9: SH202 Buggy: forward raised RuntimeError")
    assert "conv    Conv2d" in text and "verify error (cpu, float32)" in text


def test_json_error_diagnostic() -> None:
    code, text = _run(fixture("buggy.py"), "--device", "meta", "--format", "json")
    assert code == 1
    doc = json.loads(text)
    (d,) = doc["diagnostics"]
    assert (d["line"], d["column"], d["code"], d["severity"]) == (14, 9, "SH202", "error")
    assert doc["models"][0]["error"]["module"] == "fc"


def test_usage_errors_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert _run("/no/such/file.py")[0] == 2
    assert _run(fixture("convnet.py"), "--input-shape", "2,x")[0] == 2
    assert _run(fixture("convnet.py"), "--device", "tpu")[0] == 2
    assert _run(fixture("convnet.py"), "--timeout", "0")[0] == 2
    assert _run(fixture("convnet.py"), "--input-shape", "2,3,32", "--device", "meta")[0] == 2
    assert "2,x" in capsys.readouterr().err


def test_no_dtype_is_not_printed_as_none() -> None:
    code, text = _run(fixture("badimport.py"), "--device", "cpu")
    assert code == 1
    assert "(cpu, None)" not in text and "verify error (cpu): " in text


def test_the_configured_interpreter_runs_the_agent(tmp_path: Path) -> None:
    """--python, then [tool.shape-lsp.verify] python (pyproject), reach the subprocess."""
    log = tmp_path / "ran.log"

    def shim(name: str) -> Path:
        path = tmp_path / name
        path.write_text(f'#!/bin/sh\necho {name} >> "{log}"\nexec "{sys.executable}" "$@"\n')
        path.chmod(0o755)
        return path

    project = tmp_path / "proj"
    project.mkdir()
    shutil.copy(fixture("sequential.py"), project / "model.py")
    model = str(project / "model.py")
    assert _run(model, "--device", "meta", "--python", str(shim("cli-py")))[0] == 0
    (project / "pyproject.toml").write_text(
        f'[tool.shape-lsp.verify]\npython = "{shim("toml-py")}"\n'
    )
    assert _run(model, "--device", "meta")[0] == 0
    assert _run(model, "--device", "meta", "--python", str(tmp_path / "cli-py"))[0] == 0
    assert log.read_text().split() == ["cli-py", "toml-py", "cli-py"]
