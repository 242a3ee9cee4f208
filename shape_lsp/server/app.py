"""The server object: shared state, client logging, error reporting, feature registration."""

from __future__ import annotations

import asyncio
import functools
import logging
import sys
import time
from collections.abc import Callable, Coroutine, Generator
from typing import Any, BinaryIO, TypeVar
from urllib.parse import unquote

from lsprotocol import types as lsp
from pygls.exceptions import JsonRpcException
from pygls.lsp.server import LanguageServer
from pygls.protocol import LanguageServerProtocol
from pygls.protocol.language_server import lsp_method
from pygls.workspace import TextDocument

from shape_lsp import __version__
from shape_lsp.server import notebook, textsync
from shape_lsp.server.analysis import Engine, schedule
from shape_lsp.server.documents import DocState
from shape_lsp.server.settings import SettingsStore

log = logging.getLogger(__name__)

F = TypeVar("F", bound=Callable[..., Any])

LOG_REPEAT_S = 30.0
#: Past this many remembered messages, those older than LOG_REPEAT_S are forgotten.
LOG_MEMORY = 256
#: `_request_futures` is pruned of finished futures whenever it reaches this size (or twice
#: what the last pruning left).
PRUNE_MIN = 64


class ShapeProtocol(LanguageServerProtocol):
    """pygls' protocol, with three fixes:

    - didChange applies edits with the LSP's line breaks, and faster (see `textsync`);
    - a request whose params do not deserialize gets an InvalidParams error back (pygls only
      logs it, and the client would wait for an answer forever);
    - finished handler futures are forgotten. pygls files the future of every generator
      handler (didOpen/didChange/didClose, executeCommand) and of every handler that such a
      generator calls under a fresh uuid in `_request_futures`, and only a request's own id
      is ever removed: each didChange left a future behind (about 1.7 KB; 17 MB over a
      10,000-edit typing storm).
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._prune_at = PRUNE_MIN

    def handle_message(self, message: Any) -> None:
        """Handle a message, then drop finished futures (amortised: when the table doubled)."""
        super().handle_message(message)
        if len(self._request_futures) >= self._prune_at:
            self.prune_futures()

    def prune_futures(self) -> None:
        """Forget finished futures; pending ones stay (cancellation and shutdown use them)."""
        futures = self._request_futures
        for msg_id in [k for k, fut in futures.items() if fut.done()]:
            del futures[msg_id]
        self._prune_at = max(PRUNE_MIN, 2 * len(futures))

    def _handle_cancel_notification(self, msg_id: Any) -> None:
        # A request answered before its $/cancelRequest arrived is the normal case (pygls
        # warns on stderr for each one).
        if msg_id not in self._request_futures:
            log.debug("cancel for %r: already answered", msg_id)
            return
        super()._handle_cancel_notification(msg_id)

    @lsp_method(lsp.TEXT_DOCUMENT_DID_CHANGE)
    def lsp_text_document__did_change(
        self, params: lsp.DidChangeTextDocumentParams
    ) -> Generator[Any, Any, None]:
        """Apply the changes (see `textsync`: LSP line breaks only, no whole-text rebuild),
        then call the server's didChange handler."""
        doc = self.workspace.text_documents.get(unquote(params.text_document.uri))
        if doc is None:
            log.warning("didChange for a document that is not open: %s", params.text_document.uri)
        else:
            text = doc.source
            encoding = getattr(self._server, "encoding", "utf-16")
            for change in params.content_changes:
                text = textsync.apply_change(text, change, encoding)
            doc.apply_change(lsp.TextDocumentContentChangeWholeDocument(text=text))
            doc.version = params.text_document.version
        if (handler := self.fm.features.get(lsp.TEXT_DOCUMENT_DID_CHANGE)) is not None:
            yield handler, (params,), None

    def structure_message(self, data: dict[str, Any]) -> Any:
        """Deserialize; answer malformed requests instead of dropping them."""
        try:
            return super().structure_message(data)
        except JsonRpcException as exc:
            if isinstance(data, dict) and "id" in data and "method" in data:
                log.warning("invalid params for %s: answering with an error", data["method"])
                self._send_response(data["id"], error=exc.to_response_error())
            raise


class ShapeServer(LanguageServer):
    """pygls server holding the open documents, settings and the analysis engine."""

    def __init__(self) -> None:
        super().__init__(
            "shape-lsp",
            __version__,
            protocol_cls=ShapeProtocol,
            text_document_sync_kind=lsp.TextDocumentSyncKind.Incremental,
            notebook_document_sync=notebook.SYNC_OPTIONS,
        )
        self.docs: dict[str, DocState] = {}
        self.engine = Engine()
        self.settings = SettingsStore(lambda m: self.log_client(m, lsp.MessageType.Warning))
        self.pull_diagnostics = False
        self.config_pull = False
        self.encoding = "utf-16"
        self._config_ready: asyncio.Event | None = None
        self._logged: dict[str, float] = {}
        self._refresh_pending = False
        self._views_pending: set[str] = set()
        self._dependents_task: asyncio.Task[None] | None = None
        self._changed_modules: set[str] = set()
        self._tasks: set[asyncio.Task[None]] = set()
        self.trim_timer: asyncio.TimerHandle | None = None
        self.stdin_reader = "pygls"

    # -- plumbing -----------------------------------------------------------------------

    def start_io(self, stdin: BinaryIO | None = None, stdout: BinaryIO | None = None) -> None:
        """Serve over stdio; a stdin pipe is read on the event loop (see `stdio`)."""
        from shape_lsp.server import stdio

        stdin = stdin or sys.stdin.buffer
        stdout = stdout or sys.stdout.buffer
        if stdio.loop_readable(stdin, stdout):
            self.stdin_reader = "event loop"
            stdio.start(self, stdin, stdout)
        else:
            super().start_io(stdin, stdout)

    @property
    def config_ready(self) -> asyncio.Event:
        """Set once client settings are known (or given up on)."""
        if self._config_ready is None:
            self._config_ready = asyncio.Event()
        return self._config_ready

    def report_server_error(self, error: Exception, source: Any) -> None:
        """Log handler failures (and tell the client's log, rate-limited); never pop up."""
        log.error("server error (%s): %s", getattr(source, "__name__", source), error)
        self.log_client(f"shape-lsp error: {error}", lsp.MessageType.Error)

    def log_client(self, message: str, level: lsp.MessageType = lsp.MessageType.Warning) -> None:
        """window/logMessage, the same text at most once per LOG_REPEAT_S; safe off-loop."""
        now = time.monotonic()
        if now - self._logged.get(message, -1e9) < LOG_REPEAT_S:
            return
        if len(self._logged) >= LOG_MEMORY:  # messages carry varying text: forget old ones
            self._logged = {m: t for m, t in self._logged.items() if now - t < LOG_REPEAT_S}
        self._logged[message] = now
        try:
            self.window_log_message(lsp.LogMessageParams(type=level, message=message))
        except Exception:  # no transport yet / closed
            log.debug("could not send log message", exc_info=True)

    def guarded(self, feature: str, default: Callable[[], Any]) -> Callable[[F], F]:
        """Wrap a handler so a failure is logged and answered with `default()`."""

        def deco(fn: F) -> F:
            if asyncio.iscoroutinefunction(fn):

                @functools.wraps(fn)
                async def awrapper(*args: Any, **kwargs: Any) -> Any:
                    try:
                        return await fn(*args, **kwargs)
                    except asyncio.CancelledError:
                        raise
                    except Exception as e:
                        self._feature_failed(feature, e)
                        return default()

                return awrapper  # type: ignore[return-value]

            @functools.wraps(fn)
            def wrapper(*args: Any, **kwargs: Any) -> Any:
                try:
                    return fn(*args, **kwargs)
                except Exception as e:
                    self._feature_failed(feature, e)
                    return default()

            return wrapper  # type: ignore[return-value]

        return deco

    def _feature_failed(self, feature: str, e: Exception) -> None:
        log.exception("%s failed", feature)
        self.log_client(
            f"shape-lsp: {feature} failed: {type(e).__name__}: {e}", lsp.MessageType.Error
        )

    def spawn(self, coro: Coroutine[Any, Any, None]) -> asyncio.Task[None]:
        """Start a background task on the loop, keeping a reference until it finishes."""
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    # -- documents ----------------------------------------------------------------------

    def document(self, uri: str) -> TextDocument | None:
        """The open document at `uri`, None when not open. pygls files documents under the
        unquoted URI (`file:///c%3A/x%20y.py` as `file:///c:/x y.py`), as clients send them
        quoted: looking them up by the URI as sent misses every path with a space, a
        non-ASCII letter or (VS Code on Windows) a drive letter."""
        doc: TextDocument | None = self.workspace.text_documents.get(unquote(uri))
        return doc

    def analyse(self, uri: str, *, force: bool = False) -> None:
        """Schedule analysis of an open document."""
        state = self.docs.get(uri)
        if isinstance(state, notebook.CellState):
            state.analyse_instead(force)  # a cell is analysed with its notebook
        elif state is not None:
            schedule(self, state, force=force)

    def reanalyse_all(self) -> None:
        """Re-analyse every open document (settings changed)."""
        for uri in list(self.docs):
            self.analyse(uri, force=True)

    def request_refresh(self) -> None:
        """Ask a pulling client to re-pull diagnostics (coalesced per loop iteration)."""
        if not self.pull_diagnostics or self._refresh_pending:
            return
        ws = self.client_capabilities.workspace
        if not (ws and ws.diagnostics and ws.diagnostics.refresh_support):
            return
        self._refresh_pending = True

        def send() -> None:
            self._refresh_pending = False
            self.workspace_diagnostic_refresh(None)

        asyncio.get_running_loop().call_soon(send)

    def refresh_views(self, *, lenses: bool, hints: bool) -> None:
        """Ask the client to re-request code lenses and/or inlay hints, where it supports the
        refresh: it asks for them when a file opens, before the analysis is there, and would
        otherwise show none until the next edit. Coalesced per loop iteration."""
        ws = self.client_capabilities.workspace
        want = set()
        if lenses and ws and ws.code_lens and ws.code_lens.refresh_support:
            want.add("lens")
        if hints and ws and ws.inlay_hint and ws.inlay_hint.refresh_support:
            want.add("hint")
        if not want - self._views_pending:
            return
        first = not self._views_pending
        self._views_pending |= want
        if not first:
            return

        def send() -> None:
            pending, self._views_pending = self._views_pending, set()
            if "lens" in pending:
                self.workspace_code_lens_refresh(None)
            if "hint" in pending:
                self.workspace_inlay_hint_refresh(None)

        asyncio.get_running_loop().call_soon(send)

    def on_analysed(self, state: DocState) -> None:
        """A new version was analysed: re-analyse open documents that import it (debounced)."""
        from shape_lsp.server import sync

        sync.dependents_changed(self, state)


def build_server() -> ShapeServer:
    """A server with every feature registered."""
    from shape_lsp.server import (
        actions,
        commands,
        configuration,
        graph_command,
        hover,
        inlay,
        lens,
        sync,
    )

    server = ShapeServer()
    for module in (
        configuration,
        sync,
        notebook,
        hover,
        inlay,
        actions,
        lens,
        commands,
        graph_command,
    ):
        module.register(server)
    return server
