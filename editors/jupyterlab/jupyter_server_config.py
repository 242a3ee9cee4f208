"""jupyter-lsp spec for shape-lsp that uses the same interpreter as the Jupyter server.

Copy to ~/.jupyter/jupyter_server_config.py (or merge into yours). Prefer this over the .json
when shape-lsp is installed in the same environment as JupyterLab.

`c.LanguageServerManager.language_servers` is a traitlets LazyConfigValue until some file sets
it: `.update()` merges into it (and into a dict set by an earlier file) where `{**...}` raises
`TypeError: 'LazyConfigValue' object is not a mapping`. tests/editors/test_jupyterlab.py loads
this file with traitlets' own loader, as Jupyter does.
"""

import sys

c = get_config()  # noqa: F821 - provided by Jupyter when it loads this file

c.LanguageServerManager.language_servers.update(
    {
        "shape-lsp": {
            "version": 2,
            "display_name": "shape-lsp",
            "argv": [sys.executable, "-m", "shape_lsp", "serve"],
            "languages": ["python"],
            "mime_types": ["text/python", "text/x-python", "text/x-ipython"],
            "workspace_configuration": {"shape-lsp": {"inlayHints": True}},
        }
    }
)
