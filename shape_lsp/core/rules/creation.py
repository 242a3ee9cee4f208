"""Tensor and array creation (example inputs found in user files) and dtype conversions."""

from __future__ import annotations

from shape_lsp.core.rules.base import RuleCall, dtype_of, fmt_shape, function, unknown_like
from shape_lsp.core.rules.reshape import size_list
from shape_lsp.core.values import shapes as S
from shape_lsp.core.values.abstract import Qual, Tensor, Value, as_dim
from shape_lsp.core.values.shapes import UNKNOWN, Dim, Shape

TORCH_FACTORY = (
    "*sizes, size=None, out=None, dtype=None, layout=None, device=None, requires_grad=False, "
    "pin_memory=False, generator=None, memory_format=None, names=None"
)
LIKE = "input, dtype=None, layout=None, device=None, requires_grad=False, memory_format=None"


def np_dtype_of(v: Value) -> str | None:
    """A NumPy dtype argument: like dtype_of, but the strings "float" / "int" are 64-bit."""
    if v in ("float", "double", "f8"):
        return "float64"
    if v in ("int", "i8"):
        return "int64"
    if v == "f4":
        return "float32"
    return dtype_of(v)


def _shape_of(v: Value) -> Shape | None:
    sizes = size_list(v)
    if sizes is None:
        return None
    return tuple(as_dim(e) for e in sizes)


def _make(c: RuleCall, shape: Shape | None, dtype: str | None, numpy: bool, what: str) -> Value:
    if shape is None:
        return Tensor(None, dtype, numpy)
    for d in shape:
        if isinstance(d, int) and d < 0:
            c.fail("SH112", f"{what}: negative dimension {d} in {fmt_shape(shape)}")
    return Tensor(shape, dtype, numpy, (f"{what}{fmt_shape(shape)}",))


def _dtype_arg(c: RuleCall, default: str | None) -> str | None:
    v = c.args.get("dtype")
    return default if v is None else dtype_of(v)


def _sizes(c: RuleCall) -> Shape | None:
    if c.args.get("size") is not None:
        return _shape_of(c.args.get("size"))
    return _shape_of(c.args.get("sizes"))


@function(
    "torch.randn", "torch.rand", "torch.zeros", "torch.ones", "torch.empty", sig=TORCH_FACTORY
)
def factory(c: RuleCall) -> Value:
    """torch.randn(2, 3) / torch.zeros((2, 3), dtype=torch.float64)."""
    return _make(c, _sizes(c), _dtype_arg(c, "float32"), False, "tensor")


def _scalar_dtype(v: Value, numpy: bool) -> str | None:
    if isinstance(v, bool):
        return "bool"
    if isinstance(v, int):
        return "int64"
    if isinstance(v, float):
        return "float64" if numpy else "float32"
    return None


@function(
    "torch.full",
    sig="size, fill_value, *, out=None, dtype=None, layout=None, "
    "device=None, requires_grad=False, pin_memory=False",
)
def full(c: RuleCall) -> Value:
    """torch.full(size, value): the dtype follows the value."""
    dt = _dtype_arg(c, _scalar_dtype(c.args.get("fill_value"), False))
    return _make(c, _shape_of(c.args.get("size")), dt, False, "full")


@function(
    "torch.randint",
    sig="*args, size=None, generator=None, out=None, dtype=None, "
    "layout=None, device=None, requires_grad=False, pin_memory=False",
)
def randint(c: RuleCall) -> Value:
    """torch.randint(high, size) / torch.randint(low, high, size): int64."""
    args: tuple[Value, ...] = c.args.get("args") or ()
    size = c.args.get("size")
    if size is None and len(args) in (2, 3):
        size = args[-1]
    return _make(
        c, _shape_of(size) if size is not None else None, _dtype_arg(c, "int64"), False, "randint"
    )


def _arange_len(nums: list[Value]) -> Dim:
    if len(nums) == 1:
        start, end, step = 0, nums[0], 1
    elif len(nums) == 2:
        start, end, step = nums[0], nums[1], 1
    elif len(nums) == 3:
        start, end, step = nums
    else:
        return UNKNOWN
    if all(isinstance(v, int | float) and not isinstance(v, bool) for v in (start, end, step)):
        import math

        if step == 0:
            return UNKNOWN
        return int(max(0, math.ceil((end - start) / step)))
    if step == 1 and isinstance(start, int) and isinstance(end, S.Expr):
        return S.sub(end, start)
    return UNKNOWN


@function(
    "torch.arange",
    sig="*args, start=None, end=None, step=None, out=None, dtype=None, "
    "layout=None, device=None, requires_grad=False",
)
def arange(c: RuleCall) -> Value:
    """torch.arange(end) / (start, end) / (start, end, step): int64 unless a float is given."""
    nums = list(c.args.get("args") or ())
    for k in ("start", "end", "step"):
        if c.args.get(k) is not None:
            nums.append(c.args.get(k))
    floating = any(isinstance(v, float) for v in nums)
    dt = _dtype_arg(c, "float32" if floating else "int64")
    return _make(c, (_arange_len(nums),), dt, False, "arange")


@function("numpy.arange", sig="*args, dtype=None")
def np_arange(c: RuleCall) -> Value:
    """numpy.arange: int64 or float64."""
    nums = list(c.args.get("args") or ())
    floating = any(isinstance(v, float) for v in nums)
    v = c.args.get("dtype")
    dt = np_dtype_of(v) if v is not None else "float64" if floating else "int64"
    return _make(c, (_arange_len(nums),), dt, True, "arange")


@function(
    "torch.linspace",
    "torch.logspace",
    sig="start, end, steps, base=None, *, out=None, "
    "dtype=None, layout=None, device=None, requires_grad=False",
)
def linspace(c: RuleCall) -> Value:
    """(steps,) float32."""
    return _make(c, (c.args.dim("steps"),), _dtype_arg(c, "float32"), False, "linspace")


@function(
    "torch.eye",
    sig="n, m=None, *, out=None, dtype=None, layout=None, device=None, requires_grad=False",
)
def eye(c: RuleCall) -> Value:
    """(n, m or n)."""
    n = c.args.dim("n")
    m = n if c.args.get("m") is None else c.args.dim("m")
    return _make(c, (n, m), _dtype_arg(c, "float32"), False, "eye")


# ------------------------------------------------------------------------------ literals


def _literal(c: RuleCall, v: Value, what: str) -> tuple[Shape | None, set[str]]:
    """Shape and element kinds of a nested list literal."""
    if isinstance(v, Tensor):
        return v.shape, {v.dtype or "?"}
    if isinstance(v, tuple | list):
        if not v:
            return (0,), set()
        inner = [_literal(c, e, what) for e in v]
        kinds: set[str] = set().union(*(k for _, k in inner))
        shapes = [s for s, _ in inner]
        if any(s is None for s in shapes):
            return None, kinds
        first = shapes[0]
        for s in shapes[1:]:
            if s is not None and first is not None and len(s) != len(first):
                c.fail("SH112", f"{what}: nested sequences of different depths")
            if S.shape_eq(first, s) is False:
                c.fail(
                    "SH112",
                    f"{what}: expected sequences of equal length, got "
                    f"{fmt_shape(first)} and {fmt_shape(s)}",
                )
        assert first is not None
        return (len(v), *first), kinds
    if isinstance(v, bool):
        return (), {"bool"}
    if isinstance(v, int):
        return (), {"int"}
    if isinstance(v, float):
        return (), {"float"}
    if isinstance(v, S.Expr):
        return (), {"int"}
    return None, {"?"}  # unknown data: unknown shape, never a 0-d guess


def _literal_dtype(kinds: set[str], numpy: bool) -> str | None:
    if "?" in kinds:
        return None
    named = {k for k in kinds if k not in ("bool", "int", "float")}
    if named:
        return next(iter(named)) if len(named) == 1 and len(kinds) == 1 else None
    if "float" in kinds:
        return "float64" if numpy else "float32"
    if "int" in kinds:
        return "int64"
    if "bool" in kinds:
        return "bool"
    return "float64" if numpy else "float32"


@function(
    "torch.tensor",
    "torch.as_tensor",
    "torch.asarray",
    sig="data, dtype=None, device=None, requires_grad=False, pin_memory=False",
)
def tensor(c: RuleCall) -> Value:
    """torch.tensor([[1, 2], [3, 4]]): the nesting gives the shape, the elements the dtype."""
    data = c.args.get("data")
    shape, kinds = _literal(c, data, "tensor")
    dt = _literal_dtype(kinds, False)
    return _make(c, shape, _dtype_arg(c, dt), False, "tensor")


@function(
    "numpy.array",
    "numpy.asarray",
    sig="object, dtype=None, *, copy=True, order='K', subok=False, ndmin=0, like=None",
)
def np_array(c: RuleCall) -> Value:
    """numpy.array(nested lists): float64 / int64 by default."""
    shape, kinds = _literal(c, c.args.get("object"), "array")
    v = c.args.get("dtype")
    dt = np_dtype_of(v) if v is not None else _literal_dtype(kinds, True)
    return _make(c, shape, dt, True, "array")


@function("torch.from_numpy", sig="ndarray")
def from_numpy(c: RuleCall) -> Value:
    """Keeps the NumPy dtype (float64 for np.random.rand!), now a torch tensor."""
    x = c.args.tensor("ndarray")
    if x is None:
        return Tensor(None, None)
    return Tensor(x.shape, x.dtype, False, (*x.trace, "from_numpy"))


def _like(c: RuleCall, what: str) -> Value:
    x = c.args.tensor("input")
    if x is None:
        return unknown_like(None)
    v = c.args.get("dtype")
    return Tensor(x.shape, x.dtype if v is None else dtype_of(v), x.numpy and what == "np", x.trace)


for _n in ("zeros_like", "ones_like", "empty_like", "rand_like", "randn_like"):
    function(f"torch.{_n}", sig=LIKE)(lambda c: _like(c, "torch"))


@function(
    "torch.full_like",
    sig="input, fill_value, *, dtype=None, layout=None, device=None, "
    "requires_grad=False, memory_format=None",
)
def full_like(c: RuleCall) -> Value:
    """Same shape and dtype as input."""
    return _like(c, "torch")


@function(
    "torch.randint_like",
    sig="input, *args, dtype=None, layout=None, device=None, "
    "requires_grad=False, memory_format=None",
)
def randint_like(c: RuleCall) -> Value:
    """Same shape and dtype as input."""
    return _like(c, "torch")


@function(
    "numpy.zeros_like",
    "numpy.ones_like",
    "numpy.empty_like",
    sig="input, dtype=None, order='K', subok=True, shape=None",
)
def np_like(c: RuleCall) -> Value:
    """Same shape and dtype as the array."""
    x = c.args.tensor("input")
    if x is None:
        return Tensor(None, None, True)
    v = c.args.get("dtype")
    return Tensor(x.shape, x.dtype if v is None else np_dtype_of(v), True, x.trace)


# ------------------------------------------------------------------------------ NumPy


def _np_make(c: RuleCall, size: Value, dtype: str | None, what: str) -> Value:
    if size is None:
        return UNKNOWN  # a Python scalar
    return _make(c, _shape_of(size), dtype, True, what)


@function("numpy.random.rand", "numpy.random.randn", sig="*d")
def np_rand(c: RuleCall) -> Value:
    """np.random.rand(2, 3): float64."""
    d = c.args.get("d")
    return _np_make(c, d if d else None, "float64", "np.random")


@function(
    "numpy.random.random",
    "numpy.random.random_sample",
    "numpy.random.ranf",
    "numpy.random.sample",
    sig="size=None",
)
def np_random(c: RuleCall) -> Value:
    """np.random.random((2, 3)): float64."""
    return _np_make(c, c.args.get("size"), "float64", "np.random")


@function("numpy.random.uniform", sig="low=0.0, high=1.0, size=None")
def np_uniform(c: RuleCall) -> Value:
    """np.random.uniform(size=...)."""
    return _np_make(c, c.args.get("size"), "float64", "np.random.uniform")


@function("numpy.random.normal", sig="loc=0.0, scale=1.0, size=None")
def np_normal(c: RuleCall) -> Value:
    """np.random.normal(size=...)."""
    return _np_make(c, c.args.get("size"), "float64", "np.random.normal")


@function("numpy.random.randint", sig="low, high=None, size=None, dtype=None")
def np_randint(c: RuleCall) -> Value:
    """np.random.randint(low, high, size): int64."""
    v = c.args.get("dtype")
    return _np_make(
        c, c.args.get("size"), "int64" if v is None else np_dtype_of(v), "np.random.randint"
    )


@function("numpy.zeros", "numpy.ones", "numpy.empty", sig="shape, dtype=None, order='C'")
def np_zeros(c: RuleCall) -> Value:
    """np.zeros(shape): float64 unless dtype= says otherwise."""
    v = c.args.get("dtype")
    return _make(
        c, _shape_of(c.args.get("shape")), "float64" if v is None else np_dtype_of(v), True, "array"
    )


@function("numpy.full", sig="shape, fill_value, dtype=None, order='C'")
def np_full(c: RuleCall) -> Value:
    """np.full(shape, value): the dtype follows the value."""
    v = c.args.get("dtype")
    dt = np_dtype_of(v) if v is not None else _scalar_dtype(c.args.get("fill_value"), True)
    return _make(c, _shape_of(c.args.get("shape")), dt, True, "full")


@function(
    "numpy.ndarray.astype", sig="input, dtype, order='K', casting='unsafe', subok=True, copy=True"
)
def astype(c: RuleCall) -> Value:
    """arr.astype(np.float32)."""
    x = c.args.tensor("input")
    if x is None:
        return Tensor(None, np_dtype_of(c.args.get("dtype")), True)
    return x.with_dtype(np_dtype_of(c.args.get("dtype")))


# ------------------------------------------------------------------------------ conversions


@function(
    "torch.Tensor.contiguous",
    "torch.Tensor.clone",
    "torch.clone",
    "torch.Tensor.detach",
    "torch.detach",
    "torch.Tensor.cpu",
    "torch.Tensor.cuda",
    "torch.Tensor.requires_grad_",
    "torch.Tensor.pin_memory",
    "numpy.ndarray.copy",
    sig="input, *args, **kwargs",
)
def same(c: RuleCall) -> Value:
    """Copies, device moves and views that keep shape and dtype."""
    x = c.args.tensor("input")
    return unknown_like(None) if x is None else x


_CASTS = {
    "float": "float32",
    "double": "float64",
    "half": "float16",
    "bfloat16": "bfloat16",
    "long": "int64",
    "int": "int32",
    "short": "int16",
    "char": "int8",
    "byte": "uint8",
    "bool": "bool",
    "cfloat": "complex64",
}
for _m, _dt in _CASTS.items():
    function(f"torch.Tensor.{_m}", sig="input, memory_format=None")(
        lambda c, dt=_dt: _cast(c.args.tensor("input"), dt)  # type: ignore[misc]
    )


def _cast(x: Tensor | None, dtype: str | None) -> Value:
    if x is None:
        return Tensor(None, dtype)
    return x.with_dtype(dtype)


@function(
    "torch.Tensor.to",
    sig="input, *args, dtype=None, device=None, non_blocking=False, copy=False, memory_format=None",
)
def to(c: RuleCall) -> Value:
    """x.to(device) keeps the dtype; x.to(torch.float64) / x.to(other) changes it."""
    x = c.args.tensor("input")
    dt: str | None = x.dtype if x else None
    if c.args.get("dtype") is not None:
        dt = dtype_of(c.args.get("dtype"))
    for v in c.args.get("args") or ():
        if isinstance(v, Tensor):
            dt = v.dtype
        elif isinstance(v, Qual) and dtype_of(v) is not None:
            dt = dtype_of(v)
        elif not isinstance(v, str | Qual | bool | int):
            dt = None  # a dynamic value: could be a dtype
    return _cast(x, dt)


@function("torch.Tensor.type_as", sig="input, other")
def type_as(c: RuleCall) -> Value:
    """x.type_as(other): other's dtype."""
    o = c.args.tensor("other")
    return _cast(c.args.tensor("input"), o.dtype if o else None)


@function("torch.Tensor.type", sig="input, dtype=None, non_blocking=False")
def type_(c: RuleCall) -> Value:
    """x.type(torch.float64); x.type() is a string."""
    v = c.args.get("dtype")
    if v is None:
        return UNKNOWN
    return _cast(c.args.tensor("input"), dtype_of(v))


@function("torch.Tensor.numpy", sig="input, *, force=False")
def numpy_(c: RuleCall) -> Value:
    """x.numpy(): a NumPy array of the same dtype."""
    x = c.args.tensor("input")
    if x is None:
        return Tensor(None, None, True)
    return Tensor(x.shape, x.dtype, True, x.trace)
