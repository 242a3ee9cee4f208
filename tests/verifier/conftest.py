"""Shared helpers for the verifier tests: fixture paths and a static side we control."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from shape_lsp.core.results import ModelSummary
from shape_lsp.verifier import client

FIXTURES = Path(__file__).parent / "fixtures"


def fixture(name: str) -> str:
    """Absolute path of a fixture file."""
    return str(FIXTURES / name)


@pytest.fixture
def no_static(monkeypatch: pytest.MonkeyPatch) -> None:
    """Run the agent without static models, so tests do not depend on the core's progress."""
    monkeypatch.setattr(client, "_static_models", lambda *a: ())


@pytest.fixture
def static_models(monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[..., None]]:
    """Install hand-written static models for the next run_verify calls."""

    def install(*models: ModelSummary) -> None:
        monkeypatch.setattr(client, "_static_models", lambda *a: tuple(models))

    yield install
