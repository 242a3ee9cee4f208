"""Running one file: the module pass, then every entry point (models, factories, examples)."""

from __future__ import annotations

from shape_lsp.core.analysis import library_hooks
from shape_lsp.core.analysis.entry_points import analyze_models
from shape_lsp.core.analysis.interpreters import new_interpreter
from shape_lsp.core.config import Settings
from shape_lsp.core.interpreter.frame import ImportResolver
from shape_lsp.core.results import AnalysisResult
from shape_lsp.core.source.parse import ParsedFile


def run_file(
    parsed: ParsedFile, path: str, settings: Settings, workspace: ImportResolver | None = None
) -> AnalysisResult:
    """Module pass (imports, constants, classes, example calls), then every model."""
    library_hooks.register()
    interp = new_interpreter(parsed, path, settings, workspace)
    interp.module_pass()
    analyze_models(interp)
    return interp.rec.result(path)
