"""`shape-lsp verify` on a notebook: a thin layer over the `.py` path.

The cells that define the model (imports, definitions, the example input: see
`notebooks.model_cells`) become one program in which every other cell is blank lines, so its
line numbers are the notebook program's; that text goes to the ordinary verify path as the
notebook's source, and the locations it reports are put back in cell coordinates.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, TextIO

from shape_lsp.notebooks import NotebookError, Program, build, model_cells, read_cells

__all__ = ["NotebookError", "NotebookRun", "prepare", "relocate", "to_json", "write"]


@dataclass(frozen=True)
class NotebookRun:
    """The program verify runs, and which cells it is made of."""

    program: Program
    run: tuple[int, ...]
    not_run: dict[int, str]

    @property
    def note(self) -> str:
        """`ran cells 1, 2, 4 (not run: cell 3: a loop (training or evaluation))`."""
        ran = ", ".join(str(i + 1) for i in self.run) or "none"
        skipped = "; ".join(f"cell {i + 1}: {why}" for i, why in sorted(self.not_run.items()))
        return f"ran cells {ran}" + (f" (not run: {skipped})" if skipped else "")


def prepare(text: str) -> NotebookRun:
    """The model cells as one program (other cells blank, so lines stay the notebook
    program's); raises NotebookError for JSON that is not a notebook."""
    cells = read_cells(text)
    run, why = model_cells(cells)
    return NotebookRun(build(cells, only=run), tuple(run), why)


def relocate(text: str, path: str, program: Program) -> str:
    """`path:LINE:COL:` in verify's text output as `path:cell C:LINE:COL:`."""
    pattern = re.compile(rf"^{re.escape(path)}:(\d+):(\d+):", re.MULTILINE)

    def sub(m: re.Match[str]) -> str:
        cell, line, col = program.locate(int(m.group(1)) - 1, int(m.group(2)) - 1)
        return f"{path}:cell {cell + 1}:{line + 1}:{col + 1}:"

    return pattern.sub(sub, text)


def write(report: Any, path: str, nb: NotebookRun, out: TextIO, writer: Any) -> None:
    """The text report (`writer`: verify's own) with cell locations, then which cells ran."""
    import io

    buf = io.StringIO()
    writer(report, path, buf)
    out.write(relocate(buf.getvalue(), path, nb.program))
    out.write(f"{nb.note}\n")


def to_json(doc: dict[str, Any], nb: NotebookRun) -> dict[str, Any]:
    """The JSON report with each diagnostic's cell, and the cells that ran (1-based)."""
    for d in doc.get("diagnostics", []):
        cell, line, col = nb.program.locate(d["line"] - 1, d["column"] - 1)
        _, end_line, end_col = nb.program.locate(d["end_line"] - 1, d["end_column"] - 1)
        d.update(cell=cell + 1, line=line + 1, column=col + 1)
        d.update(end_line=end_line + 1, end_column=end_col + 1)
    doc["cells_run"] = [i + 1 for i in nb.run]
    doc["cells_not_run"] = {str(i + 1): why for i, why in sorted(nb.not_run.items())}
    return doc
