"""Building the server: every feature registered on a `ShapeServer`."""

from __future__ import annotations

from shape_lsp.server import (
    actions,
    analysis,
    commands,
    configuration,
    graph_command,
    hover,
    inlay,
    lens,
    notebook,
    sync,
)
from shape_lsp.server.base import ShapeServer


def build_server() -> ShapeServer:
    """A server with every feature registered."""
    server = ShapeServer()
    server.hooks.schedule = analysis.schedule
    server.hooks.analysed.append(sync.dependents_changed)
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
