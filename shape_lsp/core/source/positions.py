"""Node positions for a parsed chunk: libcst's code generator replayed with line/column
bookkeeping (no metadata wrapper), realigned to the original text."""

from __future__ import annotations

import re
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from types import TracebackType

import libcst as cst
from libcst._nodes.internal import CodegenState

from shape_lsp.core.source.lines import split_lines

_MAX_DEPTH = 1000
_POSITION_FRAMES = 8 * _MAX_DEPTH  # see node_positions

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
