"""Code lenses and inlay hints asked for when a file opens come before its analysis: the
server asks the client to re-request them once the analysis is there (where supported)."""

from __future__ import annotations

import pytest
from lsprotocol import types as lsp

from tests.server.conftest import Session
from tests.server.fixtures import NET

pytestmark = pytest.mark.asyncio

#: What each recorded client announces (workspace.codeLens / inlayHint refreshSupport).
SUPPORTS = {"vscode": {"codeLens"}, "neovim": {"inlayHint"}}


async def test_views_refreshed_once_analysed(session: Session) -> None:
    await session.initialize()
    uri = session.open(NET)
    refreshes: list[str] = session.client.refreshes  # type: ignore[attr-defined]
    want = SUPPORTS[session.name]
    await session.until(lambda: want <= set(refreshes), f"{want} refresh requested")
    assert set(refreshes) == want  # never a request the client did not announce
    lenses = await session.client.text_document_code_lens_async(
        lsp.CodeLensParams(text_document=lsp.TextDocumentIdentifier(uri))
    )
    assert lenses and lenses[0].command and lenses[0].command.title == "Verify shapes"
    hints = await session.inlay(uri)
    assert hints


async def test_no_refresh_when_lenses_and_hints_are_unchanged(session: Session) -> None:
    await session.initialize()
    uri = session.open(NET)
    refreshes: list[str] = session.client.refreshes  # type: ignore[attr-defined]
    want = SUPPORTS[session.name]
    await session.until(lambda: want <= set(refreshes), f"{want} refresh requested")
    await session.diagnostics(uri)
    n = len(refreshes)
    # A comment at the end moves no model and no shape: nothing to re-request.
    end = len(NET.split("\n")) - 1
    at = lsp.Position(end, 0)
    session.edit(uri, lsp.Range(start=at, end=at), "# done\n")
    await session.diagnostics(uri)
    assert len(refreshes) == n, refreshes[n:]
