"""Frozen values the core hands to its front ends (CLI, server, verifier diff)."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field

from shape_lsp.core.flowgraph import ModelGraph


class Severity(enum.IntEnum):
    """Finding severity; the numbers match LSP's DiagnosticSeverity."""

    ERROR = 1
    WARNING = 2
    INFORMATION = 3
    HINT = 4

    @property
    def label(self) -> str:
        """Lower-case name used in text and JSON output."""
        return self.name.lower()

    @classmethod
    def parse(cls, text: str) -> Severity:
        """Severity from its name ("error", "warning", "information"/"info", "hint")."""
        key = text.strip().lower()
        if key == "info":
            key = "information"
        return cls[key.upper()]


@dataclass(frozen=True, order=True)
class Span:
    """A source range: 0-based lines, 0-based columns counted in code points, end exclusive."""

    start_line: int
    start_col: int
    end_line: int
    end_col: int

    def contains(self, line: int, col: int) -> bool:
        """Whether the 0-based position lies inside the span (end inclusive for cursors)."""
        if (line, col) < (self.start_line, self.start_col):
            return False
        return (line, col) <= (self.end_line, self.end_col)


@dataclass(frozen=True)
class TextEdit:
    """Replace `span` with `new_text`."""

    span: Span
    new_text: str


@dataclass(frozen=True)
class Fix:
    """A quick fix: a title and the edits that make it."""

    title: str
    edits: tuple[TextEdit, ...]
    preferred: bool = False


@dataclass(frozen=True)
class Related:
    """A secondary location of a finding, e.g. the layer's constructor."""

    span: Span
    message: str


@dataclass(frozen=True)
class Finding:
    """One diagnostic: what does not fit, where, and the shape trace that led there."""

    code: str
    severity: Severity
    span: Span
    message: str
    trace: tuple[str, ...] = ()
    related: tuple[Related, ...] = ()
    fixes: tuple[Fix, ...] = ()
    source: str = "shape-lsp"


@dataclass(frozen=True)
class ShapeFact:
    """The inferred shape at one place in the source, for hover and inlay hints.

    `kind` is "tensor" (an assignment target or expression), "layer" (a layer call or a
    layer attribute / Sequential entry) or "note" (why shapes stop, e.g. an unknown layer).
    """

    span: Span
    kind: str
    label: str
    shape: str
    dtype: str | None = None
    input_shape: str | None = None
    detail: tuple[str, ...] = ()
    params: int | None = None
    inlay: bool = False


@dataclass(frozen=True)
class ModelCall:
    """One module invocation: torch's named_modules() path, call-site line (1-based), output."""

    module: str
    line: int
    output: tuple[int | str, ...] | None
    layer: str = ""
    dtype: str | None = None


@dataclass(frozen=True)
class SummaryRow:
    """A row of the static model summary (like torchinfo)."""

    module: str
    layer: str
    depth: int
    output: str
    params: int | None


@dataclass(frozen=True)
class ModelSummary:
    """A model found in the file, its call trace and its static summary table.

    kind: "class" (an nn.Module / keras.Model subclass) or "sequential" (a module-level
    container). input_source: "example" (a call in the file), "pipeline" (a call in the file fed
    by a DataLoader, keras.datasets...: see input_origin), "config", "annotation"
    (jaxtyping), "comment" (`# shape:`), or "symbolic" (from the first layer).
    ctor: the source text that builds the model as the file's example does
    (e.g. `Net(num_classes=10)`), for the verifier; variable: the module-level name
    holding a Sequential model.
    """

    name: str
    span: Span
    kind: str
    input_source: str
    inputs: tuple[str, ...]
    output: str
    calls: tuple[ModelCall, ...] = ()
    rows: tuple[SummaryRow, ...] = ()
    total_params: int | None = None
    input_shapes: tuple[tuple[int | str, ...] | None, ...] = ()
    input_dtypes: tuple[str | None, ...] = ()
    ctor: str | None = None
    variable: str | None = None
    framework: str = "torch"
    input_origin: str = ""
    """Where a "pipeline" input came from: `loader (line 24)`, `keras.datasets.mnist (line 3)`."""
    graph: ModelGraph | None = field(default=None, compare=False)
    """Which call's output feeds which call (core/flowgraph.py)."""

    def input_text(self, code: bool = False) -> str:
        """`(64, 1, 32, 32) float32 from loader (line 24)` / `(B, 3, H, W) float32 (symbolic)`."""
        q = "`" if code else ""
        shapes = ", ".join(f"{q}{i}{q}" for i in self.inputs) or "?"
        if self.input_source == "pipeline" and self.input_origin:
            return f"{shapes} from {self.input_origin}"
        return f"{shapes} ({self.input_source})"


@dataclass(frozen=True)
class AnalysisResult:
    """Everything the core learned about one file."""

    path: str
    findings: tuple[Finding, ...] = ()
    facts: tuple[ShapeFact, ...] = ()
    models: tuple[ModelSummary, ...] = ()
    parsed: bool = True
    internal_errors: tuple[str, ...] = field(default=())

    def facts_at(self, line: int, col: int) -> list[ShapeFact]:
        """Facts whose span contains the 0-based position, innermost first."""
        hits = [f for f in self.facts if f.span.contains(line, col)]
        hits.sort(
            key=lambda f: (f.span.end_line - f.span.start_line, f.span.end_col - f.span.start_col)
        )
        return hits
