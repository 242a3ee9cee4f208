"""Commands: `shape-lsp.verify`, `shape-lsp.summary` and the hidden `shape-lsp.debug.modules`
and `shape-lsp.debug.state`.

`shape-lsp.verify` never blocks the editor (a forward pass can take a minute, and Eglot waits
on executeCommand while lsp-mode gives up after 10 s): it answers at once with
`{"status": "started", "token", "uri", "model", "version"}`, reports work-done progress, and
when the run is over publishes the runtime findings as diagnostics and sends the result as a
`shape-lsp/verified` notification (the same object, with the token), logged too. Passing
`{"uri", "model", "wait": true}` answers with the result instead (scripts, tests)."""

from __future__ import annotations

import asyncio
import functools
import logging
import sys
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

from lsprotocol import types as lsp

from shape_lsp.server import convert, diagnostics, render
from shape_lsp.server.documents import Analysed, DocState, Verified

if TYPE_CHECKING:
    from shape_lsp.server.base import ShapeServer

log = logging.getLogger(__name__)

VERIFY = "shape-lsp.verify"
VERIFIED = "shape-lsp/verified"
SUMMARY = "shape-lsp.summary"
DEBUG_MODULES = "shape-lsp.debug.modules"
DEBUG_STATE = "shape-lsp.debug.state"

#: Replaced by tests (before `main`) with a fake verifier; None uses shape_lsp.verifier.
RUN_VERIFY: Callable[..., Any] | None = None

_verify_pool: ThreadPoolExecutor | None = None


def _run_verify() -> Callable[..., Any]:
    if RUN_VERIFY is not None:
        return RUN_VERIFY
    from shape_lsp.verifier.client import run_verify

    return run_verify


async def wait_analysed(
    server: ShapeServer, state: DocState, timeout: float = 30.0
) -> Analysed | None:
    """The analysis of the document's current version, waiting for it if needed."""
    doc = server.document(state.uri)
    want = (doc.version or 0) if doc else 0
    cur = state.current
    if cur is not None and cur.version >= want and cur.epoch >= state.epoch:
        return cur
    fut: asyncio.Future[Analysed | None] = asyncio.get_running_loop().create_future()
    state.waiters.append((want, state.epoch, fut))
    try:
        return await asyncio.wait_for(fut, timeout)
    except TimeoutError:
        return state.current


def _args(args: tuple[Any, ...]) -> tuple[str, str | None]:
    if len(args) == 1 and isinstance(args[0], dict):  # {uri, model} also accepted
        return str(args[0].get("uri", "")), args[0].get("model") or args[0].get("modelName")
    uri = str(args[0]) if args else ""
    model = args[1] if len(args) > 1 and isinstance(args[1], str) and args[1] else None
    return uri, model


def _wait(args: tuple[Any, ...]) -> bool:
    return len(args) == 1 and isinstance(args[0], dict) and args[0].get("wait") is True


def start_verify(server: ShapeServer, uri: str, model: str | None) -> dict[str, Any]:
    """Start `verify` in the background and answer at once; the result follows as a
    `shape-lsp/verified` notification (and as diagnostics)."""
    doc = server.document(uri)
    if server.docs.get(uri) is None or doc is None:
        return {"status": "error", "message": f"document not open: {uri}", "model": model}
    token = uuid.uuid4().hex
    version = doc.version or 0

    async def run() -> None:
        try:
            result = await verify(server, uri, model)
        except Exception as e:  # never lose the answer the client waits for
            log.exception("verify failed")
            result = {"status": "error", "message": f"verify failed: {e}", "model": model}
        result = {**result, "token": token, "uri": uri}
        server.protocol.notify(VERIFIED, result)
        status, message = result.get("status"), result.get("message") or ""
        server.window_log_message(
            lsp.LogMessageParams(
                type=lsp.MessageType.Info,
                message=f"shape-lsp verify {model or ''}: {status}{': ' * bool(message)}{message}",
            )
        )

    server.spawn(run())
    return {"status": "started", "token": token, "uri": uri, "model": model, "version": version}


class _Progress:
    """Work-done progress when the client supports it; a no-op otherwise."""

    def __init__(self, server: ShapeServer, title: str) -> None:
        self.server = server
        self.title = title
        self.token: str | None = None

    async def begin(self, message: str) -> None:
        win = self.server.client_capabilities.window
        if not (win and win.work_done_progress):
            return
        token = f"shape-lsp/{uuid.uuid4().hex}"
        try:
            await asyncio.wait_for(self.server.work_done_progress.create_async(token), 5.0)
        except Exception as e:
            log.info("no progress: %s", e)
            return
        self.token = token
        self.server.work_done_progress.begin(
            token, lsp.WorkDoneProgressBegin(title=self.title, message=message, cancellable=False)
        )

    def end(self, message: str) -> None:
        if self.token is not None:
            progress = self.server.work_done_progress
            progress.end(self.token, lsp.WorkDoneProgressEnd(message=message))
            progress.tokens.pop(self.token, None)  # pygls keeps every token's future forever


async def verify(server: ShapeServer, uri: str, model: str | None) -> dict[str, Any]:
    """Run the verifier on the document's current text; keep its results until it changes."""
    global _verify_pool  # noqa: PLW0603 - one lazily created pool per server process
    state = server.docs.get(uri)
    doc = server.document(uri)
    if state is None or doc is None:
        return {"status": "error", "message": f"document not open: {uri}"}
    version, text = doc.version or 0, doc.source
    source, back = text, None
    if hasattr(state, "verify_input"):  # a notebook cell: the notebook's model cells run
        source, back = state.verify_input(text)
    settings = server.settings.for_path(state.path)
    path = state.path or "<untitled>"
    progress = _Progress(server, "shape-lsp: verify shapes")
    await progress.begin(model or path)
    try:
        fn = functools.partial(
            _run_verify(),
            path,
            source=source,
            model=model,
            device=settings.verify_device,
            timeout=settings.verify_timeout,
            python=settings.verify_python,
            dims=settings.verify_dims,
            settings=settings,  # input shapes and symbols for the models it runs
        )
        if _verify_pool is None:
            _verify_pool = ThreadPoolExecutor(max_workers=2, thread_name_prefix="shape-verify")
        report = await asyncio.get_running_loop().run_in_executor(_verify_pool, fn)
    except Exception as e:  # verifier missing or broken: report, never crash
        log.exception("verify failed")
        progress.end(f"failed: {e}")
        return {
            "status": "error",
            "message": f"verify failed: {type(e).__name__}: {e}",
            "model": model,
        }
    status, message = str(getattr(report, "status", "error")), str(getattr(report, "message", ""))
    findings = tuple(getattr(report, "findings", ()))
    facts = tuple(getattr(report, "facts", ()))
    if back is not None:
        findings, facts = back(findings, facts)
    progress.end(message or status)
    current = server.document(uri)
    kept = (
        current is not None and (current.version or 0) == version and server.docs.get(uri) is state
    )
    if kept:
        lines = convert.split_lines(text)
        state.verified = Verified(
            version,
            model,
            status,
            message,
            findings,
            facts,
            tuple(convert.diagnostic(uri, lines, f, server.encoding) for f in findings),
        )
        if server.pull_diagnostics:
            server.request_refresh()
        elif state.current is not None and state.current.version == version:
            diagnostics.publish(server, state)
        server.refresh_views(lenses=False, hints=True)  # hint tooltips show runtime shapes
    return {
        "status": status,
        "message": message,
        "model": model,
        "version": version,
        "kept": kept,
        "findings": [
            {
                "code": f.code,
                "message": f.message,
                "line": f.span.start_line,
                "severity": f.severity.label,
            }
            for f in findings
        ],
        "facts": len(facts),
    }


async def summary(server: ShapeServer, uri: str, model: str | None) -> dict[str, Any]:
    """The static summary table(s) of the document's models as markdown and text."""
    state = server.docs.get(uri)
    if state is None:
        return {"markdown": "", "text": "", "error": f"document not open: {uri}"}
    snap = await wait_analysed(server, state)
    if snap is not None and not snap.result.models and state.last_good is not None:
        snap = state.last_good
    models = [
        m for m in (snap.result.models if snap else ()) if model in (None, m.name, m.variable)
    ]
    if not models:
        return {
            "markdown": "",
            "text": "",
            "error": f"no model {model or ''} found".replace("  ", " "),
        }
    return {
        "markdown": "\n\n".join(render.summary_markdown(m) for m in models),
        "text": "\n\n".join(render.summary_text(m) for m in models),
    }


def register(server: ShapeServer) -> None:
    """Register the workspace/executeCommand commands."""

    @server.command(VERIFY)
    @server.guarded(VERIFY, lambda: {"status": "error", "message": "internal error"})
    async def verify_cmd(*args: Any) -> dict[str, Any]:
        uri, model = _args(args)
        if _wait(args):
            return await verify(server, uri, model)
        return start_verify(server, uri, model)

    @server.command(SUMMARY)
    @server.guarded(SUMMARY, lambda: {"markdown": "", "text": "", "error": "internal error"})
    async def summary_cmd(*args: Any) -> dict[str, Any]:
        uri, model = _args(args)
        return await summary(server, uri, model)

    @server.command(DEBUG_MODULES)
    def debug_modules(*args: Any) -> dict[str, Any]:
        mods = sys.modules
        return {
            "torch": "torch" in mods,
            "libcst": "libcst" in mods,
            "engine": "shape_lsp.core.api" in mods,
            "count": len(mods),
            "top": sorted({m.split(".")[0] for m in mods}),
        }

    @server.command(DEBUG_STATE)
    def debug_state(*args: Any) -> dict[str, Any]:
        """The server's bookkeeping, for tests of long sessions: none of it may grow."""
        proto = server.protocol
        return {
            "request_futures": len(proto._request_futures),
            "pending_futures": sum(not f.done() for f in proto._request_futures.values()),
            "result_types": len(proto._result_types),
            "tasks": len(server._tasks),
            "documents": len(server.workspace.text_documents),
            "states": len(server.docs),
            "waiters": sum(len(st.waiters) for st in server.docs.values()),
            "logged": len(server._logged),
            "progress_tokens": len(server.work_done_progress.tokens),
            "stdin_reader": server.stdin_reader,
        }
