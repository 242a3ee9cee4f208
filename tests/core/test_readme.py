"""The README says what the CLI does: synopses match argparse, the quick start's output and the
JSON examples match real runs, the rules table lists every code, input-shape precedence."""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from shape_lsp import cli
from shape_lsp.core.codes import CODES

ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text(encoding="utf-8")
BLOCKS = re.findall(r"```(\w*)\n(.*?)```", README, re.S)


def _synopsis(command: str) -> str:
    """The README's synopsis of `shape-lsp COMMAND` (continuation lines included)."""
    for _, body in BLOCKS:
        lines = body.splitlines()
        for i, line in enumerate(lines):
            if line.startswith(f"shape-lsp {command} "):
                text = [line]
                for nxt in lines[i + 1 :]:
                    if not nxt.startswith(" "):
                        break
                    text.append(nxt)
                return " ".join(text)
    raise AssertionError(f"no synopsis of `shape-lsp {command}` in README.md")


def _subparser(command: str) -> argparse.ArgumentParser:
    if command == "verify":
        from shape_lsp.verifier.command import parser

        return parser()
    actions = cli.build_parser()._subparsers._group_actions  # type: ignore[union-attr]
    (sub,) = [a for a in actions if isinstance(a, argparse._SubParsersAction)]
    return sub.choices[command]


def _options(p: argparse.ArgumentParser) -> list[tuple[set[str], tuple[str, ...] | None]]:
    """Each option's spellings (`-j`, `--jobs`) and choices (None when free-form), --help
    left out."""
    return [
        (set(a.option_strings), tuple(a.choices) if a.choices else None)
        for a in p._actions
        if a.option_strings and "--help" not in a.option_strings
    ]


@pytest.mark.parametrize("command", ["check", "summary", "rules", "verify"])
def test_synopsis_lists_exactly_the_options_argparse_has(command: str) -> None:
    text = _synopsis(command)
    documented = set(re.findall(r"(?<![\w-])(--?[a-z][a-z-]*)", text))
    options = _options(_subparser(command))
    missing = [sorted(spell) for spell, _ in options if not spell & documented]
    known = set().union(*(spell for spell, _ in options))
    assert not missing and documented <= known, (
        f"README synopsis of {command}: missing {missing}, extra {sorted(documented - known)}"
    )
    for spell, choices in options:
        if choices:
            (opt,) = spell & documented
            m = re.search(re.escape(opt) + r" ([\w|]+)", text)
            assert m and tuple(m.group(1).split("|")) == choices, (opt, choices)


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "shape_lsp", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def test_quick_start_prints_what_the_readme_shows(tmp_path: Path) -> None:
    m = re.search(r"command exits (\d) and prints:\n\n```\n(.*?)```", README, re.S)
    assert m, "quick-start output block not found"
    got = _run("check", "examples/", "--no-cache")
    assert got.returncode == int(m.group(1))
    assert got.stdout == m.group(2)


def _json_example(after: str) -> Any:
    i = README.index(after)
    body = re.search(r"```json\n(.*?)```", README[i:], re.S)
    assert body
    return json.loads(body.group(1))


def _same_shape(doc: Any, real: Any, where: str) -> None:
    """Every key in the README's (abridged) example exists in the real output with the same
    value, except the "..." placeholders."""
    if doc in ("...", ["..."]):
        return
    if isinstance(doc, dict):
        assert isinstance(real, dict), where
        assert set(doc) == set(real), f"{where}: README keys {sorted(doc)} != {sorted(real)}"
        for k in doc:
            _same_shape(doc[k], real[k], f"{where}.{k}")
    elif isinstance(doc, list):
        assert isinstance(real, list), where
        items = [d for d in doc if d != "..."]
        for j, d in enumerate(items):
            _same_shape(d, real[j], f"{where}[{j}]")
    else:
        assert doc == real, f"{where}: README {doc!r} != {real!r}"


def test_check_json_example_matches_a_real_run() -> None:
    doc = _json_example("`shape-lsp check examples/ --format json` prints")
    real = json.loads(_run("check", "examples/", "--no-cache", "--format", "json").stdout)
    real["files"] = real["files"][:1]
    real["files"][0]["diagnostics"] = real["files"][0]["diagnostics"][:1]
    real["files"][0]["models"] = real["files"][0]["models"][:1]
    _same_shape(doc, real, "check")


def test_summary_json_example_matches_a_real_run() -> None:
    doc = _json_example("`--format json` prints a list of models")
    real = json.loads(_run("summary", "examples/cnn.py", "--format", "json").stdout)[:1]
    rows = real[0]["rows"]
    real[0]["rows"] = [rows[0], next(r for r in rows if r["module"] == "fc1")]
    _same_shape(doc, real, "summary")


def test_rules_table_lists_every_code() -> None:
    table = re.findall(r"^\| (SH\d{3}) \|", README, re.M)
    assert table == list(CODES)


def test_input_shape_precedence_is_documented_as_it_behaves(tmp_path: Path) -> None:
    """README: an example call in the file beats `[tool.shape-lsp] input-shapes`."""
    para = README[README.index("## Where input shapes come from") :]
    assert para.index("an example call") < para.index("input-shapes")
    src = (ROOT / "examples" / "cnn.py").read_text()
    (tmp_path / "cnn.py").write_text(src)
    (tmp_path / "pyproject.toml").write_text(
        "[tool.shape-lsp]\ninput-shapes = { Net = [[2, 3, 64, 64]] }\n"
    )
    got = _run("check", str(tmp_path), "--no-cache", "--format", "json")
    (net,) = [m for m in json.loads(got.stdout)["files"][0]["models"] if m["name"] == "Net"]
    assert net["input_source"] == "example" and net["inputs"] == ["(4, 3, 32, 32) float32"]
    # Without the example call the configured shape is used.
    (tmp_path / "cnn.py").write_text(src.split('if __name__ == "__main__":')[0])
    got = _run("check", str(tmp_path), "--no-cache", "--format", "json")
    (net,) = [m for m in json.loads(got.stdout)["files"][0]["models"] if m["name"] == "Net"]
    assert net["input_source"] == "config" and net["inputs"] == ["(2, 3, 64, 64) float32"]
