"""`shape-lsp check` over a real-world corpus (torchvision's and timm's `models/` folders, or
with `--corpus second` monai, diffusers, torchaudio, smp, transformers and keras-hub models).

    .venv/bin/python benchmarks/fetch_corpus.py [--corpus second]   # once (git-ignored)
    .venv/bin/python benchmarks/corpus_check.py [-j 2] [--corpus second]

Prints one JSON line: files, lines, crashes (files with internal_errors, read errors, and
whether the CLI itself failed), diagnostics by severity and by code, wall time. These files
are correct code, so every error-severity diagnostic is a false positive: each is listed as
`file:line: CODE message` in `false_positives` (and on stderr, one per line).
Exits 1 when there is a crash or a false positive.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from fetch_corpus import CORPORA, SRC  # noqa: E402


def _cli() -> list[str]:
    exe = Path(sys.executable).with_name("shape-lsp")
    return [str(exe)] if exe.exists() else [sys.executable, "-m", "shape_lsp.cli"]


def run(dirs: list[Path], jobs: int) -> dict[str, object]:
    """Run the CLI once over `dirs` and summarise its JSON."""
    cmd = [*_cli(), "check", *map(str, dirs), "--format", "json", "--exit-zero", "--no-cache"]
    cmd += ["--no-respect-gitignore"]  # the corpus lives in a git-ignored folder
    cmd += ["-j", str(jobs)]
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    wall = time.perf_counter() - t0
    out: dict[str, object] = {"wall_s": round(wall, 2), "jobs": jobs, "cli_rc": proc.returncode}
    try:
        records = json.loads(proc.stdout)["files"]
    except (json.JSONDecodeError, KeyError):
        out["cli_crash"] = proc.stderr[-2000:]
        return out
    by_sev: Counter[str] = Counter()
    by_code: Counter[str] = Counter()
    crashes: list[str] = []
    fps: list[str] = []
    lines = 0
    for r in records:
        path = Path(r["path"])
        rel = path.relative_to(SRC) if path.is_relative_to(SRC) else path
        lines += len(path.read_text(encoding="utf-8", errors="replace").splitlines())
        if r.get("error"):
            crashes.append(f"{rel}: {r['error']}")
        for e in r.get("internal_errors", []):
            crashes.append(f"{rel}: {e.splitlines()[0] if e else e}")
        for d in r["diagnostics"]:
            by_sev[d["severity"]] += 1
            by_code[d["code"]] += 1
            if d["severity"] == "error":
                fps.append(f"{rel}:{d['line']}: {d['code']} {d['message']}")
    models = sum(len(r["models"]) for r in records)
    out.update(
        files=len(records),
        lines=lines,
        models=models,
        crashes=len(crashes),
        crash_list=crashes,
        exceptions=int(proc.returncode not in (0, 1)),
        diagnostics=sum(by_sev.values()),
        by_severity=dict(sorted(by_sev.items())),
        by_code=dict(sorted(by_code.items())),
        false_positives=fps,
    )
    if proc.returncode not in (0, 1):
        out["stderr_tail"] = proc.stderr[-2000:]
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("-j", "--jobs", type=int, default=2)
    ap.add_argument("--corpus", choices=sorted(CORPORA), default="main")
    ap.add_argument("paths", nargs="*", help="folders to check (default: the corpus's paths)")
    args = ap.parse_args(argv)
    dirs = [Path(p) for p in args.paths] or [SRC / d for d in CORPORA[args.corpus]]
    missing = [d for d in dirs if not d.exists()]
    if missing:
        print(
            f"corpus_check: missing {missing}; run benchmarks/fetch_corpus.py --corpus {args.corpus}",
            file=sys.stderr,
        )
        return 2
    out = run(dirs, args.jobs)
    for fp in out.get("false_positives", []):  # type: ignore[union-attr]
        print(fp, file=sys.stderr)
    print(json.dumps(out))
    bad = out.get("cli_crash") or out.get("crashes") or out.get("exceptions")
    return 1 if bad or out.get("false_positives") else 0


if __name__ == "__main__":
    raise SystemExit(main())
