"""`check`, `check --fix` and `summary` on Jupyter notebooks (the CLI's side of
`shape_lsp.notebooks`): locations name the cell, fixes rewrite only cell sources."""

from __future__ import annotations

import re
from dataclasses import replace
from pathlib import Path
from typing import Any

from shape_lsp.core.results import Finding, Fix, Related, Span, TextEdit
from shape_lsp.notebooks import NotebookError, Program, build, is_notebook, read_cells

__all__ = ["NotebookError", "fix_notebook", "is_notebook", "localize", "program_of"]


def program_of(text: str) -> Program:
    """The notebook's code cells as one program (raises NotebookError for other JSON)."""
    return build(read_cells(text))


def localize(record: dict[str, Any], program: Program) -> dict[str, Any]:
    """A `check` record of the program with every line/column in cell coordinates: each
    diagnostic gets `cell` (1-based, counting every cell), `cell_index` (0-based into the
    notebook's `cells`), `cell_id` (nbformat 4.5) and 1-based `line`/`column` in that cell."""
    by_index = {c.index: c for c in program.cells}
    for d in record["diagnostics"]:
        cell, line, col = program.locate(d["line"] - 1, d["column"] - 1)
        end_cell, end_line, end_col = program.locate(d["end_line"] - 1, d["end_column"] - 1)
        if end_cell != cell:  # a range across cells ends with its first cell's last line
            end_line = max(program.cell_lines(cell).stop - program.cell_lines(cell).start - 1, 0)
            end_col = len(by_index[cell].source.split("\n")[end_line]) if cell in by_index else 0
        d.update(line=line + 1, column=col + 1, end_line=end_line + 1, end_column=end_col + 1)
        d["cell"] = cell + 1
        d["trace"] = [trace_step(program, t) for t in d.get("trace", [])]
        d["cell_index"] = cell
        if cell in by_index and by_index[cell].id:
            d["cell_id"] = by_index[cell].id
    for m in record["models"]:
        cell, line, _ = program.locate(m["line"] - 1, 0)
        m.update(line=line + 1, cell=cell + 1, cell_index=cell)
        for c in m["calls"]:
            if c.get("line"):
                cell, line, _ = program.locate(c["line"] - 1, 0)
                c.update(line=line + 1, cell=cell + 1)
        for n in (m.get("graph") or {}).get("nodes", []):
            if n.get("line"):
                cell, line, _ = program.locate(n["line"] - 1, 0)
                n.update(line=line + 1, cell=cell + 1)
    record["notebook"] = True
    return record


_LINE = re.compile(r"^line (\d+):")


def trace_step(program: Program, step: str) -> str:
    """A trace step's leading `line N:` (a program line) as `cell C, line L:`."""
    m = _LINE.match(step)
    if m is None:
        return step
    cell, line, _ = program.locate(int(m.group(1)) - 1, 0)
    return f"cell {cell + 1}, line {line + 1}:{step[m.end() :]}"


def cell_findings(program: Program, findings: tuple[Finding, ...]) -> dict[int, list[Finding]]:
    """The findings whose preferred fix lies inside one cell, in that cell's coordinates,
    keyed by cell index (fixes touching neutralised IPython lines or several cells are left
    out: they could not be written back as they were computed)."""
    out: dict[int, list[Finding]] = {}
    for f in findings:
        fixes = []
        cell = None
        for fix in f.fixes:
            edits = []
            for e in fix.edits:
                s = e.span
                if not (
                    program.line_is_cell_text(s.start_line)
                    and program.line_is_cell_text(s.end_line)
                ):
                    break
                c1, l1, k1 = program.locate(s.start_line, s.start_col)
                c2, l2, k2 = program.locate(s.end_line, s.end_col)
                if c1 != c2 or cell not in (None, c1):
                    break
                cell = c1
                edits.append(TextEdit(Span(l1, k1, l2, k2), e.new_text))
            else:
                fixes.append(Fix(fix.title, tuple(edits), fix.preferred))
        if cell is not None and fixes:
            span = Span(0, 0, 0, 0)  # fixes are applied by their edits; the span is unused
            out.setdefault(cell, []).append(
                Finding(f.code, f.severity, span, f.message, fixes=tuple(fixes))
            )
    return out


def fix_notebook(path: Path, settings: Any, analyzer: Any, passes: int) -> int:
    """`check --fix` on a notebook: the preferred fixes, applied to the cell sources only
    (outputs, metadata and formatting stay byte for byte); returns how many were applied."""
    from shape_lsp.core.analysis.fixes import apply_fixes

    try:
        original = path.read_bytes().decode("utf-8")
        cells = read_cells(original)
    except (OSError, UnicodeDecodeError, NotebookError):
        return 0
    sources = {c.index: c.source for c in cells}
    total = 0
    for _ in range(passes):
        program = build(replace(c, source=sources[c.index]) for c in cells)
        findings = analyzer.analyze(program.text, str(path), settings).findings
        applied = 0
        for index, local in cell_findings(program, findings).items():
            new, n = apply_fixes(sources[index], tuple(local))
            sources[index] = new
            applied += n
        if not applied:
            break
        total += applied
    changed = {c.index: sources[c.index] for c in cells if sources[c.index] != c.source}
    if changed:
        from shape_lsp.notebooks import rewrite_sources

        path.write_bytes(rewrite_sources(original, changed).encode("utf-8"))
    return total


def related_cells(program: Program, related: tuple[Related, ...]) -> list[tuple[int, Span, str]]:
    """Related locations as (cell index, span in the cell, message)."""
    out = []
    for r in related:
        c, l1, k1 = program.locate(r.span.start_line, r.span.start_col)
        c2, l2, k2 = program.locate(r.span.end_line, r.span.end_col)
        out.append((c, Span(l1, k1, l2, k2) if c2 == c else Span(l1, k1, l1, k1), r.message))
    return out
