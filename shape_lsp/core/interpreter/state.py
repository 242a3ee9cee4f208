"""What every part of the interpreter shares: its state, and the methods one part calls in a
part built on top of it (declared here, defined in `interpret.Interpreter`)."""

from __future__ import annotations

import libcst as cst

from shape_lsp.core.config import Settings
from shape_lsp.core.interpreter.frame import Frame, ImportResolver
from shape_lsp.core.interpreter.module_calls import ModuleCalls
from shape_lsp.core.interpreter.objects import ClassInfo, FunctionRef
from shape_lsp.core.source.parse import Chunk, ParsedFile
from shape_lsp.core.values.abstract import Value


class InterpreterState:
    """The interpreter's state; the methods below are implemented by `Interpreter`."""

    parsed: ParsedFile
    path: str
    workspace: ImportResolver | None
    import_depth: int
    settings: Settings
    aliases: dict[str, str]
    globals: dict[str, Value]
    classes: dict[str, ClassInfo]
    rec: ModuleCalls
    steps: int
    depth: int
    eval_depth: int
    touched: dict[int, Chunk] | None
    loop_exits: list[tuple[list[dict[str, Value]], list[dict[str, Value]]]]
    _external: dict[str, Value]

    def tick(self) -> None:
        """Count a step; stop runaway analyses."""
        raise NotImplementedError

    def external(self, name: str) -> Value | None:
        """What an imported name means when a project file defines it."""
        raise NotImplementedError

    def iterate(self, v: Value) -> list[Value] | None:
        """The items of a statically iterable value."""
        raise NotImplementedError

    def assign(self, target: cst.BaseExpression, value: Value, frame: Frame) -> None:
        """Bind an assignment target."""
        raise NotImplementedError

    def exec_block(self, body: cst.BaseSuite | cst.Module, frame: Frame) -> None:
        """Run a block of statements."""
        raise NotImplementedError

    def line_of(self, chunk: Chunk, node: cst.CSTNode) -> int:
        """1-based line of a node (the chunk's first line when it cannot be placed)."""
        raise NotImplementedError

    def star_name(self, name: str) -> Value | None:
        """`name` as a `from m import *` brings it in."""
        raise NotImplementedError

    def inert(self, func: Value) -> bool:
        """A call whose arguments cannot matter."""
        raise NotImplementedError

    def call_node(self, node: cst.Call, frame: Frame) -> Value:
        """Evaluate a call expression."""
        raise NotImplementedError

    def apply_function(
        self,
        rule: object,
        args: list[Value],
        kwargs: dict[str, Value],
        node: cst.CSTNode,
        frame: Frame,
    ) -> Value:
        """Apply a function rule to its arguments."""
        raise NotImplementedError

    def call_function(
        self,
        fn: FunctionRef,
        args: list[Value],
        kwargs: dict[str, Value],
        frame: Frame,
        record_facts: bool | None = None,
        symbolic_missing: bool = False,
    ) -> Value:
        """Run a user function."""
        raise NotImplementedError

    def instantiate(
        self,
        info: ClassInfo,
        args: list[Value],
        kwargs: dict[str, Value],
        node: cst.Call | None,
        frame: Frame | None,
        symbolic_missing: bool = False,
    ) -> Value:
        """Run a user class's __init__ on a fresh instance."""
        raise NotImplementedError
