"""The Keras fixtures are real programs: Keras 3 (torch backend) must fail exactly where an error
is expected, and the static summary must match `model.summary()` / `count_params()`.

The seeds import TensorFlow; here a small `tensorflow` stand-in maps `tensorflow.keras` to
Keras 3 (and tf.random.normal / tf.norm / tf.errors to their Keras counterparts), so nothing
needs TensorFlow. Runnable variants train for 1 epoch and use `weights=None` (offline).
All fixtures run in one subprocess (one Keras import).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from shape_lsp.core.api import Analyzer
from shape_lsp.core.codes import CODES
from shape_lsp.core.results import Severity
from tests.core.test_fixtures import FILES, FIXTURES, expectations

pytest.importorskip("keras")

RUNNER = r"""
import json, os, runpy, sys, tempfile, types, traceback, warnings
os.environ["KERAS_BACKEND"] = "torch"
warnings.simplefilter("ignore")
import keras

tf = types.ModuleType("tensorflow")
tf.keras = keras
tf.random = types.SimpleNamespace(normal=keras.random.normal, uniform=keras.random.uniform)
tf.norm = keras.ops.norm
invalid = type("InvalidArgumentError", (Exception,), {})
tf.errors = types.SimpleNamespace(InvalidArgumentError=invalid)
SHIM = {"tensorflow": tf, "tensorflow.keras": keras, "tensorflow.keras.layers": keras.layers,
        "tensorflow.keras.applications": keras.applications,
        "tensorflow.keras.models": keras.models}

def runnable(text):
    return (text.replace("epochs=10", "epochs=1, verbose=0")
                .replace("weights='imagenet'", "weights=None"))

def describe(model):
    rows = []
    for layer in model.layers:
        try:
            shape = list(layer.output.shape)
        except Exception:
            shape = None
        rows.append([layer.name, shape, layer.count_params()])
    return {"rows": rows, "total": model.count_params(), "graph": keras_graph(model)}

def keras_graph(model):
    # Keras's own graph of the model's top-level layers: (producer, consumer) name pairs.
    try:
        return _keras_graph(model)
    except Exception as e:
        return {"error": f"{type(e).__name__}: {e}"}

def _keras_graph(model):
    if type(model).__name__ == "Sequential":
        names = [l.name for l in model.layers if type(l).__name__ != "InputLayer"]
        chain = ["input", *names, "output"]
        nested = any(type(l).__name__ in ("Sequential", "Functional") for l in model.layers)
        return {"calls": names, "edges": sorted(zip(chain, chain[1:])), "nested": nested}
    if not hasattr(model, "_nodes_by_depth"):
        return None  # a subclassed model: no graph of its own
    nodes = [n for depth in sorted(model._nodes_by_depth, reverse=True)
             for n in model._nodes_by_depth[depth]]
    ins = [t._keras_history.operation.name for t in model.inputs]
    outs = [t._keras_history.operation.name for t in model.outputs]
    rename = {n: ("input" if len(ins) == 1 else f"input {i}") for i, n in enumerate(ins)}
    edges, calls, nested = set(), [], False
    for node in nodes:
        op = node.operation
        if type(op).__name__ == "InputLayer":
            continue
        nested = nested or type(op).__name__ in ("Sequential", "Functional")
        calls.append(op.name)
        for t in node.input_tensors:
            src = t._keras_history.operation.name
            edges.add((rename.get(src, src), op.name))
    for i, o in enumerate(outs):
        edges.add((o, "output" if len(outs) == 1 else f"output {i}"))
    return {"calls": calls, "edges": sorted(edges), "nested": nested}

out = {}
for path in sys.argv[1:]:
    keras.backend.clear_session()
    with tempfile.NamedTemporaryFile("w", suffix=".py", delete=False) as f:
        f.write(runnable(open(path).read()))
    # Keras looks for a real TensorFlow in sys.modules: shim only files that import it
    if "tensorflow" in open(path).read():
        sys.modules.update(SHIM)
    try:
        g = runpy.run_path(f.name, run_name="__main__")
        m = g.get("model")
        out[path] = {"raised": None,
                     "model": describe(m) if isinstance(m, keras.Model) else None}
    except Exception as e:
        first = str(e).strip().splitlines()[0] if str(e).strip() else ""
        out[path] = {"raised": f"{type(e).__name__}: {first}", "model": None}
    finally:
        os.unlink(f.name)
        for name in SHIM:
            sys.modules.pop(name, None)
print(json.dumps(out))
"""

KERAS_FILES = [p for p in FILES if p.parent.name == "keras"]
_ids = [str(p.relative_to(FIXTURES)) for p in KERAS_FILES]


@pytest.fixture(scope="module")
def keras_outcomes() -> dict[str, dict[str, object]]:
    env = {**os.environ, "KERAS_BACKEND": "torch"}
    proc = subprocess.run(
        [sys.executable, "-c", RUNNER, *map(str, KERAS_FILES)],
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
        env=env,
    )
    return json.loads(proc.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


@pytest.mark.parametrize("path", KERAS_FILES, ids=_ids)
def test_keras_agrees(path: Path, keras_outcomes: dict[str, dict[str, object]]) -> None:
    want, _ = expectations(path.read_text(encoding="utf-8"))
    errors = {c for _, c in want if CODES[c].severity == Severity.ERROR}
    raised = keras_outcomes[str(path)]["raised"]
    if errors:
        assert raised is not None, f"keras ran it fine but the fixture expects {sorted(errors)}"
        assert str(raised).split(":")[0] in ("ValueError", "RuntimeError"), raised
    else:
        assert raised is None, f"keras raised {raised}"


def _classes(result: object) -> tuple[str, ...]:
    return tuple(m.name for m in result.models if m.kind == "class")  # type: ignore[attr-defined]


def _dims(text: str) -> list[str]:
    return [d.strip() for d in text.strip("()").split(",") if d.strip()]


@pytest.mark.parametrize("path", KERAS_FILES, ids=_ids)
def test_summary_matches_keras(path: Path, keras_outcomes: dict[str, dict[str, object]]) -> None:
    real = keras_outcomes[str(path)]["model"]
    if real is None:
        pytest.skip("no Keras model named `model` after running the file")
    assert isinstance(real, dict)
    result = Analyzer().analyze(path.read_text(encoding="utf-8"), str(path))
    summaries = [
        m for m in result.models if m.name in ("model", *_classes(result)) and m.output != "unknown"
    ]
    assert summaries, "no static summary for `model`"
    ours = summaries[-1]
    assert ours.total_params == real["total"]
    if ours.kind == "class":
        return  # subclassed models: rows are attribute paths, Keras lists auto-names
    rows = {r.module: r for r in ours.rows}
    for name, shape, params in real["rows"]:  # type: ignore[attr-defined]
        if name.startswith("input_layer"):
            continue
        assert name in rows, f"layer {name} missing from the static summary {sorted(rows)}"
        assert rows[name].params == params, name
        if shape is not None:
            assert _dims(rows[name].output)[1:] == [str(d) for d in shape[1:]], name


@pytest.mark.parametrize("path", KERAS_FILES, ids=_ids)
def test_graph_matches_keras(path: Path, keras_outcomes: dict[str, dict[str, object]]) -> None:
    """The static graph's layer calls and data-flow edges are Keras's own functional graph
    (a nested model is one layer to Keras: such models are compared elsewhere)."""
    from tests.core.test_graph import reduce_static

    real = keras_outcomes[str(path)]["model"]
    if real is None or not isinstance(real, dict) or real.get("graph") is None:
        pytest.skip("no functional or Sequential Keras model named `model`")
    graph = real["graph"]
    assert isinstance(graph, dict) and "error" not in graph, graph
    result = Analyzer().analyze(path.read_text(encoding="utf-8"), str(path))
    ours = [m for m in result.models if m.name == "model" and m.kind == "sequential"][-1]
    assert ours.graph is not None
    if graph["nested"] and any(n.depth > 1 for n in ours.graph.nodes):
        pytest.skip("a nested model: one layer to Keras, its layers to shape-lsp")
    static = reduce_static(ours.graph)
    single = {
        "input 0": sum(n.kind == "input" for n in ours.graph.nodes) == 1,
        "output 0": sum(n.kind == "output" for n in ours.graph.nodes) == 1,
    }

    def plain(key: str) -> str:
        key = key.split("#", maxsplit=1)[0]
        return key.split(" ")[0] if single.get(key) else key

    assert sorted(plain(c) for c in static["calls"]) == sorted(graph["calls"])
    assert {(plain(a), plain(b)) for a, b in static["edges"]} == {tuple(e) for e in graph["edges"]}
