"""Diagnostics over push (VS Code) and pull (Neovim): codes, ranges, links, related info,
versions, stale results after a burst of edits."""

from __future__ import annotations

import asyncio

import pytest
from lsprotocol import types as lsp

from tests.server.conftest import Session
from tests.server.fixtures import NET, NET_CTOR_LINE, NET_FC_LINE, OK, SEQ, SEQ_LINE

pytestmark = pytest.mark.asyncio


async def test_push_or_pull_never_both(session: Session) -> None:
    result = await session.initialize()
    uri = session.open(OK)
    await session.diagnostics(uri)
    if session.pull:
        assert result.capabilities.diagnostic_provider is not None
        await asyncio.sleep(0.2)
        assert session.client.published == []  # type: ignore[attr-defined]
    else:
        assert result.capabilities.diagnostic_provider is None


async def test_missing_flatten_in_forward(session: Session) -> None:
    await session.initialize()
    uri = session.open(NET)
    diags = [d for d in await session.diagnostics(uri) if d.code == "SH101"]
    assert len(diags) == 1, diags
    d = diags[0]
    assert d.range.start.line == NET_FC_LINE
    assert d.severity == lsp.DiagnosticSeverity.Error
    assert d.source == "shape-lsp"
    assert d.code_description is not None and d.code_description.href.endswith("#sh101")
    assert d.related_information, "related information should point at the Linear constructor"
    assert any(
        r.location.uri == uri and r.location.range.start.line == NET_CTOR_LINE
        for r in d.related_information
    )


async def test_missing_flatten_in_sequential(session: Session) -> None:
    await session.initialize()
    uri = session.open(SEQ)
    diags = [d for d in await session.diagnostics(uri) if d.code == "SH101"]
    assert len(diags) == 1, diags
    assert diags[0].range.start.line == SEQ_LINE
    assert diags[0].range.start.character > SEQ.split("\n")[SEQ_LINE].index("nn.ReLU")


async def test_clean_file_has_no_diagnostics(session: Session) -> None:
    await session.initialize()
    uri = session.open(OK)
    assert await session.diagnostics(uri) == []


async def test_burst_publishes_last_version_in_order(push_session: Session) -> None:
    s = push_session
    await s.initialize()
    uri = s.open(NET)
    await s.wait_published(uri, 1)
    n0 = len(s.client.published)  # type: ignore[attr-defined]
    last = 0
    for i in range(30):  # type a comment character by character at the end of line 0
        col = len("import torch") + i
        last = s.edit(
            uri,
            lsp.Range(start=lsp.Position(0, col), end=lsp.Position(0, col)),
            "  #"[i % 3] if i < 3 else "x",
        )
    final = await s.wait_published(uri, last, after=n0)
    assert any(d.code == "SH101" for d in final.diagnostics)
    versions = [p.version for p in s.client.published[n0:] if p.uri == uri]  # type: ignore[attr-defined]
    assert versions == sorted(versions) and len(set(versions)) == len(versions), versions
    assert versions[-1] == last
    await asyncio.sleep(0.1)  # nothing stale arrives after the last version
    assert [p.version for p in s.client.published if p.uri == uri][-1] == last  # type: ignore[attr-defined]


async def test_every_version_published_even_when_unchanged(push_session: Session) -> None:
    s = push_session
    await s.initialize()
    uri = s.open(OK)
    first = await s.wait_published(uri, 1)
    for _ in range(3):
        v = s.edit(uri, lsp.Range(start=lsp.Position(0, 0), end=lsp.Position(0, 0)), "")
        p = await s.wait_published(uri, v)
        assert p.diagnostics == first.diagnostics


async def test_pull_after_burst_answers_the_last_version(session: Session) -> None:
    await session.initialize()
    uri = session.open(NET)
    for _ in range(10):
        session.edit(uri, lsp.Range(start=lsp.Position(1, 0), end=lsp.Position(1, 0)), "")
    diags = await session.diagnostics(uri)  # asserts the version for pull clients
    assert [d.code for d in diags].count("SH101") == 1


async def test_close_clears_pushed_diagnostics(push_session: Session) -> None:
    s = push_session
    await s.initialize()
    uri = s.open(NET)
    await s.wait_published(uri, 1)
    s.client.text_document_did_close(
        lsp.DidCloseTextDocumentParams(text_document=lsp.TextDocumentIdentifier(uri))
    )
    await s.until(
        lambda: list(s.client.diagnostics.get(uri, [None])) == [], "diagnostics cleared on close"
    )


async def test_importers_reanalysed_when_a_module_changes(push_session: Session) -> None:
    s = push_session
    await s.initialize()
    lib = s.open(OK, "layers.py")
    main = s.open("from layers import Small\n\nm = Small()\n", "main.py")
    await s.wait_published(lib, 1)
    await s.wait_published(main, 1)
    n0 = len(s.client.published)  # type: ignore[attr-defined]
    s.edit(lib, lsp.Range(start=lsp.Position(0, 0), end=lsp.Position(0, 0)), "# edited\n")
    await s.wait_published(main, 1, after=n0)  # re-published for the same version


async def test_unsaved_change_in_an_imported_file_reaches_the_importer(
    push_session: Session,
) -> None:
    s = push_session
    await s.initialize()
    lib = s.open(OK, "layers.py")
    user = "import torch\nfrom layers import Small\n\nm = Small()\ny = m(torch.randn(2, 8))\n"
    main = s.open(user, "main.py")
    await s.wait_published(main, 1)
    assert list(s.client.diagnostics[main]) == []
    n0 = len(s.client.published)  # type: ignore[attr-defined]
    # In the (unsaved) buffer of layers.py the layer now wants 9 features: main.py's call breaks.
    line = OK.splitlines().index("        self.fc = nn.Linear(8, 4)")
    col = OK.splitlines()[line].index("8")
    s.edit(lib, lsp.Range(start=lsp.Position(line, col), end=lsp.Position(line, col + 1)), "9")
    got = await s.until(
        lambda: [d.code for d in s.client.diagnostics.get(main, [])], "main.py re-analysed"
    )
    assert got == ["SH101"]
    assert len(s.client.published) > n0  # type: ignore[attr-defined]


async def test_debounce_skips_intermediate_versions(push_session: Session) -> None:
    s = push_session
    await s.initialize({"debounceMs": 50})
    uri = s.open(NET)
    await s.wait_published(uri, 1)
    n0 = len(s.client.published)  # type: ignore[attr-defined]
    last = 0
    for _ in range(10):
        last = s.edit(uri, lsp.Range(start=lsp.Position(1, 0), end=lsp.Position(1, 0)), "")
    await s.wait_published(uri, last, after=n0)
    versions = [p.version for p in s.client.published[n0:] if p.uri == uri]  # type: ignore[attr-defined]
    assert versions[-1] == last and len(versions) < 10, versions


async def test_quoted_uri_path_with_spaces(session: Session) -> None:
    """Clients quote URIs (`my%20models/n%C3%A9t.py`); pygls files documents unquoted. Every
    feature must still find the document: diagnostics, edits, hover, summary."""
    await session.initialize()
    uri = session.open(NET, name="nét model.py", folder=session.tmp / "my models")
    assert "%20" in uri and "%C3%A9" in uri
    diags = [d for d in await session.diagnostics(uri) if d.code == "SH101"]
    assert len(diags) == 1 and diags[0].range.start.line == NET_FC_LINE
    session.edit(uri, lsp.Range(start=lsp.Position(0, 0), end=lsp.Position(0, 0)), "# x\n")
    diags = [d for d in await session.diagnostics(uri) if d.code == "SH101"]
    assert len(diags) == 1 and diags[0].range.start.line == NET_FC_LINE + 1
    summary = await session.command("shape-lsp.summary", uri)
    assert summary["markdown"], summary
