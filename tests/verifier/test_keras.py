"""Verify on Keras 3 models (torch backend, no TensorFlow), against the real static side."""

from __future__ import annotations

import importlib.util
import io
import json
from pathlib import Path

import pytest

from shape_lsp.verifier.client import run_verify
from shape_lsp.verifier.command import main
from tests.verifier.conftest import fixture

pytestmark = pytest.mark.skipif(
    importlib.util.find_spec("keras") is None, reason="keras is not installed"
)

SEEDS = Path(__file__).parents[1] / "fixtures" / "keras"


def _calls(report, model=0):  # type: ignore[no-untyped-def]
    return [(c.module, c.output, c.agrees) for c in report.models[model].calls]


def test_sequential_cnn_every_layer_agrees_meta_runs_on_cpu() -> None:
    r = run_verify(fixture("keras_cnn.py"), device="meta", timeout=120)
    assert r.status == "ok", r.message
    assert r.device == "cpu" and r.dtype == "float32"
    assert "Keras cannot run on the meta device" in r.message and "ran on cpu" in r.message
    (m,) = r.models
    assert m.name == "model" and m.inputs == [[2, 32, 32, 3]] and m.device == "cpu"
    assert _calls(r) == [
        ("conv2d", [2, 30, 30, 16], True),
        ("max_pooling2d", [2, 15, 15, 16], True),
        ("conv2d_1", [2, 15, 15, 32], True),
        ("global_average_pooling2d", [2, 32], True),
        ("dense", [2, 10], True),
        ("", [2, 10], True),
    ]
    assert [c.line for c in m.calls[:5]] == [6, 7, 8, 9, 10]
    assert not r.findings


def test_functional_siamese_shared_layer_in_source_order() -> None:
    r = run_verify(fixture("keras_siamese.py"), device="auto", timeout=120)
    assert r.status == "ok", r.message
    (m,) = r.models
    assert m.inputs == [[2, 28, 28, 1], [2, 32, 32, 1]]
    conv = [(c.output, c.line) for c in m.calls if c.module == "conv2d"]
    # the graph runs the two branches in its own order; each call still meets its own node
    assert conv == [([2, 26, 26, 8], 8), ([2, 30, 30, 8], 9)]
    assert all(c.agrees for c in m.calls), _calls(r)


def test_forward_that_raises_maps_to_the_line_and_layer() -> None:
    r = run_verify(fixture("keras_buggy.py"), device="cpu", dims={"F": 12}, timeout=120)
    assert r.status == "error"
    (m,) = r.models
    assert m.name == "Residual" and m.inputs == [[2, 12]]
    err = m.error
    assert err is not None and err.phase == "forward"
    assert err.line == 15 and err.module == "merge" and err.layer == "Add"
    assert err.input_shapes and "shape" in err.message.lower()
    assert "Arguments received by" not in err.message
    assert [(c.module, c.output) for c in m.calls] == [("fc", [2, 16]), ("proj", [2, 8])]
    (f,) = [f for f in r.findings if f.code == "SH202"]
    assert f.span.start_line == 14 and "`merge` (Add)" in f.message


def test_cli_json_on_a_seed_fixture() -> None:
    out = io.StringIO()
    code = main(
        [
            str(SEEDS / "siamese_shared_dense_fixed.py"),
            "--device",
            "cpu",
            "--format",
            "json",
            "--timeout",
            "120",
        ],
        out=out,
    )
    doc = json.loads(out.getvalue())
    assert code == 0, doc["message"]
    assert doc["status"] == "ok" and doc["device"] == "cpu" and doc["dtype"] == "float32"
    (m,) = doc["models"]
    assert m["inputs"] == [[2, 28, 28, 1], [2, 28, 28, 1]]
    dense = [c for c in m["calls"] if c["module"] == "dense"]
    assert [c["output"] for c in dense] == [[2, 128], [2, 128]]
    assert [c["line"] for c in dense] == [14, 15]
    assert all(c["agrees"] for c in m["calls"]) and doc["diagnostics"] == []


def test_tf_keras_seed_runs_without_tensorflow_and_import_errors_name_the_layer() -> None:
    ok = run_verify(str(SEEDS / "seed003_valid.py"), device="cpu", timeout=120)
    assert ok.status == "ok", ok.message
    if importlib.util.find_spec("tensorflow") is None:
        assert "tensorflow is not installed: tf.keras ran as keras" in ok.message
    assert all(c.agrees for c in ok.models[0].calls)
    bad = run_verify(str(SEEDS / "siamese_shared_dense_bug.py"), device="cpu", timeout=120)
    assert bad.status == "error"
    err = bad.models[0].error
    assert err is not None and err.phase == "import" and err.line == 18
    assert err.module == "dense" and err.layer == "Dense" and "3136" in err.message


def test_keras_missing_is_unavailable_with_what_to_install(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake = tmp_path / "keras"
    fake.mkdir()
    (fake / "__init__.py").write_text("raise ImportError('No module named keras')\n")
    monkeypatch.setenv("PYTHONPATH", str(tmp_path))
    r = run_verify(fixture("keras_cnn.py"), device="cpu", timeout=120)
    assert r.status == "unavailable"
    assert "keras cannot be imported" in r.message and "keras>=3" in r.message
    assert "TensorFlow is not needed" in r.message
