"""SH001 is CPython's verdict: the parse cache's split parse equals the whole parse."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

from shape_lsp.core.api import Analyzer
from shape_lsp.core.results import Severity

ROOT = Path(__file__).resolve().parents[2]


def _sweep() -> ModuleType:
    spec = importlib.util.spec_from_file_location("split_sweep", ROOT / "benchmarks/split_sweep.py")
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    sys.modules["split_sweep"] = mod
    spec.loader.exec_module(mod)
    return mod


_METHODS = "".join(
    f"    def m{i}(self, x):\n        y = x + {i}\n        return y\n\n" for i in range(12)
)
# Two stacked multi-line decorators on a method of a long (split) class, and three at the top.
STACKED = (
    "def deco(**kw):\n    return lambda f: f\n\n\n"
    "class VNetLike:\n"
    '    """Long enough to be split per method."""\n\n'
    "    @deco(\n        name='a',\n        since='1.2',\n    )\n"
    "    @deco(\n        name='b', since='1.2'\n    )\n"
    "    def __init__(self, spatial_dims: int = 3):\n        self.spatial_dims = spatial_dims\n\n"
    + _METHODS
    + "\n\n@deco(\n    name='c',\n)\n@deco(\n    name='d',\n)\n@deco(\n    name='e',\n)\n"
    "def top(x):\n    return x\n"
)


def test_stacked_multiline_decorators_are_not_a_syntax_error() -> None:
    result = Analyzer().analyze(STACKED, "stacked.py")
    assert [f for f in result.findings if f.code == "SH001"] == []
    assert _sweep().mismatch(STACKED) is None


def test_a_real_syntax_error_is_still_reported() -> None:
    bad = STACKED.replace("        y = x + 3\n", "        y = x +\n")
    result = Analyzer().analyze(bad, "bad.py")
    assert [f.span.start_line for f in result.findings if f.code == "SH001"] == [
        bad.splitlines().index("        y = x +")
    ]
    assert _sweep().mismatch(bad) is None


def _sample() -> list[Path]:
    spec = importlib.util.find_spec("torch")
    files = sorted((ROOT / "shape_lsp").rglob("*.py"))[::6]
    if spec is not None and spec.origin is not None:
        files += sorted((Path(spec.origin).parent / "nn" / "modules").glob("*.py"))[::4]
    return files


@pytest.mark.parametrize("path", _sample(), ids=lambda p: p.name)
def test_split_parse_equals_whole_parse_on_real_files(path: Path) -> None:
    assert _sweep().mismatch(path.read_text(encoding="utf-8")) is None


def test_too_deep_for_libcst_but_valid_python_says_so() -> None:
    """A 20,000-term `and` chain compiles in CPython but would overflow libcst's parser: it is
    still reported (not analysed is not silent) as SH002, an information, not a syntax error."""
    src = "x = " + "a and " * 20_000 + "b\n"
    compile(src, "<deep>", "exec")  # CPython accepts it
    result = Analyzer().analyze(src, "deep.py")
    assert not [f for f in result.findings if f.code == "SH001"]
    [problem] = [f for f in result.findings if f.code == "SH002"]
    assert problem.severity == Severity.INFORMATION
    assert "too deeply nested" in problem.message and "Python accepts it" in problem.message
