"""Document sync (incremental; pygls applies the edits) and re-analysis of importers."""

from __future__ import annotations

import asyncio
import logging
import re
from pathlib import Path
from typing import TYPE_CHECKING

from lsprotocol import types as lsp

from shape_lsp.server import diagnostics
from shape_lsp.server.documents import DocState

if TYPE_CHECKING:
    from shape_lsp.server.base import ShapeServer

log = logging.getLogger(__name__)

DEPENDENTS_DELAY_S = 0.3


def module_names(path: str | None, roots: list[str]) -> set[str]:
    """Names other files may import this one by: its stem and dotted paths under the roots."""
    if not path:
        return set()
    p = Path(path)
    names = {p.parent.name if p.stem == "__init__" else p.stem}
    for root in roots:
        try:
            rel = p.with_suffix("").relative_to(root)
        except ValueError:
            continue
        parts = [x for x in rel.parts if x != "__init__"]
        for i in range(len(parts)):
            names.add(".".join(parts[i:]))
    names.discard("")
    return names


def imports_any(text: str, names: set[str]) -> bool:
    """Whether `text` has an import statement naming one of the modules."""
    if not names:
        return False
    alt = "|".join(sorted(re.escape(n) for n in names))
    pattern = rf"^\s*(?:from\s+\.*(?:[\w.]*\.)?(?:{alt})\b|import\s+[^#\n]*\b(?:{alt})\b)"
    return re.search(pattern, text, re.MULTILINE) is not None


def _roots(server: ShapeServer) -> list[str]:
    ws = server.workspace
    roots = [f.path for f in getattr(ws, "folders", {}).values() if getattr(f, "path", None)]
    if ws.root_path:
        roots.append(ws.root_path)
    return roots


def dependents_changed(server: ShapeServer, state: DocState) -> None:
    """Queue a re-analysis of the open documents that import `state`'s module."""
    names = module_names(state.path, _roots(server))
    if not names or len(server.docs) < 2:
        return
    server._changed_modules |= names
    task = server._dependents_task
    if task is None or task.done():
        server._dependents_task = server.spawn(_reanalyse_dependents(server, state.uri))


async def _reanalyse_dependents(server: ShapeServer, origin: str) -> None:
    await asyncio.sleep(DEPENDENTS_DELAY_S)
    names, server._changed_modules = server._changed_modules, set()
    for uri, st in list(server.docs.items()):
        if uri == origin or st.current is None:
            continue
        if imports_any(st.current.text, names):
            log.debug("re-analysing %s: it imports %s", uri, sorted(names))
            server.analyse(uri, force=True)


def register(server: ShapeServer) -> None:
    """Register didOpen/didChange/didSave/didClose/didChangeWatchedFiles."""

    @server.feature(lsp.TEXT_DOCUMENT_DID_OPEN)
    @server.guarded("didOpen", lambda: None)
    def did_open(params: lsp.DidOpenTextDocumentParams) -> None:
        uri = params.text_document.uri
        doc = server.workspace.get_text_document(uri)
        state = server.docs.get(uri)
        if state is None:
            state = server.docs[uri] = DocState(uri, doc.path)
        server.analyse(uri, force=True)

    @server.feature(lsp.TEXT_DOCUMENT_DID_CHANGE)
    @server.guarded("didChange", lambda: None)
    def did_change(params: lsp.DidChangeTextDocumentParams) -> None:
        server.analyse(params.text_document.uri)

    @server.feature(lsp.TEXT_DOCUMENT_DID_SAVE)
    @server.guarded("didSave", lambda: None)
    def did_save(params: lsp.DidSaveTextDocumentParams) -> None:
        state = server.docs.get(params.text_document.uri)
        if state is not None and state.path and Path(state.path).name == "pyproject.toml":
            server.reanalyse_all()

    @server.feature(lsp.TEXT_DOCUMENT_DID_CLOSE)
    @server.guarded("didClose", lambda: None)
    def did_close(params: lsp.DidCloseTextDocumentParams) -> None:
        state = server.docs.pop(params.text_document.uri, None)
        if state is not None:
            state.close()
            server.engine.forget(state.path)
        diagnostics.clear(server, params.text_document.uri)

    @server.feature(lsp.WORKSPACE_DID_CHANGE_WATCHED_FILES)
    @server.guarded("didChangeWatchedFiles", lambda: None)
    def did_change_watched(params: lsp.DidChangeWatchedFilesParams) -> None:
        from pygls.uris import to_fs_path

        names: set[str] = set()
        for change in params.changes:
            path = to_fs_path(change.uri)
            if path and path.endswith("pyproject.toml"):
                server.reanalyse_all()
                return
            if change.uri not in server.docs:
                names |= module_names(path, _roots(server))
        if names:
            server._changed_modules |= names
            server.spawn(_reanalyse_dependents(server, ""))
