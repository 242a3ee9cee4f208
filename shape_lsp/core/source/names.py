"""Import aliases: which local name means which qualified name, in canonical form.

`import torch.nn as nn`, `from torch import nn`, `from torch.nn import Conv2d as C`,
`import tensorflow as tf` (then `tf.keras.layers.Dense` is `keras.layers.Dense`), and so on.
A small table of our own: the heavy libcst scope providers cost seconds on big files.
"""

from __future__ import annotations

import libcst as cst

# Prefix rewrites to one canonical spelling per object.
_CANON = (
    ("tensorflow.keras.", "keras."),
    ("tensorflow.python.keras.", "keras."),
    ("keras.src.", "keras."),
    ("torch.nn.modules.conv.", "torch.nn."),
    ("torch.nn.modules.linear.", "torch.nn."),
    ("torch.nn.modules.", "torch.nn."),
    ("keras.layers.core.", "keras.layers."),
)
_RENAMES = {
    "numpy.random.random_sample": "numpy.random.random",
    "torch.nn.functional.conv2d": "torch.nn.functional.conv2d",
    "torch.concat": "torch.cat",
    "torch.concatenate": "torch.cat",
    "keras.layers.MaxPool1D": "keras.layers.MaxPooling1D",
    "keras.layers.MaxPool2D": "keras.layers.MaxPooling2D",
    "keras.layers.MaxPool3D": "keras.layers.MaxPooling3D",
    "keras.layers.AvgPool1D": "keras.layers.AveragePooling1D",
    "keras.layers.AvgPool2D": "keras.layers.AveragePooling2D",
    "keras.layers.AvgPool3D": "keras.layers.AveragePooling3D",
    "keras.layers.Convolution2D": "keras.layers.Conv2D",
    "keras.models.Sequential": "keras.Sequential",
    "keras.models.Model": "keras.Model",
    "keras.layers.Input": "keras.Input",
    "keras.layers.InputLayer": "keras.layers.InputLayer",
}


def canonical(name: str) -> str:
    """The canonical qualified name (tf.keras → keras, torch.nn.modules.X → torch.nn)."""
    if name == "tensorflow.keras":
        return "keras"
    for old, new in _CANON:
        if name.startswith(old):
            name = new + name[len(old) :]
            break
    return _RENAMES.get(name, name)


def dotted(node: cst.BaseExpression) -> str | None:
    """`a.b.c` as a string, None for anything else."""
    if isinstance(node, cst.Name):
        return node.value
    if isinstance(node, cst.Attribute):
        base = dotted(node.value)
        return None if base is None else f"{base}.{node.attr.value}"
    return None


STAR = "*"
"""Key prefix of `from m import *` entries in an alias table (never an identifier)."""


def star_bases(table: dict[str, str]) -> list[str]:
    """The modules this file star-imports, in order."""
    return [q for local, q in table.items() if local.startswith(STAR)]


def collect_aliases(stmt: cst.CSTNode, table: dict[str, str]) -> None:
    """Add the bindings of one import statement (found anywhere in `stmt`) to `table`."""
    if isinstance(stmt, cst.Import):
        for alias in stmt.names:
            full = dotted(alias.name)
            if full is None:
                continue
            if alias.asname is not None and isinstance(alias.asname.name, cst.Name):
                table[alias.asname.name.value] = canonical(full)
            else:
                top = full.split(".", 1)[0]
                table[top] = top
    elif isinstance(stmt, cst.ImportFrom):
        mod = dotted(stmt.module) if stmt.module is not None else ""
        dots = "." * len(stmt.relative)
        base = dots + (mod or "")
        if isinstance(stmt.names, cst.ImportStar):
            table[f"{STAR}{len(star_bases(table))}"] = base  # looked up by name when used
            return
        for alias in stmt.names:
            if not isinstance(alias.name, cst.Name):
                continue
            local = alias.name.value
            if alias.asname is not None and isinstance(alias.asname.name, cst.Name):
                local = alias.asname.name.value
            sep = "" if base.endswith(".") else "."
            table[local] = canonical(f"{base}{sep}{alias.name.value}")


def local_name_for(table: dict[str, str], qualified: str) -> str | None:
    """How the file can spell `qualified` with its imports (e.g. torch.nn.Flatten → nn.Flatten)."""
    best: str | None = None
    for local, q in table.items():
        if local.startswith(STAR):
            continue
        if qualified == q:
            return local
        if qualified.startswith(q + "."):
            cand = local + qualified[len(q) :]
            if best is None or len(cand) < len(best):
                best = cand
    return best
