"""Jupyter notebooks in `check`, `check --fix` and `summary`: the code cells as one program,
IPython syntax neutralised line for line, locations naming the cell, fixes written back into
the cell sources only. Every notebook here is written by the test."""

from __future__ import annotations

import ast
import difflib
import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shape_lsp import cli
from shape_lsp.notebooks import build, neutralise, read_cells, rewrite_sources

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = sorted((ROOT / "tests" / "fixtures").rglob("*.py"))

MODEL = """\
class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 6, 5)
        self.fc = nn.Linear(100, 10)

    def forward(self, x):
        x = self.conv(x)
        return self.fc(x)
"""


def code(source: str | list[str], **extra: Any) -> dict[str, Any]:
    cell = {"cell_type": "code", "execution_count": None, "metadata": {}, "outputs": []}
    return {**cell, "source": source, **extra}


def markdown(source: str) -> dict[str, Any]:
    return {"cell_type": "markdown", "metadata": {}, "source": source}


def lines(text: str) -> list[str]:
    """nbformat's list form: every line but the last keeps its newline."""
    return text.splitlines(keepends=True)


def notebook(cells: list[dict[str, Any]], **metadata: Any) -> dict[str, Any]:
    meta = metadata or {"kernelspec": {"name": "python3", "language": "python"}}
    return {"cells": cells, "metadata": meta, "nbformat": 4, "nbformat_minor": 5}


def write_nbformat(path: Path, nb: dict[str, Any]) -> str:
    """As Jupyter writes it (nbformat: indent 1, sorted keys, non-ASCII kept, final newline)."""
    text = json.dumps(nb, indent=1, sort_keys=True, ensure_ascii=False) + "\n"
    path.write_text(text, encoding="utf-8")
    return text


def check_json(capsys: pytest.CaptureFixture[str], *args: str) -> dict[str, Any]:
    cli.main(["check", "--no-cache", "--format", "json", *args])
    return json.loads(capsys.readouterr().out)  # type: ignore[no-any-return]


# -- IPython syntax ---------------------------------------------------------------------------

IPYTHON = [
    "%matplotlib inline",
    "%load_ext autoreload",
    "!pip install torch",
    "files = !ls",
    "out = %sx echo hi",
    "torch.nn.Linear?",
    "??torch.nn.Linear",
    "%timeit torch.randn(3)",
    "/print 1",
    "%config InlineBackend.figure_format = 'retina'",
    "!ls \\\n  -la",
    "x = await asyncio.sleep(0)",
    "async with lock:\n    pass",
    "for i in range(2):\n    %time torch.randn(3)\n    !echo $i",
]


@pytest.mark.parametrize("snippet", IPYTHON)
def test_ipython_syntax_is_neutralised_line_for_line(
    snippet: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    src = snippet.split("\n")
    new, _ = neutralise(src)
    assert len(new) == len(src)
    ast.parse("\n".join(new))  # plain Python now
    nb = tmp_path / "nb.ipynb"
    write_nbformat(nb, notebook([code("import torch\nimport asyncio\n" + snippet)]))
    out = check_json(capsys, str(nb))
    assert out["files"][0]["diagnostics"] == []  # no SH001 for IPython syntax


def test_strings_and_comments_that_look_like_magics_are_code() -> None:
    src = ["s = '''", "%not a magic", "!nor this", "'''", "t = (1,", "     %2)", "# %comment"]
    new, _ = neutralise(src)
    assert new == src


def test_cell_magics_python_body_kept_other_bodies_blank() -> None:
    time_cell, _ = neutralise(["%%time", "y = f(x)"])
    assert time_cell == ["pass", "y = f(x)"]
    bash, _ = neutralise(["%%bash", "echo hi", "ls -la"])
    assert bash == ["pass", "", ""]


def test_time_line_magic_keeps_the_statement_and_its_columns(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    src = (
        "import torch\nimport torch.nn as nn\nm = nn.Linear(10, 5)\n%time y = m(torch.randn(2, 11))"
    )
    nb = tmp_path / "nb.ipynb"
    write_nbformat(nb, notebook([code(lines(src))]))
    [d] = check_json(capsys, str(nb))["files"][0]["diagnostics"]
    assert (d["cell"], d["line"], d["column"]) == (1, 4, 11)  # the `m(` after `%time y = `


# -- check, summary ---------------------------------------------------------------------------


def _bug_notebook() -> dict[str, Any]:
    return notebook(
        [
            markdown("# A model"),
            code(lines("import torch\nimport torch.nn as nn\n%matplotlib inline")),
            code(
                lines(MODEL), outputs=[{"output_type": "stream", "name": "stdout", "text": ["é\n"]}]
            ),
            code(lines("net = Net()\nout = net(torch.randn(4, 3, 32, 32))")),
            code(lines("lin = nn.Linear(10, 5)\ny = lin(torch.randn(2, 11))"), id="c5"),
        ]
    )


def test_check_names_the_cell_in_text_and_json(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    nb = tmp_path / "nb.ipynb"
    write_nbformat(nb, _bug_notebook())
    assert cli.main(["check", "--no-cache", str(nb)]) == 1
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith(f"{nb}:cell 3:9:16: SH101 fc: Linear(in_features=100)"), out
    assert out[1].startswith(f"{nb}:cell 5:2:5: SH101 Linear(in_features=10) gets (2, 11)"), out
    d3, d5 = check_json(capsys, str(nb))["files"][0]["diagnostics"]
    assert (d3["cell"], d3["cell_index"], d3["line"], d3["column"]) == (3, 2, 9, 16)
    assert (d5["cell"], d5["cell_id"], d5["line"], d5["end_line"]) == (5, "c5", 2, 2)
    assert d3["trace"][0].startswith("cell 4, line 2: torch.randn"), d3["trace"]


def test_directories_include_notebooks_but_not_checkpoints(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write_nbformat(tmp_path / "a.ipynb", _bug_notebook())
    (tmp_path / ".ipynb_checkpoints").mkdir()
    write_nbformat(tmp_path / ".ipynb_checkpoints" / "a-checkpoint.ipynb", _bug_notebook())
    (tmp_path / "b.py").write_text("x = 1\n")
    files = check_json(capsys, str(tmp_path))["files"]
    assert sorted(Path(f["path"]).name for f in files) == ["a.ipynb", "b.py"]


def test_other_kernels_and_broken_json(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    r = tmp_path / "r.ipynb"
    write_nbformat(r, notebook([code("x <- c(1, 2)")], language_info={"name": "R"}))
    bad = tmp_path / "bad.ipynb"
    bad.write_text("{not json")
    assert cli.main(["check", "--no-cache", str(r), str(bad)]) == 0
    captured = capsys.readouterr()
    assert "All checks passed (2 files)" in captured.out
    assert f"{bad}: error: not valid JSON" in captured.err


def test_summary_of_a_notebook(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    nb = tmp_path / "nb.ipynb"
    write_nbformat(nb, _bug_notebook())
    assert cli.main(["summary", str(nb)]) == 0
    out = capsys.readouterr().out
    assert "conv (Conv2d)" in out and "(4, 6, 28, 28)" in out


def test_graph_of_a_notebook(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    nb = tmp_path / "nb.ipynb"
    write_nbformat(nb, _bug_notebook())
    models = check_json(capsys, str(nb))["files"][0]["models"]
    placed = [n for m in models for n in m["graph"]["nodes"] if n["line"]]
    assert placed and all(n["cell"] >= 1 for n in placed)
    assert cli.main(["graph", str(nb)]) == 0
    assert capsys.readouterr().out.startswith("digraph")


# -- --fix ------------------------------------------------------------------------------------


def _changed_lines(old: str, new: str) -> list[str]:
    return [
        ln
        for ln in difflib.unified_diff(old.splitlines(), new.splitlines(), lineterm="", n=0)
        if ln[:1] in "+-" and not ln.startswith(("+++", "---"))
    ]


def test_fix_rewrites_only_cell_sources(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    nb = tmp_path / "nb.ipynb"
    before = write_nbformat(nb, _bug_notebook())
    assert cli.main(["check", "--no-cache", "--fix", str(nb)]) == 0
    assert "Fixed 2 problems" in capsys.readouterr().out
    after = nb.read_text(encoding="utf-8")
    changed = _changed_lines(before, after)
    assert changed and all(ln[1:].startswith('    "') for ln in changed), changed  # source items
    old, new = json.loads(before), json.loads(after)
    for c_old, c_new in zip(old["cells"], new["cells"], strict=True):
        assert {k: v for k, v in c_old.items() if k != "source"} == {
            k: v for k, v in c_new.items() if k != "source"
        }
    assert "torch.flatten(x, 1)" in "".join(new["cells"][2]["source"])
    assert "nn.Linear(11, 5)" in "".join(new["cells"][4]["source"])
    assert check_json(capsys, str(nb))["files"][0]["diagnostics"] == []


def test_rewrite_keeps_other_styles() -> None:
    """A string source, 2-space indentation and ASCII escapes stay as they were."""
    nb = notebook([markdown("café"), code("a = 1\nb = 2\n"), code(["x = 1\n", "y = 2"])])
    text = json.dumps(nb, indent=2)
    assert "\\u00e9" in text
    new = rewrite_sources(text, {1: "a = 1\nb = 3\n", 2: "x = 1\ny = 3é"})
    assert json.loads(new)["cells"][1]["source"] == "a = 1\nb = 3\n"
    assert json.loads(new)["cells"][2]["source"] == ["x = 1\n", "y = 3é"]
    assert "y = 3\\u00e9" in new  # escaped like the rest of the file
    assert sorted(_changed_lines(text, new)) == sorted(
        [
            '-      "source": "a = 1\\nb = 2\\n"',
            '-        "y = 2"',
            '+      "source": "a = 1\\nb = 3\\n"',
            '+        "y = 3\\u00e9"',
        ]
    )


# -- the seed examples as notebooks ---------------------------------------------------------


def split_cells(source: str) -> list[tuple[int, str]]:
    """The file cut into cells at top-level statements: (first line, source) per cell."""
    text_lines = source.splitlines(keepends=True)
    starts = sorted(
        {0}
        | {
            (n.decorator_list[0] if getattr(n, "decorator_list", None) else n).lineno - 1
            for n in ast.parse(source).body
        }
    )
    ends = [*starts[1:], len(text_lines)]
    return [(a, "".join(text_lines[a:b])) for a, b in zip(starts, ends, strict=True) if a < b]


@pytest.mark.parametrize("path", FIXTURES, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_seed_example_as_notebook_gives_the_same_findings(
    path: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = path.read_text(encoding="utf-8")
    py = tmp_path / path.name
    py.write_text(source, encoding="utf-8")
    cells: list[dict[str, Any]] = [markdown("# " + path.stem), code("%load_ext autoreload")]
    where: list[tuple[int, int]] = []  # per cell: (.py first line, cell number)
    for i, (first, text) in enumerate(split_cells(source)):
        if i == 2:
            cells.append(code(lines("!nvidia-smi\n%matplotlib inline")))
        cells.append(code(lines(text)))
        where.append((first, len(cells)))
    nb = tmp_path / (path.stem + ".ipynb")
    write_nbformat(nb, notebook(cells))
    want = []
    for d in check_json(capsys, str(py))["files"][0]["diagnostics"]:
        first, number = max(w for w in where if w[0] <= d["line"] - 1)
        line = d["line"] - first
        end = d["end_line"] - first
        want.append((d["code"], d["message"], number, line, d["column"], end, d["fixes"]))
    got = [
        (d["code"], d["message"], d["cell"], d["line"], d["column"], d["end_line"], d["fixes"])
        for d in check_json(capsys, str(nb))["files"][0]["diagnostics"]
    ]
    assert got == want


def test_program_lines_map_back_to_cells() -> None:
    cells = read_cells(json.dumps(notebook([markdown("x"), code("a\nb\n"), code(["c"])])))
    p = build(cells)
    assert p.text == "a\nb\nc\n"
    assert [p.locate(i, 0)[:2] for i in range(3)] == [(1, 0), (1, 1), (2, 0)]


# -- bad input never crashes ----------------------------------------------------------------

_LINE = st.text(alphabet=st.sampled_from(list("%!?/,;'\"#()[]{}\\ \tabx=:.")), max_size=12)


@settings(max_examples=300, deadline=None)
@given(st.lists(_LINE, min_size=1, max_size=8))
def test_neutralise_keeps_every_line_and_never_raises(src: list[str]) -> None:
    new, shifts = neutralise(src)
    assert len(new) == len(shifts) == len(src)
    p = build(read_cells(json.dumps(notebook([code("\n".join(src))]))))
    for i in range(len(p.origins) + 2):
        p.locate(i, 3)


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.text(max_size=30), min_size=2, max_size=4),
    st.sampled_from(["nbformat", "string", "ascii"]),
)
def test_rewrite_round_trips_any_source(sources: list[str], style: str) -> None:
    cells = [code(lines(s) if style != "string" else s) for s in sources]
    nb = notebook(cells)
    text = (
        json.dumps(nb, indent=1, sort_keys=True, ensure_ascii=False)
        if style == "nbformat"
        else json.dumps(nb, indent=2, ensure_ascii=style == "ascii")
    )
    new = {i: s[::-1] + "\nz = 1" for i, s in enumerate(sources) if i % 2 == 0}
    out = json.loads(rewrite_sources(text, new))
    for i, s in enumerate(sources):
        got = out["cells"][i]["source"]
        assert ("".join(got) if isinstance(got, list) else got) == new.get(i, s)
