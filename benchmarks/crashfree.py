"""Crash-freedom on real code: the core over every `.py` of torch, timm and torchvision.

    .venv/bin/python benchmarks/crashfree.py -j 2            # everything
    .venv/bin/python benchmarks/crashfree.py --only timm --limit 50 --records /tmp/r.jsonl

Each file is analysed in a worker process (one `Analyzer` per worker, text decoded as the CLI
does: UTF-8, else latin-1) under a per-file timeout; a worker that runs past it is killed and
replaced. Counted as crashes: exceptions escaping `analyze`, `internal_errors` in a result,
timeouts and workers that die. Also checked: every finding and fact span lies inside the text.
Prints the counts, the files over 10 s and the slowest files, then one JSON line.

timm and torchvision are fetched with `pip download --no-deps` into the git-ignored
`benchmarks/.corpus/` when missing.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import multiprocessing as mp
import os
import subprocess
import sys
import time
import traceback
import zipfile
from multiprocessing.connection import Connection, wait
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT / "benchmarks" / ".corpus"
PACKAGES = {"torchvision": "0.29.2", "timm": "1.0.31"}
SLOW_S = 10.0


def _site_packages() -> Path:
    import sysconfig

    return Path(sysconfig.get_paths()["purelib"])


def fetch_corpus() -> None:
    """Download and unzip timm and torchvision (sources only) unless already there."""
    dl, src = CORPUS / "dl", CORPUS / "src"
    dl.mkdir(parents=True, exist_ok=True)
    src.mkdir(parents=True, exist_ok=True)
    for name, version in PACKAGES.items():
        if (src / name).is_dir():
            continue
        wheels = sorted(dl.glob(f"{name}-{version}-*.whl"))
        if not wheels:
            subprocess.run(
                [
                    sys.executable,
                    "-m",
                    "pip",
                    "download",
                    "--no-deps",
                    "--only-binary=:all:",
                    "--dest",
                    str(dl),
                    f"{name}=={version}",
                ],
                check=True,
            )
            wheels = sorted(dl.glob(f"{name}-{version}-*.whl"))
        with zipfile.ZipFile(wheels[0]) as zf:
            zf.extractall(
                src, [m for m in zf.namelist() if m.startswith(f"{name}/") and m.endswith(".py")]
            )


def corpus_roots(only: list[str] | None) -> dict[str, Path]:
    roots = {
        "torch": _site_packages() / "torch",
        "timm": CORPUS / "src" / "timm",
        "torchvision": CORPUS / "src" / "torchvision",
    }
    wanted = {k: v for k, v in roots.items() if not only or k in only}
    if any(k in wanted for k in PACKAGES):
        fetch_corpus()
    return wanted


def read_source(path: Path) -> str:
    """Decode as the CLI does."""
    data = path.read_bytes()
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("latin-1")


def bad_spans(result: Any, lines: list[str]) -> list[str]:
    """Spans of findings and facts that do not lie inside the text."""
    n = len(lines)
    out = []
    items = [("finding", f.code, f.span) for f in result.findings]
    items += [("fact", f.label, f.span) for f in result.facts]
    for kind, name, s in items:
        ok = (
            0 <= s.start_line <= s.end_line
            and (s.start_line, s.start_col) <= (s.end_line, s.end_col)
            and s.start_col >= 0
            and s.end_col >= 0
            and s.end_line <= max(n, 1)
        )
        if ok and s.end_line < n:
            ok = s.end_col <= len(lines[s.end_line]) and s.start_col <= len(lines[s.start_line])
        if not ok:
            out.append(f"{kind} {name} {s}")
    return out


def _serve(conn: Connection, mem_mb: int) -> None:
    """Worker loop: path in, record out."""
    if mem_mb:
        try:
            import resource

            resource.setrlimit(resource.RLIMIT_AS, (mem_mb << 20, mem_mb << 20))
        except (ImportError, ValueError, OSError):
            pass
    from shape_lsp.core.api import Analyzer

    analyzer = Analyzer()
    analyzer.analyze("import torch\n")  # warm up: lazy imports are not the first file's time
    while True:
        try:
            path = conn.recv()
        except EOFError:
            return
        if path is None:
            return
        rec: dict[str, Any] = {"path": path}
        try:
            source = read_source(Path(path))
        except OSError as e:
            rec["skip"] = str(e)
            conn.send(rec)
            continue
        lines = source.splitlines(keepends=True)
        rec["lines"] = len(lines)
        t0, c0 = time.perf_counter(), time.process_time()
        try:
            result = analyzer.analyze(source, path)
        except BaseException as e:
            rec["seconds"] = time.perf_counter() - t0
            rec["cpu"] = time.process_time() - c0
            rec["exception"] = f"{type(e).__name__}: {e}"[:500]
            rec["traceback"] = traceback.format_exc()[-3000:]
        else:
            rec["seconds"] = time.perf_counter() - t0
            rec["cpu"] = time.process_time() - c0
            if result.internal_errors:
                rec["internal_errors"] = [str(x)[:500] for x in result.internal_errors]
            bad = bad_spans(result, lines)
            if bad:
                rec["bad_spans"] = bad[:5]
            rec["findings"] = len(result.findings)
        conn.send(rec)


class Slot:
    def __init__(self, ctx: Any, mem_mb: int) -> None:
        self.conn, child = ctx.Pipe()
        self.proc = ctx.Process(target=_serve, args=(child, mem_mb), daemon=True)
        self.proc.start()
        child.close()
        self.path: str | None = None
        self.deadline = 0.0
        self.started = 0.0

    def give(self, path: str, timeout: float) -> None:
        self.path, self.started = path, time.monotonic()
        self.deadline = self.started + timeout
        self.conn.send(path)

    def kill(self) -> None:
        self.proc.kill()
        self.proc.join(5)
        self.conn.close()


def run(
    files: list[tuple[str, Path]], jobs: int, timeout: float, mem_mb: int, progress: bool
) -> list[dict[str, Any]]:
    ctx = mp.get_context("fork" if sys.platform.startswith("linux") else "spawn")
    todo = list(reversed(files))
    pkg_of = {str(p): pkg for pkg, p in files}
    slots = [Slot(ctx, mem_mb) for _ in range(max(1, min(jobs, len(files))))]
    records: list[dict[str, Any]] = []
    t0 = time.monotonic()

    def feed(slot: Slot) -> None:
        if todo:
            slot.give(str(todo.pop()[1]), timeout)
        else:
            slot.path = None

    for s in slots:
        feed(s)
    while any(s.path for s in slots):
        busy = [s for s in slots if s.path]
        now = time.monotonic()
        ready = wait([s.conn for s in busy], max(0.0, min(s.deadline for s in busy) - now))
        for i, s in enumerate(slots):
            if not s.path:
                continue
            rec: dict[str, Any] | None = None
            if s.conn in ready:
                try:
                    rec = s.conn.recv()
                except (EOFError, OSError):
                    rec = {
                        "path": s.path,
                        "died": f"worker exit code {s.proc.exitcode}",
                        "seconds": time.monotonic() - s.started,
                    }
                    s.kill()
                    slots[i] = Slot(ctx, mem_mb)
            elif time.monotonic() >= s.deadline:
                rec = {"path": s.path, "timeout": True, "seconds": time.monotonic() - s.started}
                s.kill()
                slots[i] = Slot(ctx, mem_mb)
            if rec is not None:
                rec["package"] = pkg_of.get(rec["path"], "?")
                records.append(rec)
                if progress and len(records) % 100 == 0:
                    print(
                        f"  {len(records)}/{len(files)} files, {time.monotonic() - t0:.0f} s",
                        file=sys.stderr,
                        flush=True,
                    )
                feed(slots[i])
    for s in slots:
        with contextlib.suppress(OSError):
            s.conn.send(None)
        s.proc.join(2)
        if s.proc.is_alive():
            s.kill()
    return records


def report(records: list[dict[str, Any]], wall: float, timeout: float) -> dict[str, Any]:
    def problem(r: dict[str, Any]) -> str | None:
        for k in ("exception", "died", "internal_errors", "bad_spans"):
            if k in r:
                return k
        return "timeout" if r.get("timeout") else None

    done = [r for r in records if "skip" not in r]
    by_pkg: dict[str, dict[str, int]] = {}
    for r in done:
        p = by_pkg.setdefault(r["package"], {"files": 0, "lines": 0})
        p["files"] += 1
        p["lines"] += r.get("lines", 0)
    counts = {
        k: sum(1 for r in done if problem(r) == k)
        for k in ("exception", "internal_errors", "timeout", "died", "bad_spans")
    }
    slow = sorted(done, key=lambda r: -r.get("seconds", 0.0))
    over = [r for r in slow if r.get("seconds", 0.0) > SLOW_S or r.get("timeout")]
    over_cpu = [r for r in slow if r.get("cpu", 0.0) > SLOW_S or r.get("timeout")]
    print(
        f"files: {len(done)}  lines: {sum(r.get('lines', 0) for r in done)}  "
        f"wall: {wall:.0f} s  (per-file timeout {timeout:.0f} s)"
    )
    for pkg, c in sorted(by_pkg.items()):
        print(f"  {pkg:<12} {c['files']:>5} files {c['lines']:>8} lines")
    print(
        f"crashes: {sum(counts.values())}  (exceptions escaping analyze: {counts['exception']}, "
        f"internal_errors: {counts['internal_errors']}, timeouts: {counts['timeout']}, "
        f"workers died: {counts['died']}, spans outside the text: {counts['bad_spans']})"
    )
    print(
        f"files over {SLOW_S:.0f} s: {len(over)} wall-clock, {len(over_cpu)} in CPU time "
        f"(wall time includes waiting for a CPU on a loaded machine; load average now "
        f"{os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs)"
    )
    print("slowest files (wall, CPU):")
    for r in slow[:10]:
        print(
            f"  {r.get('seconds', 0.0):7.2f} s {r.get('cpu', 0.0):7.2f} s  "
            f"{r.get('lines', '?'):>6} lines  {r['path']}"
        )
    bad = [r for r in done if problem(r)]
    if bad:
        print("problems:")
        for r in bad[:40]:
            detail = (
                r.get("exception")
                or r.get("died")
                or (r.get("internal_errors") or [""])[0]
                or (r.get("bad_spans") or [""])[0]
                or f"over {timeout:.0f} s"
            )
            print(f"  {problem(r)}: {r['path']}: {str(detail)[:200]}")
    summary = {
        "files": len(done),
        "lines": sum(r.get("lines", 0) for r in done),
        "crashes": sum(counts.values()),
        **counts,
        "over_10s": len(over),
        "over_10s_cpu": len(over_cpu),
        "max_cpu_s": round(max((r.get("cpu", 0.0) for r in done), default=0.0), 2),
        "wall_s": round(wall, 1),
        "total_analyze_s": round(sum(r.get("seconds", 0.0) for r in done), 1),
        "slowest": [
            [r["path"], round(r.get("seconds", 0.0), 2), round(r.get("cpu", 0.0), 2)]
            for r in slow[:10]
        ],
    }
    print(json.dumps(summary))
    return summary


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("-j", "--jobs", type=int, default=max(1, (os.cpu_count() or 2) // 2))
    ap.add_argument("--timeout", type=float, default=60.0, help="per-file limit in seconds")
    ap.add_argument("--mem-mb", type=int, default=4096, help="address-space limit per worker")
    ap.add_argument("--only", action="append", choices=("torch", "timm", "torchvision"))
    ap.add_argument("--limit", type=int, default=0, help="at most N files per package")
    ap.add_argument("--records", help="write one JSON record per file here")
    ap.add_argument("--quiet", action="store_true")
    ap.add_argument("paths", nargs="*", help="analyse these files instead of the corpus")
    args = ap.parse_args(argv)
    files: list[tuple[str, Path]] = []
    if args.paths:
        files = [("given", Path(p)) for p in args.paths]
    else:
        for pkg, root in corpus_roots(args.only).items():
            found = sorted(root.rglob("*.py"))
            files += [(pkg, f) for f in (found[: args.limit] if args.limit else found)]
    t0 = time.monotonic()
    records = run(files, args.jobs, args.timeout, args.mem_mb, not args.quiet)
    wall = time.monotonic() - t0
    if args.records:
        with open(args.records, "w") as fh:
            for r in records:
                fh.write(json.dumps(r) + "\n")
    summary = report(records, wall, args.timeout)
    return 1 if summary["crashes"] or summary["over_10s_cpu"] else 0


if __name__ == "__main__":
    raise SystemExit(main())
