"""Parse a file as independent top-level chunks with libcst, each cached by its text.

A file is split at lines that start a new top-level statement. Each chunk is parsed on its
own, so an edit re-parses only the chunk it touches, and a syntax error in one chunk leaves
the others analysable. Positions are computed per chunk and only when asked for.
"""

from __future__ import annotations

import ast
import itertools
import re
import warnings
from collections import OrderedDict
from dataclasses import dataclass, field, replace

import libcst as cst

from shape_lsp.core.results import Span
from shape_lsp.core.source.lines import (
    _CONTINUATION,
    MAX_RUN_CACHE_CHARS,
    _scan,
    chunk_boundaries,
    split_lines,
)
from shape_lsp.core.source.positions import (
    _MAX_DEPTH,
    _NEWLINE,
    Range,
    node_positions,
)

# Lines that start a statement even when an earlier bracket was never closed (half-typed code).


@dataclass(frozen=True)
class SyntaxProblem:
    """Where and why a chunk does not parse (0-based line and column in the file)."""

    line: int
    col: int
    message: str
    python_accepts: bool = False  # valid Python this parser cannot read (too deep): SH002


@dataclass(eq=False)
class ParsedChunk:
    """A chunk's parse (text-keyed, shared between files and versions)."""

    text: str
    module: cst.Module | None
    error: tuple[int, int, str] | None  # chunk-relative 0-based line, col, message
    _positions: dict[cst.CSTNode, Range] | None = field(default=None, repr=False)

    def positions(self) -> dict[cst.CSTNode, Range]:
        """Node -> (start line, start col, end line, end col) within the chunk (1-based
        lines, libcst PositionProvider's ranges), computed once per chunk text."""
        if self._positions is None:
            assert self.module is not None
            try:
                self._positions = node_positions(self.module, self.text)
            except RecursionError:  # deeper than the parse guard lets through: no spans
                self._positions = {}
        return self._positions


@dataclass(eq=False)
class Chunk:
    """A parsed chunk placed in a file at `start_line` (0-based)."""

    parsed: ParsedChunk
    start_line: int
    line_map: list[int] | None = None  # piece line -> file line (0-based), for skeletons
    col_offset: int = 0  # columns removed by dedenting (method pieces)
    members: list[Chunk] = field(default_factory=list)  # method pieces of a split class
    origin: str = ""  # the file's path: spans of other files' chunks are not reported

    @property
    def module(self) -> cst.Module | None:
        """The chunk's libcst module, None when it does not parse."""
        return self.parsed.module

    @property
    def text(self) -> str:
        """The chunk's source text."""
        return self.parsed.text

    def span(self, node: cst.CSTNode) -> Span | None:
        """The node's span in the file (None when the node is not in this chunk)."""
        r = self.parsed.positions().get(node)
        if r is None:
            return None
        sl, sc, el, ec = r
        if self.line_map is not None:
            last = len(self.line_map) - 1
            return Span(self.line_map[min(sl - 1, last)], sc, self.line_map[min(el - 1, last)], ec)
        off = self.start_line - 1
        c = self.col_offset
        return Span(sl + off, sc + c, el + off, ec + c)


class ParseCache:
    """Chunk text -> ParsedChunk, an LRU bounded by entries and by total source size (a long
    typing session creates a new piece per edit: stale versions must not pile up)."""

    def __init__(self, size: int = 4096, max_chars: int = 2_000_000) -> None:
        self._items: OrderedDict[str, ParsedChunk] = OrderedDict()
        self._size = size
        self._max_chars = max_chars
        self._chars = 0
        self._live: dict[str, frozenset[str]] = {}
        self.fresh: list[ParsedChunk] | None = None  # when a list: every new parse is added

    def put(self, parsed: ParsedChunk) -> None:
        """Add a parse made elsewhere (a library's persistent parse cache)."""
        if parsed.text not in self._items:
            self._items[parsed.text] = parsed
            self._chars += len(parsed.text)

    def retain(self, origin: str, texts: frozenset[str], keep_stale: int = 128) -> None:
        """`origin`'s current pieces are `texts`: keep them, and only the `keep_stale` most
        recently used pieces that no file uses any more (undo, quick re-edits)."""
        self._live[origin] = texts
        live = frozenset().union(*self._live.values())
        stale = [t for t in self._items if t not in live]  # oldest first
        for t in stale[: max(len(stale) - keep_stale, 0)]:
            del self._items[t]
            self._chars -= len(t)

    def get(self, text: str) -> ParsedChunk:
        """The parse of `text`, from cache or fresh."""
        hit = self._items.get(text)
        if hit is not None:
            self._items.move_to_end(text)
            return hit
        parsed = _parse(text)
        if self.fresh is not None:
            self.fresh.append(parsed)
        self._items[text] = parsed
        self._chars += len(text)
        while len(self._items) > 1 and (
            len(self._items) > self._size or self._chars > self._max_chars
        ):
            old, _ = self._items.popitem(last=False)
            self._chars -= len(old)
        return parsed


def _parse(text: str) -> ParsedChunk:
    too_deep = _too_deep(text)
    if too_deep is not None:
        return ParsedChunk(text, None, too_deep)
    try:
        module = cst.parse_module(text)
    except cst.ParserSyntaxError as e:
        return ParsedChunk(text, None, _describe_error(text, e))
    except (RecursionError, MemoryError, ValueError, cst.CSTValidationError) as e:
        # CSTValidationError: e.g. `'a' b'b'` ("Cannot concatenate string and bytes")
        return ParsedChunk(text, None, (0, 0, f"cannot parse: {type(e).__name__}: {e}"))
    # libcst is more lenient than CPython in places (SH001 is CPython's verdict): the module
    # is kept for analysis, and CPython's error is reported.
    return ParsedChunk(text, module, _python_error(text))


def _python_error(text: str) -> tuple[int, int, str] | None:
    """CPython's syntax error in `text` (0-based line, col, message), or None."""
    try:
        with warnings.catch_warnings():  # "invalid escape sequence" and the like: not ours
            warnings.simplefilter("ignore")
            compile(text, "<chunk>", "exec", flags=0x400, dont_inherit=True)  # PyCF_ONLY_AST
    except SyntaxError as e:
        last = max(len(_NEWLINE.findall(text)) - 1, 0)
        line = min(max((e.lineno or 1) - 1, 0), last)
        return line, max((e.offset or 1) - 1, 0), e.msg or "invalid syntax"
    except ValueError as e:  # null bytes (a SyntaxError from Python 3.12 on)
        return 0, 0, str(e)
    except (RecursionError, MemoryError):
        return None
    return None


def python_parses(source: str) -> bool:
    """CPython's verdict on a whole file (its parser only; RecursionError counts as no)."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            compile(source, "<file>", "exec", flags=0x400, dont_inherit=True)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return False
    return True


# libcst's native parser recurses on the C stack: a few thousand nested brackets or unary
# operators, or a long `and` / `or` chain, overflow it and kill the process (SIGSEGV); long
# operator or subscript chains take seconds (superlinear). CPython's parser refuses most of these
# cleanly (RecursionError, "too many nested parentheses"); an AST depth walk catches the rest.
# Each level of nesting takes an operator, keyword or bracket (_OPERATORS): a chunk shorter than
# _DEEP_CHECK_CHARS skips the check when it has fewer than _MAX_DEPTH of them (1,400 unclosed
# `{` in a 1,700-character chunk crashed libcst), and one shorter than _MAX_DEPTH always does.
_DEEP_CHECK_CHARS = 2000
_TOO_DEEP = "too deeply nested to analyse"
_OPERATORS = re.compile(r"[-+*/%@&|^~<>=!.([{]|\b(?:and|or|not|lambda|if|await)\b")


def _too_deep(text: str) -> tuple[int, int, str] | None:
    """Why a chunk is too deeply nested to hand to libcst, or None."""
    if len(text) < _MAX_DEPTH or (
        len(text) < _DEEP_CHECK_CHARS and len(_OPERATORS.findall(text)) < _MAX_DEPTH
    ):
        return None
    try:
        with warnings.catch_warnings():  # e.g. "invalid decimal literal", not ours to print
            warnings.simplefilter("ignore")
            tree = compile(text, "<chunk>", "exec", flags=0x400, dont_inherit=True)  # ONLY_AST
    except SyntaxError as e:
        # An ordinary syntax error: libcst fails too and Python's message is the one reported
        # (see _describe_error), so libcst is only worth its risk on chunks it may still parse
        # (newer syntax than this Python's), i.e. with too few operators to nest deeply.
        if "too many nested" not in (e.msg or "") and len(_OPERATORS.findall(text)) < _MAX_DEPTH:
            return None
        return max((e.lineno or 1) - 1, 0), max((e.offset or 1) - 1, 0), e.msg or "invalid syntax"
    except (RecursionError, MemoryError):
        return 0, 0, _TOO_DEEP
    except ValueError:
        return None
    stack = [(tree, 0)]
    while stack:
        node, depth = stack.pop()
        if depth > _MAX_DEPTH:
            line = max(getattr(node, "lineno", 1) - 1, 0)
            return (
                line,
                getattr(node, "col_offset", 0),
                f"{_TOO_DEEP} (over {_MAX_DEPTH} levels)",
            )
        step = 1
        if isinstance(node, ast.BoolOp):
            step = len(node.values)  # libcst nests what ast keeps flat
        elif isinstance(node, ast.Compare):
            step = len(node.ops)
        stack.extend((child, depth + step) for child in ast.iter_child_nodes(node))
    return None


def _describe_error(text: str, e: cst.ParserSyntaxError) -> tuple[int, int, str]:
    """Python's own message and place when it has one (clearer than the parser's)."""
    last = max(len(_NEWLINE.findall(text)) - 1, 0)  # lone CRs end lines too
    try:
        with warnings.catch_warnings():  # "invalid decimal literal" and the like: not ours
            warnings.simplefilter("ignore")
            compile(text, "<chunk>", "exec", flags=0x400, dont_inherit=True)  # PyCF_ONLY_AST
    except SyntaxError as se:
        line = min(max((se.lineno or 1) - 1, 0), last)
        return line, max((se.offset or 1) - 1, 0), se.msg
    except (ValueError, RecursionError, MemoryError):
        pass
    msg = e.message.strip().splitlines()[0] if e.message else "invalid syntax"
    return min(max(e.raw_line - 1, 0), last), max(e.raw_column, 0), msg


@dataclass
class ParsedFile:
    """A file as chunks, plus the syntax problems of chunks that do not parse."""

    chunks: list[Chunk]
    problems: list[SyntaxProblem]
    lines: list[str]


def parse_file(source: str, cache: ParseCache, origin: str = "") -> ParsedFile:
    """Split and parse; a chunk that fails is retried merged with its successor once."""
    lines = split_lines(source)
    starts = chunk_boundaries(lines)
    bounds = [*starts, len(lines)]
    chunks: list[Chunk] = []
    problems: list[SyntaxProblem] = []
    i = 0
    while i < len(starts):
        a, b = bounds[i], bounds[i + 1]
        if b - a >= SPLIT_MIN_LINES:
            split = split_class(lines, a, b, cache)
            if split is not None:
                chunks.append(split)
                if split.parsed.error is not None and split.line_map:
                    line, col, msg = split.parsed.error
                    line = split.line_map[min(line, len(split.line_map) - 1)]
                    problems.append(SyntaxProblem(line, col, msg))
                for m in split.members:
                    if m.parsed.error is not None:
                        line, col, msg = m.parsed.error
                        problems.append(SyntaxProblem(m.start_line + line, col + m.col_offset, msg))
                i += 1
                continue
        parsed = cache.get("".join(lines[a:b]))
        if parsed.module is None and i + 1 < len(starts):
            merged = cache.get("".join(lines[a : bounds[i + 2]]))
            if merged.module is not None:
                chunks.append(Chunk(merged, a))
                _python_problem(merged, a, problems)
                i += 2
                continue
        if parsed.module is None:
            _resplit(lines, a, b, cache, chunks, problems)
        else:
            chunks.append(Chunk(parsed, a))
            _python_problem(parsed, a, problems)
        i += 1
    if problems and python_parses(source):
        # CPython accepts the file: the split (or libcst) disagrees. SH001 is CPython's
        # verdict, so nothing is reported; the file is analysed whole when libcst can.
        # A statement nested too deeply for libcst (a 20,000-term `and` chain) cannot be
        # analysed at all: it is SH002 (information), not a syntax error.
        problems = [replace(p, python_accepts=True) for p in problems if _beyond_parser(p.message)]
        whole = cache.get(source)
        if whole.module is not None:
            chunks = [Chunk(whole, 0)]
    for c in chunks:
        c.origin = origin
        for m in c.members:
            m.origin = origin
    if origin:
        cache.retain(
            origin, frozenset(t for c in chunks for t in (c.text, *(m.text for m in c.members)))
        )
    return ParsedFile(chunks, problems, lines)


def _beyond_parser(message: str) -> bool:
    """A problem that is libcst's limit, not a syntax error (see _too_deep, _parse)."""
    return message.startswith(
        (_TOO_DEEP, "cannot parse: RecursionError", "cannot parse: MemoryError")
    )


def _python_problem(parsed: ParsedChunk, start: int, problems: list[SyntaxProblem]) -> None:
    """A chunk libcst parsed but CPython rejects."""
    if parsed.error is not None:
        line, col, msg = parsed.error
        problems.append(SyntaxProblem(start + line, col, msg))


def _resplit(
    lines: list[str],
    a: int,
    b: int,
    cache: ParseCache,
    chunks: list[Chunk],
    problems: list[SyntaxProblem],
) -> None:
    """A chunk that does not parse: split it at every column-0 statement, ignoring brackets
    and strings, so that what follows an unclosed bracket is still analysed."""
    starts = [a] + [
        i
        for i in range(a + 1, b)
        if lines[i][:1] not in ("", " ", "\t", "#", ")", "]", "}", "\r", "\n", "@")
        and not _CONTINUATION.match(lines[i])
        and not lines[i - 1].rstrip("\r\n").startswith("@")
    ]
    bounds = [*starts, b]
    reported = False
    for s, e in itertools.pairwise(bounds):
        parsed = cache.get("".join(lines[s:e]))
        chunks.append(Chunk(parsed, s))
        if parsed.error is not None and not reported:
            line, col, msg = parsed.error
            problems.append(SyntaxProblem(s + line, col, msg))
            reported = True


SPLIT_MIN_LINES = 30
_DEF = re.compile(r"(async\s+)?def\s|@")


_Layout = tuple[str, list[int], list[tuple[str, int, int]]]
_SPLIT_CACHE: dict[str, _Layout | None] = {}
_SPLIT_CACHE_CHARS = [0]


def split_class(lines: list[str], a: int, b: int, cache: ParseCache) -> Chunk | None:
    """A long class as a skeleton (header and class-level statements) plus one piece per
    method, each parsed on its own: an edit inside a method re-parses only that method.
    None when the class cannot be split safely (the caller parses it whole). The layout
    (piece texts and line offsets) is memoized by the class's text."""
    key = "".join(lines[a:b])
    if key in _SPLIT_CACHE:
        hit = _SPLIT_CACHE[key]
        if hit is None:
            return None
        skeleton, line_map, members = hit
        return Chunk(
            cache.get(skeleton),
            a,
            [x + a for x in line_map],
            0,
            [Chunk(cache.get(t), a + s, None, c) for t, s, c in members],
        )
    chunk = _split_class(lines, a, b, cache)
    if _SPLIT_CACHE_CHARS[0] > MAX_RUN_CACHE_CHARS:
        _SPLIT_CACHE.clear()
        _SPLIT_CACHE_CHARS[0] = 0
    _SPLIT_CACHE_CHARS[0] += len(key)
    _SPLIT_CACHE[key] = (
        None
        if chunk is None
        else (
            chunk.parsed.text,
            [x - a for x in chunk.line_map or ()],
            [(m.parsed.text, m.start_line - a, m.col_offset) for m in chunk.members],
        )
    )
    return chunk


def _split_class(lines: list[str], a: int, b: int, cache: ParseCache) -> Chunk | None:
    depth, in_triple = 0, None
    k = a
    while k < b and (depth or in_triple or lines[k].startswith("@") or not lines[k].strip()):
        in_triple, depth = _scan(lines[k].rstrip("\r\n"), in_triple, depth)
        k += 1
    if k >= b or not lines[k].startswith("class "):
        return None
    header_end = k
    while header_end < b:
        in_triple, depth = _scan(lines[header_end].rstrip("\r\n"), in_triple, depth)
        code = lines[header_end].split("#", 1)[0].rstrip()
        if depth == 0 and in_triple is None and code.endswith(":"):
            break
        if depth == 0 and in_triple is None and ":" in code and not code.endswith(":"):
            return None  # one-line body
        header_end += 1
    body = header_end + 1
    first = next(
        (j for j in range(body, b) if lines[j].strip() and not lines[j].lstrip().startswith("#")),
        None,
    )
    if first is None:
        return None
    indent = lines[first][: len(lines[first]) - len(lines[first].lstrip(" \t"))]
    if not indent:
        return None
    dedented: list[str] = []
    for j in range(body, b):
        ln = lines[j]
        if not ln.strip() or (ln.lstrip().startswith("#") and not ln.startswith(indent)):
            # its own line break: after a line ending in \r, a \n would join it (\r\n)
            dedented.append(ln[len(ln.rstrip("\r\n")) :] or "\n")
        elif ln.startswith(indent):
            dedented.append(ln[len(indent) :])
        else:
            return None  # e.g. a multi-line string with text left of the body
    starts = chunk_boundaries(dedented)
    bounds = [*starts, len(dedented)]
    members: list[Chunk] = []
    skel_lines = lines[a:body]
    line_map = list(range(a, body))
    for s, e in itertools.pairwise(bounds):
        head = next((dedented[j] for j in range(s, e) if dedented[j].strip()), "")
        if _DEF.match(head):
            members.append(Chunk(cache.get("".join(dedented[s:e])), body + s, None, len(indent)))
        else:
            skel_lines.extend(lines[body + s : body + e])
            line_map.extend(range(body + s, body + e))
    if not any(ln.strip() for ln in skel_lines[body - a :]):
        skel_lines.append(indent + "pass\n")
        line_map.append(header_end)
    skeleton = cache.get("".join(skel_lines))
    if skeleton.module is None:
        return None
    return Chunk(skeleton, a, line_map, 0, members)
