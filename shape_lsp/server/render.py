"""Markdown and plain text for hovers and the summary command (no LSP types here)."""

from __future__ import annotations

from collections.abc import Iterable

from shape_lsp.core.results import ModelSummary, ShapeFact


def _count(n: int | None) -> str:
    return "?" if n is None else f"{n:,}"


def fact_markdown(fact: ShapeFact, runtime: Iterable[ShapeFact] = ()) -> str:
    """A shape fact for hover: label, input -> output shape, dtype, params, formula lines."""
    head = f"**{fact.label}**" if fact.label else f"*{fact.kind}*"
    lines = [head]
    if fact.input_shape:
        lines.append(f"`{fact.input_shape}` → `{fact.shape}`")
    else:
        lines.append(f"`{fact.shape}`")
    extra = []
    if fact.dtype:
        extra.append(f"dtype `{fact.dtype}`")
    if fact.params is not None:
        extra.append(f"params {_count(fact.params)}")
    if extra:
        lines.append(" · ".join(extra))
    for r in runtime:
        lines.append(f"runtime (verify): `{r.shape}`" + (f" `{r.dtype}`" if r.dtype else ""))
    text = "  \n".join(lines)
    if fact.detail:
        text += "\n\n```text\n" + "\n".join(fact.detail) + "\n```"
    return text


def summary_rows(model: ModelSummary) -> list[tuple[str, str, str, str]]:
    """(module, layer, output, params) per row, module names indented by depth."""
    return [
        ("  " * max(r.depth, 0) + (r.module or "(root)"), r.layer, r.output, _count(r.params))
        for r in model.rows
    ]


def _header(model: ModelSummary) -> str:
    return f"{model.name}: input {model.input_text()} → output {model.output or '?'}"


def summary_markdown(model: ModelSummary) -> str:
    """The layer-by-layer table of a model as a markdown table, with the total."""
    out = [
        f"**{model.name}**  \ninput {model.input_text(code=True)} → output `{model.output or '?'}`",
        "",
    ]
    if model.rows:
        out += ["| Module | Layer | Output shape | Params |", "|---|---|---|---:|"]
        for module, layer, output, params in summary_rows(model):
            module_md = module.replace("  ", "\u00a0\u00a0")
            out.append(f"| {module_md} | {layer} | `{output}` | {params} |")
        out.append("")
    out.append(f"Total params: **{_count(model.total_params)}**")
    return "\n".join(out)


def summary_text(model: ModelSummary) -> str:
    """The same table as aligned plain text."""
    rows = [("Module", "Layer", "Output shape", "Params"), *summary_rows(model)]
    widths = [max(len(r[i]) for r in rows) for i in range(4)]
    lines = [_header(model)]
    for i, r in enumerate(rows):
        lines.append(
            "  ".join(
                c.ljust(w) if j < 3 else c.rjust(w)
                for j, (c, w) in enumerate(zip(r, widths, strict=True))
            ).rstrip()
        )
        if i == 0:
            lines.append("  ".join("-" * w for w in widths))
    lines.append(f"Total params: {_count(model.total_params)}")
    return "\n".join(lines)
