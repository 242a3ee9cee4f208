"""The analysis core behind one worker thread, imported lazily (libcst is slow to import)."""

from __future__ import annotations

import logging
import threading
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

from shape_lsp.core.config import Settings
from shape_lsp.core.results import AnalysisResult
from shape_lsp.server import convert
from shape_lsp.server.documents import Analysed

log = logging.getLogger(__name__)


class Engine:
    """The analysis core behind a single worker thread; imported lazily (libcst is slow)."""

    def __init__(self) -> None:
        self.executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="shape-analysis")
        self._analyzer: Any = None
        self._lock = threading.Lock()

    def warm_up(self) -> Future[None]:
        """Import the core (libcst included) in the worker, after `initialize` is answered."""
        return self.executor.submit(self._load)

    def _load(self) -> Any:
        with self._lock:
            if self._analyzer is None:
                from shape_lsp.core.api import Analyzer

                self._analyzer = Analyzer(libraries=True)
                log.info("analysis engine loaded")
        return self._analyzer

    def forget(self, path: str | None) -> None:
        """A closed document: imports of it read the disk again (runs in the worker)."""
        if path:
            self.executor.submit(lambda: self._analyzer and self._analyzer.set_source(path, None))

    def analyze(
        self,
        uri: str,
        version: int,
        text: str,
        *,
        epoch: int,
        path: str,
        settings: Settings,
        encoding: str,
    ) -> Analysed:
        """Analyse a snapshot (runs in the worker thread); never raises."""
        lines = convert.split_lines(text)
        try:
            analyzer = self._load()
            if path and not path.startswith("<"):
                analyzer.set_source(path, text)  # other files importing this one see the buffer
            result = analyzer.analyze(text, path, settings)
        except Exception as e:  # the core promises not to raise; keep serving if it does
            log.exception("analysis of %s failed", path)
            result = AnalysisResult(path, parsed=False, internal_errors=(repr(e),))
        diagnostics = tuple(convert.diagnostic(uri, lines, f, encoding) for f in result.findings)
        return Analysed(version, epoch, text, lines, result, settings, diagnostics)
