"""Other files of the project: models imported with `from .blocks import ResBlock` (or an
absolute project import) are read, parsed and run through the module pass on demand, and kept
until their text changes. Open editor buffers override the disk (`set_source`)."""

from __future__ import annotations

import os
from collections import OrderedDict
from typing import TYPE_CHECKING

from shape_lsp.core.config import Settings
from shape_lsp.core.digest import digest
from shape_lsp.core.source.parse import ParseCache, parse_file
from shape_lsp.core.values.abstract import Value

if TYPE_CHECKING:
    from shape_lsp.core.analysis.library_modules import LibraryModules
    from shape_lsp.core.interpreter.interpret import Interpreter

MAX_MODULES = 256

MAX_DEPTH = 8


class Workspace:
    """Loads project modules for cross-file name resolution (never executes them)."""

    def __init__(self, cache: ParseCache) -> None:
        self.cache = cache
        self.overlay: dict[str, str] = {}
        self._modules: OrderedDict[str, tuple[int, Interpreter]] = OrderedDict()
        self._loading: set[str] = set()
        self._exists: dict[str, bool] = {}
        # what each file's import resolution looked at: path -> text digest, or whether it
        # exists (only when `track` is on: the CLI's result cache needs it, the server doesn't)
        self.track = False
        self.consulted: dict[str, dict[str, str | bool]] = {}
        # bumped whenever an imported file's text may have changed (invalidates `runs`)
        self.generation = 0
        self.runs: dict[tuple[str, str], object] = {}  # (file, class) -> models' cached run
        # the user's environment (library_modules.py); None: only project files resolve
        self.libraries: LibraryModules | None = None

    def set_source(self, path: str, text: str | None) -> None:
        """Use `text` for `path` instead of the disk (None: back to the disk)."""
        key = os.path.abspath(path)
        before = self.overlay.get(key)
        if before == text:
            return
        if key in self._modules or (None in (before, text) and not os.path.isfile(key)):
            self.generation += 1  # a file imports read, or one whose existence it changes
        if text is None:
            self.overlay.pop(key, None)
        else:
            self.overlay[key] = text
        self._exists.clear()

    def source(self, path: str) -> str | None:
        """The file's text: the editor's buffer when open, else the disk; None if missing."""
        if path in self.overlay:
            return self.overlay[path]
        try:
            with open(path, "rb") as fh:
                data = fh.read(4_000_000)
        except OSError:
            return None
        try:
            return data.decode("utf-8")
        except UnicodeDecodeError:
            return data.decode("latin-1")

    def dependencies(self, path: str) -> dict[str, str | bool]:
        """Every file `path`'s analysis so far read (its digest) or looked for (exists?),
        directly or through the files it imports; needs `track`."""
        out: dict[str, str | bool] = {}
        todo = [os.path.abspath(path)]
        seen: set[str] = set()
        while todo:
            p = todo.pop()
            if p in seen:
                continue
            seen.add(p)
            for dep, v in self.consulted.get(p, {}).items():
                out[dep] = v
                if isinstance(v, str):
                    todo.append(dep)
        return out

    def _note(self, from_path: str, path: str, value: str | bool) -> None:
        if self.track:
            self.consulted.setdefault(os.path.abspath(from_path), {})[path] = value

    def module(self, path: str, depth: int = 0, from_path: str = "") -> Interpreter | None:
        """The module pass of a project file (cached by its text); None on a cycle or miss."""
        from shape_lsp.core.analysis.interpreters import new_interpreter

        text = self.source(path)
        if from_path:
            self._note(from_path, path, digest(text) if text is not None else False)
        if text is None or path in self._loading or depth > MAX_DEPTH:
            return None
        key = hash(text)
        hit = self._modules.get(path)
        if hit is not None and hit[0] == key:
            self._modules.move_to_end(path)
            return hit[1]
        self._loading.add(path)
        self.generation += 1
        try:
            interp = new_interpreter(
                parse_file(text, self.cache, origin=path),
                path,
                Settings(),
                workspace=self,
                depth=depth,
            )
            interp.module_pass()
        finally:
            self._loading.discard(path)
        self._modules[path] = (key, interp)
        if len(self._modules) > MAX_MODULES:
            self._modules.popitem(last=False)
        return interp

    def _isfile(self, path: str, from_path: str) -> bool:
        hit = self._exists.get(path)
        if hit is None:
            hit = self._exists[path] = path in self.overlay or os.path.isfile(path)
        self._note(from_path, path, hit)
        return hit

    def candidates(self, name: str, from_path: str) -> list[tuple[str, list[str]]]:
        """(module file, attribute chain) pairs that `name` could refer to, most likely first."""
        if not from_path or from_path.startswith("<"):
            return []
        here = os.path.dirname(os.path.abspath(from_path))
        dots = len(name) - len(name.lstrip("."))
        parts = [p for p in name[dots:].split(".") if p]
        if dots:
            base = here
            for _ in range(dots - 1):
                base = os.path.dirname(base)
            bases = [base]
        else:
            bases = [here, _package_root(here)]
        out: list[tuple[str, list[str]]] = []
        for base in dict.fromkeys(bases):
            for k in range(len(parts) - 1, 0, -1):
                mod = os.path.join(base, *parts[:k])
                for f in (mod + ".py", os.path.join(mod, "__init__.py")):
                    if self._isfile(f, from_path):
                        out.append((f, parts[k:]))
            if dots and parts:
                init = os.path.join(base, "__init__.py")
                if self._isfile(init, from_path):
                    out.append((init, parts))
        return out

    def resolve(self, name: str, from_path: str, depth: int = 0) -> Value | None:
        """The value a dotted import name refers to in a project file, if one defines it."""
        if self.libraries is not None:
            from shape_lsp.core.analysis.library_modules import resolve_library

            if self.libraries.libraries.owns(from_path):
                return resolve_library(self, name, from_path, depth)
        for path, attrs in self.candidates(name, from_path):
            interp = self.module(path, depth + 1, from_path)
            if interp is None or not attrs:
                continue
            value = interp.global_value(attrs[0])
            if value is not None and len(attrs) == 1:
                return value
        if self.libraries is not None and not name.startswith("."):
            return resolve_library(self, name, from_path, depth)
        return None


def _package_root(folder: str) -> str:
    """The folder above the topmost package (a folder with __init__.py) containing `folder`."""
    root = folder
    while os.path.isfile(os.path.join(root, "__init__.py")):
        parent = os.path.dirname(root)
        if parent == root:
            break
        root = parent
    return root


def workspace_of(interp: Interpreter) -> Workspace | None:
    """The interpreter's workspace (a Workspace whenever the analysis built it)."""
    ws = interp.workspace
    return ws if isinstance(ws, Workspace) else None
