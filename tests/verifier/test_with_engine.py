"""verify against the real static engine (an engine that finds no model fails the test)."""

from __future__ import annotations

from pathlib import Path

import pytest

from shape_lsp.core.api import analyze
from shape_lsp.verifier.client import run_verify
from tests.verifier.conftest import fixture


def _needs_models(name: str) -> None:
    """The engine must find the fixture's models: a crash or an empty result is a regression."""
    path = fixture(name)
    models = analyze(Path(path).read_text(), path).models
    assert models, f"the static engine found no model in {name}"


@pytest.mark.parametrize("name", ["convnet.py", "sequential.py", "siamese.py"])
def test_static_and_runtime_agree_on_correct_models(name: str) -> None:
    _needs_models(name)
    r = run_verify(fixture(name), device="meta")
    assert r.status == "ok", r.message
    calls = [c for m in r.models for c in m.calls]
    assert calls and all(c.agrees is True for c in calls), [
        (c.module, c.output, c.static_output) for c in calls if c.agrees is not True
    ]
    assert r.findings == ()
    if name == "convnet.py":  # the file's example: `model(torch.randn(4, 3, 32, 32))`
        assert r.models[0].inputs == [[4, 3, 32, 32]]


def test_buggy_model_error_and_static_prefix() -> None:
    _needs_models("buggy.py")
    r = run_verify(fixture("buggy.py"), device="cpu")
    assert r.status == "error"
    assert [f.code for f in r.findings] == ["SH202"]
    conv = r.models[0].calls[0]
    assert conv.module == "conv" and conv.agrees is True
