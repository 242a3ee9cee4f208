"""Plain types exchanged between the verify client and its agent, and their JSON form.

The agent (the ``agent`` package) runs in the user's interpreter, where shape_lsp's dependencies
may be missing, so it speaks plain JSON dicts whose keys are exactly the field names below:

request (stdin)::

    {"version": 1, "path": str, "report_path": str, "trace_path": str, "device": str,
     "deadline": float (time.time() seconds), "keras": bool, "dims": {symbol: int},
     "ctors": {class name: constructor source from the file's example},
     "inputs": [[int, ...], ...] | null (the user's shapes for discovered models),
     "source": str | null (unsaved editor text to run instead of the file on disk),
     "models": [{"name": str | null, "kind": str, "ctor": str | null, "variable": str | null,
                 "inputs": [[int, ...], ...] | null, "input_dtypes": [str | null, ...],
                 "user_inputs": bool, "framework": "torch" | "keras"}]}

With ``keras`` set the agent imports keras 3 with ``KERAS_BACKEND=torch`` (never TensorFlow) and
runs Keras models on cpu / cuda / mps (meta falls back to cpu); inputs are batch first, channels
last, and calls are keyed by ``layer.name`` (graph models) or attribute path (subclassed).

report (written to ``report_path``): a ``VerifyReport`` without findings and facts (the client
adds those from the static diff) and with ``static_output`` / ``agrees`` still null; ``ran`` and
``skipped`` say which top-level statements of the file ran (the agent runs a static slice).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Any

from shape_lsp.core.results import Finding, Related, Severity, ShapeFact, Span

PROTOCOL_VERSION = 1
STATUSES = ("ok", "mismatch", "error", "timeout", "crashed", "unavailable")
Dims = tuple[int | str, ...]


@dataclass
class ModelRequest:
    """One model the agent should build and run."""

    name: str | None
    kind: str = "class"
    ctor: str | None = None
    variable: str | None = None
    inputs: list[list[int]] | None = None
    input_dtypes: list[str | None] = field(default_factory=list)
    user_inputs: bool = False
    framework: str = "torch"


@dataclass
class VerifyRequest:
    """What the client sends on the agent's stdin."""

    path: str
    report_path: str
    trace_path: str
    device: str = "auto"
    deadline: float = 0.0
    keras: bool = False
    dims: dict[str, int] = field(default_factory=dict)
    ctors: dict[str, str] = field(default_factory=dict)
    inputs: list[list[int]] | None = None
    source: str | None = None
    models: list[ModelRequest] = field(default_factory=list)
    version: int = PROTOCOL_VERSION

    def to_json(self) -> str:
        """The request as one JSON document."""
        return json.dumps(asdict(self))

    @classmethod
    def from_json(cls, text: str) -> VerifyRequest:
        """Parse a request (raises ValueError / KeyError / TypeError on a bad one)."""
        data = json.loads(text)
        models = [ModelRequest(**m) for m in data.pop("models", [])]
        return cls(models=models, **data)


@dataclass
class RuntimeCall:
    """One module call observed at runtime, and how it compares with the static shape."""

    module: str
    line: int
    output: list[int] | None
    dtype: str | None = None
    static_output: Dims | None = None
    agrees: bool | None = None
    layer: str = ""


@dataclass
class RuntimeErrorInfo:
    """Where and why the forward pass (or the import / construction) failed."""

    line: int | None
    module: str | None
    input_shapes: list[list[int] | None]
    message: str
    exc_type: str
    phase: str = "forward"  # "import" | "construct" | "inputs" | "forward"
    layer: str = ""


@dataclass
class VerifiedModel:
    """The runtime trace of one model."""

    name: str
    calls: list[RuntimeCall] = field(default_factory=list)
    error: RuntimeErrorInfo | None = None
    inputs: list[list[int]] = field(default_factory=list)
    device: str | None = None
    note: str = ""


@dataclass
class SkippedCode:
    """A top-level statement of the user's file that verify did not run (see agent.slicing)."""

    line: int
    end_line: int
    code: str
    reason: str


@dataclass
class VerifyReport:
    """The outcome of one verify run; the client never raises, it returns one of these."""

    status: str
    device: str | None = None
    dtype: str | None = None
    message: str = ""
    models: list[VerifiedModel] = field(default_factory=list)
    findings: tuple[Finding, ...] = ()
    facts: tuple[ShapeFact, ...] = ()
    stdout: str = ""
    stderr: str = ""
    path: str = ""
    ran: list[list[int]] = field(default_factory=list)  # [first, last] line ranges that ran
    skipped: list[SkippedCode] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (severities as their lower-case names)."""
        data = asdict(self)
        for f in data["findings"]:
            f["severity"] = Severity(f["severity"]).label
        return data

    def to_json(self) -> str:
        """The report as one JSON document."""
        return json.dumps(self.to_dict())

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> VerifyReport:
        """Rebuild a report from `to_dict` / the agent's output (raises on a malformed one)."""
        if data.get("status") not in STATUSES:
            raise ValueError(f"unknown status {data.get('status')!r}")
        models = [_model(m) for m in data.get("models") or []]
        findings = tuple(_finding(f) for f in data.get("findings") or [])
        facts = tuple(_fact(f) for f in data.get("facts") or [])
        return cls(
            status=str(data["status"]),
            device=data.get("device"),
            dtype=data.get("dtype"),
            message=str(data.get("message") or ""),
            models=models,
            findings=findings,
            facts=facts,
            stdout=str(data.get("stdout") or ""),
            stderr=str(data.get("stderr") or ""),
            path=str(data.get("path") or ""),
            ran=[[int(a), int(b)] for a, b in data.get("ran") or []],
            skipped=[
                SkippedCode(int(k["line"]), int(k["end_line"]), str(k["code"]), str(k["reason"]))
                for k in data.get("skipped") or []
            ],
        )

    @classmethod
    def from_json(cls, text: str) -> VerifyReport:
        """Parse `to_json` output (raises ValueError on a malformed document)."""
        data = json.loads(text)
        if not isinstance(data, dict):
            raise ValueError("report is not a JSON object")
        return cls.from_dict(data)


def _shape(v: Any) -> list[int] | None:
    return None if v is None else [int(d) for d in v]


def _model(m: dict[str, Any]) -> VerifiedModel:
    calls = [
        RuntimeCall(
            module=str(c["module"]),
            line=int(c.get("line") or 0),
            output=_shape(c.get("output")),
            dtype=c.get("dtype"),
            static_output=None if c.get("static_output") is None else tuple(c["static_output"]),
            agrees=c.get("agrees"),
            layer=str(c.get("layer") or ""),
        )
        for c in m.get("calls") or []
    ]
    err = m.get("error")
    error = None
    if err is not None:
        error = RuntimeErrorInfo(
            line=err.get("line"),
            module=err.get("module"),
            input_shapes=[_shape(s) for s in err.get("input_shapes") or []],
            message=str(err.get("message") or ""),
            exc_type=str(err.get("exc_type") or ""),
            phase=str(err.get("phase") or "forward"),
            layer=str(err.get("layer") or ""),
        )
    return VerifiedModel(
        name=str(m.get("name") or ""),
        calls=calls,
        error=error,
        inputs=[[int(d) for d in s] for s in m.get("inputs") or []],
        device=m.get("device"),
        note=str(m.get("note") or ""),
    )


def _span(s: dict[str, Any]) -> Span:
    return Span(int(s["start_line"]), int(s["start_col"]), int(s["end_line"]), int(s["end_col"]))


def _severity(v: Any) -> Severity:
    return Severity(v) if isinstance(v, int) else Severity.parse(str(v))


def _finding(f: dict[str, Any]) -> Finding:
    return Finding(
        code=str(f["code"]),
        severity=_severity(f["severity"]),
        span=_span(f["span"]),
        message=str(f["message"]),
        trace=tuple(f.get("trace") or ()),
        related=tuple(Related(_span(r["span"]), str(r["message"])) for r in f.get("related") or ()),
        source=str(f.get("source") or "shape-lsp verify"),
    )


def _fact(f: dict[str, Any]) -> ShapeFact:
    return ShapeFact(
        span=_span(f["span"]),
        kind=str(f["kind"]),
        label=str(f["label"]),
        shape=str(f["shape"]),
        dtype=f.get("dtype"),
        input_shape=f.get("input_shape"),
        detail=tuple(f.get("detail") or ()),
        params=f.get("params"),
        inlay=bool(f.get("inlay")),
    )
