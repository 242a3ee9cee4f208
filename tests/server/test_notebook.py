"""LSP 3.17 notebook documents over the real server (pytest-lsp's client speaks the notebook
protocol): per-cell diagnostics, hover, inlay hints and code actions, shapes flowing from
earlier cells to later ones, cells added, edited and removed."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from lsprotocol import types as lsp
from pytest_lsp import client_capabilities

from tests.server.conftest import CLIENTS, TIMEOUT, Session, apply_edits, workspace_edits

pytestmark = pytest.mark.asyncio

IMPORTS = "import torch\nimport torch.nn as nn\n%matplotlib inline\n!nvidia-smi\ntorch.nn.Linear?"
MODEL = """\
class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 16, 3, padding=1)
        self.fc = nn.Linear(16 * 32 * 32, 10)

    def forward(self, x):
        x = self.conv(x)
        x = self.fc(x)
        return x"""
EXAMPLE = "net = Net()\nx = torch.randn(2, 3, 32, 32)\nout = net(x)"
BAD = "lin = nn.Linear(10, 5)\ny = lin(torch.randn(2, 11))"
FC_LINE, CONV_LINE = 8, 7  # in MODEL


class Notebook:
    """A notebook the test edits through notebookDocument/* notifications."""

    def __init__(self, session: Session, path: Path) -> None:
        self.s = session
        self.uri = path.as_uri()
        self.path = path
        self.version = 1
        self.cells: list[tuple[str, lsp.NotebookCellKind]] = []
        self.n = 0

    def cell_uri(self) -> str:
        self.n += 1
        return f"vscode-notebook-cell:{self.path}#W{self.n}"

    def _item(self, uri: str, text: str) -> lsp.TextDocumentItem:
        self.s.versions[uri] = 1
        self.s.texts[uri] = text
        return lsp.TextDocumentItem(uri=uri, language_id="python", version=1, text=text)

    def open(self, cells: list[tuple[str, str]]) -> list[str]:
        items, nb_cells = [], []
        for kind, text in cells:
            uri = self.cell_uri()
            k = lsp.NotebookCellKind.Code if kind == "code" else lsp.NotebookCellKind.Markup
            self.cells.append((uri, k))
            nb_cells.append(lsp.NotebookCell(kind=k, document=uri))
            item = self._item(uri, text)
            if kind != "code":
                item.language_id = "markdown"
            items.append(item)
        self.s.client.notebook_document_did_open(
            lsp.DidOpenNotebookDocumentParams(
                notebook_document=lsp.NotebookDocument(
                    uri=self.uri, notebook_type="jupyter-notebook", version=1, cells=nb_cells
                ),
                cell_text_documents=items,
            )
        )
        return [u for u, _ in self.cells]

    def edit_cell(self, uri: str, text: str) -> None:
        old = self.s.texts[uri]
        lines = old.split("\n")
        rng = lsp.Range(lsp.Position(0, 0), lsp.Position(len(lines) - 1, len(lines[-1])))
        self.s.versions[uri] += 1
        self.s.texts[uri] = text
        self._change(
            lsp.NotebookDocumentCellChanges(
                text_content=[
                    lsp.NotebookDocumentCellContentChanges(
                        document=lsp.VersionedTextDocumentIdentifier(
                            uri=uri, version=self.s.versions[uri]
                        ),
                        changes=[lsp.TextDocumentContentChangePartial(range=rng, text=text)],
                    )
                ]
            )
        )

    def insert(self, at: int, text: str) -> str:
        uri = self.cell_uri()
        self.cells.insert(at, (uri, lsp.NotebookCellKind.Code))
        self._change(
            lsp.NotebookDocumentCellChanges(
                structure=lsp.NotebookDocumentCellChangeStructure(
                    array=lsp.NotebookCellArrayChange(
                        start=at,
                        delete_count=0,
                        cells=[lsp.NotebookCell(kind=lsp.NotebookCellKind.Code, document=uri)],
                    ),
                    did_open=[self._item(uri, text)],
                )
            )
        )
        return uri

    def delete(self, at: int) -> None:
        uri, _ = self.cells.pop(at)
        self._change(
            lsp.NotebookDocumentCellChanges(
                structure=lsp.NotebookDocumentCellChangeStructure(
                    array=lsp.NotebookCellArrayChange(start=at, delete_count=1),
                    did_close=[lsp.TextDocumentIdentifier(uri=uri)],
                )
            )
        )

    def _change(self, cells: lsp.NotebookDocumentCellChanges) -> None:
        self.version += 1
        self.s.client.notebook_document_did_change(
            lsp.DidChangeNotebookDocumentParams(
                notebook_document=lsp.VersionedNotebookDocumentIdentifier(
                    uri=self.uri, version=self.version
                ),
                change=lsp.NotebookDocumentChangeEvent(cells=cells),
            )
        )

    def close(self) -> None:
        self.s.client.notebook_document_did_close(
            lsp.DidCloseNotebookDocumentParams(
                notebook_document=lsp.NotebookDocumentIdentifier(uri=self.uri),
                cell_text_documents=[lsp.TextDocumentIdentifier(uri=u) for u, _ in self.cells],
            )
        )


async def eventually(session: Session, uri: str, count: int) -> None:
    """Wait until the cell's latest diagnostics number `count` (an unchanged cell keeps its
    version, so the wait is on the content)."""
    for _ in range(int(TIMEOUT / 0.05)):
        if session.pull:
            got = await session.diagnostics(uri)
        else:
            got = list(session.client.diagnostics.get(uri, []))
        if len(got) == count:
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"{uri}: {got}")


async def start(session: Session) -> lsp.InitializeResult:
    caps = client_capabilities(CLIENTS[session.name])
    caps.notebook_document = lsp.NotebookDocumentClientCapabilities(
        synchronization=lsp.NotebookDocumentSyncClientCapabilities()
    )
    return await asyncio.wait_for(
        session.client.initialize_session(
            lsp.InitializeParams(capabilities=caps, root_uri=session.tmp.as_uri())
        ),
        TIMEOUT,
    )


async def test_notebook_cells_get_their_own_diagnostics(session: Session) -> None:
    result = await start(session)
    sync = result.capabilities.notebook_document_sync
    assert isinstance(sync, lsp.NotebookDocumentSyncOptions)
    nb = Notebook(session, session.tmp / "nb.ipynb")
    md, imports, model, example = nb.open(
        [("markdown", "# A model"), ("code", IMPORTS), ("code", MODEL), ("code", EXAMPLE)]
    )
    diags = await session.diagnostics(model)
    assert [(d.code, d.range.start.line) for d in diags] == [("SH101", FC_LINE)], diags
    assert "flatten" in diags[0].message.lower()
    # the example input of the last cell is what the trace starts from, named by its cell
    assert "cell 4, line 2: torch.randn" in diags[0].message, diags[0].message
    assert await session.diagnostics(imports) == []  # magics, shell, help: no SH001
    assert await session.diagnostics(example) == []
    assert await session.diagnostics(md) == []  # markdown: never analysed as Python


async def test_shapes_flow_into_later_cells_hover_inlay_and_fix(session: Session) -> None:
    await start(session)
    nb = Notebook(session, session.tmp / "nb.ipynb")
    _, model, example = nb.open([("code", IMPORTS), ("code", MODEL), ("code", EXAMPLE)])
    diags = await session.diagnostics(model)
    hover = await session.hover(model, CONV_LINE, len("        x"))
    assert hover is not None and "(2, 16, 32, 32)" in hover, hover
    hints = {h.position.line: h.label for h in await session.inlay(model)}
    assert "(2, 16, 32, 32)" in str(hints.get(CONV_LINE)), hints
    x_hover = await session.hover(example, 1, 0)
    assert x_hover is not None and "(2, 3, 32, 32)" in x_hover, x_hover

    actions = await session.actions(model, diags, FC_LINE)
    fix = next(a for a in actions if a.is_preferred)
    assert fix.edit is not None
    fixed = apply_edits(MODEL, workspace_edits(fix.edit, model))
    assert "flatten" in fixed
    nb.edit_cell(model, fixed)
    assert await session.diagnostics(model) == []


async def test_cells_added_edited_and_removed(session: Session) -> None:
    await start(session)
    nb = Notebook(session, session.tmp / "nb.ipynb")
    first, _ = nb.open([("code", "import torch\nimport torch.nn as nn"), ("code", "z = 1")])
    assert await session.diagnostics(first) == []
    bad = nb.insert(1, BAD)
    diags = await session.diagnostics(bad)
    assert [(d.code, d.range.start.line, d.range.start.character) for d in diags] == [
        ("SH101", 1, 4)
    ]
    nb.edit_cell(bad, BAD.replace("Linear(10", "Linear(11"))
    assert await session.diagnostics(bad) == []
    nb.edit_cell(bad, BAD)
    assert len(await session.diagnostics(bad)) == 1
    # A cell defined later does not feed earlier cells: moving the import below breaks nothing
    # silently (unknown names stay unknown: no finding is invented).
    nb.edit_cell(first, "z = 2")
    await eventually(session, bad, 0)
    nb.edit_cell(first, "import torch\nimport torch.nn as nn")
    await eventually(session, bad, 1)
    nb.delete(1)  # a removed cell's diagnostics are withdrawn
    if not session.pull:
        await eventually(session, bad, 0)
    nb.close()


async def test_verify_from_a_cell_runs_the_model_cells(verify_session: Session) -> None:
    """The (fake) verifier gets the notebook's model cells as one program, not the cell alone;
    its finding comes back in the cell's own lines."""
    session = verify_session
    await start(session)
    nb = Notebook(session, session.tmp / "nb.ipynb")
    _, model, _, _ = nb.open(
        [
            ("code", IMPORTS),
            ("code", MODEL),
            ("code", EXAMPLE),
            ("code", "for _ in range(3):\n    net(x).sum().backward()"),
        ]
    )
    await session.diagnostics(model)
    result = await session.verify(model, "Net")
    assert result["status"] == "mismatch" and result["kept"], result
    assert [(f["code"], f["line"]) for f in result["findings"]] == [("SH201", FC_LINE)]
    await eventually(session, model, 2)  # the static SH101 and the verifier's SH201
    # The program is what ran: with `self.fc(` first seen in the imports cell, the fake's
    # finding lies in that cell and none comes back to the model cell.
    first = nb.cells[0][0]
    nb.edit_cell(first, IMPORTS + "\nnote = 'self.fc('")
    await asyncio.sleep(0.3)
    result = await session.verify(model, "Net")
    assert result["findings"] == [], result
