"""Running: the agent's entry point, device choice, the user's import, and the traced forward.

`main` reads the JSON request on stdin and writes the report to ``report_path`` (never to
stdout, which belongs to the user's code). faulthandler writes every thread's stack to the trace
file when the client asks (SIGUSR1, right before it kills us on timeout) or near the deadline.
"""

from __future__ import annotations

import ast
import contextlib
import copy
import faulthandler
import importlib.util
import json
import linecache
import os
import re
import signal
import sys
import time
import traceback
from types import ModuleType
from typing import Any

from .hooks import Tracer
from .keras_run import KerasModels, keras_raiser
from .models import TorchModels, model_dtype, outermost
from .protocol import MSG_LIMIT, Abort, clip, report
from .slicing import roots_of, slice_module

RERUN_LIMIT = 1 << 24  # elements (inputs, weights, buffers) for a cpu rerun of a meta error


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
        result = Agent(req).run()
    except BaseException as e:  # an agent bug or a user's SystemExit escaping: still report it
        result = report(
            "error",
            f"verify agent failed: {type(e).__name__}: {e}\n" + traceback.format_exc()[-MSG_LIMIT:],
        )
    result["path"] = req["path"]
    faulthandler.cancel_dump_traceback_later()
    tmp = req["report_path"] + ".part"
    with open(tmp, "w") as fh:
        json.dump(result, fh)
    os.replace(tmp, req["report_path"])
    return 0


class Agent(TorchModels, KerasModels):
    """One verify run: device choice, user import, model discovery and the traced forward."""

    # -- setup -----------------------------------------------------------------------------
    def run(self) -> dict[str, Any]:
        if self.req.get("keras"):
            os.environ["KERAS_BACKEND"] = "torch"
        try:
            import torch
        except BaseException as e:
            return report(
                "unavailable",
                f"torch cannot be imported by {sys.executable}: {e}. "
                "Point the verify interpreter (verify.python / --python) at your "
                "project's Python.",
            )
        self.torch = torch
        device, problem = self.pick_device(str(self.req.get("device") or "auto"))
        if problem:
            return report("unavailable", problem)
        if self.req.get("keras"):
            problem = self.load_keras(device)
            if problem:
                return report("unavailable", problem, device=device)
        with contextlib.suppress(OSError):  # the client's timeout starts now
            open(str(self.req["report_path"]) + ".ready", "w").close()
        try:
            self.module = self.import_user()
        except Abort as a:
            used = self.keras_device if self.keras is not None else device
            return report(
                "error",
                a.error["message"],
                device=used,
                models=[{"name": "", "calls": [], "error": a.error}],
                **self.slice,
            )
        specs = list(self.req.get("models") or [])
        models: list[dict[str, Any]] = []
        if not specs:
            specs, errors = self.discover()
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
        return report(status, msg, device=used, dtype=dtype, models=models, **self.slice)

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

    def import_user(self) -> ModuleType:
        """Run the file's static slice (see `slicing`) as a module under a private name."""
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
                with open(self.path, "rb") as fh:
                    source = importlib.util.decode_source(fh.read())
            else:  # compiled under the file's name, so frames map to the buffer's lines
                linecache.cache[self.path] = (len(source), None, source.splitlines(True), self.path)
            exec(self.sliced(source), mod.__dict__)
        except BaseException as e:
            line = e.lineno if isinstance(e, SyntaxError) and e.filename == self.path else None
            if line is None:
                line = self.user_line(e.__traceback__)
            what = "called sys.exit" if isinstance(e, SystemExit) else "failed"
            module, layer, text = None, "", str(e)
            if self.keras is not None:  # a Keras model built or run at import: which layer
                found = keras_raiser(self.keras, e.__traceback__)
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

    def sliced(self, source: str) -> Any:
        """The code of the slice of `source` the models need; the whole file when it does not
        parse (so the SyntaxError is reported as usual)."""
        try:
            tree = ast.parse(source, self.path)
        except (SyntaxError, ValueError):
            return compile(source, self.path, "exec")
        specs = list(self.req.get("models") or [])
        ctors = [] if specs else list(self.ctors.values())
        roots = roots_of(specs, ctors)
        module, self.slice, self.skipped_names = slice_module(
            tree, source.splitlines(), roots, discover=not specs
        )
        return compile(module, self.path, "exec")

    # -- model discovery and construction -----------------------------------------------------
    def discover(self) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        """Models to run when none was named (torch, then Keras); when none is found, the
        construction errors of the classes that could not be built."""
        keep, failures = self.discover_torch()
        if self.keras is not None:
            kfound, kfailures = self.discover_keras()
            keep += outermost(kfound, lambda m: list(m._flatten_layers(include_self=False)))
            failures += kfailures
        return keep, ([] if keep else failures)

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
        result["dtype"] = model_dtype(torch, model, inputs)
        tracer = Tracer(self, model)
        try:
            with torch.no_grad():
                model(*inputs)
        except BaseException as e:
            result["error"] = tracer.failure(e)
            if device == "meta" and not result["error"]["meta_specific"]:
                self.cpu_wording(result["error"], tracer, e)
        finally:
            tracer.remove()
        result["calls"] = tracer.calls
        return result

    def cpu_wording(self, error: dict[str, Any], tracer: Tracer, exc: BaseException) -> None:
        """Torch words shape errors differently on meta ("a and b must have same reduction
        dim"): rerun only the failing module on cpu, with uninitialised weights and zero-filled
        inputs of the recorded shapes, and use its message when it fails the same way. Only when
        small (RERUN_LIMIT elements in all); the meta message stays otherwise."""
        torch = self.torch
        shapes = error.get("input_shapes") or []
        if tracer.failed is None or not shapes or any(s is None for s in shapes):
            return
        mod, dtypes = tracer.failed
        try:
            size = sum(p.numel() for p in mod.parameters()) + sum(b.numel() for b in mod.buffers())
            for shape in shapes:
                n = 1
                for d in shape:
                    n *= d
                size += n
            if size > RERUN_LIMIT:
                return
            cpu = copy.deepcopy(mod).to_empty(device="cpu")
            args = [
                torch.zeros(*s, dtype=dt if dt is not None else torch.float32)
                for s, dt in zip(shapes, dtypes)  # noqa: B905 (3.8)
            ]
            with torch.no_grad():
                cpu(*args)
        except BaseException as e:
            if type(e) is type(exc) and str(e).strip():
                msg = str(e).strip()
                error["message"] = clip(
                    msg + self.skipped_hint(e) if isinstance(e, NameError) else msg
                )


if __name__ == "__main__":
    raise SystemExit(main())
