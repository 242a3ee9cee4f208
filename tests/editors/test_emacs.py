"""Real Emacs (batch) + Eglot + the real server, driven by editors/emacs/test/eglot-test.el."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.editors.conftest import python

REPO = Path(__file__).resolve().parents[2]
EMACS_DIR = REPO / "editors" / "emacs"
DRIVER = EMACS_DIR / "test" / "eglot-test.el"
FIXTURE = Path(__file__).parent / "fixtures" / "missing_flatten.py"


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    emacs = shutil.which("emacs")
    if emacs is None:
        pytest.skip("emacs is not installed (apt-get install emacs-nox elpa-eglot)")
    probe = subprocess.run(
        [
            emacs,
            "-Q",
            "--batch",
            "--eval",
            '(progn (dolist (d (file-expand-wildcards "/usr/share/emacs/site-lisp/elpa/*"))'
            ' (add-to-list \'load-path d)) (princ (if (locate-library "eglot") "yes" "no")))',
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    if "yes" not in probe.stdout:
        pytest.skip("Eglot is not available (Emacs 29+, or apt-get install elpa-eglot)")
    tmp = tmp_path_factory.mktemp("emacs")
    out = tmp / "results.json"
    nosite = tmp / "python-nosite"  # runs, but has no shape_lsp (no site-packages)
    nosite.write_text(f'#!/bin/sh\nexec "{python()}" -S "$@"\n')
    nosite.chmod(0o755)
    env = {
        **os.environ,
        "SHAPE_LSP_NOSITE_PY": str(nosite),
        "SHAPE_LSP_PY": python(),
        "SHAPE_LSP_FIXTURE": str(FIXTURE),
        "SHAPE_LSP_OUT": str(out),
    }
    proc = subprocess.run(
        [emacs, "-Q", "--batch", "-L", str(EMACS_DIR), "-l", str(DRIVER)],
        env=env,
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
        stdin=subprocess.DEVNULL,
        check=False,
    )
    assert out.exists(), proc.stdout + proc.stderr
    data: dict[str, Any] = json.loads(out.read_text())
    assert data.get("done"), data
    assert "error" not in data, (data["error"], proc.stderr[-3000:])
    return data


def test_eglot_connects_and_shows_the_bug(run: dict[str, Any]) -> None:
    assert run["connected"] is True
    lines = FIXTURE.read_text().splitlines()
    flagged = [lines[d["line"]] for d in run["diagnostics"]]
    assert any("self.head(x)" in t for t in flagged), run["diagnostics"]
    assert any("SH101" in d["text"] or "in_features" in d["text"] for d in run["diagnostics"])


def test_eglot_hover(run: dict[str, Any]) -> None:
    assert "(2, 8, 30, 30)" in (run.get("hover") or ""), run


def test_summary_and_verify_commands(run: dict[str, Any]) -> None:
    assert run["class_at_point"] == "Net"
    assert "Conv2d" in run["summary"] and "Linear" in run["summary"]
    assert run["verify_model"] == "Net"
    assert run["verify_status"] in {"ok", "mismatch", "error"}


def test_graph_command_writes_and_opens_the_page(run: dict[str, Any]) -> None:
    assert run["graph_path"].endswith(".html") and run["graph_opened"] is True, run
    assert run["graph_page"].startswith("<!DOCTYPE html>") and "Net" in run["graph_page"]


def test_verify_does_not_block_emacs(run: dict[str, Any]) -> None:
    """Eglot waits on executeCommand (it froze ~12 s): the answer comes at once, the result
    later as a notification (checked above)."""
    assert run["verify_answer"] == "started", run
    assert run["verify_answer_s"] < 5, run["verify_answer_s"]


def test_bad_interpreter_is_named_with_the_install_command(run: dict[str, Any]) -> None:
    got = dict(run["bad_python"])
    assert len(got) == 2, got
    for py, msg in got.items():
        assert py in msg and f"{py} -m pip install shape-lsp" in msg, msg
