"""Verify by running: a real forward pass in a subprocess agent, diffed with the static shapes.

`client.run_verify` is the entry point (no torch import); the `agent` package is the only code
that imports torch, and only inside the subprocess it runs in.
"""
