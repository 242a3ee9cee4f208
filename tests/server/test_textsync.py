"""didChange application (`textsync`) against a plain reference implementation of the LSP's
positions, and over LSP on a file with a form feed (pygls' splitlines put edits on the wrong
line after one)."""

from __future__ import annotations

import random
import re

import pytest
from lsprotocol import types as lsp

from shape_lsp.core.api import Analyzer
from shape_lsp.server.textsync import apply_change
from tests.server.conftest import Session
from tests.server.fixtures import NET, NET_FC_LINE

ALPHABET = ["a", "b", " ", "\n", "\r\n", "\r", "\x0c", "\u2028", "é", "\U0001f600", "x = 1"]


def units(ch: str, encoding: str) -> int:
    if encoding == "utf-8":
        return len(ch.encode("utf-8"))
    if encoding == "utf-16":
        return 2 if ord(ch) > 0xFFFF else 1
    return 1


def reference_offset(text: str, pos: lsp.Position, encoding: str) -> int:
    """Character by character: lines end at \\n, \\r\\n or \\r only."""
    starts = [0] + [m.end() for m in re.finditer(r"\r\n|\r|\n", text)]
    if pos.line >= len(starts):
        return len(text)
    start = starts[pos.line]
    m = re.compile(r"\r\n|\r|\n").search(text, start)
    end = m.start() if m else len(text)
    seen, i = 0, start
    while i < end and seen < pos.character:
        seen += units(text[i], encoding)
        i += 1
    return i


def random_position(text: str, rng: random.Random, encoding: str) -> lsp.Position:
    lines = re.split(r"\r\n|\r|\n", text)
    line = rng.randrange(len(lines) + 1)
    width = sum(units(c, encoding) for c in lines[line]) if line < len(lines) else 0
    return lsp.Position(line, rng.randrange(width + 3))


@pytest.mark.parametrize("encoding", ["utf-16", "utf-8", "utf-32"])
def test_random_edits_match_reference(encoding: str) -> None:
    rng = random.Random(encoding)
    for _ in range(300):
        text = "".join(rng.choice(ALPHABET) for _ in range(rng.randrange(0, 30)))
        p, q = random_position(text, rng, encoding), random_position(text, rng, encoding)
        if (q.line, q.character) < (p.line, p.character):
            p, q = q, p
        new = "".join(rng.choice(ALPHABET) for _ in range(rng.randrange(0, 4)))
        change = lsp.TextDocumentContentChangePartial(range=lsp.Range(start=p, end=q), text=new)
        a, b = reference_offset(text, p, encoding), reference_offset(text, q, encoding)
        expected = text[:a] + new + text[max(a, b) :]
        assert apply_change(text, change, encoding) == expected, (text, p, q, new)


def test_whole_document_change() -> None:
    change = lsp.TextDocumentContentChangeWholeDocument(text="new")
    assert apply_change("old\ntext", change, "utf-16") == "new"


def test_form_feed_is_not_a_line_break() -> None:
    text = "a\x0cb\nc\nd"
    pos = lsp.Position(1, 1)
    change = lsp.TextDocumentContentChangePartial(range=lsp.Range(start=pos, end=pos), text="!")
    assert apply_change(text, change, "utf-16") == "a\x0cb\nc!\nd"


@pytest.mark.asyncio
async def test_edits_below_a_form_feed_over_lsp(push_session: Session) -> None:
    """The server's copy of a file with a form feed stays the editor's: diagnostics after an
    edit below it equal a fresh analysis of the editor's text."""
    s = push_session
    await s.initialize()
    text = "# section one\x0c section two\n" + NET
    uri = s.open(text, name="formfeed.py")
    await s.diagnostics(uri)
    assert [d.code for d in await s.diagnostics(uri)] == ["SH101"]
    # flatten before the Linear: fixed (one line higher, it would break the conv instead)
    at = lsp.Position(NET_FC_LINE + 1, 0)
    s.edit(uri, lsp.Range(start=at, end=at), "        x = torch.flatten(x, 1)\n")
    s.edit(uri, lsp.Range(start=lsp.Position(0, 0), end=lsp.Position(0, 0)), "# top\n")
    diags = await s.diagnostics(uri)
    fresh = Analyzer().analyze(s.texts[uri], str(s.tmp / "formfeed.py"))
    assert fresh.parsed and not fresh.findings
    assert diags == [], [(d.code, d.range.start.line, d.message) for d in diags]
