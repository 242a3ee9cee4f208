"""CI integration of `shape-lsp check`: SARIF, GitHub and GitLab formats, the pre-commit hook,
.gitignore, progress on terminals only, and `summary` saying why a row is unknown."""

from __future__ import annotations

import io
import json
import re
import shlex
from pathlib import Path
from typing import Any

import pytest
import yaml

from shape_lsp import cli
from shape_lsp.core.codes import CODES

ROOT = Path(__file__).resolve().parents[2]
BUG = "import torch.nn as nn\nimport torch\nnet = nn.Linear(10, 5)\nnet(torch.randn(2, 11))\n"
CLEAN = "import torch.nn as nn\nimport torch\nnet = nn.Linear(10, 5)\nnet(torch.randn(2, 10))\n"
# Only SH113 (information): a stride of 3 over a window of 2.
INFO = (
    "import keras\n"
    "model = keras.Sequential([keras.Input((128, 128, 1)), keras.layers.MaxPooling2D(2, 3)])\n"
)


def _check(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = cli.main(["check", "--no-cache", *args])
    out, err = capsys.readouterr()
    return code, out, err


def _tree(tmp_path: Path) -> Path:
    (tmp_path / "bug.py").write_text(BUG)
    (tmp_path / "info.py").write_text(INFO)
    (tmp_path / "clean.py").write_text(CLEAN)
    return tmp_path


# --- SARIF -----------------------------------------------------------------------------------

SARIF_LEVELS = {"none", "note", "warning", "error"}


def _sarif_ok(log: dict[str, Any]) -> None:
    """The parts of the SARIF 2.1.0 schema that consumers (GitHub code scanning) require."""
    assert log["version"] == "2.1.0"
    assert log["$schema"].endswith("sarif-2.1.0.json")
    assert isinstance(log["runs"], list) and len(log["runs"]) == 1
    run = log["runs"][0]
    driver = run["tool"]["driver"]
    assert driver["name"] == "shape-lsp" and driver["version"]
    ids = [r["id"] for r in driver["rules"]]
    assert len(ids) == len(set(ids))
    for rule in driver["rules"]:
        assert rule["shortDescription"]["text"] and rule["help"]["text"]
        assert rule["defaultConfiguration"]["level"] in SARIF_LEVELS
        assert rule["helpUri"].startswith("https://")
    for res in run["results"]:
        assert res["message"]["text"]
        assert res["level"] in SARIF_LEVELS
        assert ids[res["ruleIndex"]] == res["ruleId"]
        (loc,) = res["locations"]
        phys = loc["physicalLocation"]
        assert phys["artifactLocation"]["uri"] and "\\" not in phys["artifactLocation"]["uri"]
        region = phys["region"]
        assert region["startLine"] >= 1 and region["startColumn"] >= 1
        assert (region["endLine"], region["endColumn"]) >= (
            region["startLine"],
            region["startColumn"],
        )
    for inv in run["invocations"]:
        assert isinstance(inv["executionSuccessful"], bool)


def test_sarif_is_sarif_2_1_0_with_one_rule_per_code(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = _check(["--format", "sarif", str(_tree(tmp_path))], capsys)
    log = json.loads(out)
    _sarif_ok(log)
    run = log["runs"][0]
    assert [r["id"] for r in run["tool"]["driver"]["rules"]] == list(CODES)
    levels = {r["ruleId"]: r["level"] for r in run["results"]}
    assert levels == {"SH101": "error", "SH113": "note"}
    (bug,) = [r for r in run["results"] if r["ruleId"] == "SH101"]
    assert bug["locations"][0]["physicalLocation"]["region"]["startLine"] == 4
    assert bug["locations"][0]["physicalLocation"]["artifactLocation"]["uri"].endswith("bug.py")
    assert code == 1  # same exit rule as text: the error fails the run


def test_sarif_with_no_findings_is_still_a_valid_log(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "clean.py").write_text(CLEAN)
    code, out, _ = _check(["--format", "sarif", str(tmp_path)], capsys)
    log = json.loads(out)
    _sarif_ok(log)
    assert log["runs"][0]["results"] == [] and code == 0


# --- GitHub ----------------------------------------------------------------------------------

GH = re.compile(
    r"^::(error|warning|notice) file=([^,:]+),line=(\d+),col=(\d+),endLine=(\d+),"
    r"endColumn=(\d+),title=([^,:]+)::(.+)$"
)


def test_github_annotations_map_severity(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = _check(["--format", "github", str(_tree(tmp_path))], capsys)
    lines = out.splitlines()
    assert len(lines) == 2 and code == 1
    got = {m.group(7): m for m in map(GH.match, lines) if m}
    assert set(got) == {"SH101 in-features", "SH113 stride-drops-rows"}
    assert got["SH101 in-features"].group(1) == "error"
    assert got["SH113 stride-drops-rows"].group(1) == "notice"
    assert got["SH101 in-features"].group(2).endswith("bug.py")
    assert got["SH101 in-features"].group(3) == "4"


def test_github_escapes_workflow_command_syntax() -> None:
    from shape_lsp.cli_formats import github

    rec = {
        "path": "a,b:c.py",
        "diagnostics": [
            {
                "line": 1,
                "column": 1,
                "end_line": 1,
                "end_column": 2,
                "severity": "warning",
                "code": "SH114",
                "message": "100% sure\nsecond line",
            }
        ],
    }
    (line,) = github([rec]).splitlines()
    assert line.startswith("::warning file=a%2Cb%3Ac.py,")
    assert line.endswith("::100%25 sure%0Asecond line")


# --- GitLab ----------------------------------------------------------------------------------


def test_gitlab_code_quality_with_stable_fingerprints(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    tree = _tree(tmp_path)
    code, out, _ = _check(["--format", "gitlab", str(tree)], capsys)
    issues = json.loads(out)
    assert code == 1 and len(issues) == 2
    for i in issues:
        assert i["check_name"] in CODES and i["description"]
        assert i["severity"] in {"info", "minor", "major", "critical", "blocker"}
        assert re.fullmatch(r"[0-9a-f]{64}", i["fingerprint"])
        assert i["location"]["path"].endswith(".py")
        assert i["location"]["positions"]["begin"]["line"] >= 1
    assert len({i["fingerprint"] for i in issues}) == 2
    # Moving the code down keeps the fingerprint (GitLab would otherwise call it new).
    (tree / "bug.py").write_text("\n\n" + BUG)
    again = json.loads(_check(["--format", "gitlab", str(tree)], capsys)[1])
    assert {i["fingerprint"] for i in again} == {i["fingerprint"] for i in issues}
    assert {i["location"]["positions"]["begin"]["line"] for i in again} == {6, 2}


def test_gitlab_repeated_findings_get_distinct_fingerprints() -> None:
    from shape_lsp.cli_formats import gitlab

    d = {
        "line": 1,
        "column": 1,
        "end_line": 1,
        "end_column": 2,
        "severity": "error",
        "code": "SH101",
        "message": "same",
    }
    issues = json.loads(gitlab([{"path": "a.py", "diagnostics": [d, {**d, "line": 9}]}]))
    assert issues[0]["fingerprint"] != issues[1]["fingerprint"]


# --- pre-commit ------------------------------------------------------------------------------


def test_pre_commit_hook_runs_check_on_the_files_it_is_given(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    hooks = yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text())
    (hook,) = hooks
    assert hook["id"] == "shape-lsp" and hook["language"] == "python"
    assert "python" in hook["types"]
    program, *args = shlex.split(hook["entry"])
    assert program == "shape-lsp"  # the console script pyproject installs
    (tmp_path / "bug.py").write_text(BUG)
    (tmp_path / "clean.py").write_text(CLEAN)
    # pre-commit appends the staged file names.
    assert cli.main([*args, *hook.get("args", []), "--no-cache", str(tmp_path / "bug.py")]) == 1
    assert cli.main([*args, "--no-cache", str(tmp_path / "clean.py")]) == 0
    capsys.readouterr()


# --- .gitignore ------------------------------------------------------------------------------


def test_gitignore_is_honoured_like_ruff(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / ".git").mkdir()
    (tmp_path / ".gitignore").write_text("generated/\n*_pb2.py\n!keep_pb2.py\n")
    (tmp_path / "src" / "generated").mkdir(parents=True)
    (tmp_path / "src" / "generated" / "bug.py").write_text(BUG)
    (tmp_path / "src" / "x_pb2.py").write_text(BUG)
    (tmp_path / "src" / "keep_pb2.py").write_text(CLEAN)
    (tmp_path / "src" / "sub").mkdir()
    (tmp_path / "src" / "sub" / ".gitignore").write_text("local.py\n")
    (tmp_path / "src" / "sub" / "local.py").write_text(BUG)
    (tmp_path / "src" / "ok.py").write_text(CLEAN)
    # The walk starts below the repository root: the root's .gitignore still applies.
    code, out, _ = _check([str(tmp_path / "src")], capsys)
    assert code == 0 and "(2 files)" in out, out
    code, out, _ = _check(["--no-respect-gitignore", str(tmp_path / "src")], capsys)
    assert code == 1 and "(5 checked)" in out, out
    # A file named on the command line is checked even when ignored (as ruff does).
    code, out, _ = _check([str(tmp_path / "src" / "x_pb2.py")], capsys)
    assert code == 1


def test_gitignore_outside_the_walk_does_not_leak_in(tmp_path: Path) -> None:
    from shape_lsp.cli_files import python_files

    # No repository: a .gitignore above the folder checked is not ours to apply.
    (tmp_path / ".gitignore").write_text("*.py\n")
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "m.py").write_text(CLEAN)
    assert [p.name for p in python_files([str(tmp_path / "pkg")])] == ["m.py"]


# --- progress --------------------------------------------------------------------------------


class _Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_only_on_a_terminal(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    _tree(tmp_path)
    _, _, err = _check([str(tmp_path)], capsys)
    assert err == ""  # a pipe or a CI log: nothing
    tty = _Tty()
    monkeypatch.setattr("sys.stderr", tty)
    cli.main(["check", "--no-cache", str(tmp_path)])
    shown = tty.getvalue()
    assert "Checking 1/3 files" in shown and "Checking 3/3 files" in shown
    assert shown.endswith("\r\033[K")  # the line is erased before the report
    assert "Checking" not in capsys.readouterr().out


# --- summary ---------------------------------------------------------------------------------

CHAIN = """import torch
import torch.nn as nn


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.a = nn.Linear(8, 16)
        self.b = nn.Linear(32, 4)
        self.c = nn.Linear(4, 2)

    def forward(self, x):
        x = self.a(x)
        x = self.b(x)
        return self.c(x)


Net()(torch.randn(3, 8))
"""


def test_summary_says_which_finding_left_a_row_unknown(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    f = tmp_path / "m.py"
    f.write_text(CHAIN)
    assert cli.main(["summary", str(f)]) == 0
    out = capsys.readouterr().out
    rows = {ln.split()[0]: ln for ln in out.splitlines() if ln.split()}
    assert "(3, 16)" in rows["a"] and "unknown" not in rows["a"]
    assert "unknown after SH101 (line 14)" in rows["b"]
    assert "unknown after SH101 (line 14)" in rows["c"]
    assert "Output: unknown after SH101 (line 14)" in out
    assert cli.main(["summary", str(f), "--format", "json"]) == 0
    (model,) = json.loads(capsys.readouterr().out)
    causes = {r["module"]: r.get("unknown_after") for r in model["rows"]}
    assert causes == {"a": None, "b": {"code": "SH101", "line": 14}, "c": causes["b"]}
    assert model["rows"][1]["output"] == "unknown"  # the value itself stays machine-readable


def test_summary_unknown_without_a_finding_stays_bare(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # An unknown that no finding explains (a data-dependent size) gets no invented reason.
    f = tmp_path / "m.py"
    f.write_text(CHAIN.replace("x = self.a(x)", "x = self.a(x)[x > 0]").replace("32, 4", "16, 4"))
    assert cli.main(["summary", str(f)]) == 0
    assert "after SH" not in capsys.readouterr().out
