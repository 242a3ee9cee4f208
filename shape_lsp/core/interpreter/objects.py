"""Module-level values: user classes and their instances, containers, opaque layers, paths and
parameter counts."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import libcst as cst

from shape_lsp.core.rules.base import Args, LayerValue
from shape_lsp.core.values import shapes as S
from shape_lsp.core.values.abstract import Tensor, Value
from shape_lsp.core.values.shapes import Dim

if TYPE_CHECKING:
    from shape_lsp.core.results import Span
    from shape_lsp.core.source.parse import Chunk


@dataclass(eq=False)
class ClassInfo:
    """A class defined in the analysed file."""

    name: str
    node: cst.ClassDef
    chunk: Chunk
    bases: list[Value]
    methods: dict[str, cst.FunctionDef]
    framework: str | None  # "torch" / "keras" for model classes, None otherwise
    attrs: dict[str, Value] = field(default_factory=dict)  # class-level constants
    method_chunks: dict[int, Chunk] = field(default_factory=dict)  # id(method) -> its piece
    home: object = None  # the Interpreter of the defining file
    container: str | None = None  # "Sequential" etc. for subclasses of torch's containers

    def chunk_for(self, fn: cst.FunctionDef) -> Chunk:
        """The chunk a method's nodes live in (its own piece when the class was split)."""
        return self.method_chunks.get(id(fn), self.chunk)

    def find_attr(self, name: str) -> Value:
        """A class attribute along the local bases; KeyError when absent."""
        if name in self.attrs:
            return self.attrs[name]
        for base in self.bases:
            if isinstance(base, ClassRef):
                try:
                    return base.info.find_attr(name)
                except KeyError:
                    continue
        raise KeyError(name)

    def find_method(self, name: str) -> tuple[ClassInfo, cst.FunctionDef] | None:
        """Look `name` up along the local base classes (left to right, depth first)."""
        if name in self.methods:
            return self, self.methods[name]
        for base in self.bases:
            if isinstance(base, ClassRef):
                hit = base.info.find_method(name)
                if hit is not None:
                    return hit
        return None


@dataclass(frozen=True, eq=False)
class ClassRef:
    """A reference to a local class (calling it instantiates it)."""

    info: ClassInfo


@dataclass(frozen=True, eq=False)
class FunctionRef:
    """A local function or a method bound to `self_obj`."""

    node: cst.FunctionDef
    chunk: Chunk
    owner: ClassInfo | None = None
    self_obj: Value = None
    home: object = None  # the Interpreter of the file that defines it (names resolve there)
    closure: dict[str, Value] | None = None  # the enclosing function's locals (a nested def)


@dataclass(frozen=True, eq=False)
class BoundMethod:
    """A method looked up on a value that has no class of ours (tensor, list, container)."""

    obj: Value
    name: str


@dataclass(frozen=True, eq=False)
class SuperRef:
    """`super()` inside a method of `owner` on `self_obj`."""

    owner: ClassInfo
    self_obj: Value


@dataclass(eq=False)
class ModuleInstance:
    """An instance of a local nn.Module / keras.Model subclass."""

    cls: ClassInfo
    attrs: dict[str, Value] = field(default_factory=dict)
    path: str = ""
    span: Span | None = None
    dtype: str = "float32"
    ctor_text: str | None = None

    def children(self) -> list[tuple[str, Value]]:
        """Registered sub-modules, in assignment order."""
        return [(k, v) for k, v in self.attrs.items() if is_module(v)]


@dataclass(eq=False)
class Container:
    """nn.Sequential / nn.ModuleList / nn.ModuleDict / keras.Sequential."""

    kind: str
    items: list[tuple[str, Value]]
    path: str = ""
    span: Span | None = None
    item_nodes: list[cst.CSTNode | None] = field(default_factory=list)
    node: cst.CSTNode | None = None
    chunk: Chunk | None = None
    framework: str = ""  # who registered the container kind (extensions.register_container)

    def values(self) -> list[Value]:
        """The contained modules."""
        return [v for _, v in self.items]


@dataclass(eq=False)
class OpaqueModule:
    """A library layer the engine does not know: shapes stop after it."""

    name: str
    span: Span | None
    path: str = ""
    params: Dim | None = None


@dataclass(frozen=True, eq=False)
class Parameter:
    """`nn.Parameter(tensor)` stored on a module."""

    tensor: Tensor


@dataclass(eq=False)
class PyObject:
    """An instance of a plain data class (dataclass / NamedTuple): its fields' values."""

    cls: ClassInfo
    attrs: dict[str, Value] = field(default_factory=dict)


def is_module(v: Value) -> bool:
    """Whether a value is something torch registers as a sub-module."""
    return isinstance(v, LayerValue | ModuleInstance | Container | OpaqueModule)


def assign_path(v: Value, path: str) -> None:
    """Give `v` and its descendants the dotted paths torch's named_modules() would use."""
    seen: set[int] = set()

    def visit(x: Value, p: str) -> None:
        if id(x) in seen:
            return
        seen.add(id(x))
        if isinstance(x, LayerValue | OpaqueModule):
            x.path = p
        elif isinstance(x, Container):
            x.path = p
            for key, item in x.items:
                visit(item, f"{p}.{key}" if p else key)
        elif isinstance(x, ModuleInstance):
            x.path = p
            for key, item in x.children():
                visit(item, f"{p}.{key}" if p else key)

    visit(v, path)


def param_count(v: Value, seen: set[int] | None = None) -> Dim | None:
    """Static parameter count (shared modules counted once); None when not known."""
    seen = set() if seen is None else seen
    if id(v) in seen:
        return 0
    seen.add(id(v))
    if isinstance(v, LayerValue):
        if v.rule.params is None:
            return 0 if not v.rule.has_weights else None
        return v.rule.params(Args(v.args))
    if isinstance(v, OpaqueModule):
        return v.params
    if isinstance(v, Parameter):
        n = S.numel(v.tensor.shape) if v.tensor.shape is not None else S.UNKNOWN
        return n if S.is_known(n) else None
    parts: list[Value] = []
    if isinstance(v, Container):
        parts = v.values()
    elif isinstance(v, ModuleInstance):
        parts = [x for x in v.attrs.values() if is_module(x) or isinstance(x, Parameter)]
    total: Dim = 0
    for p in parts:
        count = param_count(p, seen)
        if count is None:
            return None
        total = S.add(total, count)
    return total


def type_name(v: Value) -> str:
    """Class name for tables: Conv2d, Sequential, Net."""
    if isinstance(v, LayerValue):
        return v.type_name
    if isinstance(v, ModuleInstance):
        return v.cls.name
    if isinstance(v, Container):
        return v.kind
    if isinstance(v, OpaqueModule):
        return v.name.rsplit(".", 1)[-1]
    return type(v).__name__


def set_dtype(v: Value, dtype: str) -> None:
    """model.double() / .half() / .to(dtype): every layer's parameters change dtype."""
    if isinstance(v, LayerValue):
        v.dtype = dtype
    elif isinstance(v, Container):
        for item in v.values():
            set_dtype(item, dtype)
    elif isinstance(v, ModuleInstance):
        v.dtype = dtype
        for _, item in v.children():
            set_dtype(item, dtype)
