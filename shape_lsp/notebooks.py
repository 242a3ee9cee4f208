"""Jupyter notebooks (nbformat 4) as one program, and back.

The code cells, in order, make one Python program, as the kernel runs them top to bottom.
IPython syntax is neutralised line for line (so program lines map to cell lines one to one):
line magics, `!shell`, `?`-help and escaped calls become `pass` (or `name = ...` for
`x = !ls`), `%time stmt` keeps its statement, and a `%%cell` magic's body stays Python only
for the magics whose body is Python (`%%time`, `%%capture`, ...); other cell magics
(`%%bash`, `%%writefile`, ...) and non-Python cells contribute blank lines.

`Program.locate` maps a program position to (cell, line, column); `rewrite_sources` puts new
cell sources back into the notebook's JSON text, leaving every other byte as it was.
Pure: the standard library only, nothing here runs the notebook.
"""

from __future__ import annotations

import ast
import functools
import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

SUFFIX = ".ipynb"

#: Cell magics whose body is Python that runs in the user namespace.
PYTHON_CELL_MAGICS = frozenset({"time", "capture", "prun", "debug", "pypy", "python", "python3"})
#: Line magics whose argument is a statement run in the user namespace (`%time y = f(x)`).
STATEMENT_LINE_MAGICS = frozenset({"time"})

_LINE_MAGIC = re.compile(r"(?P<indent>[ \t]*)(?:%|!|[/,;](?=[A-Za-z_]))")
_ASSIGN_MAGIC = re.compile(
    r"(?P<indent>[ \t]*)(?P<target>[A-Za-z_][\w.]*(?:\s*,\s*[A-Za-z_][\w.]*)*)\s*=\s*[%!]"
)
_HELP = re.compile(r"[ \t]*(?:\?{1,2}[\w.*]+\s*|[\w.*\[\]()'\"]+\?{1,2}\s*)$")
_TIME = re.compile(r"(?P<indent>[ \t]*)%(?P<magic>\w+)[ \t]+(?=\S)")


class NotebookError(ValueError):
    """The text is not an nbformat 4 notebook."""


@dataclass(frozen=True)
class Cell:
    """A cell of the notebook: its position in `cells` (0-based), kind and source text."""

    index: int
    kind: str
    source: str
    id: str | None = None

    @property
    def number(self) -> int:
        """1-based position among all cells, as a user counts them top to bottom."""
        return self.index + 1


@dataclass(frozen=True)
class LineOrigin:
    """Where a program line comes from: a cell line, and a column shift from `col` on
    (program column c >= col is cell column c + shift)."""

    cell: int
    line: int
    col: int = 0
    shift: int = 0


@dataclass(frozen=True)
class Program:
    """The code cells as one program, with the origin of every program line."""

    text: str
    origins: tuple[LineOrigin, ...]
    cells: tuple[Cell, ...]
    neutralised: frozenset[int] = field(default_factory=frozenset)  # program lines rewritten

    def locate(self, line: int, col: int) -> tuple[int, int, int]:
        """A 0-based program position as (cell index, line in the cell, column)."""
        if not self.origins:
            return 0, 0, 0
        o = self.origins[min(max(line, 0), len(self.origins) - 1)]
        return o.cell, o.line, col + o.shift if col >= o.col else col

    def cell(self, index: int) -> Cell | None:
        """The cell at this index into the notebook's cells."""
        return next((c for c in self.cells if c.index == index), None)

    def cell_lines(self, cell: int) -> range:
        """The program lines (0-based) of a cell."""
        rows = [i for i, o in enumerate(self.origins) if o.cell == cell]
        return range(rows[0], rows[-1] + 1) if rows else range(0)

    def line_is_cell_text(self, line: int) -> bool:
        """Whether a program line is the cell's own text (not neutralised IPython syntax)."""
        return 0 <= line < len(self.origins) and line not in self.neutralised


def is_notebook(path: str) -> bool:
    """Whether the path names a Jupyter notebook."""
    return path.lower().endswith(SUFFIX)


def read_cells(text: str) -> tuple[Cell, ...]:
    """The cells of a notebook's JSON text; raises NotebookError when it is not one."""
    try:
        data = json.loads(text)
    except ValueError as e:
        raise NotebookError(f"not valid JSON: {e}") from None
    if not isinstance(data, dict) or not isinstance(data.get("cells"), list):
        raise NotebookError("not a Jupyter notebook (no 'cells' list)")
    if data.get("nbformat", 4) != 4:
        raise NotebookError(f"nbformat {data.get('nbformat')} (only 4 is supported)")
    python = _is_python(data.get("metadata"))
    cells = []
    for i, raw in enumerate(data["cells"]):
        if not isinstance(raw, dict):
            continue
        src = raw.get("source", "")
        source = "".join(s for s in src if isinstance(s, str)) if isinstance(src, list) else src
        kind = str(raw.get("cell_type", ""))
        if kind == "code" and not python:
            kind = "foreign"
        cid = raw.get("id")
        cells.append(
            Cell(
                i,
                kind,
                source if isinstance(source, str) else "",
                cid if isinstance(cid, str) else None,
            )
        )
    return tuple(cells)


def _is_python(metadata: object) -> bool:
    """Whether the kernel is Python (a notebook that says nothing is taken to be)."""
    if not isinstance(metadata, dict):
        return True
    for key, sub in (("language_info", "name"), ("kernelspec", "language")):
        value = metadata.get(key)
        if isinstance(value, dict) and isinstance(value.get(sub), str):
            return bool(value[sub].lower().startswith(("python", "ipython")))
    return True


def build(cells: Iterable[Cell], only: Sequence[int] | None = None) -> Program:
    """The code cells (or only the cells indexed in `only`; the others stay as blank lines)
    as one program with every line's origin."""
    cells = tuple(cells)
    out: list[str] = []
    origins: list[LineOrigin] = []
    neutral: set[int] = set()
    for cell in cells:
        if cell.kind != "code":
            continue
        lines = cell.source.split("\n")
        if lines and lines[-1] == "" and len(lines) > 1:
            lines.pop()  # a trailing newline ends the last line; it does not start another
        skip = only is not None and cell.index not in only
        new, changes = ([""] * len(lines), []) if skip else _neutralised(tuple(lines))
        for n, (text, (line, col, shift)) in enumerate(
            zip(new, changes or _plain(lines), strict=True)
        ):
            if text != lines[n] and not (col or shift) and not skip:
                neutral.add(len(out))
            origins.append(LineOrigin(cell.index, line, col, shift))
            out.append(text)
    text = "\n".join(out) + ("\n" if out else "")
    return Program(text, tuple(origins), cells, frozenset(neutral))


@functools.lru_cache(maxsize=4096)
def _neutralised(lines: tuple[str, ...]) -> tuple[list[str], list[tuple[int, int, int]]]:
    """`neutralise`, remembered: an edit re-builds the program, unchanged cells come from here
    (callers do not modify the lists)."""
    return neutralise(lines)


def _plain(lines: Sequence[str]) -> list[tuple[int, int, int]]:
    return [(i, 0, 0) for i in range(len(lines))]


def neutralise(lines: Sequence[str]) -> tuple[list[str], list[tuple[int, int, int]]]:
    """A cell's lines with IPython syntax made plain Python, line for line, and for each line
    (cell line, column from which a shift applies, the shift)."""
    out = list(lines)
    shifts = _plain(lines)
    first = next((i for i, ln in enumerate(lines) if ln.strip()), None)
    if first is not None and lines[first].lstrip().startswith("%%"):
        magic = lines[first].lstrip()[2:].split(None, 1)[0] if lines[first].strip() != "%%" else ""
        out[first] = "pass"
        if magic not in PYTHON_CELL_MAGICS:
            return ["" if i > first else out[i] for i in range(len(out))], shifts
    starts = _logical_starts(out)
    i = 0
    while i < len(out):
        line = out[i]
        if i not in starts or not line.strip():
            i += 1
            continue
        end = i
        while end + 1 < len(out) and line_continues(out[end]) and (end + 1) not in starts:
            end += 1
        replaced = _replace(line)
        if replaced is not None:
            new, col, shift = replaced
            out[i] = new
            shifts[i] = (i, col, shift)
            for j in range(i + 1, end + 1):
                out[j] = ""
        i = end + 1
    return out, shifts


def line_continues(line: str) -> bool:
    """A backslash at the end: the magic goes on on the next line."""
    return line.rstrip("\r").endswith("\\")


def _replace(line: str) -> tuple[str, int, int] | None:
    """Plain Python for an IPython line (None: it is Python already)."""
    body = line.rstrip("\r")
    m = _TIME.match(body)
    if m and m.group("magic") in STATEMENT_LINE_MAGICS:
        rest = body[m.end() :]
        if _parses(rest):
            return (
                m.group("indent") + rest,
                len(m.group("indent")),
                m.end() - len(m.group("indent")),
            )
    m = _ASSIGN_MAGIC.match(body)
    if m:
        return f"{m.group('indent')}{m.group('target')} = ...", 0, 0
    m = _LINE_MAGIC.match(body)
    if m:
        return f"{m.group('indent')}pass", 0, 0
    if "?" in body and _HELP.match(body) and not _parses(body.strip()):
        indent = body[: len(body) - len(body.lstrip())]
        return f"{indent}pass", 0, 0
    return None


def _parses(code: str) -> bool:
    try:
        ast.parse(code)
    except (SyntaxError, ValueError):
        return False
    return True


def _logical_starts(lines: Sequence[str]) -> set[int]:
    """Indices of the lines that start a logical line (outside strings, brackets and
    backslash continuations); a light scanner that tolerates invalid code."""
    starts: set[int] = set()
    depth = 0
    quote = ""  # the open string's delimiter ('', "'", '"', "'''", '\"\"\"')
    cont = False
    for n, line in enumerate(lines):
        if not quote and depth == 0 and not cont:
            starts.add(n)
        cont = False
        i = 0
        while i < len(line):
            c = line[i]
            if quote:
                if c == "\\":
                    i += 2
                    continue
                if line.startswith(quote, i):
                    i += len(quote)
                    quote = ""
                    continue
                i += 1
                continue
            if c == "#":
                break
            if c in "'\"":
                triple = line[i : i + 3]
                quote = triple if triple in ("'''", '"""') else c
                i += len(quote)
                continue
            if c in "([{":
                depth += 1
            elif c in ")]}":
                depth = max(depth - 1, 0)
            elif c == "\\" and i == len(line.rstrip("\r")) - 1:
                cont = True
            i += 1
        if quote in ("'", '"'):
            quote = "" if not cont else quote  # an unterminated one-line string ends here
    return starts


# -- writing cell sources back ---------------------------------------------------------------


def rewrite_sources(text: str, sources: dict[int, str]) -> str:
    """The notebook's JSON text with the `source` of the cells indexed in `sources` replaced,
    written in the style the file already uses (list of lines or one string, indentation,
    ASCII escapes); every byte outside those values is kept."""
    spans = _source_spans(text)
    ascii_only = any(int(h, 16) >= 0x80 for h in re.findall(r"\\u([0-9a-fA-F]{4})", text))
    for index in sorted(sources, reverse=True):
        if index in spans:
            a, b = spans[index]
            text = text[:a] + _encode(text[a:b], sources[index], ascii_only) + text[b:]
    return text


def _encode(old: str, source: str, ascii_only: bool) -> str:
    """A `source` value in the style of the `old` one."""
    if not old.startswith("["):
        return json.dumps(source, ensure_ascii=ascii_only)
    lines = source.splitlines(keepends=True)
    if not lines:
        return "[]"
    if old.strip("[] \t\r\n") == "":  # was empty: no layout to copy
        return json.dumps(lines, ensure_ascii=ascii_only)
    lead = re.match(r"\[(\s*)", old)
    trail = re.search(r"(\s*)\]$", old)
    sep = re.search(r'",(\s*)"', old)
    first = lead.group(1) if lead else ""
    between = sep.group(1) if sep else (first or " ")
    items = ("," + between).join(json.dumps(s, ensure_ascii=ascii_only) for s in lines)
    return f"[{first}{items}{trail.group(1) if trail else ''}]"


def _source_spans(text: str) -> dict[int, tuple[int, int]]:
    """The character range of each cell's `source` value in the JSON text."""
    dec = json.JSONDecoder()
    spans: dict[int, tuple[int, int]] = {}
    i = _ws(text, 0)
    if not text.startswith("{", i):
        return spans
    for key, start in _members(text, i, dec):
        if key != "cells":
            continue
        j = _ws(text, start)
        if not text.startswith("[", j):
            return spans
        for index, cell_start in enumerate(_elements(text, j, dec)):
            if not text.startswith("{", cell_start):
                continue
            for ckey, vstart in _members(text, cell_start, dec):
                if ckey == "source":
                    _, end = dec.raw_decode(text, vstart)
                    spans[index] = (vstart, end)
        return spans
    return spans


def _ws(text: str, i: int) -> int:
    while i < len(text) and text[i] in " \t\r\n":
        i += 1
    return i


def _members(text: str, i: int, dec: json.JSONDecoder) -> Iterable[tuple[str, int]]:
    """(key, value start) of each member of the object opening at `i` (values are skipped
    after the caller looked at them)."""
    i = _ws(text, i + 1)
    while i < len(text) and text[i] != "}":
        key, i = dec.raw_decode(text, i)
        i = _ws(text, i)
        i = _ws(text, i + 1)  # the colon
        yield str(key), i
        _, i = dec.raw_decode(text, i)
        i = _ws(text, i)
        if i < len(text) and text[i] == ",":
            i = _ws(text, i + 1)


def _elements(text: str, i: int, dec: json.JSONDecoder) -> Iterable[int]:
    """The start of each element of the array opening at `i`."""
    i = _ws(text, i + 1)
    while i < len(text) and text[i] != "]":
        yield i
        _, i = dec.raw_decode(text, i)
        i = _ws(text, i)
        if i < len(text) and text[i] == ",":
            i = _ws(text, i + 1)


# -- which cells `verify` runs -------------------------------------------------------------------

#: Calls that train, download, read or write files, show plots or wait: never run by `verify`.
RISKY_CALLS = frozenset(
    {
        "backward", "step", "zero_grad", "fit", "fit_generator", "train_on_batch", "evaluate",
        "predict", "download", "urlretrieve", "urlopen", "from_pretrained", "load_dataset",
        "load", "load_state_dict", "save", "save_pretrained", "save_weights", "load_weights",
        "savefig", "show", "imshow", "plot", "DataLoader", "ImageFolder", "read_csv", "open",
        "system", "Popen", "run", "check_output", "sleep", "input", "init",
        "login", "compile",
    }
)  # fmt: skip


def model_cells(cells: Sequence[Cell]) -> tuple[list[int], dict[int, str]]:
    """The code cells `verify` runs (imports, definitions, the example input) and, for each
    code cell it leaves out, why: a loop (training or evaluation), a call that trains,
    downloads, touches files or shows plots, nothing but IPython commands, or a name only a
    left-out cell defines."""
    run: list[int] = []
    why: dict[int, str] = {}
    trees: dict[int, ast.Module] = {}
    for cell in cells:
        if cell.kind != "code":
            continue
        lines, _ = neutralise(cell.source.split("\n"))
        try:
            tree = ast.parse("\n".join(lines))
        except (SyntaxError, ValueError):
            why[cell.index] = "does not parse"
            continue
        reason = _risk(tree)
        if reason is None and all(isinstance(s, ast.Pass) for s in tree.body):
            reason = "IPython commands only" if tree.body else "empty"
        if reason is not None:
            why[cell.index] = reason
            continue
        trees[cell.index] = tree
        run.append(cell.index)
    defined_by: dict[str, set[int]] = {}
    for cell in cells:
        if cell.kind == "code":
            for name in _defines(cell.source):
                defined_by.setdefault(name, set()).add(cell.index)
    changed = True
    while changed:  # a kept cell that needs a name only left-out cells define is left out too
        changed = False
        for index in list(run):
            for name in sorted(_uses(trees[index])):
                owners = defined_by.get(name, set())
                earlier = {i for i in owners if i <= index}
                if earlier and not earlier & set(run):
                    run.remove(index)
                    why[index] = f"needs `{name}` from cell {max(earlier) + 1}"
                    changed = True
                    break
    return run, why


def _risk(tree: ast.Module) -> str | None:
    for stmt in tree.body:
        if isinstance(stmt, ast.For | ast.While | ast.AsyncFor):
            return "a loop (training or evaluation)"
        nodes = (
            [*stmt.decorator_list, *stmt.args.defaults]
            if isinstance(stmt, ast.FunctionDef | ast.AsyncFunctionDef)
            else list(ast.walk(stmt))
        )
        for node in nodes:
            if not isinstance(node, ast.Call):
                continue
            f = node.func
            name = (
                f.attr if isinstance(f, ast.Attribute) else f.id if isinstance(f, ast.Name) else ""
            )
            if name in RISKY_CALLS:
                return f"calls {name}()"
            for kw in node.keywords:
                if kw.arg == "download" and not (
                    isinstance(kw.value, ast.Constant) and kw.value.value is False
                ):
                    return "downloads (download=...)"
    return None


def _defines(source: str) -> set[str]:
    lines, _ = neutralise(source.split("\n"))
    try:
        tree = ast.parse("\n".join(lines))
    except (SyntaxError, ValueError):
        return set()
    out: set[str] = set()
    for stmt in tree.body:
        if isinstance(stmt, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            out.add(stmt.name)
        elif isinstance(stmt, ast.Import | ast.ImportFrom):
            out.update((a.asname or a.name).split(".")[0] for a in stmt.names)
        else:
            out.update(
                n.id
                for n in ast.walk(stmt)
                if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)
            )
    return out


def _uses(tree: ast.Module) -> set[str]:
    """Names read when the cell runs (function bodies only run later, if at all)."""
    out: set[str] = set()
    for stmt in tree.body:
        if isinstance(stmt, ast.FunctionDef | ast.AsyncFunctionDef):
            nodes: list[ast.AST] = [*stmt.decorator_list, *stmt.args.defaults]
        elif isinstance(stmt, ast.ClassDef):
            body = [s for s in stmt.body if not isinstance(s, ast.FunctionDef)]
            nodes = [*stmt.bases, *stmt.decorator_list, *body]
        else:
            nodes = [stmt]
        for node in nodes:
            out.update(
                n.id
                for n in ast.walk(node)
                if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)
            )
    return out
