"""Unit tests of the server's pure helpers (no server process)."""

from __future__ import annotations

import subprocess
import sys

import pytest

from shape_lsp.core.results import Finding, Severity, Span
from shape_lsp.server import convert
from shape_lsp.server.actions import suppression_edit
from shape_lsp.server.settings import merge
from shape_lsp.server.sync import imports_any, module_names


def test_utf16_and_utf8_columns() -> None:
    line = "x = '\U0001f600'; y = self.fc(x)"
    col = line.index("self")
    assert convert.to_client_col(line, col, "utf-16") == col + 1
    assert convert.to_client_col(line, col, "utf-8") == col + 3
    assert convert.from_client_col(line, col + 1, "utf-16") == col
    assert convert.from_client_col(line, col + 3, "utf-8") == col


def test_module_import_is_light() -> None:
    code = (
        "import sys, shape_lsp.server, shape_lsp.server.app; "
        "print(any(m in sys.modules for m in ('libcst', 'torch', 'shape_lsp.core.api')))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_settings_merge_client_over_pyproject() -> None:
    base = {"ignore": ["SH113"], "inlay-hints": False, "severity": {"SH101": "warning"}}
    client = {"inlayHints": True, "severity": {"SH102": "hint"}}
    merged = merge(base, client)
    assert merged == {
        "ignore": ["SH113"],
        "inlayHints": True,
        "severity": {"SH101": "warning", "SH102": "hint"},
    }


def _finding(line: int) -> Finding:
    return Finding("SH101", Severity.ERROR, Span(line, 4, line, 8), "m")


def test_suppression_edit_appends_or_extends() -> None:
    lines = ["x = self.fc(x)", "y = f(y)  # shape: ignore[SH102]", "z = g(z)  # shape: ignore"]
    e = suppression_edit(lines, _finding(0))
    assert e is not None and e.new_text == "  # shape: ignore[SH101]"
    assert e.span == Span(0, len(lines[0]), 0, len(lines[0]))
    e = suppression_edit(lines, _finding(1))
    assert e is not None and e.new_text == "SH102, SH101"
    assert suppression_edit(lines, _finding(2)) is None  # already ignores everything


def test_importers() -> None:
    names = module_names("/ws/pkg/models.py", ["/ws"])
    assert {"models", "pkg.models"} <= names
    assert imports_any("from pkg.models import Net\n", names)
    assert imports_any("import torch, models\n", names)
    assert imports_any("from .models import Net\n", names)
    assert not imports_any("from other import models_x\n", names)


def test_client_log_memory_is_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    """log_client remembers messages to rate-limit repeats; messages with varying text (an
    internal error's repr) must not pile up for the life of the server."""
    from shape_lsp.server import base as app

    server = app.ShapeServer()
    sent: list[str] = []
    monkeypatch.setattr(server, "window_log_message", lambda p: sent.append(p.message))
    clock = [1000.0]
    monkeypatch.setattr(app.time, "monotonic", lambda: clock[0])
    for i in range(3 * app.LOG_MEMORY):
        server.log_client(f"internal error {i}")
        clock[0] += 1.0
    assert len(sent) == 3 * app.LOG_MEMORY
    assert len(server._logged) <= app.LOG_MEMORY
    server.log_client("internal error 0")  # long ago: sent again
    server.log_client(f"internal error {3 * app.LOG_MEMORY - 1}")  # just now: rate-limited
    assert sent[-1] == "internal error 0" and len(sent) == 3 * app.LOG_MEMORY + 1
