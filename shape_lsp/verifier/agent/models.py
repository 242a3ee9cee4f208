"""Torch models: discovery, construction and example inputs (torch is passed in by the runner).

Stdlib only at import time; valid on Python 3.8.
"""

from __future__ import annotations

import inspect
import os
from typing import TYPE_CHECKING, Any

from .hooks import dtype_name
from .protocol import Abort, AgentBase

if TYPE_CHECKING:  # annotations only: the agent must also run on older Pythons (3.8+)
    from collections.abc import Callable

    Shape = list[int]


class TorchModels(AgentBase):
    """Finding, building and feeding `nn.Module` models of the user's module."""

    def discover_torch(self) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        """nn.Module models to run when none was named: module-level instances and buildable
        classes, less those used inside another candidate; and the construction errors."""
        nn = self.torch.nn
        assert self.module is not None
        found: list[tuple[str, Any, dict[str, Any]]] = []
        failures: list[dict[str, Any]] = []
        kl = self.keras.layers.Layer if self.keras is not None else ()
        for name, obj in list(vars(self.module).items()):
            if isinstance(obj, kl) or (isinstance(obj, type) and kl and issubclass(obj, kl)):
                continue  # Keras layers are torch modules too; discover_keras handles them
            if isinstance(obj, nn.Module):
                found.append((name, obj, {"name": name, "kind": "sequential", "variable": name}))
            elif (
                isinstance(obj, type)
                and issubclass(obj, nn.Module)
                and obj.__module__ == self.module.__name__
            ):
                ctor = self.ctors.get(name) or f"{name}()"
                try:
                    with self.torch.device("meta"):
                        inst = eval(ctor, self.module.__dict__)
                except BaseException as e:
                    failures.append(
                        {"name": name, "calls": [], "error": self.construct_error(name, ctor, e)}
                    )
                    continue
                found.append((name, inst, {"name": name, "kind": "class", "ctor": ctor}))
        return outermost(found, lambda m: list(m.modules())[1:]), failures

    def build(self, spec: dict[str, Any], device: str) -> Any:
        """The model on `device`: from ctor, the module-level variable, or the bare class."""
        torch = self.torch
        assert self.module is not None
        ns = self.module.__dict__
        name = spec.get("name") or ""
        ctor = spec.get("ctor")
        variable = spec.get("variable")
        if not ctor and not variable:
            if name not in ns:
                found = sorted(k for k, v in ns.items() if is_model(torch, v))
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
            if isinstance(ns[name], torch.nn.Module):
                variable = name
            else:
                ctor = self.ctors.get(name) or f"{name}()"
        if variable:
            obj = ns.get(variable)
            if not isinstance(obj, torch.nn.Module):
                raise Abort(
                    self.error(
                        "construct",
                        f"`{variable}` is not an nn.Module ({type(obj).__name__})",
                        None,
                        None,
                    )
                )
            try:
                return obj.to(device)
            except BaseException as e:
                raise Abort(
                    self.error(
                        "construct",
                        f"cannot move `{variable}` to {device}: {type(e).__name__}: {e}",
                        None,
                        e,
                    )
                ) from None
        ctor = str(ctor)
        try:
            with torch.device(device):
                model = eval(ctor, ns)  # the file's own example constructor
        except BaseException as e:
            raise Abort(self.construct_error(name or str(ctor), str(ctor), e)) from None
        if not isinstance(model, torch.nn.Module):
            raise Abort(
                self.error(
                    "construct",
                    f"`{ctor}` built a {type(model).__name__}, not an nn.Module",
                    None,
                    None,
                )
            )
        return model

    # -- inputs ----------------------------------------------------------------------------
    def make_inputs(self, model: Any, spec: dict[str, Any], device: str) -> list[Any]:
        torch = self.torch
        shapes = spec.get("inputs")
        dtypes = list(spec.get("input_dtypes") or [])
        first = first_leaf(model)
        n_args = forward_arity(model)
        if shapes:
            if spec.get("user_inputs"):
                self.check_user_shapes(shapes, first, n_args)
        else:
            guess = self.guess_input(first)
            if guess is None:
                what = (
                    f"its first layer is {type(first[1]).__name__}" if first else "it has no layers"
                )
                raise Abort(
                    self.error(
                        "inputs",
                        f"cannot tell the input shape of "
                        f"`{spec.get('name')}` ({what}); pass --input-shape, "
                        "e.g. --input-shape 2,3,32,32 (once per forward input)",
                        None,
                        None,
                    )
                )
            shape, dtype = guess
            shapes = [shape] * max(n_args[0], 1)
            dtypes = [dtype] * len(shapes)
        out = []
        for i, shape in enumerate(shapes):
            name = dtypes[i] if i < len(dtypes) and dtypes[i] else "float32"
            dt = torch_dtype(torch, name)
            if dt.is_floating_point or dt.is_complex:
                out.append(
                    torch.randn(*shape, dtype=dt, device=device)
                    if device != "meta"
                    else torch.empty(*shape, dtype=dt, device=device)
                )
            else:
                out.append(torch.zeros(*shape, dtype=dt, device=device))
        spec["inputs"] = [list(s) for s in shapes]
        return out

    def guess_input(self, first: tuple[str, Any] | None) -> tuple[Shape, str] | None:
        """An input for the first layer: conv (B, C, spatial...), linear (B, in), embedding..."""
        if first is None:
            return None
        nn = self.torch.nn
        d = self.dims
        m = first[1]
        spatial = {1: [d["L"]], 2: [d["H"], d["W"]], 3: [d["D"], d["H"], d["W"]]}
        conv = conv_rank(nn, m)
        if conv:
            return [d["B"], m.in_channels, *spatial[conv]], "float32"
        if isinstance(m, nn.Linear):
            return [d["B"], m.in_features], "float32"
        if isinstance(m, nn.Embedding):
            return [d["B"], d["L"]], "int64"
        if isinstance(m, nn.RNNBase):
            if m.batch_first:
                return [d["B"], d["T"], m.input_size], "float32"
            return [d["T"], d["B"], m.input_size], "float32"
        for rank, cls in ((2, nn.BatchNorm1d), (4, nn.BatchNorm2d), (5, nn.BatchNorm3d)):
            if isinstance(m, cls):
                return [d["B"], m.num_features, *spatial[rank - 2][: rank - 2]], "float32"
        if isinstance(m, nn.LayerNorm):
            return [d["B"], d["L"], *m.normalized_shape], "float32"
        return None

    def check_user_shapes(
        self, shapes: list[Shape], first: tuple[str, Any] | None, arity: tuple[int, int]
    ) -> None:
        lo, hi = arity
        if not lo <= len(shapes) <= hi:
            want = str(lo) if lo == hi else f"{lo} to {hi}" if hi < 99 else f"at least {lo}"
            raise Abort(
                self.error(
                    "inputs",
                    f"{len(shapes)} --input-shape given but forward() "
                    f"takes {want} tensor input(s); give one --input-shape per "
                    "input",
                    None,
                    None,
                )
            )
        if first is None:
            return
        conv = conv_rank(self.torch.nn, first[1])
        if conv and len(shapes[0]) != conv + 2:  # unbatched inputs are rare in model files
            dims = ["B", "C", *(["L"] if conv == 1 else ["D", "H", "W"][-conv:])]
            example = ",".join(
                str(self.dims.get(x, first[1].in_channels if x == "C" else 2)) for x in dims
            )
            raise Abort(
                self.error(
                    "inputs",
                    f"--input-shape {','.join(map(str, shapes[0]))} "
                    f"has rank {len(shapes[0])} but the first layer "
                    f"`{first[0]}` ({type(first[1]).__name__}) takes rank "
                    f"{conv + 2} ({', '.join(dims)}), e.g. --input-shape "
                    f"{example}",
                    None,
                    None,
                )
            )


def outermost(
    found: list[tuple[str, Any, dict[str, Any]]], parts: Callable[[Any], list[Any]]
) -> list[dict[str, Any]]:
    """Specs of the found models that are not a part (or the class of a part) of another."""
    inner_ids = set()
    inner_types = set()
    for _, inst, _ in found:
        for sub in parts(inst):
            inner_ids.add(id(sub))
            inner_types.add(type(sub))
    var_types = {type(inst) for _, inst, s in found if s.get("variable")}
    keep = []
    for _name, inst, spec in found:
        if spec.get("variable"):
            if id(inst) not in inner_ids:
                keep.append(spec)
        elif type(inst) not in inner_types and type(inst) not in var_types:
            keep.append(spec)
    return keep


def is_model(torch: Any, v: Any) -> bool:
    return isinstance(v, torch.nn.Module) or (
        isinstance(v, type) and issubclass(v, torch.nn.Module)
    )


def first_leaf(model: Any) -> tuple[str, Any] | None:
    for name, m in model.named_modules():
        if name and not list(m.children()):
            return name, m
    return None


def forward_arity(model: Any) -> tuple[int, int]:
    """(required, maximum) positional inputs of forward()."""
    try:
        sig = inspect.signature(model.forward)
    except (TypeError, ValueError):
        return 1, 99
    lo = hi = 0
    for p in sig.parameters.values():
        if p.kind == p.VAR_POSITIONAL:
            hi = 99
        elif p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD):
            hi += 1
            lo += p.default is p.empty
    return lo, max(hi, lo)


def conv_rank(nn: Any, m: Any) -> int:
    table = (
        (1, (nn.Conv1d, nn.ConvTranspose1d)),
        (2, (nn.Conv2d, nn.ConvTranspose2d)),
        (3, (nn.Conv3d, nn.ConvTranspose3d)),
    )
    for rank, classes in table:
        if isinstance(m, classes):
            return rank
    return 0


def torch_dtype(torch: Any, name: str) -> Any:
    key = name.replace("torch.", "")
    key = {
        "long": "int64",
        "int": "int32",
        "float": "float32",
        "double": "float64",
        "half": "float16",
        "bool": "bool",
    }.get(key, key)
    dt = getattr(torch, key, None)
    return dt if isinstance(dt, torch.dtype) else torch.float32


def model_dtype(torch: Any, model: Any, inputs: list[Any]) -> str | None:
    for p in model.parameters():
        if p.dtype.is_floating_point:
            return dtype_name(p.dtype)
    return dtype_name(inputs[0].dtype) if inputs else None
