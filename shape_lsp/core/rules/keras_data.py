"""Array creation calls the Keras examples feed their models with (NumPy, keras.random, tf.random).

`np.random.rand(1, 28, 28, 1)` is a float64 NumPy array; `keras.random.normal((1, 128, 128, 3))`
and `tf.random.normal(shape=...)` are float32 tensors. A name another rule module already
registered is left alone.
"""

from __future__ import annotations

from collections.abc import Callable

from shape_lsp.core.rules.base import FUNCTIONS, RuleCall, dtype_of, function
from shape_lsp.core.values.abstract import Tensor, Value, as_dim
from shape_lsp.core.values.shapes import Dim


def _shape(v: Value) -> tuple[Dim, ...] | None:
    if v is None:
        return ()
    if isinstance(v, int) and not isinstance(v, bool):
        return (v,)
    if isinstance(v, tuple | list):
        return tuple(as_dim(d) for d in v)
    return None


def _register(names: tuple[str, ...], sig: str, fn: Callable[[RuleCall], Value]) -> None:
    missing = tuple(n for n in names if n not in FUNCTIONS)
    if missing:
        function(*missing, sig=sig)(fn)


def _varargs(c: RuleCall) -> Value:
    dims = c.args.get("shape")
    shape = _shape(tuple(dims) if isinstance(dims, tuple) else dims)
    return Tensor(shape, "float64", True)


_register(("numpy.random.rand", "numpy.random.randn"), "*shape", _varargs)


def _size(c: RuleCall) -> Value:
    shape = _shape(c.args.get("size"))
    return Tensor(shape if shape is not None else None, "float64", True)


_register(
    ("numpy.random.random", "numpy.random.random_sample", "numpy.random.sample"), "size=None", _size
)
_register(("numpy.random.uniform",), "low=0.0, high=1.0, size=None", _size)
_register(("numpy.random.normal",), "loc=0.0, scale=1.0, size=None", _size)


def _randint(c: RuleCall) -> Value:
    shape = _shape(c.args.get("size"))
    return Tensor(shape if shape is not None else None, "int64", True)


_register(("numpy.random.randint",), "low, high=None, size=None, dtype=None", _randint)


def _filled(c: RuleCall) -> Value:
    shape = _shape(c.args.get("shape"))
    return Tensor(shape, dtype_of(c.args.get("dtype")) or "float64", True)


_register(("numpy.zeros", "numpy.ones", "numpy.empty"), "shape, dtype=None, order='C'", _filled)


def _nested(v: Value) -> tuple[tuple[Dim, ...], str] | None:
    """Shape and default dtype of a nested list literal."""
    if isinstance(v, bool):
        return (), "bool"
    if isinstance(v, int):
        return (), "int64"
    if isinstance(v, float):
        return (), "float64"
    if isinstance(v, list | tuple) and v:
        inner = [_nested(e) for e in v]
        if any(i is None for i in inner):
            return None
        shapes = {i[0] for i in inner if i is not None}
        if len(shapes) != 1:
            return None
        kinds = {i[1] for i in inner if i is not None}
        kind = "float64" if "float64" in kinds else kinds.pop()
        return (len(v), *shapes.pop()), kind
    return None


def _array(c: RuleCall) -> Value:
    obj = c.args.get("object")
    if isinstance(obj, Tensor):
        dtype = dtype_of(c.args.get("dtype")) or obj.dtype
        return Tensor(obj.shape, dtype, True)
    got = _nested(obj)
    dtype = dtype_of(c.args.get("dtype"))
    if got is None:
        return Tensor(None, dtype, True)
    return Tensor(got[0], dtype or got[1], True)


_register(("numpy.array", "numpy.asarray"), "object, dtype=None, copy=True", _array)


def _keras_random(c: RuleCall) -> Value:
    shape = _shape(c.args.get("shape"))
    return Tensor(shape if shape is not None else None, dtype_of(c.args.get("dtype")) or "float32")


_register(
    ("keras.random.normal", "tensorflow.random.normal"),
    "shape, mean=0.0, stddev=1.0, dtype=None, seed=None, name=None",
    _keras_random,
)
_register(
    ("keras.random.uniform", "tensorflow.random.uniform"),
    "shape, minval=0.0, maxval=1.0, dtype=None, seed=None, name=None",
    _keras_random,
)
_register(
    ("keras.ops.zeros", "keras.ops.ones", "tensorflow.zeros", "tensorflow.ones"),
    "shape, dtype=None, name=None",
    _keras_random,
)
