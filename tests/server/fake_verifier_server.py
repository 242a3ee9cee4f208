"""Start the server with a fake verifier (tests only): the real one needs torch and time."""

from __future__ import annotations

import sys
import time
from typing import Any

from shape_lsp.core.results import Finding, Severity, ShapeFact, Span
from shape_lsp.server import commands
from shape_lsp.server.main import main


class FakeReport:
    """The fields of VerifyReport the server reads."""

    def __init__(
        self, status: str, message: str, findings: tuple[Finding, ...], facts: tuple[ShapeFact, ...]
    ) -> None:
        self.status = status
        self.message = message
        self.findings = findings
        self.facts = facts


def fake_run_verify(path: str, **kwargs: Any) -> FakeReport:
    """Report one runtime mismatch on the first line containing 'self.fc(' and a fact there."""
    source = kwargs.get("source") or ""
    if "# fake-verify: slow" in source:
        time.sleep(2)  # a forward pass that takes a while
    lines = source.split("\n")
    line = next((i for i, t in enumerate(lines) if "self.fc(" in t), 0)
    col = max(lines[line].find("self.fc("), 0) if lines else 0
    span = Span(line, col, line, col + len("self.fc"))
    finding = Finding(
        "SH201",
        Severity.WARNING,
        span,
        f"verify ({kwargs.get('model')}): runtime shape differs",
        source="shape-lsp verify",
    )
    fact = ShapeFact(span, "layer", "self.fc (runtime)", "(2, 16, 32, 32)", dtype="float32")
    return FakeReport("mismatch", "1 mismatch", (finding,), (fact,))


if __name__ == "__main__":
    commands.RUN_VERIFY = fake_run_verify
    raise SystemExit(main(sys.argv[1:]))
