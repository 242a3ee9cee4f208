"""Fixture model files state their expected findings inline; this test diffs them all.

A line ending in `# E: SH101` (several codes separated by spaces) expects those findings on that
line; every other line expects none. `# expect-model: Name (2, 10)` states a model's output.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from shape_lsp.core.api import Analyzer

FIXTURES = Path(__file__).parent.parent / "fixtures"
FILES = sorted(FIXTURES.rglob("*.py"))
_EXPECT = re.compile(r"#\s*E:\s*(?P<codes>(?:SH\d{3}\s*)+)")
_MODEL = re.compile(r"#\s*expect-model:\s*(?P<name>\w+)\s+(?P<shape>\(.*\))\s*$")

_analyzer = Analyzer()


def expectations(text: str) -> tuple[set[tuple[int, str]], dict[str, str]]:
    """(line, code) pairs and model outputs written in the fixture."""
    found: set[tuple[int, str]] = set()
    models: dict[str, str] = {}
    for i, line in enumerate(text.splitlines(), start=1):
        m = _EXPECT.search(line)
        if m:
            found |= {(i, c) for c in m.group("codes").split()}
        mm = _MODEL.search(line)
        if mm:
            models[mm.group("name")] = mm.group("shape")
    return found, models


@pytest.mark.parametrize("path", FILES, ids=[str(p.relative_to(FIXTURES)) for p in FILES])
def test_fixture(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    want, models = expectations(text)
    result = _analyzer.analyze(text, str(path))
    got = {(f.span.start_line + 1, f.code) for f in result.findings}
    detail = "\n".join(f"  {f.span.start_line + 1}: {f.code} {f.message}" for f in result.findings)
    assert got == want, f"findings differ:\n{detail}"
    assert not result.internal_errors, result.internal_errors
    outputs = {m.name: m.output for m in result.models}
    for name, shape in models.items():
        assert outputs.get(name) == shape, f"{name}: {outputs.get(name)} != {shape}"
