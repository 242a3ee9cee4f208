"""Inlay hints: the shape after each tensor assignment in forward and each Sequential entry."""

from __future__ import annotations

from typing import TYPE_CHECKING

from lsprotocol import types as lsp

from shape_lsp.core.results import ShapeFact, Span
from shape_lsp.server import convert
from shape_lsp.server.hover import best_fact, current_lines

if TYPE_CHECKING:
    from shape_lsp.server.base import ShapeServer


def hint_facts(facts: tuple[ShapeFact, ...], first: int, last: int) -> list[ShapeFact]:
    """Facts marked for inlay ending on lines first..last, the best one per span, known shapes."""
    by_span: dict[Span, list[ShapeFact]] = {}
    for f in facts:
        if f.inlay and first <= f.span.end_line <= last:
            by_span.setdefault(f.span, []).append(f)
    best = (best_fact(group) for group in by_span.values())
    return [f for f in best if f.shape and f.shape != "unknown"]


def register(server: ShapeServer) -> None:
    """Register textDocument/inlayHint."""

    @server.feature(lsp.TEXT_DOCUMENT_INLAY_HINT, lsp.InlayHintOptions(resolve_provider=False))
    @server.guarded("inlayHint", list)
    def inlay_hints(params: lsp.InlayHintParams) -> list[lsp.InlayHint]:
        state = server.docs.get(params.text_document.uri)
        if state is None or state.current is None or not state.current.settings.inlay_hints:
            return []
        lines = current_lines(server, state)
        first, last = params.range.start.line, params.range.end.line
        seen: set[tuple[int, int]] = set()
        hints: list[lsp.InlayHint] = []
        snaps = [state.current]
        if not state.current.result.parsed and state.last_good is not None:
            snaps.append(state.last_good)
        for snap in snaps:
            runtime = {}
            if state.verified is not None and state.verified.version == snap.version:
                runtime = {f.span: f for f in state.verified.facts}
            for fact in hint_facts(snap.result.facts, first, last):
                end = fact.span.end_line
                if (end, fact.span.end_col) in seen or end >= len(lines) or end >= len(snap.lines):
                    continue
                if snap is not state.current and snap.lines[end] != lines[end]:
                    continue
                seen.add((end, fact.span.end_col))
                rt = runtime.get(fact.span)
                tooltip = f"{fact.label}: {fact.shape}" + (f" (runtime: {rt.shape})" if rt else "")
                hints.append(
                    lsp.InlayHint(
                        position=convert.position(
                            snap.lines, end, fact.span.end_col, server.encoding
                        ),
                        label=f": {fact.shape}",
                        kind=lsp.InlayHintKind.Type,
                        padding_left=False,
                        tooltip=tooltip,
                    )
                )
        return hints
