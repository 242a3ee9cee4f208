"""Mutation benchmark: does shape-lsp catch a wrong input size in real model code?

    .venv/bin/python benchmarks/fetch_corpus.py          # once
    .venv/bin/python benchmarks/mutate.py [-j 2] [--time-box 900] [--op add1|double] [--all]

For every `nn.Linear` / `nn.Conv1d/2d/3d` / `nn.BatchNorm1d/2d/3d` constructor written in the
files (also `torch.nn.X(...)` and `X(...)` imported from torch.nn), one mutant changes the size
argument that torch checks against the input: in_features / in_channels / num_features
(`(arg) + 1` by default, `(arg) * 2` with --op double).

Derivable (decided on the *unmutated* analysis): the core recorded a layer fact
(`ShapeFact(kind="layer")`) at the constructor's span whose input shape is known in the
dimension the mutated argument is checked against (Linear: the last dim; ConvNd: the channel
dim, i.e. rank - N - 1; BatchNorm: dim 1) -- i.e. that dimension is not `?` (a concrete number
or a known symbol). `derivable_strict` additionally asks the whole input shape to have no `?`.

Caught: the mutated file has a new error-severity finding (not in the unmutated file's
findings) that points at the constructor: its span, one of its related locations, or one of
its quick-fix edits lies within the constructor's lines. This covers both places torch
raises: the call site in forward (the finding's related location is "defined here") and
Sequential entries / construction-time errors (the finding sits on the constructor line).

Prints one JSON line: caught / derivable / total overall and per file, the unmutated files'
findings (must be 0 errors), missed derivable mutants, mutants whose analysis crashed, time.
Only derivable mutants are analysed unless --all.
"""

from __future__ import annotations

import argparse
import ast
import json
import signal
import sys
import time
from dataclasses import asdict, dataclass, field
from multiprocessing import Pool
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent

# constructor name -> (argument position, keyword, dimension rule)
LAYERS: dict[str, tuple[int, str, str]] = {
    "Linear": (0, "in_features", "last"),
    "Conv1d": (0, "in_channels", "conv1"),
    "Conv2d": (0, "in_channels", "conv2"),
    "Conv3d": (0, "in_channels", "conv3"),
    "BatchNorm1d": (0, "num_features", "dim1"),
    "BatchNorm2d": (0, "num_features", "dim1"),
    "BatchNorm3d": (0, "num_features", "dim1"),
}


@dataclass
class Site:
    """One constructor call in the source (1-based lines, 0-based columns)."""

    layer: str
    line: int
    col: int
    end_line: int
    arg_span: tuple[int, int, int, int] | None  # lineno, col, end_lineno, end_col of the size arg
    arg_text: str = ""


@dataclass
class Mutant:
    """One mutant's outcome."""

    file: str
    line: int
    layer: str
    arg: str
    input_shape: str | None
    derivable: bool
    derivable_strict: bool
    mutable: bool
    analysed: bool = False
    self_input: bool = False  # the model's assumed input comes from this very layer
    caught: bool = False
    error: str | None = None
    findings: list[str] = field(default_factory=list)


def _torch_nn_names(tree: ast.AST) -> tuple[set[str], dict[str, str]]:
    """Names bound to torch.nn (`nn`, `torch.nn` spelled out) and layers imported by name."""
    modules = {"nn"}
    direct: dict[str, str] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module in ("torch.nn", "torch.nn.modules"):
            for a in node.names:
                if a.name in LAYERS:
                    direct[a.asname or a.name] = a.name
        elif isinstance(node, ast.ImportFrom) and node.module == "torch":
            for a in node.names:
                if a.name == "nn":
                    modules.add(a.asname or "nn")
        elif isinstance(node, ast.Import):
            for a in node.names:
                if a.name == "torch.nn" and a.asname:
                    modules.add(a.asname)
    return modules, direct


def _layer_name(func: ast.expr, modules: set[str], direct: dict[str, str]) -> str | None:
    if isinstance(func, ast.Name):
        return direct.get(func.id)
    if not isinstance(func, ast.Attribute) or func.attr not in LAYERS:
        return None
    v = func.value
    if isinstance(v, ast.Name) and v.id in modules:
        return func.attr
    if (
        isinstance(v, ast.Attribute)
        and v.attr == "nn"
        and isinstance(v.value, ast.Name)
        and v.value.id == "torch"
    ):
        return func.attr
    return None


def sites(source: str) -> list[Site]:
    """Every Linear/ConvNd/BatchNormNd constructor call in the source."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return []
    modules, direct = _torch_nn_names(tree)
    out: list[Site] = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        layer = _layer_name(node.func, modules, direct)
        if layer is None:
            continue
        pos, kw, _ = LAYERS[layer]
        arg: ast.expr | None = None
        starred = any(isinstance(a, ast.Starred) for a in node.args[: pos + 1])
        if len(node.args) > pos and not starred:
            arg = node.args[pos]
        else:
            arg = next((k.value for k in node.keywords if k.arg == kw), None)
        span = None
        text = ""
        if arg is not None and arg.end_lineno is not None and arg.end_col_offset is not None:
            span = (arg.lineno, arg.col_offset, arg.end_lineno, arg.end_col_offset)
            text = ast.get_source_segment(source, arg) or ""
        out.append(
            Site(layer, node.lineno, node.col_offset, node.end_lineno or node.lineno, span, text)
        )
    out.sort(key=lambda s: (s.line, s.col))
    return out


def mutate(source: str, site: Site, op: str = "add1") -> str:
    """The source with the site's size argument changed."""
    assert site.arg_span is not None
    lines = source.splitlines(keepends=True)
    l0, c0, l1, c1 = site.arg_span
    # ast columns are UTF-8 byte offsets
    head = "".join(lines[: l0 - 1]) + lines[l0 - 1].encode()[:c0].decode()
    tail = lines[l1 - 1].encode()[c1:].decode() + "".join(lines[l1:])
    new = f"({site.arg_text}) + 1" if op == "add1" else f"({site.arg_text}) * 2"
    return head + new + tail


def split_shape(shape: str | None) -> list[str] | None:
    """'(B, 64, (H + 1)//2, W)' -> ['B', '64', '(H + 1)//2', 'W']; None when unknown."""
    if not shape or not shape.startswith("("):
        return None
    body = shape[1 : shape.rindex(")")]
    dims: list[str] = []
    depth = 0
    cur = ""
    for ch in body:
        if ch in "([":
            depth += 1
        elif ch in ")]":
            depth -= 1
        if ch == "," and depth == 0:
            dims.append(cur.strip())
            cur = ""
        else:
            cur += ch
    if cur.strip():
        dims.append(cur.strip())
    return dims


def checked_dim(layer: str, dims: list[str]) -> str | None:
    """The input dimension the mutated argument is compared with (None if the rank is odd)."""
    rule = LAYERS[layer][2]
    if rule == "last":
        return dims[-1] if dims else None
    if rule.startswith("conv"):
        i = len(dims) - int(rule[-1]) - 1
        return dims[i] if i >= 0 else None
    return dims[1] if len(dims) >= 2 else None


def _known(dim: str | None) -> bool:
    return dim is not None and "?" not in dim and dim != "unknown"


def _finding_key(f: Any) -> tuple[Any, ...]:
    return (f.code, f.span.start_line, f.message)


def _points_at(f: Any, site: Site) -> bool:
    lo, hi = site.line - 1, site.end_line - 1  # 0-based
    spans = [f.span] + [r.span for r in f.related] + [e.span for fx in f.fixes for e in fx.edits]
    return any(lo <= s.start_line <= hi for s in spans)


class _Timeout(Exception):
    pass


def _alarm(_sig: int, _frame: Any) -> None:
    raise _Timeout


_ANALYZER: Any = None


def _analyzer() -> Any:
    global _ANALYZER  # noqa: PLW0603 - one parse cache per worker process
    if _ANALYZER is None:
        from shape_lsp.core.api import Analyzer

        _ANALYZER = Analyzer()
    return _ANALYZER


def _analyze(source: str, path: str, limit: float) -> Any:
    if limit > 0 and hasattr(signal, "setitimer"):
        signal.signal(signal.SIGALRM, _alarm)
        signal.setitimer(signal.ITIMER_REAL, limit)
    try:
        return _analyzer().analyze(source, path)
    finally:
        if limit > 0 and hasattr(signal, "setitimer"):
            signal.setitimer(signal.ITIMER_REAL, 0)


def check_file(job: tuple[str, str, str, bool, float, float]) -> dict[str, Any]:
    """Baseline + mutants of one file (runs in a worker)."""
    path, label, op, run_all, deadline, limit = job
    source = Path(path).read_text(encoding="utf-8", errors="replace")
    rec: dict[str, Any] = {
        "file": label,
        "lines": len(source.splitlines()),
        "mutants": [],
        "baseline": [],
        "crash": None,
        "timed_out": 0,
    }
    try:
        base = _analyze(source, path, limit * 4)
    except _Timeout:
        rec["crash"] = "baseline analysis timed out"
        return rec
    except Exception as e:  # the core promises never to raise; record it when it does
        rec["crash"] = f"baseline: {type(e).__name__}: {e}"
        return rec
    rec["baseline"] = [
        f"{f.span.start_line + 1}: {f.code} {f.severity.name.lower()} {f.message}"
        for f in base.findings
    ]
    rec["baseline_errors"] = sum(1 for f in base.findings if f.severity == 1)
    rec["internal_errors"] = list(base.internal_errors)
    before = {_finding_key(f) for f in base.findings}
    inputs_before = {(m.name, m.inputs) for m in base.models}
    facts: dict[tuple[int, int], list[str | None]] = {}
    for f in base.facts:
        if f.kind == "layer":
            facts.setdefault((f.span.start_line, f.span.start_col), []).append(f.input_shape)
    for s in sites(source):
        inputs = facts.get((s.line - 1, s.col), [])
        der = strict = False
        shown = None
        for shp in inputs:
            dims = split_shape(shp)
            if dims is not None and _known(checked_dim(s.layer, dims)):
                if not der or "?" not in (shp or ""):
                    shown = shp
                der = True
                strict = strict or "?" not in (shp or "")
        if shown is None and inputs:
            shown = inputs[0]
        m = Mutant(label, s.line, s.layer, s.arg_text, shown, der, strict, s.arg_span is not None)
        rec["mutants"].append(m)
        if not m.mutable or not (der or run_all):
            continue
        if time.time() > deadline:
            rec["timed_out"] += 1
            continue
        try:
            res = _analyze(mutate(source, s, op), path, limit)
        except _Timeout:
            m.error = "timeout"
            continue
        except Exception as e:
            m.error = f"{type(e).__name__}: {e}"
            continue
        m.analysed = True
        m.self_input = {(x.name, x.inputs) for x in res.models} != inputs_before
        if m.self_input:  # not derived: the engine took the model's input from this layer
            m.derivable = m.derivable_strict = False
        new = [f for f in res.findings if f.severity == 1 and _finding_key(f) not in before]
        m.findings = [f"{f.span.start_line + 1}: {f.code} {f.message}" for f in new][:3]
        m.caught = any(_points_at(f, s) for f in new)
    rec["mutants"] = [asdict(m) for m in rec["mutants"]]
    return rec


def corpus_files() -> list[tuple[Path, str]]:
    """(path, label) of every .py file in the corpus' models/ folders."""
    sys.path.insert(0, str(HERE))
    from fetch_corpus import MODEL_DIRS, SRC

    out = []
    for d in MODEL_DIRS:
        base = SRC / d
        if not base.is_dir():
            raise SystemExit(f"mutate: {base} missing; run benchmarks/fetch_corpus.py")
        out += [(p, str(p.relative_to(SRC))) for p in sorted(base.rglob("*.py"))]
    return out


def run(
    files: list[tuple[Path, str]],
    jobs: int = 2,
    *,
    op: str = "add1",
    run_all: bool = False,
    time_box: float = 900.0,
    limit: float = 60.0,
) -> dict[str, Any]:
    """Mutate every file; the summary dict (the JSON line)."""
    t0 = time.time()
    deadline = t0 + time_box
    work = [(str(p), label, op, run_all, deadline, limit) for p, label in files]
    # big files first so the pool's tail is short
    work.sort(key=lambda w: -Path(w[0]).stat().st_size)
    if jobs > 1:
        with Pool(jobs) as pool:
            recs = list(pool.imap_unordered(check_file, work))
    else:
        recs = [check_file(w) for w in work]
    recs.sort(key=lambda r: r["file"])
    muts = [m for r in recs for m in r["mutants"]]
    der = [m for m in muts if m["derivable"] and m["mutable"]]
    caught = [m for m in der if m["caught"]]
    per_file = {
        r["file"]: [
            sum(m["caught"] for m in r["mutants"] if m["derivable"] and m["mutable"]),
            sum(1 for m in r["mutants"] if m["derivable"] and m["mutable"]),
            len(r["mutants"]),
        ]
        for r in recs
        if r["mutants"]
    }
    by_layer: dict[str, list[int]] = {}
    for m in muts:
        row = by_layer.setdefault(m["layer"], [0, 0, 0])
        row[0] += bool(m["caught"] and m["derivable"] and m["mutable"])
        row[1] += bool(m["derivable"] and m["mutable"])
        row[2] += 1
    out: dict[str, Any] = {
        "op": op,
        "files": len(recs),
        "lines": sum(r["lines"] for r in recs),
        "total": len(muts),
        "mutable": sum(m["mutable"] for m in muts),
        "derivable": len(der),
        "self_input": sum(m["self_input"] for m in muts),
        "derivable_strict": sum(1 for m in der if m["derivable_strict"]),
        "caught": len(caught),
        "caught_pct": round(100 * len(caught) / len(der), 1) if der else None,
        "unmutated_findings": sum(len(r["baseline"]) for r in recs),
        "unmutated_errors": sum(r.get("baseline_errors", 0) for r in recs),
        "unmutated_list": [f"{r['file']}:{b}" for r in recs for b in r["baseline"]],
        "crashes": [f"{r['file']}: {r['crash']}" for r in recs if r["crash"]]
        + [f"{r['file']}: {e.splitlines()[0]}" for r in recs for e in r.get("internal_errors", [])]
        + [f"{m['file']}:{m['line']}: {m['error']}" for m in muts if m["error"]],
        "timed_out": sum(r["timed_out"] for r in recs),
        "by_layer": {k: by_layer[k] for k in sorted(by_layer)},
        "per_file": per_file,
        "missed": [
            f"{m['file']}:{m['line']}: {m['layer']}({m['arg']}) input {m['input_shape']}"
            + (f" -> {m['findings'][0]}" if m["findings"] else " -> no new error")
            for m in der
            if not m["caught"]
        ],
        "wall_s": round(time.time() - t0, 1),
    }
    out["_records"] = recs
    if run_all:
        nd = [m for m in muts if m["mutable"] and not m["derivable"] and m["analysed"]]
        out["non_derivable_caught"] = [sum(m["caught"] for m in nd), len(nd)]
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("-j", "--jobs", type=int, default=2)
    ap.add_argument("--op", choices=("add1", "double"), default="add1")
    ap.add_argument("--all", action="store_true", help="also analyse non-derivable mutants")
    ap.add_argument("--time-box", type=float, default=900.0, help="seconds for all mutants")
    ap.add_argument("--limit", type=float, default=60.0, help="seconds per analysis")
    ap.add_argument("--details", help="write the per-mutant records (JSON) to this file")
    ap.add_argument("paths", nargs="*", help="files to mutate (default: the corpus models/)")
    args = ap.parse_args(argv)
    files = [(Path(p), p) for p in args.paths] if args.paths else corpus_files()
    out = run(
        files, args.jobs, op=args.op, run_all=args.all, time_box=args.time_box, limit=args.limit
    )
    recs = out.pop("_records")
    if args.details:
        Path(args.details).write_text(json.dumps(recs, indent=1), encoding="utf-8")
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
