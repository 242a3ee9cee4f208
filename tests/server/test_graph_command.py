"""`shape-lsp.graph`: the picture the editors show, from the server's own analysis."""

from __future__ import annotations

import os

import pytest

from shape_lsp.graph import have_dot
from tests.server.conftest import Session
from tests.server.fixtures import NET

pytestmark = pytest.mark.asyncio


async def test_graph_command(session: Session) -> None:
    await session.initialize()
    uri = session.open(NET)
    await session.diagnostics(uri)
    got = await session.command("shape-lsp.graph", uri, "Net")
    assert got["model"] == "Net" and "Net" in got["models"]
    assert got["dot"].startswith('digraph "Net"')
    ids = {n["id"] for n in got["nodes"]}
    assert all(n["line"] >= 0 for n in got["nodes"]) and len(ids) == len(got["nodes"])
    if have_dot():
        assert got["svg"].startswith("<svg") and all(f'id="{i}"' in got["svg"] for i in ids)
    else:
        assert got["svg"] is None and "graphviz" in got["error"].lower() and got["mermaid"]
    page = await session.command(
        "shape-lsp.graph", {"uri": uri, "depth": 1, "format": "html", "write": True}
    )
    assert page["html"].startswith("<!DOCTYPE html>") and os.path.isfile(page["path"])
    missing = await session.command("shape-lsp.graph", "file:///nowhere.py")
    assert "not open" in missing["error"]
