"""Broadcasting arithmetic and comparisons, matmul/mm/bmm, cat/stack, F.linear, distances.

The interpreter maps `a + b`, `a - b`, `a * b`, `a / b`, `a // b`, `a ** b`, `a @ b` onto
torch.add / sub / mul / div / floor_divide / pow / matmul with (input, other); either side
may be a Python number.
"""

from __future__ import annotations

from shape_lsp.core.rules.base import (
    FixHint,
    RuleCall,
    fmt,
    fmt_shape,
    function,
    norm_dim,
    unknown_like,
)
from shape_lsp.core.values import shapes as S
from shape_lsp.core.values.abstract import Tensor, Value
from shape_lsp.core.values.shapes import UNKNOWN, Dim, Shape

_KIND = {
    "bool": 0,
    "uint8": 1,
    "int8": 1,
    "int16": 1,
    "int32": 1,
    "int64": 1,
    "float16": 2,
    "bfloat16": 2,
    "float32": 2,
    "float64": 2,
    "complex64": 3,
    "complex128": 3,
}
_ORDER = [
    "bool",
    "uint8",
    "int8",
    "int16",
    "int32",
    "int64",
    "float16",
    "bfloat16",
    "float32",
    "float64",
    "complex64",
    "complex128",
]


def _default(kind: int, numpy: bool) -> str:
    return (
        "bool",
        "int64",
        "float64" if numpy else "float32",
        "complex128" if numpy else "complex64",
    )[kind]


def _scalar_kind(v: Value) -> int | None:
    if isinstance(v, bool):
        return 0
    if isinstance(v, (int, S.Expr)):
        return 1
    if isinstance(v, float):
        return 2
    if isinstance(v, complex):
        return 3
    return None


def promote(values: list[Value]) -> str | None:
    """Roughly torch's result dtype: tensors decide within a kind; a scalar of a higher kind
    (e.g. a float with an int tensor) gives that kind's default dtype."""
    tensors = [v for v in values if isinstance(v, Tensor)]
    if not tensors or any(t.dtype not in _KIND for t in tensors):
        return None
    numpy = all(t.numpy for t in tensors)
    best = tensors[0].dtype
    assert best is not None
    for t in tensors[1:]:
        assert t.dtype is not None
        ka, kb = _KIND[best], _KIND[t.dtype]
        if {best, t.dtype} == {"float16", "bfloat16"}:
            best = "float32"
        elif kb > ka or (kb == ka and _ORDER.index(t.dtype) > _ORDER.index(best)):
            best = t.dtype
    for v in values:
        if isinstance(v, Tensor):
            continue
        k = _scalar_kind(v)
        if k is None:
            return None
        if k > _KIND[best]:
            best = _default(k, numpy)
    return best


def broadcast_all(c: RuleCall, shapes: list[Shape], what: str) -> Shape:
    """Broadcast shapes left to right; SH108 on a proven mismatch."""
    out = shapes[0]
    for s in shapes[1:]:
        res, err = S.broadcast(out, s)
        if err is not None:
            axis, da, db = err
            c.fail(
                "SH108",
                f"{what}: shapes {fmt_shape(out)} and {fmt_shape(s)} do not broadcast: "
                f"dim -{axis} is {fmt(da)} vs {fmt(db)}",
            )
        assert res is not None
        out = res
    return out


def elementwise(c: RuleCall, operands: list[Value], what: str, dtype: str | None) -> Value:
    """Broadcast all tensor operands (numbers count as 0D)."""
    tensors = [v for v in operands if isinstance(v, Tensor)]
    numpy = bool(tensors) and all(t.numpy for t in tensors)
    if not tensors:
        return UNKNOWN
    if any(t.shape is None for t in tensors) or any(
        not isinstance(v, Tensor) and _scalar_kind(v) is None for v in operands
    ):
        return Tensor(None, dtype, numpy)
    shapes = [t.shape for t in tensors if t.shape is not None]
    out = broadcast_all(c, shapes, what)
    if len(shapes) > 1:
        c.note(f"{' ⊕ '.join(fmt_shape(s) for s in shapes)} → {fmt_shape(out)}")
    return Tensor(out, dtype, numpy, (*tensors[0].trace, f"{what} → {fmt_shape(out)}"))


_BINARY = {
    # name: result dtype rule ("promote" / "float" / "bool")
    "add": "promote",
    "sub": "promote",
    "subtract": "promote",
    "mul": "promote",
    "multiply": "promote",
    "div": "float",
    "divide": "float",
    "true_divide": "float",
    "floor_divide": "promote",
    "remainder": "promote",
    "fmod": "promote",
    "maximum": "promote",
    "minimum": "promote",
    "fmax": "promote",
    "fmin": "promote",
    "atan2": "float",
    "hypot": "promote",
    "copysign": "float",
    "eq": "bool",
    "ne": "bool",
    "lt": "bool",
    "le": "bool",
    "gt": "bool",
    "ge": "bool",
    "greater": "bool",
    "less": "bool",
    "greater_equal": "bool",
    "less_equal": "bool",
    "not_equal": "bool",
    "logical_and": "bool",
    "logical_or": "bool",
    "logical_xor": "bool",
    "bitwise_and": "promote",
    "bitwise_or": "promote",
    "bitwise_xor": "promote",
}


def _result_dtype(rule: str, operands: list[Value], rounding: Value = None) -> str | None:
    if rule == "bool":
        return "bool"
    dt = promote(operands)
    if rule == "float" and rounding is None and dt is not None and _KIND[dt] < 2:
        numpy = all(v.numpy for v in operands if isinstance(v, Tensor))
        return "float64" if numpy else "float32"
    return dt


def _binary(c: RuleCall, name: str, rule: str, inplace: bool) -> Value:
    a, b = c.args.get("input"), c.args.get("other")
    dtype = _result_dtype(rule, [a, b], c.args.get("rounding_mode"))
    out = elementwise(c, [a, b], name, dtype)
    if inplace and isinstance(a, Tensor):
        if (
            isinstance(out, Tensor)
            and a.shape is not None
            and out.shape is not None
            and S.shape_eq(out.shape, a.shape) is False
        ):
            c.fail(
                "SH108",
                f"{name}_: the result shape {fmt_shape(out.shape)} does not match "
                f"the in-place target {fmt_shape(a.shape)}",
            )
        return a
    return out


for _name, _rule in _BINARY.items():
    _sig = (
        "input, other, *, alpha=1"
        if _name in ("add", "sub", "subtract")
        else (
            "input, other, *, rounding_mode=None" if _name in ("div", "divide") else "input, other"
        )
    )
    function(f"torch.{_name}", f"torch.Tensor.{_name}", sig=_sig)(
        lambda c, n=_name, r=_rule: _binary(c, n, r, False)  # type: ignore[misc]
    )
    function(f"torch.Tensor.{_name}_", sig=_sig)(lambda c, n=_name, r=_rule: _binary(c, n, r, True))  # type: ignore[misc]


@function("torch.pow", "torch.Tensor.pow", "torch.float_power", sig="input, exponent")
def pow_(c: RuleCall) -> Value:
    """Broadcasting power."""
    a, b = c.args.get("input"), c.args.get("exponent")
    return elementwise(c, [a, b], "pow", promote([a, b]))


@function("torch.where", sig="condition, input=None, other=None")
def where(c: RuleCall) -> Value:
    """Three-way broadcast; the one-argument form gives index tuples (unknown here)."""
    cond, a, b = c.args.get("condition"), c.args.get("input"), c.args.get("other")
    if a is None or b is None:
        return UNKNOWN
    return elementwise(c, [cond, a, b], "where", promote([a, b]))


# ------------------------------------------------------------------------------ matmul family


def _same_dtype(c: RuleCall, a: Tensor, b: Tensor, what: str) -> None:
    if a.dtype and b.dtype and a.dtype != b.dtype:
        c.fail("SH110", f"{what}: operands have different dtypes {a.dtype} and {b.dtype}")


def _inner(c: RuleCall, a: Shape, b: Shape, ka: Dim, kb: Dim, what: str) -> None:
    if S.eq(ka, kb) is False:
        c.fail(
            "SH107",
            f"{what}: {fmt_shape(a)} @ {fmt_shape(b)}: inner dimensions differ "
            f"({fmt(ka)} vs {fmt(kb)})",
        )


def matmul_apply(c: RuleCall, a: Value, b: Value, what: str = "matmul") -> Value:
    """torch.matmul's rules: 1D-1D dot, 2D mm, 1D promoted, batch dims broadcast."""
    if not isinstance(a, Tensor) or not isinstance(b, Tensor):
        return unknown_like(a if isinstance(a, Tensor) else None)
    if a.shape is None or b.shape is None:
        return Tensor(None, a.dtype, a.numpy)
    if not a.shape or not b.shape:
        c.fail(
            "SH109",
            f"{what}: both arguments need at least 1 dimension, got "
            f"{fmt_shape(a.shape)} and {fmt_shape(b.shape)}",
        )
    _same_dtype(c, a, b, what)
    a2 = a.shape if len(a.shape) > 1 else (1, a.shape[0])
    b2 = b.shape if len(b.shape) > 1 else (b.shape[0], 1)
    _inner(c, a.shape, b.shape, a2[-1], b2[-2], what)
    batch = broadcast_all(c, [a2[:-2], b2[:-2]], what) if len(a2) > 2 or len(b2) > 2 else ()
    out = (
        *batch,
        *((a2[-2],) if len(a.shape) > 1 else ()),
        *((b2[-1],) if len(b.shape) > 1 else ()),
    )
    c.note(f"{fmt_shape(a.shape)} @ {fmt_shape(b.shape)} → {fmt_shape(out)}")
    return a.with_shape(tuple(out), f"{what} → {fmt_shape(tuple(out))}")


@function("torch.matmul", "torch.Tensor.matmul", "numpy.matmul", sig="input, other")
def matmul(c: RuleCall) -> Value:
    """a @ b."""
    return matmul_apply(c, c.args.get("input"), c.args.get("other"))


@function("torch.mm", "torch.Tensor.mm", sig="input, mat2")
def mm(c: RuleCall) -> Value:
    """Strict 2D matrix product."""
    a, b = c.args.tensor("input"), c.args.tensor("mat2")
    for x in (a, b):
        if x is not None and x.shape is not None and len(x.shape) != 2:
            c.fail("SH109", f"mm expects 2D tensors, got {fmt_shape(x.shape)}")
    return matmul_apply(c, a, b, "mm")


@function("torch.bmm", "torch.Tensor.bmm", sig="input, mat2")
def bmm(c: RuleCall) -> Value:
    """Strict 3D batched product: equal batch sizes, no broadcasting."""
    a, b = c.args.tensor("input"), c.args.tensor("mat2")
    for x in (a, b):
        if x is not None and x.shape is not None and len(x.shape) != 3:
            c.fail("SH109", f"bmm expects 3D tensors, got {fmt_shape(x.shape)}")
    if (
        a is not None
        and b is not None
        and a.shape is not None
        and b.shape is not None
        and S.eq(a.shape[0], b.shape[0]) is False
    ):
        c.fail("SH107", f"bmm: batch sizes differ: {fmt_shape(a.shape)} and {fmt_shape(b.shape)}")
    return matmul_apply(c, a, b, "bmm")


@function("torch.nn.functional.linear", sig="input, weight, bias=None")
def f_linear(c: RuleCall) -> Value:
    """x @ weight.T + bias; weight (out, in) or (in,)."""
    x, w = c.args.tensor("input"), c.args.tensor("weight")
    if x is None or w is None or x.shape is None or w.shape is None:
        return unknown_like(x)
    if not x.shape or len(w.shape) not in (1, 2):
        c.fail("SH109", f"linear: input {fmt_shape(x.shape)}, weight {fmt_shape(w.shape)}")
    _same_dtype(c, x, w, "linear")
    if S.eq(x.shape[-1], w.shape[-1]) is False:
        c.fail(
            "SH101",
            f"linear: input {fmt_shape(x.shape)} has last dimension {fmt(x.shape[-1])} but "
            f"weight {fmt_shape(w.shape)} expects {fmt(w.shape[-1])}",
            FixHint("set_arg", "in_features", x.shape[-1]),
        )
    out = (*x.shape[:-1], w.shape[0]) if len(w.shape) == 2 else x.shape[:-1]
    return x.with_shape(tuple(out), f"linear → {fmt_shape(tuple(out))}")


# ------------------------------------------------------------------------------ cat / stack


def _tensor_list(v: Value) -> list[Tensor] | None:
    if not isinstance(v, tuple | list):
        return None
    if not all(isinstance(e, Tensor) for e in v):
        return None
    return list(v)


def cat_apply(c: RuleCall, items: Value, dim: Value, what: str) -> Value:
    """Join along dim: same rank, equal sizes elsewhere."""
    ts = _tensor_list(items)
    if ts is None:
        return UNKNOWN if not isinstance(items, tuple | list) else Tensor(None, None)
    if not ts:
        c.fail("SH112", f"{what} expects a non-empty list of tensors")
    dtype = promote(list(ts))
    # torch skips legacy empty 1D tensors of shape (0,)
    shaped = [t for t in ts if t.shape != (0,)]
    if any(t.shape is None for t in shaped) or not shaped:
        return Tensor(None, dtype)
    shapes = [t.shape for t in shaped if t.shape is not None]
    rank = len(shapes[0])
    if rank == 0:
        c.fail("SH109", f"{what}: zero-dimensional tensors cannot be concatenated")
    for i, s in enumerate(shapes[1:], 1):
        if len(s) != rank:
            c.fail(
                "SH106",
                f"{what}: tensors must have the same number of dimensions: "
                f"{fmt_shape(shapes[0])} vs {fmt_shape(s)} (tensor {i})",
            )
    d = norm_dim(c, dim, rank)
    if d is None:
        return Tensor((UNKNOWN,) * rank, dtype)
    out: list[Dim] = list(shapes[0])
    for i, s in enumerate(shapes[1:], 1):
        for j in range(rank):
            if j == d:
                continue
            if S.eq(out[j], s[j]) is False:
                c.fail(
                    "SH106",
                    f"{what}: sizes must match except in dimension {d}: "
                    f"{fmt_shape(shapes[0])} vs {fmt_shape(s)} (tensor {i}, dim {j}: "
                    f"{fmt(out[j])} vs {fmt(s[j])})",
                )
            if not isinstance(out[j], int) and isinstance(s[j], int):
                out[j] = s[j]
    total: Dim = 0
    for s in shapes:
        total = S.add(total, s[d])
    out[d] = total
    c.note(f"{what} along dim {d}: {' + '.join(fmt(s[d]) for s in shapes)} = {fmt(total)}")
    return Tensor(tuple(out), dtype, False, (*shaped[0].trace, f"{what} → {fmt_shape(tuple(out))}"))


@function("torch.cat", "torch.concat", sig="tensors, dim=0")
def cat(c: RuleCall) -> Value:
    """torch.cat((a, b), dim)."""
    return cat_apply(c, c.args.get("tensors"), c.args.get("dim"), "cat")


@function("torch.concatenate", sig="tensors, axis=0")
def concatenate(c: RuleCall) -> Value:
    """torch.concatenate(tensors, axis)."""
    return cat_apply(c, c.args.get("tensors"), c.args.get("axis"), "concatenate")


@function("torch.stack", sig="tensors, dim=0")
def stack(c: RuleCall) -> Value:
    """Stack equal shapes along a new dim."""
    items = c.args.get("tensors")
    ts = _tensor_list(items)
    if ts is None:
        return UNKNOWN if not isinstance(items, tuple | list) else Tensor(None, None)
    if not ts:
        c.fail("SH112", "stack expects a non-empty list of tensors")
    dtype = promote(list(ts))
    if any(t.shape is None for t in ts):
        return Tensor(None, dtype)
    shapes = [t.shape for t in ts if t.shape is not None]
    first = shapes[0]
    for i, s in enumerate(shapes[1:], 1):
        if S.shape_eq(first, s) is False:
            c.fail(
                "SH106",
                f"stack expects each tensor to be equal size, but got "
                f"{fmt_shape(first)} at entry 0 and {fmt_shape(s)} at entry {i}",
            )
    d = norm_dim(c, c.args.get("dim"), len(first) + 1)
    if d is None:
        return Tensor(None, dtype)
    out = (*first[:d], len(ts), *first[d:])
    return Tensor(out, dtype, False, (*ts[0].trace, f"stack → {fmt_shape(out)}"))


# ------------------------------------------------------------------------------ distances


def _reduce_dim(c: RuleCall, shape: Shape, dim: Value, keepdim: bool) -> Shape:
    d = norm_dim(c, dim, len(shape))
    if d is None:
        return shape
    if keepdim:
        return (*shape[:d], 1, *shape[d + 1 :])
    return (*shape[:d], *shape[d + 1 :])


@function(
    "torch.nn.functional.pairwise_distance",
    "torch.pairwise_distance",
    sig="x1, x2, p=2.0, eps=1e-06, keepdim=False",
)
def pairwise_distance(c: RuleCall) -> Value:
    """The p-norm of x1 - x2 over the last (broadcast) dim."""
    a, b = c.args.tensor("x1"), c.args.tensor("x2")
    if a is None or b is None or a.shape is None or b.shape is None:
        return unknown_like(a)
    out = broadcast_all(c, [a.shape, b.shape], "pairwise_distance")
    if not out:
        return a.with_shape((), "pairwise_distance")
    res = _reduce_dim(c, out, -1, c.args.bool("keepdim") is True)
    return a.with_shape(res, f"pairwise_distance → {fmt_shape(res)}")


@function(
    "torch.nn.functional.cosine_similarity",
    "torch.cosine_similarity",
    sig="x1, x2, dim=1, eps=1e-08",
)
def cosine_similarity(c: RuleCall) -> Value:
    """Broadcast, then reduce `dim`."""
    a, b = c.args.tensor("x1"), c.args.tensor("x2")
    if a is None or b is None or a.shape is None or b.shape is None:
        return unknown_like(a)
    out = broadcast_all(c, [a.shape, b.shape], "cosine_similarity")
    res = _reduce_dim(c, out, c.args.get("dim"), False)
    return a.with_shape(res, f"cosine_similarity → {fmt_shape(res)}")
