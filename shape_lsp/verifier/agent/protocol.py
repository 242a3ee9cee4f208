"""The agent's side of the protocol: the report dict, error dicts and where an error happened.

Plain dicts only (see ``shape_lsp.verifier.protocol`` for the typed client side); stdlib only,
valid on Python 3.8.
"""

from __future__ import annotations

import inspect
import os
import re
from types import ModuleType, TracebackType
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # annotations only: the agent must also run on older Pythons (3.8+)
    from collections.abc import Callable

DEFAULT_DIMS = {"B": 2, "C": 3, "H": 32, "W": 32, "L": 16, "T": 16, "D": 8}
MSG_LIMIT = 2000
_META_WORDS = ("meta", "data-dependent", "data dependent", "fake impl", "no data")


class Abort(Exception):
    """A failure already described as an error dict (phase, message, line...)."""

    def __init__(self, error: dict[str, Any]) -> None:
        super().__init__(error.get("message", ""))
        self.error = error


def report(status: str, message: str = "", **extra: Any) -> dict[str, Any]:
    """The report document the client reads back (see the client's ``VerifyReport``)."""
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


def clip(text: str) -> str:
    """`text` cut to the report's message limit."""
    return text if len(text) <= MSG_LIMIT else text[:MSG_LIMIT] + " ..."


def first_line(text: str) -> str:
    """The first non-blank line of `text` ("" when blank)."""
    return text.strip().splitlines()[0] if text.strip() else ""


def read(path: str) -> str:
    """The text of `path`, or "" when unreadable."""
    try:
        with open(path, encoding="utf-8") as fh:
            return fh.read()
    except (OSError, UnicodeDecodeError):
        return ""


def same_file(a: str, b: str) -> bool:
    """Whether code-object file name `a` is the (absolute) user path `b`."""
    return a == b or os.path.abspath(a) == b


def def_line(cls: type, path: str) -> int:
    """The line `cls` is defined at in `path`, or 0."""
    try:
        if same_file(inspect.getsourcefile(cls) or "", path):
            return inspect.getsourcelines(cls)[1]
    except (OSError, TypeError):
        pass
    return 0


def meta_specific(e: BaseException) -> bool:
    """Whether an error on the meta device is the device's fault rather than the model's."""
    if isinstance(e, NotImplementedError):
        return True
    text = str(e).lower()
    return any(w in text for w in _META_WORDS)


class AgentBase:
    """The request's state shared by every part of the agent, and error mapping."""

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
        self.slice: dict[str, Any] = {}  # {"ran": [[first, last]...], "skipped": [...]}
        self.skipped_names: dict[str, int] = {}  # bound only by skipped code: its line

    def user_line(self, tb: TracebackType | None) -> int | None:
        """The line of the innermost traceback frame in the user's file."""
        line = None
        while tb is not None:
            if same_file(tb.tb_frame.f_code.co_filename, self.path):
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
        """An error dict (the client's ``RuntimeErrorInfo``)."""
        if isinstance(exc, NameError):
            message += self.skipped_hint(exc)
        return {
            "phase": phase,
            "message": clip(message),
            "line": line,
            "module": module,
            "input_shapes": inputs or [],
            "layer": layer,
            "exc_type": type(exc).__name__ if exc is not None else "",
            "meta_specific": exc is not None and meta_specific(exc),
        }

    def skipped_hint(self, exc: NameError) -> str:
        """Why a name is missing when only code verify skipped assigns it."""
        match = re.search(r"name '(\w+)' is not defined", str(exc))
        line = self.skipped_names.get(match.group(1)) if match else None
        if not match or not line:
            return ""
        return (
            f" (`{match.group(1)}` is only assigned at line {line}, which verify skipped: it "
            "runs imports, definitions and what the models use)"
        )

    def construct_error(self, name: str, ctor: str, e: BaseException) -> dict[str, Any]:
        """The error for a model class that could not be built with `ctor`."""
        hint = (
            f"supply the arguments: pass --ctor '{name}(...)' (or add `model = {name}(...)` "
            'to the file\'s `if __name__ == "__main__":` block)'
        )
        line = self.user_line(e.__traceback__)
        cls = vars(self.module).get(name) if self.module is not None else None
        if line is None and isinstance(cls, type):
            line = def_line(cls, self.path) or None
        return self.error(
            "construct", f"cannot build `{ctor}`: {type(e).__name__}: {e}; {hint}", line, e
        )
