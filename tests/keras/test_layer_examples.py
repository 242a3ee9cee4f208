"""Every example on a Keras layer rule, checked against Keras 3 on the torch backend."""

from __future__ import annotations

import pytest

from shape_lsp.core.rules import LAYERS
from shape_lsp.core.rules.keras_base import EXAMPLES
from tests.keras.harness import engine, keras_run

pytest.importorskip("keras")

ALL_CASES = sorted(
    {(ex.ctor, ex.inputs, ex.code, ex.dtype) for exs in EXAMPLES.values() for ex in exs}
)
#: Building a whole ImageNet backbone in Keras takes 4-10 s a time (ResNet50, VGG16): the
#: suite runs the pooled variant on the cheap backbone only (every pooling path is still run
#: against Keras); benchmarks/keras_app_examples.py runs them all.
HEAVY = ("applications.ResNet50(", "applications.VGG16(")
CASES = [c for c in ALL_CASES if not (c[0].startswith(HEAVY) and "pooling=" in c[0])]


@pytest.mark.parametrize(("ctor", "inputs", "code", "dtype"), CASES, ids=[c[0] for c in CASES])
def test_example_matches_keras(
    ctor: str, inputs: tuple[tuple[int, ...], ...], code: str | None, dtype: str
) -> None:
    ours = engine(ctor, inputs, dtype)
    theirs = keras_run(ctor, inputs, dtype)
    if code is None:
        assert not isinstance(theirs, Exception), f"keras raised {theirs!r}"
        assert ours.code is None, f"engine reported {ours.code}"
        assert isinstance(theirs, tuple)
        shape, params = theirs
        assert ours.shape == shape
        assert ours.params == params, f"params: ours {ours.params}, keras {params}"
    else:
        assert isinstance(theirs, Exception), f"keras accepted it: {theirs}"
        assert ours.code == code


def test_every_keras_layer_has_examples_or_is_trivial() -> None:
    rules = {r.names[0] for r in LAYERS.values() if r.framework == "keras"}
    covered = {name for name, exs in EXAMPLES.items() if exs}
    assert len(covered) >= 0.7 * len(rules), sorted(rules - covered)


def test_auto_names_match_keras() -> None:
    import keras
    from keras.src.utils.naming import to_snake_case

    from shape_lsp.core.frameworks.keras.models import snake

    for name, rule in LAYERS.items():
        if rule.framework == "keras" and name.startswith("keras.layers."):
            cls = name.rsplit(".", 1)[-1]
            assert hasattr(keras.layers, cls), cls
            assert snake(cls) == to_snake_case(cls)
