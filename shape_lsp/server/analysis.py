"""Analysis off the event loop: one worker thread, latest snapshot wins, stale results dropped.

Per document a single task loops while the document is dirty: (optional debounce) -> take
the current text and version -> analyse in the worker -> if the document moved on meanwhile,
drop the result and go again; else store it, wake pull requests and publish. A burst of edits
therefore skips intermediate versions but always ends with the last one.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import threading
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

from shape_lsp.core.config import Settings
from shape_lsp.core.types import AnalysisResult
from shape_lsp.server import convert
from shape_lsp.server.documents import Analysed, DocState

if TYPE_CHECKING:
    from shape_lsp.server.app import ShapeServer

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


def _lenses(snap: Analysed | None) -> object:
    """What the code lenses of a snapshot depend on (one per model, at its line)."""
    if snap is None:
        return None
    return [(m.name, m.span.start_line, m.span.start_col) for m in snap.result.models]


def _hints(snap: Analysed | None) -> object:
    """What the inlay hints of a snapshot depend on."""
    return None if snap is None else (snap.settings.inlay_hints, snap.result.facts)


IDLE_TRIM_S = 1.0


def _malloc_trim() -> None:
    """Give the C heap's free pages back to the OS (glibc only; a no-op elsewhere): the
    analyses of freshly opened files free a lot, and glibc keeps it (about 18 MB of RSS after
    opening 20 model files). About 2 ms; run in the worker when the server is idle."""
    global _libc  # noqa: PLW0603 - loaded once, on first use
    if _libc is None:
        import ctypes
        import ctypes.util

        try:
            _libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
            _libc.malloc_trim  # noqa: B018 - AttributeError where it does not exist
        except (OSError, AttributeError):
            _libc = False
    if _libc:
        _libc.malloc_trim(0)


_libc: Any = None


def trim_when_idle(server: ShapeServer) -> None:
    """(Re)arm a timer that trims the heap once no analysis ran for IDLE_TRIM_S."""
    if server.trim_timer is not None:
        server.trim_timer.cancel()
    loop = asyncio.get_running_loop()

    def fire() -> None:
        server.trim_timer = None
        loop.run_in_executor(server.engine.executor, _malloc_trim)

    server.trim_timer = loop.call_later(IDLE_TRIM_S, fire)


def schedule(server: ShapeServer, state: DocState, *, force: bool = False) -> None:
    """Mark a document for (re-)analysis; `force` re-analyses an unchanged version too."""
    if force:
        state.epoch += 1
    state.dirty = True
    if state.task is None or state.task.done():
        state.task = server.spawn(_run(server, state))


async def _run(server: ShapeServer, state: DocState) -> None:
    loop = asyncio.get_running_loop()
    try:
        while state.dirty:
            state.dirty = False
            if not server.config_ready.is_set():
                try:
                    await asyncio.wait_for(server.config_ready.wait(), 2.0)
                except TimeoutError:
                    server.config_ready.set()
            settings = server.settings.for_path(state.path)
            if settings.debounce_ms:
                await asyncio.sleep(settings.debounce_ms / 1000)
                state.dirty = False
            doc = server.document(state.uri)
            if doc is None or server.docs.get(state.uri) is not state:
                return
            version, epoch, text = doc.version or 0, state.epoch, doc.source
            cur = state.current
            if cur is not None and cur.version == version and cur.epoch == epoch:
                continue
            job = functools.partial(
                server.engine.analyze,
                state.uri,
                version,
                text,
                epoch=epoch,
                path=state.path or "<untitled>",
                settings=settings,
                encoding=server.encoding,
            )
            analysed = await loop.run_in_executor(server.engine.executor, job)
            if server.docs.get(state.uri) is not state:
                return
            if (doc.version or 0) != version or state.epoch != epoch:
                log.debug("dropping stale analysis of %s v%d", state.uri, version)
                state.dirty = True
                continue
            _store(server, state, analysed, version_changed=cur is None or cur.version != version)
            trim_when_idle(server)
    except asyncio.CancelledError:
        raise
    except Exception:
        log.exception("analysis loop for %s failed", state.uri)
        server.log_client(f"shape-lsp: analysis of {state.uri} failed; see the server log")


def _store(
    server: ShapeServer, state: DocState, analysed: Analysed, *, version_changed: bool
) -> None:
    old = state.current
    server.refresh_views(
        lenses=_lenses(old) != _lenses(analysed), hints=_hints(old) != _hints(analysed)
    )
    state.current = analysed
    if analysed.result.parsed:
        state.last_good = analysed
    if state.verified is not None and state.verified.version != analysed.version:
        state.verified = None
    state.resolve_waiters()
    for err in analysed.result.internal_errors:
        server.log_client(f"shape-lsp internal error in {state.path}: {err}")
    from shape_lsp.server import diagnostics

    diagnostics.publish(server, state)
    if not version_changed:
        server.request_refresh()
    else:
        server.on_analysed(state)
