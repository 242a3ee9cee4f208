"""Pipeline benchmark: training scripts fed only by a data pipeline, a correct and a buggy
variant each. Prints one JSON line of figures (and a table with --table).

    .venv/bin/python benchmarks/pipelines/run.py [--runtime] [--torchvision DIR] [--write]

Each script in scripts/ is the correct variant. One line carries `# BUG: <code>`: the buggy
variant (bugs/NAME) has that line's code replaced. `# ERR [CODE]` marks the line where the
bug must be reported (the BUG line itself when it carries no ERR of its own elsewhere).

Static (always): the buggy variant must have an error-severity finding on the ERR line (with
CODE when given), the correct one none at all; the model's input must come from the
pipeline with a concrete shape. --runtime runs both variants with benchmarks/pipelines/
runtime.py (datasets swapped for synthetic data of the documented shapes, see there): the
correct one must run and feed the model exactly the static input shape and dtype, the buggy
one must raise. --torchvision DIR puts a `pip install --no-deps --target DIR torchvision
pillow` folder on the runtime's path (scripts that need it are skipped without it).
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
from pathlib import Path
from typing import Any

from shape_lsp.core.api import Analyzer

HERE = Path(__file__).parent
SCRIPTS = HERE / "scripts"
BUGS = HERE / "bugs"
_BUG = re.compile(r"^(?P<indent>\s*)(?P<code>.*?)\s*# BUG: (?P<new>.+)$")
_ERR = re.compile(r"# ERR(?: (?P<code>SH\d+))?")


def variants(path: Path) -> tuple[str, str, int, str | None, int]:
    """(correct text, buggy text, 1-based ERR line, expected code, 1-based BUG line)."""
    lines = path.read_text(encoding="utf-8").splitlines()
    bug_at = err_at = -1
    code = None
    buggy = list(lines)
    for i, line in enumerate(lines):
        m = _BUG.match(line)
        if m:
            bug_at = i
            buggy[i] = f"{m.group('indent')}{m.group('new').strip()}  # BUG"
        e = _ERR.search(line)
        if e:
            err_at, code = i, e.group("code")
    assert bug_at >= 0, f"{path.name}: no BUG line"
    if err_at < 0:
        err_at = bug_at
    return "\n".join(lines) + "\n", "\n".join(buggy) + "\n", err_at + 1, code, bug_at + 1


def static(an: Analyzer, text: str, name: str) -> dict[str, Any]:
    res = an.analyze(text, name)
    errors = [
        (
            f.span.start_line + 1,
            f.code,
            f.message,
            sorted({r.span.start_line + 1 for r in f.related}),
        )
        for f in res.findings
        if f.severity.label == "error"
    ]
    model = next((m for m in res.models if m.input_source == "pipeline"), None) or next(
        (m for m in res.models if m.input_source == "example"), None
    )
    return {
        "errors": errors,
        "input": list(model.input_shapes[0]) if model and model.input_shapes[0] else None,
        "dtype": model.input_dtypes[0] if model else None,
        "input_text": model.input_text() if model else None,
        "source": model.input_source if model else None,
        "internal": list(res.internal_errors),
    }


def runtime(text: str, name: str, extra_path: str | None) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        script = Path(tmp) / name
        script.write_text(text, encoding="utf-8")
        env = dict(os.environ, KERAS_BACKEND="torch")
        if extra_path:
            env["PYTHONPATH"] = os.pathsep.join(filter(None, [extra_path, env.get("PYTHONPATH")]))
        proc = subprocess.run(
            [sys.executable, str(HERE / "runtime.py"), str(script)],
            capture_output=True,
            text=True,
            timeout=300,
            env=env,
            cwd=tmp,
            check=False,
        )
        last = proc.stdout.strip().splitlines()[-1:] or ["{}"]
        try:
            return dict(json.loads(last[0]))
        except json.JSONDecodeError:
            return {"error": f"harness failed: {proc.stderr[-300:]}"}


def _needs(text: str) -> str:
    if "torchvision" in text:
        return "torchvision"
    if "keras" in text:
        return "keras"
    return "torch"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runtime", action="store_true")
    ap.add_argument("--torchvision", default=None, help="folder with torchvision + pillow")
    ap.add_argument("--write", action="store_true", help="write the buggy variants to bugs/")
    ap.add_argument("--table", action="store_true")
    ap.add_argument("-k", default="", help="only scripts whose name contains this")
    args = ap.parse_args()
    an = Analyzer()
    rows: list[dict[str, Any]] = []
    t0 = time.perf_counter()
    for path in sorted(SCRIPTS.glob("*.py")):
        if args.k not in path.name:
            continue
        ok_text, bug_text, err_line, code, bug_line = variants(path)
        if args.write:
            BUGS.mkdir(exist_ok=True)
            (BUGS / path.name).write_text(bug_text, encoding="utf-8")
        ok = static(an, ok_text, f"scripts/{path.name}")
        bug = static(an, bug_text, f"bugs/{path.name}")
        # On its line: the finding's span or one of its related locations is the BUG line or
        # the ERR line (where torch / Keras raises); any new error elsewhere is "elsewhere".
        lines = {err_line, bug_line}
        hit = [
            e for e in bug["errors"] if (code is None or e[1] == code) and ({e[0], *e[3]} & lines)
        ]
        before = {(e[1], e[2]) for e in ok["errors"]}
        elsewhere = [e for e in bug["errors"] if (e[1], e[2]) not in before and e not in hit]
        row: dict[str, Any] = {
            "script": path.name,
            "needs": _needs(ok_text),
            "caught": bool(hit),
            "caught_elsewhere": not hit and bool(elsewhere),
            "bug_findings": bug["errors"],
            "expected": f"{err_line} {code or ''}".strip(),
            "bug_line": bug_line,
            "ok_errors": ok["errors"],
            "static_input": ok["input"],
            "static_dtype": ok["dtype"],
            "input_text": ok["input_text"],
            "source": ok["source"],
            "concrete": ok["input"] is not None and all(isinstance(d, int) for d in ok["input"]),
            "internal": ok["internal"] + bug["internal"],
        }
        if args.runtime:
            can = row["needs"] != "torchvision" or args.torchvision
            if can:
                r_ok = runtime(ok_text, path.name, args.torchvision)
                r_bug = runtime(bug_text, path.name, args.torchvision)
                row["runtime_input"] = r_ok.get("input")
                row["runtime_dtype"] = r_ok.get("dtype")
                row["runtime_ok_error"] = r_ok.get("error")
                row["runtime_bug_error"] = r_bug.get("error")
                row["runtime_bug_line"] = r_bug.get("error_line")
                row["confirmed"] = (
                    r_ok.get("error") is None
                    and r_ok.get("input") == ok["input"]
                    and r_ok.get("dtype") == ok["dtype"]
                    and r_bug.get("error") is not None
                )
        rows.append(row)
    n = len(rows)
    out = {
        "scripts": n,
        "by_kind": {
            k: sum(r["needs"] == k for r in rows) for k in ("torch", "torchvision", "keras")
        },
        "bugs_caught_on_line": sum(r["caught"] for r in rows),
        "bugs_caught_elsewhere": sum(r["caught_elsewhere"] for r in rows),
        "errors_on_correct": sum(len(r["ok_errors"]) for r in rows),
        "concrete_input": sum(r["concrete"] for r in rows),
        "input_from_pipeline": sum(r["source"] == "pipeline" for r in rows),
        "internal_errors": sum(len(r["internal"]) for r in rows),
        "seconds": round(time.perf_counter() - t0, 1),
    }
    if args.runtime:
        ran = [r for r in rows if "confirmed" in r]
        out["runtime_checked"] = len(ran)
        out["runtime_confirmed"] = sum(r["confirmed"] for r in ran)
        out["runtime_bug_line_matches"] = sum(
            r["runtime_bug_line"] == int(r["expected"].split()[0]) for r in ran
        )
    if args.table:
        for r in rows:
            print(json.dumps(r))
    print(json.dumps(out))


if __name__ == "__main__":
    main()
