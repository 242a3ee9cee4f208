"""Keras 3 for the interpreter: models (Input, Sequential, the functional Model, naming) and
training calls (fit/evaluate/predict); nothing here imports Keras."""

from __future__ import annotations

from shape_lsp.core.frameworks.keras.models import (
    _construct,
    _flatten_fix,
    _input,
    _merge_fn,
    _model,
    _observe,
    _replay,
    _sequential,
)
from shape_lsp.core.frameworks.keras.training import _method
from shape_lsp.core.interpreter.extensions import EXTENSIONS
from shape_lsp.core.rules import LAYERS


def register() -> None:
    """Install the Keras hooks (idempotent)."""
    ext = EXTENSIONS
    ext.register_framework("keras")
    ext.register_library("keras.", "tensorflow.")
    ext.register_layer_namespace("keras.layers")
    for base in ("keras.Model", "keras.layers.Layer"):
        ext.register_module_base(base, "keras")
    ext.forward_methods["keras"] = "call"
    for name, rule in LAYERS.items():
        if rule.framework == "keras":
            ext.register_call(name, _construct(name))
    ext.register_call("keras.Input", _input)
    ext.register_call("keras.Sequential", _sequential)
    ext.register_call("keras.Model", _model)
    for fn, cls in (
        ("concatenate", "Concatenate"),
        ("add", "Add"),
        ("subtract", "Subtract"),
        ("multiply", "Multiply"),
        ("average", "Average"),
        ("maximum", "Maximum"),
        ("minimum", "Minimum"),
        ("dot", "Dot"),
    ):
        ext.register_call(f"keras.layers.{fn}", _merge_fn(f"keras.layers.{cls}"))
    ext.register_method_hook(_method)
    ext.register_call_observer(_observe)
    ext.register_container_call("Functional", _replay)
    ext.register_warning_fix("SH114", _flatten_fix)
