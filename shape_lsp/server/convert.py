"""Core values -> LSP types: positions (code points <-> UTF-16/UTF-8 units), diagnostics."""

from __future__ import annotations

from collections.abc import Sequence

from lsprotocol import types as lsp

from shape_lsp.core.codes import CODES
from shape_lsp.core.results import Finding, Span


def split_lines(text: str) -> list[str]:
    """Lines as the core counts them (split at \\n, trailing \\r dropped)."""
    if "\r" not in text:
        return text.split("\n")
    return [line[:-1] if line.endswith("\r") else line for line in text.split("\n")]


def _units(s: str, encoding: str) -> int:
    if encoding == "utf-32" or s.isascii():
        return len(s)
    if encoding == "utf-8":
        return len(s.encode("utf-8"))
    return len(s.encode("utf-16-le")) // 2


def to_client_col(line: str, col: int, encoding: str) -> int:
    """A code-point column on `line` in the client's position units."""
    if col <= 0:
        return 0
    return _units(line[:col], encoding) + max(0, col - len(line))


def from_client_col(line: str, units: int, encoding: str) -> int:
    """A client column (in `encoding` units) on `line` as a code-point column."""
    if encoding == "utf-32" or line.isascii():
        return units
    seen = 0
    for i, ch in enumerate(line):
        if seen >= units:
            return i
        seen += 1 if encoding == "utf-32" else _units(ch, encoding)
    return len(line)


def position(lines: Sequence[str], line: int, col: int, encoding: str) -> lsp.Position:
    """A 0-based (line, code-point col) as an LSP position."""
    text = lines[line] if 0 <= line < len(lines) else ""
    return lsp.Position(line=max(line, 0), character=to_client_col(text, col, encoding))


def to_range(lines: Sequence[str], span: Span, encoding: str) -> lsp.Range:
    """A core span as an LSP range."""
    return lsp.Range(
        start=position(lines, span.start_line, span.start_col, encoding),
        end=position(lines, span.end_line, span.end_col, encoding),
    )


def from_position(lines: Sequence[str], pos: lsp.Position, encoding: str) -> tuple[int, int]:
    """An LSP position as a 0-based (line, code-point col)."""
    text = lines[pos.line] if 0 <= pos.line < len(lines) else ""
    return pos.line, from_client_col(text, pos.character, encoding)


def diagnostic(uri: str, lines: Sequence[str], f: Finding, encoding: str) -> lsp.Diagnostic:
    """A finding as an LSP diagnostic: code, rule link, shape trace and related locations."""
    entry = CODES.get(f.code)
    related = [
        lsp.DiagnosticRelatedInformation(
            location=lsp.Location(uri=uri, range=to_range(lines, r.span, encoding)),
            message=r.message,
        )
        for r in f.related
    ]
    message = f.message
    if f.trace:
        message += "\n" + "\n".join(f"  {step}" for step in f.trace)
    return lsp.Diagnostic(
        range=to_range(lines, f.span, encoding),
        message=message,
        severity=lsp.DiagnosticSeverity(int(f.severity)),
        code=f.code,
        code_description=lsp.CodeDescription(href=entry.url) if entry else None,
        source=f.source,
        related_information=related or None,
    )
