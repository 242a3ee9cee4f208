"""Lines and top-level chunk boundaries of a source text, found without parsing (a small
scanner for brackets, strings and continuation lines)."""

from __future__ import annotations

import re

_CONTINUATION = re.compile(r"(else|elif|except|finally|case)\b")
_TRIPLE = re.compile(r'"""|\'\'\'')
_HARD_START = re.compile(r"(def|class|async\s+def|import|from)\s|@")


_LINE = re.compile(r"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+\Z")


def split_lines(source: str) -> list[str]:
    """Lines with their endings (\\n, \\r\\n or \\r), as Python and LSP count them: not
    str.splitlines, which also breaks at \\f, \\v, \\x1c-\\x1e, \\x85, \\u2028 and \\u2029 and
    so shifted every later span (a form feed between functions is common in older code)."""
    return _LINE.findall(source)


def chunk_boundaries(lines: list[str]) -> list[int]:
    """0-based start lines of top-level statements (a cheap scan; parsing corrects it).

    Only lines that start in column 0 can start a statement; the indented and blank lines
    between two of them only move the bracket / triple-quote state, which is memoized per
    run of such lines (an edit re-scans only the run it touches)."""
    starts = [0]
    depth = 0
    in_triple: str | None = None
    prev_decorator = False
    nxt = 0  # first line not scanned yet
    for i in [i for i, ln in enumerate(lines) if ln[:1] not in _NOT_COL0]:
        if i > nxt:
            in_triple, depth = _scan_run(lines, nxt, i, in_triple, depth)
        nxt = i + 1
        stripped = lines[i].rstrip("\r\n")
        if depth and in_triple is None and _HARD_START.match(stripped):
            depth = 0  # an unclosed bracket above: resynchronise at the next definition
        at_stmt = (
            depth == 0
            and in_triple is None
            and not (i > 0 and lines[i - 1].rstrip("\r\n").endswith("\\"))
            and stripped[:1] not in ("#", ")", "]", "}", "\f", "")
        )
        if i > 0 and at_stmt and not prev_decorator and not _CONTINUATION.match(stripped):
            starts.append(i)
        if at_stmt:
            # A decorator holds the statement open until its `def`/`class`, across its own
            # closing bracket lines and further (multi-line) decorators stacked under it.
            prev_decorator = stripped.startswith("@")
        in_triple, depth = _scan(stripped, in_triple, depth)
    return starts


# First characters of lines that cannot start a top-level statement (indented or blank).
_NOT_COL0 = ("", " ", "\t", "\r", "\n")
_RUN_CACHE: dict[tuple[str, str | None, int], tuple[str | None, int]] = {}
_RUN_CACHE_CHARS = [0]
MAX_RUN_CACHE_CHARS = 400_000


def _scan_run(
    lines: list[str], a: int, b: int, in_triple: str | None, depth: int
) -> tuple[str | None, int]:
    """The scan state after lines a..b-1, memoized per block of RUN_BLOCK lines by their
    text and the state before (an edit in a 700-line class body re-scans one block)."""
    for s in range(a, b, RUN_BLOCK):
        e = min(s + RUN_BLOCK, b)
        text = lines[s] if e == s + 1 else "".join(lines[s:e])
        key = (text, in_triple, depth)
        hit = _RUN_CACHE.get(key)
        if hit is None:
            for j in range(s, e):  # not through _scan: its per-line memo would cost memory
                in_triple, depth = _scan_line(lines[j].rstrip("\r\n"), in_triple, depth)
            if _RUN_CACHE_CHARS[0] > MAX_RUN_CACHE_CHARS:
                _RUN_CACHE.clear()
                _RUN_CACHE_CHARS[0] = 0
            hit = _RUN_CACHE[key] = (in_triple, depth)
            _RUN_CACHE_CHARS[0] += len(text)
        in_triple, depth = hit
    return in_triple, depth


RUN_BLOCK = 16


_SCAN_CACHE: dict[tuple[str, str | None, int], tuple[str | None, int]] = {}


def _scan(line: str, in_triple: str | None, depth: int) -> tuple[str | None, int]:
    """Memoized `_scan_line` (the same lines recur across edits of one file)."""
    key = (line, in_triple, depth)
    hit = _SCAN_CACHE.get(key)
    if hit is None:
        if len(_SCAN_CACHE) > 4_000:
            _SCAN_CACHE.clear()
        hit = _SCAN_CACHE[key] = _scan_line(line, in_triple, depth)
    return hit


def _scan_line(line: str, in_triple: str | None, depth: int) -> tuple[str | None, int]:
    """Track open triple-quoted strings and bracket depth across one line (approximate)."""
    i, n = 0, len(line)
    while i < n:
        if in_triple is not None:
            j = line.find(in_triple, i)
            if j < 0:
                return in_triple, depth
            in_triple, i = None, j + 3
            continue
        ch = line[i]
        if ch == "#":
            break
        if ch in "\"'":
            if line.startswith(ch * 3, i):
                in_triple, i = ch * 3, i + 3
                continue
            j = i + 1
            while j < n and line[j] != ch:
                j += 2 if line[j] == "\\" else 1
            i = j + 1
            continue
        if ch in "([{":
            depth += 1
        elif ch in ")]}":
            depth = max(depth - 1, 0)
        i += 1
    return in_triple, depth
