"""The verify agent: imports the user's file, runs each model once with hooks, reports shapes.

Runs in a subprocess under the user's interpreter (the client starts it with a tiny bootstrap so
nothing of shape_lsp needs to be importable there; ``python -m shape_lsp.verifier.agent`` works
too). It reads a JSON request on stdin and writes the JSON report to ``report_path`` (never to
stdout, which belongs to the user's code and is captured by the client). Only stdlib and torch
are used, and the code stays valid on Python 3.8 so older project interpreters can run it.
"""

from __future__ import annotations

import faulthandler
import importlib.util
import inspect
import json
import linecache
import os
import re
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
    remaining = float(req.get("deadline") or 0) - time.time() - 0.4
    if remaining > 0:
        faulthandler.dump_traceback_later(remaining, exit=False, file=trace)
    try:
        report = Agent(req).run()
    except BaseException as e:  # an agent bug or a user's SystemExit escaping: still report it
        report = _report("error", f"verify agent failed: {type(e).__name__}: {e}\n"
                         + traceback.format_exc()[-_MSG_LIMIT:])
    report["path"] = req["path"]
    faulthandler.cancel_dump_traceback_later()
    tmp = req["report_path"] + ".part"
    with open(tmp, "w") as fh:
        json.dump(report, fh)
    os.replace(tmp, req["report_path"])
    return 0


def _report(status: str, message: str = "", **extra: Any) -> dict[str, Any]:
    out: dict[str, Any] = {"status": status, "device": None, "dtype": None, "message": message,
                           "models": [], "findings": [], "facts": []}
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
        self.module: ModuleType | None = None

    # -- setup -----------------------------------------------------------------------------
    def run(self) -> dict[str, Any]:
        if self.req.get("keras"):
            os.environ["KERAS_BACKEND"] = "torch"
        try:
            import torch
        except BaseException as e:
            return _report("unavailable", f"torch cannot be imported by {sys.executable}: {e}. "
                           "Point the verify interpreter (verify.python / --python) at your "
                           "project's Python.")
        self.torch = torch
        device, problem = self.pick_device(str(self.req.get("device") or "auto"))
        if problem:
            return _report("unavailable", problem)
        try:
            self.module = self.import_user()
        except Abort as a:
            return _report("error", a.error["message"], device=device,
                           models=[{"name": "", "calls": [], "error": a.error}])
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
        notes = [m["note"] for m in models if m.get("note")]
        used = next((m["device"] for m in models if m.get("device")), device)
        dtype = next((m["dtype"] for m in models if m.get("dtype")), None)
        msg = "; ".join(notes)
        if not models:
            status, msg = "error", f"no nn.Module model found in {self.path}"
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
            why = ("this torch build has no CUDA support" if torch.version.cuda is None
                   else "no CUDA device is visible")
            return "", (f"--device cuda: CUDA is not available to {sys.executable} (torch "
                        f"{torch.__version__}: {why}); use --device cpu, meta or auto")
        if wanted == "mps" and not has_mps:
            return "", (f"--device mps: MPS is not available to {sys.executable} (torch "
                        f"{torch.__version__}); use --device cpu, meta or auto")
        if wanted not in ("cuda", "mps"):
            return "", f"unknown device {wanted!r}; use auto, cpu, cuda, mps or meta"
        return wanted, ""

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
        try:
            if source is None:
                assert spec is not None and spec.loader is not None
                spec.loader.exec_module(mod)
            else:  # compiled under the file's name, so frames map to the buffer's lines
                linecache.cache[self.path] = (len(source), None, source.splitlines(True),
                                              self.path)
                exec(compile(source, self.path, "exec"), mod.__dict__)
        except BaseException as e:
            line = e.lineno if isinstance(e, SyntaxError) and e.filename == self.path else None
            if line is None:
                line = self.user_line(e.__traceback__)
            what = "called sys.exit" if isinstance(e, SystemExit) else "failed"
            raise Abort(self.error("import", f"importing {os.path.basename(self.path)} {what}: "
                                   f"{type(e).__name__}: {e}", line, e)) from None
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
        for name, obj in list(vars(self.module).items()):
            if isinstance(obj, nn.Module):
                found.append((name, obj, {"name": name, "kind": "sequential", "variable": name}))
            elif (isinstance(obj, type) and issubclass(obj, nn.Module)
                  and obj.__module__ == self.module.__name__):
                ctor = self.ctors.get(name) or f"{name}()"
                try:
                    with self.torch.device("meta"):
                        inst = eval(ctor, self.module.__dict__)
                except BaseException as e:
                    failures.append({"name": name, "calls": [], "error": self.construct_error(
                        name, ctor, e)})
                    continue
                found.append((name, inst, {"name": name, "kind": "class", "ctor": ctor}))
        inner_ids = set()
        inner_types = set()
        for _, inst, _ in found:
            for sub in list(inst.modules())[1:]:
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
        return keep, ([] if keep else failures)

    def construct_error(self, name: str, ctor: str, e: BaseException) -> dict[str, Any]:
        hint = (f"supply the arguments: pass --ctor '{name}(...)' (or add `model = {name}(...)` "
                "to the file's `if __name__ == \"__main__\":` block)")
        line = self.user_line(e.__traceback__)
        cls = vars(self.module).get(name) if self.module is not None else None
        if line is None and isinstance(cls, type):
            line = _def_line(cls, self.path) or None
        return self.error("construct", f"cannot build `{ctor}`: {type(e).__name__}: {e}; {hint}",
                          line, e)

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
                raise Abort(self.error("construct", f"no model named {name!r} in "
                                       f"{os.path.basename(self.path)}; found: "
                                       f"{', '.join(found) or 'none'}", None, None))
            if isinstance(ns[name], torch.nn.Module):
                variable = name
            else:
                ctor = self.ctors.get(name) or f"{name}()"
        if variable:
            obj = ns.get(variable)
            if not isinstance(obj, torch.nn.Module):
                raise Abort(self.error("construct", f"`{variable}` is not an nn.Module "
                                       f"({type(obj).__name__})", None, None))
            try:
                return obj.to(device)
            except BaseException as e:
                raise Abort(self.error("construct", f"cannot move `{variable}` to {device}: "
                                       f"{type(e).__name__}: {e}", None, e)) from None
        ctor = str(ctor)
        try:
            with torch.device(device):
                model = eval(ctor, ns)  # the file's own example constructor
        except BaseException as e:
            raise Abort(self.construct_error(name or str(ctor), str(ctor), e)) from None
        if not isinstance(model, torch.nn.Module):
            raise Abort(self.error("construct", f"`{ctor}` built a {type(model).__name__}, not "
                                   "an nn.Module", None, None))
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
                what = (f"its first layer is {type(first[1]).__name__}" if first
                        else "it has no layers")
                raise Abort(self.error("inputs", f"cannot tell the input shape of "
                                       f"`{spec.get('name')}` ({what}); pass --input-shape, "
                                       "e.g. --input-shape 2,3,32,32 (once per forward input)",
                                       None, None))
            shape, dtype = guess
            shapes = [shape] * max(n_args[0], 1)
            dtypes = [dtype] * len(shapes)
        out = []
        for i, shape in enumerate(shapes):
            name = dtypes[i] if i < len(dtypes) and dtypes[i] else "float32"
            dt = _torch_dtype(torch, name)
            if dt.is_floating_point or dt.is_complex:
                out.append(torch.randn(*shape, dtype=dt, device=device) if device != "meta"
                           else torch.empty(*shape, dtype=dt, device=device))
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

    def check_user_shapes(self, shapes: list[Shape], first: tuple[str, Any] | None,
                          arity: tuple[int, int]) -> None:
        lo, hi = arity
        if not lo <= len(shapes) <= hi:
            want = str(lo) if lo == hi else f"{lo} to {hi}" if hi < 99 else f"at least {lo}"
            raise Abort(self.error("inputs", f"{len(shapes)} --input-shape given but forward() "
                                   f"takes {want} tensor input(s); give one --input-shape per "
                                   "input", None, None))
        if first is None:
            return
        conv = _conv_rank(self.torch.nn, first[1])
        if conv and len(shapes[0]) != conv + 2:  # unbatched inputs are rare in model files
            dims = ["B", "C", *(["L"] if conv == 1 else ["D", "H", "W"][-conv:])]
            example = ",".join(str(self.dims.get(x, first[1].in_channels if x == "C" else 2))
                               for x in dims)
            raise Abort(self.error("inputs", f"--input-shape {','.join(map(str, shapes[0]))} "
                                   f"has rank {len(shapes[0])} but the first layer "
                                   f"`{first[0]}` ({type(first[1]).__name__}) takes rank "
                                   f"{conv + 2} ({', '.join(dims)}), e.g. --input-shape "
                                   f"{example}", None, None))

    # -- the traced forward ------------------------------------------------------------------
    def verify(self, spec: dict[str, Any], device: str) -> dict[str, Any]:
        """Run one model; on meta, fall back to cpu when an op has no meta kernel."""
        out = self.verify_on(dict(spec), device)
        err = out.get("error")
        if device == "meta" and err and err.get("meta_specific"):
            where = f" (line {err['line']})" if err.get("line") else ""
            first = err["message"].splitlines()[0][:160] if err["message"] else err["exc_type"]
            retry = self.verify_on(dict(spec), "cpu")
            retry["note"] = (f"{out['name']}: meta could not run it{where}: {first}; "
                             "ran on cpu instead")
            return retry
        return out

    def verify_on(self, spec: dict[str, Any], device: str) -> dict[str, Any]:
        torch = self.torch
        name = spec.get("name") or spec.get("variable") or ""
        result: dict[str, Any] = {"name": name, "calls": [], "error": None, "device": device,
                                  "inputs": [], "note": "", "dtype": None}
        try:
            model = self.build(spec, device)
            model.eval()
            inputs = self.make_inputs(model, spec, device)
        except Abort as a:
            result["error"] = a.error
            return result
        except BaseException as e:
            result["error"] = self.error("inputs", f"{type(e).__name__}: {e}",
                                         self.user_line(e.__traceback__), e)
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

    # -- error mapping ---------------------------------------------------------------------
    def user_line(self, tb: TracebackType | None) -> int | None:
        """The line of the innermost traceback frame in the user's file."""
        line = None
        while tb is not None:
            if _same_file(tb.tb_frame.f_code.co_filename, self.path):
                line = tb.tb_lineno
            tb = tb.tb_next
        return line

    def error(self, phase: str, message: str, line: int | None, exc: BaseException | None,
              *, module: str | None = None, inputs: list[Any] | None = None,
              layer: str = "") -> dict[str, Any]:
        return {"phase": phase, "message": _clip(message), "line": line, "module": module,
                "input_shapes": inputs or [], "layer": layer,
                "exc_type": type(exc).__name__ if exc is not None else "",
                "meta_specific": exc is not None and _meta_specific(exc)}


class Tracer:
    """Forward pre-hooks keep a stack of the modules being called; forward hooks record calls."""

    def __init__(self, agent: Agent, model: Any) -> None:
        self.agent = agent
        self.torch = agent.torch
        self.calls: list[dict[str, Any]] = []
        self.stack: list[tuple[str, str, list[Any], int]] = []
        self.handles: list[Any] = []
        self.root_line = _def_line(type(model), agent.path)
        for name, mod in model.named_modules():
            self.handles.append(mod.register_forward_pre_hook(self._pre(name)))
            self.handles.append(mod.register_forward_hook(self._post(name)))

    def _pre(self, name: str) -> Callable[..., None]:
        def hook(mod: Any, args: Any) -> None:
            line = self.call_line(sys._getframe(1)) or (self.root_line if name == "" else 0)
            self.stack.append((name, type(mod).__name__, [_shape_of(self.torch, a) for a in args],
                               line))
        return hook

    def _post(self, name: str) -> Callable[..., None]:
        def hook(mod: Any, args: Any, output: Any) -> None:
            line = 0
            if self.stack and self.stack[-1][0] == name:
                line = self.stack.pop()[3]
            t = _first_tensor(self.torch, output)
            self.calls.append({
                "module": name, "line": line, "layer": type(mod).__name__,
                "output": None if t is None else [int(d) for d in t.shape],
                "dtype": None if t is None else _dtype_name(t.dtype),
            })
        return hook

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
        if isinstance(e, SystemExit):
            msg = f"the forward pass called sys.exit({e.code!r})"
        return self.agent.error("forward", msg, line, e, module=module, inputs=inputs,
                                layer=layer)

    def remove(self) -> None:
        for h in self.handles:
            h.remove()


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
    return isinstance(v, torch.nn.Module) or (isinstance(v, type)
                                              and issubclass(v, torch.nn.Module))


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
    table = ((1, (nn.Conv1d, nn.ConvTranspose1d)), (2, (nn.Conv2d, nn.ConvTranspose2d)),
             (3, (nn.Conv3d, nn.ConvTranspose3d)))
    for rank, classes in table:
        if isinstance(m, classes):
            return rank
    return 0


def _torch_dtype(torch: Any, name: str) -> Any:
    key = name.replace("torch.", "")
    key = {"long": "int64", "int": "int32", "float": "float32", "double": "float64",
           "half": "float16", "bool": "bool"}.get(key, key)
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
