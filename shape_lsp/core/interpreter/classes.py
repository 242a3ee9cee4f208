"""Plain classes and dataclasses: their instances, generated `__init__`s and bases."""

from __future__ import annotations

from collections.abc import Callable

import libcst as cst

from shape_lsp.core.interpreter.objects import ClassInfo, ClassRef, PyObject
from shape_lsp.core.source.syntax import block_statements, source_text
from shape_lsp.core.values.abstract import Qual, Value
from shape_lsp.core.values.shapes import UNKNOWN


def is_data_class(info: ClassInfo) -> bool:
    """A @dataclass or a typing.NamedTuple subclass (fields are the annotated class names)."""
    node = info.node
    for d in node.decorators:
        target = d.decorator.func if isinstance(d.decorator, cst.Call) else d.decorator
        if source_text(target).rsplit(".", 1)[-1] == "dataclass":
            return True
    return any(isinstance(b, Qual) and b.name == "typing.NamedTuple" for b in info.bases)


def data_instance(info: ClassInfo, args: list[Value], kwargs: dict[str, Value]) -> Value:
    """`Config(n_embd=24)` of a dataclass / NamedTuple: fields bound like its __init__
    (fields of data-class bases first, a subclass's defaults overriding)."""
    chain = data_mro(info)
    if not chain or (info.find_method("__init__") is not None and not generated_init(info)):
        return UNKNOWN
    fields: list[str] = []
    for c in chain:
        for f in data_fields(c):
            if f not in fields:
                fields.append(f)
    extra = [k for k in kwargs if k not in fields]
    if len(args) > len(fields) or (extra and not accepts_kwargs(chain)):
        return UNKNOWN
    attrs: dict[str, Value] = {}
    for i, name in enumerate(fields):
        if i < len(args):
            attrs[name] = args[i]
        elif name in kwargs:
            attrs[name] = kwargs[name]
        else:
            try:
                attrs[name] = info.find_attr(name)
            except KeyError:
                return UNKNOWN  # a required field not given: Python raises
    for k in extra:
        attrs[k] = kwargs[k]
    return PyObject(info, attrs)


def generated_init(info: ClassInfo) -> bool:
    """A class decorated @dataclass without an `__init__` of its own: the generated one
    replaces any base class's (transformers' ModelOutput subclasses)."""
    return is_data_class(info) and "__init__" not in info.methods


def data_fields(info: ClassInfo) -> list[str]:
    """The annotated fields of a class body, in order."""
    return [
        s.target.value
        for s in block_statements(info.node.body)
        if isinstance(s, cst.SimpleStatementLine)
        for s in s.body
        if isinstance(s, cst.AnnAssign) and isinstance(s.target, cst.Name)
    ]


def data_mro(info: ClassInfo) -> list[ClassInfo]:
    """`info` and its data-class bases, most basic first (a subclass of a dataclass is read as
    one: libraries such as transformers make every config subclass a dataclass)."""
    chain: list[ClassInfo] = []
    for b in info.bases:
        if isinstance(b, ClassRef):
            for c in data_mro(b.info):
                if c not in chain:
                    chain.append(c)
    if chain or is_data_class(info):
        chain.append(info)
    return chain


def accepts_kwargs(chain: list[ClassInfo]) -> bool:
    """A class decorated `@strict(accept_kwargs=True)` (huggingface_hub) keeps extra keywords."""
    for c in chain:
        for d in c.node.decorators:
            if isinstance(d.decorator, cst.Call) and any(
                a.keyword is not None
                and a.keyword.value == "accept_kwargs"
                and isinstance(a.value, cst.Name)
                and a.value.value == "True"
                for a in d.decorator.args
            ):
                return True
    return False


def all_bases(info: ClassInfo) -> list[Value]:
    """Every base class along the MRO (ClassRefs and library names), `object` left out."""
    out: list[Value] = []
    todo = list(info.bases)
    while todo:
        b = todo.pop()
        if isinstance(b, Qual) and b.name in ("builtins.object", "object"):
            continue
        out.append(b)
        if isinstance(b, ClassRef):
            todo.extend(b.info.bases)
    return out


def data_base(owner: ClassInfo) -> ClassInfo | None:
    """The first base of `owner` that is a dataclass with a generated `__init__`."""
    for b in owner.bases:
        if (
            isinstance(b, ClassRef)
            and is_data_class(b.info)
            and b.info.find_method("__init__") is None
        ):
            return b.info
    return None


def data_init(info: ClassInfo, obj: PyObject) -> Callable[[list[Value], dict[str, Value]], Value]:
    """`super().__init__(...)` into a dataclass base: its generated `__init__` on `obj`."""

    def run(args: list[Value], kwargs: dict[str, Value]) -> Value:
        made = data_instance(info, args, kwargs)
        if isinstance(made, PyObject):
            obj.attrs.update(made.attrs)
        return None

    return run
