"""initialize / initialized / configuration: capabilities negotiated, settings gathered."""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING, Any

from lsprotocol import types as lsp

from shape_lsp.server import diagnostics
from shape_lsp.server.settings import SECTION

if TYPE_CHECKING:
    from shape_lsp.server.base import ShapeServer

log = logging.getLogger(__name__)


def _encoding(value: Any) -> str:
    text = getattr(value, "value", value)
    return text if text in ("utf-8", "utf-16", "utf-32") else "utf-16"


async def pull_configuration(server: ShapeServer) -> bool:
    """Ask the client for the `shape-lsp` section; True when the settings changed."""
    try:
        result = await asyncio.wait_for(
            server.workspace_configuration_async(
                lsp.ConfigurationParams(items=[lsp.ConfigurationItem(section=SECTION)])
            ),
            5.0,
        )
    except Exception as e:
        log.warning("workspace/configuration failed: %s", e)
        return False
    value = result[0] if result else None
    if value is None:
        return False
    return server.settings.set_client({SECTION: value} if isinstance(value, dict) else value)


def register(server: ShapeServer) -> None:
    """Register the lifecycle and configuration handlers."""

    @server.feature(lsp.INITIALIZE)
    def initialize(params: lsp.InitializeParams) -> None:
        server.config_ready  # noqa: B018 - create the event on the loop
        caps = params.capabilities
        server.encoding = _encoding(server.workspace.position_encoding)
        td = caps.text_document
        if td is not None and td.diagnostic is not None:
            server.pull_diagnostics = True
            diagnostics.register_pull(server)
        ws = caps.workspace
        server.config_pull = bool(ws and ws.configuration)
        if params.initialization_options is not None:
            server.settings.set_client(params.initialization_options)
        if not server.config_pull:
            server.config_ready.set()
        log.info(
            "initialize: %s diagnostics, encoding %s",
            "pull" if server.pull_diagnostics else "push",
            server.encoding,
        )

    @server.feature(lsp.INITIALIZED)
    def initialized(params: lsp.InitializedParams) -> None:
        server.engine.warm_up()
        if server.config_pull:

            async def first_pull() -> None:
                try:
                    await pull_configuration(server)
                finally:
                    server.config_ready.set()

            server.spawn(first_pull())

    @server.feature(lsp.WORKSPACE_DID_CHANGE_CONFIGURATION)
    @server.guarded("didChangeConfiguration", lambda: None)
    async def did_change_configuration(params: lsp.DidChangeConfigurationParams) -> None:
        if server.config_pull:
            changed = await pull_configuration(server)
        else:
            changed = server.settings.set_client(params.settings)
        if changed:
            log.info("settings changed: re-analysing %d documents", len(server.docs))
            server.reanalyse_all()

    @server.feature(lsp.SHUTDOWN)
    def shutdown(params: Any) -> None:
        for state in server.docs.values():
            state.close()
        server.engine.executor.shutdown(wait=False, cancel_futures=True)
