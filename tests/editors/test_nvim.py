"""Real headless Neovim + the real server (python -m shape_lsp serve) on a fixture with a bug.

The Lua driver (editors/nvim/test/headless.lua) sets up the plugin the way a user would, opens
the fixture, waits for diagnostics, hovers, runs :ShapeSummary and :ShapeVerify, and writes what
it saw to a JSON file that these tests check.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.editors.conftest import python

REPO = Path(__file__).resolve().parents[2]
PLUGIN = REPO / "editors" / "nvim"
DRIVER = PLUGIN / "test" / "headless.lua"
FIXTURE = Path(__file__).parent / "fixtures" / "missing_flatten.py"
# The Linear layer that gets the 4-D feature map: its definition or its call is flagged.
BUG_CODES = {"SH101", "SH114"}


@pytest.fixture(scope="module")
def run(nvim: str, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    out = tmp_path_factory.mktemp("nvim") / "results.json"
    env = {
        **os.environ,
        "SHAPE_LSP_PY": python(),
        "SHAPE_LSP_FIXTURE": str(FIXTURE),
        "SHAPE_LSP_OUT": str(out),
        "SHAPE_LSP_TIMEOUT": "60000",
    }
    cmd = [
        nvim,
        "--headless",
        "-u",
        "NONE",
        "-i",
        "NONE",
        "-n",
        "--cmd",
        f"set rtp^={PLUGIN}",
        "-c",
        f"luafile {DRIVER}",
    ]
    proc = subprocess.run(
        cmd,
        env=env,
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
        stdin=subprocess.DEVNULL,
        check=False,
    )
    assert out.exists(), f"driver wrote nothing\nstdout:{proc.stdout}\nstderr:{proc.stderr}"
    data: dict[str, Any] = json.loads(out.read_text())
    data["_log"] = proc.stdout + proc.stderr
    assert data.get("done"), data
    assert "error" not in data, data["error"]
    assert proc.returncode == 0, data["_log"]
    return data


def test_attaches_to_python_buffer(run: dict[str, Any]) -> None:
    assert run["filetype"] == "python"
    assert run["attached"] is True
    assert run["mode"] in {"config", "start", "start_client"}


def test_diagnostic_for_the_bug(run: dict[str, Any]) -> None:
    assert run["got_diagnostics"], run
    codes = {d["code"] for d in run["diagnostics"]}
    assert codes & BUG_CODES, run["diagnostics"]
    lines = FIXTURE.read_text().splitlines()
    flagged = [lines[d["lnum"]] for d in run["diagnostics"] if d["code"] in BUG_CODES]
    # In the class (`return self.head(x)`) and in the bare Sequential.
    assert any("self.head(x)" in t for t in flagged), flagged
    assert any("nn.Linear(8, 10)" in t and "Sequential" in t for t in flagged), flagged
    assert any("30" in d["message"] for d in run["diagnostics"]), run["diagnostics"]


def test_hover_has_shapes(run: dict[str, Any]) -> None:
    # `x = self.features(x)`: the Conv2d output for the example input (2, 3, 32, 32).
    texts = [h["text"] for h in run["hovers"]]
    assert any("(2, 8, 30, 30)" in t for t in texts), run["hovers"]


def test_summary_opens_a_table(run: dict[str, Any]) -> None:
    assert run["got_summary"], run
    text = "\n".join(run["summary_lines"])
    assert "Net" in text
    assert "Conv2d" in text and "Linear" in text
    assert run["summary_buftype"] == "nofile"


def test_graph_writes_the_page_and_opens_it(run: dict[str, Any]) -> None:
    assert run["got_graph"], run
    graph = run["graph"]
    assert graph.get("model") == "Net" and graph.get("opened") is True, graph
    page = run["graph_opened_copy"]
    assert page.startswith("<!DOCTYPE html>") and "Net" in page, page[:300]
    assert "<svg" in page or "Mermaid" in page


def test_verify_returns_a_result(run: dict[str, Any]) -> None:
    assert run["got_verify"], run
    result = run["verify"]
    assert result.get("model") == "Net"
    assert result.get("status") in {"ok", "mismatch", "error"}, result
    # The forward pass really fails at the Linear layer: verify says so and publishes it.
    assert result["status"] != "ok", result
    assert any(d["code"] in {"SH201", "SH202"} for d in run["diagnostics_after_verify"]), run


def test_code_action_inserts_flatten(run: dict[str, Any]) -> None:
    # The quick fix is applied by Neovim itself; the text it leaves, and the server's answer.
    assert run.get("applied"), (run.get("actions"), run.get("action_error"))
    assert run["fixed_line"] == (
        "seq = nn.Sequential(nn.Conv2d(3, 8, 3), nn.Flatten(), nn.Linear(7200, 10))"
    ), run["fixed_line"]
    assert run["fix_cleared"] is True, "the SH101 on the fixed line should go away"


def test_plugin_start_paths_and_helpers(nvim: str, tmp_path: Path) -> None:
    """editors/nvim/test/unit.lua: the 0.11 / 0.8+ / 0.7 start paths with stubbed vim.lsp entry
    points (only 0.7 is installed here), options, and the class finder."""
    out = tmp_path / "unit.json"
    proc = subprocess.run(
        [
            nvim,
            "--headless",
            "-u",
            "NONE",
            "-i",
            "NONE",
            "-n",
            "--cmd",
            f"set rtp^={PLUGIN}",
            "-c",
            f"luafile {PLUGIN / 'test' / 'unit.lua'}",
        ],
        env={**os.environ, "SHAPE_LSP_OUT": str(out)},
        capture_output=True,
        text=True,
        timeout=60,
        stdin=subprocess.DEVNULL,
        check=False,
    )
    data = json.loads(out.read_text())
    assert "error" not in data, data["error"]
    failed = [c for c in data["checks"] if not c["ok"]]
    assert not failed, failed
    assert len(data["checks"]) >= 15, proc.stderr


def test_keymaps_offered_on_old_neovim(run: dict[str, Any]) -> None:
    """Neovim < 0.10 maps nothing (K runs pydoc): setup's keymaps = "auto" maps K to hover."""
    major, minor = (int(x) for x in run["nvim"].split(".")[:2])
    if (major, minor) < (0, 10):
        assert run["keymap_K"]["buffer"] == 1, run["keymap_K"]
        assert "hover" in run["keymap_K"]["desc"]


def test_virtual_text_shows_the_message_not_the_trace(run: dict[str, Any]) -> None:
    first = run["first_message"]
    assert "\n" in first, "the diagnostic carries its trace (shown in the float)"
    assert run["virtual_text"] == first.split("\n")[0]


@pytest.mark.parametrize("kind", ["missing", "no-shape-lsp"])
def test_names_the_interpreter_and_the_install_command(
    nvim: str, tmp_path: Path, kind: str
) -> None:
    if kind == "missing":
        bad = str(tmp_path / "no" / "python3")
    else:  # an interpreter that runs but has no shape_lsp: this one without site-packages
        script = tmp_path / "python-nosite"
        script.write_text(f'#!/bin/sh\nexec "{python()}" -S "$@"\n')
        script.chmod(0o755)
        bad = str(script)
    out = tmp_path / "out.json"
    subprocess.run(
        [nvim, "--headless", "-u", "NONE", "-i", "NONE", "-n", "--cmd", f"set rtp^={PLUGIN}",
         "-c", f"luafile {PLUGIN / 'test' / 'nopython.lua'}"],
        env={**os.environ, "SHAPE_LSP_OUT": str(out), "SHAPE_LSP_BAD_PY": bad,
             "SHAPE_LSP_FIXTURE": str(FIXTURE)},
        cwd=tmp_path,  # not the repository: `python -c` would import shape_lsp from it
        capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL, check=False,
    )
    data = json.loads(out.read_text())
    assert "error" not in data, data["error"]
    assert data["attached"] is False
    (note,) = [n["msg"] for n in data["notes"] if bad in n["msg"]]
    assert f"{bad} -m pip install shape-lsp" in note, note
