"""The core's entry point: `analyze(source, path, settings) -> AnalysisResult`.

`Analyzer` keeps the parse cache (per top-level chunk) between calls; the CLI uses one for
a run and the server one for its lifetime. Nothing here imports torch or the LSP stack.
"""

from __future__ import annotations

import logging
import re
from dataclasses import replace

from shape_lsp.core.analysis.library_modules import EnvironmentStore
from shape_lsp.core.analysis.workspace import Workspace
from shape_lsp.core.config import Settings
from shape_lsp.core.results import AnalysisResult, Finding, Span
from shape_lsp.core.source.parse import ParseCache, parse_file

log = logging.getLogger(__name__)

_SUPPRESS = re.compile(r"#\s*shape:\s*ignore(?:\[(?P<codes>[A-Za-z0-9_,\s]+)\])?")


class Analyzer:
    """Analyses files, reusing parsed chunks across calls (and across files)."""

    def __init__(self, cache_size: int = 4096, libraries: bool = False) -> None:
        """`libraries`: resolve imports through the user's environment (environment.py),
        found from each analysed file's project; off, only project files resolve."""
        self.cache = ParseCache(cache_size)
        self.workspace = Workspace(self.cache)
        self.environments = EnvironmentStore() if libraries else None

    def set_source(self, path: str, text: str | None) -> None:
        """An open editor buffer's text for `path` (None when closed), for imports of it."""
        self.workspace.set_source(path, text)

    def analyze(
        self, source: str, path: str = "<string>", settings: Settings | None = None
    ) -> AnalysisResult:
        """Analyse one file's text; never raises for bad input."""
        from shape_lsp.core.analysis.run import run_file

        settings = settings or Settings()
        if self.environments is not None:
            self.workspace.libraries = self.environments.for_file(path, settings)
        parsed = parse_file(source, self.cache, origin=path)
        findings: list[Finding] = [
            Finding(
                "SH002" if p.python_accepts else "SH001",
                settings.severity_of("SH002" if p.python_accepts else "SH001"),
                _problem_span(p.line, p.col, parsed.lines),
                f"not analysed: {p.message} (Python accepts it; it is too deep for this parser)"
                if p.python_accepts
                else f"syntax error: {p.message}",
            )
            for p in parsed.problems
        ]
        result = run_file(parsed, path, settings, self.workspace)
        if self.workspace.libraries is not None:
            self.workspace.libraries.flush()  # library parses for the next process
        findings.extend(result.findings)
        kept = tuple(
            sorted(
                (
                    replace(f, severity=settings.severity_of(f.code))
                    if f.code in settings.severity
                    else f
                    for f in findings
                    if settings.enabled(f.code) and not _suppressed(f, parsed.lines)
                ),
                key=lambda f: (f.span, f.code),
            )
        )
        return replace(result, path=path, findings=kept, parsed=not parsed.problems)


def _problem_span(line: int, col: int, lines: list[str]) -> Span:
    """One character at a syntax problem, kept inside the text (Python places errors at the
    end of the input one or two columns past the last character)."""
    if not lines:
        return Span(0, 0, 0, 0)
    line = min(max(line, 0), len(lines) - 1)
    text = lines[line].rstrip("\r\n")
    col = min(max(col, 0), max(len(text) - 1, 0))
    return Span(line, col, line, min(col + 1, len(text)))


def _suppressed(f: Finding, lines: list[str]) -> bool:
    """`# shape: ignore` or `# shape: ignore[SH101, ...]` on the finding's first line."""
    if not 0 <= f.span.start_line < len(lines):
        return False
    m = _SUPPRESS.search(lines[f.span.start_line])
    if m is None:
        return False
    codes = m.group("codes")
    return codes is None or f.code in {c.strip().upper() for c in codes.split(",")}


_default: Analyzer | None = None


def analyze(
    source: str, path: str = "<string>", settings: Settings | None = None
) -> AnalysisResult:
    """Analyse with a process-wide Analyzer."""
    global _default  # noqa: PLW0603 - one lazily built cache per process
    if _default is None:
        _default = Analyzer()
    return _default.analyze(source, path, settings)
