"""Keras models at work: `predict`/`__call__` run the model on the data, `fit`/`evaluate`
check the targets against the output under the compiled loss (SH115), `compile` is remembered."""

from __future__ import annotations

from typing import TYPE_CHECKING

import libcst as cst

from shape_lsp.core.frameworks.keras.models import (
    B,
    _as_layer,
    _build,
    _item_name,
    declared_inputs,
    is_keras,
    state,
)
from shape_lsp.core.interpreter.objects import (
    BoundMethod,
    Container,
    assign_path,
    param_count,
)
from shape_lsp.core.results import Related, Span
from shape_lsp.core.rules.base import LayerValue
from shape_lsp.core.values import shapes as S
from shape_lsp.core.values.abstract import Tensor, Value, unknown_tensor

if TYPE_CHECKING:
    from shape_lsp.core.interpreter.frame import Frame
    from shape_lsp.core.interpreter.interpret import Interpreter


# ---------------------------------------------------------------------- methods


_RUN = ("predict", "predict_on_batch", "__call__", "call")
_TRAIN = ("fit", "evaluate", "train_on_batch", "test_on_batch")
_QUIET = (
    "summary",
    "save",
    "save_weights",
    "load_weights",
    "build",
    "get_config",
    "compile_metrics",
    "reset_states",
    "export",
)
_EXACT = {
    "binary_crossentropy",
    "categorical_crossentropy",
    "binary_focal_crossentropy",
    "categorical_focal_crossentropy",
    "kl_divergence",
    "kld",
    "poisson",
    "BinaryCrossentropy",
    "CategoricalCrossentropy",
    "KLDivergence",
}
_BROADCAST = {
    "mse",
    "mae",
    "mape",
    "msle",
    "mean_squared_error",
    "mean_absolute_error",
    "mean_absolute_percentage_error",
    "mean_squared_logarithmic_error",
    "huber",
    "log_cosh",
    "logcosh",
    "hinge",
    "squared_hinge",
    "cosine_similarity",
    "MeanSquaredError",
    "MeanAbsoluteError",
    "Huber",
    "Hinge",
    "CosineSimilarity",
}
_SPARSE = {"sparse_categorical_crossentropy", "SparseCategoricalCrossentropy"}


def _method(
    interp: Interpreter,
    m: BoundMethod,
    args: list[Value],
    kwargs: dict[str, Value],
    node: cst.Call,
    frame: Frame,
) -> Value:
    obj, name = m.obj, m.name
    if not is_keras(obj) or isinstance(obj, LayerValue):
        if isinstance(obj, LayerValue) and is_keras(obj) and name == "count_params":
            n = param_count(obj)
            return n if isinstance(n, int) else S.UNKNOWN
        return NotImplemented
    if name == "add" and isinstance(obj, Container) and obj.kind == "Sequential" and args:
        v = _as_layer(interp, args[0])
        obj.items.append((_item_name(interp, v, len(obj.items)), v))
        arg_node = node.args[0].value if node.args else None
        obj.item_nodes.append(arg_node if arg_node is not None else getattr(v, "node", None))
        assign_path(obj, obj.path)
        if len(obj.items) == 1 or declared_inputs(obj) is not None:
            _build(interp, obj, frame)
        return None
    if name == "compile":
        loss = kwargs.get("loss", args[1] if len(args) > 1 else None)
        state(interp).losses[id(obj)] = loss
        return None
    if name in _QUIET:
        return None
    if name == "count_params":
        n = param_count(obj)
        return n if isinstance(n, int) else S.UNKNOWN
    if name in _RUN:
        x = args[0] if args else kwargs.get("x", kwargs.get("inputs"))
        out = _run(interp, obj, x, node, frame)
        if name.startswith("predict"):
            return _to_numpy(out)
        return out
    if name in _TRAIN:
        x = args[0] if args else kwargs.get("x")
        y = args[1] if len(args) > 1 else kwargs.get("y")
        if name in ("fit", "evaluate") and _same_count(x, y):  # one batch (default: 32)
            size = args[2] if len(args) > 2 else kwargs.get("batch_size", 32)
            x, y = _batch(x, size), _batch(y, size)
        _train(interp, obj, name, x, y, node, frame)
        return S.UNKNOWN
    return NotImplemented


def _same_count(x: Value, y: Value) -> bool:
    """x and y do not disagree on the number of samples (else the full data is checked)."""
    if isinstance(x, Tensor) and isinstance(y, Tensor) and x.shape and y.shape:
        a, b = x.shape[0], y.shape[0]
        return not (isinstance(a, int) and isinstance(b, int) and a != b)
    return True


def _batch(v: Value, size: Value) -> Value:
    """What fit/evaluate feed the model per step: the first batch of NumPy data."""
    if isinstance(v, tuple | list):
        return type(v)(_batch(e, size) for e in v)
    if not isinstance(v, Tensor) or not v.shape:
        return v
    n = v.shape[0]
    if size is None:
        size = 32
    if isinstance(size, int) and not isinstance(size, bool) and isinstance(n, int):
        return v.with_shape((min(size, n), *v.shape[1:]))
    return v.with_shape((B, *v.shape[1:]))


def _inputs_of(x: Value) -> list[Value]:
    items = list(x) if isinstance(x, list | tuple) else [x]
    return [_as_float(v) for v in items]


def _as_float(v: Value) -> Value:
    """Keras converts NumPy float data to float32 tensors."""
    if isinstance(v, Tensor) and (v.numpy or v.dtype == "float64"):
        dtype = "float32" if v.dtype in (None, "float64", "float32", "float16") else v.dtype
        return Tensor(v.shape, dtype, False, v.trace)
    return v


def _to_numpy(v: Value) -> Value:
    if isinstance(v, Tensor):
        return Tensor(v.shape, v.dtype, True, v.trace)
    if isinstance(v, tuple | list):
        return type(v)(_to_numpy(e) for e in v)
    return v


def _rank_problem(interp: Interpreter, model: Value, inputs: list[Value], what: str) -> str | None:
    """Keras's Functional._adjust_input_rank: the data's rank must equal the declared one
    (give or take a trailing size-1 axis); None when it does or is unknown."""
    declared = declared_inputs(model)
    if declared is None or len(declared) != len(inputs):
        return None
    for x, ref in zip(inputs, declared, strict=True):
        if not isinstance(x, Tensor) or x.shape is None or x.assumed or ref.shape is None:
            continue
        xr, rr = len(x.shape), len(ref.shape)
        if xr == rr or (xr == rr + 1 and x.shape[-1] == 1) or (xr == rr - 1 and ref.shape[-1] == 1):
            continue
        want = "(None, " + S.render_shape(ref.shape[1:])[1:]
        return (
            f"model.{what}: the model's input is declared {want} ({rr}D) but it is given "
            f"{S.render_shape(x.shape)} ({xr}D) (Keras: Expected shape {want}, but input has "
            "incompatible shape)"
        )
    return None


def _adjust_rank(model: Value, inputs: list[Value]) -> list[Value]:
    """Keras adds / drops a trailing size-1 axis to match the declared input's rank."""
    declared = declared_inputs(model)
    if declared is None or len(declared) != len(inputs):
        return inputs
    out: list[Value] = []
    for x, ref in zip(inputs, declared, strict=True):
        got = x
        shape, want = (x.shape if isinstance(x, Tensor) else None), ref.shape
        if isinstance(x, Tensor) and shape is not None and want is not None:
            if len(shape) == len(want) - 1 and want[-1] == 1:
                got = x.with_shape((*shape, 1))
            elif len(shape) == len(want) + 1 and shape[-1] == 1:
                got = x.with_shape(shape[:-1])
        out.append(got)
    return out


def _declared_mismatch(
    interp: Interpreter, model: Value, inputs: list[Value], what: str, node: cst.Call, frame: Frame
) -> bool:
    problem = _rank_problem(interp, model, inputs, what)
    if problem is None:
        return False
    interp.rec.add("SH109", interp.rec.span(frame.chunk, node), problem)
    return True


def _run(interp: Interpreter, model: Value, x: Value, node: cst.Call, frame: Frame) -> Value:
    inputs = _adjust_rank(model, _inputs_of(x))
    if _declared_mismatch(interp, model, inputs, "predict", node, frame):
        return unknown_tensor("float32")
    if not all(isinstance(t, Tensor) for t in inputs):
        declared = declared_inputs(model)
        if declared is None:
            return unknown_tensor("float32")
        inputs = list(declared)
        _expect(interp, model, "input_shape")
    return interp.rec.module_call(model, inputs, {}, node, frame)


def _expect(interp: Interpreter, model: Value, source: str) -> None:
    var = next((k for k, v in interp.globals.items() if v is model), None)
    if var is not None:
        interp.rec.expect(
            model, name=var, span=getattr(model, "span", None), source=source, variable=var
        )


def _same_data(node: cst.Call) -> bool:
    """fit(x, x): the target is the input itself (an autoencoder)."""
    pos = [a.value for a in node.args if a.keyword is None and not a.star]
    kw = {a.keyword.value: a.value for a in node.args if a.keyword is not None}
    x = pos[0] if pos else kw.get("x")
    y = pos[1] if len(pos) > 1 else kw.get("y")
    return isinstance(x, cst.Name) and isinstance(y, cst.Name) and x.value == y.value


def _train(
    interp: Interpreter, model: Value, name: str, x: Value, y: Value, node: cst.Call, frame: Frame
) -> None:
    inputs = _adjust_rank(model, _inputs_of(x))
    if _declared_mismatch(interp, model, inputs, name, node, frame):
        return
    same = _same_data(node)
    if not all(isinstance(t, Tensor) for t in inputs):
        declared = declared_inputs(model)
        if declared is None:
            return
        inputs = list(declared)
        _expect(interp, model, "input_shape")
    out = interp.rec.module_call(model, inputs, {}, node, frame)
    target = inputs[0] if same else _as_float(y)
    if isinstance(out, tuple | list) or not isinstance(out, Tensor):
        return
    if not isinstance(target, Tensor) or target.shape is None or out.shape is None:
        return
    loss = state(interp).losses.get(id(model))
    problem = _target_problem(out.shape, target.shape, loss, inputs[0])
    if problem is None:
        return
    span = interp.rec.span(frame.chunk, node)
    related: list[Related] = []
    mspan = getattr(model, "span", None)
    if isinstance(mspan, Span):
        related.append(
            Related(mspan, f"the model is defined here; its output is {S.render_shape(out.shape)}")
        )
    what = "the input itself (x is also the target)" if same else "the target y"
    interp.rec.add(
        "SH115",
        span,
        f"model.{name}: the model's output "
        f"{S.render_shape(out.shape)} cannot match {what} "
        f"{S.render_shape(target.shape)}: {problem}",
        out.trace,
        tuple(related),
    )


def _loss_name(loss: Value) -> str | None:
    if isinstance(loss, str):
        return loss
    if isinstance(loss, LayerValue):
        return loss.type_name
    qual = getattr(loss, "name", None)
    return qual.rsplit(".", 1)[-1] if isinstance(qual, str) else None


def _target_problem(
    out: tuple[S.Dim, ...], y: tuple[S.Dim, ...], loss: Value, x: Value
) -> str | None:
    """Why Keras's loss cannot compare y with the output (None when it can or is unknown)."""
    if out and y and isinstance(out[0], int) and isinstance(y[0], int) and out[0] != y[0]:
        return f"{out[0]} vs {y[0]} samples (Keras: data cardinality is ambiguous)"
    name = _loss_name(loss)
    if name is None or name in _SPARSE:
        return None
    a, b = list(out), list(y)
    # keras squeeze_or_expand_to_same_rank: a trailing size-1 axis is dropped / added
    if len(b) == len(a) + 1 and b[-1] == 1:
        b = b[:-1]
    elif len(a) == len(b) + 1 and a[-1] == 1:
        a = a[:-1]
    if name in _EXACT:
        if len(a) != len(b) or any(S.eq(p, q) is False for p, q in zip(a, b, strict=True)):
            return (
                f"loss '{name}' needs the same shape (Keras: Arguments `target` and "
                "`output` must have the same shape)"
            )
        return None
    if name in _BROADCAST:
        got, _ = S.broadcast(tuple(a), tuple(b))
        if got is None:
            return f"loss '{name}' cannot broadcast them"
    return None
