"""Small helpers over libcst nodes shared by the interpreter's parts."""

from __future__ import annotations

from collections.abc import Iterator

import libcst as cst


def block_statements(body: cst.BaseSuite) -> Iterator[cst.CSTNode]:
    if isinstance(body, (cst.IndentedBlock, cst.SimpleStatementSuite)):
        yield from body.body


CODE_MODULE = cst.Module(body=[])


def source_text(node: cst.CSTNode) -> str:
    """Source text of a node."""
    return CODE_MODULE.code_for_node(node)
