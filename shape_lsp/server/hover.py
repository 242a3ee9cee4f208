"""Hover: a tensor / layer's shapes and formula, or a model's layer-by-layer summary.

While the file does not parse, positions whose line is unchanged are answered from the last
analysis that parsed (the core also keeps analysing the chunks that still parse).
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING

from lsprotocol import types as lsp

from shape_lsp.core.results import ModelSummary, ShapeFact, Span
from shape_lsp.server import convert, render
from shape_lsp.server.documents import Analysed, DocState

if TYPE_CHECKING:
    from shape_lsp.server.base import ShapeServer

_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def word_at(line: str, col: int) -> str:
    """The identifier under (or just before) the cursor, '' when none."""
    for m in _WORD.finditer(line):
        if m.start() <= col <= m.end():
            return m.group(0)
    return ""


def current_lines(server: ShapeServer, state: DocState) -> list[str]:
    """The document's lines now (the analysed snapshot's when it is current)."""
    doc = server.document(state.uri)
    cur = state.current
    if cur is not None and (doc is None or (doc.version or 0) == cur.version):
        return cur.lines
    return convert.split_lines(doc.source) if doc is not None else []


def snapshots(state: DocState, lines: Sequence[str], line: int) -> Iterator[Analysed]:
    """Analyses usable at `line`: the current one, then the last good one while broken."""
    seen = []
    for snap in (state.current, state.last_good):
        if snap is None or snap in seen:
            continue
        seen.append(snap)
        if 0 <= line < len(lines) and line < len(snap.lines) and snap.lines[line] == lines[line]:
            yield snap
        if snap.result.parsed:
            return


def model_at(snap: Analysed, word: str, line: int, *, definition_only: bool) -> ModelSummary | None:
    """The model named `word` (class name or Sequential variable)."""
    if not word:
        return None
    for m in snap.result.models:
        if word in (m.name, m.variable) and (not definition_only or m.span.start_line == line):
            return m
    return None


def runtime_facts(state: DocState, snap: Analysed, line: int, col: int) -> list[ShapeFact]:
    """The verifier's facts at the position (same version only)."""
    v = state.verified
    if v is None or v.version != snap.version:
        return []
    return [f for f in v.facts if f.span.contains(line, col)]


def hover_at(
    state: DocState, lines: Sequence[str], line: int, col: int
) -> tuple[str, Span | None, Analysed] | None:
    """Markdown, range and snapshot for a hover at a code-point position."""
    text = lines[line] if 0 <= line < len(lines) else ""
    word = word_at(text, col)
    for snap in snapshots(state, lines, line):
        model = model_at(snap, word, line, definition_only=True)
        if model is not None:
            return render.summary_markdown(model), None, snap
        facts = snap.result.facts_at(line, col)
        runtime = runtime_facts(state, snap, line, col)
        if facts or runtime:
            fact = best_fact(facts or runtime)
            extra = runtime if facts else []
            return render.fact_markdown(fact, extra), fact.span, snap
        model = model_at(snap, word, line, definition_only=False)
        if model is not None:
            return render.summary_markdown(model), None, snap
    return None


def best_fact(facts: Sequence[ShapeFact]) -> ShapeFact:
    """Of the innermost facts (same span), the most informative; the latest on ties."""
    inner = [f for f in facts if f.span == facts[0].span]
    return max(
        reversed(inner),
        key=lambda f: (
            f.shape != "unknown",
            bool(f.input_shape and f.input_shape != "unknown"),
            len(f.detail),
        ),
    )


def register(server: ShapeServer) -> None:
    """Register textDocument/hover."""

    @server.feature(lsp.TEXT_DOCUMENT_HOVER)
    @server.guarded("hover", lambda: None)
    def hover(params: lsp.HoverParams) -> lsp.Hover | None:
        state = server.docs.get(params.text_document.uri)
        if state is None or state.current is None:
            return None
        lines = current_lines(server, state)
        line, col = convert.from_position(lines, params.position, server.encoding)
        found = hover_at(state, lines, line, col)
        if found is None:
            return None
        markdown, span, snap = found
        return lsp.Hover(
            contents=lsp.MarkupContent(kind=lsp.MarkupKind.Markdown, value=markdown),
            range=convert.to_range(snap.lines, span, server.encoding) if span else None,
        )
