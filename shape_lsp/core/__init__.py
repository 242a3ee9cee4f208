"""The analysis core: parse -> resolve names -> evaluate -> interpret shapes -> findings.

Pure Python: imports neither torch nor the LSP stack (a test enforces it).
"""

from shape_lsp.core.results import (
    AnalysisResult,
    Finding,
    Fix,
    ModelCall,
    ModelSummary,
    Related,
    Severity,
    ShapeFact,
    Span,
    SummaryRow,
    TextEdit,
)

__all__ = [
    "AnalysisResult",
    "Finding",
    "Fix",
    "ModelCall",
    "ModelSummary",
    "Related",
    "Severity",
    "ShapeFact",
    "Span",
    "SummaryRow",
    "TextEdit",
]
