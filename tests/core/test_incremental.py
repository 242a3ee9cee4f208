"""Incremental analysis (chunk parse cache, split classes) equals a from-scratch analysis."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from shape_lsp.core.api import Analyzer
from shape_lsp.core.results import AnalysisResult
from shape_lsp.core.source import parse
from tests.core.test_fixtures import FILES


def digest(r: AnalysisResult) -> tuple[object, ...]:
    return (r.findings, r.facts, r.models, r.parsed)


def _edit(rng: random.Random, text: str) -> str:
    lines = text.splitlines(keepends=True)
    i = rng.randrange(len(lines))
    kind = rng.choice(["dup", "delete", "comment", "digit", "typo", "indent"])
    if kind == "dup":
        lines.insert(i, lines[i])
    elif kind == "delete" and len(lines) > 3:
        del lines[i]
    elif kind == "comment":
        lines[i] = lines[i].rstrip("\r\n") + "  # note\n"
    elif kind == "digit":
        lines[i] = "".join(str(rng.randrange(10)) if c.isdigit() else c for c in lines[i])
    elif kind == "typo" and lines[i].strip():
        j = rng.randrange(len(lines[i]))
        lines[i] = lines[i][:j] + rng.choice("():,=x") + lines[i][j:]
    elif kind == "indent":
        lines[i] = "    " + lines[i]
    return "".join(lines)


@pytest.mark.parametrize("seed", range(6))
def test_random_edit_sequences_match_fresh_analysis(seed: int) -> None:
    rng = random.Random(seed)
    warm = Analyzer()
    path = rng.choice(FILES)
    text = path.read_text(encoding="utf-8")
    for _ in range(25):
        text = _edit(rng, text)
        got = warm.analyze(text, "m.py")
        assert digest(got) == digest(Analyzer().analyze(text, "m.py"))


def test_split_classes_give_the_same_results(monkeypatch: pytest.MonkeyPatch) -> None:
    for path in FILES:
        text = path.read_text(encoding="utf-8")
        monkeypatch.setattr(parse, "SPLIT_MIN_LINES", 10**9)
        whole = Analyzer().analyze(text, str(path))
        monkeypatch.setattr(parse, "SPLIT_MIN_LINES", 3)
        split = Analyzer().analyze(text, str(path))
        assert [(f.code, f.span) for f in split.findings] == [
            (f.code, f.span) for f in whole.findings
        ], path.name
        assert {(f.span, f.shape) for f in split.facts} == {
            (f.span, f.shape) for f in whole.facts
        }, path.name
        assert [(m.name, m.output) for m in split.models] == [
            (m.name, m.output) for m in whole.models
        ]


def test_syntax_error_inside_one_method_keeps_the_class(tmp_path: Path) -> None:
    body = "\n".join(f"    def m{i}(self, x):\n        return x\n" for i in range(20))
    src = (
        "import torch.nn as nn\n\n"
        "class Net(nn.Module):\n"
        "    def __init__(self):\n"
        "        super().__init__()\n"
        "        self.a = nn.Linear(4, 8)\n"
        "        self.b = nn.Linear(9, 2)\n\n"
        "    def broken(self:\n"
        "        pass\n\n"
        f"{body}\n"
        "    def forward(self, x):  # shape: x=(2, 4)\n"
        "        return self.b(self.a(x))\n"
    )
    r = Analyzer().analyze(src, "m.py")
    assert sorted(f.code for f in r.findings) == ["SH001", "SH101"]


@pytest.mark.parametrize("seed", range(6))
def test_cached_model_runs_match_fresh_analysis(seed: int, monkeypatch: pytest.MonkeyPatch) -> None:
    # Every class split into method pieces, so that an edit in one method leaves the other
    # classes' cached runs valid: the replayed results must equal a from-scratch analysis.
    monkeypatch.setattr(parse, "SPLIT_MIN_LINES", 3)
    rng = random.Random(100 + seed)
    warm = Analyzer()
    with_classes = [f for f in FILES if "\nif __name__" in f.read_text(encoding="utf-8")]
    # three files' models without their example calls: every class is run on its own (and
    # so cached), and an edit in one leaves the others' runs valid
    text = "\n\n".join(
        f.read_text(encoding="utf-8").split("\nif __name__")[0] for f in rng.sample(with_classes, 3)
    )
    replays = cached = 0
    for _ in range(30):
        text = _edit(rng, text)
        runs = dict(warm.workspace.runs)
        got = warm.analyze(text, "m.py")
        replays += sum(1 for k, v in warm.workspace.runs.items() if runs.get(k) is v)
        cached += len(warm.workspace.runs)
        assert digest(got) == digest(Analyzer().analyze(text, "m.py"))
    assert replays > 0 or not cached  # the cache was exercised wherever it was filled
