"""Which files `shape-lsp check` reads: Python files under the given folders, skipping the
usual tool folders and what `.gitignore` files exclude (the way ruff does).

Like ruff, a file named on the command line is always checked, even when ignored; the
`.gitignore` files that count are those in the folders walked and in their parents up to the
repository root (the nearest folder holding `.git`), plus `.git/info/exclude`. Matching uses
`pathspec`'s implementation of git's rules (negation, anchoring, `dir/` patterns)."""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from pathlib import Path

from pathspec import GitIgnoreSpec

SKIP_DIRS = {
    ".ipynb_checkpoints",
    ".git",
    ".hg",
    ".venv",
    "venv",
    "__pycache__",
    "node_modules",
    ".tox",
    ".mypy_cache",
    ".ruff_cache",
    ".shape_lsp_cache",
    "build",
    "dist",
    ".eggs",
}

Rules = list[tuple[Path, GitIgnoreSpec]]


def _abs(path: Path) -> Path:
    """Absolute and normalised (`..` resolved), without following symlinks."""
    return Path(os.path.abspath(path))


def _spec(file: Path) -> GitIgnoreSpec | None:
    try:
        lines = file.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return None
    return GitIgnoreSpec.from_lines(lines) if any(s.strip() for s in lines) else None


def ignored(path: Path, is_dir: bool, rules: Rules) -> bool:
    """Whether the gitignore rules exclude `path`; deeper files override shallower ones."""
    verdict, path = False, _abs(path)
    for base, spec in rules:
        try:
            rel = path.relative_to(base).as_posix()
        except ValueError:
            continue
        got = spec.check_file(rel + "/" if is_dir else rel).include
        if got is not None:
            verdict = got
    return verdict


def _parent_rules(root: Path) -> Rules:
    """Rules from the parents of `root` up to the repository root (none outside a repository)."""
    chain: list[Path] = []
    for folder in _abs(root).parents:
        chain.append(folder)
        if (folder / ".git").exists():
            break
    else:
        return []
    rules: Rules = []
    repo = chain[-1]
    exclude = _spec(repo / ".git" / "info" / "exclude")
    if exclude is not None:
        rules.append((repo, exclude))
    for folder in reversed(chain):
        spec = _spec(folder / ".gitignore")
        if spec is not None:
            rules.append((folder, spec))
    return rules


def _walk(root: Path, respect_gitignore: bool) -> Iterator[Path]:
    rules: Rules = []
    if respect_gitignore:
        rules = _parent_rules(root)
        if (root / ".git").exists():
            own = _spec(root / ".git" / "info" / "exclude")
            if own is not None:
                rules.append((_abs(root), own))
    stack: list[tuple[Path, Rules]] = [(root, rules)]
    found: list[Path] = []
    while stack:
        folder, inherited = stack.pop()
        here = inherited
        if respect_gitignore:
            spec = _spec(folder / ".gitignore")
            if spec is not None:
                here = [*inherited, (_abs(folder), spec)]
        try:
            entries = list(os.scandir(folder))
        except OSError:
            continue
        for e in entries:
            p = Path(e.path)
            if e.is_dir():
                if e.name in SKIP_DIRS or (here and ignored(p, True, here)):
                    continue
                stack.append((p, here))
            elif e.name.endswith((".py", ".ipynb")) and not (here and ignored(p, False, here)):
                found.append(p)
    yield from sorted(found)


def python_files(paths: Sequence[str], respect_gitignore: bool = True) -> Iterator[Path]:
    """The files to check, folders expanded (sorted), in the order the paths were given."""
    for p in paths:
        path = Path(p)
        if path.is_dir():
            yield from _walk(path, respect_gitignore)
        else:
            yield path
