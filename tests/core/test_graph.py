"""`models[].graph` and `shape-lsp graph`: the static data flow equals what torch sees.

The runtime side runs each correct fixture model once with forward hooks on every module and a
TorchFunctionMode for the functional ops between them, and links a module call to the calls
whose output tensors (matched by `id()`) reach its inputs. Both sides are reduced to the same
picture: nodes are the model's inputs, outputs and innermost module calls (torch's leaf
modules; a built-in layer counts as one), each call named by its module path and occurrence;
functional ops are see-through.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from shape_lsp.cli import main
from shape_lsp.core.api import Analyzer
from shape_lsp.core.flowgraph import ModelGraph
from shape_lsp.graph import collapse, have_dot, to_dot, to_html, to_mermaid, to_svg
from tests.core.test_static_vs_runtime import CORRECT

FIXTURES = Path(__file__).parent.parent / "fixtures"

RUNTIME = r"""
import json, runpy, sys
import torch
import torch.nn as nn
from torch.overrides import TorchFunctionMode

CONTAINERS = (nn.Sequential, nn.ModuleList, nn.ModuleDict)


def is_leaf(m):
    if isinstance(m, CONTAINERS):
        return not any(True for _ in m.children())
    return not any(True for _ in m.children()) or type(m).__module__.startswith("torch.nn.")


def tensors(v, depth=0):
    if isinstance(v, torch.Tensor):
        yield v
    elif depth < 3 and isinstance(v, (list, tuple)):
        for x in v:
            yield from tensors(x, depth + 1)
    elif depth < 3 and isinstance(v, dict):
        for x in v.values():
            yield from tensors(x, depth + 1)


def trace(model, inputs):
    keep, producers, edges, calls, counts = [], {}, set(), [], {}
    inside = [0]
    names = {id(m): n for n, m in model.named_modules()}

    def sources(v):
        out = set()
        for t in tensors(v):
            out |= producers.get(id(t), set())
        return out

    def mark(v, srcs):
        for t in tensors(v):
            keep.append(t)
            producers[id(t)] = set(srcs)

    class Mode(TorchFunctionMode):
        def __torch_function__(self, func, types, args=(), kwargs=None):
            out = func(*args, **(kwargs or {}))
            if not inside[0]:
                mark(out, sources([args, kwargs or {}]))
            return out

    pending = []

    def pre(mod, args, kwargs):
        if is_leaf(mod):
            if not inside[0]:
                name = names[id(mod)]
                counts[name] = counts.get(name, 0) + 1
                key = f"{name}#{counts[name]}"
                calls.append(key)
                for s in sources([args, kwargs]):
                    if s != key:
                        edges.add((s, key))
                pending.append(key)
            inside[0] += 1

    def post(mod, args, kwargs, out):
        if is_leaf(mod):
            inside[0] -= 1
            if not inside[0]:
                mark(out, {pending.pop()})

    for m in model.modules():
        m.register_forward_pre_hook(pre, with_kwargs=True)
        m.register_forward_hook(post, with_kwargs=True)
    for i, t in enumerate(inputs):
        keep.append(t)
        producers[id(t)] = {f"input {i}"}
    with torch.no_grad(), Mode():
        out = model(*inputs)
    for i, t in enumerate(tensors(out)):
        for s in producers.get(id(t), set()):
            edges.add((s, f"output {i}"))
    return {"calls": calls, "edges": sorted(edges)}


results = []
for spec in json.loads(sys.stdin.read()):
    g = runpy.run_path(spec["path"], run_name="graph_fixture")
    model = eval(spec["ctor"], g) if spec["ctor"] else g[spec["variable"]]
    model.eval()
    inputs = []
    for shape, dtype in spec["inputs"]:
        dt = getattr(torch, dtype or "float32")
        if dt.is_floating_point:
            inputs.append(torch.rand(*shape, dtype=dt))
        else:
            inputs.append(torch.zeros(*shape, dtype=dt))
    results.append(trace(model, inputs))
print(json.dumps(results))
"""


def reduce_static(graph: ModelGraph) -> dict[str, Any]:
    """The static graph as the runtime side sees it (see the module docstring)."""
    by_id = {n.id: n for n in graph.nodes}
    has_module_below: set[int] = set()
    for n in graph.nodes:
        if n.kind == "module":
            p = n.parent
            while p is not None:
                has_module_below.add(p)
                p = by_id[p].parent
    counts: dict[str, int] = {}
    leaf_key: dict[int, str] = {}
    calls: list[str] = []
    ins = [n for n in graph.nodes if n.kind == "input"]
    outs = [n for n in graph.nodes if n.kind == "output"]
    for i, n in enumerate(ins):
        leaf_key[n.id] = f"input {i}"
    for i, n in enumerate(outs):
        leaf_key[n.id] = f"output {i}"
    for n in graph.nodes:
        if n.kind == "module" and n.id not in has_module_below:
            counts[n.name] = counts.get(n.name, 0) + 1
            leaf_key[n.id] = f"{n.name}#{counts[n.name]}"
            calls.append(leaf_key[n.id])

    def key(node_id: int) -> str | None:
        cur: int | None = node_id
        while cur is not None:
            if cur in leaf_key:
                return leaf_key[cur]
            cur = by_id[cur].parent
        return None

    incoming: dict[int, list[int]] = {}
    for e in graph.edges:
        incoming.setdefault(e.dst, []).append(e.src)
    memo: dict[int, set[str]] = {}

    def sources(node_id: int) -> set[str]:
        k = key(node_id)
        if k is not None:
            return {k}
        if node_id not in memo:
            memo[node_id] = set()
            memo[node_id] = set().union(*(sources(s) for s in incoming.get(node_id, [])))
        return memo[node_id]

    edges = set()
    for e in graph.edges:
        dst = key(e.dst)
        if dst is None:
            continue
        for s in sources(e.src):
            if s != dst:
                edges.add((s, dst))
    return {"calls": calls, "edges": sorted(edges)}


def _models() -> list[tuple[str, Any]]:
    an = Analyzer()
    out = []
    for path in CORRECT:
        for m in an.analyze(path.read_text(encoding="utf-8"), str(path)).models:
            concrete = all(
                s is not None and all(isinstance(d, int) for d in s) for s in m.input_shapes
            )
            if concrete and (m.ctor or m.variable):
                out.append((f"{path.name}:{m.name}", m))
    return out


def test_graph_equals_what_torch_hooks_see() -> None:
    pytest.importorskip("torch")
    models = _models()
    assert len(models) >= 15
    specs = [
        {
            "path": str(FIXTURES / "torch" / label.split(":")[0]),
            "ctor": m.ctor,
            "variable": m.variable,
            "inputs": [[list(s), d] for s, d in zip(m.input_shapes, m.input_dtypes, strict=True)],
        }
        for label, m in models
    ]
    proc = subprocess.run(
        [sys.executable, "-c", RUNTIME],
        input=json.dumps(specs),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    runtime = json.loads(proc.stdout.strip().splitlines()[-1])
    for (label, m), seen in zip(models, runtime, strict=True):
        assert m.graph is not None, label
        static = reduce_static(m.graph)
        assert static["calls"] == seen["calls"], label
        assert static["edges"] == [tuple(e) for e in seen["edges"]], label
        # the DOT drawn at full depth has exactly the graph's boxes and edges
        dot = to_dot(m, None)
        boxes = {int(i) for i in re.findall(r"^\s*n(\d+) \[label=", dot, re.M)}
        arrows = {(int(a), int(b)) for a, b in re.findall(r"^\s*n(\d+) -> n(\d+) ", dot, re.M)}
        parents = {n.parent for n in m.graph.nodes}
        assert boxes == {n.id for n in m.graph.nodes if n.id not in parents}, label
        assert arrows == {(e.src, e.dst) for e in m.graph.edges}, label


def _model(path: Path, name: str) -> Any:
    result = Analyzer().analyze(path.read_text(encoding="utf-8"), str(path))
    (m,) = [m for m in result.models if m.name == name]
    assert m.graph is not None
    return m


def test_residual_add_and_skip_concat_are_edges() -> None:
    resnet = _model(FIXTURES / "torch" / "zoo_resnet.py", "ResNet")
    nodes = {n.id: n for n in resnet.graph.nodes}
    adds = [n for n in resnet.graph.nodes if n.kind == "function" and n.name in ("add", "iadd")]
    assert adds, [n.name for n in resnet.graph.nodes if n.kind == "function"]
    into = [nodes[e.src].name for e in resnet.graph.edges if e.dst == adds[0].id]
    assert len(into) == 2  # the block's last layer and the identity
    unet = _model(FIXTURES / "torch" / "zoo_unet.py", "UNet")
    cats = [n for n in unet.graph.nodes if n.name == "cat"]
    assert cats and all(sum(e.dst == c.id for e in unet.graph.edges) == 2 for c in cats)


def test_broken_model_still_draws_with_the_failing_node_red() -> None:
    m = _model(FIXTURES / "torch" / "seed001_concat_bug.py", "Siamese")
    (bad,) = [n for n in m.graph.nodes if n.status == "error"]
    assert bad.name == "cat" and "sizes must match" in bad.message
    (out,) = [n for n in m.graph.nodes if n.kind == "output"]
    assert out.status == "unknown" and out.message == "unknown after cat"
    dot = to_dot(m)
    assert "#c62828" in dot and "sizes must match" in dot
    # a layer failing deep inside collapses into a red box at depth 1
    cnn = _model(Path(__file__).parents[2] / "examples" / "cnn.py", "Net")
    view = collapse(cnn, 1)
    fc1 = next(n for n in view.boxes if n.name == "fc1")
    assert fc1.status == "error" and "in_features 256" in fc1.message
    assert {n.status for n in view.boxes if n.name in ("fc2", "fc3")} == {"unknown"}


def test_depth_collapses_nested_modules() -> None:
    m = _model(FIXTURES / "torch" / "seed000_siamese_inputs_fixed.py", "Siamese")
    assert [n.name for n in collapse(m, 0).boxes] == ["a", "b", "Siamese", "output"]
    one = collapse(m, 1)
    assert [n.name for n in one.boxes] == [
        "a",
        "b",
        "branch",
        "branch",
        "pairwise_distance",
        "output",
    ]
    assert len(one.edges) == 5 and not one.clusters
    full = collapse(m, None)
    assert sum(n.type == "Conv2d" for n in full.boxes) == 4
    assert {c.name for c in full.clusters.values()} == {"branch", "branch.features"}


def test_keras_functional_branches() -> None:
    path = FIXTURES / "keras" / "siamese_shared_dense_fixed.py"
    result = Analyzer().analyze(path.read_text(encoding="utf-8"), str(path))
    m = next(m for m in result.models if m.graph is not None and m.framework == "keras")
    g = m.graph
    ins = [n for n in g.nodes if n.kind == "input"]
    assert len(ins) == 2
    # each input reaches the output through its own path, joined by one node
    consumers = {e.src: [] for e in g.edges}
    for e in g.edges:
        consumers[e.src].append(e.dst)
    assert all(consumers.get(i.id) for i in ins)
    assert any(len([e for e in g.edges if e.dst == n.id]) >= 2 for n in g.nodes)


def test_renderers(tmp_path: Path) -> None:
    m = _model(FIXTURES / "torch" / "zoo_unet.py", "UNet")
    dot = to_dot(m, 2)
    assert dot.startswith('digraph "UNet"') and "->" in dot and "cluster_" in dot
    mermaid = to_mermaid(m, 2)
    assert "flowchart TB" in mermaid and "-->|" in mermaid and "subgraph" in mermaid
    page = to_html(m, 2)
    assert page.startswith("<!DOCTYPE html>") and "<script src" not in page and "<link" not in page
    if not have_dot():
        pytest.skip("Graphviz's dot is not installed")
    svg = to_svg(m, 2)
    assert svg.startswith("<svg") and 'id="L' in svg and "cat" in svg
    assert "<svg" in page


def test_cli(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = str(FIXTURES / "torch" / "seed000_siamese_inputs_fixed.py")
    assert main(["graph", path, "--depth", "1"]) == 0
    assert capsys.readouterr().out.count("->") == 5
    out = tmp_path / "g.mmd"
    assert main(["graph", path, "--model", "Branch", "--format", "mermaid", "-o", str(out)]) == 0
    assert "features" in out.read_text()
    assert main(["graph", path, "--model", "Nope"]) == 2
    assert "no model named 'Nope'" in capsys.readouterr().err
    assert main(["check", path, "--no-cache", "--format", "json"]) in (0, 1)
    record = json.loads(capsys.readouterr().out)
    graph = record["files"][0]["models"][0]["graph"]
    assert set(graph) == {"nodes", "edges"}
    assert set(graph["edges"][0]) == {"from", "to", "shape", "dtype"}


def test_without_graphviz(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr("shape_lsp.graph.shutil.which", lambda _name: None)
    path = str(FIXTURES / "torch" / "seed000_siamese_inputs_fixed.py")
    assert main(["graph", path, "--format", "svg"]) == 2
    err = capsys.readouterr().err
    assert "apt-get install graphviz" in err and "brew install graphviz" in err
    assert main(["graph", path, "--format", "html"]) == 0
    page = capsys.readouterr().out
    assert "<svg" not in page and "flowchart TB" in page and "apt-get install graphviz" in page
