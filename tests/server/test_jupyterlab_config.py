"""editors/jupyterlab/jupyter_server_config.py loaded the way Jupyter loads it: traitlets'
PyFileConfigLoader (with `get_config()`), merged with the configs loaded before it, applied to
a `LanguageServerManager` configurable; then the spec's `argv` is started and answers
`initialize` with notebook sync. (jupyter-lsp and jupyter_server themselves are not installed:
editors/jupyterlab/check.py does that by hand.)"""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path
from typing import Any

import pytest
from lsprotocol import types as lsp

from tests.server.conftest import TIMEOUT, make_client

traitlets = pytest.importorskip("traitlets")
from traitlets.config import Configurable  # noqa: E402
from traitlets.config.loader import JSONFileConfigLoader, PyFileConfigLoader  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
CONFIG = ROOT / "editors" / "jupyterlab" / "jupyter_server_config.py"
#: What the file said before: `{**c.LanguageServerManager.language_servers, ...}`.
OLD = """\
c = get_config()
c.LanguageServerManager.language_servers = {
    **(c.LanguageServerManager.language_servers or {}),
    "shape-lsp": {"argv": ["python3"]},
}
"""


class LanguageServerManager(Configurable):  # type: ignore[misc]
    """Stand-in for jupyter-lsp's manager: the same configurable name and dict trait."""

    language_servers = traitlets.Dict().tag(config=True)


def servers(*configs: Any) -> dict[str, Any]:
    """The language_servers a Jupyter server gets from these configs, merged in order."""
    merged = traitlets.config.Config()
    for cfg in configs:
        merged.merge(cfg)
    return dict(LanguageServerManager(config=merged).language_servers)


def load_py(path: Path) -> Any:
    return PyFileConfigLoader(path.name, path=str(path.parent)).load_config()


def test_old_config_fails_as_users_saw_it(tmp_path: Path) -> None:
    old = tmp_path / "jupyter_server_config.py"
    old.write_text(OLD)
    with pytest.raises(TypeError, match="LazyConfigValue"):
        load_py(old)


def test_config_alone_and_merged_with_an_earlier_one(tmp_path: Path) -> None:
    spec = servers(load_py(CONFIG))["shape-lsp"]
    assert spec["argv"] == [sys.executable, "-m", "shape_lsp", "serve"]
    assert spec["version"] == 2 and spec["languages"] == ["python"]
    assert "text/x-ipython" in spec["mime_types"]  # notebook cells' mime type
    earlier = tmp_path / "jupyter_server_config.json"
    earlier.write_text(
        json.dumps({"LanguageServerManager": {"language_servers": {"pylsp": {"argv": ["pylsp"]}}}})
    )
    both = servers(
        JSONFileConfigLoader(earlier.name, path=str(tmp_path)).load_config(), load_py(CONFIG)
    )
    assert sorted(both) == ["pylsp", "shape-lsp"]


@pytest.mark.asyncio
async def test_the_configured_argv_serves_notebooks() -> None:
    argv = servers(load_py(CONFIG))["shape-lsp"]["argv"]
    client = make_client()
    await client.start_io(*argv)
    try:
        caps = lsp.ClientCapabilities(
            notebook_document=lsp.NotebookDocumentClientCapabilities(
                synchronization=lsp.NotebookDocumentSyncClientCapabilities()
            )
        )
        result = await asyncio.wait_for(
            client.initialize_session(lsp.InitializeParams(capabilities=caps)), TIMEOUT
        )
        assert result.server_info is not None and result.server_info.name == "shape-lsp"
        sync = result.capabilities.notebook_document_sync
        assert isinstance(sync, lsp.NotebookDocumentSyncOptions)
        await asyncio.wait_for(client.shutdown_session(), TIMEOUT)
    finally:
        await client.stop()
