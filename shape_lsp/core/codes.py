"""Stable rule codes. Each has a default severity and one line of documentation.

Codes never change meaning; retired codes are not reused. The docs page
(docs/rules.md) and the LSP codeDescription links are generated from this table.
"""

from __future__ import annotations

from dataclasses import dataclass

from shape_lsp.core.results import Severity

DOCS_URL = "https://github.com/shape-lsp/shape-lsp/blob/main/docs/rules.md"


@dataclass(frozen=True)
class Code:
    """A rule code with its default severity and a one-line description."""

    code: str
    name: str
    severity: Severity
    doc: str

    @property
    def url(self) -> str:
        """Link to this rule's section of the docs page."""
        return f"{DOCS_URL}#{self.code.lower()}"


_E = Severity.ERROR
_W = Severity.WARNING
_I = Severity.INFORMATION

CODES: dict[str, Code] = {
    c.code: c
    for c in (
        Code(
            "SH001",
            "syntax-error",
            _E,
            "The file does not parse; shapes are kept from the last good parse.",
        ),
        Code(
            "SH002",
            "too-deep-to-analyse",
            _I,
            "Valid Python nested too deeply for the parser (a 20,000-term `and` chain): that "
            "statement is not analysed; the rest of the file is.",
        ),
        Code(
            "SH101",
            "in-features",
            _E,
            "A Linear/Dense layer's in_features differs from the last dimension it receives.",
        ),
        Code(
            "SH102",
            "in-channels",
            _E,
            "A convolution's in_channels differs from the channel dimension it receives.",
        ),
        Code(
            "SH103",
            "num-features",
            _E,
            "A normalization layer's num_features / normalized_shape does not match its input.",
        ),
        Code(
            "SH104",
            "size-below-one",
            _E,
            "A convolution or pooling layer computes an output size below 1.",
        ),
        Code(
            "SH105",
            "reshape-numel",
            _E,
            "view/reshape asks for a shape whose element count differs from the tensor's.",
        ),
        Code(
            "SH106",
            "cat-mismatch",
            _E,
            "cat/stack/concatenate inputs disagree outside the joined dimension.",
        ),
        Code("SH107", "matmul-mismatch", _E, "matmul/mm/bmm/@ inner dimensions differ."),
        Code(
            "SH108",
            "broadcast",
            _E,
            "An elementwise op (e.g. a residual add) gets shapes that do not broadcast.",
        ),
        Code(
            "SH109", "wrong-rank", _E, "A layer or op gets a tensor of a rank it does not accept."
        ),
        Code(
            "SH110",
            "dtype-mismatch",
            _E,
            "A tensor's dtype differs from the layer's parameters (e.g. float64 into float32).",
        ),
        Code("SH111", "dim-out-of-range", _E, "A dim argument is outside the tensor's rank."),
        Code(
            "SH112",
            "bad-argument",
            _E,
            "A layer or op argument is invalid for the shapes involved (e.g. groups, split sizes).",
        ),
        Code(
            "SH113",
            "stride-drops-rows",
            _I,
            "A stride does not divide the window's travel: trailing rows/cols are dropped.",
        ),
        Code(
            "SH114",
            "missing-flatten",
            _W,
            "A dense layer gets a rank>2 tensor where a Flatten was likely meant.",
        ),
        Code(
            "SH115",
            "output-target",
            _E,
            "A model's output cannot match the target it is trained against.",
        ),
        Code(
            "SH116",
            "branch-mismatch",
            _E,
            "Shared-weight (Siamese) branches produce outputs that cannot be compared.",
        ),
        Code(
            "SH117", "loss-input", _E, "A loss function's input and target shapes are incompatible."
        ),
        Code(
            "SH201", "verify-mismatch", _W, "verify: the runtime shape differs from the static one."
        ),
        Code("SH202", "verify-error", _E, "verify: the forward pass raised at this line."),
    )
}


def get(code: str) -> Code:
    """The Code entry for `code` (KeyError when unknown)."""
    return CODES[code]


def rules_markdown() -> str:
    """The docs page (docs/rules.md): one anchored section per code."""
    out = [
        "# shape-lsp rules",
        "",
        "Silence one line with `# shape: ignore[CODE]`; configure severities under",
        '`[tool.shape-lsp]` (`ignore = [...]`, `severity = {CODE = "warning"}`).',
        "",
    ]
    for c in CODES.values():
        out += [f"## {c.code}", "", f"**{c.name}** ({c.severity.label}): {c.doc}", ""]
    return "\n".join(out)
