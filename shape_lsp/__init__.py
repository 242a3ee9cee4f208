"""shape-lsp: static tensor shape checking for PyTorch and Keras code."""

__version__ = "0.1.0"
