"""Every Keras example, the heavy application backbones included, against Keras 3 (torch
backend); the test suite samples the backbones (tests/keras/test_layer_examples.py).

    .venv/bin/python benchmarks/keras_app_examples.py
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.keras.harness import engine, keras_run
from tests.keras.test_layer_examples import ALL_CASES


def main() -> int:
    """Run each example in the engine and in Keras; print disagreements; exit 1 on any."""
    bad = 0
    t0 = time.monotonic()
    for ctor, inputs, code, dtype in ALL_CASES:
        ours = engine(ctor, inputs, dtype)
        theirs = keras_run(ctor, inputs, dtype)
        if code is None:
            agree = (
                isinstance(theirs, tuple)
                and ours.code is None
                and (ours.shape, ours.params) == theirs
            )
        else:
            agree = isinstance(theirs, Exception) and ours.code == code
        if not agree:
            bad += 1
            print(f"DISAGREE {ctor} {inputs}: ours={ours} keras={theirs!r}")
    print(f"{len(ALL_CASES) - bad}/{len(ALL_CASES)} examples agree ({time.monotonic() - t0:.0f} s)")
    return 1 if bad else 0


if __name__ == "__main__":
    raise SystemExit(main())
