"""`shape-lsp check`'s result cache, like ruff's `.ruff_cache` or mypy's `.mypy_cache`.

One JSON file per checked file, under `.shape_lsp_cache/` in the working directory (or
`--cache-dir`, or `SHAPE_LSP_CACHE_DIR`). An entry is used only when all of these are
unchanged: the engine (its version and every source file of the package), the settings, the
file's text, and every project file its analysis read or looked for through imports.
Anything unreadable or stale is simply recomputed; the cache can always be deleted.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import asdict
from pathlib import Path
from typing import Any

from shape_lsp import __version__
from shape_lsp.core.digest import digest

FORMAT = 1
DEFAULT_DIR = ".shape_lsp_cache"


def default_dir() -> Path:
    """`SHAPE_LSP_CACHE_DIR`, else `.shape_lsp_cache` in the working directory."""
    return Path(os.environ.get("SHAPE_LSP_CACHE_DIR") or DEFAULT_DIR)


def engine_fingerprint() -> str:
    """Changes whenever any file of the installed package does (covers development installs)."""
    root = Path(__file__).resolve().parent
    h = hashlib.blake2b(f"{FORMAT}:{__version__}".encode(), digest_size=16)
    for f in sorted(root.rglob("*.py")):
        st = f.stat()
        h.update(f"{f.relative_to(root)}:{st.st_size}:{st.st_mtime_ns};".encode())
    return h.hexdigest()


def settings_fingerprint(settings: Any) -> str:
    """A stable text for the settings (sets sorted, so the same in every process)."""
    return json.dumps(asdict(settings), sort_keys=True, default=_sorted)


def _sorted(o: object) -> object:
    if isinstance(o, set | frozenset):
        return sorted(o)
    return str(o)


class CheckCache:
    """Cached `check` records keyed by file text, settings and engine."""

    def __init__(self, folder: Path, settings: Any) -> None:
        self.folder = folder / f"v{FORMAT}"
        self.salt = engine_fingerprint() + settings_fingerprint(settings)
        self.hits = 0
        self.misses = 0
        self._seen: dict[str, str | bool | None] = {}  # dependency -> its state, once per run

    def _entry(self, path: Path) -> Path:
        name = hashlib.blake2b(str(path.resolve()).encode(), digest_size=16).hexdigest()
        return self.folder / f"{name}.json"

    def key(self, path: Path, text: str) -> str:
        """The entry's key: engine, settings, the file's absolute path and its text."""
        h = hashlib.blake2b(self.salt.encode(), digest_size=16)
        h.update(str(path.resolve()).encode())
        h.update(digest(text).encode())
        return h.hexdigest()

    def get(self, path: Path, text: str) -> dict[str, Any] | None:
        """The cached record for this text of `path`, if it and its dependencies are current."""
        try:
            entry = json.loads(self._entry(path).read_text("utf-8"))
            if entry.get("key") != self.key(path, text) or not self._current(entry["deps"]):
                raise LookupError
            record: dict[str, Any] = entry["record"]
        except (OSError, ValueError, LookupError, TypeError, AttributeError):
            self.misses += 1
            return None
        self.hits += 1
        return {**record, "path": str(path)}

    def _current(self, deps: dict[str, str | bool]) -> bool:
        """Whether every file the analysis read still has the same text, and every file it
        looked for still exists or is still missing (each checked once per run)."""
        for path, want in deps.items():
            key = f"{type(want).__name__}:{path}"
            if key not in self._seen:
                self._seen[key] = _state(path, want)
            if self._seen[key] != want:
                return False
        return True

    def put(self, path: Path, text: str, record: dict[str, Any], deps: dict[str, Any]) -> None:
        """Store a record (best effort: a read-only disk just means no cache)."""
        if "internal_errors" in record or "error" in record:
            return
        entry = {"key": self.key(path, text), "deps": deps, "record": record}
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            top = self.folder.parent
            if not (top / ".gitignore").exists():
                (top / ".gitignore").write_text("# Automatically created by shape-lsp.\n*\n")
                (top / "CACHEDIR.TAG").write_text(
                    "Signature: 8a477f597d28d172789f06886806bc55\n"
                    "# This file is a cache directory tag created by shape-lsp.\n"
                )
            target = self._entry(path)
            tmp = target.with_suffix(f".{os.getpid()}.tmp")
            tmp.write_text(json.dumps(entry), "utf-8")
            os.replace(tmp, target)
        except OSError:
            pass


def _state(path: str, want: str | bool) -> str | bool | None:
    """A dependency as it is now: whether it exists, or its text's digest (None: unreadable)."""
    if isinstance(want, bool):
        return os.path.isfile(path)
    try:
        data = Path(path).read_bytes()
    except OSError:
        return None
    try:
        return digest(data.decode("utf-8"))
    except UnicodeDecodeError:
        return digest(data.decode("latin-1"))
