"""Editing one cell of a 50-cell notebook vs the same code as one `.py`: edit -> diagnostics.

Starts the real server over stdio twice (`python -m shape_lsp.server`, a client declaring
notebook support). Notebook: `notebookDocument/didOpen` with 50 code cells (imports, 16 small
models each in its own cell with its example call in the next one, data-preparation cells,
one planted SH101), then edits one cell at a time (half: a code line inserted / removed again
at the end of a random example cell; half: a trailing comment added / removed) and times
`notebookDocument/didChange` -> `publishDiagnostics` for that cell at its new version. `.py`:
the same 50 cells joined, the same edits at the same lines, `textDocument/didChange` ->
`publishDiagnostics` for that version. The two runs alternate in rounds so both see the same
machine load. Prints one JSON line (milliseconds).

    .venv/bin/python benchmarks/notebook_latency.py [--edits 100] [--rounds 2]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from lsp_latency import CAPS, Client, pct

NB_CAPS = {**CAPS, "notebookDocument": {"synchronization": {}}}
N_CELLS = 50


def make_cells() -> list[str]:
    """50 code cells; the models differ in width so their chunks are not identical."""
    cells = ["import torch\nimport torch.nn as nn\nimport torch.nn.functional as F"]
    for i in range(16):
        c = 8 + i
        cells.append(
            f"class Net{i}(nn.Module):\n"
            "    def __init__(self):\n"
            "        super().__init__()\n"
            f"        self.conv = nn.Conv2d(3, {c}, 3, padding=1)\n"
            "        self.pool = nn.MaxPool2d(2)\n"
            f"        self.fc = nn.Linear({c} * 16 * 16, 10)\n"
            "\n"
            "    def forward(self, x):\n"
            "        x = self.pool(F.relu(self.conv(x)))\n"
            "        x = torch.flatten(x, 1)\n"
            "        return self.fc(x)"
        )
        cells.append(f"net{i} = Net{i}()\nx{i} = torch.randn(2, 3, 32, 32)\nout{i} = net{i}(x{i})")
    while len(cells) < N_CELLS - 1:
        k = len(cells)
        cells.append(f"a{k} = torch.randn(4, {k})\nb{k} = a{k}.view(2, -1)\nc{k} = b{k}.sum(0)")
    cells.append("lin = nn.Linear(10, 5)\ny = lin(torch.randn(2, 11))")  # the planted SH101
    return cells


async def start(root: Path, caps: dict[str, Any]) -> Client:
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
        "initialize", {"processId": None, "rootUri": root.as_uri(), "capabilities": caps}
    )
    client.notify("initialized", {})
    return client


def edits(rng: random.Random, cells: list[str], n: int) -> list[tuple[int, int, str, str]]:
    """(cell, line in the cell, old line, new line) pairs: each edit is undone by the next."""
    examples = [i for i, c in enumerate(cells) if c.startswith("net")]
    out = []
    for k in range(n // 2):
        cell = rng.choice(examples)
        last = cells[cell].count("\n")
        old = cells[cell].split("\n")[last]
        new = old + "  # edited" if k % 2 else old + "\nz = out0.shape"
        out += [(cell, last, old, new), (cell, last, new, old)]
    return out


def _range(line: int, old: str) -> dict[str, Any]:
    """The LSP range of `old` (which may span lines) starting at `line`."""
    parts = old.split("\n")
    end = {"line": line + len(parts) - 1, "character": len(parts[-1])}
    return {"start": {"line": line, "character": 0}, "end": end}


async def run_notebook(root: Path, cells: list[str], plan: list[Any]) -> tuple[list[float], int]:
    client = await start(root, NB_CAPS)
    nb_uri = (root / "bench.ipynb").as_uri()
    uris = [f"vscode-notebook-cell:{root / 'bench.ipynb'}#C{i}" for i in range(len(cells))]
    versions = dict.fromkeys(uris, 1)
    client.notify(
        "notebookDocument/didOpen",
        {
            "notebookDocument": {
                "uri": nb_uri,
                "notebookType": "jupyter-notebook",
                "version": 1,
                "cells": [{"kind": 2, "document": u} for u in uris],
            },
            "cellTextDocuments": [
                {"uri": u, "languageId": "python", "version": 1, "text": t}
                for u, t in zip(uris, cells, strict=True)
            ],
        },
    )
    await asyncio.wait_for(client.wait_published(uris[-1], 1), 60)
    nb_version, times = 1, []
    for cell, line, old, new in plan:
        uri = uris[cell]
        versions[uri] += 1
        nb_version += 1
        change = {"range": _range(line, old), "text": new}
        t0 = time.perf_counter()
        client.notify(
            "notebookDocument/didChange",
            {
                "notebookDocument": {"uri": nb_uri, "version": nb_version},
                "change": {
                    "cells": {
                        "textContent": [
                            {
                                "document": {"uri": uri, "version": versions[uri]},
                                "changes": [change],
                            }
                        ]
                    }
                },
            },
        )
        t1 = await asyncio.wait_for(client.wait_published(uri, versions[uri]), 60)
        times.append(t1 - t0)
    await stop(client)
    return times, len(uris)


async def run_py(root: Path, cells: list[str], plan: list[Any]) -> list[float]:
    client = await start(root, CAPS)
    uri = (root / "bench.py").as_uri()
    text = "\n".join(cells) + "\n"
    starts = [0]
    for c in cells:
        starts.append(starts[-1] + c.count("\n") + 1)
    client.notify(
        "textDocument/didOpen",
        {"textDocument": {"uri": uri, "languageId": "python", "version": 1, "text": text}},
    )
    await asyncio.wait_for(client.wait_published(uri, 1), 60)
    version, times = 1, []
    for cell, line, old, new in plan:
        version += 1
        change = {"range": _range(starts[cell] + line, old), "text": new}
        t0 = time.perf_counter()
        client.notify(
            "textDocument/didChange",
            {"textDocument": {"uri": uri, "version": version}, "contentChanges": [change]},
        )
        t1 = await asyncio.wait_for(client.wait_published(uri, version), 60)
        times.append(t1 - t0)
        # a cell edit that adds a line shifts the later cells' starts in the .py
        delta = new.count("\n") - old.count("\n")
        for k in range(cell + 1, len(starts)):
            starts[k] += delta
    await stop(client)
    return times


async def stop(client: Client) -> None:
    await client.request("shutdown", None)
    client.notify("exit", None)
    await client.proc.wait()


async def main_async(args: argparse.Namespace) -> dict[str, Any]:
    cells = make_cells()
    root = Path.cwd()
    nb_times: list[float] = []
    py_times: list[float] = []
    rng = random.Random(args.seed)
    for _ in range(args.rounds):
        plan = edits(rng, cells, args.edits)
        t, n = await run_notebook(root, cells, plan)
        nb_times += t
        py_times += await run_py(root, cells, plan)
    return {
        "cells": n,
        "lines": sum(c.count("\n") + 1 for c in cells),
        "edits_each": len(nb_times),
        "notebook_cell_edit_ms": {"p50": pct(nb_times, 50), "p90": pct(nb_times, 90)},
        "py_edit_ms": {"p50": pct(py_times, 50), "p90": pct(py_times, 90)},
        "python": sys.version.split()[0],
    }


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--edits", type=int, default=100, help="edits per round and side")
    p.add_argument("--rounds", type=int, default=2)
    p.add_argument("--seed", type=int, default=0)
    print(json.dumps(asyncio.run(main_async(p.parse_args()))))


if __name__ == "__main__":
    main()
