"""Diagnostics: pushed (`textDocument/publishDiagnostics`, with the version) or pulled
(`textDocument/diagnostic`) when the client supports pulling: never both."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from lsprotocol import types as lsp

from shape_lsp.server.documents import Analysed, DocState

if TYPE_CHECKING:
    from shape_lsp.server.base import ShapeServer

PULL_TIMEOUT_S = 30.0


def items(state: DocState, analysed: Analysed | None) -> list[lsp.Diagnostic]:
    """Static diagnostics of a snapshot plus the verifier's for that same version."""
    if analysed is None:
        return []
    out = list(analysed.diagnostics)
    v = state.verified
    if v is not None and v.version == analysed.version:
        out.extend(v.diagnostics)
    return out


def publish(server: ShapeServer, state: DocState) -> None:
    """Push the current diagnostics (push mode only), tagged with the analysed version."""
    cur = state.current
    if server.pull_diagnostics or cur is None:
        return
    server.text_document_publish_diagnostics(
        lsp.PublishDiagnosticsParams(
            uri=state.uri, diagnostics=items(state, cur), version=cur.version
        )
    )


def clear(server: ShapeServer, uri: str) -> None:
    """Forget a closed document's diagnostics on the client (push mode)."""
    if not server.pull_diagnostics:
        server.text_document_publish_diagnostics(
            lsp.PublishDiagnosticsParams(uri=uri, diagnostics=[])
        )


def register_pull(server: ShapeServer) -> None:
    """Register `textDocument/diagnostic` (called from `initialize` when the client pulls)."""

    @server.feature(
        lsp.TEXT_DOCUMENT_DIAGNOSTIC,
        lsp.DiagnosticOptions(
            identifier="shape-lsp", inter_file_dependencies=True, workspace_diagnostics=False
        ),
    )
    @server.guarded("diagnostic", lambda: lsp.RelatedFullDocumentDiagnosticReport(items=[]))
    async def pull(params: lsp.DocumentDiagnosticParams) -> lsp.RelatedFullDocumentDiagnosticReport:
        uri = params.text_document.uri
        state = server.docs.get(uri)
        doc = server.document(uri)
        if state is None or doc is None:
            return lsp.RelatedFullDocumentDiagnosticReport(items=[])
        want, epoch = doc.version or 0, state.epoch
        cur = state.current
        if cur is None or cur.version < want or cur.epoch < epoch:
            fut: asyncio.Future[Analysed | None] = asyncio.get_running_loop().create_future()
            state.waiters.append((want, epoch, fut))
            try:
                cur = await asyncio.wait_for(fut, PULL_TIMEOUT_S)
            except TimeoutError:
                cur = state.current
        result_id = f"{cur.version}.{cur.epoch}" if cur else None
        return lsp.RelatedFullDocumentDiagnosticReport(items=items(state, cur), result_id=result_id)
