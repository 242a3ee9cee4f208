"""No code execution by analysis: only `shape-lsp.verify` / `shape-lsp verify` runs user code.

A model file writes a marker file when it is imported, when its model is built or run, and from
its `__main__` block. Every analysis path over LSP and the CLI leaves no marker; verify does.
Then the real verifier, through the server, on models that hang, print to stdout, call
os._exit and segfault: each ends with a clear status and the server still answers.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
from pathlib import Path

import pytest
from lsprotocol import types as lsp

from shape_lsp import cli
from tests.server.conftest import TIMEOUT, Session

VERIFIER_FIXTURES = Path(__file__).parents[1] / "verifier" / "fixtures"


def model_source(marker: Path) -> str:
    m = repr(str(marker))
    return (
        "import pathlib\n"
        f"pathlib.Path({m} + '.import').write_text('imported')\n"
        "import torch\n"
        "import torch.nn as nn\n"
        "\n"
        "\n"
        "class Net(nn.Module):\n"
        "    def __init__(self):\n"
        "        super().__init__()\n"
        f"        pathlib.Path({m} + '.init').write_text('built')\n"
        "        self.fc = nn.Linear(4, 8)\n"
        "\n"
        "    def forward(self, x):\n"
        f"        pathlib.Path({m} + '.forward').write_text('ran')\n"
        "        return self.fc(x)\n"
        "\n"
        "\n"
        "if __name__ == '__main__':\n"
        f"    pathlib.Path({m} + '.main').write_text('main')\n"
        "    Net()(torch.randn(2, 4))\n"
    )


def markers(marker: Path) -> list[str]:
    return sorted(p.name for p in marker.parent.glob(marker.name + ".*"))


@pytest.mark.asyncio
async def test_analysis_over_lsp_runs_nothing_and_only_verify_does(
    push_session: Session, tmp_path: Path
) -> None:
    s = push_session
    marker = tmp_path / "marker"
    await s.initialize({"verify": {"timeout": 60, "device": "cpu"}})
    uri = s.open(model_source(marker))
    diags = await s.diagnostics(uri)
    s.edit(uri, lsp.Range(start=lsp.Position(11, 0), end=lsp.Position(11, 0)), "        # edited\n")
    diags = await s.diagnostics(uri)
    assert await s.hover(uri, 15, 16) is not None  # self.fc(x)
    await s.inlay(uri)
    await s.actions(uri, diags, 15)
    await asyncio.wait_for(
        s.client.text_document_code_lens_async(
            lsp.CodeLensParams(text_document=lsp.TextDocumentIdentifier(uri))
        ),
        TIMEOUT,
    )
    summary = await s.command("shape-lsp.summary", uri)
    assert "Linear" in summary["text"]
    await s.command("shape-lsp.debug.modules")
    assert markers(marker) == []
    result = await s.verify(uri, "Net", timeout=120)
    assert result["status"] in ("ok", "mismatch"), result
    assert {"marker.init", "marker.forward"} <= set(markers(marker))
    # verify builds and runs the model, not the script: neither its top-level code nor __main__
    assert "marker.import" not in markers(marker) and "marker.main" not in markers(marker)


def test_cli_check_and_summary_run_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    marker = tmp_path / "marker"
    model = tmp_path / "model.py"
    model.write_text(model_source(marker))
    # In this process (four interpreter starts cost seconds): running the user's code would
    # leave the same marker files here as in a subprocess.
    for args in (
        ["check", "--no-cache", str(model)],
        ["check", "--no-cache", "--format", "json", str(tmp_path)],
        ["summary", str(model)],
        ["summary", "--format", "json", str(model)],
    ):
        assert cli.main(args) in (0, 1)
    capsys.readouterr()
    assert markers(marker) == []
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "shape_lsp",
            "verify",
            str(model),
            "--model",
            "Net",
            "--timeout",
            "60",
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert "marker.forward" in markers(marker), proc.stdout + proc.stderr
    assert "marker.import" not in markers(marker)  # only the slice the model needs runs


HAZARDS = {
    # fixture: (expected status, words the message must contain)
    "hang.py": ("timeout", "did not finish within"),
    "noisy.py": ("ok", ""),
    "exits.py": ("crashed", "exited with code 3"),
    "segfault.py": ("crashed", "SIGSEGV"),
}


@pytest.mark.asyncio
async def test_hazardous_models_leave_the_server_alive(push_session: Session) -> None:
    s = push_session
    await s.initialize({"verify": {"timeout": 4, "device": "cpu"}})
    for name, (status, words) in HAZARDS.items():
        text = (VERIFIER_FIXTURES / name).read_text()
        uri = s.open(text, name=name)
        await s.diagnostics(uri)
        result = await s.verify(uri, timeout=120)
        assert result["status"] == status, (name, result)
        assert words in result["message"], (name, result)
        # still alive and answering
        await asyncio.wait_for(s.hover(uri, 0, 0), TIMEOUT)
        modules = await s.command("shape-lsp.debug.modules")
        assert modules["torch"] is False, name
