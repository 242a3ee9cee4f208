"""Expressions: names, attributes, subscripts, operators, comprehensions, f-strings."""

from __future__ import annotations

import builtins
import logging
from dataclasses import dataclass

import libcst as cst

from shape_lsp.core.interpreter.callables import NativeCall
from shape_lsp.core.interpreter.classes import data_base, data_init
from shape_lsp.core.interpreter.evaluate import (
    BINOPS,
    MAX_SEQ,
    binop,
    compare,
    literal,
    truth,
)
from shape_lsp.core.interpreter.extensions import EXTENSIONS
from shape_lsp.core.interpreter.frame import (
    MAX_EXPR_DEPTH,
    Frame,
    join_values,
)
from shape_lsp.core.interpreter.objects import (
    BoundMethod,
    ClassInfo,
    ClassRef,
    Container,
    FunctionRef,
    ModuleInstance,
    Parameter,
    PyObject,
    SuperRef,
    is_module,
)
from shape_lsp.core.interpreter.state import InterpreterState
from shape_lsp.core.rules import FUNCTIONS, LAYERS
from shape_lsp.core.rules.base import (
    LayerValue,
)
from shape_lsp.core.source.names import canonical, star_bases
from shape_lsp.core.source.parse import Chunk
from shape_lsp.core.source.syntax import source_text
from shape_lsp.core.values import shapes as S
from shape_lsp.core.values.abstract import AbstractIterable, Qual, Tensor, Value, unknown_tensor
from shape_lsp.core.values.shapes import UNKNOWN, Unknown

log = logging.getLogger(__name__)

_PY_BUILTINS = frozenset(dir(builtins))


LAZY_LITERAL = 32


HUGE_LITERAL = 256


@dataclass(frozen=True)
class LazyLiteral:
    """A module-level literal table not evaluated until something reads it."""

    node: cst.BaseExpression
    chunk: Chunk


_MISSING = object()


@dataclass(frozen=True, eq=False)
class ShapeProbe:
    """`x.shape` of a placeholder input while discovering what a model expects."""

    tensor: Tensor


_INT_ATTRS = frozenset({"real", "imag", "numerator", "denominator", "bit_length", "item"})


class Expressions(InterpreterState):
    """Expressions: names, attributes, subscripts, operators, comprehensions, f-strings."""

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
        if isinstance(v, LazyLiteral):
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
            if EXTENSIONS.is_library(base):
                if (
                    q in LAYERS
                    or q in FUNCTIONS
                    or q in EXTENSIONS.containers
                    or q in EXTENSIONS.calls
                ):
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
                return FunctionRef(fn, owner.chunk_for(fn), owner, receiver(fn, obj, owner))
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
                    bound = receiver(hit[1], None, obj.info)  # the class for a @classmethod
                    return FunctionRef(hit[1], hit[0].chunk_for(hit[1]), hit[0], bound)
                return UNKNOWN
        if isinstance(obj, SuperRef):
            for base in obj.owner.bases:
                if isinstance(base, ClassRef):
                    hit = base.info.find_method(name)
                    if hit is not None:
                        owner, fn = hit
                        return FunctionRef(
                            fn, owner.chunk_for(fn), owner, receiver(fn, obj.self_obj, owner)
                        )
            if name == "__init__" and obj.owner.container:
                return BoundMethod(obj.self_obj, "__container_init__")
            if name == "__init__" and isinstance(obj.self_obj, PyObject):
                data = data_base(obj.owner)
                if data is not None:
                    return NativeCall(data_init(data, obj.self_obj))
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
                hit = obj.cls.find_method(name)
                if hit is None:
                    return UNKNOWN
                owner, fn = hit
                ref = FunctionRef(fn, owner.chunk_for(fn), owner, receiver(fn, obj, owner))
                if any(source_text(d.decorator) == "property" for d in fn.decorators):
                    return self.call_function(ref, [], {}, frame)
                return ref
        if isinstance(obj, S.Expr) and frame.owner is not None:
            return _field_symbol(obj, name)
        if isinstance(obj, LayerValue):
            if name in obj.args:
                return obj.args[name]
            return BoundMethod(obj, name)
        if isinstance(obj, Container) and obj.framework in EXTENSIONS.mutable_containers:
            hit = dict(obj.items).get(name)
            if hit is not None:  # nn.Sequential(OrderedDict(head=...)).head
                return hit
        if isinstance(obj, Container | list | dict | str):
            return BoundMethod(obj, name)
        if isinstance(obj, tuple) and name in ("count", "index"):
            return UNKNOWN
        return UNKNOWN

    def tensor_attribute(self, t: Tensor, name: str, node: cst.CSTNode, frame: Frame) -> Value:
        """Attributes of a tensor: shape, ndim, dtype, T; methods come back bound."""
        if name == "shape":
            if t.shape is None and self.rec.discovery and id(t) in self.rec.discovery:
                return ShapeProbe(t)  # `b, n, c = x.shape` tells the input's rank
            return tuple(t.shape) if t.shape is not None else UNKNOWN
        if name == "ndim":
            return len(t.shape) if t.shape is not None else UNKNOWN
        if name == "dtype":
            return Qual(f"{EXTENSIONS.dtype_namespace}.{t.dtype}") if t.dtype else UNKNOWN
        if name in ("T", "mT", "H"):
            rule = FUNCTIONS.get(f"{EXTENSIONS.tensor_methods}.{name}")
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
            rule = FUNCTIONS.get(f"{EXTENSIONS.tensor_methods}.__getitem__")
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
                    return Container(
                        obj.kind, obj.items[key], obj.path, obj.span, framework=obj.framework
                    )
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
            rule = FUNCTIONS.get(EXTENSIONS.operators.get(op, ""))
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


def receiver(fn: cst.FunctionDef, obj: Value, owner: ClassInfo) -> Value:
    """What a method binds its first parameter to: the instance, the class
    (@classmethod) or nothing (@staticmethod)."""
    for d in fn.decorators:
        name = source_text(d.decorator).rsplit(".", 1)[-1]
        if name == "staticmethod":
            return None
        if name == "classmethod":
            return ClassRef(owner)
    return obj
