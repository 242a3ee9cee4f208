"""Code actions: the core's quick fixes on their diagnostics, plus "ignore on this line"."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import TYPE_CHECKING

from lsprotocol import types as lsp

from shape_lsp.core.results import Finding, Span, TextEdit
from shape_lsp.server import convert
from shape_lsp.server.documents import Analysed, DocState

if TYPE_CHECKING:
    from shape_lsp.server.base import ShapeServer

_IGNORE = re.compile(r"#\s*shape:\s*ignore(?P<list>\[(?P<codes>[^\]]*)\])?")


def suppression_edit(lines: Sequence[str], f: Finding) -> TextEdit | None:
    """The edit that adds `# shape: ignore[CODE]` on the finding's first line (None: already)."""
    line = f.span.start_line
    if not 0 <= line < len(lines):
        return None
    text = lines[line]
    m = _IGNORE.search(text)
    if m is None:
        end = len(text.rstrip())
        return TextEdit(Span(line, end, line, len(text)), f"  # shape: ignore[{f.code}]")
    if m.group("list") is None:
        return None
    codes = [c.strip() for c in (m.group("codes") or "").split(",") if c.strip()]
    if f.code in (c.upper() for c in codes):
        return None
    new = ", ".join([*codes, f.code])
    return TextEdit(Span(line, m.start("codes"), line, m.end("codes")), new)


def _touches(span: Span, first_line: int, last_line: int) -> bool:
    """Line-granular: a cursor anywhere on a finding's lines offers its fixes."""
    return span.start_line <= last_line and span.end_line >= first_line


def _key(d: lsp.Diagnostic) -> tuple[str, int, int, int, int]:
    r = d.range
    code = str(d.code)
    return code, r.start.line, r.start.character, r.end.line, r.end.character


def _workspace_edit(
    server: ShapeServer, uri: str, snap: Analysed, edits: Sequence[TextEdit]
) -> lsp.WorkspaceEdit:
    lsp_edits = [
        lsp.TextEdit(
            range=convert.to_range(snap.lines, e.span, server.encoding), new_text=e.new_text
        )
        for e in edits
    ]
    ws = server.client_capabilities.workspace
    if ws and ws.workspace_edit and ws.workspace_edit.document_changes:
        return lsp.WorkspaceEdit(
            document_changes=[
                lsp.TextDocumentEdit(
                    text_document=lsp.OptionalVersionedTextDocumentIdentifier(
                        uri=uri, version=snap.version
                    ),
                    edits=list(lsp_edits),
                )
            ]
        )
    return lsp.WorkspaceEdit(changes={uri: list(lsp_edits)})


def actions_for(
    server: ShapeServer, state: DocState, snap: Analysed, params: lsp.CodeActionParams
) -> list[lsp.CodeAction]:
    """Quick fixes and suppressions for the findings the requested range touches."""
    lines = snap.lines
    first, last = params.range.start.line, params.range.end.line
    asked = {_key(d) for d in params.context.diagnostics}
    pairs: list[tuple[Finding, lsp.Diagnostic]] = list(
        zip(snap.result.findings, snap.diagnostics, strict=False)
    )
    v = state.verified
    if v is not None and v.version == snap.version:
        pairs += list(zip(v.findings, v.diagnostics, strict=False))
    out: list[lsp.CodeAction] = []
    ignores: list[lsp.CodeAction] = []
    for finding, diag in pairs:
        if not _touches(finding.span, first, last) and _key(diag) not in asked:
            continue
        for fix in finding.fixes:
            out.append(
                lsp.CodeAction(
                    title=fix.title,
                    kind=lsp.CodeActionKind.QuickFix,
                    diagnostics=[diag],
                    is_preferred=fix.preferred or None,
                    edit=_workspace_edit(server, state.uri, snap, fix.edits),
                )
            )
        edit = suppression_edit(lines, finding)
        if edit is not None and finding.code not in ("SH001", "SH002"):
            ignores.append(
                lsp.CodeAction(
                    title=f"Ignore {finding.code} on this line (# shape: ignore[{finding.code}])",
                    kind=lsp.CodeActionKind.QuickFix,
                    diagnostics=[diag],
                    edit=_workspace_edit(server, state.uri, snap, [edit]),
                )
            )
    return out + ignores + verify_actions(state, snap, first)


def verify_actions(state: DocState, snap: Analysed, line: int) -> list[lsp.CodeAction]:
    """ "Verify shapes" for the model defined closest above the cursor (runs it for real)."""
    above = [m for m in snap.result.models if m.span.start_line <= line]
    if not above:
        return []
    model = max(above, key=lambda m: m.span.start_line)
    return [
        lsp.CodeAction(
            title=f"Verify shapes of {model.name} (runs a real forward pass)",
            kind=lsp.CodeActionKind.Source,
            command=lsp.Command(
                title="Verify shapes",
                command="shape-lsp.verify",
                arguments=[state.uri, model.name],
            ),
        )
    ]


def register(server: ShapeServer) -> None:
    """Register textDocument/codeAction."""

    @server.feature(
        lsp.TEXT_DOCUMENT_CODE_ACTION,
        lsp.CodeActionOptions(
            code_action_kinds=[lsp.CodeActionKind.QuickFix, lsp.CodeActionKind.Source],
            resolve_provider=False,
        ),
    )
    @server.guarded("codeAction", list)
    def code_action(params: lsp.CodeActionParams) -> list[lsp.CodeAction]:
        only = params.context.only
        kinds = {str(k.value if hasattr(k, "value") else k) for k in only or ()}
        if only and not any(k.startswith(("quickfix", "source")) for k in kinds):
            return []
        state = server.docs.get(params.text_document.uri)
        doc = server.document(params.text_document.uri)
        if state is None or state.current is None or doc is None:
            return []
        if (doc.version or 0) != state.current.version:
            return []  # edits computed for an older text would land in the wrong place
        actions = actions_for(server, state, state.current, params)
        if only:
            actions = [
                a
                for a in actions
                if any(str(getattr(a.kind, "value", a.kind)).startswith(k) for k in kinds)
            ]
        return actions
