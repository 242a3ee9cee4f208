"""`shape-lsp summary`: say why a row is unknown ("unknown after SH101 (line 22)").

The engine leaves a layer's output unknown once a finding has made its input unprovable; the
table alone does not say so. This pairs each unknown row with the nearest finding (error or
warning) at or before it in the model's call order, from the findings and call lines the
analysis already returns."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from shape_lsp.core.results import Finding, ModelSummary, Severity, SummaryRow

UNKNOWN = "unknown"


def _blame(model: ModelSummary, findings: list[Finding]) -> list[Finding | None]:
    """For each row (and one more entry for the model's output), the finding it follows."""
    first_call: dict[str, int] = {}
    for c in model.calls:
        first_call.setdefault(c.module, c.line)
    lines: list[int | None] = []
    last: int | None = None
    for r in model.rows:
        last = first_call.get(r.module, last)
        lines.append(last)
    start, end = model.span.start_line + 1, model.span.end_line + 1
    placed: list[tuple[int, int, Finding]] = []
    for f in findings:
        if f.severity > Severity.WARNING:
            continue
        line = f.span.start_line + 1
        pos = next((j for j, ln in enumerate(lines) if ln == line), None)
        if pos is None and start <= line <= end:
            pos = next((j for j, ln in enumerate(lines) if ln is not None and ln >= line), None)
            if pos is None:
                pos = len(lines)  # after the last layer call (e.g. in a loss or a return)
        if pos is not None:
            placed.append((pos, line, f))
    placed.sort(key=lambda t: (t[0], t[1]))
    out: list[Finding | None] = []
    for i in range(len(lines) + 1):
        before = [f for pos, _, f in placed if pos <= i]
        out.append(before[-1] if before else None)
    return out


def _reason(f: Finding | None) -> str:
    return f" after {f.code} (line {f.span.start_line + 1})" if f is not None else ""


def explain_unknowns(
    models: list[ModelSummary], findings: list[Finding]
) -> list[tuple[ModelSummary, list[dict[str, Any] | None]]]:
    """Each model with its unknown rows (and output) annotated, and per row the cause (code,
    line) for JSON, or None."""
    out: list[tuple[ModelSummary, list[dict[str, Any] | None]]] = []
    for m in models:
        blame = _blame(m, findings)
        rows: list[SummaryRow] = []
        causes: list[dict[str, Any] | None] = []
        for r, f in zip(m.rows, blame, strict=False):
            if r.output == UNKNOWN and f is not None:
                rows.append(replace(r, output=UNKNOWN + _reason(f)))
                causes.append({"code": f.code, "line": f.span.start_line + 1})
            else:
                rows.append(r)
                causes.append(None)
        output = m.output
        if output == UNKNOWN:
            output += _reason(blame[-1])
        out.append((replace(m, rows=tuple(rows), output=output), causes))
    return out
