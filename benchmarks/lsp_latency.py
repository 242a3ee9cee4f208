"""Latency of the real language server over stdio, as an editor sees it.

Starts `python -m shape_lsp.server`, opens a model file, makes random edits inside its
forward methods (half: a code line inserted / removed again, which shifts every line below;
half: a trailing comment added / removed) and times didChange -> publishDiagnostics for that
version, checking that every version is published with its number; sends bursts of edits
without waiting and checks that the last version of each burst is published; times hovers
and inlay hints; start-up to `initialize` answered (interleaved with a bare
`import pygls.lsp.server` in the same interpreter); RSS after opening 20 different real model
files of the corpus (`benchmarks/fetch_corpus.py`), right after the last one's diagnostics and
after 2 s idle. Prints one JSON line.

    .venv/bin/python benchmarks/lsp_latency.py                  # built-in 20-line model
    .venv/bin/python benchmarks/lsp_latency.py \
        --file benchmarks/.corpus/src/timm/models/vision_transformer.py
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import re
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

SMALL = """\
import torch
import torch.nn as nn


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 16, 3, padding=1)
        self.conv2 = nn.Conv2d(16, 32, 3, padding=1)
        self.pool = nn.MaxPool2d(2)
        self.fc = nn.Linear(32 * 8 * 8, 10)

    def forward(self, x):
        x = self.pool(torch.relu(self.conv1(x)))
        x = self.pool(torch.relu(self.conv2(x)))
        x = torch.flatten(x, 1)
        x = self.fc(x)
        return x


out = Net()(torch.randn(2, 3, 32, 32))
"""


class Client:
    """A minimal JSON-RPC/LSP client over a subprocess' pipes."""

    def __init__(self, proc: asyncio.subprocess.Process) -> None:
        self.proc = proc
        self.next_id = 0
        self.pending: dict[int, asyncio.Future[Any]] = {}
        self.published: dict[tuple[str, int], float] = {}
        self.waiters: dict[tuple[str, int], asyncio.Future[float]] = {}
        self.reader = asyncio.ensure_future(self._read())

    def _send(self, msg: dict[str, Any]) -> None:
        body = json.dumps({"jsonrpc": "2.0", **msg}).encode()
        assert self.proc.stdin is not None
        self.proc.stdin.write(b"Content-Length: %d\r\n\r\n" % len(body) + body)

    async def request(self, method: str, params: Any) -> Any:
        self.next_id += 1
        fut: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self.pending[self.next_id] = fut
        self._send({"id": self.next_id, "method": method, "params": params})
        return await fut

    def notify(self, method: str, params: Any) -> None:
        self._send({"method": method, "params": params})

    def wait_published(self, uri: str, version: int) -> asyncio.Future[float]:
        fut: asyncio.Future[float] = asyncio.get_running_loop().create_future()
        if (uri, version) in self.published:
            fut.set_result(self.published[(uri, version)])
        else:
            self.waiters[(uri, version)] = fut
        return fut

    async def _read(self) -> None:
        out = self.proc.stdout
        assert out is not None
        while True:
            length = 0
            while True:
                line = await out.readline()
                if not line:
                    return
                if line in (b"\r\n", b"\n"):
                    break
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":")[1])
            msg = json.loads(await out.readexactly(length))
            now = time.perf_counter()
            if "id" in msg and "method" in msg:  # a request from the server
                result: Any = None
                if msg["method"] == "workspace/configuration":
                    result = [None for _ in msg["params"]["items"]]
                self._send({"id": msg["id"], "result": result})
            elif "id" in msg:
                fut = self.pending.pop(msg["id"], None)
                if fut is not None and not fut.done():
                    fut.set_result(msg.get("result"))
            elif msg.get("method") == "textDocument/publishDiagnostics":
                key = (msg["params"]["uri"], msg["params"].get("version"))
                self.published[key] = now
                waiter = self.waiters.pop(key, None)
                if waiter is not None and not waiter.done():
                    waiter.set_result(now)


def pct(values: list[float], q: float) -> float:
    """The q-th percentile (nearest rank) in milliseconds, rounded."""
    if not values:
        return float("nan")
    s = sorted(values)
    k = min(len(s) - 1, max(0, round(q / 100 * len(s) + 0.5) - 1))
    return round(s[k] * 1000, 2)


def forward_lines(text: str) -> list[int]:
    """Lines inside `def forward` bodies that hold a statement (not blank, not a comment)."""
    out: list[int] = []
    indent: int | None = None
    depth = 0  # bracket depth while in a (possibly multi-line) signature
    in_sig = False
    for i, line in enumerate(text.split("\n")):
        stripped = line.strip()
        ind = len(line) - len(line.lstrip())
        if re.match(r"\s*def forward\b", line):
            indent, in_sig, depth = ind, True, 0
        if in_sig:
            depth += line.count("(") + line.count("[") - line.count(")") - line.count("]")
            if depth <= 0 and line.split("#")[0].rstrip().endswith(":"):
                in_sig = False
            continue
        if indent is not None and stripped and ind <= indent:
            indent = None
        simple = not line.rstrip().endswith(("\\", ",", "(", "[", "{", '"""'))
        if indent is not None and stripped and not stripped.startswith("#") and simple:
            out.append(i)
    return out


def rss_mb(pid: int) -> float:
    """Resident set size of a process in MB (Linux)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return round(int(line.split()[1]) / 1024, 1)
    return float("nan")


def bare_pygls_import_s() -> float:
    """Wall time of `python -c "import pygls.lsp.server"` in this interpreter."""
    t = time.perf_counter()
    subprocess.run([sys.executable, "-c", "import pygls.lsp.server"], check=True)
    return time.perf_counter() - t


CORPUS = Path(__file__).resolve().parent / ".corpus" / "src"


def corpus_models(exclude: Path | None, n: int = 20) -> list[Path]:
    """n different real model files (timm and torchvision `models/`, largest-first mix)."""
    files = [
        f
        for d in ("timm/models", "torchvision/models")
        for f in sorted((CORPUS / d).glob("*.py"))
        if not f.name.startswith("_") and f != exclude and "def forward" in f.read_text("utf-8")
    ]
    if len(files) < n:
        raise SystemExit(f"need {n} model files under {CORPUS}: run benchmarks/fetch_corpus.py")
    step = len(files) / n
    return [files[int(i * step)] for i in range(n)]


CAPS = {
    "textDocument": {
        "synchronization": {"didSave": True},
        "publishDiagnostics": {"versionSupport": True, "relatedInformation": True},
        "hover": {"contentFormat": ["markdown", "plaintext"]},
        "inlayHint": {},
        "codeAction": {},
    },
    "workspace": {"configuration": False},
    "general": {"positionEncodings": ["utf-16"]},
}


async def start(root: Path) -> tuple[Client, float]:
    t0 = time.perf_counter()
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "shape_lsp.server",
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
    )
    client = Client(proc)
    await client.request(
        "initialize", {"processId": None, "rootUri": root.as_uri(), "capabilities": CAPS}
    )
    started = time.perf_counter() - t0
    client.notify("initialized", {})
    return client, started


async def run(args: argparse.Namespace) -> dict[str, Any]:
    rng = random.Random(args.seed)
    path = Path(args.file).resolve() if args.file else None
    text = path.read_text(encoding="utf-8") if path else SMALL
    root = path.parent if path else Path.cwd()
    uri = (path or root / "bench_model.py").as_uri()
    targets = forward_lines(text)
    if not targets:
        raise SystemExit("no forward() lines to edit in the file")

    pygls_times, startups = [], []
    for _ in range(args.startups):  # interleaved, so that both see the same machine load
        pygls_times.append(bare_pygls_import_s())
        c, s = await start(root)
        startups.append(s)
        await c.request("shutdown", None)
        c.notify("exit", None)
        await c.proc.wait()
    pygls_s = statistics.median(pygls_times)

    client, _ = await start(root)
    lines = text.split("\n")
    version = 1
    t_open = time.perf_counter()
    client.notify(
        "textDocument/didOpen",
        {"textDocument": {"uri": uri, "languageId": "python", "version": 1, "text": text}},
    )
    first = await client.wait_published(uri, 1)
    open_s = first - t_open

    edit_times: list[float] = []
    kinds: dict[str, list[float]] = {"code_line": [], "comment": []}
    missing: list[int] = []  # versions whose diagnostics never came
    inserted: int | None = None  # line of our inserted code line, if any
    commented: dict[int, int] = {}  # line -> length of the comment we appended

    def next_change() -> tuple[str, dict[str, Any]]:
        """Every other edit undoes the previous one, so the file stays close to the original."""
        nonlocal inserted
        if inserted is not None:  # remove our code line again
            line, inserted = inserted, None
            del lines[line]
            rng_ = {
                "start": {"line": line, "character": 0},
                "end": {"line": line + 1, "character": 0},
            }
            return "code_line", {"range": rng_, "text": ""}
        if commented:  # remove our comment again
            line, n = commented.popitem()
            end = len(lines[line])
            lines[line] = lines[line][: end - n]
            rng_ = {
                "start": {"line": line, "character": end - n},
                "end": {"line": line, "character": end},
            }
            return "comment", {"range": rng_, "text": ""}
        line = rng.choice(targets)
        if rng.random() < 0.5:  # insert a code line below `line`
            src = lines[line]
            indent = src[: len(src) - len(src.lstrip())]
            new = f"{indent}_edit_{rng.randrange(1000)} = {rng.randrange(1, 64)} * 2"
            lines.insert(line + 1, new)
            inserted = line + 1
            pos = {"line": line + 1, "character": 0}
            return "code_line", {"range": {"start": pos, "end": pos}, "text": new + "\n"}
        end = len(lines[line])
        comment = f"  # e{rng.randrange(1000)}"
        lines[line] += comment
        commented[line] = len(comment)
        pos = {"line": line, "character": end}
        return "comment", {"range": {"start": pos, "end": pos}, "text": comment}

    async def wait(version: int) -> float | None:
        try:
            return await asyncio.wait_for(client.wait_published(uri, version), args.wait_s)
        except TimeoutError:
            missing.append(version)
            return None

    for _ in range(args.edits):
        kind, change = next_change()
        version += 1
        t = time.perf_counter()
        waiter = client.wait_published(uri, version)
        client.notify(
            "textDocument/didChange",
            {"textDocument": {"uri": uri, "version": version}, "contentChanges": [change]},
        )
        try:
            got = await asyncio.wait_for(waiter, args.wait_s)
        except TimeoutError:
            missing.append(version)
            continue
        edit_times.append(got - t)
        kinds[kind].append(got - t)
        if args.pause_ms:
            await asyncio.sleep(args.pause_ms / 1000)

    # Bursts: edits sent back to back; stale versions may be skipped, the last never.
    burst_last_ok = 0
    burst_published = 0
    burst_sent = 0
    for _ in range(args.bursts):
        first_v = version + 1
        for _ in range(5):
            _, change = next_change()
            version += 1
            client.notify(
                "textDocument/didChange",
                {"textDocument": {"uri": uri, "version": version}, "contentChanges": [change]},
            )
        burst_sent += 5
        if await wait(version) is not None:
            burst_last_ok += 1
        burst_published += sum((uri, v) in client.published for v in range(first_v, version + 1))
    final_text = "\n".join(lines)
    assert final_text.count("\n") + 1 == len(lines)

    hover_times: list[float] = []
    hover_hits = 0
    for _ in range(args.hovers):
        line = rng.choice(targets)
        m = re.search(r"[A-Za-z_]\w*", lines[line])
        col = m.start() if m else 0
        t = time.perf_counter()
        res = await client.request(
            "textDocument/hover",
            {"textDocument": {"uri": uri}, "position": {"line": line, "character": col}},
        )
        hover_times.append(time.perf_counter() - t)
        hover_hits += res is not None

    inlay_times: list[float] = []
    hints = 0
    for _ in range(args.hovers // 3):
        line = rng.choice(targets)
        start_line = max(0, line - 30)
        t = time.perf_counter()
        res = await client.request(
            "textDocument/inlayHint",
            {
                "textDocument": {"uri": uri},
                "range": {
                    "start": {"line": start_line, "character": 0},
                    "end": {"line": start_line + 60, "character": 0},
                },
            },
        )
        inlay_times.append(time.perf_counter() - t)
        hints = max(hints, len(res or []))

    # 20 different real model files open at once, at their real paths.
    others = corpus_models(path, args.open_files)
    t_many = time.perf_counter()
    for i, f in enumerate(others):
        u = f.as_uri()
        client.notify(
            "textDocument/didOpen",
            {
                "textDocument": {
                    "uri": u,
                    "languageId": "python",
                    "version": 1,
                    "text": f.read_text("utf-8"),
                }
            },
        )
        try:
            await asyncio.wait_for(client.wait_published(u, 1), args.wait_s * 10)
        except TimeoutError:
            missing.append(-1 - i)
    open_many_s = time.perf_counter() - t_many
    rss_busy = rss_mb(client.proc.pid)  # right after the last file's diagnostics
    await asyncio.sleep(2.0)  # idle: importers' re-analysis settles, the server trims its heap
    rss = rss_mb(client.proc.pid)

    await client.request("shutdown", None)
    client.notify("exit", None)
    await client.proc.wait()
    return {
        "benchmark": "lsp_latency",
        "file": str(path) if path else "<built-in 20-line model>",
        "lines": len(text.split("\n")),
        "edits": len(edit_times),
        "edit_to_diagnostics_ms": {
            "p50": pct(edit_times, 50),
            "p95": pct(edit_times, 95),
            "max": pct(edit_times, 100),
            "code_line_p50": pct(kinds["code_line"], 50),
            "comment_p50": pct(kinds["comment"], 50),
        },
        "every_version_published": not missing,
        "missing_versions": missing[:10],
        "bursts": {
            "n": args.bursts,
            "last_version_published": burst_last_ok,
            "versions_published": burst_published,
            "versions_sent": burst_sent,
        },
        "open_to_diagnostics_ms": round(open_s * 1000, 1),
        "hover_ms": {
            "p50": pct(hover_times, 50),
            "p99": pct(hover_times, 99),
            "answered": hover_hits,
            "n": len(hover_times),
        },
        "inlay_60_lines_ms": {
            "p50": pct(inlay_times, 50),
            "p95": pct(inlay_times, 95),
            "max_hints": hints,
        },
        "startup_to_initialize_ms": round(statistics.median(startups) * 1000, 1),
        "bare_pygls_import_ms": round(pygls_s * 1000, 1),
        "startup_over_pygls_ms": round((statistics.median(startups) - pygls_s) * 1000, 1),
        "rss_after_open_files_mb": rss,
        "rss_right_after_last_publish_mb": rss_busy,
        "open_files": [str(f.relative_to(CORPUS)) for f in others],
        "open_files_s": round(open_many_s, 1),
        "startup_ms_all": [round(x * 1000) for x in startups],
        "bare_pygls_ms_all": [round(x * 1000) for x in pygls_times],
        "python": sys.version.split()[0],
    }


def main() -> None:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--file", help="model file to edit (default: a built-in 20-line model)")
    p.add_argument("--edits", type=int, default=200)
    p.add_argument("--hovers", type=int, default=300)
    p.add_argument("--startups", type=int, default=5)
    p.add_argument("--pause-ms", type=float, default=0.0, help="pause between edits")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--bursts", type=int, default=10, help="bursts of 5 edits sent at once")
    p.add_argument("--open-files", type=int, default=20, help="real model files opened for RSS")
    p.add_argument("--wait-s", type=float, default=30.0, help="give up on a version after this")
    args = p.parse_args()
    sys.stdout.write(json.dumps(asyncio.run(run(args))) + "\n")


if __name__ == "__main__":
    main()
