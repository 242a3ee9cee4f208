"""Frameworks: what torch and keras add to the interpreter, registered through
`interpreter.extensions.EXTENSIONS`. A new framework is a new folder with a `register()`."""

from __future__ import annotations

_INSTALLED: list[bool] = []


def install() -> None:
    """Register every framework once (idempotent)."""
    if _INSTALLED:
        return
    from shape_lsp.core.frameworks import data, keras, torch

    torch.register()
    keras.register()
    data.register()
    _INSTALLED.append(True)
