"""Code lens: "Verify shapes" above each model, running `shape-lsp.verify`."""

from __future__ import annotations

from typing import TYPE_CHECKING

from lsprotocol import types as lsp

from shape_lsp.server import convert

if TYPE_CHECKING:
    from shape_lsp.server.base import ShapeServer

VERIFY = "shape-lsp.verify"


def register(server: ShapeServer) -> None:
    """Register textDocument/codeLens."""

    @server.feature(lsp.TEXT_DOCUMENT_CODE_LENS, lsp.CodeLensOptions(resolve_provider=False))
    @server.guarded("codeLens", list)
    def code_lens(params: lsp.CodeLensParams) -> list[lsp.CodeLens]:
        state = server.docs.get(params.text_document.uri)
        if state is None or state.current is None:
            return []
        snap = state.current
        if not snap.result.parsed and state.last_good is not None and not snap.result.models:
            snap = state.last_good
        lenses = []
        for m in snap.result.models:
            line = m.span.start_line
            pos = convert.position(snap.lines, line, m.span.start_col, server.encoding)
            lenses.append(
                lsp.CodeLens(
                    range=lsp.Range(start=pos, end=pos),
                    command=lsp.Command(
                        title="Verify shapes", command=VERIFY, arguments=[state.uri, m.name]
                    ),
                )
            )
        return lenses
