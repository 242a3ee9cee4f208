"""What the interpreter needs to read library code: `typing.cast`, `functools.partial`, and the
factories whose registries are filled at import time (timm's `create_model`, torchvision's
`get_model`), followed statically through the `@register_model` functions of the installed
sources. Registered through the interpreter's extension interface, like the frameworks; they live in
the analysis layer because following them needs the environment's library sources.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import libcst as cst

from shape_lsp.core.analysis.library_modules import INTERCEPTED, REPLACED, note_missing_library
from shape_lsp.core.analysis.workspace import workspace_of
from shape_lsp.core.interpreter.callables import NativeCall, Partial
from shape_lsp.core.interpreter.extensions import EXTENSIONS
from shape_lsp.core.values.abstract import Value
from shape_lsp.core.values.shapes import UNKNOWN

if TYPE_CHECKING:
    from shape_lsp.core.interpreter.frame import Frame
    from shape_lsp.core.interpreter.interpret import Interpreter
    from shape_lsp.core.interpreter.objects import BoundMethod

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
    ws = workspace_of(interp)
    if ws is None or ws.libraries is None:
        return None
    from shape_lsp.core.analysis.library_modules import resolve_library

    return resolve_library(ws, name, interp.path, interp.import_depth)


def _timm_create_model(
    interp: Interpreter, args: list[Value], kwargs: dict[str, Value], node: cst.Call, frame: Frame
) -> Value:
    """`timm.create_model("resnet50.a1_in1k", pretrained=..., num_classes=...)`: the
    `@register_model` function of that name, called with the architecture arguments."""
    name = args[0] if args else kwargs.get("model_name")
    ws = workspace_of(interp)
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


_STR_METHODS = frozenset(
    {
        "startswith",
        "endswith",
        "lower",
        "upper",
        "replace",
        "split",
        "rsplit",
        "strip",
        "lstrip",
        "rstrip",
        "partition",
        "rpartition",
        "isdigit",
        "isidentifier",
        "join",
        "count",
        "find",
        "removeprefix",
        "removesuffix",
    }
)
_PLAIN = (int, float, str, bool, type(None))


def _plain(v: Value) -> bool:
    return isinstance(v, _PLAIN) or (
        isinstance(v, tuple | list) and all(isinstance(x, _PLAIN) for x in v)
    )


def _python_methods(
    interp: Interpreter,
    m: BoundMethod,
    args: list[Value],
    kwargs: dict[str, Value],
    node: cst.Call,
    frame: Frame,
) -> Value:
    """Methods of plain strings and dicts that library code uses on its arguments
    (`arch.startswith("efficientnet_b")`, `kwargs.pop("width_mult")`)."""
    obj, name = m.obj, m.name
    if isinstance(obj, str) and name in _STR_METHODS:
        if kwargs or not all(_plain(a) for a in args):
            return UNKNOWN
        try:
            out = getattr(obj, name)(*args)
        except (TypeError, ValueError, AttributeError):
            return UNKNOWN
        return tuple(out) if isinstance(out, list) else out
    if isinstance(obj, dict) and not kwargs:
        key = args[0] if args else None
        hashable = isinstance(key, _PLAIN)
        if name == "pop" and 1 <= len(args) <= 2 and hashable:
            if key in obj:
                return obj.pop(key)
            return args[1] if len(args) == 2 else UNKNOWN
        if name == "setdefault" and 1 <= len(args) <= 2 and hashable:
            return obj.setdefault(key, args[1] if len(args) == 2 else None)
        if name == "copy" and not args:
            return dict(obj)
        if name == "update" and len(args) == 1 and isinstance(args[0], dict):
            obj.update(args[0])
            return None
    return NotImplemented


def _copy(
    interp: Interpreter, args: list[Value], kwargs: dict[str, Value], node: cst.Call, frame: Frame
) -> Value:
    """`copy.copy(x)`: a shallow copy of a plain object, dict or list (modules stay unknown)."""
    from shape_lsp.core.interpreter.objects import PyObject

    if len(args) != 1 or kwargs:
        return UNKNOWN
    x = args[0]
    if isinstance(x, PyObject):
        return PyObject(x.cls, dict(x.attrs))
    if isinstance(x, dict | list):
        return type(x)(x)
    if isinstance(x, _PLAIN) or (isinstance(x, tuple) and _plain(x)):
        return x
    return UNKNOWN


# Library functions whose output has their first argument's shape (randomly zeroed or scaled
# copies): followed as identities rather than through their sampling code.
SHAPE_PRESERVING = (
    "torchvision.ops.stochastic_depth.stochastic_depth",
    "timm.layers.drop.drop_path",
    "timm.layers.drop.drop_block_2d",
    "timm.layers.drop.drop_block_fast_2d",
)


def _first_argument(
    interp: Interpreter, args: list[Value], kwargs: dict[str, Value], node: cst.Call, frame: Frame
) -> Value:
    return args[0] if args else kwargs.get("input", kwargs.get("x", UNKNOWN))


def _repeat(
    interp: Interpreter, args: list[Value], kwargs: dict[str, Value], node: cst.Call, frame: Frame
) -> Value:
    """`itertools.repeat(x, n)` with a known small n: the n copies (a tuple)."""
    if len(args) == 2 and isinstance(args[1], int) and 0 <= args[1] <= 64 and not kwargs:
        return (args[0],) * args[1]
    return UNKNOWN


def _attention_interface(
    interp: Interpreter, args: list[Value], kwargs: dict[str, Value], node: cst.Call, frame: Frame
) -> Value:
    """transformers' `ALL_ATTENTION_FUNCTIONS.get_interface(impl, eager_attention_forward)`:
    the model's own eager attention (every registered kernel computes the same shapes)."""
    if len(args) == 2:
        return args[1]
    return kwargs.get("default", UNKNOWN)


def _chunked_forward(
    interp: Interpreter, args: list[Value], kwargs: dict[str, Value], node: cst.Call, frame: Frame
) -> Value:
    """`apply_chunking_to_forward(fn, chunk_size, chunk_dim, *inputs)`: `fn(*inputs)` (chunks
    along a dimension are concatenated back, so shapes are those of one whole call)."""
    if len(args) < 4 or kwargs:
        return UNKNOWN
    return interp.call(args[0], list(args[3:]), {}, node, frame)


class _ActivationTable(dict[str, Value]):
    """transformers' `ACT2FN[name]`: an activation module, elementwise whatever the name."""

    def __missing__(self, key: str) -> Value:
        return NativeCall(lambda args, kwargs: args[0] if len(args) == 1 else UNKNOWN)

    def get(self, key: str, default: Value = None) -> Value:
        return self[key] if isinstance(key, str) else default

    def __bool__(self) -> bool:  # never mistaken for "not found" (`external(q) or Qual(q)`)
        return True


HF_CHUNKING = "transformers.pytorch_utils.apply_chunking_to_forward"
HF_ATTENTION = "transformers.modeling_utils.ALL_ATTENTION_FUNCTIONS"
TIMM_BUILDER = "timm.models._builder.build_model_with_cfg"


def register() -> None:
    """Install the hooks (idempotent)."""
    ext = EXTENSIONS
    ext.register_method_hook(_python_methods)
    ext.register_unresolved_call(note_missing_library)
    ext.register_call("typing.cast", _cast)
    ext.register_call("functools.partial", _partial)
    ext.register_call("copy.copy", _copy)
    ext.register_call("itertools.repeat", _repeat)
    ext.register_call("torch.nn.Buffer", _first_argument)  # a registered buffer: the tensor
    for name in (
        "timm.create_model",
        "timm.models.create_model",
        "timm.models._factory.create_model",
    ):
        ext.register_call(name, _timm_create_model)
        INTERCEPTED.add(name)
    for name in SHAPE_PRESERVING:
        ext.register_call(name, _first_argument)
        INTERCEPTED.add(name)
    ext.register_call(TIMM_BUILDER, _timm_build)
    ext.register_call(f"{HF_ATTENTION}.get_interface", _attention_interface)
    INTERCEPTED.add(HF_ATTENTION)
    ext.register_call(HF_CHUNKING, _chunked_forward)
    REPLACED.setdefault("transformers.activations.ACT2FN", _ActivationTable)
    INTERCEPTED.add(HF_CHUNKING)
    INTERCEPTED.add(TIMM_BUILDER)
    for name in ("torchvision.models.get_model", "torchvision.models._api.get_model"):
        ext.register_call(name, _tv_get_model)
        INTERCEPTED.add(name)
