"""Settings per document: `[tool.shape-lsp]` of its nearest pyproject, overridden by the client's.

The client's settings come from `initializationOptions`, `workspace/configuration` (section
`shape-lsp`) and `workspace/didChangeConfiguration`. Keys may be camelCase (LSP) or kebab-case
(pyproject); tables (severity, symbols, inputShapes, verify) merge key by key, everything else
is replaced by the client's value.
"""

from __future__ import annotations

import logging
import re
import tomllib
from collections.abc import Callable
from pathlib import Path
from typing import Any

from shape_lsp.core.config import Settings, find_pyproject, settings_from_mapping

log = logging.getLogger(__name__)

SECTION = "shape-lsp"
_TABLES = {"severity", "symbols", "input-shapes", "verify"}


def _kebab(key: str) -> str:
    return re.sub(r"[A-Z]", lambda m: "-" + m.group(0).lower(), str(key))


def client_section(data: Any) -> dict[str, Any] | None:
    """The `shape-lsp` section from what a client sent (the section itself or a wrapper)."""
    if not isinstance(data, dict):
        return None
    inner = data.get(SECTION)
    if isinstance(inner, dict):
        return inner
    return data


def merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    """`override` over `base` (camelCase and kebab-case keys are the same key); tables merge."""
    out: dict[str, tuple[str, Any]] = {}  # kebab key -> (key as last written, value)
    for src in (base, override):
        for key, value in src.items():
            k = _kebab(key)
            prev = out.get(k)
            if k in _TABLES and isinstance(value, dict) and prev and isinstance(prev[1], dict):
                out[k] = (key, {**prev[1], **value})
            else:
                out[k] = (key, value)
    return dict(out.values())


class SettingsStore:
    """Client settings plus a cache of pyproject tables (by path and mtime)."""

    def __init__(self, warn: Callable[[str], None]) -> None:
        self.client: dict[str, Any] = {}
        self._warn = warn
        self._warned: set[str] = set()
        self._pyproject: dict[Path, tuple[float, dict[str, Any]]] = {}
        self._cache: dict[tuple[Path | None, float], Settings] = {}

    def set_client(self, data: Any) -> bool:
        """Replace the client settings; True when they changed."""
        section = client_section(data) or {}
        if section == self.client:
            return False
        self.client = dict(section)
        self._cache.clear()
        return True

    def _problems(self, problems: list[str]) -> None:
        for p in problems:
            if p not in self._warned:
                self._warned.add(p)
                self._warn(p)

    def _table(self, path: Path) -> tuple[float, dict[str, Any]]:
        try:
            mtime = path.stat().st_mtime
        except OSError:
            return 0.0, {}
        cached = self._pyproject.get(path)
        if cached and cached[0] == mtime:
            return cached
        table: dict[str, Any] = {}
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
            tool = data.get("tool")
            raw = tool.get(SECTION) if isinstance(tool, dict) else None
            if isinstance(raw, dict):
                table = raw
            elif raw is not None:
                self._problems([f"{path}: [tool.shape-lsp] must be a table; using defaults"])
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as e:
            self._problems([f"{path}: cannot read [tool.shape-lsp]: {e}; using defaults"])
        self._pyproject[path] = (mtime, table)
        return mtime, table

    def for_path(self, path: str | None) -> Settings:
        """Effective settings for a document at `path` (None: client settings only)."""
        pyproject = find_pyproject(Path(path)) if path else None
        mtime, table = self._table(pyproject) if pyproject else (0.0, {})
        key = (pyproject, mtime)
        cached = self._cache.get(key)
        if cached is not None:
            return cached
        settings, problems = settings_from_mapping(merge(table, self.client), "shape-lsp settings")
        self._problems(problems)
        self._cache[key] = settings
        return settings
