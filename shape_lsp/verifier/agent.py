"""The verify agent: imports the user's file, runs each model once with hooks, reports shapes.

Runs in a subprocess under the user's interpreter (the client starts it with a tiny bootstrap so
nothing of shape_lsp needs to be importable there; ``python -m shape_lsp.verifier.agent`` works
too). It reads a JSON request on stdin and writes the JSON report to ``report_path`` (never to
stdout, which belongs to the user's code and is captured by the client). Only stdlib and torch
are used (plus keras 3 on its torch backend for Keras files, imported lazily here), and the code
stays valid on Python 3.8 so older project interpreters can run it.
"""

from __future__ import annotations

import contextlib
import faulthandler
import importlib.util
import inspect
import json
import linecache
import os
import re
import signal
import sys
import time
import traceback
from types import FrameType, ModuleType, TracebackType
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # annotations only: the agent must also run on older Pythons (3.8+)
    from collections.abc import Callable

    Shape = list[int]
DEFAULT_DIMS = {"B": 2, "C": 3, "H": 32, "W": 32, "L": 16, "T": 16, "D": 8}
_MSG_LIMIT = 2000


class Abort(Exception):
    """A failure already described as an error dict (phase, message, line...)."""

    def __init__(self, error: dict[str, Any]) -> None:
        super().__init__(error.get("message", ""))
        self.error = error


def main(argv: list[str] | None = None) -> int:
    """Read the request from stdin, write the report file; exit status 0 unless the agent broke."""
    req = json.loads(sys.stdin.read())
    trace = open(req["trace_path"], "w")  # noqa: SIM115 - must outlive this frame for faulthandler
    faulthandler.enable(file=trace)
    usr1 = getattr(signal, "SIGUSR1", None)
    if usr1 is not None:  # the client asks for the stacks right before it kills us on timeout
        faulthandler.register(usr1, file=trace, all_threads=True)
    else:
        remaining = float(req.get("deadline") or 0) - time.time() - 0.4
        if remaining > 0:
            faulthandler.dump_traceback_later(remaining, exit=False, file=trace)
    try:
        report = Agent(req).run()
    except BaseException as e:  # an agent bug or a user's SystemExit escaping: still report it
        report = _report(
            "error",
            f"verify agent failed: {type(e).__name__}: {e}\n"
            + traceback.format_exc()[-_MSG_LIMIT:],
        )
    report["path"] = req["path"]
    faulthandler.cancel_dump_traceback_later()
    tmp = req["report_path"] + ".part"
    with open(tmp, "w") as fh:
        json.dump(report, fh)
    os.replace(tmp, req["report_path"])
    return 0


def _report(status: str, message: str = "", **extra: Any) -> dict[str, Any]:
    out: dict[str, Any] = {
        "status": status,
        "device": None,
        "dtype": None,
        "message": message,
        "models": [],
        "findings": [],
        "facts": [],
    }
    out.update(extra)
    return out


def _clip(text: str) -> str:
    return text if len(text) <= _MSG_LIMIT else text[:_MSG_LIMIT] + " ..."


class Agent:
    """One verify run: device choice, user import, model discovery and the traced forward."""

    def __init__(self, req: dict[str, Any]) -> None:
        self.req = req
        self.path = os.path.abspath(req["path"])
        self.dims = dict(DEFAULT_DIMS)
        self.dims.update(req.get("dims") or {})
        self.ctors: dict[str, str] = dict(req.get("ctors") or {})
        self.torch: Any = None
        self.keras: Any = None
        self.keras_device = "cpu"
        self.tf_import: Callable[..., Any] | None = None
        self.notes: list[str] = []
        self.module: ModuleType | None = None

    # -- setup -----------------------------------------------------------------------------
    def run(self) -> dict[str, Any]:
        if self.req.get("keras"):
            os.environ["KERAS_BACKEND"] = "torch"
        try:
            import torch
        except BaseException as e:
            return _report(
                "unavailable",
                f"torch cannot be imported by {sys.executable}: {e}. "
                "Point the verify interpreter (verify.python / --python) at your "
                "project's Python.",
            )
        self.torch = torch
        device, problem = self.pick_device(str(self.req.get("device") or "auto"))
        if problem:
            return _report("unavailable", problem)
        if self.req.get("keras"):
            problem = self.load_keras(device)
            if problem:
                return _report("unavailable", problem, device=device)
        with contextlib.suppress(OSError):  # the client's timeout starts now
            open(str(self.req["report_path"]) + ".ready", "w").close()
        try:
            self.module = self.import_user()
        except Abort as a:
            used = self.keras_device if self.keras is not None else device
            return _report(
                "error",
                a.error["message"],
                device=used,
                models=[{"name": "", "calls": [], "error": a.error}],
            )
        specs = list(self.req.get("models") or [])
        models: list[dict[str, Any]] = []
        if not specs:
            specs, errors = self.discover(device)
            models.extend(errors)
            if self.req.get("inputs"):
                for spec in specs:
                    spec.update(inputs=self.req["inputs"], user_inputs=True)
        for spec in specs:
            models.append(self.verify(spec, device))
        status = "error" if any(m.get("error") for m in models) else "ok"
        notes = self.notes + [m["note"] for m in models if m.get("note")]
        used = next((m["device"] for m in models if m.get("device")), device)
        dtype = next((m["dtype"] for m in models if m.get("dtype")), None)
        msg = "; ".join(notes)
        if not models:
            what = "nn.Module or keras.Model" if self.keras is not None else "nn.Module"
            status, msg = "error", f"no {what} model found in {self.path}"
        return _report(status, msg, device=used, dtype=dtype, models=models)

    def pick_device(self, wanted: str) -> tuple[str, str]:
        """(device, problem): `auto` is cuda, then mps, then cpu; unavailable ones explain why."""
        torch = self.torch
        mps = getattr(torch.backends, "mps", None)
        has_mps = bool(mps is not None and mps.is_available())
        if wanted == "auto":
            return ("cuda" if torch.cuda.is_available() else "mps" if has_mps else "cpu"), ""
        if wanted in ("cpu", "meta"):
            return wanted, ""
        if wanted == "cuda" and not torch.cuda.is_available():
            why = (
                "this torch build has no CUDA support"
                if torch.version.cuda is None
                else "no CUDA device is visible"
            )
            return "", (
                f"--device cuda: CUDA is not available to {sys.executable} (torch "
                f"{torch.__version__}: {why}); use --device cpu, meta or auto"
            )
        if wanted == "mps" and not has_mps:
            return "", (
                f"--device mps: MPS is not available to {sys.executable} (torch "
                f"{torch.__version__}); use --device cpu, meta or auto"
            )
        if wanted not in ("cuda", "mps"):
            return "", f"unknown device {wanted!r}; use auto, cpu, cuda, mps or meta"
        return wanted, ""

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
                f"{type(e).__name__}: {_first_line(str(e))}. Install Keras 3 there "
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
                self.req.get("source") or _read(self.path),
                re.M,
            ):
                self.notes.append(
                    f"tensorflow is not installed: tf.keras ran as keras {version} on torch"
                )
        return ""

    def import_user(self) -> ModuleType:
        """Import the file under a private name, so its `__main__` block does not run."""
        folder = os.path.dirname(self.path)
        if folder not in sys.path:
            sys.path.insert(0, folder)
        stem = re.sub(r"\W", "_", os.path.splitext(os.path.basename(self.path))[0])
        name = "_shape_lsp_verify_" + stem
        source = self.req.get("source")
        spec = importlib.util.spec_from_file_location(name, self.path)
        if source is not None:  # the editor's unsaved text (the file may not even exist)
            mod = ModuleType(name)
            mod.__file__ = self.path
        elif spec is None or spec.loader is None:
            raise Abort(self.error("import", f"cannot import {self.path}", None, None))
        else:
            mod = importlib.util.module_from_spec(spec)
        sys.modules[name] = mod
        if self.tf_import is not None:  # `import tensorflow` in this file: keras on torch
            import builtins

            mod.__dict__["__builtins__"] = dict(vars(builtins), __import__=self.tf_import)
        try:
            if source is None:
                assert spec is not None and spec.loader is not None
                spec.loader.exec_module(mod)
            else:  # compiled under the file's name, so frames map to the buffer's lines
                linecache.cache[self.path] = (len(source), None, source.splitlines(True), self.path)
                exec(compile(source, self.path, "exec"), mod.__dict__)
        except BaseException as e:
            line = e.lineno if isinstance(e, SyntaxError) and e.filename == self.path else None
            if line is None:
                line = self.user_line(e.__traceback__)
            what = "called sys.exit" if isinstance(e, SystemExit) else "failed"
            module, layer, text = None, "", str(e)
            if self.keras is not None:  # a Keras model built or run at import: which layer
                found = _keras_raiser(self.keras, e.__traceback__)
                if found is not None:
                    module, layer = found.name, type(found).__name__
                text = text.split("\n\nArguments received by", maxsplit=1)[0].strip()
            raise Abort(
                self.error(
                    "import",
                    f"importing {os.path.basename(self.path)} {what}: {type(e).__name__}: {text}",
                    line,
                    e,
                    module=module,
                    layer=layer,
                )
            ) from None
        return mod

    # -- model discovery and construction -----------------------------------------------------
    def discover(self, device: str) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        """Models to run when none was named: module-level instances and buildable classes.

        Classes that need arguments, and classes / instances used inside another candidate,
        are dropped; when nothing is left the construction errors are reported.
        """
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
        keep = _outermost(found, lambda m: list(m.modules())[1:])
        if self.keras is not None:
            kfound, kfailures = self.discover_keras()
            keep += _outermost(kfound, lambda m: list(m._flatten_layers(include_self=False)))
            failures += kfailures
        return keep, ([] if keep else failures)

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

    def construct_error(self, name: str, ctor: str, e: BaseException) -> dict[str, Any]:
        hint = (
            f"supply the arguments: pass --ctor '{name}(...)' (or add `model = {name}(...)` "
            'to the file\'s `if __name__ == "__main__":` block)'
        )
        line = self.user_line(e.__traceback__)
        cls = vars(self.module).get(name) if self.module is not None else None
        if line is None and isinstance(cls, type):
            line = _def_line(cls, self.path) or None
        return self.error(
            "construct", f"cannot build `{ctor}`: {type(e).__name__}: {e}; {hint}", line, e
        )

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
                found = sorted(k for k, v in ns.items() if _is_model(torch, v))
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
        first = _first_leaf(model)
        n_args = _forward_arity(model)
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
            dt = _torch_dtype(torch, name)
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
        conv = _conv_rank(nn, m)
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
        conv = _conv_rank(self.torch.nn, first[1])
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

    # -- the traced forward ------------------------------------------------------------------
    def verify(self, spec: dict[str, Any], device: str) -> dict[str, Any]:
        """Run one model; on meta, fall back to cpu when an op has no meta kernel."""
        if self.is_keras(spec):
            out = self.verify_keras(dict(spec))
            if device == "meta":
                out["note"] = (
                    f"{out['name']}: Keras cannot run on the meta device (its layers "
                    "need real tensors); ran on cpu instead"
                )
            return out
        out = self.verify_on(dict(spec), device)
        err = out.get("error")
        if device == "meta" and err and err.get("meta_specific"):
            where = f" (line {err['line']})" if err.get("line") else ""
            first = err["message"].splitlines()[0][:160] if err["message"] else err["exc_type"]
            retry = self.verify_on(dict(spec), "cpu")
            retry["note"] = (
                f"{out['name']}: meta could not run it{where}: {first}; ran on cpu instead"
            )
            return retry
        return out

    def verify_on(self, spec: dict[str, Any], device: str) -> dict[str, Any]:
        torch = self.torch
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
            model = self.build(spec, device)
            model.eval()
            inputs = self.make_inputs(model, spec, device)
        except Abort as a:
            result["error"] = a.error
            return result
        except BaseException as e:
            result["error"] = self.error(
                "inputs", f"{type(e).__name__}: {e}", self.user_line(e.__traceback__), e
            )
            return result
        result["inputs"] = spec["inputs"]
        result["dtype"] = _model_dtype(torch, model, inputs)
        tracer = Tracer(self, model)
        try:
            with torch.no_grad():
                model(*inputs)
        except BaseException as e:
            result["error"] = tracer.failure(e)
        finally:
            tracer.remove()
        result["calls"] = tracer.calls
        return result

    # -- Keras (keras 3 on the torch backend) ------------------------------------------------
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
            dt = _torch_dtype(torch, str(dname))
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

    # -- error mapping ---------------------------------------------------------------------
    def user_line(self, tb: TracebackType | None) -> int | None:
        """The line of the innermost traceback frame in the user's file."""
        line = None
        while tb is not None:
            if _same_file(tb.tb_frame.f_code.co_filename, self.path):
                line = tb.tb_lineno
            tb = tb.tb_next
        return line

    def error(
        self,
        phase: str,
        message: str,
        line: int | None,
        exc: BaseException | None,
        *,
        module: str | None = None,
        inputs: list[Any] | None = None,
        layer: str = "",
    ) -> dict[str, Any]:
        return {
            "phase": phase,
            "message": _clip(message),
            "line": line,
            "module": module,
            "input_shapes": inputs or [],
            "layer": layer,
            "exc_type": type(exc).__name__ if exc is not None else "",
            "meta_specific": exc is not None and _meta_specific(exc),
        }


class Tracer:
    """Forward pre-hooks keep a stack of the modules being called; forward hooks record calls."""

    def __init__(
        self,
        agent: Agent,
        model: Any,
        modules: list[tuple[str, Any]] | None = None,
        keras: bool = False,
    ) -> None:
        self.agent = agent
        self.torch = agent.torch
        self.keras = keras
        self.calls: list[dict[str, Any]] = []
        self.stack: list[tuple[str, str, list[Any], int]] = []
        self.handles: list[Any] = []
        self.root_line = _def_line(type(model), agent.path)
        self.names: dict[int, str] = {}
        self.symbolic: Callable[[], bool] = lambda: False
        if keras:
            try:
                from keras.src.backend.common.symbolic_scope import in_symbolic_scope

                self.symbolic = in_symbolic_scope
            except ImportError:
                pass
        for name, mod in modules if modules is not None else model.named_modules():
            self.names[id(mod)] = name
            self.handles.append(mod.register_forward_pre_hook(self._pre(name)))
            self.handles.append(mod.register_forward_hook(self._post(name)))

    def _pre(self, name: str) -> Callable[..., None]:
        def hook(mod: Any, args: Any) -> None:
            line = self.call_line(sys._getframe(1)) or (self.root_line if name == "" else 0)
            self.stack.append(
                (name, type(mod).__name__, [_shape_of(self.torch, a) for a in args], line)
            )

        return hook

    def _post(self, name: str) -> Callable[..., None]:
        def hook(mod: Any, args: Any, output: Any) -> None:
            line = 0
            if self.stack and self.stack[-1][0] == name:
                line = self.stack.pop()[3]
            t = _first_tensor(self.torch, output)
            call = {
                "module": name,
                "line": line,
                "layer": type(mod).__name__,
                "output": None if t is None else [int(d) for d in t.shape],
                "dtype": None if t is None else _dtype_name(t.dtype),
            }
            if self.keras:
                if t is None or t.device.type == "meta" or self.symbolic():
                    return  # Keras's symbolic shape inference (meta or filler tensors)
                call["occ"] = _graph_occurrence(mod, sys._getframe(1))
            self.calls.append(call)

        return hook

    def finish(self) -> list[dict[str, Any]]:
        """The calls; a Keras layer shared by several graph nodes keeps its calls in the order
        its nodes were created (the source order), not the order the graph ran them."""
        groups: dict[str, list[int]] = {}
        for i, c in enumerate(self.calls):
            if c.get("occ") is not None:
                groups.setdefault(c["module"], []).append(i)
        for idxs in groups.values():
            ordered = sorted((self.calls[i] for i in idxs), key=lambda c: c["occ"])
            for i, c in zip(idxs, ordered):  # noqa: B905 (3.8)
                self.calls[i] = c
        for c in self.calls:
            c.pop("occ", None)
        return self.calls

    def call_line(self, frame: FrameType | None) -> int:
        while frame is not None:
            if _same_file(frame.f_code.co_filename, self.agent.path):
                return int(frame.f_lineno)
            frame = frame.f_back
        return 0

    def failure(self, e: BaseException) -> dict[str, Any]:
        """The error dict: the user's line, the innermost module still running, its inputs."""
        line = self.agent.user_line(e.__traceback__)
        module: str | None = None
        layer = ""
        inputs: list[Any] = []
        if self.stack:
            module, layer, inputs, call_line = self.stack[-1]
            line = line or call_line or None
        msg = str(e).strip() or type(e).__name__
        if self.keras:  # Keras checks inputs in Layer.__call__, before the torch hooks run
            found = _raising_layer(e.__traceback__, self.names)
            if found is not None and found[0] != module:
                module, mod, args = found
                layer = type(mod).__name__
                inputs = [_shape_of(self.torch, a) for a in args]
            msg = msg.split("\n\nArguments received by", maxsplit=1)[0].strip()
        if isinstance(e, SystemExit):
            msg = f"the forward pass called sys.exit({e.code!r})"
        return self.agent.error("forward", msg, line, e, module=module, inputs=inputs, layer=layer)

    def remove(self) -> None:
        for h in self.handles:
            h.remove()


def _outermost(
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


def _first_line(text: str) -> str:
    return text.strip().splitlines()[0] if text.strip() else ""


def _read(path: str) -> str:
    try:
        with open(path, encoding="utf-8") as fh:
            return fh.read()
    except (OSError, UnicodeDecodeError):
        return ""


# -- Keras helpers (keras 3, torch backend; only called once keras is imported) ---------------
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


def _graph_occurrence(layer: Any, frame: FrameType | None) -> int | None:
    """Which of `layer`'s nodes in the running functional graph this call is (0 = first made)."""
    depth = 0
    while frame is not None and depth < 60:
        if frame.f_code.co_name == "_run_through_graph":
            node = frame.f_locals.get("node")
            by_depth = getattr(frame.f_locals.get("self"), "_nodes_by_depth", None)
            if node is None or not isinstance(by_depth, dict):
                return None
            ids = {id(n) for ns in by_depth.values() for n in ns}
            mine = [n for n in getattr(layer, "_inbound_nodes", []) if id(n) in ids]
            return next((i for i, n in enumerate(mine) if n is node), None)
        frame = frame.f_back
        depth += 1
    return None


def _raising_layer(tb: TracebackType | None, names: dict[int, str]) -> tuple[str, Any, Any] | None:
    """(name, layer, args) of the innermost traced layer whose method is in the traceback."""
    found = None
    while tb is not None:
        loc = tb.tb_frame.f_locals
        obj = loc.get("self")
        if obj is not None and id(obj) in names:
            args = loc.get("args")
            if isinstance(args, tuple):
                found = (names[id(obj)], obj, args)
            elif found is None or found[1] is not obj:  # build() etc.: keep __call__'s args
                found = (names[id(obj)], obj, ())
        tb = tb.tb_next
    return found


def _keras_raiser(keras: Any, tb: TracebackType | None) -> Any:
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


def _same_file(a: str, b: str) -> bool:
    return a == b or os.path.abspath(a) == b


def _def_line(cls: type, path: str) -> int:
    try:
        if _same_file(inspect.getsourcefile(cls) or "", path):
            return inspect.getsourcelines(cls)[1]
    except (OSError, TypeError):
        pass
    return 0


def _is_model(torch: Any, v: Any) -> bool:
    return isinstance(v, torch.nn.Module) or (
        isinstance(v, type) and issubclass(v, torch.nn.Module)
    )


def _first_leaf(model: Any) -> tuple[str, Any] | None:
    for name, m in model.named_modules():
        if name and not list(m.children()):
            return name, m
    return None


def _forward_arity(model: Any) -> tuple[int, int]:
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


def _conv_rank(nn: Any, m: Any) -> int:
    table = (
        (1, (nn.Conv1d, nn.ConvTranspose1d)),
        (2, (nn.Conv2d, nn.ConvTranspose2d)),
        (3, (nn.Conv3d, nn.ConvTranspose3d)),
    )
    for rank, classes in table:
        if isinstance(m, classes):
            return rank
    return 0


def _torch_dtype(torch: Any, name: str) -> Any:
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


def _dtype_name(dt: Any) -> str:
    return str(dt).replace("torch.", "")


def _model_dtype(torch: Any, model: Any, inputs: list[Any]) -> str | None:
    for p in model.parameters():
        if p.dtype.is_floating_point:
            return _dtype_name(p.dtype)
    return _dtype_name(inputs[0].dtype) if inputs else None


def _shape_of(torch: Any, v: Any) -> Shape | None:
    t = _first_tensor(torch, v)
    return None if t is None else [int(d) for d in t.shape]


def _first_tensor(torch: Any, v: Any, depth: int = 0) -> Any:
    """The first tensor in an output (tensor, tuple/list, dict, dataclass-like)."""
    if isinstance(v, torch.Tensor):
        return v
    if depth > 4:
        return None
    items: Any = ()
    if isinstance(v, (tuple, list)):
        items = v
    elif isinstance(v, dict):
        items = v.values()
    for item in items:
        t = _first_tensor(torch, item, depth + 1)
        if t is not None:
            return t
    return None


_META_WORDS = ("meta", "data-dependent", "data dependent", "fake impl", "no data")


def _meta_specific(e: BaseException) -> bool:
    """Whether an error on the meta device is the device's fault rather than the model's."""
    if isinstance(e, NotImplementedError):
        return True
    text = str(e).lower()
    return any(w in text for w in _META_WORDS)


if __name__ == "__main__":
    raise SystemExit(main())
