"""LSP 3.17 notebook documents: the code cells of a `jupyter-notebook` as one program.

pygls keeps the notebook and its cell text documents (`notebookDocument/didOpen|didChange|
didClose`). On every change the code cells are put together in cell order
(`shape_lsp.notebooks.build`), analysed as one program in the engine's worker (unchanged
cells' top-level chunks come from the parse cache), and the result is split per cell: each
cell gets an ordinary `DocState` snapshot in its own coordinates, so hover, inlay hints, code
actions and pull diagnostics answer cell URIs unchanged, with shapes flowing from earlier
cells. Diagnostics are published only for the cells whose diagnostics changed.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from lsprotocol import types as lsp

from shape_lsp.core.results import (
    AnalysisResult,
    Finding,
    Fix,
    ModelSummary,
    ShapeFact,
    Span,
    TextEdit,
)
from shape_lsp.notebook_cli import trace_step
from shape_lsp.notebooks import Cell, Program, build, model_cells
from shape_lsp.server import convert
from shape_lsp.server.documents import Analysed, DocState

if TYPE_CHECKING:
    from shape_lsp.server.base import ShapeServer

log = logging.getLogger(__name__)

#: What the server advertises (only to clients that declare notebook support).


@dataclass
class CellState(DocState):
    """A notebook cell: analysed as part of its notebook, never on its own."""

    notebook: NotebookState | None = None

    def analyse_instead(self, force: bool) -> bool:
        """`server.analyse(cell)` re-analyses the whole notebook."""
        if self.notebook is not None:
            self.notebook.schedule(force=force)
        return True

    def verify_input(self, text: str) -> tuple[str, Callable[..., tuple[Any, Any]]]:
        """What `shape-lsp.verify` runs for this cell: the notebook's model cells as one
        program (`notebooks.model_cells`), and how to bring its findings and facts back into
        this cell (those elsewhere are dropped)."""
        nb = self.notebook
        snap = _snapshot(nb.server, nb) if nb is not None else None
        if snap is None:
            return text, lambda findings, facts: (findings, facts)
        cells = snap[0]
        run, _ = model_cells(cells)
        program = build(cells, only=run)
        index = next((c.index for c in cells if c.id == self.uri), -1)

        def back(findings: tuple[Finding, ...], facts: tuple[ShapeFact, ...]) -> tuple[Any, Any]:
            mine = [(f, _cell_span(program, f.span)) for f in findings]
            kept = tuple(replace(f, span=s, fixes=()) for f, (c, s) in mine if c == index)
            spots = [(f, _cell_span(program, f.span)) for f in facts]
            return kept, tuple(_moved(f, s) for f, (c, s) in spots if c == index)

        return program.text, back


@dataclass
class NotebookState:
    """An open notebook: its cells' states and its analysis loop."""

    server: ShapeServer
    uri: str
    path: str | None
    cells: dict[str, CellState] = field(default_factory=dict)
    epoch: int = 0
    dirty: bool = False
    task: asyncio.Task[None] | None = None
    program: Program | None = None
    analyses: int = 0

    def schedule(self, *, force: bool = False) -> None:
        """Mark for re-analysis (coalesced: a burst of edits ends with the last version)."""
        if force:
            self.epoch += 1
        self.dirty = True
        if self.task is None or self.task.done():
            self.task = self.server.spawn(_run(self.server, self))


def _snapshot(server: ShapeServer, nb: NotebookState) -> tuple[list[Cell], dict[str, int]] | None:
    """The notebook's cells now (code cells in Python only) and each cell document's version."""
    doc = server.workspace.get_notebook_document(notebook_uri=nb.uri)
    if doc is None:
        return None
    cells, versions = [], {}
    for i, cell in enumerate(doc.cells):
        text_doc = server.document(cell.document)
        if text_doc is None:
            continue
        code = cell.kind == lsp.NotebookCellKind.Code and text_doc.language_id in (
            None,
            "python",
        )
        cells.append(Cell(i, "code" if code else "markup", text_doc.source, cell.document))
        versions[cell.document] = text_doc.version or 0
    return cells, versions


async def _run(server: ShapeServer, nb: NotebookState) -> None:
    loop = asyncio.get_running_loop()
    try:
        while nb.dirty:
            nb.dirty = False
            if not server.config_ready.is_set():
                try:
                    await asyncio.wait_for(server.config_ready.wait(), 2.0)
                except TimeoutError:
                    server.config_ready.set()
            settings = server.settings.for_path(nb.path)
            if settings.debounce_ms:
                await asyncio.sleep(settings.debounce_ms / 1000)
                nb.dirty = False
            snap = _snapshot(server, nb)
            if snap is None or server_notebook(server, nb.uri) is not nb:
                return
            cells, versions = snap
            epoch = nb.epoch
            program = build(cells)
            path = nb.path or "<notebook>"
            result = await loop.run_in_executor(
                server.engine.executor, _analyse, server, program.text, path, settings
            )
            if server_notebook(server, nb.uri) is not nb:
                return
            now = _snapshot(server, nb)
            if now is None or now[1] != versions or nb.epoch != epoch:
                nb.dirty = True  # edited meanwhile: drop this result, go again
                continue
            nb.program = program
            nb.analyses += 1
            _store(server, nb, program, result, versions, settings)
    except asyncio.CancelledError:
        raise
    except Exception:
        log.exception("analysis of notebook %s failed", nb.uri)
        server.log_client(f"shape-lsp: analysis of {nb.uri} failed; see the server log")


def _analyse(server: ShapeServer, text: str, path: str, settings: Any) -> AnalysisResult:
    """Analyse the program in the worker thread; never raises."""
    try:
        analyzer = server.engine._load()
        result: AnalysisResult = analyzer.analyze(text, path, settings)
    except Exception as e:  # the core promises not to raise; keep serving if it does
        log.exception("analysis of %s failed", path)
        return AnalysisResult(path, parsed=False, internal_errors=(repr(e),))
    return result


def _store(
    server: ShapeServer,
    nb: NotebookState,
    program: Program,
    result: AnalysisResult,
    versions: dict[str, int],
    settings: Any,
) -> None:
    from shape_lsp.server import diagnostics

    split = split_result(program, result)
    uris = {c.index: str(c.id) for c in program.cells}
    for cell in program.cells:
        uri = str(cell.id)
        state = nb.cells.get(uri)
        if state is None:
            continue
        local, cross = split.get(cell.index, (AnalysisResult(result.path), []))
        lines = convert.split_lines(cell.source)
        diags = []
        for f, rel in zip(local.findings, cross, strict=True):
            d = convert.diagnostic(uri, lines, f, server.encoding)
            if rel:
                extra = [
                    lsp.DiagnosticRelatedInformation(
                        location=lsp.Location(
                            uri=uris[c],
                            range=convert.to_range(
                                convert.split_lines(_source(program, c)),
                                s,
                                server.encoding,
                            ),
                        ),
                        message=m,
                    )
                    for c, s, m in rel
                    if c in uris
                ]
                d.related_information = [*(d.related_information or []), *extra]
            diags.append(d)
        before = state.current
        state.current = Analysed(
            versions.get(uri, 0), nb.epoch, cell.source, lines, local, settings, tuple(diags)
        )
        if local.parsed:
            state.last_good = state.current
        state.resolve_waiters()
        same = (
            before is not None
            and before.version == state.current.version
            and before.diagnostics == state.current.diagnostics
        )
        if not same:
            diagnostics.publish(server, state)
    for err in result.internal_errors:
        server.log_client(f"shape-lsp internal error in {nb.path}: {err}")
    server.request_refresh()


def _source(program: Program, index: int) -> str:
    cell = program.cell(index)
    return cell.source if cell is not None else ""


# -- splitting one program's result into cells -------------------------------------------------


def _cell_span(program: Program, span: Span) -> tuple[int, Span]:
    """A program span as (cell index, span in the cell); a span running into a later cell is
    cut at the end of its first cell."""
    c1, l1, k1 = program.locate(span.start_line, span.start_col)
    c2, l2, k2 = program.locate(span.end_line, span.end_col)
    if c2 != c1:
        rows = program.cell_lines(c1)
        last = program.locate(rows.stop - 1, 0)[1] if rows else l1
        l2, k2 = last, 10**6
    return c1, Span(l1, k1, l2, k2)


def _moved(fact: ShapeFact, span: Span) -> ShapeFact:
    """The fact at another span (dataclasses.replace re-runs __init__: a notebook has
    hundreds of facts per edit)."""
    new = object.__new__(ShapeFact)
    new.__dict__.update(fact.__dict__, span=span)
    return new


def _local_fixes(program: Program, cell: int, fixes: tuple[Fix, ...]) -> tuple[Fix, ...]:
    """The fixes whose edits all lie on this cell's own (not neutralised) lines."""
    out = []
    for fix in fixes:
        edits = []
        for e in fix.edits:
            lines_ok = program.line_is_cell_text(e.span.start_line) and program.line_is_cell_text(
                e.span.end_line
            )
            c, s = _cell_span(program, e.span)
            if not lines_ok or c != cell or program.locate(e.span.end_line, 0)[0] != cell:
                break
            edits.append(TextEdit(s, e.new_text))
        else:
            out.append(replace(fix, edits=tuple(edits)))
    return tuple(out)


def split_result(
    program: Program, result: AnalysisResult
) -> dict[int, tuple[AnalysisResult, list[list[tuple[int, Span, str]]]]]:
    """The result per cell index, in cell coordinates, with each finding's related locations
    in other cells (cell index, span, message) alongside."""
    findings: dict[int, list[Finding]] = {}
    cross: dict[int, list[list[tuple[int, Span, str]]]] = {}
    for f in result.findings:
        c, span = _cell_span(program, f.span)
        same, other = [], []
        for r in f.related:
            rc, rs = _cell_span(program, r.span)
            if rc == c:
                same.append(replace(r, span=rs))
            else:
                other.append((rc, rs, r.message))
        local = replace(
            f,
            span=span,
            related=tuple(same),
            fixes=_local_fixes(program, c, f.fixes),
            trace=tuple(trace_step(program, t) for t in f.trace),
        )
        findings.setdefault(c, []).append(local)
        cross.setdefault(c, []).append(other)
    facts: dict[int, list[ShapeFact]] = {}
    for fact in result.facts:
        c, span = _cell_span(program, fact.span)
        facts.setdefault(c, []).append(_moved(fact, span))
    models: dict[int, list[ModelSummary]] = {}
    for m in result.models:
        c, span = _cell_span(program, m.span)
        models.setdefault(c, []).append(replace(m, span=span))
    out = {}
    for cell in program.cells:
        i = cell.index
        out[i] = (
            AnalysisResult(
                result.path,
                findings=tuple(findings.get(i, ())),
                facts=tuple(facts.get(i, ())),
                models=tuple(models.get(i, ())),
                parsed=result.parsed,
                internal_errors=(),
            ),
            cross.get(i, []),
        )
    return out


# -- registration ------------------------------------------------------------------------------


def notebooks(server: ShapeServer) -> dict[str, NotebookState]:
    """The server's open notebooks by URI."""
    found: dict[str, NotebookState] | None = getattr(server, "_notebooks", None)
    if found is None:
        found = {}
        server._notebooks = found  # type: ignore[attr-defined]
    return found


def server_notebook(server: ShapeServer, uri: str) -> NotebookState | None:
    """The open notebook at `uri`."""
    return notebooks(server).get(uri)


def _sync_cells(server: ShapeServer, nb: NotebookState) -> None:
    """Cell states for the notebook's cells now; states of removed cells are dropped."""
    from shape_lsp.server import diagnostics

    doc = server.workspace.get_notebook_document(notebook_uri=nb.uri)
    uris = [c.document for c in doc.cells] if doc is not None else []
    for uri in list(nb.cells):
        if uri not in uris:
            state = nb.cells.pop(uri)
            state.close()
            if server.docs.get(uri) is state:
                del server.docs[uri]
            diagnostics.clear(server, uri)
    for uri in uris:
        if uri not in nb.cells:
            state = CellState(uri, nb.path, notebook=nb)
            nb.cells[uri] = server.docs[uri] = state


def register(server: ShapeServer) -> None:
    """Register notebookDocument/didOpen|didChange|didSave|didClose."""
    from pygls.uris import to_fs_path

    @server.feature(lsp.NOTEBOOK_DOCUMENT_DID_OPEN)
    @server.guarded("notebookDocument/didOpen", lambda: None)
    def did_open(params: lsp.DidOpenNotebookDocumentParams) -> None:
        uri = params.notebook_document.uri
        nb = notebooks(server).get(uri)
        if nb is None:
            nb = notebooks(server)[uri] = NotebookState(server, uri, to_fs_path(uri))
        _sync_cells(server, nb)
        nb.schedule(force=True)

    @server.feature(lsp.NOTEBOOK_DOCUMENT_DID_CHANGE)
    @server.guarded("notebookDocument/didChange", lambda: None)
    def did_change(params: lsp.DidChangeNotebookDocumentParams) -> None:
        nb = notebooks(server).get(params.notebook_document.uri)
        if nb is not None:
            _sync_cells(server, nb)
            nb.schedule()

    @server.feature(lsp.NOTEBOOK_DOCUMENT_DID_SAVE)
    @server.guarded("notebookDocument/didSave", lambda: None)
    def did_save(params: lsp.DidSaveNotebookDocumentParams) -> None:
        return None  # the analysis follows the buffer, not the disk

    @server.feature(lsp.NOTEBOOK_DOCUMENT_DID_CLOSE)
    @server.guarded("notebookDocument/didClose", lambda: None)
    def did_close(params: lsp.DidCloseNotebookDocumentParams) -> None:
        from shape_lsp.server import diagnostics

        nb = notebooks(server).pop(params.notebook_document.uri, None)
        if nb is None:
            return
        if nb.task is not None:
            nb.task.cancel()
        for uri, state in nb.cells.items():
            state.close()
            if server.docs.get(uri) is state:
                del server.docs[uri]
            diagnostics.clear(server, uri)
