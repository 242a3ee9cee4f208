"""Issue 15: unknown stays unknown. Each case runs in torch (checked here) and must give no
error-severity finding."""

from __future__ import annotations

import pytest

from shape_lsp.core.api import Analyzer

# A tensor of unknown shape (the second forward input) whose size slice feeds view / randn:
# the slice has unknown length, so the result has unknown rank, never rank 1.
UNKNOWN_SLICE = """
import torch
from torch import nn


class CrossAttention(nn.Module):
    def __init__(self):
        super().__init__()
        self.key = nn.Linear(16, 16)

    def forward(self, x, enc):
        kv_shape = (*enc.shape[:-1], -1, 4)
        q = self.key(x)
        k = enc.view(kv_shape).transpose(1, 2)
        n = torch.randn(enc.shape[:2])
        m = n[:, :, None]
        v = enc.view(enc.size()[:-1] + (4, -1))
        return q, k, m, v.permute(0, 2, 1, 3)
"""
# How torch runs it (not in the analysed text: an example call would give `enc` a shape).
RUN = "CrossAttention()(torch.randn(2, 5, 16), torch.randn(2, 7, 16))"


@pytest.mark.parametrize(("source", "run"), [(UNKNOWN_SLICE, RUN)], ids=["unknown_slice"])
def test_no_error_on_code_torch_runs(source: str, run: str) -> None:
    pytest.importorskip("torch")
    scope: dict[str, object] = {"__name__": "case"}
    exec(compile(source + "\n" + run + "\n", "<case>", "exec"), scope)  # torch accepts it
    result = Analyzer().analyze(source, "case.py")
    assert [f for f in result.findings if f.severity == "error"] == []


def test_one_unknown_size_argument_has_unknown_rank() -> None:
    """`view(s)` / `torch.randn(s)` with `s` unknown: `s` may be a whole torch.Size, so the
    sizes (and the rank) are unknown, not one unknown dim (that made `(?,)` and SH109/SH111)."""
    from shape_lsp.core.rules.reshape import size_list
    from shape_lsp.core.shapes import UNKNOWN, sym

    assert size_list((UNKNOWN,)) is None
    assert size_list((3,)) == (3,)
    assert size_list((sym("B"), 4)) == (sym("B"), 4)
    assert size_list(((2, 3),)) == (2, 3)
