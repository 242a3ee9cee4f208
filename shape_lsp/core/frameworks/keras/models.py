"""Keras 3 models for the interpreter: Input, Sequential / .add, the functional Model, naming.

Registered through the interpreter's extension interface (`EXTENSIONS`); nothing here imports
Keras.

- Every Keras layer construction gets the name Keras 3 would give it in a fresh session
  ("conv2d", "conv2d_1", ...), per file, in execution order; `name=` wins.
- `keras.Input(shape=...)` is a tensor (B, *shape). Layer calls on tensors are observed, so
  `keras.Model(inputs, outputs)` walks back from the outputs to the inputs and becomes a
  `FunctionalModel` (a Container of the layers it uses) that replays the recorded calls on new
  inputs: findings land on the user's own layer-call lines, shared layers are applied twice.
- A Sequential whose first layer declares `input_shape=` (or starts with an Input) is built at
  construction, like Keras: its layers learn their input sizes then.
- `model.fit(x, y)`, `evaluate`, `predict`, `model(x)`: see training.py.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import libcst as cst

from shape_lsp.core.interpreter.extensions import CallHook
from shape_lsp.core.interpreter.module_calls import UNKNOWN_TENSOR, ModuleCalls, Site
from shape_lsp.core.interpreter.objects import (
    Container,
    ModuleInstance,
    assign_path,
)
from shape_lsp.core.results import Fix, Span, TextEdit
from shape_lsp.core.rules import LAYERS
from shape_lsp.core.rules.base import LayerValue
from shape_lsp.core.rules.keras_apps import APPLICATIONS
from shape_lsp.core.rules.keras_base import NAME_KEY
from shape_lsp.core.source.names import local_name_for
from shape_lsp.core.values import shapes as S
from shape_lsp.core.values.abstract import Tensor, Value, unknown_tensor

if TYPE_CHECKING:
    from shape_lsp.core.interpreter.frame import Frame
    from shape_lsp.core.interpreter.interpret import Interpreter

B = S.sym("B")
_STATE_ATTR = "_keras_state"


# ---------------------------------------------------------------------- state and naming


@dataclass
class Node:
    """One recorded layer application: layer, its arguments, its output, where."""

    layer: Value
    args: list[Value]
    out: Value
    site: Site


@dataclass
class KerasState:
    """Per-interpreter Keras bookkeeping (kept on the Interpreter object, not globally)."""

    counters: dict[str, int] = field(default_factory=dict)
    producers: dict[int, Node] = field(default_factory=dict)
    order: dict[int, int] = field(default_factory=dict)
    keep: list[Value] = field(default_factory=list)
    losses: dict[int, Value] = field(default_factory=dict)
    names: dict[int, str] = field(default_factory=dict)


def state(interp: object) -> KerasState:
    """The interpreter's Keras state (created on first use)."""
    st = getattr(interp, _STATE_ATTR, None)
    if not isinstance(st, KerasState):
        st = KerasState()
        setattr(interp, _STATE_ATTR, st)
    return st


def snake(name: str) -> str:
    """keras.src.utils.naming.to_snake_case."""
    name = re.sub(r"\W+", "", name)
    name = re.sub("(.)([A-Z][a-z]+)", r"\1_\2", name)
    return re.sub("([a-z])([A-Z])", r"\1_\2", name).lower()


def unique_name(interp: Interpreter, base: str) -> str:
    """'conv2d', then 'conv2d_1', ... (Keras's per-session uniquification)."""
    st = state(interp)
    n = st.counters.get(base, 0)
    st.counters[base] = n + 1
    return base if n == 0 else f"{base}_{n}"


def keras_name(v: Value) -> str | None:
    """The Keras name of a layer value."""
    if isinstance(v, LayerValue):
        name = v.args.get(NAME_KEY)
        return name if isinstance(name, str) else None
    return None


def is_keras(v: Value) -> bool:
    """A Keras layer, Sequential, functional model or subclassed Model."""
    if isinstance(v, LayerValue):
        return v.rule.framework == "keras"
    if isinstance(v, Container):
        return v.framework == "keras"
    if isinstance(v, ModuleInstance):
        return v.cls.framework == "keras"
    return False


@dataclass(eq=False)
class FunctionalModel(Container):
    """`keras.Model(inputs, outputs)`: the layer calls between inputs and outputs."""

    inputs: list[Tensor] = field(default_factory=list)
    outputs: Value = None
    nodes: list[Node] = field(default_factory=list)

    @property
    def n_inputs(self) -> int:
        """How many input tensors the model takes."""
        return len(self.inputs)


# ---------------------------------------------------------------------- construction


def _construct(name: str) -> CallHook:
    def hook(
        interp: Interpreter,
        args: list[Value],
        kwargs: dict[str, Value],
        node: cst.Call,
        frame: Frame,
    ) -> Value:
        v = interp.construct_layer(name, args, kwargs, node, frame)
        if isinstance(v, LayerValue):
            given = kwargs.get("name")
            short = name.rsplit(".", 1)[-1]
            base = APPLICATIONS.get(name) or snake(short)
            v.args[NAME_KEY] = given if isinstance(given, str) else unique_name(interp, base)
            v.path = v.args[NAME_KEY]
        return v

    return hook


def _input(
    interp: Interpreter, args: list[Value], kwargs: dict[str, Value], node: cst.Call, frame: Frame
) -> Value:
    """keras.Input(shape=(28, 28, 1), batch_size=None, dtype=None) → (B, 28, 28, 1)."""
    shape = args[0] if args else kwargs.get("shape")
    batch = args[1] if len(args) > 1 else kwargs.get("batch_size")
    given = kwargs.get("name")
    if not isinstance(given, str):
        unique_name(interp, "input_layer")
    from shape_lsp.core.rules.base import dtype_of

    dtype = dtype_of(kwargs.get("dtype")) or "float32"
    batch_shape = kwargs.get("batch_shape")
    if isinstance(batch_shape, tuple | list) and batch_shape:
        dims = tuple(
            d if isinstance(d, int) else (B if i == 0 else S.UNKNOWN)
            for i, d in enumerate(batch_shape)
        )
        return Tensor(dims, dtype)
    if isinstance(shape, int) and not isinstance(shape, bool):
        shape = (shape,)
    if not isinstance(shape, tuple | list):
        return unknown_tensor(dtype)
    dims2 = tuple(d if isinstance(d, int) and not isinstance(d, bool) else S.UNKNOWN for d in shape)
    b = batch if isinstance(batch, int) and not isinstance(batch, bool) else B
    return Tensor((b, *dims2), dtype)


def _as_layer(interp: Interpreter, v: Value) -> Value:
    """A Sequential item: Input tensors become an InputLayer with that shape."""
    if isinstance(v, Tensor) and v.shape is not None:
        rule = LAYERS["keras.layers.InputLayer"]
        return LayerValue(
            rule,
            {
                "shape": tuple(v.shape[1:]),
                "batch_size": None,
                "dtype": None,
                "sparse": None,
                "batch_shape": None,
                "input_tensor": None,
                "optional": False,
                "name": None,
                "kwargs": {},
                NAME_KEY: "input_layer",
            },
            None,
        )
    return v


def _item_name(interp: Interpreter, v: Value, i: int) -> str:
    if isinstance(v, LayerValue):
        return keras_name(v) or str(i)
    return state(interp).names.get(id(v), str(i))


def _sequential(
    interp: Interpreter, args: list[Value], kwargs: dict[str, Value], node: cst.Call, frame: Frame
) -> Value:
    """keras.Sequential([layers...], name=None)."""
    given = kwargs.get("name")
    name = given if isinstance(given, str) else unique_name(interp, "sequential")
    items = args[0] if args else kwargs.get("layers")
    seq: list[Value] = list(items) if isinstance(items, list | tuple) else []
    item_nodes: list[cst.CSTNode | None] = [None] * len(seq)
    arg_node = node.args[0].value if node.args else None
    if isinstance(arg_node, cst.List | cst.Tuple) and len(arg_node.elements) == len(seq):
        item_nodes = [e.value for e in arg_node.elements]
    layers = [_as_layer(interp, v) for v in seq]
    c = Container(
        "Sequential",
        [],
        "",
        interp.rec.span(frame.chunk, node),
        [],
        node,
        frame.chunk,
        framework="keras",
    )
    for v, n in zip(layers, item_nodes, strict=True):
        c.items.append((_item_name(interp, v, len(c.items)), v))
        c.item_nodes.append(n if n is not None else getattr(v, "node", None))
    assign_path(c, "")
    state(interp).names[id(c)] = name
    _build(interp, c, frame)
    return c


def declared_inputs(c: Value) -> list[Tensor] | None:
    """The inputs a Keras model declares (input_shape=, Input, InputLayer), when all known."""
    if isinstance(c, FunctionalModel):
        return list(c.inputs) if all(t.shape is not None for t in c.inputs) else None
    if isinstance(c, Container) and c.items:
        first = c.items[0][1]
        if isinstance(first, LayerValue) and first.rule.template is not None:
            from shape_lsp.core.rules.base import Args
            from shape_lsp.core.rules.keras_base import declared_input

            shape = declared_input(Args(first.args))
            if shape is None and first.rule.names[0] == "keras.layers.InputLayer":
                shape = first.rule.template(Args(first.args))
            if shape is not None:
                return [Tensor(shape, "float32")]
    return None


def _build(interp: Interpreter, c: Container, frame: Frame) -> None:
    """Keras builds a Sequential with a declared input at once: run it quietly."""
    inputs = declared_inputs(c)
    if inputs is None:
        return
    _quiet(interp, lambda: interp.rec.module_call(c, list(inputs), {}, None, frame))


def _quiet(interp: Interpreter, fn: object) -> None:
    rec = interp.rec
    saved = rec.discovery
    rec.discovery = saved if saved is not None else {}
    try:
        fn()  # type: ignore[operator]
    except Exception:  # a build failure is reported when the model really runs
        pass
    finally:
        rec.discovery = saved


# ---------------------------------------------------------------------- functional models


def _observe(rec: ModuleCalls, mod: Value, args: list[Value], out: Value, site: Site) -> None:
    """Remember which layer call produced each tensor (for keras.Model(inputs, outputs))."""
    if not is_keras(mod):
        return
    st = state(rec.interp)
    n = Node(mod, list(args), out, site)
    st.keep.append(n)
    outs = out if isinstance(out, tuple | list) else (out,)
    for o in outs:
        if isinstance(o, Tensor):
            st.producers[id(o)] = n
            st.order[id(n)] = len(st.order)


def _flat(v: Value) -> list[Value]:
    if isinstance(v, list | tuple):
        return [e for x in v for e in _flat(x)]
    if isinstance(v, dict):
        return [e for x in v.values() for e in _flat(x)]
    return [v]


def _model(
    interp: Interpreter, args: list[Value], kwargs: dict[str, Value], node: cst.Call, frame: Frame
) -> Value:
    """keras.Model(inputs, outputs, name=None)."""
    inputs = args[0] if args else kwargs.get("inputs")
    outputs = args[1] if len(args) > 1 else kwargs.get("outputs")
    if inputs is None and outputs is None:
        return None
    ins = [t for t in _flat(inputs) if isinstance(t, Tensor)]
    st = state(interp)
    wanted = {id(t) for t in ins}
    seen: set[int] = set()
    needed: list[Node] = []

    def walk(t: Value) -> None:
        if not isinstance(t, Tensor) or id(t) in wanted:
            return
        n = st.producers.get(id(t))
        if n is None or id(n) in seen:
            return
        seen.add(id(n))
        for a in _flat(n.args):
            walk(a)
        needed.append(n)

    for o in _flat(outputs):
        walk(o)
    needed.sort(key=lambda n: st.order.get(id(n), 0))
    given = kwargs.get("name")
    name = given if isinstance(given, str) else unique_name(interp, "functional")
    m = FunctionalModel(
        "Functional",
        [],
        "",
        interp.rec.span(frame.chunk, node),
        [],
        node,
        frame.chunk,
        framework="keras",
        inputs=ins,
        outputs=outputs,
        nodes=needed,
    )
    for n in needed:
        if not any(v is n.layer for _, v in m.items):
            m.items.append((_item_name(interp, n.layer, len(m.items)), n.layer))
            m.item_nodes.append(n.site.node)
    assign_path(m, "")
    st.names[id(m)] = name
    return m


def _replay(
    rec: ModuleCalls,
    c: Container,
    args: list[Value],
    kwargs: dict[str, Value],
    node: cst.CSTNode | None,
    frame: Frame,
    site: Site,
) -> Value:
    """Run a functional model: its recorded layer calls on the new inputs, in order."""

    if not isinstance(c, FunctionalModel):
        return UNKNOWN_TENSOR
    given = list(args[0]) if len(args) == 1 and isinstance(args[0], list | tuple) else list(args)
    if rec.discovery is not None:
        for i, g in enumerate(given):
            if id(g) in rec.discovery and i < len(c.inputs) and c.inputs[i].shape is not None:
                rec.templates[rec.discovery.pop(id(g))] = (c.inputs[i].shape, "keras.Input")
    env: dict[int, Value] = {id(t): given[i] for i, t in enumerate(c.inputs) if i < len(given)}

    def sub(v: Value) -> Value:
        if isinstance(v, list):
            return [sub(e) for e in v]
        if isinstance(v, tuple):
            return tuple(sub(e) for e in v)
        if isinstance(v, Tensor):
            return env.get(id(v), v)
        return v

    for n in c.nodes:
        new_args = [sub(a) for a in n.args]
        out = rec.module_call(n.layer, new_args, {}, n.site.node, frame, n.site)
        if isinstance(n.out, tuple | list) and isinstance(out, tuple | list):
            for o, new in zip(n.out, out, strict=False):
                env[id(o)] = new
        else:
            env[id(n.out)] = out
    return sub(c.outputs)


# ---------------------------------------------------------------------- merge functions


def _merge_fn(layer_name: str) -> CallHook:
    def hook(
        interp: Interpreter,
        args: list[Value],
        kwargs: dict[str, Value],
        node: cst.Call,
        frame: Frame,
    ) -> Value:
        inputs = args[0] if args else kwargs.pop("inputs", None)
        rest = {k: v for k, v in kwargs.items() if k != "inputs"}
        lv = _construct(layer_name)(interp, list(args[1:]), rest, node, frame)
        if not isinstance(lv, LayerValue):
            return unknown_tensor()
        return interp.rec.module_call(lv, [inputs], {}, node, frame)

    return hook


# ---------------------------------------------------------------------- quick fix for SH114


def _flatten_fix(interp: Interpreter, layer: LayerValue, site: Site) -> tuple[Fix, ...]:
    """Insert a Keras Flatten before the Dense (a Sequential entry or a functional call)."""
    if layer.rule.framework != "keras":
        return ()
    flat = _flatten_name(interp)
    span = interp.rec.span(site.chunk, site.node)
    if span is None:
        return ()
    lines = interp.parsed.lines
    line = lines[span.start_line] if span.start_line < len(lines) else ""
    if site.entry:
        before = line[: span.start_col]
        text = f"{flat}(),\n{before}" if before.strip() == "" else f"{flat}(), "
        edit = TextEdit(
            Span(span.start_line, span.start_col, span.start_line, span.start_col), text
        )
        return (Fix(f"Insert {flat}() before this layer", (edit,), preferred=True),)
    call = site.node
    if not isinstance(call, cst.Call) or not call.args:
        return ()
    arg = call.args[0].value
    if not isinstance(arg, cst.Name):
        return ()
    indent = line[: len(line) - len(line.lstrip())]
    stmt = f"{arg.value} = {flat}()({arg.value})"
    edit = TextEdit(Span(span.start_line, 0, span.start_line, 0), f"{indent}{stmt}\n")
    return (Fix(f"Insert `{stmt}` before this call", (edit,), preferred=True),)


def _flatten_name(interp: Interpreter) -> str:
    local = local_name_for(interp.aliases, "keras.layers.Flatten")
    if local:
        return local
    for alias, q in interp.aliases.items():
        if q == "tensorflow":
            return f"{alias}.keras.layers.Flatten"
    return "keras.layers.Flatten"
