"""Layer and op rules, one module per family. Importing this package registers them all."""

from shape_lsp.core.rules import conv, convtranspose, linear, norm, pool
from shape_lsp.core.rules.base import FUNCTIONS, LAYERS

__all__ = ["FUNCTIONS", "LAYERS", "conv", "convtranspose", "linear", "norm", "pool"]
