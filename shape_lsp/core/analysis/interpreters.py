"""New interpreters for the analysis: frameworks installed, recording into a `Recorder`."""

from __future__ import annotations

from shape_lsp.core.analysis.recorder import Recorder
from shape_lsp.core.config import Settings
from shape_lsp.core.frameworks import install
from shape_lsp.core.interpreter.frame import ImportResolver
from shape_lsp.core.interpreter.interpret import Interpreter
from shape_lsp.core.source.parse import ParsedFile


def new_interpreter(
    parsed: ParsedFile,
    path: str,
    settings: Settings,
    workspace: ImportResolver | None = None,
    depth: int = 0,
) -> Interpreter:
    """An interpreter for one file, recording into a fresh Recorder, frameworks installed."""
    install()
    return Interpreter(parsed, path, settings, Recorder, workspace, depth)


def recorder_of(interp: Interpreter) -> Recorder:
    """The interpreter's recorder (always a Recorder when built by `new_interpreter`)."""
    rec = interp.rec
    assert isinstance(rec, Recorder)
    return rec
