"""Keras 3 on its torch backend (never TensorFlow): loading keras, finding, building and running
Keras models with hooks on every layer, and `tensorflow` as a stand-in over keras 3.

keras is imported lazily (only for files that use it); stdlib only otherwise, valid on 3.8.
"""

from __future__ import annotations

import contextlib
import importlib
import importlib.util
import inspect
import os
import re
import sys
from types import ModuleType, TracebackType
from typing import TYPE_CHECKING, Any

from .hooks import Tracer
from .models import torch_dtype
from .protocol import Abort, AgentBase, first_line, read

if TYPE_CHECKING:  # annotations only: the agent must also run on older Pythons (3.8+)
    from collections.abc import Callable


class KerasModels(AgentBase):
    """Keras models of the user's module: discovery, construction, inputs and the traced call."""

    def load_keras(self, device: str) -> str:
        """Import keras 3 on its torch backend (never TensorFlow); a problem message or ""."""
        os.environ["KERAS_BACKEND"] = "torch"
        # Keras places variables on its own default device, chosen when it is imported; it
        # cannot run on meta (its layers need real tensors), so meta runs Keras models on cpu.
        self.keras_device = "cpu" if device == "meta" else device
        os.environ["KERAS_TORCH_DEVICE"] = self.keras_device
        try:
            import keras
        except BaseException as e:
            return (
                f"this file uses Keras but keras cannot be imported by {sys.executable}: "
                f"{type(e).__name__}: {first_line(str(e))}. Install Keras 3 there "
                "(pip install 'keras>=3'); TensorFlow is not needed, verify runs Keras on "
                "its torch backend"
            )
        version = str(getattr(keras, "__version__", "0"))
        major = version.split(".", 1)[0]
        if not major.isdigit() or int(major) < 3:
            return (
                f"keras {version} in {sys.executable} has no torch backend; verify needs "
                "Keras 3 (pip install 'keras>=3')"
            )
        backend = keras.backend.backend()
        if backend != "torch":
            return (
                f"keras in {sys.executable} runs on the {backend} backend although "
                "KERAS_BACKEND=torch was set (is keras configured by a sitecustomize?)"
            )
        # keep Keras's own frames, so errors map to the layer that raised
        with contextlib.suppress(Exception):
            keras.config.disable_traceback_filtering()
        self.keras = keras
        if importlib.util.find_spec("tensorflow") is None:
            self.tf_import = _tf_importer(keras)
            if re.search(
                r"^\s*(?:import|from)\s+tensorflow\b",
                self.req.get("source") or read(self.path),
                re.M,
            ):
                self.notes.append(
                    f"tensorflow is not installed: tf.keras ran as keras {version} on torch"
                )
        return ""

    def discover_keras(self) -> tuple[list[tuple[str, Any, dict[str, Any]]], list[dict[str, Any]]]:
        """Module-level keras.Model instances and keras.Model subclasses of the file."""
        keras = self.keras
        assert self.module is not None
        found: list[tuple[str, Any, dict[str, Any]]] = []
        failures: list[dict[str, Any]] = []
        for name, obj in list(vars(self.module).items()):
            if isinstance(obj, keras.Model):
                found.append(
                    (
                        name,
                        obj,
                        {
                            "name": name,
                            "kind": "sequential",
                            "variable": name,
                            "framework": "keras",
                        },
                    )
                )
            elif (
                isinstance(obj, type)
                and issubclass(obj, keras.Model)
                and obj.__module__ == self.module.__name__
            ):
                ctor = self.ctors.get(name) or f"{name}()"
                try:
                    inst = eval(ctor, self.module.__dict__)
                except BaseException as e:
                    failures.append(
                        {"name": name, "calls": [], "error": self.construct_error(name, ctor, e)}
                    )
                    continue
                found.append(
                    (
                        name,
                        inst,
                        {"name": name, "kind": "class", "ctor": ctor, "framework": "keras"},
                    )
                )
        return found, failures

    def is_keras(self, spec: dict[str, Any]) -> bool:
        """Whether `spec` names a Keras model (the static side says so, or the object is one)."""
        if self.keras is None:
            return False
        if spec.get("framework") == "keras":
            return True
        ns = self.module.__dict__ if self.module is not None else {}
        key = spec.get("variable") or spec.get("name") or ""
        if key not in ns and spec.get("ctor"):
            key = str(spec["ctor"]).split("(", 1)[0].strip()
        obj = ns.get(key)
        layer = self.keras.layers.Layer
        return isinstance(obj, layer) or (isinstance(obj, type) and issubclass(obj, layer))

    def build_keras(self, spec: dict[str, Any]) -> Any:
        """The Keras model: the module-level variable, the file's example ctor, or `Cls()`."""
        keras = self.keras
        assert self.module is not None
        ns = self.module.__dict__
        name = spec.get("name") or ""
        ctor = spec.get("ctor")
        variable = spec.get("variable")
        if not ctor and not variable:
            if name not in ns:
                found = sorted(
                    k
                    for k, v in ns.items()
                    if isinstance(v, keras.Model)
                    or (isinstance(v, type) and issubclass(v, keras.Model))
                )
                raise Abort(
                    self.error(
                        "construct",
                        f"no model named {name!r} in "
                        f"{os.path.basename(self.path)}; found: "
                        f"{', '.join(found) or 'none'}",
                        None,
                        None,
                    )
                )
            if isinstance(ns[name], keras.layers.Layer):
                variable = name
            else:
                ctor = self.ctors.get(name) or f"{name}()"
        if variable:
            obj = ns.get(variable)
            if not isinstance(obj, keras.layers.Layer):
                raise Abort(
                    self.error(
                        "construct",
                        f"`{variable}` is not a Keras model ({type(obj).__name__})",
                        None,
                        None,
                    )
                )
            return obj
        ctor = str(ctor)
        try:
            model = eval(ctor, ns)  # the file's own example constructor
        except BaseException as e:
            raise Abort(self.construct_error(name or ctor, ctor, e)) from None
        if not isinstance(model, keras.layers.Layer):
            raise Abort(
                self.error(
                    "construct",
                    f"`{ctor}` built a {type(model).__name__}, not a keras.Model",
                    None,
                    None,
                )
            )
        return model

    def keras_inputs(self, model: Any, spec: dict[str, Any], device: str) -> list[Any]:
        """Inputs from the static shapes (channels last), else from the model's own Inputs."""
        torch = self.torch
        shapes = spec.get("inputs")
        dtypes = list(spec.get("input_dtypes") or [])
        declared = _keras_input_shapes(model)
        name = spec.get("name") or spec.get("variable") or "model"
        if not shapes:
            if declared is None or any(d is None for s in declared for d in s[1:]):
                raise Abort(
                    self.error(
                        "inputs",
                        f"cannot tell the input shape of `{name}` (a "
                        "Keras model with no Input / input_shape); pass "
                        "--input-shape, batch first and channels last, e.g. "
                        "--input-shape 2,28,28,1 (once per input)",
                        None,
                        None,
                    )
                )
            shapes = [[self.dims["B"] if d is None else int(d) for d in s] for s in declared]
            dtypes = _keras_input_dtypes(model)
        elif spec.get("user_inputs") and declared is not None:
            if len(shapes) != len(declared):
                raise Abort(
                    self.error(
                        "inputs",
                        f"{len(shapes)} --input-shape given but "
                        f"`{name}` has {len(declared)} Keras input(s); give one "
                        "--input-shape per input",
                        None,
                        None,
                    )
                )
            for given, want in zip(shapes, declared):  # noqa: B905 (3.8)
                if len(given) != len(want):
                    example = ",".join(str(self.dims["B"] if d is None else d) for d in want)
                    raise Abort(
                        self.error(
                            "inputs",
                            f"--input-shape "
                            f"{','.join(map(str, given))} has rank {len(given)} "
                            f"but `{name}` takes rank {len(want)} (batch first, "
                            f"channels last), e.g. --input-shape {example}",
                            None,
                            None,
                        )
                    )
        out = []
        for i, shape in enumerate(shapes):
            dname = dtypes[i] if i < len(dtypes) and dtypes[i] else "float32"
            dt = torch_dtype(torch, str(dname))
            if dt.is_floating_point:  # Keras casts float64 NumPy data to its float32 itself
                out.append(torch.randn(*shape, dtype=torch.float32, device=device))
            else:
                out.append(torch.zeros(*shape, dtype=dt, device=device))
        spec["inputs"] = [list(s) for s in shapes]
        return out

    def verify_keras(self, spec: dict[str, Any]) -> dict[str, Any]:
        """Build, run `model(x, training=False)` under no_grad with hooks on every layer."""
        torch = self.torch
        device = self.keras_device
        name = spec.get("name") or spec.get("variable") or ""
        result: dict[str, Any] = {
            "name": name,
            "calls": [],
            "error": None,
            "device": device,
            "inputs": [],
            "note": "",
            "dtype": None,
        }
        try:
            model = self.build_keras(spec)
            inputs = self.keras_inputs(model, spec, device)
        except Abort as a:
            result["error"] = a.error
            return result
        except BaseException as e:
            result["error"] = self.error(
                "inputs", f"{type(e).__name__}: {e}", self.user_line(e.__traceback__), e
            )
            return result
        result["inputs"] = spec["inputs"]
        result["dtype"] = str(getattr(model, "compute_dtype", None) or "float32")
        tracer = Tracer(self, model, modules=_keras_layers(self.keras, model), keras=True)
        try:
            with torch.no_grad():
                _keras_call(self.keras, model, inputs)
        except BaseException as e:
            result["error"] = tracer.failure(e)
        finally:
            tracer.remove()
        result["calls"] = tracer.finish()
        return result


def _is_graph(keras: Any, layer: Any) -> bool:
    """Sequential and functional models: their layers are keyed by `layer.name`."""
    return isinstance(layer, keras.Sequential) or hasattr(layer, "_nodes_by_depth")


def _keras_layers(keras: Any, model: Any) -> list[tuple[str, Any]]:
    """(name, layer) for the model and every layer inside it, named like the static side:
    graph models' layers by `layer.name`, subclassed models' by attribute path."""
    out: list[tuple[str, Any]] = [("", model)]
    seen = {id(model)}
    layer_cls = keras.layers.Layer
    input_cls = keras.layers.InputLayer

    def walk(layer: Any, prefix: str) -> None:
        children: list[tuple[str, Any]] = []
        if _is_graph(keras, layer):
            children = [(c.name, c) for c in layer.layers]
        else:
            children = [(k, c) for k, c in layer.named_children() if isinstance(c, layer_cls)]
            known = {id(c) for _, c in children}
            children += [
                (c.name, c)
                for c in getattr(layer, "_layers", [])
                if isinstance(c, layer_cls) and id(c) not in known
            ]
        for key, child in children:
            if id(child) in seen or isinstance(child, input_cls):
                continue
            seen.add(id(child))
            name = f"{prefix}.{key}" if prefix else key
            out.append((name, child))
            walk(child, name)

    walk(model, "")
    return out


def _keras_input_shapes(model: Any) -> list[list[int | None]] | None:
    try:
        inputs = model.inputs
    except BaseException:
        return None
    if not inputs:
        return None
    return [[None if d is None else int(d) for d in t.shape] for t in inputs]


def _keras_input_dtypes(model: Any) -> list[str | None]:
    try:
        return [str(t.dtype) for t in model.inputs]
    except BaseException:
        return []


def _keras_call(keras: Any, model: Any, inputs: list[Any]) -> Any:
    """`model(x, training=False)`; several inputs as a list (graph models) or positionally."""
    if len(inputs) == 1:
        return model(inputs[0], training=False)
    if _is_graph(keras, model):
        return model(list(inputs), training=False)
    try:
        params = inspect.signature(model.call).parameters.values()
        positional = [
            p
            for p in params
            if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)
            and p.name not in ("training", "mask")
        ]
    except (TypeError, ValueError):
        positional = []
    if len(positional) >= len(inputs):
        return model(*inputs, training=False)
    return model(list(inputs), training=False)


def keras_raiser(keras: Any, tb: TracebackType | None) -> Any:
    """The innermost Keras layer (not a whole model) with a method in the traceback."""
    found = None
    while tb is not None:
        obj = tb.tb_frame.f_locals.get("self")
        if isinstance(obj, keras.layers.Layer) and not isinstance(obj, keras.Model):
            found = obj
        tb = tb.tb_next
    return found


_TF_DTYPES = (
    "float16",
    "float32",
    "float64",
    "bfloat16",
    "int8",
    "int16",
    "int32",
    "int64",
    "uint8",
    "bool",
    "complex64",
    "complex128",
    "string",
)


class _TFErrors(ModuleType):
    """`tf.errors.X`: a ValueError subclass per name, so `except tf.errors.X:` still parses."""

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        cls = type(name, (ValueError,), {})
        setattr(self, name, cls)
        return cls


class _TFShim(ModuleType):
    """`tensorflow` when it is not installed: tf.keras is keras 3, tf.<op> is keras.ops.<op>."""

    def __getattr__(self, name: str) -> Any:
        keras = self.__dict__["keras"]
        if name in _TF_DTYPES:
            return name
        if name == "random":
            return keras.random
        if not name.startswith("__") and hasattr(keras.ops, name):
            return getattr(keras.ops, name)
        raise AttributeError(
            f"tensorflow is not installed: shape-lsp verify runs tf.keras as "
            f"keras 3 on torch and maps tf.<op> to keras.ops, which has no "
            f"{name!r}"
        )


def _tf_importer(keras: Any) -> Callable[..., Any]:
    """An `__import__` for the user's file only: `tensorflow` (when it is not installed) is a
    stand-in over keras 3, `tensorflow.keras.X` is `keras.X`; everything else imports as usual.
    Only the user's module sees it, so Keras's own "is TensorFlow installed?" checks stay false."""
    import builtins

    real_import = builtins.__import__
    tf = _TFShim("tensorflow", "shape-lsp verify: keras 3 on torch standing in for tensorflow")
    tf.__dict__.update(
        keras=keras, errors=_TFErrors("tensorflow.errors"), __version__="0+keras-on-torch"
    )

    def tf_import(
        name: str, globals: Any = None, locals: Any = None, fromlist: Any = (), level: int = 0
    ) -> Any:
        if level == 0 and name.split(".", 1)[0] == "tensorflow":
            if name == "tensorflow":
                return tf
            if name == "tensorflow.keras" or name.startswith("tensorflow.keras."):
                mod = importlib.import_module("keras" + name[len("tensorflow.keras") :])
                return mod if fromlist else tf
            raise ImportError(
                f"tensorflow is not installed: shape-lsp verify runs tf.keras as "
                f"keras 3 on torch, but `{name}` has no keras equivalent",
                name=name,
            )
        return real_import(name, globals, locals, fromlist, level)

    return tf_import
