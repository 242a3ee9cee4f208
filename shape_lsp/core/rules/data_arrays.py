"""NumPy and Keras data as rules: array builders training scripts use, and keras.datasets.

`np.linspace`, `np.expand_dims`, `np.stack` / `np.concatenate` / `np.vstack` / `np.hstack`,
`np.squeeze`, `np.transpose` give NumPy arrays (`Tensor(numpy=True)`); `to_categorical` gives
float64 one-hot rows. `KERAS_DATASETS` lists what `keras.datasets.X.load_data()` returns,
from the Keras 3 docs (keras.io/api/datasets: "x_train: uint8 NumPy array of grayscale image
data with shapes (60000, 28, 28)", CIFAR "(50000, 32, 32, 3)", labels "(50000, 1)").
Every entry is checked against real NumPy / Keras in tests/rules/test_data_rules.py.
"""

from __future__ import annotations

from shape_lsp.core.rules.base import RuleCall, dtype_of, fmt_shape, function, norm_dim
from shape_lsp.core.values import shapes as S
from shape_lsp.core.values.abstract import Tensor, Value
from shape_lsp.core.values.shapes import UNKNOWN, Dim, Shape

_NP = "numpy."


def _arr(shape: Shape | None, dtype: str | None, trace: tuple[str, ...] = ()) -> Tensor:
    return Tensor(shape, dtype, True, trace)


@function(
    "numpy.linspace",
    sig="start, stop, num=50, endpoint=True, retstep=False, dtype=None, axis=0",
)
def linspace(c: RuleCall) -> Value:
    """np.linspace(a, b, n): (n,) float64."""
    n = c.args.get("num")
    if c.args.bool("retstep"):
        return UNKNOWN
    return _arr((n if isinstance(n, int) else UNKNOWN,), dtype_of(c.args.get("dtype")) or "float64")


@function("numpy.expand_dims", sig="a, axis")
def expand_dims(c: RuleCall) -> Value:
    """np.expand_dims(x, -1): a size-1 axis inserted (negative axes count from the new rank)."""
    x = c.args.tensor("a")
    if x is None:
        return UNKNOWN
    axis = c.args.get("axis")
    if x.shape is None or not isinstance(axis, int):
        return _arr(None, x.dtype)
    rank = len(x.shape) + 1
    ax = norm_dim(c, axis, rank, "axis")
    assert ax is not None
    shape = (*x.shape[:ax], 1, *x.shape[ax:])
    return _arr(shape, x.dtype, x.trace)


def _arrays(c: RuleCall) -> list[Tensor] | None:
    seq = c.args.get("arrays")
    if not isinstance(seq, tuple | list) or not seq:
        return None
    if not all(isinstance(t, Tensor) for t in seq):
        return None
    return list(seq)


def _result_dtype(ts: list[Tensor]) -> str | None:
    kinds = {t.dtype for t in ts}
    if None in kinds:
        return None
    if len(kinds) == 1:
        return kinds.pop()
    return "float64" if any(k and k.startswith("float") for k in kinds) else None


@function("numpy.stack", sig="arrays, axis=0, out=None, dtype=None, casting='same_kind'")
def stack(c: RuleCall) -> Value:
    """np.stack: all inputs the same shape; a new axis."""
    ts = _arrays(c)
    if ts is None:
        return _arr(None, None)
    dtype = dtype_of(c.args.get("dtype")) or _result_dtype(ts)
    shapes = [t.shape for t in ts]
    if any(s is None for s in shapes):
        return _arr(None, dtype)
    first = shapes[0]
    assert first is not None
    for s in shapes[1:]:
        assert s is not None
        if len(s) != len(first) or any(S.eq(a, b) is False for a, b in zip(s, first, strict=True)):
            c.fail(
                "SH106",
                f"np.stack: all input arrays must have the same shape, got "
                f"{fmt_shape(first)} and {fmt_shape(s)}",
            )
    axis = c.args.get("axis")
    if not isinstance(axis, int):
        return _arr(None, dtype)
    ax = norm_dim(c, axis, len(first) + 1, "axis")
    assert ax is not None
    return _arr((*first[:ax], len(ts), *first[ax:]), dtype)


def _concat(c: RuleCall, ts: list[Tensor], axis: int, what: str) -> Value:
    dtype = _result_dtype(ts)
    shapes = [t.shape for t in ts]
    if any(s is None for s in shapes):
        return _arr(None, dtype)
    first = shapes[0]
    assert first is not None
    ax = norm_dim(c, axis, len(first), "axis")
    assert ax is not None
    total: Dim = 0
    for s in shapes:
        assert s is not None
        if len(s) != len(first):
            c.fail(
                "SH106",
                f"{what}: all inputs must have the same number of dimensions, got "
                f"{fmt_shape(first)} and {fmt_shape(s)}",
            )
        for i, (a, b) in enumerate(zip(s, first, strict=True)):
            if i != ax and S.eq(a, b) is False:
                c.fail(
                    "SH106",
                    f"{what}: sizes must match except along axis {ax}, got "
                    f"{fmt_shape(first)} and {fmt_shape(s)}",
                )
        total = S.add(total, s[ax])
    return _arr((*first[:ax], total, *first[ax + 1 :]), dtype)


@function("numpy.concatenate", sig="arrays, axis=0, out=None, dtype=None, casting='same_kind'")
def concatenate(c: RuleCall) -> Value:
    """np.concatenate along an existing axis."""
    ts = _arrays(c)
    axis = c.args.get("axis")
    if ts is None or not isinstance(axis, int):
        return _arr(None, None)
    return _concat(c, ts, axis, "np.concatenate")


def _stacked(c: RuleCall) -> list[Tensor] | None:
    ts = _arrays(c)
    if ts is None or any(t.shape is None for t in ts):
        return None
    return ts


@function("numpy.vstack", sig="tup, dtype=None, casting='same_kind'")
def vstack(c: RuleCall) -> Value:
    """np.vstack: 1D inputs become rows, then concatenate along axis 0."""
    c.args.values["arrays"] = c.args.get("tup")
    ts = _stacked(c)
    if ts is None:
        return _arr(None, None)
    rows = [
        t.with_shape((1, *t.shape)) if t.shape is not None and len(t.shape) == 1 else t for t in ts
    ]
    return _concat(c, rows, 0, "np.vstack")


@function("numpy.hstack", sig="tup, dtype=None, casting='same_kind'")
def hstack(c: RuleCall) -> Value:
    """np.hstack: axis 1 (axis 0 when the inputs are 1D)."""
    c.args.values["arrays"] = c.args.get("tup")
    ts = _stacked(c)
    if ts is None:
        return _arr(None, None)
    one_d = all(t.shape is not None and len(t.shape) == 1 for t in ts)
    return _concat(c, ts, 0 if one_d else 1, "np.hstack")


@function("numpy.squeeze", sig="a, axis=None")
def squeeze(c: RuleCall) -> Value:
    """np.squeeze: size-1 axes dropped (all of them, or the given one)."""
    x = c.args.tensor("a")
    if x is None or x.shape is None:
        return _arr(None, x.dtype if x else None)
    axis = c.args.get("axis")
    if axis is None:
        if any(not isinstance(d, int) for d in x.shape):
            return _arr(None, x.dtype)
        return _arr(tuple(d for d in x.shape if d != 1), x.dtype, x.trace)
    if not isinstance(axis, int):
        return _arr(None, x.dtype)
    ax = norm_dim(c, axis, len(x.shape), "axis")
    assert ax is not None
    if isinstance(x.shape[ax], int) and x.shape[ax] != 1:
        c.fail(
            "SH111",
            f"np.squeeze: cannot select an axis to squeeze out which has size "
            f"not equal to one (axis {axis} of {fmt_shape(x.shape)})",
        )
    return _arr((*x.shape[:ax], *x.shape[ax + 1 :]), x.dtype, x.trace)


@function("keras.utils.to_categorical", sig="x, num_classes=None")
def to_categorical(c: RuleCall) -> Value:
    """One-hot: (N,) or (N, 1) labels -> (N, num_classes) float64."""
    x = c.args.tensor("x")
    n = c.args.get("num_classes")
    classes: Dim = n if isinstance(n, int) else UNKNOWN
    if x is None or x.shape is None:
        return _arr(None, "float64")
    shape = x.shape
    if len(shape) > 1 and shape[-1] == 1:
        shape = shape[:-1]
    return _arr((*shape, classes), "float64", x.trace)


# ---------------------------------------------------------------------- keras.datasets

KERAS_DATASETS: dict[str, tuple[tuple[int, ...], tuple[int, ...], int, int]] = {
    # name: (sample shape, label shape per sample, train count, test count); all uint8
    "mnist": ((28, 28), (), 60000, 10000),
    "fashion_mnist": ((28, 28), (), 60000, 10000),
    "cifar10": ((32, 32, 3), (1,), 50000, 10000),
    "cifar100": ((32, 32, 3), (1,), 50000, 10000),
}
KERAS_DTYPES = {
    "mnist": ("uint8", "uint8"),
    "fashion_mnist": ("uint8", "uint8"),
    "cifar10": ("uint8", "uint8"),
    "cifar100": ("uint8", "uint8"),
}


def keras_dataset(name: str, origin: str) -> Value:
    """((x_train, y_train), (x_test, y_test)) as NumPy arrays; UNKNOWN for others."""
    spec = KERAS_DATASETS.get(name)
    if spec is None:
        return UNKNOWN
    sample, label, n_train, n_test = spec
    xd, yd = KERAS_DTYPES[name]
    trace = (f"from {origin}",)
    return tuple(
        (_arr((n, *sample), xd, trace), _arr((n, *label), yd, trace)) for n in (n_train, n_test)
    )
