"""Fuzzing the core (small run): mutated fixture models never crash, hang or give bad spans.

The mutators live in benchmarks/fuzz.py (the large run, >= 100,000 cases); here hypothesis
drives them, so a failure shrinks to a small sequence of choices.
"""

from __future__ import annotations

import importlib.util
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from shape_lsp.core.api import Analyzer

ROOT = Path(__file__).parents[2]
_spec = importlib.util.spec_from_file_location("shape_fuzz", ROOT / "benchmarks" / "fuzz.py")
assert _spec is not None and _spec.loader is not None
fuzz = importlib.util.module_from_spec(_spec)
sys.modules["shape_fuzz"] = fuzz
_spec.loader.exec_module(fuzz)

pytestmark = pytest.mark.filterwarnings("ignore::SyntaxWarning")

SEEDS = fuzz.seeds()
LIMIT_S = 5.0
ANALYZER = Analyzer()


class DrawRng:
    """The `rng` the mutators want, backed by hypothesis draws (so failures shrink)."""

    def __init__(self, data: Any) -> None:
        self.data = data

    def randrange(self, n: int) -> int:
        return self.data.draw(st.integers(0, max(n - 1, 0))) if n > 1 else 0

    def random(self) -> float:
        return self.data.draw(st.floats(0, 1, exclude_max=True))

    def choice(self, seq: Any) -> Any:
        return seq[self.randrange(len(seq))]


class _Hang(Exception):
    pass


def _analyse_within(text: str, limit: float) -> Any:
    """Analyse, failing (not hanging) when it takes far longer than the bound."""

    def alarm(*_: object) -> None:
        raise _Hang

    old = signal.signal(signal.SIGALRM, alarm)
    signal.setitimer(signal.ITIMER_REAL, limit * 6)  # the hard stop; the bound is checked below
    try:
        t0 = time.process_time()
        result = ANALYZER.analyze(text, "fuzz.py")
        return result, time.process_time() - t0
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)


def _check(text: str) -> None:
    try:
        result, seconds = _analyse_within(text, LIMIT_S)
    except _Hang:
        pytest.fail(f"analyze did not return within {LIMIT_S * 6:.0f} s")
    assert seconds < LIMIT_S, f"analyze took {seconds:.1f} s of CPU"
    assert fuzz.check_result(result, text) == []


FUZZ = settings(
    max_examples=250,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


@FUZZ
@given(data=st.data())
def test_mutated_fixtures(data: Any) -> None:
    rng = DrawRng(data)
    text, _ = fuzz.mutate(SEEDS[rng.randrange(len(SEEDS))], rng)
    _check(text)


@settings(
    max_examples=60, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow]
)
@given(seed=st.sampled_from(SEEDS), raw=st.binary(max_size=64), where=st.integers(0, 10_000))
def test_random_bytes_decoded_as_the_cli_does(seed: str, raw: bytes, where: int) -> None:
    data = seed.encode()
    i = where % (len(data) + 1)
    blob = data[:i] + raw + data[i:]
    try:
        text = blob.decode("utf-8")
    except UnicodeDecodeError:
        text = blob.decode("latin-1")
    _check(text)


@pytest.mark.parametrize("name", sorted(fuzz.MUTATORS))
def test_every_mutator_on_every_fixture_once(name: str) -> None:
    import random

    for i, seed in enumerate(SEEDS):
        _check(fuzz.MUTATORS[name](seed, random.Random(i)))


NASTY = {
    "nul.py": b"import torch.nn as nn\x00\nnet = nn.Linear(4, 4)\n",
    "latin1.py": b"# caf\xe9\nimport torch.nn as nn\nnet = nn.Sequential(nn.Linear(4, 8), nn.Linear(9, 2))\n",
    "crlf.py": b"import torch.nn as nn\r\nnet = nn.Sequential(nn.Linear(4, 8),\r\n nn.Linear(9, 2))\r\n",
    "cr.py": b"import torch.nn as nn\rnet = nn.Sequential(nn.Linear(4, 8), nn.Linear(9, 2))\r",
    "bom.py": b"\xef\xbb\xbfimport torch.nn as nn\nnet = nn.Linear(4, 4)\n",
    "deep.py": b"x = " + b"(" * 5000 + b"1" + b")" * 5000 + b"\n",
    "long.py": b"x = 1  # " + b"#" * 300_000 + b"\n",
    "truncated.py": b"import torch.nn as nn\nclass Net(nn.Module):\n    def forward(self, x):\n        return self.fc(x.vi",
    "empty.py": b"",
    "binary.py": bytes(range(256)) * 4,
}


def test_cli_on_nasty_files(tmp_path: Path) -> None:
    for name, blob in NASTY.items():
        (tmp_path / name).write_bytes(blob)
    for args in (
        ["check", str(tmp_path)],
        ["check", "--format", "json", str(tmp_path)],
        *(["summary", str(tmp_path / n)] for n in NASTY),
    ):
        proc = subprocess.run(
            [sys.executable, "-m", "shape_lsp", *args],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert proc.returncode in (0, 1, 2), (args, proc.returncode, proc.stderr[-2000:])
        assert "Traceback" not in proc.stderr, (args, proc.stderr[-2000:])
