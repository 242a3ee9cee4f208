"""`shape-lsp check` side by side with Pyrefly (tensor shapes on) and TorchShapeFlow, in one run.

Over every .py file of timm's and torchvision's `models/` folders (`benchmarks/fetch_corpus.py`):
wall time and lines per second on one core and with all cores, for each tool; ratios. Prints one
JSON line.

Peers live in separate git-ignored venvs under `benchmarks/.corpus/venvs/` (set up once):

    python3 -m venv benchmarks/.corpus/venvs/pyrefly
    benchmarks/.corpus/venvs/pyrefly/bin/pip install "pyrefly==1.4.*"
    # Pyrefly's shape checking turns on when `shape_extensions` resolves; the stub wheels need
    # Python >= 3.12, so download them for 3.12 and unpack them onto Pyrefly's search path:
    benchmarks/.corpus/venvs/pyrefly/bin/pip download --no-deps --python-version 3.12 \\
        --only-binary=:all: -d benchmarks/.corpus/venvs/pyrefly-stubs-dl \\
        "pyrefly-torch-stubs==1.4.*" "pyrefly-shape-extensions==1.4.*"
    (cd benchmarks/.corpus/venvs && mkdir -p pyrefly-shapes && cd pyrefly-shapes && \\
        for w in ../pyrefly-stubs-dl/*.whl; do unzip -qo "$w"; done)
    python3 -m venv benchmarks/.corpus/venvs/tsf
    benchmarks/.corpus/venvs/tsf/bin/pip install torchshapeflow

    .venv/bin/python benchmarks/peers.py [--repeat 1]

One core: `shape-lsp check -j 1`, `pyrefly check -j 1`, `tsf check` per folder in turn. All
cores: `shape-lsp check -j N`, `pyrefly check -j 0` (its own thread pool), `tsf check` on the
folders' files split into N parallel processes (tsf has no parallel mode of its own).
shape-lsp runs cold (`--no-cache`) and warm (a second run with its result cache, what a repeat
`check` in a working tree pays for unchanged files). `libcst_parse_only_1` is the floor of any
libcst-based checker: `libcst.parse_module` over every file, nothing else.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
SRC = HERE / ".corpus" / "src"
VENVS = HERE / ".corpus" / "venvs"
FOLDERS = (SRC / "timm" / "models", SRC / "torchvision" / "models")
PYREFLY = VENVS / "pyrefly" / "bin" / "pyrefly"
SHAPES = VENVS / "pyrefly-shapes"
TSF = VENVS / "tsf" / "bin" / "tsf"


def corpus() -> tuple[list[Path], int]:
    files = sorted(f for d in FOLDERS for f in d.rglob("*.py"))
    if not files:
        raise SystemExit(f"no corpus under {SRC}: run benchmarks/fetch_corpus.py")
    lines = sum(f.read_bytes().count(b"\n") for f in files)
    return files, lines


def timed(cmds: list[list[str]], cwd: Path | None = None) -> dict[str, Any]:
    """Run the commands concurrently; wall time of the whole, exit codes, output tails."""
    t = time.perf_counter()

    def one(cmd: list[str]) -> subprocess.CompletedProcess[str]:
        return subprocess.run(cmd, capture_output=True, text=True, cwd=cwd, check=False)

    with ThreadPoolExecutor(max(1, len(cmds))) as pool:
        done = list(pool.map(one, cmds))
    wall = time.perf_counter() - t
    out = "".join(p.stdout + p.stderr for p in done)
    return {"s": wall, "rc": sorted({p.returncode for p in done}), "out": out}


def best(runs: list[dict[str, Any]]) -> dict[str, Any]:
    return min(runs, key=lambda r: r["s"])


def shape_lsp(files: list[Path], jobs: int, cache: Path | None = None) -> dict[str, Any]:
    """Cold (`--no-cache`) or with a result cache directory (warm once it has been filled)."""
    cached = ["--no-cache"] if cache is None else ["--cache-dir", str(cache)]
    cmd = [
        sys.executable,
        "-m",
        "shape_lsp",
        "check",
        "--format",
        "json",
        "--exit-zero",
        "--no-respect-gitignore",  # the corpus lives in a git-ignored folder
        *cached,
        "-j",
        str(jobs),
        *map(str, FOLDERS),
    ]
    r = timed([cmd], cwd=HERE.parent)
    try:
        data = json.loads(r["out"][r["out"].index("{") :])
        findings = sum(len(f["diagnostics"]) for f in data["files"])
        r["models"] = sum(len(f.get("models", [])) for f in data["files"])
    except (ValueError, KeyError, TypeError):
        findings = None
    r["findings"] = findings
    return r


def pyrefly(jobs: int, cfg: Path) -> dict[str, Any]:
    cmd = [
        str(PYREFLY),
        "check",
        "-c",
        str(cfg),
        "-j",
        str(jobs),
        "--output-format",
        "min-text",
        *map(str, FOLDERS),
    ]
    r = timed([cmd], cwd=cfg.parent)
    m = re.search(r"(\d[\d,]*) errors?", r["out"])
    r["errors"] = int(m.group(1).replace(",", "")) if m else None
    shaped = re.search(r"\w+\[Literal\[\d+\]", r["out"]) is not None
    r["shape_types_seen"] = shaped  # shape-typed modules in messages: shape checking is on
    return r


def tsf(files: list[Path], procs: int) -> dict[str, Any]:
    if procs <= 1:
        cmds = [[str(TSF), "check", str(d)] for d in FOLDERS]
        t = time.perf_counter()
        parts = [timed([c]) for c in cmds]  # one after the other: one core
        r = {
            "s": time.perf_counter() - t,
            "rc": sorted({x for p in parts for x in p["rc"]}),
            "out": "".join(p["out"] for p in parts),
        }
    else:  # tsf has no parallel mode: N processes, each on a folder of links to 1/N of the files
        with tempfile.TemporaryDirectory() as tmp:
            dirs = []
            for i in range(procs):
                d = Path(tmp) / f"shard{i}"
                d.mkdir()
                for k, f in enumerate(files[i::procs]):
                    (d / f"{k}_{f.name}").symlink_to(f)
                dirs.append(d)
            r = timed([[str(TSF), "check", str(d)] for d in dirs])
    r["issues"] = len(re.findall(r"(?m)^\S.*:\d+:\d+", r["out"]))
    return r


_COUNTS = ("findings", "models", "errors", "issues", "shape_types_seen")

_PARSE_ONLY = """
import sys, libcst
for f in sys.argv[1:]:
    libcst.parse_module(open(f, "rb").read())
"""


def libcst_floor(files: list[Path]) -> dict[str, Any]:
    """libcst.parse_module over every file, one core: what any libcst-based checker pays."""
    return timed([[sys.executable, "-c", _PARSE_ONLY, *map(str, files)]])


def main() -> None:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--repeat", type=int, default=1, help="runs per configuration (best kept)")
    p.add_argument("--jobs", type=int, default=os.cpu_count() or 1, help="all cores: N")
    args = p.parse_args()
    files, lines = corpus()
    n = args.jobs
    res: dict[str, Any] = {
        "benchmark": "peers",
        "files": len(files),
        "lines": lines,
        "cores": n,
        "loadavg_before": os.getloadavg()[0],
    }
    runs: dict[str, dict[str, Any]] = {}

    runs["shape_lsp_1"] = best([shape_lsp(files, 1) for _ in range(args.repeat)])
    runs["shape_lsp_n"] = best([shape_lsp(files, n) for _ in range(args.repeat)])
    with tempfile.TemporaryDirectory() as tmp:  # second and later runs: the result cache
        shape_lsp(files, n, Path(tmp))
        runs["shape_lsp_warm_1"] = best(
            [shape_lsp(files, 1, Path(tmp)) for _ in range(args.repeat)]
        )
        runs["shape_lsp_warm_n"] = best(
            [shape_lsp(files, n, Path(tmp)) for _ in range(args.repeat)]
        )
    runs["libcst_parse_only_1"] = best([libcst_floor(files) for _ in range(args.repeat)])

    status: dict[str, str] = {}
    if PYREFLY.exists() and (SHAPES / "shape_extensions").is_dir():
        with tempfile.TemporaryDirectory() as tmp:
            cfg = Path(tmp) / "pyrefly.toml"
            cfg.write_text(
                f"project-includes = {json.dumps([str(d) for d in FOLDERS])}\n"
                f"search-path = {json.dumps([str(SHAPES), str(SRC)])}\n"
                'python-version = "3.12"\n'
            )
            runs["pyrefly_1"] = best([pyrefly(1, cfg) for _ in range(args.repeat)])
            runs["pyrefly_n"] = best([pyrefly(0, cfg) for _ in range(args.repeat)])
        status["pyrefly"] = (
            "ran"
            if runs["pyrefly_1"]["errors"] is not None
            else ("failed: " + runs["pyrefly_1"]["out"][-300:])
        )
    else:
        status["pyrefly"] = f"not installed ({PYREFLY} / {SHAPES}): see this file's docstring"
    if TSF.exists():
        runs["tsf_1"] = best([tsf(files, 1) for _ in range(args.repeat)])
        runs["tsf_n"] = best([tsf(files, n) for _ in range(args.repeat)])
        status["tsf"] = (
            "ran"
            if all(rc in (0, 1) for rc in runs["tsf_1"]["rc"])
            else ("failed: " + runs["tsf_1"]["out"][-300:])
        )
    else:
        status["tsf"] = f"not installed ({TSF}): see this file's docstring"

    for key, r in runs.items():
        res[key] = {
            "s": round(r["s"], 2),
            "lines_per_s": round(lines / r["s"]),
            "rc": r["rc"],
            **{
                k: r[k]
                for k in ("findings", "models", "errors", "issues", "shape_types_seen")
                if k in r
            },
        }
    for peer in ("pyrefly", "tsf"):
        for mode in ("1", "n"):
            if f"{peer}_{mode}" in runs:
                res[f"speed_vs_{peer}_{mode}"] = round(
                    runs[f"{peer}_{mode}"]["s"] / runs[f"shape_lsp_{mode}"]["s"], 2
                )
                res[f"speed_vs_{peer}_{mode}_warm"] = round(
                    runs[f"{peer}_{mode}"]["s"] / runs[f"shape_lsp_warm_{mode}"]["s"], 2
                )
        if f"{peer}_1" in runs:  # > 1: even parsing alone with libcst is slower than the peer
            res[f"libcst_parse_vs_{peer}_1"] = round(
                runs["libcst_parse_only_1"]["s"] / runs[f"{peer}_1"]["s"], 2
            )
    res["status"] = status
    res["versions"] = {
        "pyrefly": _version([str(PYREFLY), "--version"]),
        "tsf": _version([str(TSF), "version"]),
    }
    res["loadavg_after"] = os.getloadavg()[0]
    sys.stdout.write(json.dumps(res) + "\n")


def _version(cmd: list[str]) -> str | None:
    try:
        return subprocess.run(cmd, capture_output=True, text=True, check=False).stdout.strip()
    except OSError:
        return None


if __name__ == "__main__":
    main()
