"""The package's structure: no import cycles anywhere, and the core's layers import downwards.

Imports are read from the sources (`ast`, nothing is imported), those under `TYPE_CHECKING`
and inside functions included: a cycle there is still a tangle; `from pkg import sub` counts as
importing both `pkg` (its __init__ runs) and `pkg.sub`. See shape_lsp/ARCHITECTURE.md.
"""

from __future__ import annotations

import ast
from pathlib import Path

PKG = Path(__file__).resolve().parents[2] / "shape_lsp"

# The core's layers, bottom up; a module may import its own layer and those below it.
LAYERS = (
    (
        "shared",
        (
            "core.results",
            "core.flowgraph",
            "core.codes",
            "core.config",
            "core.digest",
            "core.source",
        ),
    ),
    ("values", ("core.values",)),
    ("rules", ("core.rules",)),
    ("interpreter", ("core.interpreter",)),
    ("frameworks", ("core.frameworks",)),
    ("analysis", ("core.analysis",)),
    ("api", ("core.api", "core")),
)
MAX_LINES = 600
# Modules allowed past MAX_LINES, with the reason; keep this list short.
LONG = {
}


def _modules() -> dict[str, Path]:
    out = {}
    for p in PKG.rglob("*.py"):
        parts = p.relative_to(PKG).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        out[name] = p
    return out


def import_graph() -> dict[str, set[str]]:
    """Module (dotted, without `shape_lsp.`) -> the package modules it imports."""
    mods = _modules()

    def known(name: str) -> str | None:
        while name and name not in mods:
            name = name.rpartition(".")[0]
        return name or None

    graph: dict[str, set[str]] = {m: set() for m in mods}
    for m, path in mods.items():
        pkg = m if path.name == "__init__.py" else m.rpartition(".")[0]
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            targets: list[str] = []
            if isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    parts = ("shape_lsp." + pkg).split(".")
                    parts = parts[: len(parts) - node.level + 1]
                    base = ".".join([*parts, *([node.module] if node.module else [])])
                # `from pkg import sub` runs pkg/__init__.py too: both count
                subs = [f"{base}.{a.name}" for a in node.names]
                targets = [base, *(t for t in subs if t.removeprefix("shape_lsp.") in mods)]
            for t in targets:
                if not t.startswith("shape_lsp."):
                    continue
                hit = known(t.removeprefix("shape_lsp."))
                if hit is not None and hit != m:
                    graph[m].add(hit)
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    out: list[list[str]] = []
    for root, deps in graph.items():
        if root in index:
            continue
        work = [(root, iter(sorted(deps)))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on.add(root)
        while work:
            v, it = work[-1]
            for w in it:
                if w not in index:
                    index[w] = low[w] = len(index)
                    stack.append(w)
                    on.add(w)
                    work.append((w, iter(sorted(graph[w]))))
                    break
                if w in on:
                    low[v] = min(low[v], index[w])
            else:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[v])
                if low[v] == index[v]:
                    comp = []
                    while True:
                        w = stack.pop()
                        on.discard(w)
                        comp.append(w)
                        if w == v:
                            break
                    if len(comp) > 1:
                        out.append(sorted(comp))
    return out


def layer_of(module: str) -> int | None:
    """The core layer a module belongs to (None outside the core)."""
    best: tuple[int, int] | None = None
    for rank, (_, prefixes) in enumerate(LAYERS):
        for p in prefixes:
            inside = module == p or module.startswith(p + ".")
            if inside and (best is None or len(p) > best[1]):
                best = (rank, len(p))
    return best[0] if best else None


def test_the_checker_finds_a_cycle() -> None:
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert cycles({"a": {"b"}, "b": set()}) == []


def test_no_import_cycles_anywhere() -> None:
    assert cycles(import_graph()) == []


def test_core_layers_import_only_downwards() -> None:
    graph = import_graph()
    bad = []
    for m, deps in graph.items():
        if not m.startswith("core"):
            continue
        mine = layer_of(m)
        assert mine is not None, f"{m} is in no layer: add it to LAYERS"
        for d in deps:
            theirs = layer_of(d)
            if theirs is None:
                bad.append(f"{m} imports {d}, outside the core")
            elif theirs > mine:
                bad.append(f"{m} ({LAYERS[mine][0]}) imports {d} ({LAYERS[theirs][0]})")
    assert bad == []


def test_each_layer_is_a_folder() -> None:
    for name, prefixes in LAYERS[1:-1]:
        (p,) = prefixes
        assert (PKG / p.replace(".", "/") / "__init__.py").is_file(), name


def test_modules_stay_short() -> None:
    long = {
        m: n
        for m, p in _modules().items()
        if (n := len(p.read_text(encoding="utf-8").splitlines())) > MAX_LINES
    }
    assert {m for m in long if m not in LONG} == set(), long
