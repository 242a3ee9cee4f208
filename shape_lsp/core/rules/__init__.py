"""Layer and op rules, one module per family. Importing this package registers them all."""

from shape_lsp.core.rules import (  # noqa: F401 - importing registers the rules
    activation,
    arith,
    conv,
    convtranspose,
    creation,
    keras_apps,
    keras_conv,
    keras_core,
    keras_data,
    keras_merge,
    keras_rnn,
    linear,
    loss,
    norm,
    pool,
    resample,
    reshape,
)
from shape_lsp.core.rules.base import FUNCTIONS, LAYERS

__all__ = [
    "FUNCTIONS",
    "LAYERS",
    "activation",
    "arith",
    "conv",
    "convtranspose",
    "creation",
    "linear",
    "loss",
    "norm",
    "pool",
    "resample",
    "reshape",
]
