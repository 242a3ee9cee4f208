"""Hover, inlay hints, code actions (applied), suppression, code lens and the summary command."""

from __future__ import annotations

import pytest
from lsprotocol import types as lsp

from tests.server.conftest import Session, apply_edits, workspace_edits
from tests.server.fixtures import NET, NET_CLASS_LINE, NET_CONV_LINE, NET_FC_LINE, SEQ, SEQ_LINE

pytestmark = pytest.mark.asyncio


async def test_hover_tensor_and_layer(session: Session) -> None:
    await session.initialize()
    uri = session.open(NET)
    await session.diagnostics(uri)
    text = await session.hover(uri, NET_CONV_LINE, 8)  # the `x` assigned from self.conv(x)
    assert text is not None and "16, 32, 32)" in text, text
    layer = await session.hover(uri, NET_CONV_LINE, NET.split("\n")[NET_CONV_LINE].index("conv"))
    assert layer is not None and "Conv2d" in layer and "→" in layer, layer
    assert "448" in layer  # params
    assert "H_out" in layer  # the formula with the numbers filled in


async def test_hover_model_class_shows_summary(session: Session) -> None:
    await session.initialize()
    uri = session.open(NET)
    await session.diagnostics(uri)
    text = await session.hover(uri, NET_CLASS_LINE, len("class N"))
    assert text is not None
    assert "| Module |" in text and "conv" in text and "fc" in text
    assert "Total params" in text and "164,298" in text


async def test_hover_nowhere_is_empty(session: Session) -> None:
    await session.initialize()
    uri = session.open(NET)
    await session.diagnostics(uri)
    assert await session.hover(uri, 0, 0) is None
    assert await session.hover(uri, 9999, 3) is None  # out of range: no error, no popup


async def test_inlay_hints_after_assignments(session: Session) -> None:
    await session.initialize()
    uri = session.open(NET)
    await session.diagnostics(uri)
    hints = await session.inlay(uri)
    by_line = {h.position.line: h for h in hints}
    assert NET_CONV_LINE in by_line, hints
    h = by_line[NET_CONV_LINE]
    assert isinstance(h.label, str) and h.label.startswith(": (") and "16, 32, 32)" in h.label
    assert h.position.character == len("        x")


async def test_inlay_hints_for_sequential_entries(session: Session) -> None:
    await session.initialize()
    uri = session.open(SEQ)
    await session.diagnostics(uri)
    hints = [h for h in await session.inlay(uri) if h.position.line == SEQ_LINE]
    assert len(hints) >= 2, hints  # after Conv2d and ReLU at least


async def _fix_and_check(s: Session, source: str, line: int, word: str, expect: str) -> None:
    uri = s.open(source)
    diags = [d for d in await s.diagnostics(uri) if d.code == "SH101"]
    assert diags, "expected SH101"
    actions = await s.actions(uri, diags, line)
    fixes = [a for a in actions if word.lower() in a.title.lower()]
    assert fixes, [a.title for a in actions]
    fix = fixes[0]
    assert fix.kind == lsp.CodeActionKind.QuickFix
    assert fix.diagnostics and fix.diagnostics[0].code == "SH101"
    assert fix.edit is not None
    new = apply_edits(source, workspace_edits(fix.edit, uri))
    assert expect in new, new
    s.change(uri, new)
    assert [d for d in await s.diagnostics(uri) if d.code == "SH101"] == []


async def test_quick_fix_inserts_flatten_in_forward(session: Session) -> None:
    await session.initialize()
    await _fix_and_check(session, NET, NET_FC_LINE, "flatten", "torch.flatten(x, 1)")


async def test_quick_fix_inserts_flatten_layer_in_sequential(session: Session) -> None:
    await session.initialize()
    await _fix_and_check(session, SEQ, SEQ_LINE, "flatten", "nn.Flatten()")


async def test_suppression_action(session: Session) -> None:
    await session.initialize()
    uri = session.open(NET)
    diags = [d for d in await session.diagnostics(uri) if d.code == "SH101"]
    actions = await session.actions(uri, diags, NET_FC_LINE)
    ignore = [a for a in actions if a.title.startswith("Ignore SH101")]
    assert len(ignore) == 1
    assert ignore[0].edit is not None
    new = apply_edits(NET, workspace_edits(ignore[0].edit, uri))
    assert new.split("\n")[NET_FC_LINE] == "        x = self.fc(x)  # shape: ignore[SH101]"
    session.change(uri, new)
    assert [d for d in await session.diagnostics(uri) if d.code == "SH101"] == []


async def test_code_lens_and_summary_command(session: Session) -> None:
    await session.initialize()
    uri = session.open(NET)
    await session.diagnostics(uri)
    lenses = await session.client.text_document_code_lens_async(
        lsp.CodeLensParams(text_document=lsp.TextDocumentIdentifier(uri))
    )
    assert lenses and len(lenses) == 1
    lens = lenses[0]
    assert lens.range.start.line == NET_CLASS_LINE
    assert lens.command is not None and lens.command.command == "shape-lsp.verify"
    assert list(lens.command.arguments or []) == [uri, "Net"]
    summary = await session.command("shape-lsp.summary", uri, "Net")
    assert "| Module |" in summary["markdown"] and "Total params" in summary["text"]
    missing = await session.command("shape-lsp.summary", uri, "Nope")
    assert missing["markdown"] == "" and "error" in missing


async def test_syntax_error_keeps_serving(session: Session) -> None:
    await session.initialize()
    uri = session.open(NET)
    await session.diagnostics(uri)
    broken = NET + "\ndef broken(:\n    pass\n"
    session.change(uri, broken)
    diags = await session.diagnostics(uri)
    assert [d.code for d in diags].count("SH001") == 1, diags
    # The unchanged class still answers hovers and hints.
    text = await session.hover(uri, NET_CLASS_LINE, len("class N"))
    assert text is not None and "Total params" in text
    assert any(h.position.line == NET_CONV_LINE for h in await session.inlay(uri))
    # Typing more broken code does not flood.
    session.change(uri, broken + "x = (\n")
    diags = await session.diagnostics(uri)
    assert len([d for d in diags if d.code == "SH001"]) == 1
    session.change(uri, NET)
    assert not [d for d in await session.diagnostics(uri) if d.code == "SH001"]
