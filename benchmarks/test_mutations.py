"""Mutation check: can the test suite fail? Each entry of BUGS is one small deliberate bug.

    .venv/bin/python benchmarks/test_mutations.py [--only NAME ...] [--list] [--no-baseline]
                                                  [--timeout 300]

For every bug, in a temporary copy of the tree (tracked and untracked-but-not-ignored files;
the working tree itself is never written): replace the exact `old` text of `path` by `new`,
run the bug's `tests` with pytest (PYTHONPATH points at the copy, so subprocesses such as the
language server and the verifier agent run the mutated code too), and restore the file. A bug
is *killed* when a test fails, *survived* when the tests pass, *not run* when every selected
test was skipped (an editor that is not installed, say). Before the bugs, each distinct test
selection runs once on the unmutated copy and must pass (else a "kill" would mean nothing).

`old` must occur exactly once in `path` (the script stops otherwise): after a refactor, update
`path` / `old` here. Prints one line per bug and a JSON summary; exits 1 if any bug survived.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Bug:
    """One deliberate bug: in `path`, `old` (exactly once) becomes `new`; `tests` must fail."""

    name: str
    path: str
    old: str
    new: str
    tests: tuple[str, ...]
    k: str = ""  # an optional pytest -k expression, to keep slow files short


# --------------------------------------------------------------------------------- the bugs
#
# The first six are the deliberate bugs of issue 22's audit; the rest are one per weakness the
# issue lists (symbolic results, error codes, rules without a case, static vs runtime, the
# importers' re-analysis, inlay labels, keyword fixes over LSP, editors, the engine under the
# verifier). Paths are relative to the repository root.

BUGS: list[Bug] = [
    # -- issue 22, audit bug 1: a symbol where the integer is known (s vs 3 broadcasts to 3)
    Bug(
        "broadcast-symbol-for-int",
        "shape_lsp/core/values/shapes.py",
        "        elif isinstance(y, int):\n            out.append(y)  # x must be y or 1",
        "        elif isinstance(y, int):\n            out.append(x)  # x must be y or 1",
        ("tests/rules/test_functions.py", "tests/rules/test_functions_seq.py"),
        k="symbolic",
    ),
    # -- audit bug 2: keyword arguments not found: `Set in_features` disappears on kwargs
    Bug(
        "arg-node-ignores-keywords",
        "shape_lsp/core/analysis/fixes.py",
        "        if a.keyword is not None and a.keyword.value == name:\n            return a",
        "        if a.keyword is not None and a.keyword.value == name:\n            break",
        ("tests/core/test_fix_keywords.py", "tests/core/test_cli_fix.py"),
    ),
    # -- audit bugs 3-6 (the ones the suite already caught)
    Bug(
        "broadcast-error-on-one",
        "shape_lsp/core/values/shapes.py",
        "        if eq(x, y) is True or y == 1:",
        "        if eq(x, y) is True:",
        ("tests/rules/test_functions.py",),
        k="matches_torch",
    ),
    Bug(
        "linear-check-off",
        "shape_lsp/core/rules/linear.py",
        "    if S.eq(last, fin) is False:",
        "    if S.eq(last, fin) is False and False:",
        ("tests/rules/test_examples.py",),
    ),
    Bug(
        "flatten-fix-wrong-dim",
        "shape_lsp/core/analysis/fixes.py",
        'f"{var} = {torch_flatten}({var}, 1)"',
        'f"{var} = {torch_flatten}({var}, 0)"',
        ("tests/server/test_features.py",),
        k="flatten",
    ),
    Bug(
        "conv-output-off-by-one",
        "shape_lsp/core/rules/spatial.py",
        "    out = S.add(S.floordiv(num, s) if isinstance(s, int) else S.UNKNOWN, 1)",
        "    out = S.add(S.floordiv(num, s) if isinstance(s, int) else S.UNKNOWN, 2)",
        ("tests/rules/test_examples.py",),
    ),
    # -- weakness: symbolic soundness tests accepted unknown dims
    Bug(
        "conv-gives-up-on-symbols",
        "shape_lsp/core/rules/spatial.py",
        "    out = S.add(S.floordiv(num, s) if isinstance(s, int) else S.UNKNOWN, 1)",
        "    out = S.add(S.floordiv(num, s) if isinstance(s, int) and isinstance(size, int) "
        "else S.UNKNOWN, 1)",
        ("tests/rules/test_layers.py",),
        k="symbolic",
    ),
    # -- weakness: the property tests accepted any code (or none) where torch raised
    Bug(
        "pool-padding-wrong-code",
        "shape_lsp/core/rules/spatial.py",
        '            "SH112",\n            f"{what}: padding {p} must be at most half',
        '            "SH103",\n            f"{what}: padding {p} must be at most half',
        ("tests/rules/test_properties.py",),
    ),
    # -- weakness: a rule without a case (in-place comparison keeps self's dtype)
    Bug(
        "inplace-returns-result",
        "shape_lsp/core/rules/arith.py",
        "            )\n        return a\n    return out",
        "            )\n        return out\n    return out",
        ("tests/rules/test_functions_more.py",),
    ),
    # -- weakness: static vs runtime let unknown shapes pass
    Bug(
        "batchnorm-unknown",
        "shape_lsp/core/rules/norm.py",
        "    return x.with_shape(x.shape, what)\n\n\ndef instancenorm(",
        "    return unknown_like(x)\n\n\ndef instancenorm(",
        ("tests/core/test_static_vs_runtime.py",),
        k="zoo_resnet",
    ),
    # -- weakness: verify against the engine skipped when the engine found no model
    Bug(
        "engine-finds-no-models",
        "shape_lsp/verifier/client.py",
        "        return analyze(source, path, settings).models",
        "        return ()",
        ("tests/verifier/test_with_engine.py",),
    ),
]


# ------------------------------------------------------------------------------ the runner

ROOT = Path(__file__).resolve().parents[1]
PY = ROOT / ".venv" / "bin" / "python"
SUMMARY = re.compile(r"(\d+) (passed|failed|skipped|error|errors|xfailed|xpassed|deselected)")


def copy_tree(dest: Path, rev: str | None = None) -> None:
    """Tracked and untracked-not-ignored files of the working tree, as they are now; or the
    tree of a commit (`rev`), to see which bugs older tests let through."""
    if rev is not None:
        archive = subprocess.run(
            ["git", "archive", rev], cwd=ROOT, capture_output=True, check=True
        ).stdout
        subprocess.run(["tar", "-x", "-C", str(dest)], input=archive, check=True)
        return
    out = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT,
        capture_output=True,
        check=True,
    ).stdout.decode()
    for rel in filter(None, out.split("\0")):
        src = ROOT / rel
        if not src.is_file():  # deleted but still in the index
            continue
        target = dest / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(src, target)


def locate(tree: Path, bug: Bug) -> str:
    """The file's text; stops the run unless `old` occurs exactly once."""
    path = tree / bug.path
    if not path.is_file():
        sys.exit(f"{bug.name}: {bug.path} does not exist (moved? update BUGS)")
    text = path.read_text(encoding="utf-8")
    n = text.count(bug.old)
    if n != 1:
        sys.exit(f"{bug.name}: the old text occurs {n} times in {bug.path} (must be once)")
    return text


def run_tests(tree: Path, tests: tuple[str, ...], k: str, timeout: float) -> dict[str, object]:
    cmd = [str(PY), "-m", "pytest", "-q", "-x", "-p", "no:cacheprovider", "-p", "no:randomly"]
    cmd += ["-o", "addopts=", *tests] + (["-k", k] if k else [])
    env = {**os.environ, "PYTHONPATH": str(tree), "PYTHONDONTWRITEBYTECODE": "1"}
    env.pop("SHAPE_LSP_PROPERTY_EXAMPLES", None)
    t0 = time.monotonic()
    try:
        proc = subprocess.run(
            cmd, cwd=tree, env=env, capture_output=True, text=True, timeout=timeout, check=False
        )
    except subprocess.TimeoutExpired:
        return {"status": "timeout", "seconds": round(time.monotonic() - t0, 1)}
    tail = proc.stdout.strip().splitlines()[-1:] or [""]
    counts = {kind: int(n) for n, kind in SUMMARY.findall(tail[0])}
    ran = counts.get("passed", 0) + counts.get("failed", 0) + counts.get("error", 0)
    ran += counts.get("errors", 0)
    if proc.returncode == 0:
        status = "passed" if ran else "not run"
    elif proc.returncode == 5:
        status = "not run"
    elif proc.returncode == 1:
        status = "failed"
    else:
        status = f"error (pytest exit {proc.returncode})"
    failed = [ln for ln in proc.stdout.splitlines() if ln.startswith(("FAILED", "ERROR"))]
    return {
        "status": status,
        "summary": tail[0],
        "first_failure": failed[:1],
        "seconds": round(time.monotonic() - t0, 1),
        "output": proc.stdout[-3000:] + proc.stderr[-2000:],
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--only", nargs="*", default=None, help="bug names to run")
    ap.add_argument("--list", action="store_true", help="list the bugs and exit")
    ap.add_argument("--no-baseline", action="store_true", help="skip the unmutated run")
    ap.add_argument("--timeout", type=float, default=300.0, help="seconds per pytest run")
    ap.add_argument("--rev", default=None, help="test a commit's tree instead of the work tree")
    ap.add_argument("--verbose", action="store_true", help="print pytest's output tail")
    opts = ap.parse_args()
    bugs = [b for b in BUGS if opts.only is None or b.name in opts.only]
    if opts.list:
        for b in bugs:
            print(f"{b.name}: {b.path} -> {' '.join(b.tests)}" + (f" -k {b.k}" if b.k else ""))
        return 0
    if opts.only is not None and len(bugs) != len(opts.only):
        sys.exit(f"unknown bug name among {opts.only}")
    names = [b.name for b in BUGS]
    if len(set(names)) != len(names):
        sys.exit("bug names must be unique")
    results: dict[str, dict[str, object]] = {}
    t0 = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="shape_lsp_mutants_") as tmp:
        tree = Path(tmp)
        copy_tree(tree, opts.rev)
        for b in bugs:  # every location is checked before any test runs
            locate(tree, b)
        where = subprocess.run(
            [str(PY), "-c", "import shape_lsp; print(shape_lsp.__file__)"],
            cwd=tree,
            env={**os.environ, "PYTHONPATH": str(tree)},
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        if not where.startswith(str(tree)):
            sys.exit(f"the copy's shape_lsp is not the one imported: {where}")
        if not opts.no_baseline:
            for sel in sorted({(b.tests, b.k) for b in bugs}):
                r = run_tests(tree, sel[0], sel[1], opts.timeout)
                if r["status"] not in ("passed", "not run"):
                    print(r["output"])
                    sys.exit(f"baseline {' '.join(sel[0])} -k {sel[1]!r}: {r['status']}")
        for b in bugs:
            path = tree / b.path
            original = locate(tree, b)
            try:
                path.write_text(original.replace(b.old, b.new), encoding="utf-8")
                r = run_tests(tree, b.tests, b.k, opts.timeout)
            finally:
                path.write_text(original, encoding="utf-8")
            verdict = {
                "failed": "killed",
                "passed": "SURVIVED",
                "timeout": "killed (timeout)",
            }.get(str(r["status"]), str(r["status"]))
            results[b.name] = {"verdict": verdict, **{k: v for k, v in r.items() if k != "output"}}
            line = f"{verdict:>10}  {b.name}  [{r.get('summary', '')}; {r['seconds']}s]"
            print(line, flush=True)
            if opts.verbose or verdict.startswith("error"):
                print(r.get("output", ""))
    survived = [n for n, r in results.items() if r["verdict"] == "SURVIVED"]
    not_run = [n for n, r in results.items() if r["verdict"] == "not run"]
    print(
        json.dumps(
            {
                "bugs": len(results),
                "killed": sum(str(r["verdict"]).startswith("killed") for r in results.values()),
                "survived": survived,
                "not_run": not_run,
                "seconds": round(time.monotonic() - t0, 1),
            }
        )
    )
    return 1 if survived else 0


if __name__ == "__main__":
    sys.exit(main())
