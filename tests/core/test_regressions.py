"""Regressions found by benchmarks/crashfree.py and benchmarks/fuzz.py.

Cases that crashed the process run in a subprocess, so that a regression fails the test instead
of killing pytest. Open bugs in the interpreter are marked xfail(strict=False) with a comment.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap

import libcst
import pytest

from shape_lsp.core.api import Analyzer
from shape_lsp.core.interpreter.frame import MAX_EXPR_DEPTH
from shape_lsp.core.results import AnalysisResult
from shape_lsp.core.source.lines import split_lines
from shape_lsp.core.source.parse import SPLIT_MIN_LINES
from shape_lsp.core.source.positions import _MAX_DEPTH, node_positions

# libcst's native parser overflowed the C stack (SIGSEGV) or took seconds to minutes on these;
# found by the fuzzer (`1 + 1 + ...` 20,000 terms in a long line).
DEEP = {
    "binop": "x = " + "1 + " * 20_000 + "1\n",
    "parens": "x = " + "(" * 5_000 + "1" + ")" * 5_000 + "\n",
    "lists": "x = " + "[" * 5_000 + "1" + "]" * 5_000 + "\n",
    "calls": "x = " + "f(" * 5_000 + "1" + ")" * 5_000 + "\n",
    "attributes": "x = a" + ".b" * 20_000 + "\n",
    "unary": "x = " + "-" * 20_000 + "1\n",
    "not": "x = " + "not " * 20_000 + "1\n",
    "subscripts": "x = a" + "[0]" * 5_000 + "\n",
    "and-chain": "x = " + "a and " * 20_000 + "b\n",
    "lambdas": "x = " + "lambda: " * 5_000 + "1\n",
    "power": "x = " + "2 ** " * 20_000 + "1\n",
    "ternary": "x = " + "1 if a else " * 5_000 + "1\n",
    # the same with a syntax error further on: CPython stops at the error, libcst still recursed
    "binop, then a syntax error": "x = (" + "1 + " * 20_000 + "1\nclass\n",
    "and-chain, then a syntax error": "x = " + "a and " * 20_000 + "b +\n",
    # under 2,000 characters, where the depth check was skipped (fuzz seed 167115)
    "unclosed braces, short chunk": "x = " + "{" * 1_450 + "\n",
}

_RUN = textwrap.dedent(
    """
    import sys, time
    from shape_lsp.core.api import Analyzer
    src = sys.stdin.read()
    text = "import torch.nn as nn\\n" + src + "net = nn.Sequential(nn.Linear(4, 8), nn.Linear(9, 2))\\n"
    t = time.monotonic()
    r = Analyzer().analyze(text, "deep.py")
    codes = sorted({f.code for f in r.findings})
    print("codes", codes, "seconds", round(time.monotonic() - t, 2))
    """
)


@pytest.mark.parametrize("kind", list(DEEP))
def test_deep_nesting_is_a_syntax_problem_not_a_crash(kind: str) -> None:
    proc = subprocess.run(
        [sys.executable, "-c", _RUN],
        input=DEEP[kind],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 0, f"exit {proc.returncode}: {proc.stderr[-2000:]}"
    # the deep statement is reported (SH001 when CPython rejects it too, SH002 when only the
    # parser cannot read it), and the rest of the file is still analysed
    assert ("SH001" in proc.stdout or "SH002" in proc.stdout), proc.stdout
    assert "SH101" in proc.stdout, proc.stdout


def test_nesting_python_accepts_is_still_analysed() -> None:
    src = "import torch.nn as nn\nx = " + "(" * 150 + "1" + ")" * 150 + "\n"
    src += "y = " + " + ".join(["1"] * 500) + "\n"
    src += "net = nn.Sequential(nn.Linear(4, 8), nn.Linear(9, 2))\n"
    r = Analyzer().analyze(src, "ok.py")
    assert [f.code for f in r.findings] == ["SH101"]


def test_string_bytes_concatenation_is_a_syntax_problem() -> None:
    # libcst raised CSTValidationError (not a ParserSyntaxError), which escaped `analyze`
    src = "x = 'a' b'b'\nimport torch.nn as nn\nnet = nn.Sequential(nn.Linear(4, 8), nn.Linear(9, 2))\n"
    r = Analyzer().analyze(src, "concat.py")
    assert [f.code for f in r.findings] == ["SH001", "SH101"]


@pytest.mark.parametrize("sep", ["\x0c", "\x0b", "\x1c", "\x85", "\u2028", "\u2029"])
def test_only_newlines_end_lines(sep: str) -> None:
    # str.splitlines also broke lines at these, shifting every later span by one line
    src = f"import torch.nn as nn\n# page{sep}break\nnet = nn.Sequential(nn.Linear(4, 8), nn.Linear(9, 2))\n"
    (f,) = Analyzer().analyze(src, "ff.py").findings
    assert (f.code, f.span.start_line) == ("SH101", 2)


# The codegen pass that computes positions (parse.node_positions) recurses in Python, ~6 frames
# per nested subscript, and hit RecursionError at ~160 levels, which CPython accepts (its limit
# is 200 brackets). The whole chunk then lost its positions: call lines became 0 and findings in
# it had no span. Found by benchmarks/fuzz.py (seed 73).
def test_positions_survive_deep_but_valid_nesting() -> None:
    arg = "a[" * 195 + "1" + "]" * 195
    src = (
        "import torch\nimport torch.nn as nn\n\nembed = nn.Sequential(\n    nn.Flatten(),\n"
        f"    nn.Linear(192, {arg}),\n)\n\nx = embed(torch.randn(4, 3, 8, 8))\n"
    )
    (m,) = Analyzer().analyze(src, "deep_ok.py").models
    assert [c.line for c in m.calls] == [9, 5, 6]


# Every kind of nesting, at depths between the interpreter's MAX_EXPR_DEPTH (deeper expressions
# are unknown) and the parse guard's _MAX_DEPTH (deeper chunks are SH001): either the chunk is
# analysed with correct positions, or it is an SH001; never line 0, never an internal error.
NESTING = {
    "subscripts": lambda n: "a[" * n + "1" + "]" * n,
    "subscript chain": lambda n: "a" + "[0]" * n,
    "lists": lambda n: "[" * n + "1" + "]" * n,
    "calls": lambda n: "f(" * n + "1" + ")" * n,
    "tuples": lambda n: "(" * n + "1" + ",)" * n,
    "dicts": lambda n: "{1: " * n + "1" + "}" * n,
    "attributes": lambda n: "a" + ".b" * n,
    "unary": lambda n: "-" * n + "1",
    "not": lambda n: "not " * n + "1",
    "binop": lambda n: "1 + " * n + "1",
    "power": lambda n: "2 ** " * n + "1",
    "and-chain": lambda n: "a and " * n + "b",
    "lambdas": lambda n: "lambda: " * n + "1",
    "ternary": lambda n: "1 if a else " * n + "1",
}


def _spans_inside(result: AnalysisResult, text: str) -> bool:
    lines = text.split("\n")
    spans = [f.span for f in result.findings] + [f.span for f in result.facts]
    return all(
        0 <= s.start_line <= s.end_line < len(lines)
        and s.start_col <= len(lines[s.start_line]) + 1
        and s.end_col <= len(lines[s.end_line]) + 1
        for s in spans
    ) and all(1 <= c.line <= len(lines) for m in result.models for c in m.calls)


# (text with {arg}, the SH101 line, the model's call lines); in a method, an unwinding
# RecursionError also turned into a KeyError in the enclosing blocks' position records
PLACES = {
    "top level": (
        "import torch\nimport torch.nn as nn\n\nembed = nn.Sequential(\n    nn.Flatten(),\n"
        "    nn.Linear(192, {arg}),\n)\n\nx = embed(torch.randn(4, 3, 8, 8))\n"
        "net = nn.Sequential(nn.Linear(4, 8), nn.Linear(9, 2))\n",
        9,
        [9, 5, 6],
    ),
    "method": (
        "import torch\nimport torch.nn as nn\n\n\nclass Net(nn.Module):\n"
        "    def __init__(self):\n        super().__init__()\n        self.a = nn.Linear(4, {arg})\n"
        "        self.b = nn.Sequential(nn.Linear(4, 8), nn.Linear(9, 2))\n\n"
        "    def forward(self, x):\n        return self.b(x)\n\n\ny = Net()(torch.randn(2, 4))\n",
        8,
        [15, 12, 9, 9],
    ),
}


@pytest.mark.parametrize("place", list(PLACES))
@pytest.mark.parametrize("depth", [MAX_EXPR_DEPTH + 1, 199, 480, _MAX_DEPTH - 20, 1900])
@pytest.mark.parametrize("kind", list(NESTING))
def test_deep_nesting_has_positions_or_is_a_syntax_problem(
    kind: str, depth: int, place: str
) -> None:
    template, sh101_line, call_lines = PLACES[place]
    src = template.replace("{arg}", NESTING[kind](depth))
    r = Analyzer().analyze(src, "deep.py")
    assert _spans_inside(r, src)
    assert r.internal_errors == ()
    codes = [(f.code, f.span.start_line) for f in r.findings]
    if any(code in ("SH001", "SH002") for code, _ in codes):
        return  # the deep statement is reported (see test_deep_nesting_is_a_syntax_problem)
    assert ("SH101", sh101_line) in codes
    assert [c.line for c in r.models[0].calls] == call_lines


def test_positions_asked_deep_in_the_stack() -> None:
    # the analysis may first ask for a chunk's positions far down its own recursion
    module = libcst.parse_module("x = " + "-" * 300 + "1\n")
    expected = node_positions(module)

    def down(n: int) -> dict[libcst.CSTNode, tuple[int, int, int, int]]:
        return down(n - 1) if n else node_positions(module)

    limit = sys.getrecursionlimit()
    assert down(limit - 100) == expected
    assert sys.getrecursionlimit() == limit


# An unhashable OrderedDict key in a Sequential is a user error (Python raises TypeError too):
# unknown, not an internal error. Found by the fuzzer.
def test_unhashable_ordered_dict_key_is_not_an_internal_error() -> None:
    src = (
        "from collections import OrderedDict\nimport torch.nn as nn\n"
        "net = nn.Sequential(OrderedDict([('a', nn.ReLU()), ([1, 2], nn.Sigmoid())]))\n"
    )
    assert Analyzer().analyze(src, "od.py").internal_errors == ()


# 1,000 chained unary minuses (valid Python) used to exceed the recursion limit in the
# interpreter; past a nesting depth expressions are now unknown. Found by the fuzzer (seed 1968).
def test_deep_but_valid_expression_is_not_an_internal_error() -> None:
    deep = "-" * 1000 + "1"
    src = f"import torch.nn as nn\nnet = nn.Sequential(nn.Linear(4, {deep}), nn.ReLU())\n"
    assert Analyzer().analyze(src, "deep.py").internal_errors == ()


# A blank line in a split class (SPLIT_MIN_LINES or longer) became "\n", which joined the line
# break before it when that was a lone CR ("\r" + "\n" is one break): every later span in the
# method was one line up. Found by benchmarks/fuzz.py (seed 44158: mixed, then CR-only endings).
@pytest.mark.parametrize("blank", ["", "    ", "# a comment at column 0"])
def test_blank_line_after_a_lone_cr_in_a_split_class(blank: str) -> None:
    filler = "".join(f"        self.act{i} = nn.ReLU()\r" for i in range(SPLIT_MIN_LINES))
    src = (
        "import torch.nn as nn\r\r\rclass Net(nn.Module):\r    def __init__(self):\r"
        f"        super().__init__()\r{blank}\r{filler}"
        "        self.net = nn.Sequential(nn.Linear(4, 8), nn.Linear(9, 2))\r\r"
        "    def forward(self, x):\r        return self.net(x)\r"
    )
    (f,) = Analyzer().analyze(src, "cr.py").findings
    assert (f.code, f.span.start_line) == ("SH101", 7 + SPLIT_MIN_LINES)


# A syntax error's line was clamped to the chunk's last line counted by "\n" only: in a file
# with lone-CR line endings every error went to the chunk's first line.
@pytest.mark.parametrize("nl", ["\n", "\r", "\r\n"])
def test_syntax_error_line_with_any_line_ending(nl: str) -> None:
    src = "import torch\n\ndef f(x):\n    y = 1\n    z = (\n    return x\n".replace("\n", nl)
    (f,) = Analyzer().analyze(src, "e.py").findings
    assert (f.code, f.span.start_line) == ("SH001", 4)


# libcst leaves a backslash-only line before a statement out of its tree (and may render the
# next line with another indentation): every later range in the chunk was a line up, past the
# end of the file for the last statement. Found by benchmarks/fuzz.py (seed 98374).
BACKSLASH_LINES = [
    "\\\nx = 1\n",
    "x = 1\n\\\ny = 2\n",
    "\\\n\\\nx = 1\n",
    "x = 1\n\\\n  \\\ny = f(z)\n",
    "def f():\n    x = 1\n    \\\n    y = 2\n",
    "# c\n\\\nx = 1\n",
    "\\\n    y = 2\n",
    "if x:\n    a = 1\n\\\n    y = 2\n",
    "if x:\n    a = 1\n    \\\n        y = 2\n    z = 3\n",
    "\\\r\nx = 1\r\n",
    "x = 1\r\\\ry = 2\r",
    "\\\nx = (a,\n     b)\nw = 1\n",
    "x = [1,\n\\\n2]\n",  # kept by libcst: nothing to move
    "s = '''\n\\\n'''\nt = 1\n",
]


@pytest.mark.parametrize("src", BACKSLASH_LINES)
def test_positions_after_a_backslash_only_line(src: str) -> None:
    lines = split_lines(src)
    names = [
        (node.value, r)
        for node, r in node_positions(libcst.parse_module(src), src).items()
        if isinstance(node, libcst.Name)
    ]
    assert names
    for name, (sl, sc, el, ec) in names:
        assert sl == el and lines[sl - 1][sc:ec] == name


def test_backslash_only_line_before_a_model() -> None:
    src = (
        "import torch.nn as nn\n\\\nnet = nn.Sequential(\n    nn.Linear(4, 8),\n"
        "    nn.Linear(9, 2),\n)\n"
    )
    (f,) = Analyzer().analyze(src, "bs.py").findings
    assert (f.code, f.span.start_line, f.span.start_col) == ("SH101", 4, 4)
