"""Manual check of the jupyter-lsp spec: start a Jupyter server with editors/jupyterlab's
jupyter_server_config.json (argv pointed at PYTHON), confirm /lsp/status lists shape-lsp, then
send `initialize` through jupyter-lsp's websocket and print the real server's reply.

    python -m venv /tmp/j && /tmp/j/bin/pip install jupyter-lsp jupyter_server websocket-client
    /tmp/j/bin/python editors/jupyterlab/check.py .venv/bin/python
"""

import json
import os
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import websocket  # websocket-client

HERE = Path(__file__).resolve().parent
PORT = 18888


def main() -> int:
    python = os.path.abspath(sys.argv[1]) if len(sys.argv) > 1 else "python3"
    spec = json.loads((HERE / "jupyter_server_config.json").read_text())
    spec["LanguageServerManager"]["language_servers"]["shape-lsp"]["argv"][0] = python
    spec["LanguageServerManager"]["autodetect"] = False
    cfg = Path(tempfile.mkdtemp())
    (cfg / "jupyter_server_config.json").write_text(json.dumps(spec))
    jupyter = Path(sys.executable).with_name("jupyter")
    log = open(cfg / "server.log", "w")  # noqa: SIM115
    proc = subprocess.Popen(
        [str(jupyter), "server", "--no-browser", f"--port={PORT}", "--allow-root",
         "--IdentityProvider.token=t", f"--ServerApp.root_dir={HERE.parents[1]}"],
        env={**os.environ, "JUPYTER_CONFIG_DIR": str(cfg)}, stdout=log, stderr=subprocess.STDOUT,
    )
    try:
        status = None
        for _ in range(120):
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{PORT}/lsp/status?token=t") as r:
                    status = json.load(r)
                break
            except OSError:
                time.sleep(0.5)
        assert status is not None, (cfg / "server.log").read_text()
        print("jupyter-lsp servers:", sorted(status["sessions"]))
        assert "shape-lsp" in status["sessions"]
        ws = websocket.create_connection(f"ws://127.0.0.1:{PORT}/lsp/ws/shape-lsp?token=t", timeout=60)
        ws.send(json.dumps({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
            "processId": None, "rootUri": HERE.parents[1].as_uri(), "capabilities": {}}}))
        while True:
            msg = json.loads(ws.recv())
            if msg.get("id") == 1:
                break
        ws.close()
        print("serverInfo:", msg["result"].get("serverInfo"))
        print("capabilities:", sorted(msg["result"]["capabilities"]))
        return 0
    finally:
        proc.terminate()
        proc.wait(10)


if __name__ == "__main__":
    raise SystemExit(main())
