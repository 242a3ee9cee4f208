"""Editor end-to-end tests: they run by default wherever the editor is installed (each
test skips, saying so, where it is not); SHAPE_LSP_EDITOR_TESTS=0 turns them off."""

import os
import shutil
import sys

import pytest


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if os.environ.get("SHAPE_LSP_EDITOR_TESTS") != "0":
        return
    skip = pytest.mark.skip(reason="editor e2e tests turned off (SHAPE_LSP_EDITOR_TESTS=0)")
    for item in items:
        if "tests/editors" in str(item.fspath).replace(os.sep, "/"):
            item.add_marker(skip)


def python() -> str:
    """The interpreter with shape_lsp: $PY (as given to editors/ci.sh) else this one; absolute,
    because editors start the server from the project folder. Symlinks kept (venvs)."""
    py = os.environ.get("PY") or sys.executable
    return os.path.abspath(py) if os.sep in py else py


@pytest.fixture(scope="session")
def nvim() -> str:
    path = shutil.which("nvim")
    if path is None:
        pytest.skip("nvim is not installed (apt-get install neovim)")
    return path
