"""End-to-end harness: the real server over stdio, driven by pytest-lsp's client with recorded
VS Code (push diagnostics) and Neovim (pull diagnostics) capabilities."""

from __future__ import annotations

import asyncio
import contextlib
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from lsprotocol import types as lsp
from pygls.protocol import default_converter
from pytest_lsp import LanguageClient, client_capabilities
from pytest_lsp.client import DEFAULT_CLIENT_FEATURES, register_lsp_features

HERE = Path(__file__).parent
SERVER = [sys.executable, "-m", "shape_lsp.server"]
FAKE_VERIFY_SERVER = [sys.executable, str(HERE / "fake_verifier_server.py")]

#: client name -> (pytest-lsp capability preset, diagnostics mode)
CLIENTS = {"vscode": "visual-studio-code@1.65.2", "neovim": "neovim@0.10.0"}
#: The bound on waiting for something that must come (initialize's answer, diagnostics, a
#: command's result). A passing test never waits it out, so it is generous: a fixed 15 s
#: `initialize` bound flaked at a load of ~20 on two cores. Waits are on events, never sleeps.
TIMEOUT = 120.0


def make_client() -> LanguageClient:
    """pytest-lsp's client, also recording every publishDiagnostics (with its version)."""
    client = LanguageClient(converter_factory=default_converter)
    client.published = []  # type: ignore[attr-defined]

    def publish(c: LanguageClient, params: lsp.PublishDiagnosticsParams) -> None:
        c.diagnostics[params.uri] = params.diagnostics
        c.published.append(params)  # type: ignore[attr-defined]

    client.refreshes = []  # type: ignore[attr-defined]
    client.verified = []  # type: ignore[attr-defined]

    def verified(c: LanguageClient, params: Any) -> None:
        c.verified.append(params)  # type: ignore[attr-defined]

    def lens_refresh(c: LanguageClient, params: None) -> None:
        c.refreshes.append("codeLens")  # type: ignore[attr-defined]

    def hint_refresh(c: LanguageClient, params: None) -> None:
        c.refreshes.append("inlayHint")  # type: ignore[attr-defined]

    register_lsp_features(
        client,
        {
            **DEFAULT_CLIENT_FEATURES,
            lsp.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS: publish,
            lsp.WORKSPACE_CODE_LENS_REFRESH: lens_refresh,
            lsp.WORKSPACE_INLAY_HINT_REFRESH: hint_refresh,
            "shape-lsp/verified": verified,
        },
    )
    return client


def apply_edits(text: str, edits: list[lsp.TextEdit]) -> str:
    """Apply LSP edits (ASCII text: UTF-16 units are characters), last first."""
    lines = text.split("\n")
    offsets = [0]
    for line in lines:
        offsets.append(offsets[-1] + len(line) + 1)

    def off(p: lsp.Position) -> int:
        return offsets[p.line] + p.character if p.line < len(lines) else len(text)

    for e in sorted(
        edits, key=lambda e: (e.range.start.line, e.range.start.character), reverse=True
    ):
        text = text[: off(e.range.start)] + e.new_text + text[off(e.range.end) :]
    return text


def workspace_edits(edit: lsp.WorkspaceEdit, uri: str) -> list[lsp.TextEdit]:
    """The TextEdits for `uri` in a WorkspaceEdit (changes or documentChanges)."""
    if edit.document_changes:
        return [
            e
            for dc in edit.document_changes
            if isinstance(dc, lsp.TextDocumentEdit) and dc.text_document.uri == uri
            for e in dc.edits
        ]  # type: ignore[misc]
    return list((edit.changes or {}).get(uri, []))


def _plain(obj: Any) -> Any:
    """pygls hands unknown notifications' params over as named tuples: back to dicts."""
    if hasattr(obj, "_asdict"):
        return {k: _plain(v) for k, v in obj._asdict().items()}
    if isinstance(obj, list):
        return [_plain(v) for v in obj]
    return obj


class Session:
    """One client-server session with helpers for the tests."""

    def __init__(self, client: LanguageClient, name: str, tmp: Path) -> None:
        self.client = client
        self.name = name
        self.tmp = tmp
        self.versions: dict[str, int] = {}
        self.texts: dict[str, str] = {}

    @property
    def pull(self) -> bool:
        caps = self.client.capabilities
        return bool(caps and caps.text_document and caps.text_document.diagnostic)

    async def initialize(
        self, init_options: Any = None, root: Path | None = None
    ) -> lsp.InitializeResult:
        root = root or self.tmp
        return await asyncio.wait_for(
            self.client.initialize_session(
                lsp.InitializeParams(
                    capabilities=client_capabilities(CLIENTS[self.name]),
                    root_uri=root.as_uri(),
                    workspace_folders=[lsp.WorkspaceFolder(uri=root.as_uri(), name="ws")],
                    initialization_options=init_options,
                )
            ),
            TIMEOUT,
        )

    def open(self, text: str, name: str = "model.py", folder: Path | None = None) -> str:
        path = (folder or self.tmp) / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        uri = path.as_uri()
        self.versions[uri] = 1
        self.texts[uri] = text
        self.client.text_document_did_open(
            lsp.DidOpenTextDocumentParams(
                text_document=lsp.TextDocumentItem(
                    uri=uri, language_id="python", version=1, text=text
                )
            )
        )
        return uri

    def change(self, uri: str, text: str) -> int:
        """Replace the whole text through an incremental change covering the old text."""
        old = self.texts[uri]
        lines = old.split("\n")
        end = lsp.Position(line=len(lines) - 1, character=len(lines[-1]))
        return self.edit(uri, lsp.Range(start=lsp.Position(0, 0), end=end), text)

    def edit(self, uri: str, rng: lsp.Range, new_text: str) -> int:
        """Send one incremental change; returns the new version."""
        self.versions[uri] += 1
        self.texts[uri] = apply_edits(self.texts[uri], [lsp.TextEdit(range=rng, new_text=new_text)])
        self.client.text_document_did_change(
            lsp.DidChangeTextDocumentParams(
                text_document=lsp.VersionedTextDocumentIdentifier(
                    uri=uri, version=self.versions[uri]
                ),
                content_changes=[lsp.TextDocumentContentChangePartial(range=rng, text=new_text)],
            )
        )
        return self.versions[uri]

    async def until(self, cond: Any, what: str, timeout: float = TIMEOUT) -> Any:
        """Wait until `cond()` is truthy (polled on the event loop) and return it."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            got = cond()
            if got:
                return got
            await asyncio.sleep(0.01)
        raise AssertionError(f"not within {timeout} s: {what}")

    async def wait_published(
        self, uri: str, version: int, after: int = 0
    ) -> lsp.PublishDiagnosticsParams:
        """The first publishDiagnostics for `uri` at `version` (index >= after)."""
        deadline = time.monotonic() + TIMEOUT
        published: list[lsp.PublishDiagnosticsParams] = self.client.published  # type: ignore[attr-defined]
        while time.monotonic() < deadline:
            for p in published[after:]:
                if p.uri == uri and p.version == version:
                    return p
            await asyncio.sleep(0.005)
        raise AssertionError(
            f"no diagnostics for {uri} v{version}: {[(p.uri, p.version) for p in published]}"
        )

    async def diagnostics(self, uri: str) -> list[lsp.Diagnostic]:
        """Diagnostics for the current version, pushed or pulled as the client does."""
        if self.pull:
            report = await asyncio.wait_for(
                self.client.text_document_diagnostic_async(
                    lsp.DocumentDiagnosticParams(text_document=lsp.TextDocumentIdentifier(uri))
                ),
                TIMEOUT,
            )
            assert isinstance(report, lsp.RelatedFullDocumentDiagnosticReport)
            assert report.result_id and report.result_id.split(".")[0] == str(self.versions[uri])
            return list(report.items)
        return list((await self.wait_published(uri, self.versions[uri])).diagnostics)

    async def hover(self, uri: str, line: int, col: int) -> str | None:
        h = await self.client.text_document_hover_async(
            lsp.HoverParams(
                text_document=lsp.TextDocumentIdentifier(uri), position=lsp.Position(line, col)
            )
        )
        if h is None:
            return None
        assert isinstance(h.contents, lsp.MarkupContent)
        return h.contents.value

    async def inlay(self, uri: str) -> list[lsp.InlayHint]:
        hints = await self.client.text_document_inlay_hint_async(
            lsp.InlayHintParams(
                text_document=lsp.TextDocumentIdentifier(uri),
                range=lsp.Range(start=lsp.Position(0, 0), end=lsp.Position(10_000, 0)),
            )
        )
        return list(hints or [])

    async def actions(
        self, uri: str, diags: list[lsp.Diagnostic], line: int
    ) -> list[lsp.CodeAction]:
        rng = lsp.Range(start=lsp.Position(line, 0), end=lsp.Position(line, 1))
        res = await self.client.text_document_code_action_async(
            lsp.CodeActionParams(
                text_document=lsp.TextDocumentIdentifier(uri),
                range=rng,
                context=lsp.CodeActionContext(
                    diagnostics=[d for d in diags if d.range.start.line == line]
                ),
            )
        )
        return [a for a in (res or []) if isinstance(a, lsp.CodeAction)]

    async def command(self, name: str, *args: Any) -> Any:
        return await asyncio.wait_for(
            self.client.workspace_execute_command_async(
                lsp.ExecuteCommandParams(command=name, arguments=list(args))
            ),
            TIMEOUT,
        )

    async def verify(self, uri: str, *args: Any, timeout: float = TIMEOUT) -> dict[str, Any]:
        """`shape-lsp.verify` as editors run it: answered at once, the result notified later."""
        started = await asyncio.wait_for(
            self.client.workspace_execute_command_async(
                lsp.ExecuteCommandParams(command="shape-lsp.verify", arguments=[uri, *args])
            ),
            TIMEOUT,
        )
        assert started["status"] == "started", started
        got: list[Any] = self.client.verified  # type: ignore[attr-defined]
        done = await self.until(
            lambda: [v for v in got if _plain(v)["token"] == started["token"]],
            "shape-lsp/verified",
            timeout,
        )
        return _plain(done[0])

    async def close(self) -> None:
        await asyncio.wait_for(self.client.shutdown_session(), TIMEOUT)


async def _session(
    request: pytest.FixtureRequest, tmp_path: Path, cmd: list[str]
) -> AsyncIterator[Session]:
    client = make_client()
    await client.start_io(*cmd)
    session = Session(client, request.param, tmp_path)
    yield session
    if client.capabilities is not None and client.error is None:
        with contextlib.suppress(Exception):  # the test failed already or the server is gone
            await session.close()
    await client.stop()
    # No feature failure may ever become a popup.
    assert not client.messages, [m.message for m in client.messages]


@pytest_asyncio.fixture(params=list(CLIENTS))
async def session(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Session]:
    """A started (not yet initialised) server, once per recorded client."""
    async for s in _session(request, tmp_path, SERVER):
        yield s


@pytest_asyncio.fixture(params=list(CLIENTS))
async def verify_session(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Session]:
    """Like `session`, with the verifier replaced by a fake (see fake_verifier_server.py)."""
    async for s in _session(request, tmp_path, FAKE_VERIFY_SERVER):
        yield s


@pytest_asyncio.fixture(params=["vscode"])
async def push_session(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Session]:
    """A session with a push-diagnostics client only."""
    async for s in _session(request, tmp_path, SERVER):
        yield s
