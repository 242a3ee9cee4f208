"""Per-document state: the analysed snapshots behind every feature."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

from lsprotocol import types as lsp

from shape_lsp.core.config import Settings
from shape_lsp.core.results import AnalysisResult, Finding, ShapeFact


@dataclass(frozen=True)
class Analysed:
    """One analysed version of a document (an immutable snapshot and what the core found)."""

    version: int
    epoch: int
    text: str
    lines: list[str]
    result: AnalysisResult
    settings: Settings
    diagnostics: tuple[lsp.Diagnostic, ...]


@dataclass(frozen=True)
class Verified:
    """What `shape-lsp.verify` found for one version of a document."""

    version: int
    model: str | None
    status: str
    message: str
    findings: tuple[Finding, ...]
    facts: tuple[ShapeFact, ...]
    diagnostics: tuple[lsp.Diagnostic, ...]


@dataclass
class DocState:
    """An open document: its latest analysis, its last analysis that parsed, pending work."""

    uri: str
    path: str | None
    current: Analysed | None = None
    last_good: Analysed | None = None
    verified: Verified | None = None
    epoch: int = 0
    dirty: bool = False
    task: asyncio.Task[None] | None = None
    waiters: list[tuple[int, int, asyncio.Future[Any]]] = field(default_factory=list)

    def analyse_instead(self, force: bool) -> bool:
        """Whether something else is analysed in this document's place (a notebook cell's
        notebook); plain documents are analysed themselves."""
        return False

    def resolve_waiters(self) -> None:
        """Wake pull requests waiting for a version that is now analysed."""
        cur = self.current
        keep = []
        for version, epoch, fut in self.waiters:
            if fut.done():
                continue
            if cur is not None and cur.version >= version and cur.epoch >= epoch:
                fut.set_result(cur)
            else:
                keep.append((version, epoch, fut))
        self.waiters = keep

    def close(self) -> None:
        """Cancel pending work and release waiters."""
        if self.task is not None:
            self.task.cancel()
        for _, _, fut in self.waiters:
            if not fut.done():
                fut.set_result(None)
        self.waiters = []
