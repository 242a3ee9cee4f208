"""Bad configuration never crashes: a clear message naming the key, and the default used.

pyproject `[tool.shape-lsp]` (malformed TOML, wrong types in every key, unknown rule codes),
the CLI on such a project, and LSP settings from initializationOptions and
didChangeConfiguration.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from lsprotocol import types as lsp

from shape_lsp.core.config import Settings, load_settings, settings_from_mapping
from shape_lsp.server.settings import SettingsStore
from tests.server.conftest import Session, push_session  # noqa: F401 - the LSP fixture
from tests.server.fixtures import NET

DEFAULT = Settings()
KEYS = [
    "ignore",
    "severity",
    "inlay-hints",
    "inlayHints",
    "symbols",
    "input-shapes",
    "inputShapes",
    "debounce-ms",
    "debounceMs",
    "verify",
]
WRONG: list[Any] = [
    None,
    True,
    0,
    -1,
    10**30,
    1.5,
    float("nan"),
    "x",
    "",
    [],
    [1],
    [[[]]],
    ["SH101", 3],
    {"a": 1},
    {"SH101": None},
    {"SH101": [1]},
    {"x": {"y": []}},
    {1: 2},
]
VERIFY_WRONG: dict[str, list[Any]] = {
    "python": [1, None, ["python"]],
    "device": ["tpu", 1, None],
    "timeout": [0, -5, "60", True, None],
    "dims": [{"B": 0}, {"B": "2"}, {"B": True}, [2], "B=2"],
}


def _attr(key: str) -> str:
    return {
        "inlay-hints": "inlay_hints",
        "inlayHints": "inlay_hints",
        "input-shapes": "input_shapes",
        "inputShapes": "input_shapes",
        "debounce-ms": "debounce_ms",
        "debounceMs": "debounce_ms",
    }.get(key, key)


@pytest.mark.parametrize("key", KEYS)
def test_wrong_types_in_every_key(key: str) -> None:
    for value in WRONG:
        settings, problems = settings_from_mapping({key: value}, "cfg")
        assert isinstance(settings, Settings)
        # every message names the key (values that are valid, e.g. 0 or {}, give none)
        assert all(p.startswith(f"cfg.{key}") for p in problems), (value, problems)
        if problems and key not in ("verify", "severity", "symbols", "input-shapes", "inputShapes"):
            # a rejected scalar or list setting keeps its default
            assert getattr(settings, _attr(key)) == getattr(DEFAULT, _attr(key)), (key, value)


@pytest.mark.parametrize("sub", list(VERIFY_WRONG))
def test_wrong_verify_values_name_the_key(sub: str) -> None:
    for value in VERIFY_WRONG[sub]:
        settings, problems = settings_from_mapping({"verify": {sub: value}}, "cfg")
        assert problems and f"cfg.verify.{sub}" in problems[0], (value, problems)
        assert getattr(settings, f"verify_{sub}") == getattr(DEFAULT, f"verify_{sub}")


def test_unknown_rule_codes_and_levels() -> None:
    settings, problems = settings_from_mapping(
        {"ignore": ["SH101", "SH999", "bogus"], "severity": {"SH102": "loud", "XX1": "error"}},
        "cfg",
    )
    assert settings.ignore == frozenset({"SH101"})
    assert settings.severity == {}
    assert any("SH999" in p and "cfg.ignore" in p for p in problems)
    assert any("bogus" in p for p in problems)
    assert any("cfg.severity.SH102" in p and "loud" in p for p in problems)
    assert any("XX1" in p for p in problems)


def test_not_a_table_at_all() -> None:
    for value in ([1, 2], "ignore", 3, True):
        settings, problems = settings_from_mapping(value, "cfg")
        assert settings == DEFAULT
        assert problems and "expected a table" in problems[0]


MALFORMED = {
    "unclosed": "[tool.shape-lsp\nignore = ['SH101']\n",
    "bad value": "[tool.shape-lsp]\nignore = [SH101]\n",
    "duplicate": "[tool.shape-lsp]\nignore = []\nignore = []\n",
    "binary": "\x00\x01\x02",
    "table is a string": "[tool]\nshape-lsp = 'yes'\n",
    "tool is a string": "tool = 3\n",
}


@pytest.mark.parametrize("name", list(MALFORMED))
def test_malformed_pyproject(tmp_path: Path, name: str) -> None:
    (tmp_path / "pyproject.toml").write_text(MALFORMED[name])
    settings, problems = load_settings(tmp_path / "model.py")
    assert settings == DEFAULT
    if name != "tool is a string":
        assert problems, name
        assert "pyproject.toml" in problems[0] or "[tool.shape-lsp]" in problems[0]


def test_undecodable_pyproject(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_bytes(b"[tool.shape-lsp]\nignore = ['\xff']\n")
    settings, problems = load_settings(tmp_path)
    assert settings == DEFAULT and problems


def test_cli_with_bad_pyproject_warns_and_uses_defaults(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text(
        "[tool.shape-lsp]\nignore = 'SH101'\nseverity = {SH999 = 'error'}\ndebounce-ms = 'x'\n"
        "nonsense = 1\n"
    )
    (tmp_path / "model.py").write_text(NET)
    proc = subprocess.run(
        [sys.executable, "-m", "shape_lsp", "check", str(tmp_path / "model.py")],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 1, proc.stderr  # SH101 is still reported: the default ignore list
    assert "SH101" in proc.stdout
    err = proc.stderr
    assert "Traceback" not in err
    for key in ("ignore", "severity", "SH999", "debounce-ms", "nonsense"):
        assert key in err, (key, err)
    (tmp_path / "pyproject.toml").write_text("[tool.shape-lsp\n")
    proc = subprocess.run(
        [sys.executable, "-m", "shape_lsp", "check", str(tmp_path / "model.py")],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 1 and "cannot read" in proc.stderr and "Traceback" not in proc.stderr
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "shape_lsp",
            "check",
            "--select",
            "SH999,nope",
            str(tmp_path / "model.py"),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 2
    assert "unknown rule codes NOPE, SH999" in proc.stderr and "Traceback" not in proc.stderr


def test_settings_store_survives_anything() -> None:
    warned: list[str] = []
    store = SettingsStore(warned.append)
    for value in [*WRONG, *({"shape-lsp": v} for v in WRONG), {"shape-lsp": {"verify": 3}}]:
        store.set_client(value)
        assert isinstance(store.for_path(None), Settings)
    assert warned  # each problem told once to the client's log


# ------------------------------------------------------------------------------ over LSP


@pytest.mark.asyncio
async def test_wrong_types_in_initialization_options(push_session: Session) -> None:
    s = push_session
    await s.initialize(
        {
            "ignore": "SH101",
            "severity": ["x"],
            "inlayHints": "yes",
            "inputShapes": 3,
            "symbols": {"batch": 1},
            "verify": {"timeout": "x"},
            "debounceMs": -1,
            "unknownKey": {},
        }
    )
    uri = s.open(NET)
    diags = await s.diagnostics(uri)
    assert any(d.code == "SH101" for d in diags)  # defaults in force
    logs = "\n".join(m.message for m in s.client.log_messages)
    for key in (
        "ignore",
        "severity",
        "inlayHints",
        "inputShapes",
        "symbols",
        "verify.timeout",
        "debounceMs",
        "unknownKey",
    ):
        assert key in logs, (key, logs)
    assert await s.hover(uri, 0, 0) is None or True  # still answering


@pytest.mark.asyncio
@pytest.mark.parametrize(
    "options", [[1, 2], "shape-lsp", 3, {"shape-lsp": [1]}, {"shape-lsp": None}]
)
async def test_initialization_options_not_a_table(push_session: Session, options: Any) -> None:
    s = push_session
    await s.initialize(options)
    uri = s.open(NET)
    assert any(d.code == "SH101" for d in await s.diagnostics(uri))


@pytest.mark.asyncio
async def test_wrong_types_in_did_change_configuration(push_session: Session) -> None:
    s = push_session
    await s.initialize()
    uri = s.open(NET)
    await s.diagnostics(uri)
    # the settings travel in the notification (push) or are pulled with workspace/configuration
    for section in ({"ignore": 5}, "x", [1], None, 7, {"severity": {"SH101": {"a": 1}}}):
        s.client.set_configuration(section, section="shape-lsp")
        s.client.workspace_did_change_configuration(
            lsp.DidChangeConfigurationParams(settings={"shape-lsp": section})
        )
    for settings in ([1], None, 7, "x"):
        s.client.workspace_did_change_configuration(
            lsp.DidChangeConfigurationParams(settings=settings)
        )
    await asyncio.sleep(0.3)
    good = {"ignore": ["SH101"]}
    s.client.set_configuration(good, section="shape-lsp")
    s.client.workspace_did_change_configuration(
        lsp.DidChangeConfigurationParams(settings={"shape-lsp": good})
    )
    for _ in range(200):
        await asyncio.sleep(0.02)
        pub = [p for p in s.client.published if p.uri == uri]  # type: ignore[attr-defined]
        if pub and not any(d.code == "SH101" for d in pub[-1].diagnostics):
            break
    else:
        raise AssertionError("a good configuration after bad ones was not applied")
    logs = "\n".join(m.message for m in s.client.log_messages)
    assert "ignore" in logs
    assert await s.hover(uri, 0, 0) is None or True
