"""Abstract interpretation: follow values through module code, __init__ and forward.

The interpreter walks libcst trees statement by statement with an environment of abstract
values (values/abstract.py, interpreter/objects.py). It is built in layers of one class each:
`InterpreterState` (state.py: what every part shares) <- `Expressions` <- `Calls` <-
`Functions` <- `Interpreter` (this file: statements and the module pass). Library calls
dispatch to the declarative rules; a rule's ShapeError becomes a finding at the call site and
the result goes unknown, so one bug never cascades into others. Nothing is executed.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable

import libcst as cst

from shape_lsp.core.config import Settings
from shape_lsp.core.interpreter.calls import set_module_item
from shape_lsp.core.interpreter.evaluate import (
    truth,
)
from shape_lsp.core.interpreter.expressions import LAZY_LITERAL, LazyLiteral, ShapeProbe
from shape_lsp.core.interpreter.extensions import EXTENSIONS
from shape_lsp.core.interpreter.frame import (
    MAX_STEPS,
    MAX_UNROLL,
    Break,
    Budget,
    Continue,
    Frame,
    ImportResolver,
    LoopExit,
    Return,
    Unreachable,
    _forget_changed,
    _join_into,
    _join_sequences,
    _restore,
    _sequences,
    _state,
    join_envs,
    join_values,
)
from shape_lsp.core.interpreter.functions import Functions
from shape_lsp.core.interpreter.module_calls import ModuleCalls
from shape_lsp.core.interpreter.objects import (
    ClassInfo,
    ClassRef,
    Container,
    FunctionRef,
    ModuleInstance,
    OpaqueModule,
    PyObject,
    assign_path,
    is_module,
)
from shape_lsp.core.rules.base import (
    LayerValue,
)
from shape_lsp.core.source.names import collect_aliases
from shape_lsp.core.source.parse import Chunk, ParsedFile
from shape_lsp.core.source.syntax import block_statements, source_text
from shape_lsp.core.values.abstract import AbstractIterable, Qual, Tensor, Value
from shape_lsp.core.values.shapes import UNKNOWN, Unknown

log = logging.getLogger(__name__)


class Interpreter(Functions):
    """Interprets one file; results accumulate in `rec`."""

    def __init__(
        self,
        parsed: ParsedFile,
        path: str,
        settings: Settings,
        recorder: Callable[[Interpreter, Settings], ModuleCalls],
        workspace: ImportResolver | None = None,
        depth: int = 0,
    ) -> None:
        self.parsed = parsed
        self.path = path
        self.workspace = workspace
        self.import_depth = depth
        self._external: dict[str, Value] = {}
        self.settings = settings
        self.aliases: dict[str, str] = {}
        self.globals: dict[str, Value] = {}
        self.classes: dict[str, ClassInfo] = {}
        self.rec = recorder(self, settings)
        self.steps = 0
        self.depth = 0
        self.eval_depth = 0
        self.touched: dict[int, Chunk] | None = None  # chunks whose code ran (models' cache)
        # per loop being run (innermost last): environments where a `break` / `continue`
        # under a condition the engine cannot decide may leave it
        self.loop_exits: list[tuple[list[dict[str, Value]], list[dict[str, Value]]]] = []

    def module_pass(self) -> None:
        """Imports, constants, classes and module-level code (example calls) in order."""
        for chunk in self.parsed.chunks:
            if chunk.module is not None:
                for stmt in chunk.module.body:
                    _imports(stmt, self.aliases)
        for chunk in self.parsed.chunks:
            if chunk.module is None:
                continue
            frame = Frame(self.globals, chunk)
            for stmt in chunk.module.body:
                self._guarded(lambda s=stmt, f=frame: self.exec_stmt(s, f), chunk, stmt)

    def global_value(self, name: str) -> Value | None:
        """A module-level name as another file imports it (None when not defined here)."""
        if not self.parsed.chunks:
            return None
        frame = Frame(self.globals, self.parsed.chunks[0], record_facts=False)
        if name in self.globals:
            v = self.lookup(name, frame)
        elif name in self.aliases:
            v = self.external(self.aliases[name]) or Qual(self.aliases[name])
        else:
            return None
        if isinstance(v, Qual):
            return self.external(v.name) or v
        return v

    def external(self, name: str) -> Value | None:
        """What an imported name means when a project file defines it (cached per run)."""
        if self.workspace is None or EXTENSIONS.is_library(name):
            return None
        if name not in self._external:
            self._external[name] = None  # cycle guard while resolving
            self._external[name] = self.workspace.resolve(name, self.path, self.import_depth)
        return self._external[name]

    def _guarded(self, fn: object, chunk: Chunk, node: cst.CSTNode) -> None:
        self.steps = 0
        self.depth = 0
        try:
            fn()  # type: ignore[operator]
        except (Budget, Return, LoopExit):
            pass
        except RecursionError:
            self.rec.internal(f"recursion too deep near line {self.line_of(chunk, node)}")
        except Exception as e:  # one bad statement must not stop the others
            log.debug("internal error", exc_info=True)
            self.rec.internal(
                f"{type(e).__name__}: {e} (line {self.line_of(chunk, node)})", chunk, node
            )

    def line_of(self, chunk: Chunk, node: cst.CSTNode) -> int:
        span = self.rec.span(chunk, node)
        return span.start_line + 1 if span else chunk.start_line + 1

    def tick(self) -> None:
        """Count a step; stop runaway analyses."""
        self.steps += 1
        if self.steps > MAX_STEPS:
            raise Budget

    def exec_block(self, body: cst.BaseSuite | cst.Module, frame: Frame) -> None:
        """Run the statements of an indented block, a one-line suite or a module."""
        stmts: object = body.body
        for stmt in stmts:  # type: ignore[attr-defined]
            self.exec_stmt(stmt, frame)

    def exec_stmt(self, stmt: cst.CSTNode, frame: Frame) -> None:
        """Run one statement."""
        self.tick()
        if isinstance(stmt, cst.SimpleStatementLine | cst.SimpleStatementSuite):
            for small in stmt.body:
                self.exec_small(small, frame)
        elif isinstance(stmt, cst.If):
            self.exec_if(stmt, frame)
        elif isinstance(stmt, cst.For):
            self.exec_for(stmt, frame)
        elif isinstance(stmt, cst.While):
            self.exec_loop_once(stmt.body, frame)
        elif isinstance(stmt, cst.With):
            for item in stmt.items:
                v = self.eval(item.item, frame)
                if item.asname is not None:
                    self.assign(item.asname.name, UNKNOWN if v is not None else v, frame)
            self.exec_block(stmt.body, frame)
        elif isinstance(stmt, cst.Try | cst.TryStar):
            self.exec_block(stmt.body, frame)
            if stmt.finalbody is not None:
                self.exec_block(stmt.finalbody.body, frame)
        elif isinstance(stmt, cst.FunctionDef):
            home = frame.home or self
            closure = None if frame.env is home.globals else frame.env
            frame.env[stmt.name.value] = FunctionRef(stmt, frame.chunk, home=home, closure=closure)
        elif isinstance(stmt, cst.ClassDef):
            self.define_class(stmt, frame)
        elif isinstance(stmt, cst.IndentedBlock):
            self.exec_block(stmt, frame)

    def exec_small(self, small: cst.BaseSmallStatement, frame: Frame) -> None:
        """Run one simple statement."""
        if isinstance(small, cst.Assign):
            if (
                frame.env is self.globals
                and len(small.targets) == 1
                and isinstance(small.targets[0].target, cst.Name)
                and isinstance(small.value, cst.Dict | cst.List | cst.Set)
                and len(small.value.elements) > LAZY_LITERAL
            ):
                # Large module-level tables (timm's default_cfgs): evaluated only if used.
                frame.env[small.targets[0].target.value] = LazyLiteral(small.value, frame.chunk)
                return
            value = self.eval(small.value, frame)
            for t in small.targets:
                self.assign(t.target, value, frame)
        elif isinstance(small, cst.AnnAssign):
            if small.value is not None:
                self.assign(small.target, self.eval(small.value, frame), frame)
        elif isinstance(small, cst.AugAssign):
            name = type(small.operator).__name__.removesuffix("Assign")
            op = {
                "Add": "+",
                "Subtract": "-",
                "Multiply": "*",
                "Divide": "/",
                "FloorDivide": "//",
                "Modulo": "%",
                "Power": "**",
                "MatrixMultiply": "@",
            }.get(name)
            left = self.eval(small.target, frame)
            right = self.eval(small.value, frame)
            result = self.binary(op, left, right, small, frame) if op else UNKNOWN
            if isinstance(left, list) and op == "+" and isinstance(right, list | tuple):
                left.extend(right)
                result = left
            self.assign(small.target, result, frame)
        elif isinstance(small, cst.Expr):
            self.eval(small.value, frame)
        elif isinstance(small, cst.Return):
            value = self.eval(small.value, frame) if small.value is not None else None
            raise Return(value)
        elif isinstance(small, cst.Import | cst.ImportFrom):
            _imports(small, self.aliases)
        elif isinstance(small, cst.Assert):
            if truth(self.eval(small.test, frame)) is False:
                raise Unreachable
        elif isinstance(small, cst.Break):
            raise Break
        elif isinstance(small, cst.Continue):
            raise Continue

    def exec_if(self, stmt: cst.If, frame: Frame) -> None:
        """Take the statically known branch, else run both and join the environments."""
        if _is_main_guard(stmt.test):
            self.exec_block(stmt.body, frame)
            return
        cond = truth(self.eval(stmt.test, frame))
        orelse = stmt.orelse
        if cond is True:
            self.exec_block(stmt.body, frame)
            return
        if cond is False:
            if isinstance(orelse, cst.If):
                self.exec_if(orelse, frame)
            elif isinstance(orelse, cst.Else):
                self.exec_block(orelse.body, frame)
            return
        orig = frame.env
        before = dict(orig)
        seqs = _sequences(frame)
        frame.env = dict(before)
        left_a = self._branch(stmt.body, frame)
        env_a = frame.env
        after_a = {k: _state(seq) for k, (seq, _) in seqs.items()}
        for seq, st in seqs.values():
            _restore(seq, st)  # the second arm starts from the state before the `if`
        frame.env = dict(before)
        left_b: str | None = None
        if isinstance(orelse, cst.If):
            left_b = self._branch(orelse, frame)
        elif isinstance(orelse, cst.Else):
            left_b = self._branch(orelse.body, frame)
        env_b = frame.env
        if left_a and left_b:
            joined = env_a if left_b == "return" else env_b if left_a == "return" else None
            joined = joined if joined is not None else join_envs(env_a, env_b)
        elif left_a:
            joined = env_b
        elif left_b:
            joined = env_a
        else:
            joined = join_envs(env_a, env_b)
        orig.clear()
        orig.update(joined)
        frame.env = orig
        _join_sequences(frame, seqs, after_a, (left_a, left_b))
        if left_a and left_b:  # no path goes on after the `if`
            if "continue" in (left_a, left_b):
                raise Continue
            if "break" in (left_a, left_b):
                raise Break
            raise Return(frame.returns.pop())

    def _branch(self, body: cst.BaseSuite | cst.If, frame: Frame) -> str | None:
        """Run one arm of an if (a block, or an `elif`): how it left ("return", "break",
        "continue"; a loop exit is recorded for its loop), None when it fell through."""
        try:
            if isinstance(body, cst.If):
                self.exec_if(body, frame)
            else:
                self.exec_block(body, frame)
        except Return as r:
            frame.returns.append(r.value)
            return "return"
        except LoopExit as e:
            if not self.loop_exits:
                raise
            breaks, skips = self.loop_exits[-1]
            (breaks if isinstance(e, Break) else skips).append(dict(frame.env))
            return "break" if isinstance(e, Break) else "continue"
        return None

    def exec_for(self, stmt: cst.For, frame: Frame) -> None:
        """Unroll loops over known sequences; otherwise run the body once and join."""
        it = self.eval(stmt.iter, frame)
        if isinstance(it, AbstractIterable):  # a DataLoader: one step stands for all
            self.assign(stmt.target, it.iter_item(), frame)
            self.exec_loop_once(stmt.body, frame)
            return
        items = self.iterate(it)
        if items is not None and len(items) <= MAX_UNROLL:
            breaks: list[dict[str, Value]] = []
            self.loop_exits.append((breaks, []))
            try:
                for item in items:
                    self.assign(stmt.target, item, frame)
                    skips = self.loop_exits[-1][1]
                    try:
                        self.exec_block(stmt.body, frame)
                    except Break:
                        break
                    except Continue:
                        pass
                    finally:
                        _join_into(frame, skips)  # a `continue` that may have been taken
                        skips.clear()
            finally:
                self.loop_exits.pop()
            _join_into(frame, breaks)  # a `break` that may have been taken
            return
        self.assign(stmt.target, UNKNOWN, frame)
        self.exec_loop_once(stmt.body, frame)

    def exec_loop_once(self, body: cst.BaseSuite, frame: Frame) -> None:
        """A loop of unknown trip count: values it changes become their join with before, and
        lists or containers it changes have unknown length (one pass is not every pass)."""
        before = dict(frame.env)
        seqs = _sequences(frame)
        exits: tuple[list[dict[str, Value]], list[dict[str, Value]]] = ([], [])
        self.loop_exits.append(exits)
        try:
            with contextlib.suppress(LoopExit):
                self.exec_block(body, frame)
        finally:
            self.loop_exits.pop()
        _join_into(frame, [before, *exits[0], *exits[1]])
        _forget_changed(frame, seqs)

    def iterate(self, v: Value) -> list[Value] | None:
        """The items a for loop would see, when static."""
        if isinstance(v, tuple | list):
            return list(v)
        if isinstance(v, dict):
            return list(v.keys())
        if isinstance(v, Container):
            if v.kind == "ModuleDict":
                return [k for k, _ in v.items]
            return v.values()
        if isinstance(v, ModuleInstance) and v.cls.container is not None:
            if any(isinstance(x, Unknown) for x in v.attrs.values()):
                return None  # an entry not followed may be a module: the items are not known
            children = v.children()  # a Sequential / ModuleList / ModuleDict subclass
            if not children:
                return None  # empty, or filled where the engine could not follow
            if v.cls.container == "ModuleDict":
                return [k for k, _ in children]
            return [c for _, c in children]
        if isinstance(v, Tensor) and v.shape and isinstance(v.shape[0], int):
            n = v.shape[0]
            if n <= MAX_UNROLL:
                return [v.with_shape(v.shape[1:])] * n
        return None

    def assign(self, target: cst.BaseExpression, value: Value, frame: Frame) -> None:
        """Bind a value to a target (names, tuples, self attributes)."""
        if isinstance(target, cst.Name):
            frame.env[target.value] = value
            if frame.record_facts:
                self.rec.tensor_fact(frame.chunk, target, target.value, value)
        elif isinstance(target, cst.Tuple | cst.List):
            elements = target.elements
            items = self.unpack(value, len(elements))
            if items is None:
                for el in elements:
                    self.assign(el.value, UNKNOWN, frame)
                return
            for el, item in zip(elements, items, strict=False):
                self.assign(el.value, item, frame)
        elif isinstance(target, cst.Attribute):
            obj = self.eval(target.value, frame)
            name = target.attr.value
            if isinstance(obj, ModuleInstance):
                if isinstance(value, Container | LayerValue | OpaqueModule | ModuleInstance):
                    sub = f"{obj.path}.{name}" if obj.path else name
                    assign_path(value, sub)
                obj.attrs[name] = value
                if frame.record_facts and isinstance(value, Tensor):
                    self.rec.tensor_fact(frame.chunk, target, source_text(target), value)
            elif isinstance(obj, Container) and is_module(value):
                set_module_item(obj, name, value, by_name=True)  # model.heads.head = ...
            elif isinstance(obj, PyObject):
                obj.attrs[name] = value
        elif isinstance(target, cst.Subscript):
            obj = self.eval(target.value, frame)
            key = self._index_value(target, frame)
            if isinstance(obj, dict) and not isinstance(key, Unknown):
                with contextlib.suppress(TypeError):
                    obj[key] = value
            elif isinstance(obj, list) and not is_module(value):
                if isinstance(key, int) and -len(obj) <= key < len(obj):
                    obj[key] = value  # `outs[i] = y`: the list no longer holds the old item
                elif not isinstance(key, slice):
                    obj[:] = [join_values(v, value) for v in obj]  # any item may be the new one
                elif isinstance(value, list | tuple) and all(
                    p is None or isinstance(p, int) for p in (key.start, key.stop, key.step)
                ):
                    with contextlib.suppress(ValueError):
                        obj[key] = list(value)
                else:  # `outs[a:] = ys` not followed: the list is no longer known
                    self.assign(target.value, UNKNOWN, frame)
            elif isinstance(obj, Container | ModuleInstance) and is_module(value):
                set_module_item(obj, key, value)  # model.classifier[-1] = nn.Linear(...)

    def unpack(self, value: Value, n: int) -> list[Value] | None:
        """Items for tuple assignment (tuples, tensor unbinding by first dim, torch.Size)."""
        if isinstance(value, tuple | list) and len(value) == n:
            return list(value)
        if isinstance(value, ShapeProbe) and self.rec.discovery:
            idx = self.rec.discovery.get(id(value.tensor))
            if idx is not None:
                # two unpackings of another length (`if spatial_dims == 2: b, c, h, w = x.shape`
                # and the 3-D one): the rank depends on configuration, so it is not known (-1)
                seen = self.rec.ranks.get(idx, n)
                self.rec.ranks[idx] = n if seen == n else -1
            return None
        if isinstance(value, Tensor) and value.shape and value.shape[0] == n:
            return [value.with_shape(value.shape[1:])] * n
        return None

    def define_class(self, node: cst.ClassDef, frame: Frame) -> None:
        """Register a class: its bases, methods, and whether it is a model."""
        bases = [self.eval(a.value, frame) for a in node.bases]
        home = frame.home or self
        bases = [(home.external(b.name) or b) if isinstance(b, Qual) else b for b in bases]
        methods = {
            s.name.value: s for s in block_statements(node.body) if isinstance(s, cst.FunctionDef)
        }
        framework = None
        container: str | None = None
        for b in bases:
            if isinstance(b, Qual) and b.name in EXTENSIONS.containers:
                container, framework = EXTENSIONS.containers[b.name]
            elif isinstance(b, ClassRef) and b.info.container:
                framework, container = b.info.framework, b.info.container
            if isinstance(b, Qual) and b.name in EXTENSIONS.module_bases:
                framework = EXTENSIONS.module_bases[b.name]
            elif isinstance(b, Qual) and b.name in EXTENSIONS.data_bases and framework is None:
                framework = "data"
            elif isinstance(b, ClassRef) and b.info.framework:
                framework = b.info.framework
        method_chunks: dict[int, Chunk] = {}
        if (
            frame.chunk.members
            and frame.chunk.module is not None
            and node in frame.chunk.module.body
        ):
            for member in frame.chunk.members:
                if member.module is None:
                    continue
                for st in member.module.body:
                    if isinstance(st, cst.FunctionDef):
                        methods[st.name.value] = st
                        method_chunks[id(st)] = member
        info = ClassInfo(node.name.value, node, frame.chunk, bases, methods, framework)
        info.method_chunks = method_chunks
        info.home = home
        info.container = container
        body = Frame({}, frame.chunk, record_facts=False, home=frame.home)
        for class_stmt in block_statements(node.body):
            if isinstance(class_stmt, cst.SimpleStatementLine):
                for small in class_stmt.body:
                    if isinstance(small, cst.Assign | cst.AnnAssign) and small.value is not None:
                        with contextlib.suppress(Budget, Return, LoopExit):
                            self.exec_small(small, body)
        info.attrs = body.env
        frame.env[node.name.value] = ClassRef(info)
        if frame.env is self.globals:
            self.classes[node.name.value] = info


def _imports(stmt: cst.CSTNode, table: dict[str, str]) -> None:
    if isinstance(stmt, cst.SimpleStatementLine):
        for small in stmt.body:
            collect_aliases(small, table)
    elif isinstance(stmt, cst.Import | cst.ImportFrom):
        collect_aliases(stmt, table)
    elif isinstance(stmt, cst.Try | cst.If):
        for s in block_statements(stmt.body):
            _imports(s, table)


def _is_main_guard(test: cst.BaseExpression) -> bool:
    return (
        isinstance(test, cst.Comparison)
        and isinstance(test.left, cst.Name)
        and test.left.value == "__name__"
    )
