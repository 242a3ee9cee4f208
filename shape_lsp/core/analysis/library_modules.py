"""Library modules as the interpreter sees them: the module pass of the slice of a library
file that the requested names need (libraries.py), grown when later requests need more.

Kept apart from workspace.py so that project files and library files share one `resolve`
entry point while the library machinery stays in its own modules.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from shape_lsp.core.analysis.environment import Environment, discover, library_cache_dir
from shape_lsp.core.analysis.libraries import IndexCache, Libraries, read_text
from shape_lsp.core.analysis.parsed_store import ParsedStore
from shape_lsp.core.config import Settings
from shape_lsp.core.digest import digest
from shape_lsp.core.results import ShapeFact
from shape_lsp.core.source.parse import ParseCache, ParsedChunk, parse_file
from shape_lsp.core.values.abstract import Qual, Value

if TYPE_CHECKING:
    import libcst as cst

    from shape_lsp.core.interpreter.interpret import Interpreter
    from shape_lsp.core.source.parse import Chunk

MAX_LIBRARY_DEPTH = 16

REPLACED: dict[str, Callable[[], Value]] = {}
"""Qualified library definitions replaced by a value the engine builds (library_support.py)."""

INTERCEPTED: set[str] = set()
"""Qualified library definitions the engine models itself (library_support.py registers
them): resolving one gives its name, so the interpreter's call hook of that name runs."""


class Workspace(Protocol):
    """What library modules use of the analysis workspace (analysis/workspace.py)."""

    cache: ParseCache
    generation: int
    track: bool
    libraries: LibraryModules | None

    def candidates(self, name: str, from_path: str) -> list[tuple[str, list[str]]]:
        """Project files that could define a dotted name."""
        ...

    def _note(self, from_path: str, path: str, stamp: str | bool) -> None:
        """Record that `from_path` depended on `path`."""
        ...

    def resolve(self, name: str, from_path: str, depth: int = 0) -> Value | None:
        """The value a dotted import name refers to (interpreter.frame.ImportResolver)."""
        ...


@dataclass
class LibraryModule:
    """One library file: its text, the statements interpreted so far and their module pass."""

    path: str
    text: str
    keep: frozenset[int]
    interp: Interpreter | None = None
    stamp: str = ""
    parsed: dict[str, ParsedChunk] | None = None  # every chunk parse of it (persisted)


class LibraryModules:
    """Per-Analyzer store of library module passes (text read once per process)."""

    def __init__(self, libraries: Libraries) -> None:
        self.libraries = libraries
        self.files: dict[str, LibraryModule] = {}
        self.loading: set[str] = set()
        self.dirty: set[str] = set()  # files with parses not yet on disk
        self.parsed = ParsedStore(
            libraries.indexes.folder.parent if libraries.indexes.folder else None
        )

    def value(self, ws: Workspace, path: str, attr: str, depth: int) -> Value | None:
        """The value of top-level `attr` of library file `path`."""
        lm = self.files.get(path)
        if lm is None:
            text = read_text(path)
            if text is None:
                return None
            lm = self.files[path] = LibraryModule(path, text, frozenset())
        keep = lm.keep | self.libraries.needed(path, {attr})
        if lm.interp is None or keep != lm.keep:
            if path in self.loading or depth > MAX_LIBRARY_DEPTH:
                return None
            lm.keep = keep
            lm.interp = self._run(ws, lm, depth)
        return lm.interp.global_value(attr) if lm.interp is not None else None

    def flush(self) -> None:
        """Write the parses made since the last flush to the persistent store."""
        for path in sorted(self.dirty):
            lm = self.files.get(path)
            if lm is not None and lm.parsed is not None:
                self.parsed.save(path, lm.stamp, lm.parsed)
        self.dirty.clear()

    def _run(self, ws: Workspace, lm: LibraryModule, depth: int) -> Interpreter | None:
        from shape_lsp.core.analysis.interpreters import new_interpreter

        text = self.libraries.slice_text(lm.path, lm.text, lm.keep)
        self.loading.add(lm.path)
        ws.generation += 1
        if lm.parsed is None:
            lm.stamp = IndexCache.stamp(lm.path) or ""
            lm.parsed = self.parsed.load(lm.path, lm.stamp)
        for chunk in lm.parsed.values():
            ws.cache.put(chunk)
        before, ws.cache.fresh = ws.cache.fresh, []
        try:
            parsed = parse_file(text, ws.cache, origin=lm.path)
        finally:
            fresh, ws.cache.fresh = ws.cache.fresh, before
        if fresh:
            lm.parsed.update((c.text, c) for c in fresh)
            self.dirty.add(lm.path)
        try:
            interp = new_interpreter(parsed, lm.path, Settings(), workspace=ws, depth=depth)
            interp.module_pass()
        finally:
            self.loading.discard(lm.path)
        module = self.libraries.module_name(lm.path)
        for name in list(interp.globals):
            if f"{module}.{name}" in REPLACED:
                interp.globals[name] = REPLACED[f"{module}.{name}"]()
            elif f"{module}.{name}" in INTERCEPTED:  # same-file callers get the engine's model
                interp.globals[name] = Qual(f"{module}.{name}")
        return interp


def resolve_library(ws: Workspace, name: str, from_path: str, depth: int) -> Value | None:
    """What dotted `name` (absolute, or relative inside a library file) refers to in the
    environment's libraries: a value, or None (a module, or not statically known)."""
    store = ws.libraries
    if store is None:
        return None
    libs = store.libraries
    absolute = libs.absolute(name, from_path) if name.startswith(".") else name
    if absolute is None:
        return None
    found = libs.locate(absolute)
    if found is None or not found[0]:
        return None
    path, attr = found
    qualified = f"{libs.module_name(path)}.{attr}"
    if qualified in REPLACED:
        return REPLACED[qualified]()
    if qualified in INTERCEPTED:
        return Qual(qualified)
    if ws.track and from_path:
        text = store.files[path].text if path in store.files else read_text(path)
        ws._note(from_path, path, digest(text) if text is not None else False)
    return store.value(ws, path, attr, depth + 1)


class EnvironmentStore:
    """The environment of each project (found once per project folder and interpreter
    setting) and its library store, kept for the Analyzer's lifetime."""

    def __init__(self, cache_dir: Path | None = None) -> None:
        self.cache_dir = cache_dir if cache_dir is not None else library_cache_dir()
        self._by_project: dict[tuple[object, ...], LibraryModules] = {}
        self._by_python: dict[str, LibraryModules] = {}
        self._projects: dict[str, str] = {}  # folder -> its project's folder

    def for_file(self, path: str, settings: Settings) -> LibraryModules | None:
        """The library store for a file analysed with these settings."""
        folder = os.path.dirname(os.path.abspath(path)) if path and path[0] != "<" else ""
        project = self._projects.get(folder)
        if project is None:
            project = self._projects[folder] = _project_of(path)
        key = (project, settings.python, settings.verify_python, settings.library_paths)
        hit = self._by_project.get(key)
        if hit is None:
            env = discover(Path(project), settings.python, settings.verify_python, self.cache_dir)
            if settings.library_paths:
                extra = tuple(
                    os.path.join(project, os.path.expanduser(p)) for p in settings.library_paths
                )
                env = replace(env, paths=(*extra, *env.paths))
            hit = self.use(env)
            self._by_project[key] = hit
        return hit

    def use(self, env: Environment) -> LibraryModules:
        """The store for an environment (shared by every project using that interpreter)."""
        hit = self._by_python.get(env.python)
        if hit is None or hit.libraries.env != env:
            hit = LibraryModules(Libraries(env, self.cache_dir))
            self._by_python[env.python] = hit
        return hit


def _project_of(path: str) -> str:
    """The folder holding the nearest pyproject.toml or .git above `path`, else its folder."""
    if not path or path.startswith("<"):
        return os.getcwd()
    folder = os.path.dirname(os.path.abspath(path))
    here = folder
    while True:
        if os.path.isfile(os.path.join(here, "pyproject.toml")) or os.path.exists(
            os.path.join(here, ".git")
        ):
            return here
        parent = os.path.dirname(here)
        if parent == here:
            return folder
        here = parent


_MODELLED = ("torch", "keras", "tensorflow", "numpy", "einops", "jaxtyping", "builtins")


def missing_library(ws: Workspace | None, name: str, from_path: str) -> str | None:
    """The top-level package of `name` when the environment lacks it (and no project file
    provides it): the reason shapes through it are unknown."""
    if ws is None or ws.libraries is None or name.startswith("."):
        return None
    top = name.split(".", 1)[0]
    if not top.isidentifier() or top in _MODELLED or ws.candidates(name, from_path):
        return None
    if ws.libraries.libraries.installed(top):
        return None
    import sys

    if top in sys.stdlib_module_names:
        return None
    return top


def note_missing_library(interp: Interpreter, name: str, chunk: Chunk, node: cst.CSTNode) -> None:
    """A hover note at a call into a library the environment lacks."""
    ws: Any = interp.workspace  # a Workspace when the analysis built it (not imported: cycle)
    top = missing_library(ws, name, interp.path)
    if top is None or interp.rec.quiet:
        return
    span = interp.rec.span(chunk, node)
    if span is None:
        return
    assert ws is not None and ws.libraries is not None
    python = ws.libraries.libraries.env.describe()
    interp.rec.fact(
        ShapeFact(
            span,
            "note",
            name,
            "unknown",
            detail=(f"{top} is not installed in {python}: shapes through it are unknown",),
        )
    )
