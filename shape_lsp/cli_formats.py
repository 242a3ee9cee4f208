"""CI output formats of `shape-lsp check`: SARIF 2.1.0, GitHub workflow commands, GitLab
code quality. Each takes the JSON records `check` builds (one per file) and returns text."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path, PurePath
from typing import Any
from urllib.parse import quote

from shape_lsp import __version__

SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
INFO_URI = "https://github.com/shape-lsp/shape-lsp"

# Our severities -> each format's levels (information and hint never fail a run; see cli.py).
SARIF_LEVEL = {"error": "error", "warning": "warning", "information": "note", "hint": "note"}
GITHUB_LEVEL = {"error": "error", "warning": "warning", "information": "notice", "hint": "notice"}
GITLAB_SEVERITY = {"error": "major", "warning": "minor", "information": "info", "hint": "info"}


def _uri(path: str) -> str:
    """A SARIF artifact URI: relative paths stay relative (to %SRCROOT%), with '/' separators."""
    p = Path(path)
    if p.is_absolute():
        return p.as_uri()
    return quote(PurePath(path).as_posix())


def sarif(records: list[dict[str, Any]]) -> str:
    """SARIF 2.1.0 log: one rule per code (with its help text), one result per finding."""
    from shape_lsp.core.codes import CODES

    rules: list[dict[str, Any]] = []
    index: dict[str, int] = {}
    for c in CODES.values():
        index[c.code] = len(rules)
        rules.append(
            {
                "id": c.code,
                "name": c.name,
                "shortDescription": {"text": c.doc},
                "fullDescription": {"text": c.doc},
                "help": {
                    "text": f"{c.doc} Silence one line with `# shape: ignore[{c.code}]`.",
                    "markdown": f"**{c.code}** ({c.name}): {c.doc}\n\n"
                    f"Silence one line with `# shape: ignore[{c.code}]`.",
                },
                "helpUri": c.url,
                "defaultConfiguration": {"level": SARIF_LEVEL[c.severity.label]},
            }
        )
    results: list[dict[str, Any]] = []
    notes: list[dict[str, Any]] = []
    for r in records:
        if "error" in r:
            notes.append(
                {
                    "level": "error",
                    "message": {"text": f"{r['path']}: {r['error']}"},
                    "locations": [
                        {"physicalLocation": {"artifactLocation": {"uri": _uri(r["path"])}}}
                    ],
                }
            )
        for d in r["diagnostics"]:
            result: dict[str, Any] = {
                "ruleId": d["code"],
                "level": SARIF_LEVEL.get(d["severity"], "warning"),
                "message": {"text": d["message"]},
                "locations": [
                    {
                        "physicalLocation": {
                            "artifactLocation": {"uri": _uri(r["path"]), "uriBaseId": "%SRCROOT%"},
                            "region": {
                                "startLine": d["line"],
                                "startColumn": d["column"],
                                "endLine": d["end_line"],
                                "endColumn": d["end_column"],
                            },
                        }
                    }
                ],
            }
            if d["code"] in index:
                result["ruleIndex"] = index[d["code"]]
            if d.get("trace"):
                result["properties"] = {"trace": list(d["trace"])}
            results.append(result)
    log = {
        "$schema": SARIF_SCHEMA,
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "shape-lsp",
                        "version": __version__,
                        "informationUri": INFO_URI,
                        "rules": rules,
                    }
                },
                "columnKind": "unicodeCodePoints",
                "invocations": [
                    {"executionSuccessful": True, "toolExecutionNotifications": notes}
                ],
                "results": results,
            }
        ],
    }
    return json.dumps(log, indent=2)


def _gh_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _gh_prop(text: str) -> str:
    return _gh_data(text).replace(":", "%3A").replace(",", "%2C")


def github(records: list[dict[str, Any]]) -> str:
    """GitHub Actions workflow commands: `::error file=…,line=…,col=…,title=…::message`."""
    from shape_lsp.core.codes import CODES

    lines: list[str] = []
    for r in records:
        path = _gh_prop(PurePath(r["path"]).as_posix())
        if "error" in r:
            lines.append(f"::error file={path},title=shape-lsp::{_gh_data(r['error'])}")
        for d in r["diagnostics"]:
            level = GITHUB_LEVEL.get(d["severity"], "warning")
            code = CODES.get(d["code"])
            title = f"{d['code']} {code.name}" if code else d["code"]
            lines.append(
                f"::{level} file={path},line={d['line']},col={d['column']},"
                f"endLine={d['end_line']},endColumn={d['end_column']},"
                f"title={_gh_prop(title)}::{_gh_data(d['message'])}"
            )
    return "\n".join(lines)


def gitlab(records: list[dict[str, Any]]) -> str:
    """GitLab code-quality report: a JSON list, each finding with a stable fingerprint.

    The fingerprint hashes the path, code and message (not the line, so moving code does not
    make GitLab report the finding as new), plus an occurrence count for repeats."""
    issues: list[dict[str, Any]] = []
    seen: dict[str, int] = {}
    for r in records:
        path = PurePath(r["path"]).as_posix()
        for d in r["diagnostics"]:
            key = f"{path}\0{d['code']}\0{d['message']}"
            n = seen.get(key, 0)
            seen[key] = n + 1
            fingerprint = hashlib.sha256(f"{key}\0{n}".encode()).hexdigest()
            issues.append(
                {
                    "type": "issue",
                    "check_name": d["code"],
                    "description": f"{d['code']} {d['message']}",
                    "categories": ["Bug Risk"],
                    "severity": GITLAB_SEVERITY.get(d["severity"], "minor"),
                    "fingerprint": fingerprint,
                    "location": {
                        "path": path,
                        "positions": {
                            "begin": {"line": d["line"], "column": d["column"]},
                            "end": {"line": d["end_line"], "column": d["end_column"]},
                        },
                    },
                }
            )
    return json.dumps(issues, indent=2)


FORMATTERS = {"sarif": sarif, "github": github, "gitlab": gitlab}
