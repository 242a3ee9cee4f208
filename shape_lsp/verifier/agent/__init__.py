"""The verify agent: imports the user's file, runs each model once with hooks, reports shapes.

Runs in a subprocess under the user's interpreter. The client loads this package by path under
a private name (nothing of shape_lsp needs to be importable there, and no folder of ours lands
on sys.path); ``python -m shape_lsp.verifier.agent`` works too. It reads a JSON request on stdin
and writes the JSON report to ``report_path``. Only stdlib and torch are used (plus keras 3 on its
torch backend for Keras files, imported lazily), and the code stays valid on Python 3.8 so older
project interpreters can run it. Modules, each importing only those above it:

- ``protocol``: the report and error dicts, where an error happened, the shared agent state;
- ``hooks``: the forward hooks that record every module call, and failure mapping;
- ``models``: torch model discovery, construction and example inputs;
- ``keras_run``: Keras 3 models, and ``tensorflow`` as a stand-in over keras 3;
- ``slicing`` (stdlib only, imports nothing of ours): the static slice of the file that runs;
- ``runner``: the entry point and timeouts, device choice, the user's import and the traced run.
"""

from __future__ import annotations

from .runner import main

__all__ = ["main"]
