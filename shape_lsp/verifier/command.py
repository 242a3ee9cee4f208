"""`shape-lsp verify FILE ...`: run the model for real and print where runtime and static differ.

Exit status: 0 when everything agrees, 1 on a mismatch or an error, 2 on a usage error
(bad arguments, a file that does not exist, an input shape of the wrong rank).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any, TextIO

from shape_lsp.core.results import Finding
from shape_lsp.verifier.client import run_verify
from shape_lsp.verifier.diff import render
from shape_lsp.verifier.protocol import VerifyReport

DEVICES = ("auto", "cpu", "cuda", "mps", "meta")


def _shape_arg(text: str) -> tuple[int, ...]:
    try:
        dims = tuple(int(d) for d in text.split(",") if d.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r}: expected comma-separated positive integers, e.g. 2,3,32,32"
        ) from None
    if not dims or any(d < 1 for d in dims):
        raise argparse.ArgumentTypeError(f"{text!r}: dims must be positive integers")
    return dims


def _dim_arg(text: str) -> tuple[str, int]:
    name, _, value = text.partition("=")
    if not name.isidentifier() or not value.isdigit() or int(value) < 1:
        raise argparse.ArgumentTypeError(f"{text!r}: expected SYMBOL=SIZE, e.g. H=64")
    return name, int(value)


def parser() -> argparse.ArgumentParser:
    """The argument parser of `shape-lsp verify`."""
    p = argparse.ArgumentParser(
        prog="shape-lsp verify",
        description="Run the model once (in a subprocess) and compare each layer's runtime "
        "output shape with the static one.",
    )
    p.add_argument("file", help="Python file defining the model")
    p.add_argument("--model", help="model class or module-level variable to run (default: all)")
    p.add_argument(
        "--input-shape",
        action="append",
        type=_shape_arg,
        metavar="2,3,32,32",
        help="input shape, once per forward() input (default: inferred)",
    )
    p.add_argument("--ctor", help="constructor expression, e.g. 'Net(num_classes=10)'")
    p.add_argument(
        "--dim",
        action="append",
        type=_dim_arg,
        default=[],
        metavar="SYM=N",
        help="size of a symbolic dim, e.g. B=4 or H=64 (repeatable)",
    )
    p.add_argument(
        "--device",
        choices=DEVICES,
        help="where to run (default: auto = cuda, mps, "
        "cpu; meta allocates nothing and falls back to cpu for data-dependent ops)",
    )
    p.add_argument("--timeout", type=float, help="seconds before the run is killed (default 60)")
    p.add_argument("--python", help="interpreter with torch and the model's imports")
    p.add_argument("--format", choices=("text", "json"), default="text")
    return p


def main(argv: list[str] | None = None, out: TextIO | None = None) -> int:
    """Run `verify`; returns the exit status."""
    out = out or sys.stdout
    try:
        args = parser().parse_args(argv)
    except SystemExit as e:
        return 0 if e.code == 0 else 2
    if not os.path.isfile(args.file):
        print(f"shape-lsp verify: {args.file}: no such file", file=sys.stderr)
        return 2
    if args.timeout is not None and args.timeout <= 0:
        print("shape-lsp verify: --timeout must be positive", file=sys.stderr)
        return 2
    from shape_lsp.core.config import load_settings

    settings, problems = load_settings(Path(args.file).resolve())
    for problem in problems:
        print(f"shape-lsp verify: {problem}", file=sys.stderr)
    nb = None  # a notebook: its model cells as one program (shape_lsp.notebook_verify)
    if args.file.lower().endswith(".ipynb"):
        from shape_lsp.notebook_verify import NotebookError, prepare

        try:
            nb = prepare(Path(args.file).read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, NotebookError) as e:
            print(f"shape-lsp verify: {args.file}: {e}", file=sys.stderr)
            return 2
    report = run_verify(
        args.file,
        source=nb.program.text if nb else None,
        model=args.model,
        input_shapes=args.input_shape,
        device=args.device,
        timeout=args.timeout,
        python=args.python,
        dims=dict(args.dim) or None,
        ctor=args.ctor,
        settings=settings,
    )
    if args.format == "json":
        doc = to_json(report, args.file)
        if nb is not None:
            from shape_lsp.notebook_verify import to_json as cells_json

            doc = cells_json(doc, nb)
        json.dump(doc, out, indent=2)
        out.write("\n")
    elif nb is not None:
        from shape_lsp.notebook_verify import write

        write(report, args.file, nb, out, write_text)
    else:
        write_text(report, args.file, out)
    return exit_code(report)


def exit_code(report: VerifyReport) -> int:
    """0 ok, 2 for a bad input shape the user gave, 1 otherwise."""
    if report.status == "ok":
        return 0
    if any(m.error is not None and m.error.phase == "inputs" for m in report.models):
        return 2
    return 1


def diagnostic(f: Finding) -> dict[str, Any]:
    """A finding in `check`'s JSON form (1-based lines and columns)."""
    return {
        "line": f.span.start_line + 1,
        "column": f.span.start_col + 1,
        "end_line": f.span.end_line + 1,
        "end_column": f.span.end_col + 1,
        "severity": f.severity.label,
        "code": f.code,
        "message": f.message,
        "source": f.source,
    }


def to_json(report: VerifyReport, path: str) -> dict[str, Any]:
    """The `--format json` document (version 1)."""
    models = []
    for m in report.models:
        err = None
        if m.error is not None:
            e = m.error
            err = {
                "line": e.line,
                "module": e.module,
                "layer": e.layer,
                "input_shapes": e.input_shapes,
                "message": e.message,
                "exc_type": e.exc_type,
                "phase": e.phase,
            }
        models.append(
            {
                "name": m.name,
                "device": m.device,
                "inputs": m.inputs,
                "calls": [
                    {
                        "module": c.module,
                        "line": c.line,
                        "layer": c.layer,
                        "output": c.output,
                        "dtype": c.dtype,
                        "static_output": list(c.static_output) if c.static_output else None,
                        "agrees": c.agrees,
                    }
                    for c in m.calls
                ],
                "error": err,
            }
        )
    return {
        "version": 1,
        "path": path,
        "status": report.status,
        "device": report.device,
        "dtype": report.dtype,
        "message": report.message,
        "models": models,
        "diagnostics": [diagnostic(f) for f in report.findings],
        "stdout": report.stdout,
        "stderr": report.stderr,
        "ran": report.ran,
        "skipped": [
            {"line": k.line, "end_line": k.end_line, "code": k.code, "reason": k.reason}
            for k in report.skipped
        ],
    }


def write_text(report: VerifyReport, path: str, out: TextIO) -> None:
    """ruff-like lines for findings, then a per-module table for each model."""
    for f in sorted(report.findings, key=lambda f: f.span):
        out.write(f"{path}:{f.span.start_line + 1}:{f.span.start_col + 1}: {f.code} {f.message}\n")
    for m in report.models:
        if not m.calls:
            continue
        inputs = ", ".join(render(s) for s in m.inputs)
        out.write(f"\n{m.name} on {m.device or report.device}, input {inputs}\n")
        rows = [("module", "layer", "line", "runtime", "dtype", "static", "")]
        for c in m.calls:
            mark = {True: "ok", False: "DIFFERS", None: "-"}[c.agrees]
            rows.append(
                (
                    c.module or "(model)",
                    c.layer,
                    str(c.line or ""),
                    render(c.output),
                    c.dtype or "",
                    render(c.static_output),
                    mark,
                )
            )
        widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
        for r in rows:
            out.write(
                "  " + "  ".join(v.ljust(w) for v, w in zip(r, widths, strict=True)).rstrip() + "\n"
            )
    if report.ran or report.skipped:
        out.write("\n" + slice_text(report) + "\n")
    where = ", ".join(x for x in (report.device, report.dtype) if x) or "no device"
    out.write(f"\nverify {report.status} ({where}): {report.message}\n")
    if report.status in ("crashed", "timeout") and report.stderr.strip():
        out.write("agent stderr (tail):\n" + report.stderr.strip()[-1500:] + "\n")


def _lines(first: int, last: int) -> str:
    return f"line {first}" if first == last else f"lines {first}-{last}"


def slice_text(report: VerifyReport, limit: int = 6) -> str:
    """What of the file ran (verify runs only what the models need) and what was skipped."""
    ran = ", ".join(str(a) if a == b else f"{a}-{b}" for a, b in report.ran) or "nothing"
    text = f"ran lines {ran} (imports, definitions and what the models use)"
    if not report.skipped:
        return text + "; skipped nothing"
    shown = [f"{_lines(k.line, k.end_line)} `{k.code}`" for k in report.skipped[:limit]]
    more = len(report.skipped) - limit
    return (
        f"{text}; skipped {len(report.skipped)} statement(s): "
        + ", ".join(shown)
        + (f" and {more} more" if more > 0 else "")
    )


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
