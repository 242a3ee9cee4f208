"""Command line: `shape-lsp check | summary | graph | verify | serve`.

`check` prints `path:line:col: CODE message` (1-based, like ruff and mypy) or JSON, and exits
0 when clean, 1 with findings, 2 on usage errors.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, TypeVar

from shape_lsp import __version__
from shape_lsp.cli_common import UsageError, _read, _settings, read_program
from shape_lsp.cli_formats import FORMATTERS

T = TypeVar("T")

FORMATS = ("text", "json", "concise", "sarif", "github", "gitlab")


def _check_parser(sub: Any) -> None:
    p = sub.add_parser("check", help="statically check files or folders")
    p.add_argument("paths", nargs="+", metavar="PATH")
    p.add_argument(
        "--format",
        choices=FORMATS,
        default="text",
        help="sarif: SARIF 2.1.0; github: workflow annotations; gitlab: code-quality JSON",
    )
    p.add_argument("--exit-zero", action="store_true", help="exit 0 even when there are findings")
    p.add_argument("--ignore", default="", help="comma-separated rule codes to skip")
    p.add_argument("--select", default="", help="only report these comma-separated codes")
    p.add_argument(
        "--show-trace", action="store_true", help="print the shape trace of each finding"
    )
    p.add_argument("--config", help="pyproject.toml to read [tool.shape-lsp] from")
    p.add_argument("--jobs", "-j", type=int, default=1, help="parallel worker processes")
    p.add_argument(
        "--fix", action="store_true", help="apply each finding's preferred fix (rewrites files)"
    )
    p.add_argument("--no-cache", action="store_true", help="don't read or write the cache")
    p.add_argument(
        "--cache-dir",
        help="where results are cached (default: $SHAPE_LSP_CACHE_DIR or ./.shape_lsp_cache)",
    )
    p.add_argument(
        "--no-respect-gitignore",
        dest="respect_gitignore",
        action="store_false",
        help="also check files that .gitignore excludes",
    )


def build_parser() -> argparse.ArgumentParser:
    """The argument parser (verify and serve forward their arguments)."""
    parser = argparse.ArgumentParser(prog="shape-lsp", description=__doc__.splitlines()[0])
    parser.add_argument("--version", action="version", version=f"shape-lsp {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)
    _check_parser(sub)
    s = sub.add_parser("summary", help="layer-by-layer static summary of the models in a file")
    s.add_argument("file")
    s.add_argument("--model", help="only this model")
    s.add_argument("--format", choices=("text", "json"), default="text")
    from shape_lsp.cli_graph import add_parser as add_graph_parser

    add_graph_parser(sub)
    sub.add_parser(
        "verify", help="run the model for real and diff against static shapes", add_help=False
    )
    sub.add_parser("serve", help="start the language server (stdio by default)", add_help=False)
    r = sub.add_parser("rules", help="list the rule codes")
    r.add_argument("--format", choices=("text", "markdown"), default="text")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `shape-lsp` console script."""
    args_list = list(sys.argv[1:] if argv is None else argv)
    if args_list and args_list[0] == "verify":
        from shape_lsp.verifier.command import main as verify_main

        return verify_main(args_list[1:])
    if args_list and args_list[0] == "serve":
        from shape_lsp.server.main import main as serve_main

        return serve_main(args_list[1:])
    parser = build_parser()
    try:
        args = parser.parse_args(args_list)
    except SystemExit as e:
        return int(e.code or 0) if e.code in (0, None) else 2
    try:
        return _run(args)
    except UsageError as e:
        print(f"shape-lsp: error: {e}", file=sys.stderr)
        return 2
    except BrokenPipeError:
        # The reader went away (`shape-lsp summary f.py | head`): stop quietly, the way
        # Python's docs recommend (stdout to devnull so the interpreter's final flush is silent).
        import os

        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 1


def _run(args: argparse.Namespace) -> int:
    if args.command == "check":
        return check(args)
    if args.command == "summary":
        return summary(args)
    if args.command == "graph":
        from shape_lsp.cli_graph import graph

        return graph(args)
    if args.command == "rules":
        from shape_lsp.core.codes import CODES, rules_markdown

        if args.format == "markdown":
            print(rules_markdown())
            return 0
        for c in CODES.values():
            print(f"{c.code}  {c.name:<18} {c.severity.label:<11} {c.doc}")
        return 0
    return 2


def analyze_path(
    path: Path, settings: Any, analyzer: Any, source: str | None = None
) -> dict[str, Any]:
    """One file's JSON record (also used by worker processes)."""
    from shape_lsp.core.results import Severity

    if source is None:
        try:
            source = _read(path)
        except OSError as e:
            return {"path": str(path), "error": str(e), "diagnostics": [], "models": []}
    program = None
    if path.suffix.lower() == ".ipynb":
        from shape_lsp.notebook_cli import NotebookError, program_of

        try:
            program = program_of(source)
        except NotebookError as e:
            return {"path": str(path), "error": str(e), "diagnostics": [], "models": []}
        source = program.text
    result = analyzer.analyze(source, str(path), settings)
    diags = [
        {
            "line": f.span.start_line + 1,
            "column": f.span.start_col + 1,
            "end_line": f.span.end_line + 1,
            "end_column": f.span.end_col + 1,
            "severity": Severity(f.severity).label,
            "code": f.code,
            "message": f.message,
            "trace": list(f.trace),
            "fixes": [fx.title for fx in f.fixes],
        }
        for f in result.findings
    ]
    models = [
        {
            "name": m.name,
            "line": m.span.start_line + 1,
            "kind": m.kind,
            "input_source": m.input_source,
            "input_origin": m.input_origin,
            "inputs": list(m.inputs),
            "output": m.output,
            "total_params": m.total_params,
            "calls": [
                {
                    "module": c.module,
                    "line": c.line,
                    "output": list(c.output) if c.output is not None else None,
                    "layer": c.layer,
                }
                for c in m.calls
            ],
            "graph": m.graph.json() if m.graph is not None else None,
        }
        for m in result.models
    ]
    rec: dict[str, Any] = {"path": str(path), "diagnostics": diags, "models": models}
    if result.internal_errors:
        rec["internal_errors"] = list(result.internal_errors)
    if program is not None:
        from shape_lsp.notebook_cli import localize

        localize(rec, program)
    return rec


def _tracked(
    path: Path, settings: Any, analyzer: Any, source: str
) -> tuple[dict[str, Any], dict[str, str | bool]]:
    """The record and the project files its analysis depended on (for the cache)."""
    analyzer.workspace.track = True
    record = analyze_path(path, settings, analyzer, source)
    return record, analyzer.workspace.dependencies(str(path))


def _worker(job: tuple[str, Any, str]) -> tuple[dict[str, Any], dict[str, str | bool]]:
    from shape_lsp.core.api import Analyzer

    path, settings, source = job
    global _WORKER_ANALYZER  # noqa: PLW0603 - one cache per worker process
    if _WORKER_ANALYZER is None:
        _batch_gc()
        _WORKER_ANALYZER = Analyzer(libraries=True)
    return _tracked(Path(path), settings, _WORKER_ANALYZER, source)


_WORKER_ANALYZER: Any = None


def _batch_gc() -> None:
    """A batch run keeps most of what it builds (parse trees, module passes): collect the
    young generation far less often, and move what is loaded so far out of the collector's
    sight (`gc.freeze`). Memory is unchanged; the cyclic collector was ~16% of a cold run."""
    import gc
    import os

    if os.environ.get("SHAPE_LSP_BATCH_GC") == "0":  # benchmarks compare against the default
        return
    gc.collect()
    gc.freeze()
    gc.set_threshold(BATCH_GC_THRESHOLD, 20, 20)


BATCH_GC_THRESHOLD = 50_000


def check(args: argparse.Namespace) -> int:
    """`shape-lsp check`."""
    missing = [p for p in args.paths if not Path(p).exists()]
    if missing:
        print(f"shape-lsp: error: no such file or folder: {', '.join(missing)}", file=sys.stderr)
        return 2
    from shape_lsp.cli_files import python_files

    files = list(python_files(args.paths, args.respect_gitignore))
    settings = _settings(args, Path(args.paths[0]).resolve())
    cache = None
    if not args.no_cache:
        from shape_lsp.check_cache import CheckCache, default_dir

        cache = CheckCache(Path(args.cache_dir) if args.cache_dir else default_dir(), settings)
    fixed = _fix(files, settings) if args.fix else 0
    records: list[dict[str, Any]] = []
    todo: list[tuple[int, Path, str]] = []
    for f in files:
        try:
            text = _read(f)
        except OSError as e:
            records.append({"path": str(f), "error": str(e), "diagnostics": [], "models": []})
            continue
        hit = cache.get(f, text) if cache is not None else None
        records.append(hit or {})
        if hit is None:
            todo.append((len(records) - 1, f, text))
    if args.jobs > 1 and len(todo) > 1:
        from concurrent.futures import ProcessPoolExecutor

        with ProcessPoolExecutor(min(args.jobs, len(todo))) as pool:
            jobs = [(str(f), settings, text) for _, f, text in todo]
            done = list(_progress(pool.map(_worker, jobs, chunksize=4), len(todo)))
    else:
        from shape_lsp.core.api import Analyzer  # libcst and the engine: only when needed

        _batch_gc()
        analyzer = Analyzer(libraries=True)
        done = list(
            _progress((_tracked(f, settings, analyzer, text) for _, f, text in todo), len(todo))
        )
    for (i, f, text), (record, deps) in zip(todo, done, strict=True):
        records[i] = record
        if cache is not None:
            cache.put(f, text, record, deps)
    count = sum(len(r["diagnostics"]) for r in records)
    failing = sum(d["severity"] in FAILING_SEVERITIES for r in records for d in r["diagnostics"])
    if args.format == "json":
        print(json.dumps({"version": 1, "files": records}, indent=2))
    elif args.format in FORMATTERS:
        for r in records:
            if "error" in r:
                print(f"{r['path']}: error: {r['error']}", file=sys.stderr)
        text = FORMATTERS[args.format](records)
        if text:
            print(text)
    else:
        for r in records:
            if "error" in r:
                print(f"{r['path']}: error: {r['error']}", file=sys.stderr)
            for d in r["diagnostics"]:
                tag = "" if d["severity"] == "error" else f"[{d['severity']}] "
                print(f"{_where(r['path'], d)}: {d['code']} {tag}{d['message']}")
                if args.show_trace and args.format == "text":
                    for t in d["trace"]:
                        print(f"    | {t}")
        if fixed:
            print(f"Fixed {fixed} problem{'s' * (fixed != 1)}.")
        if args.format == "text":
            n_files = len(records)
            if count:
                n_hit = sum(bool(r["diagnostics"]) for r in records)
                print(
                    f"Found {count} problem{'s' * (count != 1)} in {n_hit} "
                    f"file{'s' * (n_hit != 1)} ({n_files} checked)."
                )
            else:
                print(f"All checks passed ({n_files} file{'s' * (n_files != 1)}).")
    return 0 if args.exit_zero or failing == 0 else 1


def _progress(items: Iterator[T], total: int) -> Iterator[T]:
    """Yield `items`, counting them on stderr when it is a terminal (never into pipes or CI
    logs); the line is erased when done."""
    stream = sys.stderr
    if total < 2 or not stream.isatty():
        yield from items
        return
    for i, item in enumerate(items, 1):
        stream.write(f"\rChecking {i}/{total} files…")
        stream.flush()
        yield item
    stream.write("\r\033[K")
    stream.flush()


# Like ruff and mypy, only what is reported as a problem fails the run: errors and warnings.
# Information (SH113, or any code whose severity is set to "information"/"hint") never does.
FAILING_SEVERITIES = frozenset({"error", "warning"})


MAX_FIX_PASSES = 8


def _where(path: str, d: dict[str, Any]) -> str:
    """`path:line:col`, or `nb.ipynb:cell 3:4:9` in a notebook."""
    cell = f"cell {d['cell']}:" if "cell" in d else ""
    return f"{path}:{cell}{d['line']}:{d['column']}"


def _fix(files: list[Path], settings: Any) -> int:
    """`check --fix`: apply preferred fixes until none is left (a fixed layer can reveal the
    next mismatch downstream); returns how many were applied."""
    from shape_lsp.core.analysis.fixes import apply_fixes
    from shape_lsp.core.api import Analyzer

    analyzer, total = Analyzer(libraries=True), 0
    for f in files:
        if f.suffix.lower() == ".ipynb":
            from shape_lsp.notebook_cli import fix_notebook

            total += fix_notebook(f, settings, analyzer, MAX_FIX_PASSES)
            continue
        try:
            original = f.read_bytes().decode("utf-8")
        except (OSError, UnicodeDecodeError):
            continue  # not rewritten: we would not write it back byte for byte
        text = original
        for _ in range(MAX_FIX_PASSES):
            text, n = apply_fixes(text, analyzer.analyze(text, str(f), settings).findings)
            if not n:
                break
            total += n
        if text != original:
            f.write_bytes(text.encode("utf-8"))
    return total


def summary(args: argparse.Namespace) -> int:
    """`shape-lsp summary FILE`: a torchinfo-like table computed without running anything."""
    from shape_lsp.cli_summary import explain_unknowns
    from shape_lsp.core.analysis.summary import render_summary
    from shape_lsp.core.api import analyze

    path = Path(args.file)
    result = analyze(read_program(path), str(path), _settings(args, path.resolve()))
    models = [m for m in result.models if args.model in (None, m.name)]
    if args.model and not models:
        names = ", ".join(m.name for m in result.models) or "none found"
        print(f"shape-lsp: error: no model named {args.model!r} (models: {names})", file=sys.stderr)
        return 2
    explained = explain_unknowns(models, list(result.findings))
    if args.format == "json":
        print(
            json.dumps(
                [
                    {
                        "name": m.name,
                        "output": m.output,
                        "total_params": m.total_params,
                        "rows": [
                            {
                                "module": r.module,
                                "layer": r.layer,
                                "depth": r.depth,
                                "output": r.output,
                                "params": r.params,
                                **({"unknown_after": why} if why else {}),
                            }
                            for r, why in zip(m.rows, causes, strict=True)
                        ],
                    }
                    for m, (_, causes) in zip(models, explained, strict=True)
                ],
                indent=2,
            )
        )
    else:
        text = "\n\n".join(render_summary(m) for m, _ in explained)
        print(text or "No models found.")
    return 0
