"""`shape-lsp.graph`: the picture of a model's graph for the editors.

Arguments: `[uri]`, `[uri, model]` or `{"uri", "model", "depth", "format", "write"}`. The answer:
`{"model", "models", "version", "depth", "dot", "svg", "mermaid", "html", "path", "nodes",
"error"}` — `svg` (Graphviz's `dot` on the server's machine) or, without it, `mermaid` and an
`error` saying how to install Graphviz; `html` (one self-contained page) when `format` is
`"html"`; `path` when `write` is true (the page written to a temporary file, for editors that
open it with the system's opener); `nodes` maps each drawn box (`L<line>_n<id>`, its SVG id)
to its line, for click-to-line.
"""

from __future__ import annotations

import asyncio
import os
import re
import tempfile
from typing import TYPE_CHECKING, Any

from shape_lsp.graph import DEFAULT_DEPTH, GraphvizMissing, collapse, to_dot, to_html, to_mermaid
from shape_lsp.graph import to_svg as _to_svg

if TYPE_CHECKING:
    from shape_lsp.core.results import ModelSummary
    from shape_lsp.server.base import ShapeServer

GRAPH = "shape-lsp.graph"


def _options(args: tuple[Any, ...]) -> dict[str, Any]:
    if len(args) == 1 and isinstance(args[0], dict):
        return dict(args[0])
    out: dict[str, Any] = {"uri": str(args[0]) if args else ""}
    if len(args) > 1 and isinstance(args[1], str) and args[1]:
        out["model"] = args[1]
    return out


def _pick(models: list[ModelSummary], name: str | None) -> ModelSummary | None:
    drawn = [m for m in models if m.graph is not None]
    if name:
        hit = next((m for m in drawn if name in (m.name, m.variable)), None)
        if hit is not None:
            return hit
    return drawn[0] if drawn else None


def render_graph(model: ModelSummary, opts: dict[str, Any]) -> dict[str, Any]:
    """Everything the editors draw for one model (runs `dot`: call it off the event loop)."""
    raw = opts.get("depth", DEFAULT_DEPTH)
    depth = raw if isinstance(raw, int) and not isinstance(raw, bool) and raw >= 0 else None
    view = collapse(model, depth)
    out: dict[str, Any] = {
        "model": model.name,
        "depth": depth,
        "dot": to_dot(model, depth),
        "svg": None,
        "nodes": [
            {"id": f"L{n.line}_n{n.id}", "line": n.line, "name": n.name, "status": n.status}
            for n in view.boxes
        ],
    }
    try:
        out["svg"] = _to_svg(model, depth)
    except GraphvizMissing as e:
        out["error"] = str(e)
        out["mermaid"] = to_mermaid(model, depth)
    except (RuntimeError, OSError) as e:
        out["error"] = str(e)
        out["mermaid"] = to_mermaid(model, depth)
    if opts.get("format") == "html" or opts.get("write"):
        out["html"] = to_html(model, depth)
    if opts.get("write"):
        safe = re.sub(r"[^A-Za-z0-9_.-]", "_", model.name)[:60] or "model"
        path = os.path.join(tempfile.gettempdir(), f"shape-lsp-graph-{safe}.html")
        with open(path, "w", encoding="utf-8") as fh:
            fh.write(out["html"])
        out["path"] = path
    return out


async def graph(server: ShapeServer, args: tuple[Any, ...]) -> dict[str, Any]:
    """The graph of the document's model (the named one, else the first drawn)."""
    from shape_lsp.server.commands import wait_analysed

    opts = _options(args)
    uri = str(opts.get("uri", ""))
    state = server.docs.get(uri)
    if state is None:
        return {"error": f"document not open: {uri}", "models": []}
    snap = await wait_analysed(server, state)
    if snap is not None and not snap.result.models and state.last_good is not None:
        snap = state.last_good
    models = list(snap.result.models) if snap is not None else []
    name = opts.get("model")
    model = _pick(models, name if isinstance(name, str) else None)
    names = [m.name for m in models if m.graph is not None]
    if model is None or snap is None:
        return {"error": "no model to draw in this file", "models": names}
    out = await asyncio.to_thread(render_graph, model, opts)
    out["models"] = names
    out["version"] = snap.version
    return out


def register(server: ShapeServer) -> None:
    """Register `shape-lsp.graph`."""

    @server.command(GRAPH)
    @server.guarded(GRAPH, lambda: {"error": "internal error", "models": []})
    async def graph_cmd(*args: Any) -> dict[str, Any]:
        return await graph(server, args)
