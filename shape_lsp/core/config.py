"""Settings shared by the CLI and the server: `[tool.shape-lsp]` in pyproject.toml, LSP settings.

Bad values never crash: each problem becomes a message naming the key, and the default is used.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from shape_lsp.core.codes import CODES
from shape_lsp.core.results import Severity

DEFAULT_SYMBOLS = {
    "batch": "B",
    "channels": "C",
    "height": "H",
    "width": "W",
    "length": "L",
    "depth": "D",
    "time": "T",
}


@dataclass(frozen=True)
class Settings:
    """Analysis and presentation settings (all optional)."""

    ignore: frozenset[str] = frozenset()
    severity: dict[str, Severity] = field(default_factory=dict)
    inlay_hints: bool = True
    symbols: dict[str, str] = field(default_factory=lambda: dict(DEFAULT_SYMBOLS))
    input_shapes: dict[str, tuple[tuple[int | str, ...], ...]] = field(default_factory=dict)
    debounce_ms: int = 0
    verify_python: str | None = None
    python: str | None = None  # the environment whose libraries imports resolve through
    library_paths: tuple[str, ...] = ()  # extra import folders, searched before the environment
    verify_device: str = "auto"
    verify_timeout: float = 60.0
    verify_dims: dict[str, int] = field(default_factory=dict)

    def enabled(self, code: str) -> bool:
        """Whether findings with this code are reported."""
        return code not in self.ignore

    def severity_of(self, code: str) -> Severity:
        """The configured severity of a code, else its default."""
        if code in self.severity:
            return self.severity[code]
        entry = CODES.get(code)
        return entry.severity if entry else Severity.WARNING


# key (kebab in pyproject, camelCase in LSP) -> attribute
_KEYS = {
    "ignore": "ignore",
    "severity": "severity",
    "inlay-hints": "inlay_hints",
    "inlayHints": "inlay_hints",
    "symbols": "symbols",
    "input-shapes": "input_shapes",
    "inputShapes": "input_shapes",
    "debounce-ms": "debounce_ms",
    "debounceMs": "debounce_ms",
    "verify": "verify",
    "python": "python",
    "library-paths": "library_paths",
    "libraryPaths": "library_paths",
}


def settings_from_mapping(data: Any, where: str = "settings") -> tuple[Settings, list[str]]:
    """Settings from a dict (pyproject table or LSP settings); messages for each bad key."""
    problems: list[str] = []
    s = Settings()
    if data is None:
        return s, problems
    if not isinstance(data, dict):
        return s, [f"{where}: expected a table of settings, got {type(data).__name__}"]
    for key, value in data.items():
        attr = _KEYS.get(key)
        if attr is None:
            problems.append(f"{where}: unknown key '{key}' (ignored)")
            continue
        try:
            s = _apply(s, attr, value, f"{where}.{key}", problems)
        except (TypeError, ValueError, KeyError, AttributeError) as e:
            problems.append(f"{where}.{key}: {e}; using the default")
    return s, problems


def _codes(value: Any, key: str, problems: list[str]) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(c, str) for c in value):
        raise TypeError("expected a list of rule codes")
    out = []
    for c in value:
        if c.upper() in CODES:
            out.append(c.upper())
        else:
            problems.append(f"{key}: unknown rule code '{c}' (ignored)")
    return out


def _apply(s: Settings, attr: str, value: Any, key: str, problems: list[str]) -> Settings:
    if attr == "ignore":
        return replace(s, ignore=frozenset(_codes(value, key, problems)))
    if attr == "severity":
        if not isinstance(value, dict):
            raise TypeError("expected a table of CODE = level")
        sev: dict[str, Severity] = {}
        for code, level in value.items():
            if code.upper() not in CODES:
                problems.append(f"{key}: unknown rule code '{code}' (ignored)")
                continue
            if str(level).lower() in ("off", "none", "ignore"):
                s = replace(s, ignore=s.ignore | {code.upper()})
                continue
            try:
                sev[code.upper()] = Severity.parse(str(level))
            except KeyError:
                problems.append(f"{key}.{code}: unknown level '{level}' (ignored)")
        return replace(s, severity=sev)
    if attr == "inlay_hints":
        if not isinstance(value, bool):
            raise TypeError("expected true or false")
        return replace(s, inlay_hints=value)
    if attr == "debounce_ms":
        if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= 5000:
            raise TypeError("expected an integer from 0 to 5000")
        return replace(s, debounce_ms=value)
    if attr == "symbols":
        if not isinstance(value, dict) or not all(
            isinstance(k, str) and isinstance(v, str) and v.isidentifier() for k, v in value.items()
        ):
            raise TypeError("expected a table of role = identifier")
        unknown = set(value) - set(DEFAULT_SYMBOLS)
        if unknown:
            problems.append(
                f"{key}: unknown roles {sorted(unknown)} (known: {sorted(DEFAULT_SYMBOLS)})"
            )
        return replace(
            s,
            symbols={**DEFAULT_SYMBOLS, **{k: v for k, v in value.items() if k in DEFAULT_SYMBOLS}},
        )
    if attr == "input_shapes":
        if not isinstance(value, dict):
            raise TypeError("expected a table of ModelName = [[dims], ...]")
        shapes: dict[str, tuple[tuple[int | str, ...], ...]] = {}
        for model, raw in value.items():
            one = isinstance(raw, list) and raw and all(isinstance(d, int | str) for d in raw)
            spec = [raw] if one else raw
            if not isinstance(spec, list) or not all(
                isinstance(t, list) and all(isinstance(d, int | str) for d in t) for t in spec
            ):
                problems.append(f"{key}.{model}: expected a list of dims or a list of such lists")
                continue
            shapes[model] = tuple(tuple(t) for t in spec)
        return replace(s, input_shapes=shapes)
    if attr == "library_paths":
        if not isinstance(value, list) or not all(isinstance(p, str) for p in value):
            raise TypeError("expected a list of folders")
        return replace(s, library_paths=tuple(value))
    if attr == "python":
        if not isinstance(value, str) or not value:
            raise TypeError("expected the path of a Python interpreter or virtual environment")
        return replace(s, python=value)
    if attr == "verify":
        if not isinstance(value, dict):
            raise TypeError("expected a table")
        for k, v in value.items():
            if k == "python" and isinstance(v, str):
                s = replace(s, verify_python=v)
            elif k == "device" and v in ("auto", "cpu", "cuda", "mps", "meta"):
                s = replace(s, verify_device=v)
            elif (
                k == "timeout" and isinstance(v, int | float) and not isinstance(v, bool) and v > 0
            ):
                s = replace(s, verify_timeout=float(v))
            elif (
                k == "dims"
                and isinstance(v, dict)
                and all(
                    isinstance(n, int) and not isinstance(n, bool) and n > 0 for n in v.values()
                )
            ):
                s = replace(s, verify_dims=dict(v))
            else:
                problems.append(f"{key}.{k}: invalid value {v!r} (ignored)")
        return s
    return s


def find_pyproject(start: Path) -> Path | None:
    """The nearest pyproject.toml at or above `start` (a file or folder)."""
    here = start if start.is_dir() else start.parent
    for folder in (here, *here.parents):
        candidate = folder / "pyproject.toml"
        if candidate.is_file():
            return candidate
    return None


def load_settings(start: Path) -> tuple[Settings, list[str]]:
    """Settings from `[tool.shape-lsp]` of the nearest pyproject.toml (defaults when none)."""
    path = find_pyproject(start)
    if path is None:
        return Settings(), []
    return read_settings(path)


def read_settings(path: Path) -> tuple[Settings, list[str]]:
    """Settings from this TOML file's `[tool.shape-lsp]` (defaults and a problem if unreadable)."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as e:
        return Settings(), [f"{path}: cannot read [tool.shape-lsp]: {e}; using defaults"]
    table = data.get("tool", {}).get("shape-lsp") if isinstance(data.get("tool"), dict) else None
    return settings_from_mapping(table, f"{path.name} [tool.shape-lsp]")
