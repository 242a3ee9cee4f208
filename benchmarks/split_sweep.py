"""Split parse == whole parse: the parse cache's chunks against CPython, file by file.

    .venv/bin/python benchmarks/split_sweep.py                 # both corpora (fetch_corpus.py)
    .venv/bin/python benchmarks/split_sweep.py DIR_OR_FILE...

For every file: SH001 is raised exactly when CPython's parser rejects the file, and when it
accepts it, the chunks (top-level statements; long classes as a skeleton plus one piece per
method) put back together give CPython's own tree of the whole file (`ast.dump`, positions
left out). Prints one JSON line; exits 1 on any mismatch.
"""

from __future__ import annotations

import argparse
import ast
import json
import re
import sys
import time
import warnings
from pathlib import Path

from shape_lsp.core.source.parse import Chunk, ParseCache, parse_file, python_parses

HERE = Path(__file__).resolve().parent


def _ast(text: str) -> ast.Module:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return ast.parse(text)


def _first_line(st: ast.stmt) -> int:
    decorators = getattr(st, "decorator_list", [])
    return min([st.lineno, *(d.lineno for d in decorators)])


def _split_class(c: Chunk, lines: list[str]) -> list[ast.stmt] | str:
    """The split class's statement rebuilt from its skeleton and method pieces."""
    assert c.line_map is not None
    tree = _ast(c.text)
    if len(tree.body) != 1 or not isinstance(tree.body[0], ast.ClassDef):
        return f"line {c.start_line + 1}: skeleton is not one class"
    cls = tree.body[0]
    items: list[tuple[int, ast.stmt]] = []
    for st in cls.body:
        line = c.line_map[_first_line(st) - 1]
        placeholder = isinstance(st, ast.Pass) and lines[line].strip() != "pass"
        if not placeholder:
            items.append((line, st))
    for m in c.members:
        if m.module is None:
            return f"line {m.start_line + 1}: method piece does not parse"
        items.extend((m.start_line + _first_line(st) - 1, st) for st in _ast(m.text).body)
    items.sort(key=lambda x: x[0])
    cls.body = [st for _, st in items]
    return [cls]


_SPACE = re.compile(r"\s+")


def _dump(body: list[ast.stmt]) -> str:
    """The tree without positions; whitespace runs inside strings count as one space (method
    pieces are parsed dedented, which changes a multi-line string's text, not the code)."""
    for node in ast.walk(ast.Module(body, [])):
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            node.value = _SPACE.sub(" ", node.value)
    return ast.dump(ast.Module(body, []))


def mismatch(source: str, cache: ParseCache | None = None) -> str | None:
    """Why the split parse of `source` differs from CPython's whole parse, or None."""
    parsed = parse_file(source, cache or ParseCache())
    accepted = python_parses(source)
    if accepted == bool(parsed.problems):
        first = parsed.problems[0] if parsed.problems else None
        return f"SH001 {'raised' if first else 'not raised'} but CPython accepts={accepted}" + (
            f" (line {first.line + 1}: {first.message})" if first else ""
        )
    if not accepted:
        return None
    body: list[ast.stmt] = []
    for c in parsed.chunks:
        if c.module is None:
            return f"line {c.start_line + 1}: chunk does not parse"
        if c.line_map is not None:
            got = _split_class(c, parsed.lines)
            if isinstance(got, str):
                return got
            body.extend(got)
        else:
            body.extend(_ast(c.text).body)
    whole = _ast(source)
    if _dump(body) != _dump(whole.body):
        return "the chunks' statements differ from the whole file's"
    return None


def _files(paths: list[Path]) -> list[Path]:
    out: list[Path] = []
    for p in paths:
        out.extend(sorted(p.rglob("*.py")) if p.is_dir() else [p])
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("paths", nargs="*", type=Path)
    args = ap.parse_args(argv)
    paths = args.paths
    if not paths:
        src = HERE / ".corpus" / "src"
        paths = [d for d in sorted(src.iterdir()) if d.is_dir()] if src.is_dir() else []
    if not paths:
        print("split_sweep: no corpus; run benchmarks/fetch_corpus.py", file=sys.stderr)
        return 2
    t0 = time.perf_counter()
    cache = ParseCache()
    bad: list[str] = []
    files = _files(paths)
    lines = 0
    for f in files:
        text = f.read_text(encoding="utf-8", errors="replace")
        lines += text.count("\n")
        why = mismatch(text, cache)
        if why is not None:
            bad.append(f"{f}: {why}")
            print(bad[-1], file=sys.stderr)
    out = {
        "files": len(files),
        "lines": lines,
        "mismatches": len(bad),
        "mismatch_list": bad,
        "wall_s": round(time.perf_counter() - t0, 1),
    }
    print(json.dumps(out))
    return 1 if bad else 0


if __name__ == "__main__":
    raise SystemExit(main())
