"""Suite-wide fixtures."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(autouse=True)
def _private_check_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every test gets an empty `shape-lsp check` cache of its own (never the checkout's)."""
    monkeypatch.setenv("SHAPE_LSP_CACHE_DIR", str(tmp_path / ".shape_lsp_cache"))
