"""What the CLI's commands share: settings from the command line and the config, file reading,
usage errors."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any


class UsageError(Exception):
    """A command-line mistake: reported on stderr, exit status 2."""


def _settings(args: argparse.Namespace, target: Path) -> Any:
    from dataclasses import replace

    from shape_lsp.core.codes import CODES
    from shape_lsp.core.config import load_settings, read_settings

    config = getattr(args, "config", None)
    if config:
        if not Path(config).is_file():
            raise UsageError(f"config file not found: {config}")
        settings, problems = read_settings(Path(config))
    else:
        settings, problems = load_settings(target)
    for msg in problems:
        print(f"shape-lsp: warning: {msg}", file=sys.stderr)
    ignore = {c.strip().upper() for c in getattr(args, "ignore", "").split(",") if c.strip()}
    select = {c.strip().upper() for c in getattr(args, "select", "").split(",") if c.strip()}
    unknown = sorted((ignore | select) - set(CODES))
    if unknown:
        raise UsageError(
            f"unknown rule code{'s' * (len(unknown) > 1)} {', '.join(unknown)} "
            f"(known: {', '.join(CODES)}; `shape-lsp rules` lists them)"
        )
    if select:
        ignore |= set(CODES) - select
    return replace(settings, ignore=settings.ignore | frozenset(ignore))


def read_program(path: Path) -> str:
    """The Python text of one FILE argument: a script, or a notebook's code cells as one
    program; a missing file or an unreadable notebook is a usage error."""
    if not path.is_file():
        raise UsageError(f"no such file: {path}")
    source = _read(path)
    if path.suffix.lower() == ".ipynb":
        from shape_lsp.notebook_cli import NotebookError, program_of

        try:
            return program_of(source).text
        except NotebookError as e:
            raise UsageError(f"{path}: {e}") from e
    return source


def _read(path: Path) -> str:
    data = path.read_bytes()
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("latin-1")
