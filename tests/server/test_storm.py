"""Typing storm over LSP: one server over stdio, rapid incremental didChange events with random
edits, hover / inlay requests interleaved and some cancelled, then a final known text.

Checked: the last published diagnostics (for the final version) equal a fresh
`Analyzer().analyze` of that text; every request is answered (cancelled ones with
RequestCancelled or a result); the server's RSS grows < 10% from after warm-up (the warm-up edits, then the original text
settled) to the end. The RSS right after opening (one analysis, no edits) is reported too.
The test sends SHAPE_LSP_STORM_EDITS edits (default 1,000); benchmarks/storm.py sends 10,000.
"""

from __future__ import annotations

import asyncio
import os
import random
import time
from pathlib import Path
from typing import Any

import pytest
from lsprotocol import types as lsp

from shape_lsp.core.api import Analyzer
from tests.server.conftest import TIMEOUT, Session
from tests.server.fixtures import NET

SNIPPETS = [
    "x",
    "(",
    ")",
    "[",
    "]",
    ":",
    ",",
    "\n",
    "\n        ",
    "    ",
    " ",
    "self.",
    "nn.",
    "Conv2d(3, 16, 3)",
    "x = self.fc(x)\n",
    "def ",
    "return x",
    "#",
    "'",
    "1",
    "0",
    "=",
    ".view(-1, 16)",
    "torch.cat([x, x], 1)",
]


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError("no VmRSS")


def random_edit(text: str, rng: random.Random) -> tuple[lsp.Range, str]:
    lines = text.split("\n")
    line = rng.randrange(len(lines))
    col = rng.randrange(len(lines[line]) + 1)
    start = lsp.Position(line, col)
    kind = rng.random()
    if kind < 0.55:  # typing
        return lsp.Range(start=start, end=start), rng.choice(SNIPPETS)
    end_line = min(line + (1 if rng.random() < 0.1 else 0), len(lines) - 1)
    end_col = (
        len(lines[end_line])
        if end_line != line
        else min(col + rng.randrange(1, 6), len(lines[line]))
    )
    end = lsp.Position(end_line, end_col)
    if kind < 0.85:  # deleting
        return lsp.Range(start=start, end=end), ""
    return lsp.Range(start=start, end=end), rng.choice(SNIPPETS)  # replacing


def key(d: Any) -> tuple[Any, ...]:
    """A diagnostic as the core would state it (the server appends the shape trace)."""
    r = d.range
    return (
        str(d.code),
        r.start.line,
        r.start.character,
        r.end.line,
        r.end.character,
        d.message.split("\n")[0],
    )


async def _request(s: Session, method: str, params: Any, cancel: bool) -> str:
    """Send a request; optionally cancel it at once. 'result', 'cancelled' or 'error: ...'."""
    proto = s.client.protocol
    msg_id = f"storm-{time.monotonic_ns()}"
    fut = asyncio.wrap_future(proto.send_request(method, params, msg_id=msg_id))
    if cancel:
        proto.notify("$/cancelRequest", lsp.CancelParams(id=msg_id))
    try:
        await asyncio.wait_for(fut, TIMEOUT)
    except TimeoutError:
        return "unanswered"
    except Exception as e:
        name = type(e).__name__
        return "cancelled" if "Cancel" in name or "-32800" in str(e) else f"error: {name}: {e}"
    return "result"


async def storm(
    s: Session,
    edits: int,
    seed: int = 0,
    every: int = 20,
    settle_s: float = TIMEOUT,
    warmup: int | None = None,
) -> dict[str, Any]:
    """The storm on an initialised session; returns its figures (asserts nothing)."""
    rng = random.Random(seed)
    uri = s.open(NET, name="storm.py")
    await s.diagnostics(uri)
    pid = s.client._server.pid  # type: ignore[attr-defined]
    rss_open = rss_kib(pid)  # cold: one analysis done, no edits yet
    pending: list[asyncio.Task[str]] = []
    max_chars = [0]

    async def burst(n: int) -> None:
        for i in range(n):
            rng_range, new_text = random_edit(s.texts[uri], rng)
            s.edit(uri, rng_range, new_text)
            max_chars[0] = max(max_chars[0], len(s.texts[uri]))
            if i % every == 0:
                pos = lsp.Position(rng.randrange(len(s.texts[uri].split("\n"))), 4)
                doc = lsp.TextDocumentIdentifier(uri)
                cancel = i % (every * 5) == 0
                pending.append(
                    asyncio.ensure_future(
                        _request(
                            s,
                            lsp.TEXT_DOCUMENT_HOVER,
                            lsp.HoverParams(text_document=doc, position=pos),
                            cancel,
                        )
                    )
                )
                pending.append(
                    asyncio.ensure_future(
                        _request(
                            s,
                            lsp.TEXT_DOCUMENT_INLAY_HINT,
                            lsp.InlayHintParams(
                                text_document=doc,
                                range=lsp.Range(
                                    start=lsp.Position(0, 0), end=lsp.Position(10_000, 0)
                                ),
                            ),
                            False,
                        )
                    )
                )
            if i % (every * 5) == every:  # summary waits for the analysis: in flight
                pending.append(
                    asyncio.ensure_future(
                        _request(
                            s,
                            lsp.WORKSPACE_EXECUTE_COMMAND,
                            lsp.ExecuteCommandParams(command="shape-lsp.summary", arguments=[uri]),
                            True,
                        )
                    )
                )
            if i % 50 == 0:
                await asyncio.sleep(0)  # let the client's writer run

    async def settle(text: str) -> list[Any]:
        """Replace the text; the diagnostics published for that version (waits out the
        server's backlog of edits, up to `settle_s`)."""
        version = s.change(uri, text)
        published: list[Any] = s.client.published  # type: ignore[attr-defined]
        deadline = time.monotonic() + settle_s
        while time.monotonic() < deadline:
            for p in reversed(published):
                if p.uri == uri and p.version == version:
                    return list(p.diagnostics)
            await asyncio.sleep(0.01)
        raise AssertionError(
            f"no diagnostics for version {version} within {settle_s} s; "
            f"last: {[p.version for p in published[-3:]]}"
        )

    t0 = time.monotonic()
    await burst(warmup if warmup is not None else max(edits // 10, 100))  # caches, pools
    await settle(NET)
    await asyncio.gather(*pending)
    rss_warm = rss_kib(pid)
    await burst(edits)
    final = NET.replace(
        "self.fc = nn.Linear(", "self.head = nn.Identity()\n        self.fc = nn.Linear("
    )
    t_final = time.monotonic()
    diags = await settle(final)
    t_final = time.monotonic() - t_final
    outcomes = await asyncio.gather(*pending)
    rss_end = rss_kib(pid)
    fresh = Analyzer().analyze(final, str(s.tmp / "storm.py"))
    return {
        "edits": edits,
        "seconds": time.monotonic() - t0,
        "final_after_s": t_final,
        "text_chars_max": max_chars[0],
        "requests": len(outcomes),
        "outcomes": {o: outcomes.count(o) for o in sorted(set(outcomes))},
        "rss_open_kib": rss_open,
        "rss_warm_kib": rss_warm,
        "rss_end_kib": rss_end,
        "growth": rss_end / rss_warm - 1,
        "growth_from_open": rss_end / rss_open - 1,
        "final": sorted(key(d) for d in diags),
        "fresh": sorted(
            (
                f.code,
                f.span.start_line,
                f.span.start_col,
                f.span.end_line,
                f.span.end_col,
                f.message.split("\n")[0],
            )
            for f in fresh.findings
        ),
    }


@pytest.mark.asyncio
async def test_typing_storm(push_session: Session) -> None:
    await push_session.initialize()
    fig = await storm(
        push_session, int(os.environ.get("SHAPE_LSP_STORM_EDITS", "1000")), warmup=1000
    )
    assert fig["final"] == fig["fresh"]
    assert fig["fresh"], "the final text has a known finding"
    assert set(fig["outcomes"]) <= {"result", "cancelled"}, fig["outcomes"]
    assert fig["growth"] < 0.10, fig
    # still alive and answering
    assert await push_session.hover(push_session.open(NET, name="after.py"), 0, 0) is None or True


@pytest.mark.asyncio
async def test_bookkeeping_does_not_grow(push_session: Session) -> None:
    """pygls filed a future for every didChange (and every command's inner handler) and never
    removed it; the server prunes finished ones. Hundreds of edits, hovers cancelled at once
    and summaries cancelled in flight leave a bounded table, no tasks and no waiters."""
    s = push_session
    await s.initialize()
    rng = random.Random(7)
    uri = s.open(NET, name="bookkeeping.py")
    await s.diagnostics(uri)
    doc = lsp.TextDocumentIdentifier(uri)
    requests = []
    for i in range(400):
        s.edit(uri, *random_edit(s.texts[uri], rng))
        if i % 10 == 0:
            hover = lsp.HoverParams(text_document=doc, position=lsp.Position(3, 4))
            requests.append(_request(s, lsp.TEXT_DOCUMENT_HOVER, hover, cancel=True))
            summary = lsp.ExecuteCommandParams(command="shape-lsp.summary", arguments=[uri])
            requests.append(_request(s, lsp.WORKSPACE_EXECUTE_COMMAND, summary, cancel=True))
    s.change(uri, NET)
    outcomes = await asyncio.gather(*requests)
    assert set(outcomes) <= {"result", "cancelled"}, outcomes
    await s.diagnostics(uri)
    state = await s.command("shape-lsp.debug.state")
    assert state["request_futures"] < 100, state  # 400 edits + 40 summaries before the fix
    assert state["pending_futures"] <= 1, state  # this very command
    assert state["waiters"] == 0 and state["tasks"] <= 1, state
    assert state["documents"] == state["states"] == 1, state
