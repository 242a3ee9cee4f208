"""The user's Python environment, found the way pyright and ruff find it.

Order: the `[tool.shape-lsp] python` setting, the editor's interpreter, `$VIRTUAL_ENV`, a
`.venv`/`venv` folder in the project (or above it), else the server's own interpreter. The
interpreter is asked once for its `sys.path` by a subprocess that runs only the standard library
(`python -I -c ...`: nothing of the user's or the libraries' code is imported); the answer is
cached on disk keyed by the interpreter's path and mtime. The standard library's folders are
left out: the engine models the parts of it that matter.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

_QUERY = (
    "import json, sys, sysconfig\n"
    "p = sysconfig.get_paths()\n"
    "print(json.dumps({'path': sys.path, 'stdlib': [p.get('stdlib'), p.get('platstdlib')],"
    " 'version': '%d.%d' % sys.version_info[:2]}))\n"
)
TIMEOUT_S = 10.0
FORMAT = 1


@dataclass(frozen=True)
class Environment:
    """An interpreter and the folders its imports are searched in (site-packages, .pth
    entries), most important first; `origin` says how it was chosen."""

    python: str
    origin: str
    paths: tuple[str, ...]
    error: str | None = None

    def describe(self) -> str:
        """How the interpreter is named to the user."""
        return self.python


def library_cache_dir() -> Path:
    """Where library indexes live: `$SHAPE_LSP_CACHE_DIR/lib`, else the user cache folder
    (shared by every project, `check` and `serve`: entries are keyed by file path, size and
    mtime, so one interpreter's libraries are indexed once)."""
    env = os.environ.get("SHAPE_LSP_CACHE_DIR")
    if env:
        return Path(env) / "lib"
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "shape-lsp" / "lib"


def _venv_python(folder: Path) -> Path | None:
    for rel in ("bin/python", "bin/python3", "Scripts/python.exe"):
        p = folder / rel
        if p.is_file():
            return p
    return None


def find_interpreter(
    project: Path | None, setting: str | None = None, editor: str | None = None
) -> tuple[str, str]:
    """(interpreter path, how it was chosen)."""
    for value, origin in ((setting, "setting"), (editor, "editor")):
        if value:
            p = Path(value).expanduser()
            if project is not None and not p.is_absolute() and os.sep in value:
                p = project / p
            if p.is_dir():
                p = _venv_python(p) or p
            return str(p), origin
    venv = os.environ.get("VIRTUAL_ENV")
    if venv:
        found = _venv_python(Path(venv))
        if found is not None:
            return str(found), "VIRTUAL_ENV"
    if project is not None:
        folder = project if project.is_dir() else project.parent
        for here in (folder, *folder.parents):
            for name in (".venv", "venv"):
                found = _venv_python(here / name)
                if found is not None:
                    return str(found), name
            if (here / "pyproject.toml").is_file() or (here / ".git").exists():
                break
    return sys.executable, "server"


def _cache_file(python: str, cache_dir: Path) -> Path:
    name = hashlib.blake2b(os.path.abspath(python).encode(), digest_size=12).hexdigest()
    return cache_dir / "env" / f"{name}.json"


def _stamp(python: str) -> str:
    """The interpreter's identity: its resolved path, size and mtime (a venv's python is a
    link, so the target is what changes on upgrade), and the venv's pyvenv.cfg and
    site-packages mtimes (a `pip install` adding a .pth file changes sys.path)."""
    parts = []
    for p in (python, os.path.realpath(python)):
        try:
            st = os.stat(p)
            parts.append(f"{p}:{st.st_size}:{st.st_mtime_ns}")
        except OSError:
            parts.append(f"{p}:missing")
    root = Path(python).parent.parent
    for extra in [root / "pyvenv.cfg", *sorted(root.glob("lib/python*/site-packages"))]:
        with contextlib.suppress(OSError):
            parts.append(f"{extra.name}:{extra.stat().st_mtime_ns}")
    return ";".join(parts)


def query_paths(python: str, cache_dir: Path | None = None) -> tuple[tuple[str, ...], str | None]:
    """The interpreter's import folders without the standard library and the working
    folder, and an error message when it cannot be asked."""
    stamp = _stamp(python)
    cache = _cache_file(python, cache_dir) if cache_dir is not None else None
    if cache is not None:
        try:
            entry = json.loads(cache.read_text("utf-8"))
            if entry.get("format") == FORMAT and entry.get("stamp") == stamp:
                return tuple(entry["paths"]), None
        except (OSError, ValueError, KeyError, TypeError, AttributeError):
            pass
    try:
        out = subprocess.run(
            [python, "-I", "-c", _QUERY],
            capture_output=True,
            text=True,
            timeout=TIMEOUT_S,
            check=True,
            cwd=os.path.dirname(os.path.abspath(python)) or None,
        )
        data = json.loads(out.stdout)
    except (OSError, subprocess.SubprocessError, ValueError) as e:
        return (), f"cannot ask {python} for its sys.path: {e}"
    stdlib = {os.path.normcase(os.path.abspath(p)) for p in data.get("stdlib", []) if p}
    paths: list[str] = []
    for p in data.get("path", []):
        if not p or not isinstance(p, str) or p.endswith(".zip"):
            continue
        norm = os.path.normcase(os.path.abspath(p))
        if norm in stdlib or any(norm.startswith(s + os.sep) for s in stdlib):
            continue  # the standard library (lib-dynload included)
        if os.path.isdir(p) and p not in paths:
            paths.append(p)
    if cache is not None:
        try:
            cache.parent.mkdir(parents=True, exist_ok=True)
            tmp = cache.with_suffix(f".{os.getpid()}.tmp")
            tmp.write_text(json.dumps({"format": FORMAT, "stamp": stamp, "paths": paths}))
            os.replace(tmp, cache)
        except OSError:
            pass
    return tuple(paths), None


def discover(
    project: Path | None,
    setting: str | None = None,
    editor: str | None = None,
    cache_dir: Path | None = None,
) -> Environment:
    """The environment for files under `project` (never raises)."""
    python, origin = find_interpreter(project, setting, editor)
    paths, error = query_paths(python, cache_dir if cache_dir is not None else library_cache_dir())
    return Environment(python, origin, paths, error)


def from_paths(paths: list[str] | tuple[str, ...], python: str = "<paths>") -> Environment:
    """An environment given by its folders directly (tests, `--library-path`)."""
    return Environment(python, "paths", tuple(str(p) for p in paths))
