"""Typing storm over LSP at scale: 10,000 rapid incremental edits, then a final known text.

    .venv/bin/python benchmarks/storm.py                 # 10,000 edits after 1,000 warm-up
    .venv/bin/python benchmarks/storm.py --edits 10000 --warmup 10000

Prints: time, the backlog the server needed to publish the final version's diagnostics,
requests sent / answered / cancelled, RSS right after opening (one analysis, cold caches),
after warm-up (the warm-up edits, then the original text settled) and at the end, and whether
the final diagnostics equal a fresh analysis. Growth is checked (< 10%) from the warm-up
figure; growth from opening is printed next to it. The storm itself is tests/server/test_storm.py's `storm`
(the test runs 1,000 edits).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.server.conftest import SERVER, Session, make_client  # noqa: E402
from tests.server.test_storm import storm  # noqa: E402


async def main_async(args: argparse.Namespace) -> int:
    client = make_client()
    await client.start_io(*SERVER)
    session = Session(client, "vscode", Path(tempfile.mkdtemp(prefix="shape-storm-")))
    await session.initialize()
    fig = await storm(session, args.edits, seed=args.seed, warmup=args.warmup, settle_s=args.settle)
    await session.close()
    await client.stop()
    same = fig["final"] == fig["fresh"]
    print(
        f"edits: {fig['edits']} (after {args.warmup} warm-up)  time: {fig['seconds']:.1f} s  "
        f"final diagnostics after: {fig['final_after_s']:.1f} s  largest text: "
        f"{fig['text_chars_max']} chars"
    )
    print(f"requests: {fig['requests']}  outcomes: {fig['outcomes']}")
    print(
        f"RSS: {fig['rss_open_kib'] / 1024:.1f} MiB after opening, "
        f"{fig['rss_warm_kib'] / 1024:.1f} MiB after warm-up -> "
        f"{fig['rss_end_kib'] / 1024:.1f} MiB at the end ({100 * fig['growth']:+.1f}% from "
        f"warm-up, the figure checked; {100 * fig['growth_from_open']:+.1f}% from opening)"
    )
    print(f"final diagnostics equal a fresh analysis: {same}")
    summary = {
        k: fig[k]
        for k in (
            "edits",
            "seconds",
            "final_after_s",
            "requests",
            "outcomes",
            "rss_open_kib",
            "rss_warm_kib",
            "rss_end_kib",
            "growth",
            "growth_from_open",
        )
    }
    print(json.dumps({**summary, "warmup": args.warmup, "final_equals_fresh": same}))
    ok = same and set(fig["outcomes"]) <= {"result", "cancelled"} and fig["growth"] < 0.10
    return 0 if ok else 1


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--edits", type=int, default=10_000)
    ap.add_argument("--warmup", type=int, default=1_000)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--settle", type=float, default=120.0)
    return asyncio.run(main_async(ap.parse_args()))


if __name__ == "__main__":
    raise SystemExit(main())
