"""Settings: initializationOptions, workspace/configuration + didChangeConfiguration, pyproject."""

from __future__ import annotations

import asyncio

import pytest
from lsprotocol import types as lsp

from tests.server.conftest import Session
from tests.server.fixtures import NET

pytestmark = pytest.mark.asyncio


async def test_ignore_from_initialization_options(session: Session) -> None:
    await session.initialize({"shape-lsp": {"ignore": ["SH101"]}})
    uri = session.open(NET)
    assert [d for d in await session.diagnostics(uri) if d.code == "SH101"] == []


async def test_inlay_hints_off(session: Session) -> None:
    await session.initialize({"inlayHints": False})
    uri = session.open(NET)
    await session.diagnostics(uri)
    assert await session.inlay(uri) == []


async def test_bad_settings_are_logged_not_fatal(session: Session) -> None:
    await session.initialize({"debounceMs": "soon", "nonsense": 1})
    uri = session.open(NET)
    await session.diagnostics(uri)
    logs = [m.message for m in session.client.log_messages]
    assert any("debounceMs" in m for m in logs), logs
    assert any("nonsense" in m for m in logs), logs


async def test_configuration_change_reanalyses(session: Session) -> None:
    await session.initialize()
    uri = session.open(NET)
    assert any(d.code == "SH101" for d in await session.diagnostics(uri))
    session.client.set_configuration({"severity": {"SH101": "warning"}}, section="shape-lsp")
    refreshes = session.client.diagnostic_refresh_count
    n0 = len(session.client.published)  # type: ignore[attr-defined]
    session.client.workspace_did_change_configuration(
        lsp.DidChangeConfigurationParams(settings={"shape-lsp": {"severity": {"SH101": "warning"}}})
    )
    ws = session.client.capabilities.workspace if session.client.capabilities else None
    if session.pull and ws and ws.diagnostics and ws.diagnostics.refresh_support:
        for _ in range(500):
            if session.client.diagnostic_refresh_count > refreshes:
                break
            await asyncio.sleep(0.01)
        assert session.client.diagnostic_refresh_count > refreshes
        diags = await session.diagnostics(uri)
    elif session.pull:  # no refresh support (Neovim 0.10): the next pull sees the new settings
        for _ in range(100):
            diags = await session.diagnostics(uri)
            if any(d.severity == lsp.DiagnosticSeverity.Warning for d in diags):
                break
            await asyncio.sleep(0.02)
    else:
        diags = list((await session.wait_published(uri, 1, after=n0)).diagnostics)
    sh101 = [d for d in diags if d.code == "SH101"]
    assert sh101 and sh101[0].severity == lsp.DiagnosticSeverity.Warning


async def test_pyproject_then_client_override(session: Session) -> None:
    project = session.tmp / "proj"
    project.mkdir()
    (project / "pyproject.toml").write_text(
        '[tool.shape-lsp]\nignore = ["SH101"]\ninlay-hints = false\n'
    )
    await session.initialize({"inlayHints": True}, root=project)
    uri = session.open(NET, folder=project / "pkg")
    assert [d for d in await session.diagnostics(uri) if d.code == "SH101"] == []  # pyproject
    assert await session.inlay(uri) != []  # the client's setting wins
