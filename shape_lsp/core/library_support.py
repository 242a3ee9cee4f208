"""What the interpreter needs to read library code: `typing.cast`, `functools.partial`, and the
factories whose registries are filled at import time (timm's `create_model`, torchvision's
`get_model`), followed statically through the `@register_model` functions of the installed
sources. Registered as interpreter hooks, like data_support and keras_support.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import libcst as cst

from shape_lsp.core.callables import Partial
from shape_lsp.core.library_modules import INTERCEPTED
from shape_lsp.core.shapes import UNKNOWN
from shape_lsp.core.values import Value

if TYPE_CHECKING:
    from shape_lsp.core.interpret import Frame, Interpreter

# Keyword arguments of timm's builders that select weights or wrappers, not the architecture.
_TIMM_DROP = frozenset(
    {
        "pretrained",
        "pretrained_cfg",
        "pretrained_cfg_overlay",
        "pretrained_strict",
        "pretrained_filter_fn",
        "checkpoint_path",
        "cache_dir",
        "feature_cfg",
        "kwargs_filter",
        "scriptable",
        "exportable",
        "no_jit",
    }
)


def _cast(
    interp: Interpreter, args: list[Value], kwargs: dict[str, Value], node: cst.Call, frame: Frame
) -> Value:
    return args[1] if len(args) == 2 else kwargs.get("val", UNKNOWN)


def _partial(
    interp: Interpreter, args: list[Value], kwargs: dict[str, Value], node: cst.Call, frame: Frame
) -> Value:
    if not args:
        return UNKNOWN
    return Partial(args[0], tuple(args[1:]), dict(kwargs))


def _library_value(interp: Interpreter, name: str) -> Value | None:
    ws = interp.workspace
    if ws is None or ws.libraries is None:
        return None
    from shape_lsp.core.library_modules import resolve_library

    return resolve_library(ws, name, interp.path, interp.import_depth)


def _timm_create_model(
    interp: Interpreter, args: list[Value], kwargs: dict[str, Value], node: cst.Call, frame: Frame
) -> Value:
    """`timm.create_model("resnet50.a1_in1k", pretrained=..., num_classes=...)`: the
    `@register_model` function of that name, called with the architecture arguments."""
    name = args[0] if args else kwargs.get("model_name")
    ws = interp.workspace
    if not isinstance(name, str) or ws is None or ws.libraries is None:
        return UNKNOWN
    if ":" in name or kwargs.get("features_only") not in (None, False):
        return UNKNOWN  # hub configs are downloaded; feature wrappers are not followed
    arch = name.split(".", 1)[0]
    path = ws.libraries.libraries.registry("timm.models").get(arch)
    if path is None:
        return UNKNOWN
    module = ws.libraries.libraries.module_name(path)
    factory = _library_value(interp, f"{module}.{arch}")
    if factory is None:
        return UNKNOWN
    rest = {k: v for k, v in kwargs.items() if k not in _TIMM_DROP and k != "model_name"}
    return interp.call(factory, [], {"pretrained": False, **rest}, node, frame)


def _timm_build(
    interp: Interpreter, args: list[Value], kwargs: dict[str, Value], node: cst.Call, frame: Frame
) -> Value:
    """`build_model_with_cfg(model_cls, variant, pretrained, **kwargs)` builds
    `model_cls(**kwargs)` (weights and feature wrappers aside)."""
    cls = args[0] if args else kwargs.get("model_cls")
    if cls is None or kwargs.get("features_only") not in (None, False):
        return UNKNOWN
    rest = {
        k: v
        for k, v in kwargs.items()
        if k not in _TIMM_DROP and k not in ("model_cls", "variant", "features_only")
    }
    return interp.call(cls, [], rest, node, frame)


def _tv_get_model(
    interp: Interpreter, args: list[Value], kwargs: dict[str, Value], node: cst.Call, frame: Frame
) -> Value:
    """`torchvision.models.get_model("resnet50", weights=None, **config)`: the builder of
    that name (registered under its own function name)."""
    name = args[0] if args else kwargs.get("name")
    if not isinstance(name, str) or not name.isidentifier():
        return UNKNOWN
    for module in ("torchvision.models", "torchvision.models.quantization"):
        factory = _library_value(interp, f"{module}.{name.lower()}")
        if factory is not None:
            rest = {k: v for k, v in kwargs.items() if k != "name"}
            return interp.call(factory, [], rest, node, frame)
    return UNKNOWN


TIMM_BUILDER = "timm.models._builder.build_model_with_cfg"


def register() -> None:
    """Install the hooks (idempotent)."""
    from shape_lsp.core import interpret

    calls = interpret.SPECIAL_CALLS
    calls.setdefault("typing.cast", _cast)
    calls.setdefault("functools.partial", _partial)
    for name in (
        "timm.create_model",
        "timm.models.create_model",
        "timm.models._factory.create_model",
    ):
        calls.setdefault(name, _timm_create_model)
        INTERCEPTED.add(name)
    calls.setdefault(TIMM_BUILDER, _timm_build)
    INTERCEPTED.add(TIMM_BUILDER)
    for name in ("torchvision.models.get_model", "torchvision.models._api.get_model"):
        calls.setdefault(name, _tv_get_model)
        INTERCEPTED.add(name)


register()
