"""Keras 3 for the interpreter (see support.py); nothing here imports Keras."""

from shape_lsp.core.frameworks.keras.support import register

__all__ = ["register"]
