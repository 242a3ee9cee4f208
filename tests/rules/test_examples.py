"""Every example declared on a layer rule, checked against real torch."""

from __future__ import annotations

import pytest

from shape_lsp.core.rules import LAYERS
from tests.rules.harness import engine_layer, torch_layer

pytest.importorskip("torch")

CASES = sorted(
    {(ex.ctor, ex.inputs, ex.code, ex.dtype) for r in LAYERS.values() for ex in r.examples}
)


@pytest.mark.parametrize(("ctor", "inputs", "code", "dtype"), CASES, ids=[c[0] for c in CASES])
def test_example_matches_torch(
    ctor: str, inputs: tuple[tuple[int, ...], ...], code: str | None, dtype: str
) -> None:
    ours = engine_layer(ctor, inputs, dtype)
    theirs = torch_layer(ctor, inputs, dtype)
    if code is None:
        assert not isinstance(theirs, Exception), f"torch raised {theirs!r}"
        assert ours.code is None, f"engine reported {ours.code}"
        assert ours.shape == theirs
    else:
        assert isinstance(theirs, Exception), f"torch accepted it: {theirs}"
        assert ours.code == code
