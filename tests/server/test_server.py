"""Start-up, verify (with a fake verifier), resilience, and the no-torch rule."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from pathlib import Path

import pytest
from lsprotocol import types as lsp

from tests.server.conftest import Session
from tests.server.fixtures import NET, NET_CONV_LINE, NET_FC_LINE


@pytest.mark.asyncio
async def test_torch_never_imported(session: Session) -> None:
    await session.initialize()
    uri = session.open(NET)
    await session.diagnostics(uri)
    await session.hover(uri, 10, 8)
    await session.inlay(uri)
    await session.command("shape-lsp.summary", uri)
    mods = await session.command("shape-lsp.debug.modules")
    assert mods["engine"] is True
    assert mods["torch"] is False


@pytest.mark.asyncio
async def test_capabilities(session: Session) -> None:
    result = await session.initialize()
    caps = result.capabilities
    assert caps.hover_provider and caps.inlay_hint_provider and caps.code_action_provider
    assert caps.code_lens_provider is not None
    assert caps.execute_command_provider is not None
    assert {"shape-lsp.verify", "shape-lsp.summary"} <= set(caps.execute_command_provider.commands)
    sync = caps.text_document_sync
    assert isinstance(sync, lsp.TextDocumentSyncOptions)
    assert sync.change == lsp.TextDocumentSyncKind.Incremental
    assert result.server_info is not None and result.server_info.name == "shape-lsp"


@pytest.mark.asyncio
async def test_verify_merges_runtime_findings_until_edit(verify_session: Session) -> None:
    s = verify_session
    await s.initialize()
    uri = s.open(NET)
    await s.diagnostics(uri)
    n0 = len(s.client.published)  # type: ignore[attr-defined]
    result = await s.verify(uri, "Net")
    assert result["status"] == "mismatch" and result["kept"] is True
    assert result["findings"][0]["code"] == "SH201"
    # work-done progress: begin ... end
    kinds = [v.kind for reports in s.client.progress_reports.values() for v in reports]
    assert kinds[0] == "begin" and kinds[-1] == "end", kinds
    # pygls keeps each progress token's future forever (pygls#607); the server drops it
    assert (await s.command("shape-lsp.debug.state"))["progress_tokens"] == 0
    if s.pull:
        diags = await s.diagnostics(uri)
    else:
        diags = list((await s.wait_published(uri, 1, after=n0)).diagnostics)
    verify = [d for d in diags if d.code == "SH201"]
    assert len(verify) == 1 and verify[0].source == "shape-lsp verify"
    assert verify[0].range.start.line == NET_FC_LINE
    hover = await s.hover(uri, NET_FC_LINE, NET.split("\n")[NET_FC_LINE].index("fc"))
    assert hover is not None and "runtime" in hover
    s.edit(uri, lsp.Range(start=lsp.Position(0, 0), end=lsp.Position(0, 0)), "# changed\n")
    assert not [d for d in await s.diagnostics(uri) if d.code == "SH201"]


@pytest.mark.asyncio
async def test_verify_answers_at_once_and_notifies_the_result(verify_session: Session) -> None:
    """Editors wait on executeCommand (Eglot freezes, lsp-mode gives up after 10 s): the
    command answers before the forward pass ends; `wait: true` still gets the result."""
    s = verify_session
    await s.initialize()
    uri = s.open(NET + "# fake-verify: slow\n")
    await s.diagnostics(uri)
    started = await s.command("shape-lsp.verify", uri, "Net")
    assert started["status"] == "started" and started["model"] == "Net"
    assert not s.client.verified  # type: ignore[attr-defined]
    got = await s.until(lambda: s.client.verified, "shape-lsp/verified")  # type: ignore[attr-defined]
    assert got[0].token == started["token"] and got[0].status == "mismatch"
    waited = await s.command("shape-lsp.verify", {"uri": uri, "model": "Net", "wait": True})
    assert waited["status"] == "mismatch" and "token" not in waited


@pytest.mark.asyncio
async def test_verify_unknown_document(verify_session: Session) -> None:
    await verify_session.initialize()
    result = await verify_session.command("shape-lsp.verify", "file:///nowhere.py")
    assert result["status"] == "error"


@pytest.mark.asyncio
async def test_bad_requests_do_not_kill_the_server(session: Session) -> None:
    await session.initialize()
    uri = session.open(NET)
    await session.diagnostics(uri)
    other = "file:///not/open.py"
    assert await session.hover(other, 0, 0) is None
    assert await session.inlay(other) == []
    res = await session.client.text_document_code_action_async(
        lsp.CodeActionParams(
            text_document=lsp.TextDocumentIdentifier(other),
            range=lsp.Range(start=lsp.Position(0, 0), end=lsp.Position(0, 0)),
            context=lsp.CodeActionContext(diagnostics=[]),
        )
    )
    assert not res
    assert await session.hover(uri, NET_CONV_LINE, 8) is not None  # still alive


@pytest.mark.asyncio
async def test_tcp_help() -> None:
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "shape_lsp.server", "--help", stdout=subprocess.PIPE
    )
    out, _ = await proc.communicate()
    assert b"--tcp" in out and proc.returncode == 0


class RawClient:
    """A bare JSON-RPC client over the server's stdio: the bytes as an editor sees them."""

    def __init__(self) -> None:
        import subprocess
        import sys

        self.proc = subprocess.Popen(
            [sys.executable, "-m", "shape_lsp", "serve"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
        )

    def send(self, obj: dict[str, object]) -> None:
        import json

        body = json.dumps(obj).encode()
        self.proc.stdin.write(b"Content-Length: %d\r\n\r\n" % len(body) + body)  # type: ignore[union-attr]
        self.proc.stdin.flush()  # type: ignore[union-attr]

    def recv(self) -> dict[str, object]:
        import json

        header = b""
        while not header.endswith(b"\r\n\r\n"):
            header += self.proc.stdout.read(1)  # type: ignore[union-attr]
        length = int(header.split(b"Content-Length:")[1].split(b"\r\n")[0])
        return json.loads(self.proc.stdout.read(length))  # type: ignore[union-attr,no-any-return]

    def request(self, rid: int, method: str, params: dict[str, object]) -> dict[str, object]:
        self.send({"jsonrpc": "2.0", "id": rid, "method": method, "params": params})
        while True:
            msg = self.recv()
            if msg.get("id") == rid and "method" not in msg:
                return msg
            if "id" in msg and "method" in msg:  # a server->client request: answer it
                self.send({"jsonrpc": "2.0", "id": msg["id"], "result": None})

    def close(self) -> None:
        self.proc.kill()
        self.proc.wait()


def test_verify_offered_as_a_code_action(tmp_path: Path) -> None:
    from tests.server.fixtures import NET, NET_FC_LINE

    path = tmp_path / "net.py"
    path.write_text(NET)
    uri = path.as_uri()
    c = RawClient()
    try:
        c.request(1, "initialize", {"capabilities": {}, "processId": None, "rootUri": None})
        c.send({"jsonrpc": "2.0", "method": "initialized", "params": {}})
        c.send(
            {
                "jsonrpc": "2.0",
                "method": "textDocument/didOpen",
                "params": {
                    "textDocument": {"uri": uri, "languageId": "python", "version": 1, "text": NET}
                },
            }
        )
        while c.recv().get("method") != "textDocument/publishDiagnostics":
            pass
        res = c.request(
            2,
            "textDocument/codeAction",
            {
                "textDocument": {"uri": uri},
                "range": {
                    "start": {"line": NET_FC_LINE, "character": 0},
                    "end": {"line": NET_FC_LINE, "character": 1},
                },
                "context": {"diagnostics": []},
            },
        )
        verify = [a for a in res["result"] if a["kind"] == "source"]  # type: ignore[union-attr,index]
        assert len(verify) == 1, res
        assert verify[0]["command"] == {  # type: ignore[index]
            "title": "Verify shapes",
            "command": "shape-lsp.verify",
            "arguments": [uri, "Net"],
        }
    finally:
        c.close()


def test_malformed_request_gets_an_error_not_silence() -> None:
    """A request whose params do not deserialize is answered (InvalidParams); pygls alone
    would only log it and the editor would wait forever."""
    import json
    import subprocess
    import sys

    proc = subprocess.Popen(
        [sys.executable, "-m", "shape_lsp", "serve"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
    )
    assert proc.stdin is not None and proc.stdout is not None

    def send(obj: dict[str, object]) -> None:
        body = json.dumps(obj).encode()
        proc.stdin.write(b"Content-Length: %d\r\n\r\n" % len(body) + body)  # type: ignore[union-attr]
        proc.stdin.flush()  # type: ignore[union-attr]

    def recv() -> dict[str, object]:
        header = b""
        while not header.endswith(b"\r\n\r\n"):
            header += proc.stdout.read(1)  # type: ignore[union-attr]
        length = int(header.split(b"Content-Length:")[1].split(b"\r\n")[0])
        return json.loads(proc.stdout.read(length))  # type: ignore[union-attr,no-any-return]

    try:
        send(
            {
                "jsonrpc": "2.0",
                "id": 1,
                "method": "initialize",
                "params": {"capabilities": {}, "processId": None, "rootUri": None},
            }
        )
        while recv().get("id") != 1:
            pass
        bad_diag = {"code": "SH101"}  # no range, no message
        send(
            {
                "jsonrpc": "2.0",
                "id": 2,
                "method": "textDocument/codeAction",
                "params": {
                    "textDocument": {"uri": "file:///x.py"},
                    "range": {
                        "start": {"line": 0, "character": 0},
                        "end": {"line": 0, "character": 1},
                    },
                    "context": {"diagnostics": [bad_diag]},
                },
            }
        )
        send(
            {
                "jsonrpc": "2.0",
                "id": 3,
                "method": "textDocument/hover",
                "params": {
                    "textDocument": {"uri": "file:///x.py"},
                    "position": {"line": 0, "character": 0},
                },
            }
        )
        got: dict[object, dict[str, object]] = {}
        while len(got) < 2:
            msg = recv()
            if msg.get("id") in (2, 3):
                got[msg["id"]] = msg
        assert got[2]["error"]["code"] == -32602  # type: ignore[index]
        assert "result" in got[3]  # and the server goes on answering
    finally:
        proc.kill()
        proc.wait()
