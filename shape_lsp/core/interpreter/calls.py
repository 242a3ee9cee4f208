"""Calls: dispatch on the callee (library names, layers, containers, methods, builtins)."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator
from dataclasses import replace

import libcst as cst

from shape_lsp.core.interpreter.callables import NativeCall, Partial, callable_isinstance
from shape_lsp.core.interpreter.evaluate import (
    builtin,
)
from shape_lsp.core.interpreter.expressions import Expressions
from shape_lsp.core.interpreter.extensions import EXTENSIONS
from shape_lsp.core.interpreter.frame import (
    ITERATING_BUILTINS,
    Frame,
)
from shape_lsp.core.interpreter.objects import (
    BoundMethod,
    ClassRef,
    Container,
    FunctionRef,
    ModuleInstance,
    OpaqueModule,
    SuperRef,
    assign_path,
    is_module,
    set_dtype,
)
from shape_lsp.core.rules import FUNCTIONS, LAYERS
from shape_lsp.core.rules.base import (
    Args,
    BindError,
    LayerValue,
    RuleCall,
    ShapeError,
    bind,
    dtype_of,
)
from shape_lsp.core.values import shapes as S
from shape_lsp.core.values.abstract import Qual, Tensor, Value, unknown_tensor
from shape_lsp.core.values.shapes import UNKNOWN, Unknown
from shape_lsp.core.values.symbolic import ROUNDINGS

log = logging.getLogger(__name__)

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
    "collections.abc.Iterable": (list, tuple, dict, str),
    "typing.Iterable": (list, tuple, dict, str),
}


class Calls(Expressions):
    """Calls: dispatch on the callee (library names, layers, containers, methods, builtins)."""

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
        if frame.owner is None and (frame.home or self).inert(func):
            if isinstance(func, Qual) and frame.home in (None, self):
                for hook in EXTENSIONS.unresolved_calls:
                    hook(self, func.name, frame.chunk, node)
            return UNKNOWN  # e.g. timm's default_cfgs: large data handed to unknown functions
        got = self.call_args(node, frame)
        if got is None:
            return self._opaque_call(func)
        args, kwargs = got
        return self.call(func, args, kwargs, node, frame)

    def inert(self, func: Value) -> bool:
        """A call whose arguments cannot matter: an unknown function outside any model."""
        if isinstance(func, Unknown):
            return True
        if not isinstance(func, Qual):
            return False
        name = func.name
        if not EXTENSIONS.is_library(name) and self.external(name) is not None:
            return False
        return not (
            name in LAYERS
            or name in FUNCTIONS
            or name in EXTENSIONS.containers
            or name in EXTENSIONS.calls
            or name.startswith(("builtins.", "collections.", "math.", "numpy."))
            or EXTENSIONS.is_layer_name(name)
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
        if isinstance(func, Partial):
            args, kwargs = [*func.args, *args], {**func.kwargs, **kwargs}
            return self.call(func.func, args, kwargs, node, frame)
        if isinstance(func, NativeCall):
            return func.fn(args, kwargs)
        return UNKNOWN

    def call_qual(
        self, name: str, args: list[Value], kwargs: dict[str, Value], node: cst.Call, frame: Frame
    ) -> Value:
        """A call of a library name: containers, layers, functions, builtins."""
        hook = EXTENSIONS.calls.get(name)
        if hook is not None:
            got = hook(self, args, kwargs, node, frame)
            if got is not NotImplemented:
                return got
        if name in EXTENSIONS.containers:
            kind, framework = EXTENSIONS.containers[name]
            return self.make_container(kind, args, node, frame, framework)
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
                obj = args[0]
                if isinstance(obj, Qual):  # an imported class: what it refers to, if known
                    obj = (frame.home or self).external(obj.name) or obj
                return _isinstance(obj, args[1])
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
        ext = (frame.home or self).external(name)
        if ext is not None and not isinstance(ext, Qual):
            return self.call(ext, args, kwargs, node, frame)
        if EXTENSIONS.is_layer_name(name):
            return OpaqueModule(name, self.rec.span(frame.chunk, node))
        if frame.home is None or frame.home is self:
            for hook in EXTENSIONS.unresolved_calls:
                hook(self, name, frame.chunk, node)
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

    def make_container(
        self, kind: str, args: list[Value], node: cst.Call, frame: Frame, framework: str
    ) -> Value:
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
        span = self.rec.span(frame.chunk, node)
        c = Container(kind, items, "", span, nodes, node, frame.chunk, framework)
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
            failed = unknown_tensor(first.dtype if first else None)
            return self.rec.flow_op(rule.names[0], tensors, failed, frame.chunk, node, e)
        except (ArithmeticError, TypeError, ValueError, IndexError, KeyError) as e:
            log.debug("rule %s failed: %s", rule.names[0], e)
            return UNKNOWN
        self.rec.warnings(rc, node, frame)
        if isinstance(out, Tensor):
            step = f"{self.rec.where(frame.chunk, node)}: {rule.names[0]} → {out.describe()}"
            src = tensors[0].trace if tensors else ()
            out = replace(
                out,
                trace=(*src, step)[-10:],
                assumed=out.assumed or any(t.assumed for t in tensors),
            )
        return self.rec.flow_op(rule.names[0], tensors, out, frame.chunk, node)

    def call_method(
        self,
        m: BoundMethod,
        args: list[Value],
        kwargs: dict[str, Value],
        node: cst.Call,
        frame: Frame,
    ) -> Value:
        """Methods on tensors, lists, containers and modules."""
        for hook in EXTENSIONS.method_hooks:
            got = hook(self, m, args, kwargs, node, frame)
            if got is not NotImplemented:
                return got
        obj, name = m.obj, m.name
        if isinstance(obj, Tensor):
            prefix = EXTENSIONS.array_methods if obj.numpy else EXTENSIONS.tensor_methods
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


def set_module_item(
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
    if obj.framework not in EXTENSIONS.mutable_containers:
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


def _isinstance(obj: Value, kinds: Value) -> Value:
    """isinstance() over plain Python values against builtin types; UNKNOWN otherwise."""
    known = callable_isinstance(obj, kinds)
    if known is not None:
        return known
    names = kinds if isinstance(kinds, tuple) else (kinds,)
    tensor = EXTENSIONS.tensor_methods  # the tensor class's name ("torch.Tensor")

    def is_tensor_class(k: Value) -> bool:
        return isinstance(k, Qual) and bool(tensor) and k.name == tensor

    if any(is_tensor_class(k) for k in names):
        if isinstance(obj, Tensor):
            return not obj.numpy
        plain = isinstance(obj, int | float | str | bool | tuple | list | dict) or obj is None
        rest = tuple(k for k in names if not is_tensor_class(k))
        if plain and not rest:
            return False  # `isinstance(prev_features, Tensor)` on a list
        if plain:
            kinds = rest
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


def _tensors_in(values: list[Value], depth: int = 0) -> Iterator[Tensor]:
    """Tensors among call arguments, including inside lists/tuples (torch.cat([a, b]))."""
    for v in values:
        if isinstance(v, Tensor):
            yield v
        elif isinstance(v, list | tuple) and depth < 2:
            yield from _tensors_in(list(v), depth + 1)
