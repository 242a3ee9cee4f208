"""Parse a file as independent top-level chunks with libcst, each cached by its text.

A file is split at lines that start a new top-level statement. Each chunk is parsed on its
own, so an edit re-parses only the chunk it touches, and a syntax error in one chunk leaves
the others analysable. Positions are computed per chunk and only when asked for.
"""

from __future__ import annotations

import ast
import itertools
import re
import sys
import threading
import warnings
from collections import OrderedDict
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field, replace
from types import TracebackType

import libcst as cst
from libcst._nodes.internal import CodegenState

from shape_lsp.core.results import Span

_CONTINUATION = re.compile(r"(else|elif|except|finally|case)\b")
_TRIPLE = re.compile(r'"""|\'\'\'')
# Lines that start a statement even when an earlier bracket was never closed (half-typed code).
_HARD_START = re.compile(r"(def|class|async\s+def|import|from)\s|@")


@dataclass(frozen=True)
class SyntaxProblem:
    """Where and why a chunk does not parse (0-based line and column in the file)."""

    line: int
    col: int
    message: str


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


Range = tuple[int, int, int, int]
_NEWLINE = re.compile(r"\r\n?|\n")


class _PositionState(CodegenState):
    """libcst's PositionProvider ranges from one code generation pass, without its costs
    (MetadataWrapper, a regex split per token, generator-based context managers and a
    CodeRange object per node): about 5x faster, same ranges."""

    def __init__(self, module: cst.Module) -> None:
        super().__init__(module.default_indent, module.default_newline)
        self.line = 1
        self.column = 0
        self.stack: list[tuple[int, int]] = []
        self.out: dict[cst.CSTNode, Range] = {}

    def add_indent_tokens(self) -> None:
        for token in self.indent_tokens:
            self.add_token(token)

    def add_token(self, value: str) -> None:
        self.tokens.append(value)
        if "\n" not in value and "\r" not in value:
            self.column += len(value)
            return
        segments = _NEWLINE.split(value)
        self.line += len(segments) - 1
        self.column = len(segments[-1])

    def before_codegen(self, node: cst.CSTNode) -> None:
        self.stack.append((self.line, self.column))

    def after_codegen(self, node: cst.CSTNode) -> None:
        line, col = self.stack.pop()
        if node not in self.out and type(node) not in _NO_SPAN:
            self.out[node] = (line, col, self.line, self.column)

    def record_syntactic_position(  # type: ignore[override]
        self,
        node: cst.CSTNode,
        *,
        start_node: cst.CSTNode | None = None,
        end_node: cst.CSTNode | None = None,
    ) -> _Syntactic:
        return _Syntactic(self, node, start_node, end_node)


class _Syntactic:
    """`with state.record_syntactic_position(node):` as a plain context manager."""

    __slots__ = ("end_node", "node", "start", "start_node", "state")

    def __init__(
        self,
        state: _PositionState,
        node: cst.CSTNode,
        start_node: cst.CSTNode | None,
        end_node: cst.CSTNode | None,
    ) -> None:
        self.state, self.node, self.start_node, self.end_node = state, node, start_node, end_node

    def __enter__(self) -> None:
        self.start = (self.state.line, self.state.column)

    def __exit__(
        self, et: type[BaseException] | None, ev: BaseException | None, tb: TracebackType | None
    ) -> None:
        if et is not None or type(self.node) in _NO_SPAN:
            return  # unwinding (a RecursionError, say): the inner nodes were never recorded
        st = self.state
        out = st.out
        sl, sc = out[self.start_node][:2] if self.start_node is not None else self.start
        el, ec = out[self.end_node][2:] if self.end_node is not None else (st.line, st.column)
        out[self.node] = (sl, sc, el, ec)


# Whitespace, comments and separators: nothing reports them, and they are 70% of all nodes.
# (Not brackets: libcst ends an import's range at its closing parenthesis.)
_NO_SPAN = frozenset(
    {
        cst.SimpleWhitespace,
        cst.ParenthesizedWhitespace,
        cst.TrailingWhitespace,
        cst.Newline,
        cst.EmptyLine,
        cst.Comment,
        cst.Comma,
        cst.Dot,
        cst.Colon,
        cst.Semicolon,
        cst.AssignEqual,
    }
)


def node_positions(module: cst.Module, text: str | None = None) -> dict[cst.CSTNode, Range]:
    """The syntactic range of every node in `module` but whitespace, comments and
    separators (the ranges libcst's PositionProvider computes), in `text` (the parsed source)
    when given: libcst drops some of it (see _realign)."""
    try:
        out, tokens = _codegen_positions(module)
    except RecursionError:  # a deeply nested chunk, or asked for deep in the analysis
        with _recursion_headroom(_POSITION_FRAMES):
            out, tokens = _codegen_positions(module)
    if text is not None and "\\" in text and _BACKSLASH_LINE.search(text):
        code = "".join(tokens)
        if code != text:
            return _realign(out, code, text)
    return out


def _codegen_positions(module: cst.Module) -> tuple[dict[cst.CSTNode, Range], list[str]]:
    state = _PositionState(module)
    module._codegen(state)
    return state.out, state.tokens


# A line that is only a backslash continuation, before a statement's first token: libcst parses
# it but leaves it out of the tree, so ranges after it were a line up (at the end of a file, past
# its end), and the line after it may be rendered with another indentation.
_BACKSLASH_LINE = re.compile(r"(?:^|(?<=[\r\n]))[ \t\f]*\\(?:\r\n|\r|\n)")


def _realign(out: dict[cst.CSTNode, Range], code: str, text: str) -> dict[cst.CSTNode, Range]:
    """`out`'s ranges in `code` (libcst's rendering) moved to `text` (the source), where
    `code` lacks some backslash-only lines of `text`."""
    gen, orig = split_lines(code), split_lines(text)
    where: list[tuple[int, int, int]] = []  # per code line: text line, from column, shift
    i = 0
    for g in gen:
        first = i
        while i < len(orig) and orig[i] != g and _BACKSLASH_LINE.fullmatch(orig[i]):
            i += 1
        if first < i < len(orig) and _same_code(g, orig[i]):
            indent = len(g) - len(g.lstrip(" \t\f"))
            where.append((i, indent, len(orig[i]) - len(orig[i].lstrip(" \t\f")) - indent))
        else:
            where.append((i, 0, 0))
        i += 1
    beyond = len(orig) - len(gen)

    def place(line: int, col: int) -> tuple[int, int]:
        if line - 1 >= len(where):
            return line + beyond, col
        at, start, shift = where[line - 1]
        return at + 1, col + shift if col >= start else col

    moved: dict[cst.CSTNode, Range] = {}
    for node, (sl, sc, el, ec) in out.items():
        moved[node] = (*place(sl, sc), *place(el, ec))
    return moved


def _same_code(a: str, b: str) -> bool:
    return a.strip(" \t\f\r\n") == b.strip(" \t\f\r\n")


# The codegen pass recurses in Python: two frames per node, and up to three nodes per level
# of nesting (a subscript is Subscript, SubscriptElement, Index), so ~6 frames per level
# where CPython's ast has one. Without headroom of its own it failed at ~160 nested
# subscripts (CPython accepts 200), and earlier the deeper in the analysis it was first asked.
# Everything libcst is given is at most _MAX_DEPTH ast levels deep (_too_deep), or shorter
# than _DEEP_CHECK_CHARS (at most ~2 frames per character): 8 * _MAX_DEPTH frames cover both,
# and use well under a quarter of an 8 MiB thread stack.
_HEADROOM_LOCK = threading.Lock()
_headroom: list[int] = [0, 0]  # threads inside, the limit before the first raised it


@contextmanager
def _recursion_headroom(frames: int) -> Iterator[None]:
    """The recursion limit raised by `frames` while inside (shared by threads: the first in
    raises it, the last out restores it)."""
    with _HEADROOM_LOCK:
        if _headroom[0] == 0:
            _headroom[1] = sys.getrecursionlimit()
            sys.setrecursionlimit(_headroom[1] + frames)
        _headroom[0] += 1
    try:
        yield
    finally:
        with _HEADROOM_LOCK:
            _headroom[0] -= 1
            if _headroom[0] == 0:
                with suppress(RecursionError):  # this thread went deeper meanwhile: keep it
                    sys.setrecursionlimit(_headroom[1])


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
_MAX_DEPTH = 1000
_POSITION_FRAMES = 8 * _MAX_DEPTH  # see node_positions
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
        # A statement nested too deeply for libcst (a 20,000-term `and` chain) is the
        # exception: it cannot be analysed at all, and saying so beats a silent gap.
        problems = [
            replace(p, message=f"{p.message} (Python accepts it; too deep for this parser)")
            for p in problems
            if _beyond_parser(p.message)
        ]
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
