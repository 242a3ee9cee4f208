"""Parsed library chunks on disk: libcst trees of the library statements a resolution reached,
per library file, keyed by its path, size and mtime and libcst's version (loading one is ~15x
faster than parsing it). A restricted unpickler accepts only libcst's and this package's parse
types, so a tampered cache file cannot run code; any bad entry is simply re-parsed. Bounded
(oldest files dropped) and safe to delete, like the index cache beside it."""

from __future__ import annotations

import contextlib
import hashlib
import io
import os
import pickle
from pathlib import Path

import libcst

from shape_lsp.core.source.parse import ParsedChunk

FORMAT = 1
MAX_FILES = 2_000
_LIBCST = str(getattr(libcst, "__version__", ""))
_ALLOWED_BUILTINS = frozenset({"tuple", "list", "dict", "set", "frozenset", "str", "int", "bool"})


class _Unpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str) -> object:
        if module.startswith("libcst.") or module == "shape_lsp.core.source.parse":
            return super().find_class(module, name)
        if module == "builtins" and name in _ALLOWED_BUILTINS:
            return super().find_class(module, name)
        if module == "enum" and name == "Enum":
            return super().find_class(module, name)
        raise pickle.UnpicklingError(f"{module}.{name} is not a parse type")


class ParsedStore:
    """Per library file: chunk text -> ParsedChunk, persisted between processes."""

    def __init__(self, folder: Path | None) -> None:
        self.folder = folder / f"parsed-v{FORMAT}" if folder is not None else None
        self._written = 0

    def _file(self, path: str) -> Path | None:
        if self.folder is None:
            return None
        name = hashlib.blake2b(path.encode(), digest_size=16).hexdigest()
        return self.folder / name[:2] / f"{name}.pickle"

    def _key(self, path: str, stamp: str) -> str:
        return f"{FORMAT}:{_LIBCST}:{path}:{stamp}"

    def load(self, path: str, stamp: str) -> dict[str, ParsedChunk]:
        """The stored parses of `path` at this stamp (empty when none or stale)."""
        f = self._file(path)
        if f is None or not stamp:
            return {}
        try:
            data = _Unpickler(io.BytesIO(f.read_bytes())).load()
            if not isinstance(data, tuple) or data[0] != self._key(path, stamp):
                return {}
            return {
                text: ParsedChunk(text, module, error)
                for text, module, error in data[1]
                if isinstance(text, str)
            }
        except Exception:  # missing, truncated, stale or foreign: parse again
            return {}

    def save(self, path: str, stamp: str, chunks: dict[str, ParsedChunk]) -> None:
        """Store every parse of `path` made so far (best effort)."""
        f = self._file(path)
        if f is None or not stamp:
            return
        rows = [(t, c.module, c.error) for t, c in chunks.items()]
        try:
            f.parent.mkdir(parents=True, exist_ok=True)
            tmp = f.with_suffix(f".{os.getpid()}.tmp")
            tmp.write_bytes(pickle.dumps((self._key(path, stamp), rows), protocol=5))
            os.replace(tmp, f)
            self._written += 1
            if self._written % 200 == 0:
                self.prune()
        except (OSError, pickle.PicklingError, RecursionError, TypeError, AttributeError):
            pass

    def prune(self) -> None:
        """Drop the oldest files beyond MAX_FILES."""
        if self.folder is None:
            return
        try:
            files = sorted(self.folder.glob("*/*.pickle"), key=lambda p: p.stat().st_mtime)
        except OSError:
            return
        for old in files[: max(0, len(files) - MAX_FILES)]:
            with contextlib.suppress(OSError):
                old.unlink()
