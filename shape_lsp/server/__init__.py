"""The language server (`shape-lsp serve`, `python -m shape_lsp.server`): see `main.py`.

Importing this package imports nothing: start-up stays light, and the feature modules can
import their siblings without a cycle through the package.
"""
