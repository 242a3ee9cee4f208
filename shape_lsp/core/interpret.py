"""Abstract interpretation: follow values through module code, __init__ and forward.

The interpreter walks libcst trees statement by statement with an environment of abstract
values (values.py, modules.py). Library calls dispatch to the declarative rules; a rule's
ShapeError becomes a finding at the call site and the result goes unknown, so one bug never
cascades into others. Nothing is executed.
"""

from __future__ import annotations

import builtins
import contextlib
import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace

import libcst as cst

from shape_lsp.core import shapes as S
from shape_lsp.core.config import Settings
from shape_lsp.core.evaluate import BINOPS, MAX_SEQ, binop, builtin, compare, literal, truth
from shape_lsp.core.modules import (
    BoundMethod,
    ClassInfo,
    ClassRef,
    Container,
    FunctionRef,
    ModuleInstance,
    OpaqueModule,
    Parameter,
    PyObject,
    SuperRef,
    assign_path,
    is_module,
    set_dtype,
)
from shape_lsp.core.names import canonical, collect_aliases, star_bases
from shape_lsp.core.parse import Chunk, ParsedFile
from shape_lsp.core.recorder import Recorder
from shape_lsp.core.rules import FUNCTIONS, LAYERS
from shape_lsp.core.rules.base import Args, BindError, RuleCall, ShapeError, bind, dtype_of
from shape_lsp.core.shapes import UNKNOWN, Unknown
from shape_lsp.core.symbolic import ROUNDINGS
from shape_lsp.core.types import AnalysisResult
from shape_lsp.core.values import (
    AbstractIterable,
    LayerValue,
    Qual,
    Tensor,
    Value,
    dtype_assumed,
    unknown_tensor,
)
from shape_lsp.core.workspace import Workspace

log = logging.getLogger(__name__)

MAX_DEPTH = 24
MAX_EXPR_DEPTH = 150  # deeper expressions (valid Python) are unknown, not a RecursionError
MAX_STEPS = 200_000
MAX_UNROLL = 64

TORCH_MODULE_BASES = {"torch.nn.Module"}
KERAS_MODEL_BASES = {"keras.Model", "keras.layers.Layer"}
CONTAINERS = {
    "torch.nn.Sequential": "Sequential",
    "torch.nn.ModuleList": "ModuleList",
    "torch.nn.ModuleDict": "ModuleDict",
}
_TENSOR_BINOPS = {
    "+": "torch.add",
    "-": "torch.sub",
    "*": "torch.mul",
    "/": "torch.div",
    "//": "torch.floor_divide",
    "**": "torch.pow",
    "@": "torch.matmul",
    "%": "torch.remainder",
}


ITERATING_BUILTINS = frozenset(
    {
        "zip",
        "enumerate",
        "reversed",
        "len",
        "list",
        "tuple",
        "sorted",
        "sum",
        "min",
        "max",
        "any",
        "all",
    }
)

CallHook = Callable[["Interpreter", list[Value], dict[str, Value], cst.Call, "Frame"], Value]
MethodHook = Callable[
    ["Interpreter", BoundMethod, list[Value], dict[str, Value], cst.Call, "Frame"], Value
]

SPECIAL_CALLS: dict[str, CallHook] = {}
"""Framework-specific calls by canonical name (e.g. keras.Input, keras.Model), tried first."""

METHOD_HOOKS: list[MethodHook] = []
"""Method-call hooks tried in order before the built-in ones; return NotImplemented to pass."""

ClassHook = Callable[
    ["Interpreter", ClassRef, list[Value], dict[str, Value], "cst.Call | None", "Frame"], Value
]
DATA_CLASS_BASES: set[str] = set()
"""Library base classes (torch.utils.data.Dataset) whose user subclasses are framework "data"."""
DATA_CLASS_HOOK: list[ClassHook | None] = [None]
"""Instantiates a "data" class (data_support); None: such classes stay unknown."""


_LIBRARIES = (
    "torch.",
    "keras.",
    "numpy.",
    "tensorflow.",
    "builtins.",
    "math.",
    "typing.",
    "collections.",
    "functools.",
    "os.",
    "sys.",
    "jaxtyping.",
    "einops.",
)
_PY_BUILTINS = frozenset(dir(builtins))
LAZY_LITERAL = 32
HUGE_LITERAL = 256


@dataclass(frozen=True)
class _Lazy:
    """A module-level literal table not evaluated until something reads it."""

    node: cst.BaseExpression
    chunk: Chunk


_MISSING = object()


@dataclass(frozen=True, eq=False)
class _ShapeProbe:
    """`x.shape` of a placeholder input while discovering what a model expects."""

    tensor: Tensor


class Budget(Exception):
    """The analysis ran out of steps or depth: the rest is unknown."""


class _Return(Exception):
    def __init__(self, value: Value) -> None:
        self.value = value


class _LoopExit(Exception):
    pass


class _Break(_LoopExit):
    pass


class _Continue(_LoopExit):
    pass


@dataclass
class Frame:
    """A function activation (or the module scope)."""

    env: dict[str, Value]
    chunk: Chunk
    self_obj: Value = None
    owner: ClassInfo | None = None
    returns: list[Value] = field(default_factory=list)
    record_facts: bool = True
    home: Interpreter | None = None  # whose module names this code sees (None: this file)


def _set_module_item(
    obj: Container | ModuleInstance, key: Value, value: Value, by_name: bool = False
) -> None:
    """`seq[i] = m`, `mdict[k] = m`, `seq.name = m`: replace (or add) a container's child."""
    if isinstance(obj, ModuleInstance):
        names = [k for k, v in obj.attrs.items() if is_module(v)]
        if (
            obj.cls.container in ("Sequential", "ModuleList")
            and isinstance(key, int)
            and -len(names) <= key < len(names)
        ):
            name = names[key]
            obj.attrs[name] = value
            assign_path(value, f"{obj.path}.{name}" if obj.path else name)
        return
    if obj.framework != "torch":
        return
    keys = [k for k, _ in obj.items]
    if isinstance(key, str) and (by_name or obj.kind == "ModuleDict"):
        name = key
    elif (
        isinstance(key, int)
        and not isinstance(key, bool)
        and obj.kind != "ModuleDict"
        and -len(keys) <= key < len(keys)
    ):
        name = keys[key]
    else:
        return
    node = (
        value.node
        if isinstance(value, LayerValue) and isinstance(value.node, cst.CSTNode)
        else None
    )
    if name in keys:
        i = keys.index(name)
        obj.items[i] = (name, value)
        if i < len(obj.item_nodes):
            obj.item_nodes[i] = node
    else:
        obj.items.append((name, value))
        obj.item_nodes.append(node)
    assign_path(obj, obj.path)


class Interpreter:
    """Interprets one file; results accumulate in `rec`."""

    def __init__(
        self,
        parsed: ParsedFile,
        path: str,
        settings: Settings,
        workspace: Workspace | None = None,
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
        self.rec = Recorder(self, settings)
        self.steps = 0
        self.depth = 0
        self.eval_depth = 0
        self.touched: dict[int, Chunk] | None = None  # chunks whose code ran (models' cache)
        # per loop being run (innermost last): environments where a `break` / `continue`
        # under a condition the engine cannot decide may leave it
        self.loop_exits: list[tuple[list[dict[str, Value]], list[dict[str, Value]]]] = []

    # ------------------------------------------------------------------ driver

    def run(self) -> AnalysisResult:
        """Module pass (imports, constants, classes, example calls), then every model."""
        self.module_pass()
        from shape_lsp.core.models import analyze_models

        analyze_models(self)
        return self.rec.result(self.path)

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
        if self.workspace is None or name.startswith(_LIBRARIES):
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
        except (Budget, _Return, _LoopExit):
            pass
        except RecursionError:
            self.rec.internal(f"recursion too deep near line {self._line(chunk, node)}")
        except Exception as e:  # one bad statement must not stop the others
            log.debug("internal error", exc_info=True)
            self.rec.internal(
                f"{type(e).__name__}: {e} (line {self._line(chunk, node)})", chunk, node
            )

    def _line(self, chunk: Chunk, node: cst.CSTNode) -> int:
        span = self.rec.span(chunk, node)
        return span.start_line + 1 if span else chunk.start_line + 1

    def tick(self) -> None:
        """Count a step; stop runaway analyses."""
        self.steps += 1
        if self.steps > MAX_STEPS:
            raise Budget

    # ------------------------------------------------------------------ statements

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
            frame.env[stmt.name.value] = FunctionRef(stmt, frame.chunk, home=frame.home or self)
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
                frame.env[small.targets[0].target.value] = _Lazy(small.value, frame.chunk)
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
            raise _Return(value)
        elif isinstance(small, cst.Import | cst.ImportFrom):
            _imports(small, self.aliases)
        elif isinstance(small, cst.Break):
            raise _Break
        elif isinstance(small, cst.Continue):
            raise _Continue

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
                raise _Continue
            if "break" in (left_a, left_b):
                raise _Break
            raise _Return(frame.returns.pop())

    def _branch(self, body: cst.BaseSuite | cst.If, frame: Frame) -> str | None:
        """Run one arm of an if (a block, or an `elif`): how it left ("return", "break",
        "continue"; a loop exit is recorded for its loop), None when it fell through."""
        try:
            if isinstance(body, cst.If):
                self.exec_if(body, frame)
            else:
                self.exec_block(body, frame)
        except _Return as r:
            frame.returns.append(r.value)
            return "return"
        except _LoopExit as e:
            if not self.loop_exits:
                raise
            breaks, skips = self.loop_exits[-1]
            (breaks if isinstance(e, _Break) else skips).append(dict(frame.env))
            return "break" if isinstance(e, _Break) else "continue"
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
                    except _Break:
                        break
                    except _Continue:
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
            with contextlib.suppress(_LoopExit):
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
                    self.rec.tensor_fact(frame.chunk, target, _src(target), value)
            elif isinstance(obj, Container) and is_module(value):
                _set_module_item(obj, name, value, by_name=True)  # model.heads.head = ...
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
                _set_module_item(obj, key, value)  # model.classifier[-1] = nn.Linear(...)

    def unpack(self, value: Value, n: int) -> list[Value] | None:
        """Items for tuple assignment (tuples, tensor unbinding by first dim, torch.Size)."""
        if isinstance(value, tuple | list) and len(value) == n:
            return list(value)
        if isinstance(value, _ShapeProbe) and self.rec.discovery:
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
            s.name.value: s for s in _block_statements(node.body) if isinstance(s, cst.FunctionDef)
        }
        framework = None
        container: str | None = None
        for b in bases:
            if isinstance(b, Qual) and b.name in CONTAINERS:
                framework, container = "torch", CONTAINERS[b.name]
            elif isinstance(b, ClassRef) and b.info.container:
                framework, container = "torch", b.info.container
            if isinstance(b, Qual) and b.name in TORCH_MODULE_BASES:
                framework = "torch"
            elif isinstance(b, Qual) and b.name in KERAS_MODEL_BASES:
                framework = "keras"
            elif isinstance(b, Qual) and b.name in DATA_CLASS_BASES and framework is None:
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
        for class_stmt in _block_statements(node.body):
            if isinstance(class_stmt, cst.SimpleStatementLine):
                for small in class_stmt.body:
                    if isinstance(small, cst.Assign | cst.AnnAssign) and small.value is not None:
                        with contextlib.suppress(Budget, _Return, _LoopExit):
                            self.exec_small(small, body)
        info.attrs = body.env
        frame.env[node.name.value] = ClassRef(info)
        if frame.env is self.globals:
            self.classes[node.name.value] = info

    # ------------------------------------------------------------------ expressions

    def eval(self, node: cst.BaseExpression | None, frame: Frame) -> Value:
        """The abstract value of an expression (UNKNOWN past a sane nesting depth)."""
        if node is None:
            return None
        self.tick()
        if self.eval_depth > MAX_EXPR_DEPTH:
            return UNKNOWN
        self.eval_depth += 1
        try:
            return self._eval(node, frame)
        finally:
            self.eval_depth -= 1

    def _eval(self, node: cst.BaseExpression, frame: Frame) -> Value:
        if isinstance(node, cst.Name):
            return self.lookup(node.value, frame)
        if isinstance(node, cst.Attribute):
            return self.attribute(self.eval(node.value, frame), node.attr.value, node, frame)
        if isinstance(node, cst.Call):
            return self.call_node(node, frame)
        if isinstance(node, cst.Integer | cst.Float | cst.SimpleString | cst.ConcatenatedString):
            return literal(node)
        if isinstance(node, cst.Ellipsis):
            return Ellipsis
        if isinstance(node, cst.Tuple | cst.List):
            items = self.eval_elements(node.elements, frame)
            if items is None:
                return UNKNOWN
            return tuple(items) if isinstance(node, cst.Tuple) else items
        if isinstance(node, cst.Dict):
            out: dict[Value, Value] = {}
            for el in node.elements:
                if not isinstance(el, cst.DictElement):
                    return UNKNOWN
                k = self.eval(el.key, frame)
                if isinstance(k, Unknown | Tensor):
                    return UNKNOWN
                try:
                    out[k] = self.eval(el.value, frame)
                except TypeError:
                    return UNKNOWN
            return out
        if isinstance(node, cst.BinaryOperation):
            op = BINOPS.get(type(node.operator))
            left = self.eval(node.left, frame)
            right = self.eval(node.right, frame)
            return self.binary(op, left, right, node, frame) if op else UNKNOWN
        if isinstance(node, cst.UnaryOperation):
            v = self.eval(node.expression, frame)
            if isinstance(node.operator, cst.Minus):
                if isinstance(v, int | float | S.Expr) and not isinstance(v, bool):
                    return -v if not isinstance(v, S.Expr) else S.neg(v)
                return v if isinstance(v, Tensor) else UNKNOWN
            if isinstance(node.operator, cst.Plus):
                return v
            if isinstance(node.operator, cst.Not):
                t = truth(v)
                return UNKNOWN if t is None else not t
            return v if isinstance(v, Tensor) else UNKNOWN
        if isinstance(node, cst.Comparison):
            left = self.eval(node.left, frame)
            result: Value = True
            for ct in node.comparisons:
                right = self.eval(ct.comparator, frame)
                r = compare(ct.operator, left, right)
                if r is False:
                    return False
                if isinstance(r, Unknown):
                    result = UNKNOWN
                left = right
            return result
        if isinstance(node, cst.BooleanOperation):
            left = self.eval(node.left, frame)
            t = truth(left)
            if isinstance(node.operator, cst.And):
                if t is False:
                    return left
                right = self.eval(node.right, frame)
                return right if t is True else UNKNOWN
            if t is True:
                return left
            right = self.eval(node.right, frame)
            return right if t is False else join_values(left, right)
        if isinstance(node, cst.IfExp):
            t = truth(self.eval(node.test, frame))
            if t is True:
                return self.eval(node.body, frame)
            if t is False:
                return self.eval(node.orelse, frame)
            return join_values(self.eval(node.body, frame), self.eval(node.orelse, frame))
        if isinstance(node, cst.Subscript):
            return self.subscript(node, frame)
        if isinstance(node, cst.ListComp | cst.GeneratorExp | cst.SetComp | cst.DictComp):
            return self.comprehension(node, frame)
        if isinstance(node, cst.FormattedString):
            return self.fstring(node, frame)
        if isinstance(node, cst.NamedExpr):
            v = self.eval(node.value, frame)
            self.assign(node.target, v, frame)
            return v
        return UNKNOWN

    def fstring(self, node: cst.FormattedString, frame: Frame) -> Value:
        """f"layer{i}" with static parts; UNKNOWN when any part is not a plain value."""
        out: list[str] = []
        for part in node.parts:
            if isinstance(part, cst.FormattedStringText):
                out.append(part.value)
                continue
            assert isinstance(part, cst.FormattedStringExpression)
            v = self.eval(part.expression, frame)
            if not isinstance(v, int | float | str) or part.conversion is not None:
                return UNKNOWN
            spec = ""
            if part.format_spec is not None:
                for p in part.format_spec:
                    if not isinstance(p, cst.FormattedStringText):
                        return UNKNOWN
                    spec += p.value
            try:
                out.append(format(v, spec))
            except (ValueError, TypeError):
                return UNKNOWN
        text = "".join(out)
        return text if "{" not in text and "\\" not in text else UNKNOWN

    def eval_elements(self, elements: object, frame: Frame) -> list[Value] | None:
        """Tuple/list/call elements with `*starred` expansion; None when a star is not static."""
        out: list[Value] = []
        for el in elements:  # type: ignore[attr-defined]
            if isinstance(el, cst.StarredElement):
                v = self.eval(el.value, frame)
                items = self.iterate(v)
                if items is None:
                    return None
                out.extend(items)
            else:
                out.append(self.eval(el.value, frame))
        return out

    def lookup(self, name: str, frame: Frame) -> Value:
        """Local, then module-level, then import alias, then builtin."""
        home = frame.home or self
        if name in frame.env:
            v = frame.env[name]
        elif name in home.globals:
            v = home.globals[name]
        else:
            v = _MISSING
        if isinstance(v, _Lazy):
            huge = len(getattr(v.node, "elements", ())) > HUGE_LITERAL  # data, not config
            v = home.globals[name] = (
                UNKNOWN
                if huge
                else self.eval(
                    v.node, Frame(home.globals, v.chunk, record_facts=False, home=frame.home)
                )
            )
        if v is not _MISSING:
            return v
        if name in ("True", "False", "None"):
            return {"True": True, "False": False, "None": None}[name]
        if home is not self:
            if name in home.aliases:
                q = home.aliases[name]
                return home.external(q) or Qual(q)
            return home.star_name(name) or Qual(f"builtins.{name}")
        if name in self.aliases:
            return Qual(self.aliases[name])
        return self.star_name(name) or Qual(f"builtins.{name}")

    def star_name(self, name: str) -> Value | None:
        """`name` as a `from m import *` brings it in: honours m's `__all__`, skips `_names`
        without one; library modules give their known layers and functions."""
        if name in _PY_BUILTINS:
            return None
        for base in reversed(star_bases(self.aliases)):
            sep = "" if base.endswith(".") else "."
            q = canonical(f"{base}{sep}{name}")
            if base.startswith(_LIBRARIES):
                if q in LAYERS or q in FUNCTIONS or q in CONTAINERS or q in SPECIAL_CALLS:
                    return Qual(q)
                continue
            exported = self.external(f"{base}{sep}__all__")
            if isinstance(exported, list | tuple):
                if name not in exported:
                    continue
            elif name.startswith("_"):
                continue
            v = self.external(q)
            if v is not None:
                return v
        return None

    def attribute(self, obj: Value, name: str, node: cst.CSTNode, frame: Frame) -> Value:
        """`obj.name`."""
        if isinstance(obj, Qual):
            if obj.name.startswith("builtins."):
                return UNKNOWN
            return Qual(canonical(f"{obj.name}.{name}"))
        if isinstance(obj, ModuleInstance):
            if name in obj.attrs:
                v = obj.attrs[name]
                return v.tensor if isinstance(v, Parameter) else v
            hit = obj.cls.find_method(name)
            if hit is not None:
                owner, fn = hit
                return FunctionRef(fn, owner.chunk_for(fn), owner, _receiver(fn, obj, owner))
            try:
                return obj.cls.find_attr(name)
            except KeyError:
                return BoundMethod(obj, name)
        if isinstance(obj, ClassRef):
            try:
                return obj.info.find_attr(name)
            except KeyError:
                hit = obj.info.find_method(name)
                if hit is not None:
                    return FunctionRef(hit[1], hit[0].chunk_for(hit[1]), hit[0])
                return UNKNOWN
        if isinstance(obj, SuperRef):
            for base in obj.owner.bases:
                if isinstance(base, ClassRef):
                    hit = base.info.find_method(name)
                    if hit is not None:
                        owner, fn = hit
                        return FunctionRef(
                            fn, owner.chunk_for(fn), owner, _receiver(fn, obj.self_obj, owner)
                        )
            if name == "__init__" and obj.owner.container:
                return BoundMethod(obj.self_obj, "__container_init__")
            if name == "forward" and obj.owner.container == "Sequential":
                return BoundMethod(obj.self_obj, "__sequential_forward__")
            return BoundMethod(None, name)
        if isinstance(obj, Tensor):
            return self.tensor_attribute(obj, name, node, frame)
        if isinstance(obj, PyObject):
            if name in obj.attrs:
                return obj.attrs[name]
            try:
                return obj.cls.find_attr(name)
            except KeyError:
                return UNKNOWN
        if isinstance(obj, S.Expr) and frame.owner is not None:
            return _field_symbol(obj, name)
        if isinstance(obj, LayerValue):
            if name in obj.args:
                return obj.args[name]
            return BoundMethod(obj, name)
        if isinstance(obj, Container) and obj.framework == "torch":
            hit = dict(obj.items).get(name)
            if hit is not None:  # nn.Sequential(OrderedDict(head=...)).head
                return hit
        if isinstance(obj, Container | list | dict):
            return BoundMethod(obj, name)
        if isinstance(obj, tuple) and name in ("count", "index"):
            return UNKNOWN
        return UNKNOWN

    def tensor_attribute(self, t: Tensor, name: str, node: cst.CSTNode, frame: Frame) -> Value:
        """Attributes of a tensor: shape, ndim, dtype, T; methods come back bound."""
        if name == "shape":
            if t.shape is None and self.rec.discovery and id(t) in self.rec.discovery:
                return _ShapeProbe(t)  # `b, n, c = x.shape` tells the input's rank
            return tuple(t.shape) if t.shape is not None else UNKNOWN
        if name == "ndim":
            return len(t.shape) if t.shape is not None else UNKNOWN
        if name == "dtype":
            return Qual(f"torch.{t.dtype}") if t.dtype else UNKNOWN
        if name in ("T", "mT", "H"):
            rule = FUNCTIONS.get(f"torch.Tensor.{name}")
            if rule is not None:
                return self.apply_function(rule, [t], {}, node, frame)
            return UNKNOWN
        if name in ("device", "is_cuda", "requires_grad", "grad", "data"):
            return t if name == "data" else UNKNOWN
        return BoundMethod(t, name)

    def subscript(self, node: cst.Subscript, frame: Frame) -> Value:
        """Indexing: tuples/lists/dicts/containers statically, tensors through a rule."""
        obj = self.eval(node.value, frame)
        if isinstance(obj, Tensor):
            idx = [self._slice_value(el.slice, frame) for el in node.slice]
            rule = FUNCTIONS.get("torch.Tensor.__getitem__")
            if rule is None:
                return unknown_tensor(obj.dtype)
            return self.apply_function(rule, [obj, tuple(idx)], {}, node, frame)
        if isinstance(obj, AbstractIterable):
            return obj.get_item(self._index_value(node, frame))
        if isinstance(obj, Qual) and len(node.slice) >= 1:
            return UNKNOWN  # typing subscripts (Float[Tensor, "..."]) and the like
        key = self._index_value(node, frame)
        if isinstance(key, Unknown):
            return UNKNOWN
        try:
            if isinstance(obj, tuple | list):
                if isinstance(key, slice):
                    return type(obj)(obj[key])
                if isinstance(key, int):
                    return obj[key]
            if isinstance(obj, dict):
                return obj.get(key, UNKNOWN)
            if isinstance(obj, Container):
                if obj.kind == "ModuleDict":
                    return dict(obj.items).get(key, UNKNOWN)
                if isinstance(key, int):
                    return obj.items[key][1]
                if isinstance(key, slice):
                    return Container(obj.kind, obj.items[key], obj.path, obj.span)
            if (
                isinstance(obj, ModuleInstance)
                and isinstance(key, int)
                and obj.cls.container in ("Sequential", "ModuleList")
            ):
                return [v for v in obj.attrs.values() if is_module(v)][key]
        except (IndexError, TypeError, ValueError):
            return UNKNOWN
        return UNKNOWN

    def _index_value(self, node: cst.Subscript, frame: Frame) -> Value:
        if len(node.slice) != 1:
            return UNKNOWN
        return self._slice_value(node.slice[0].slice, frame)

    def _slice_value(self, sl: cst.BaseSlice, frame: Frame) -> Value:
        if isinstance(sl, cst.Index):
            return self.eval(sl.value, frame)
        if isinstance(sl, cst.Slice):
            parts = [
                self.eval(p, frame) if p is not None else None
                for p in (sl.lower, sl.upper, sl.step)
            ]
            if all(p is None or isinstance(p, int) for p in parts):
                return slice(*parts)
            return slice(
                *(p if p is None or isinstance(p, int | S.Expr) else UNKNOWN for p in parts)
            )
        return UNKNOWN

    def comprehension(
        self, node: cst.ListComp | cst.GeneratorExp | cst.SetComp | cst.DictComp, frame: Frame
    ) -> Value:
        """[expr for target in static_iterable if cond ...] and {k: v for ...}, nested fors too."""
        inner = Frame(
            dict(frame.env),
            frame.chunk,
            frame.self_obj,
            frame.owner,
            record_facts=False,
            home=frame.home,
        )
        out: list[Value] = []
        keys: list[Value] = []
        budget = [MAX_SEQ]

        def run(comp: cst.CompFor) -> bool:
            items = self.iterate(self.eval(comp.iter, inner))
            if items is None or len(items) > budget[0]:
                return False
            for item in items:
                self.assign(comp.target, item, inner)
                keep = True
                for cond in comp.ifs:
                    t = truth(self.eval(cond.test, inner))
                    if t is None:
                        return False
                    keep = keep and t
                if not keep:
                    continue
                if comp.inner_for_in is not None:
                    if not run(comp.inner_for_in):
                        return False
                    continue
                budget[0] -= 1
                if budget[0] < 0:
                    return False
                if isinstance(node, cst.DictComp):
                    keys.append(self.eval(node.key, inner))
                    out.append(self.eval(node.value, inner))
                else:
                    out.append(self.eval(node.elt, inner))
            return True

        if not run(node.for_in):
            return UNKNOWN
        if isinstance(node, cst.DictComp):
            if not all(isinstance(k, str | int | bool) for k in keys):
                return UNKNOWN  # unknown keys could collide or differ
            try:
                return dict(zip(keys, out, strict=True))
            except TypeError:  # an unhashable key
                return UNKNOWN
        return out

    def binary(self, op: str | None, a: Value, b: Value, node: cst.CSTNode, frame: Frame) -> Value:
        """Arithmetic: tensors through the elementwise/matmul rules, the rest statically."""
        if op is None:
            return UNKNOWN
        if isinstance(a, Tensor) or isinstance(b, Tensor):
            rule = FUNCTIONS.get(_TENSOR_BINOPS.get(op, ""))
            if rule is None:
                return self._fallback_broadcast(a, b)
            return self.apply_function(rule, [a, b], {}, node, frame)
        return binop(op, a, b)

    @staticmethod
    def _fallback_broadcast(a: Value, b: Value) -> Value:
        ta = a if isinstance(a, Tensor) else None
        tb = b if isinstance(b, Tensor) else None
        if ta is not None and tb is not None:
            if ta.shape is None or tb.shape is None:
                return unknown_tensor(ta.dtype)
            out, _ = S.broadcast(ta.shape, tb.shape)
            return Tensor(out, ta.dtype)
        t = ta or tb
        assert t is not None
        return t

    # ------------------------------------------------------------------ calls

    def call_args(
        self, node: cst.Call, frame: Frame
    ) -> tuple[list[Value], dict[str, Value]] | None:
        """Positional and keyword argument values; None when a star-arg is not static."""
        args: list[Value] = []
        kwargs: dict[str, Value] = {}
        for a in node.args:
            v = self.eval(a.value, frame)
            if a.star == "*":
                items = self.iterate(v)
                if items is None:
                    return None
                args.extend(items)
            elif a.star == "**":
                if not isinstance(v, dict) or not all(isinstance(k, str) for k in v):
                    return None
                kwargs.update(v)
            elif a.keyword is not None:
                kwargs[a.keyword.value] = v
            else:
                args.append(v)
        return args, kwargs

    def call_node(self, node: cst.Call, frame: Frame) -> Value:
        """Evaluate a call expression."""
        func = self.eval(node.func, frame)
        if frame.owner is None and (frame.home or self)._inert(func):
            return UNKNOWN  # e.g. timm's default_cfgs: large data handed to unknown functions
        got = self.call_args(node, frame)
        if got is None:
            return self._opaque_call(func)
        args, kwargs = got
        return self.call(func, args, kwargs, node, frame)

    def _inert(self, func: Value) -> bool:
        """A call whose arguments cannot matter: an unknown function outside any model."""
        if isinstance(func, Unknown):
            return True
        if not isinstance(func, Qual):
            return False
        name = func.name
        if not name.startswith(_LIBRARIES) and self.external(name) is not None:
            return False
        return not (
            name in LAYERS
            or name in FUNCTIONS
            or name in CONTAINERS
            or name in SPECIAL_CALLS
            or name.startswith(("builtins.", "collections.", "math.", "numpy."))
            or name == "torch.nn.Parameter"
            or _is_layer_namespace(name)
        )

    def _opaque_call(self, func: Value) -> Value:
        if isinstance(func, Qual) and func.name in LAYERS:
            return OpaqueModule(func.name, None)
        return UNKNOWN

    def call(
        self, func: Value, args: list[Value], kwargs: dict[str, Value], node: cst.Call, frame: Frame
    ) -> Value:
        """Dispatch a call on any callable value."""
        if isinstance(func, Qual):
            return self.call_qual(func.name, args, kwargs, node, frame)
        if isinstance(func, LayerValue | Container | ModuleInstance | OpaqueModule):
            return self.rec.module_call(func, args, kwargs, node, frame)
        if isinstance(func, ClassRef):
            return self.instantiate(func.info, args, kwargs, node, frame)
        if isinstance(func, FunctionRef):
            return self.call_function(func, args, kwargs, frame)
        if isinstance(func, BoundMethod):
            return self.call_method(func, args, kwargs, node, frame)
        if isinstance(func, SuperRef):
            return UNKNOWN
        return UNKNOWN

    def call_qual(
        self, name: str, args: list[Value], kwargs: dict[str, Value], node: cst.Call, frame: Frame
    ) -> Value:
        """A call of a library name: containers, layers, functions, builtins."""
        hook = SPECIAL_CALLS.get(name)
        if hook is not None:
            return hook(self, args, kwargs, node, frame)
        if name in CONTAINERS:
            return self.make_container(CONTAINERS[name], args, node, frame)
        if name == "torch.nn.Parameter" and args and isinstance(args[0], Tensor):
            return Parameter(args[0])
        rule = LAYERS.get(name)
        if rule is not None:
            return self.construct_layer(name, args, kwargs, node, frame)
        frule = FUNCTIONS.get(name)
        if frule is not None:
            return self.apply_function(frule, args, kwargs, node, frame)
        if name.startswith("builtins."):
            short = name[len("builtins.") :]
            if short == "super":
                if frame.owner is not None:
                    return SuperRef(frame.owner, frame.self_obj)
                return UNKNOWN
            if short in ("getattr", "setattr", "hasattr"):
                return self.attr_builtin(short, args, node, frame)
            if short in ("print", "delattr"):
                return None
            if short == "isinstance" and len(args) == 2:
                return _isinstance(args[0], args[1])
            if short in ("isinstance", "eval", "exec"):
                return UNKNOWN
            if short in {"OrderedDict", "dict"}:
                return self._make_dict(args, kwargs)
            if short in ITERATING_BUILTINS:
                return self.iterating_builtin(short, args, kwargs)
            return builtin(short, args)
        if name in ("collections.OrderedDict",):
            return self._make_dict(args, kwargs)
        if name in ("math.prod", "numpy.prod", "math.sqrt") or name in ROUNDINGS:
            return builtin(name, args)
        if _is_layer_namespace(name):
            return OpaqueModule(name, self.rec.span(frame.chunk, node))
        ext = (frame.home or self).external(name)
        if ext is not None and not isinstance(ext, Qual):
            return self.call(ext, args, kwargs, node, frame)
        return UNKNOWN

    def iterating_builtin(self, name: str, args: list[Value], kwargs: dict[str, Value]) -> Value:
        """zip / enumerate / reversed / len / list / ... over containers and sequences."""
        seqs: list[Value] = []
        for a in args:
            if isinstance(a, Container | ModuleInstance):
                items = self.iterate(a)
                if items is None:
                    return UNKNOWN
                seqs.append(tuple(items))
            else:
                seqs.append(a)
        if name == "enumerate":
            start = kwargs.get("start", seqs[1] if len(seqs) == 2 else 0)
            if not seqs or not isinstance(seqs[0], tuple | list) or not isinstance(start, int):
                return UNKNOWN
            return tuple((start + i, v) for i, v in enumerate(seqs[0]))
        if kwargs and name != "zip":
            return UNKNOWN
        return builtin(name, seqs)

    def attr_builtin(self, name: str, args: list[Value], node: cst.Call, frame: Frame) -> Value:
        """getattr / setattr / hasattr with a static (constant or f-string) name."""
        if len(args) < 2 or not isinstance(args[1], str):
            return None if name == "setattr" else UNKNOWN
        obj, attr = args[0], args[1]
        if name == "setattr":
            if isinstance(obj, ModuleInstance) and len(args) == 3:
                value = args[2]
                if is_module(value):
                    assign_path(value, f"{obj.path}.{attr}" if obj.path else attr)
                obj.attrs[attr] = value
            return None
        known = isinstance(obj, ModuleInstance) and (
            attr in obj.attrs or obj.cls.find_method(attr) is not None
        )
        if name == "hasattr":
            return True if known else UNKNOWN
        if len(args) == 3 and not known:
            return UNKNOWN  # the default may or may not be used: not guessed
        got = self.attribute(obj, attr, node, frame)
        return UNKNOWN if isinstance(got, BoundMethod) and got.obj is None else got

    @staticmethod
    def _make_dict(args: list[Value], kwargs: dict[str, Value]) -> Value:
        out: dict[Value, Value] = {}
        if args:
            src = args[0]
            if isinstance(src, dict):
                out.update(src)
            elif isinstance(src, list | tuple):
                for pair in src:
                    if not isinstance(pair, tuple) or len(pair) != 2:
                        return UNKNOWN
                    try:
                        out[pair[0]] = pair[1]
                    except TypeError:  # an unhashable key: Python raises too
                        return UNKNOWN
            else:
                return UNKNOWN
        out.update(kwargs)
        return out

    def make_container(self, kind: str, args: list[Value], node: cst.Call, frame: Frame) -> Value:
        """nn.Sequential(*layers) / nn.Sequential(OrderedDict) / ModuleList([...]) / ModuleDict."""
        items: list[tuple[str, Value]] = []
        nodes: list[cst.CSTNode | None] = []
        arg_nodes = [a.value for a in node.args if not a.star]
        if kind == "Sequential" and len(args) == 1 and isinstance(args[0], dict):
            items = [(str(k), v) for k, v in args[0].items()]
            nodes = [None] * len(items)
        elif kind == "Sequential":
            items = [(str(i), v) for i, v in enumerate(args)]
            starred = any(a.star for a in node.args)
            nodes = [None] * len(items) if starred else list(arg_nodes)
        elif kind == "ModuleList":
            seq = args[0] if args else []
            if not isinstance(seq, list | tuple):
                return UNKNOWN
            items = [(str(i), v) for i, v in enumerate(seq)]
            el_nodes: list[cst.CSTNode | None] = [None] * len(items)
            if args and isinstance(arg_nodes[0], cst.List | cst.Tuple):
                el_nodes = [e.value for e in arg_nodes[0].elements]
            nodes = el_nodes if len(el_nodes) == len(items) else [None] * len(items)
        elif kind == "ModuleDict":
            src = args[0] if args else {}
            if isinstance(src, list | tuple):
                src = self._make_dict([src], {})
            if not isinstance(src, dict):
                return UNKNOWN
            items = [(str(k), v) for k, v in src.items()]
            nodes = [None] * len(items)
        if not all(is_module(v) or isinstance(v, Unknown) for _, v in items):
            items = [(k, v if is_module(v) else OpaqueModule("?", None)) for k, v in items]
        for i, (_, v) in enumerate(items):
            if nodes[i] is None and isinstance(v, LayerValue) and v.node is not None:
                nodes[i] = v.node
        c = Container(kind, items, "", self.rec.span(frame.chunk, node), nodes, node, frame.chunk)
        assign_path(c, "")
        return c

    def construct_layer(
        self, name: str, args: list[Value], kwargs: dict[str, Value], node: cst.Call, frame: Frame
    ) -> Value:
        """Bind constructor arguments; constructor-time checks become findings."""
        rule = LAYERS[name]
        try:
            bound = bind(rule.signature, args, kwargs)
        except BindError:
            return OpaqueModule(name, self.rec.span(frame.chunk, node))
        dtype = dtype_of(bound.get("dtype")) or "float32"
        layer = LayerValue(
            rule, bound, self.rec.span(frame.chunk, node), "", dtype, node, frame.chunk
        )
        if rule.validate is not None:
            try:
                rule.validate(Args(bound))
            except ShapeError as e:
                self.rec.constructor_error(layer, e)
        return layer

    def apply_function(
        self,
        rule: object,
        args: list[Value],
        kwargs: dict[str, Value],
        node: cst.CSTNode,
        frame: Frame,
    ) -> Value:
        """Apply a function rule; its ShapeError becomes a finding at this call."""
        from shape_lsp.core.rules.base import FunctionRule

        assert isinstance(rule, FunctionRule)
        try:
            bound = bind(rule.signature, args, kwargs)
        except BindError:
            return UNKNOWN
        rc = RuleCall(Args(bound), layer_name=rule.names[0])
        tensors = list(_tensors_in([*args, *kwargs.values()]))
        try:
            out = rule.apply(rc)
        except ShapeError as e:
            self.rec.function_error(rule.names[0], e, rc, tensors, node, frame)
            first = tensors[0] if tensors else None
            return unknown_tensor(first.dtype if first else None)
        except (ArithmeticError, TypeError, ValueError, IndexError, KeyError) as e:
            log.debug("rule %s failed: %s", rule.names[0], e)
            return UNKNOWN
        self.rec.warnings(rc, node, frame)
        if isinstance(out, Tensor):
            step = f"line {self._line(frame.chunk, node)}: {rule.names[0]} → {out.describe()}"
            src = tensors[0].trace if tensors else ()
            out = replace(
                out,
                trace=(*src, step)[-10:],
                assumed=out.assumed or any(t.assumed for t in tensors),
            )
        return out

    def call_method(
        self,
        m: BoundMethod,
        args: list[Value],
        kwargs: dict[str, Value],
        node: cst.Call,
        frame: Frame,
    ) -> Value:
        """Methods on tensors, lists, containers and modules."""
        for hook in METHOD_HOOKS:
            got = hook(self, m, args, kwargs, node, frame)
            if got is not NotImplemented:
                return got
        obj, name = m.obj, m.name
        if isinstance(obj, Tensor):
            prefix = "numpy.ndarray" if obj.numpy else "torch.Tensor"
            rule = FUNCTIONS.get(f"{prefix}.{name}")
            if rule is None:
                return UNKNOWN
            return self.apply_function(rule, [obj, *args], kwargs, node, frame)
        if isinstance(obj, list):
            if name == "append" and len(args) == 1:
                obj.append(args[0])
                return None
            if name == "extend" and len(args) == 1 and isinstance(args[0], list | tuple):
                obj.extend(args[0])
                return None
            if name == "insert" and len(args) == 2 and isinstance(args[0], int):
                obj.insert(args[0], args[1])
                return None
            if name == "pop" and all(isinstance(a, int) for a in args) and len(args) <= 1:
                with contextlib.suppress(IndexError):
                    return obj.pop(*args)
                return UNKNOWN
            if name in ("clear", "reverse") and not args:
                getattr(obj, name)()
                return None
            if name == "copy" and not args:
                return list(obj)
            if name in ("index", "count"):
                return UNKNOWN
            # remove, sort, an extend or insert not followed: the list is no longer known
            if isinstance(node.func, cst.Attribute):
                self.assign(node.func.value, UNKNOWN, frame)
            return UNKNOWN
        if isinstance(obj, dict):
            if name in ("keys", "values", "items"):
                return tuple(getattr(obj, name)())
            if name == "get" and args:
                try:
                    return obj.get(args[0], args[1] if len(args) > 1 else None)
                except TypeError:
                    return UNKNOWN
            return UNKNOWN
        if isinstance(obj, Container):
            if name in ("append", "add_module") and args:
                v = args[-1]
                key = str(args[0]) if name == "add_module" else str(len(obj.items))
                obj.items.append((key, v))
                obj.item_nodes.append(v.node if isinstance(v, LayerValue) else None)
                assign_path(obj, obj.path)
                return obj if name == "append" else None
            if name == "extend" and args and isinstance(args[0], list | tuple):
                for v in args[0]:
                    obj.items.append((str(len(obj.items)), v))
                    obj.item_nodes.append(v.node if isinstance(v, LayerValue) else None)
                assign_path(obj, obj.path)
                return obj
            if name in ("keys", "values", "items") and obj.kind == "ModuleDict":
                d = dict(obj.items)
                return tuple(getattr(d, name)())
            if name in ("forward", "__call__"):
                return self.rec.module_call(obj, args, kwargs, node, frame)
            if name in ("double", "half", "float", "to", "cuda", "cpu", "eval", "train"):
                return self._module_conversion(obj, name, args, kwargs)
            return UNKNOWN
        if isinstance(obj, ModuleInstance) and name == "__container_init__":
            return self._container_init(obj, args)
        if isinstance(obj, ModuleInstance) and name == "__sequential_forward__" and args:
            return self.rec.run_children(obj, args[0], frame, node)
        if isinstance(obj, ModuleInstance | LayerValue):
            if name in (
                "double",
                "half",
                "float",
                "to",
                "cuda",
                "cpu",
                "eval",
                "train",
                "requires_grad_",
            ):
                return self._module_conversion(obj, name, args, kwargs)
            if name in ("forward", "__call__"):
                return self.rec.module_call(obj, args, kwargs, node, frame)
            if (
                name in ("keys", "values", "items")
                and isinstance(obj, ModuleInstance)
                and obj.cls.container == "ModuleDict"
            ):  # a ModuleDict subclass's own items
                d = {k: v for k, v in obj.attrs.items() if is_module(v)}
                return tuple(getattr(d, name)())
            if name == "add_module" and len(args) == 2 and isinstance(obj, ModuleInstance):
                key = str(args[0])
                obj.attrs[key] = args[1]
                assign_path(args[1], f"{obj.path}.{key}" if obj.path else key)
                return None
            if name == "register_buffer" and isinstance(obj, ModuleInstance) and len(args) >= 2:
                obj.attrs[str(args[0])] = args[1]
                return None
            return UNKNOWN
        return UNKNOWN

    @staticmethod
    def _container_init(obj: ModuleInstance, args: list[Value]) -> Value:
        """super().__init__(*modules) of an nn.Sequential / ModuleList subclass."""
        items: list[tuple[str, Value]] = []
        if len(args) == 1 and isinstance(args[0], dict):
            items = [(str(k), v) for k, v in args[0].items()]
        elif obj.cls.container == "ModuleList" and args and isinstance(args[0], list | tuple):
            items = [(str(i), v) for i, v in enumerate(args[0])]
        else:
            items = [(str(i), v) for i, v in enumerate(args)]
        for key, v in items:
            obj.attrs[key] = v
            assign_path(v, f"{obj.path}.{key}" if obj.path else key)
        return None

    @staticmethod
    def _module_conversion(
        obj: Value, name: str, args: list[Value], kwargs: dict[str, Value]
    ) -> Value:
        target = {"double": "float64", "half": "float16", "float": "float32"}.get(name)
        if name == "to":
            for a in [*args, *kwargs.values()]:
                target = dtype_of(a) or target
        if target is not None:
            set_dtype(obj, target)
        return obj

    def call_function(
        self,
        fn: FunctionRef,
        args: list[Value],
        kwargs: dict[str, Value],
        frame: Frame,
        record_facts: bool | None = None,
        symbolic_missing: bool = False,
    ) -> Value:
        """Interpret a local function or method body with bound parameters."""
        if self.depth >= MAX_DEPTH:
            raise Budget
        if self.touched is not None:
            self.touched[id(fn.chunk)] = fn.chunk
        env = self.bind_params(fn, args, kwargs, frame, symbolic_missing)
        home = _home_of(fn)
        new = Frame(
            env,
            fn.chunk,
            fn.self_obj,
            fn.owner,
            record_facts=frame.record_facts if record_facts is None else record_facts,
            home=None if home is None or home is self else home,
        )
        self.depth += 1
        try:
            self.exec_block(fn.node.body, new)
        except _Return as r:
            new.returns.append(r.value)
        except _LoopExit:
            pass
        finally:
            self.depth -= 1
        if not new.returns:
            return None
        out = new.returns[0]
        for ret in new.returns[1:]:
            out = join_values(out, ret)
        return out

    def bind_params(
        self,
        fn: FunctionRef,
        args: list[Value],
        kwargs: dict[str, Value],
        frame: Frame,
        symbolic_missing: bool = False,
    ) -> dict[str, Value]:
        """Parameter name -> value (missing ones: default, else UNKNOWN, or a symbol named
        after the parameter when a model is analysed on its own)."""
        missing: Value = UNKNOWN
        params = fn.node.params
        env: dict[str, Value] = {}
        positional = [*params.posonly_params, *params.params]
        pos = list(args)
        if fn.self_obj is not None and positional:
            env[positional[0].name.value] = fn.self_obj
            positional = positional[1:]
        home = _home_of(fn) or self
        def_frame = Frame(
            home.globals, fn.chunk, record_facts=False, home=None if home is self else home
        )
        for p in positional:
            pname = p.name.value
            if pos:
                env[pname] = pos.pop(0)
            elif pname in kwargs:
                env[pname] = kwargs.pop(pname)
            elif p.default is not None:
                env[pname] = self.eval(p.default, def_frame)
            else:
                env[pname] = S.sym(pname) if symbolic_missing else missing
        if isinstance(params.star_arg, cst.Param):
            env[params.star_arg.name.value] = tuple(pos)
        for p in params.kwonly_params:
            pname = p.name.value
            if pname in kwargs:
                env[pname] = kwargs.pop(pname)
            elif p.default is not None:
                env[pname] = self.eval(p.default, def_frame)
            else:
                env[pname] = S.sym(pname) if symbolic_missing else missing
        if params.star_kwarg is not None:
            env[params.star_kwarg.name.value] = dict(kwargs)
        return env

    def instantiate(
        self,
        info: ClassInfo,
        args: list[Value],
        kwargs: dict[str, Value],
        node: cst.Call | None,
        frame: Frame | None,
        symbolic_missing: bool = False,
    ) -> Value:
        """Run a local class's __init__ on a fresh instance."""
        if info.framework == "data" and DATA_CLASS_HOOK[0] is not None and frame is not None:
            return DATA_CLASS_HOOK[0](self, ClassRef(info), args, kwargs, node, frame)
        if info.framework is None:
            return _data_instance(info, args, kwargs)
        if info.framework not in ("torch", "keras"):
            return UNKNOWN
        span = self.rec.span(frame.chunk, node) if frame is not None and node is not None else None
        inst = ModuleInstance(info, span=span)
        if self.touched is not None:
            self.touched[id(info.chunk)] = info.chunk
        if node is not None and frame is not None and frame.env is self.globals:
            inst.ctor_text = _src(node)
        hit = info.find_method("__init__")
        if hit is not None:
            owner, fn = hit
            caller = frame or Frame(self.globals, info.chunk)
            if info.home is not None and info.home is not self:
                caller = Frame(caller.env, caller.chunk, record_facts=False, home=info.home)  # type: ignore[arg-type]
            with contextlib.suppress(Budget):
                self.call_function(
                    FunctionRef(fn, owner.chunk_for(fn), owner, inst),
                    args,
                    kwargs,
                    caller,
                    record_facts=False,
                    symbolic_missing=symbolic_missing,
                )
        assign_path(inst, "")
        return inst


# ---------------------------------------------------------------------- helpers


_PY_TYPES: dict[str, tuple[type, ...]] = {
    "builtins.list": (list,),
    "builtins.tuple": (tuple,),
    "builtins.int": (int,),
    "builtins.float": (float,),
    "builtins.str": (str,),
    "builtins.bool": (bool,),
    "builtins.dict": (dict,),
    "typing.Sequence": (list, tuple),
    "typing.List": (list,),
    "typing.Tuple": (tuple,),
    "collections.abc.Sequence": (list, tuple),
}


def _isinstance(obj: Value, kinds: Value) -> Value:
    """isinstance() over plain Python values against builtin types; UNKNOWN otherwise."""
    if isinstance(obj, Unknown | S.Expr | Tensor) or obj is Ellipsis:
        return UNKNOWN
    if not isinstance(obj, int | float | str | bool | tuple | list | dict) and obj is not None:
        return UNKNOWN
    names = kinds if isinstance(kinds, tuple) else (kinds,)
    types: list[type] = []
    for k in names:
        if not isinstance(k, Qual) or k.name not in _PY_TYPES:
            return UNKNOWN
        types.extend(_PY_TYPES[k.name])
    return isinstance(obj, tuple(types))


def _receiver(fn: cst.FunctionDef, obj: Value, owner: ClassInfo) -> Value:
    """What a method binds its first parameter to: the instance, the class
    (@classmethod) or nothing (@staticmethod)."""
    for d in fn.decorators:
        name = _src(d.decorator).rsplit(".", 1)[-1]
        if name == "staticmethod":
            return None
        if name == "classmethod":
            return ClassRef(owner)
    return obj


def _is_data_class(info: ClassInfo) -> bool:
    """A @dataclass or a typing.NamedTuple subclass (fields are the annotated class names)."""
    node = info.node
    for d in node.decorators:
        target = d.decorator.func if isinstance(d.decorator, cst.Call) else d.decorator
        if _src(target).rsplit(".", 1)[-1] == "dataclass":
            return True
    return any(isinstance(b, Qual) and b.name == "typing.NamedTuple" for b in info.bases)


def _data_instance(info: ClassInfo, args: list[Value], kwargs: dict[str, Value]) -> Value:
    """`Config(n_embd=24)` of a dataclass / NamedTuple: fields bound like its __init__."""
    if not _is_data_class(info) or info.find_method("__init__") is not None:
        return UNKNOWN
    fields = [
        s.target.value
        for s in _block_statements(info.node.body)
        if isinstance(s, cst.SimpleStatementLine)
        for s in s.body
        if isinstance(s, cst.AnnAssign) and isinstance(s.target, cst.Name)
    ]
    if len(args) > len(fields) or any(k not in fields for k in kwargs):
        return UNKNOWN
    attrs: dict[str, Value] = {}
    for i, name in enumerate(fields):
        if i < len(args):
            attrs[name] = args[i]
        elif name in kwargs:
            attrs[name] = kwargs[name]
        elif name in info.attrs:
            attrs[name] = info.attrs[name]
        else:
            return UNKNOWN  # a required field not given: Python raises
    return PyObject(info, attrs)


_INT_ATTRS = frozenset({"real", "imag", "numerator", "denominator", "bit_length", "item"})


def _field_symbol(obj: S.Expr, name: str) -> Value:
    """`config.n_embd` of a parameter analysed without a value (the symbol `config`): the
    field is a size of its own, named `config.n_embd`; anything else stays unknown."""
    if len(obj.terms) != 1 or name.startswith("_") or name in _INT_ATTRS:
        return UNKNOWN
    ((mono, coef),) = obj.terms
    if coef != 1 or len(mono) != 1 or not isinstance(mono[0], str):
        return UNKNOWN
    base = mono[0]
    if not all(part.isidentifier() for part in base.split(".")) or base.count(".") > 3:
        return UNKNOWN
    return S.sym(f"{base}.{name}")


def _tensors_in(values: list[Value], depth: int = 0) -> Iterator[Tensor]:
    """Tensors among call arguments, including inside lists/tuples (torch.cat([a, b]))."""
    for v in values:
        if isinstance(v, Tensor):
            yield v
        elif isinstance(v, list | tuple) and depth < 2:
            yield from _tensors_in(list(v), depth + 1)


def _home_of(fn: FunctionRef) -> Interpreter | None:
    """The interpreter whose module namespace a function's body sees."""
    home = fn.owner.home if fn.owner is not None else fn.home
    return home if isinstance(home, Interpreter) else None


def join_values(a: Value, b: Value) -> Value:
    """What is known on both paths."""
    if a is b:
        return a
    if isinstance(a, Tensor) and isinstance(b, Tensor):
        return Tensor(
            S.join_shapes(a.shape, b.shape),
            (b.dtype if dtype_assumed(b) else a.dtype) if a.dtype == b.dtype else None,
            a.numpy and b.numpy,
            a.trace,
            a.assumed or b.assumed,  # a guessed rank on either path stays a guess
        )
    if isinstance(a, tuple) and isinstance(b, tuple) and len(a) == len(b):
        return tuple(join_values(x, y) for x, y in zip(a, b, strict=True))
    try:
        if type(a) is type(b) and isinstance(a, int | float | str | bool | S.Expr) and a == b:
            return a
    except TypeError:
        pass
    if a is None and b is None:
        return None
    return UNKNOWN


_Seq = list[Value] | Container
_State = tuple[list[Value], list[Value]]  # items (and a container's item nodes)
_Snapshot = dict[int, tuple[_Seq, _State]]


def _state(seq: _Seq) -> _State:
    if isinstance(seq, Container):
        return list(seq.items), list(seq.item_nodes)
    return list(seq), []


def _restore(seq: _Seq, st: _State) -> None:
    if isinstance(seq, Container):
        seq.items[:] = st[0]
        seq.item_nodes[:] = st[1]
    else:
        seq[:] = st[0]


def _same(a: _State, b: _State) -> bool:
    return len(a[0]) == len(b[0]) and all(x is y for x, y in zip(a[0], b[0], strict=True))


def _sequences(frame: Frame) -> _Snapshot:
    """The lists and containers a loop body or a branch may change: bound to names, in
    tuples bound to names, or attributes of `self`; with a copy of their items."""
    roots = list(frame.env.values())
    if isinstance(frame.self_obj, ModuleInstance):
        roots += frame.self_obj.attrs.values()
    out: _Snapshot = {}
    for v in roots:
        for seq in (v, *v) if isinstance(v, tuple) else (v,):
            if isinstance(seq, list | Container):
                out[id(seq)] = (seq, _state(seq))
    return out


def _forget_changed(frame: Frame, before: _Snapshot) -> None:
    """After one pass of a loop of unknown trip count: what it changed is not known. A list
    it only appended to keeps its items (each is checked where it is used) and gets an unknown
    one at the end, so that what it is concatenated or run into is unknown."""
    lost: list[_Seq] = []
    for seq, st in before.values():
        now = _state(seq)
        if _same(now, st):
            continue
        grew = len(now[0]) > len(st[0]) and _same((now[0][: len(st[0])], []), st)
        if isinstance(seq, list) and grew:
            seq.append(UNKNOWN)
        else:
            lost.append(seq)
    _forget(frame, lost)


def _join_sequences(
    frame: Frame, before: _Snapshot, after_a: dict[int, _State], left: tuple[str | None, ...]
) -> None:
    """After both arms of an unknown `if` (the second ran on the state restored from before):
    a list or container keeps what both arms agree on; items of equal-length lists are
    joined; one appended to on only one path is not known. An arm that returned does not go
    on; one that left its loop goes on at the loop's end, where the state is not known."""
    lost: list[_Seq] = []
    for k, (seq, _) in before.items():
        a, b = after_a[k], _state(seq)
        if left[0] == "return" or _same(a, b):
            continue  # only the second arm goes on, or both agree
        if left[1] == "return":
            _restore(seq, a)
        elif not any(left) and isinstance(seq, list) and len(a[0]) == len(b[0]):
            seq[:] = [join_values(x, y) for x, y in zip(a[0], b[0], strict=True)]
        elif not any(left) and _optional_layers(a, b):
            # `if norm_layer is not None: layers.append(norm_layer(c))` with the condition
            # unknown: the layers stay in (kept guess: optional layers rarely change shapes)
            _restore(seq, a if len(a[0]) > len(b[0]) else b)
        else:
            lost.append(seq)
    _forget(frame, lost)


def _optional_layers(a: _State, b: _State) -> bool:
    """One state is the other plus modules (or values not known) appended at its end."""
    short, long = (a, b) if len(a[0]) < len(b[0]) else (b, a)
    n = len(short[0])
    return (
        len(long[0]) > n
        and _same((long[0][:n], []), short)
        and all(is_module(v) or isinstance(v, Unknown) for v in long[0][n:])
    )


def _forget(frame: Frame, seqs: list[_Seq]) -> None:
    """These lists have unknown length (names and `self` attributes bound to them become
    UNKNOWN); these containers get an unknown entry (running or iterating them past their
    known entries is unknown)."""
    if not seqs:
        return
    ids = {id(s) for s in seqs}
    attrs = frame.self_obj.attrs if isinstance(frame.self_obj, ModuleInstance) else {}
    for table in (frame.env, attrs):
        for name, v in list(table.items()):
            if isinstance(v, list) and id(v) in ids:
                table[name] = UNKNOWN
    for seq in seqs:
        if isinstance(seq, Container) and seq.kind in ("Sequential", "ModuleList"):
            seq.items.append((str(len(seq.items)), UNKNOWN))
            seq.item_nodes.append(None)


def _join_into(frame: Frame, envs: list[dict[str, Value]]) -> None:
    """The frame's environment joined, in place, with each of `envs`."""
    for env in envs:
        joined = join_envs(frame.env, env)
        frame.env.clear()
        frame.env.update(joined)


def join_envs(a: dict[str, Value], b: dict[str, Value]) -> dict[str, Value]:
    """Join two environments key by key (a name bound on one path only becomes UNKNOWN)."""
    out: dict[str, Value] = {}
    for k in a.keys() | b.keys():
        if k in a and k in b:
            out[k] = join_values(a[k], b[k])
        else:
            out[k] = UNKNOWN
    return out


def _imports(stmt: cst.CSTNode, table: dict[str, str]) -> None:
    if isinstance(stmt, cst.SimpleStatementLine):
        for small in stmt.body:
            collect_aliases(small, table)
    elif isinstance(stmt, cst.Import | cst.ImportFrom):
        collect_aliases(stmt, table)
    elif isinstance(stmt, cst.Try | cst.If):
        for s in _block_statements(stmt.body):
            _imports(s, table)


def _block_statements(body: cst.BaseSuite) -> Iterator[cst.CSTNode]:
    if isinstance(body, (cst.IndentedBlock, cst.SimpleStatementSuite)):
        yield from body.body


def _is_main_guard(test: cst.BaseExpression) -> bool:
    return (
        isinstance(test, cst.Comparison)
        and isinstance(test.left, cst.Name)
        and test.left.value == "__name__"
    )


def _is_layer_namespace(name: str) -> bool:
    head, _, tail = name.rpartition(".")
    return (
        head in ("torch.nn", "keras.layers", "timm.layers", "torchvision.ops")
        and tail[:1].isupper()
    )


_CODE_MODULE = cst.Module(body=[])


def _src(node: cst.CSTNode) -> str:
    """Source text of a node."""
    return _CODE_MODULE.code_for_node(node)


def run_file(
    parsed: ParsedFile, path: str, settings: Settings, workspace: Workspace | None = None
) -> AnalysisResult:
    """Interpret every model in the file."""
    return Interpreter(parsed, path, settings, workspace).run()


from shape_lsp.core import data_support, keras_support  # noqa: E402, F401 - register hooks
