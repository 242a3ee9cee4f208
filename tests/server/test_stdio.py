"""stdin read on the event loop (`shape_lsp.server.stdio`): used for pipes, robust to
garbage and to a client that dies mid-message."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from typing import Any

import pytest

from tests.server.conftest import SERVER, TIMEOUT, Session


def frame(msg: dict[str, Any]) -> bytes:
    body = json.dumps({"jsonrpc": "2.0", **msg}).encode()
    return b"Content-Length: %d\r\n\r\n" % len(body) + body


def read_message(out: Any) -> dict[str, Any]:
    length = 0
    while True:
        line = out.readline()
        assert line, "server closed stdout"
        if line in (b"\r\n", b"\n"):
            break
        if line.lower().startswith(b"content-length:"):
            length = int(line.split(b":")[1])
    result: dict[str, Any] = json.loads(out.read(length))
    return result


def read_response(out: Any, msg_id: int) -> dict[str, Any]:
    while True:
        msg = read_message(out)
        if msg.get("id") == msg_id and "method" not in msg:
            return msg


@pytest.mark.asyncio
@pytest.mark.skipif(sys.platform == "win32", reason="pygls reads stdin on Windows")
async def test_pipes_are_read_on_the_loop(push_session: Session) -> None:
    await push_session.initialize()
    state = await push_session.command("shape-lsp.debug.state")
    assert state["stdin_reader"] == "event loop"


def test_garbage_then_eof_mid_body() -> None:
    """An over-long header line is dropped and the next message answered; a client that
    closes stdin in the middle of a body ends the server cleanly."""
    proc = subprocess.Popen(
        SERVER, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    assert proc.stdin is not None and proc.stdout is not None and proc.stderr is not None
    try:
        proc.stdin.write(b"x" * 200_000 + b"\r\n")  # longer than any header line
        proc.stdin.write(b"Content-Length: 12\r\n\r\n{not json!}\n")
        proc.stdin.write(frame({"id": 1, "method": "initialize", "params": {"capabilities": {}}}))
        proc.stdin.flush()
        assert "capabilities" in read_response(proc.stdout, 1)["result"]
        proc.stdin.write(frame({"method": "initialized", "params": {}}))
        proc.stdin.write(b'Content-Length: 500\r\n\r\n{"jsonrpc": ')
        proc.stdin.flush()
        time.sleep(0.2)
        proc.stdin.close()
        assert proc.wait(TIMEOUT) == 0
        err = proc.stderr.read()
        assert b"dropped an over-long header line" in err
        assert b"IncompleteReadError" not in err and b"Task exception" not in err, err
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_non_pipe_stdin_keeps_pygls_reader(tmp_path: Any) -> None:
    """stdin from a file: pygls' reader, the same answers."""
    requests = tmp_path / "requests.bin"
    requests.write_bytes(
        frame({"id": 1, "method": "initialize", "params": {"capabilities": {}}})
        + frame({"method": "initialized", "params": {}})
        + frame(
            {
                "id": 2,
                "method": "workspace/executeCommand",
                "params": {"command": "shape-lsp.debug.state", "arguments": []},
            }
        )
        + frame({"id": 3, "method": "shutdown", "params": None})
        + frame({"method": "exit", "params": None})
    )
    with requests.open("rb") as stdin:
        out = subprocess.run(
            SERVER, stdin=stdin, capture_output=True, timeout=TIMEOUT * 2, check=True
        )
    assert b'"stdin_reader": "pygls"' in out.stdout, out.stdout[-500:]
