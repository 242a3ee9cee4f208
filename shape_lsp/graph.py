"""Pictures of a model's data-flow graph (`shape-lsp graph`): DOT, Mermaid, SVG and HTML.

The graph comes from the static analysis (`ModelSummary.graph`), so a model whose shapes are
wrong still draws: the failing node in red with the finding's message, what follows it grey.
Nested module calls deeper than `depth` collapse into one box each (as torchview's `depth`).
SVG needs Graphviz's `dot`; DOT and Mermaid are text and need nothing.
"""

from __future__ import annotations

import html
import shutil
import subprocess
from dataclasses import dataclass, field

from shape_lsp.core.flowgraph import GraphEdge, GraphNode, JsonShape, ModelGraph
from shape_lsp.core.results import ModelSummary

FORMATS = ("dot", "svg", "mermaid", "html")
DEFAULT_DEPTH = 3
INSTALL_HINT = (
    "Graphviz's `dot` is needed for SVG but is not installed: install Graphviz "
    "(Debian/Ubuntu: `sudo apt-get install graphviz`; macOS: `brew install graphviz`; "
    "Windows: `winget install graphviz`), or use --format dot|mermaid"
)

COLORS = {
    "ok": ("#eef3fb", "#4a6fa5", "#1b1b1b"),
    "error": ("#fbd5d5", "#c62828", "#7f0000"),
    "unknown": ("#ececec", "#9e9e9e", "#6b6b6b"),
    "function": ("#fff4e0", "#c9892b", "#1b1b1b"),
    "io": ("#e3f4e1", "#4c8c4a", "#1b1b1b"),
}


class GraphvizMissing(RuntimeError):
    """`dot` is not on PATH."""


@dataclass
class View:
    """The graph at one depth: boxes, the clusters holding them, and edges between boxes."""

    title: str
    boxes: list[GraphNode] = field(default_factory=list)
    clusters: dict[int, GraphNode] = field(default_factory=dict)
    members: dict[int | None, list[int]] = field(default_factory=dict)  # cluster -> boxes/clusters
    edges: list[GraphEdge] = field(default_factory=list)


def collapse(model: ModelSummary, depth: int | None = DEFAULT_DEPTH) -> View:
    """Boxes at most `depth` deep: a module call at `depth` stands for everything inside it
    (red when anything inside failed); shallower module calls become clusters."""
    graph = model.graph or ModelGraph()
    limit = 1 << 30 if depth is None or depth < 0 else depth
    by_id = {n.id: n for n in graph.nodes}
    parents = {n.parent for n in graph.nodes if n.parent is not None}

    def rep(n: GraphNode) -> GraphNode:
        while n.depth > limit and n.parent is not None:
            n = by_id[n.parent]
        return n

    failed: dict[int, GraphNode] = {}
    for n in graph.nodes:
        if n.status == "error":
            r = rep(n)
            failed.setdefault(r.id, n)
    view = View(_title(model))
    for n in graph.nodes:
        if rep(n) is not n:
            continue
        if n.id in parents and n.depth < limit:
            if n.depth > 0:
                view.clusters[n.id] = n
                view.members.setdefault(_cluster_of(n, by_id), []).append(-n.id - 1)
            continue
        inner = failed.get(n.id)
        box = n
        if inner is not None and inner is not n:
            box = _replace(n, status="error", message=f"{inner.name}: {inner.message}")
        view.boxes.append(box)
        view.members.setdefault(_cluster_of(n, by_id), []).append(n.id)
    seen: set[tuple[int, int]] = set()
    for e in graph.edges:
        a, b = rep(by_id[e.src]).id, rep(by_id[e.dst]).id
        if a == b or (a, b) in seen:
            continue
        seen.add((a, b))
        view.edges.append(GraphEdge(a, b, e.shape, e.dtype))
    return view


def _cluster_of(n: GraphNode, by_id: dict[int, GraphNode]) -> int | None:
    """The enclosing cluster (a parent below the model itself), None at the top."""
    p = by_id.get(n.parent) if n.parent is not None else None
    return p.id if p is not None and p.depth > 0 else None


def _replace(n: GraphNode, **changes: object) -> GraphNode:
    from dataclasses import replace

    return replace(n, **changes)  # type: ignore[arg-type]


def _title(model: ModelSummary) -> str:
    params = f" · {model.total_params:,} params" if model.total_params is not None else ""
    return f"{model.name}{params}"


def shape_text(shape: JsonShape, dtype: str | None = None) -> str:
    """`(1, 32, 26, 26)`, with the dtype when it is not float32; `unknown` when unknown."""
    if shape is None:
        return "unknown"
    text = "(" + ", ".join(str(d) for d in shape) + ("," if len(shape) == 1 else "") + ")"
    return text if dtype in (None, "float32") else f"{text} {dtype}"


def _wrap(text: str, width: int = 42, lines: int = 4) -> list[str]:
    out: list[str] = []
    cur = ""
    for word in text.split():
        if cur and len(cur) + 1 + len(word) > width:
            out.append(cur)
            cur = word
        else:
            cur = f"{cur} {word}" if cur else word
    if cur:
        out.append(cur)
    if len(out) > lines:
        out = [*out[: lines - 1], out[lines - 1] + " …"]
    return out


def _label_lines(n: GraphNode, within: str = "") -> list[str]:
    if n.kind in ("input", "output"):
        return [n.name, shape_text(n.shape, n.dtype)]
    name = n.name[len(within) + 1 :] if within and n.name.startswith(within + ".") else n.name
    head = name if n.kind == "function" or name == n.type else f"{name}: {n.type}"
    lines = [head]
    if n.kind == "module" and n.params:
        lines.append(f"{n.params:,} params")
    if n.status == "error":
        message = n.message
        for prefix in (f"{n.name}: ", f"{name}: "):
            message = message.removeprefix(prefix)
        lines.extend(_wrap(message))
    elif n.status == "unknown":
        lines.append(n.message or "unknown")
    return lines


def _style(n: GraphNode) -> tuple[str, str, str]:
    if n.status in ("error", "unknown"):
        return COLORS[n.status]
    if n.kind in ("input", "output"):
        return COLORS["io"]
    return COLORS["function"] if n.kind == "function" else COLORS["ok"]


# ---------------------------------------------------------------------- DOT


def _q(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def to_dot(model: ModelSummary, depth: int | None = DEFAULT_DEPTH) -> str:
    """Graphviz DOT text; every node's SVG id is `L<line>_n<id>` (editors jump to the line)."""
    view = collapse(model, depth)
    out = [
        f"digraph {_q(model.name)} {{",
        f'  graph [rankdir=TB, fontname="Helvetica", fontsize=12, labelloc=t, '
        f"label={_q(view.title)}, nodesep=0.3, ranksep=0.35];",
        '  node [shape=box, style="rounded,filled", fontname="Helvetica", fontsize=10, '
        'margin="0.12,0.05"];',
        '  edge [fontname="Helvetica", fontsize=9, color="#555555", arrowsize=0.7];',
    ]
    boxes = {n.id: n for n in view.boxes}

    def emit(cluster: int | None, indent: str) -> None:
        within = view.clusters[cluster].name if cluster is not None else ""
        for m in view.members.get(cluster, []):
            if m < 0:
                c = view.clusters[-m - 1]
                out.append(f"{indent}subgraph cluster_{c.id} {{")
                out.append(
                    f'{indent}  label={_q(_cluster_label(c))}; style="rounded,dashed"; '
                    f'color="#8a8a8a"; fontsize=10; fontcolor="#444444";'
                )
                emit(c.id, indent + "  ")
                out.append(f"{indent}}}")
                continue
            n = boxes[m]
            fill, line, font = _style(n)
            shape = ", shape=oval" if n.kind in ("input", "output") else ""
            shape = ', shape=box, style="filled"' if n.kind == "function" else shape
            width = ", penwidth=2" if n.status == "error" else ""
            tip = f"line {n.line}" + (f": {n.message}" if n.message else "")
            out.append(
                f"{indent}n{n.id} [label={_q(chr(10).join(_label_lines(n, within)))}, "
                f'fillcolor="{fill}", color="{line}", fontcolor="{font}"{shape}{width}, '
                f"id={_q(f'L{n.line}_n{n.id}')}, tooltip={_q(tip)}];"
            )

    emit(None, "  ")
    for e in view.edges:
        grey = ', color="#9e9e9e", fontcolor="#6b6b6b", style=dashed' if e.shape is None else ""
        label = _q(" " + shape_text(e.shape, e.dtype))
        out.append(f"  n{e.src} -> n{e.dst} [label={label}{grey}];")
    out.append("}")
    return "\n".join(out) + "\n"


def _cluster_label(c: GraphNode) -> str:
    label = c.name if c.name == c.type else f"{c.name}: {c.type}"
    return label + (f" · {c.params:,} params" if c.params else "")


# ---------------------------------------------------------------------- Mermaid


def _m(text: str) -> str:
    return '"' + html.escape(text, quote=True).replace("\n", "<br/>") + '"'


def to_mermaid(model: ModelSummary, depth: int | None = DEFAULT_DEPTH) -> str:
    """A Mermaid flowchart (GitHub and many Markdown viewers draw it)."""
    view = collapse(model, depth)
    out = ["---", f"title: {view.title}", "---", "flowchart TB"]
    boxes = {n.id: n for n in view.boxes}
    classes: dict[str, list[str]] = {}

    def emit(cluster: int | None, indent: str) -> None:
        within = view.clusters[cluster].name if cluster is not None else ""
        for m in view.members.get(cluster, []):
            if m < 0:
                c = view.clusters[-m - 1]
                out.append(f"{indent}subgraph c{c.id} [{_m(_cluster_label(c))}]")
                emit(c.id, indent + "  ")
                out.append(f"{indent}end")
                continue
            n = boxes[m]
            text = _m("\n".join(_label_lines(n, within)))
            if n.kind in ("input", "output"):
                out.append(f"{indent}n{n.id}([{text}])")
            else:
                out.append(f"{indent}n{n.id}[{text}]")
            kind = (
                n.status
                if n.status != "ok"
                else ("io" if n.kind in ("input", "output") else n.kind)
            )
            classes.setdefault(kind, []).append(f"n{n.id}")

    emit(None, "  ")
    for e in view.edges:
        out.append(f"  n{e.src} -->|{_m(shape_text(e.shape, e.dtype))}| n{e.dst}")
    for kind, ids in classes.items():
        fill, line, font = COLORS.get(kind, COLORS["ok"])
        out.append(f"  classDef {kind} fill:{fill},stroke:{line},color:{font}")
        out.append(f"  class {','.join(ids)} {kind}")
    return "\n".join(out) + "\n"


# ---------------------------------------------------------------------- SVG / HTML


def have_dot() -> bool:
    """Graphviz's `dot` is on PATH."""
    return shutil.which("dot") is not None


def to_svg(model: ModelSummary, depth: int | None = DEFAULT_DEPTH, timeout: float = 20) -> str:
    """SVG by Graphviz's `dot`; GraphvizMissing when it is not installed."""
    exe = shutil.which("dot")
    if exe is None:
        raise GraphvizMissing(INSTALL_HINT)
    proc = subprocess.run(
        [exe, "-Tsvg"],
        input=to_dot(model, depth),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    if proc.returncode != 0:
        raise RuntimeError(f"dot failed: {proc.stderr.strip()[:500]}")
    svg = proc.stdout
    start = svg.find("<svg")
    return svg[start:] if start >= 0 else svg


def to_html(model: ModelSummary, depth: int | None = DEFAULT_DEPTH) -> str:
    """One self-contained page: the SVG inline, or the Mermaid text when `dot` is missing."""
    title = html.escape(model.name)
    try:
        body = to_svg(model, depth)
    except GraphvizMissing:
        body = (
            f"<p class=note>{html.escape(INSTALL_HINT)}. The graph as Mermaid text "
            "(paste it into any Mermaid viewer):</p>\n<pre>"
            + html.escape(to_mermaid(model, depth))
            + "</pre>"
        )
    return (
        '<!DOCTYPE html>\n<html><head><meta charset="utf-8">'
        f"<title>{title} · shape-lsp graph</title>\n<style>"
        "body{font-family:Helvetica,Arial,sans-serif;margin:1em;background:#fff}"
        "svg{max-width:100%;height:auto}.note{color:#555}"
        "</style></head>\n<body>\n"
        f"{body}\n</body></html>\n"
    )


RENDERERS = {"dot": to_dot, "mermaid": to_mermaid, "svg": to_svg, "html": to_html}


def render(model: ModelSummary, fmt: str, depth: int | None = DEFAULT_DEPTH) -> str:
    """The picture of one model in a format of FORMATS."""
    return RENDERERS[fmt](model, depth)


def pick(models: list[ModelSummary], name: str | None) -> ModelSummary | None:
    """The named model, else the first with a graph."""
    with_graph = [m for m in models if m.graph is not None]
    if name is None:
        return with_graph[0] if with_graph else None
    return next((m for m in with_graph if m.name == name), None)
