"""Render a ModelSummary as a torchinfo-like table (text and Markdown)."""

from __future__ import annotations

from shape_lsp.core.results import ModelSummary


def _params(n: int | None) -> str:
    return "?" if n is None else f"{n:,}"


def render_summary(m: ModelSummary) -> str:
    """Plain-text table: layer (indented by depth), output shape, parameters."""
    rows = [("Layer (type)", "Output Shape", "Param #")]
    for r in m.rows:
        name = f"{'  ' * (r.depth - 1)}{r.module} ({r.layer})"
        rows.append((name, r.output, _params(r.params)))
    w0 = max(len(r[0]) for r in rows)
    w1 = max(len(r[1]) for r in rows)
    w2 = max(len(r[2]) for r in rows)
    sep = "=" * (w0 + w1 + w2 + 6)
    lines = [f"{m.name}  input {m.input_text()}", sep]
    for i, (a, b, c) in enumerate(rows):
        lines.append(f"{a:<{w0}}   {b:<{w1}}   {c:>{w2}}")
        if i == 0:
            lines.append("-" * len(sep))
    lines.append(sep)
    lines.append(f"Output: {m.output}")
    lines.append(f"Total params: {_params(m.total_params)}")
    return "\n".join(lines)


def render_summary_markdown(m: ModelSummary) -> str:
    """Markdown table for hovers."""
    out = [
        f"**{m.name}** — input {m.input_text(code=True)}",
        "",
        "| module | layer | output | params |",
        "|---|---|---|---:|",
    ]
    for r in m.rows:
        out.append(f"| `{r.module}` | {r.layer} | `{r.output}` | {_params(r.params)} |")
    out.append("")
    out.append(f"Output `{m.output}` · total params {_params(m.total_params)}")
    return "\n".join(out)
