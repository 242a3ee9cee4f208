"""`shape-lsp graph FILE`: the model's data-flow graph with shapes, drawn without running it."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from shape_lsp.graph import DEFAULT_DEPTH, FORMATS, GraphvizMissing, pick, render


def add_parser(sub: Any) -> None:
    """The `graph` subcommand's arguments."""
    g = sub.add_parser("graph", help="draw a model's graph with shapes (the failing layer in red)")
    g.add_argument("file")
    g.add_argument("--model", help="which model (default: the first one found)")
    g.add_argument(
        "--depth",
        type=int,
        default=DEFAULT_DEPTH,
        help=f"collapse module calls nested deeper than this (default {DEFAULT_DEPTH}; -1: all)",
    )
    g.add_argument("--format", choices=FORMATS, default="dot", help="svg and html use Graphviz")
    g.add_argument("-o", "--output", help="write here instead of stdout")
    g.add_argument("--config", help="pyproject.toml to read [tool.shape-lsp] from")


def graph(args: argparse.Namespace) -> int:
    """Analyse FILE and print (or write) one model's graph."""
    from shape_lsp.cli_common import _settings, read_program
    from shape_lsp.core.api import analyze

    path = Path(args.file)
    result = analyze(read_program(path), str(path), _settings(args, path.resolve()))
    models = list(result.models)
    model = pick(models, args.model)
    if model is None:
        names = ", ".join(m.name for m in models) or "none found"
        what = f"no model named {args.model!r}" if args.model else "no model to draw"
        print(f"shape-lsp: error: {what} (models: {names})", file=sys.stderr)
        return 2
    others = [m.name for m in models if m is not model and m.graph is not None]
    if others and not args.model:
        print(
            f"shape-lsp: drawing {model.name} (also: {', '.join(others)}; pick with --model)",
            file=sys.stderr,
        )
    try:
        text = render(model, args.format, None if args.depth < 0 else args.depth)
    except GraphvizMissing as e:
        print(f"shape-lsp: error: {e}", file=sys.stderr)
        return 2
    except (RuntimeError, OSError) as e:
        print(f"shape-lsp: error: {e}", file=sys.stderr)
        return 2
    if args.output:
        Path(args.output).write_text(text, encoding="utf-8")
    else:
        sys.stdout.write(text)
    return 0
