"""Indexing and slicing (`x[...]`), narrow / select, and the splitting family
(split / chunk / unbind / tensor_split) whose results are Python tuples of tensors.

A tuple result is only built when the number of pieces is static; otherwise the result is
UNKNOWN. `x[...]` follows torch's basic and advanced indexing rules; whenever an entry is not
static the result is a tensor of unknown shape.
"""

from __future__ import annotations

import itertools

from shape_lsp.core.rules.base import (
    RuleCall,
    fmt,
    fmt_shape,
    function,
    norm_dim,
    unknown_like,
)
from shape_lsp.core.values import shapes as S
from shape_lsp.core.values.abstract import Tensor, Value, as_dim
from shape_lsp.core.values.shapes import UNKNOWN, Dim, Shape

INT_INDEX = ("int64", "int32", "int16", "int8")


def _is_int(v: Value) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _is_size(v: Value) -> bool:
    return _is_int(v) or isinstance(v, S.Expr)


def _pieces(x: Tensor, d: int, sizes: list[Dim], what: str) -> tuple[Tensor, ...]:
    assert x.shape is not None
    return tuple(
        x.with_shape((*x.shape[:d], s, *x.shape[d + 1 :]), f"{what}[{i}]")
        for i, s in enumerate(sizes)
    )


def _dim_of(c: RuleCall, x: Tensor | None, dim: Value) -> tuple[Tensor, int] | None:
    if x is None or x.shape is None:
        return None
    if not x.shape:
        c.fail("SH109", f"cannot split a 0-dimensional tensor {fmt_shape(x.shape)}")
    d = norm_dim(c, dim, len(x.shape))
    return None if d is None else (x, d)


def split_apply(c: RuleCall, x: Tensor | None, spec: Value, dim: Value, what: str) -> Value:
    """split(int size) or split([sizes])."""
    got = _dim_of(c, x, dim)
    if got is None:
        return UNKNOWN
    x, d = got
    assert x.shape is not None
    size = x.shape[d]
    if isinstance(spec, tuple | list):
        if not all(_is_size(v) for v in spec):
            return UNKNOWN
        sizes = [as_dim(v) for v in spec]
        if any(isinstance(s, int) and s < 0 for s in sizes):
            c.fail("SH112", f"{what}: split sizes must be non-negative, got {tuple(spec)}")
        total: Dim = 0
        for s in sizes:
            total = S.add(total, s)
        if S.eq(total, size) is False:
            c.fail(
                "SH112",
                f"{what}: split sizes {tuple(fmt(s) for s in sizes)} sum to {fmt(total)}, but "
                f"dim {d} of {fmt_shape(x.shape)} has size {fmt(size)}",
            )
        return _pieces(x, d, sizes, what)
    if not _is_size(spec):
        return UNKNOWN
    step = as_dim(spec)
    if isinstance(step, int) and step <= 0:
        if step < 0 or S.eq(size, 0) is False:
            c.fail("SH112", f"{what}: split_size must be positive, got {step}")
        return UNKNOWN
    if isinstance(size, int) and isinstance(step, int):
        full, rest = divmod(size, step)
        out = [step] * full + ([rest] if rest else [])
        if not out:
            out = [0]
        return _pieces(x, d, list(out), what)
    n = S.exact_div(size, step)
    if isinstance(n, int) and n > 0:
        return _pieces(x, d, [step] * n, what)
    return UNKNOWN


@function("torch.split", sig="tensor, split_size_or_sections, dim=0")
def split(c: RuleCall) -> Value:
    """torch.split(x, 2) / torch.split(x, [1, 3], dim=1)."""
    a = c.args
    return split_apply(
        c, a.tensor("tensor"), a.get("split_size_or_sections"), a.get("dim"), "split"
    )


@function("torch.Tensor.split", sig="input, split_size, dim=0")
def split_method(c: RuleCall) -> Value:
    """x.split(2, dim=1)."""
    a = c.args
    return split_apply(c, a.tensor("input"), a.get("split_size"), a.get("dim"), "split")


@function(
    "torch.split_with_sizes",
    "torch.Tensor.split_with_sizes",
    sig="input, split_sizes, dim=0",
)
def split_with_sizes(c: RuleCall) -> Value:
    """Explicit sizes only."""
    a = c.args
    return split_apply(c, a.tensor("input"), a.get("split_sizes"), a.get("dim"), "split")


@function("torch.chunk", "torch.Tensor.chunk", sig="input, chunks, dim=0")
def chunk(c: RuleCall) -> Value:
    """ceil(size / chunks)-sized pieces; possibly fewer than `chunks`."""
    a = c.args
    n = a.get("chunks")
    if _is_int(n) and n <= 0:
        c.fail("SH112", f"chunk expects `chunks` to be greater than 0, got {n}")
    got = _dim_of(c, a.tensor("input"), a.get("dim"))
    if got is None or not _is_int(n):
        return UNKNOWN
    x, d = got
    assert x.shape is not None
    size = x.shape[d]
    if isinstance(size, int):
        step = -(-size // n)
        if step == 0:
            return _pieces(x, d, [0] * n, "chunk")
        return split_apply(c, x, step, d, "chunk")
    per = S.exact_div(size, n)
    if S.is_known(per):
        return _pieces(x, d, [per] * n, "chunk")
    return UNKNOWN


@function("torch.unbind", "torch.Tensor.unbind", sig="input, dim=0")
def unbind(c: RuleCall) -> Value:
    """A tuple of size(dim) tensors with that dim removed."""
    got = _dim_of(c, c.args.tensor("input"), c.args.get("dim"))
    if got is None:
        return UNKNOWN
    x, d = got
    assert x.shape is not None
    n = x.shape[d]
    if not isinstance(n, int):
        return UNKNOWN
    out = (*x.shape[:d], *x.shape[d + 1 :])
    return tuple(x.with_shape(out, f"unbind[{i}]") for i in range(n))


@function(
    "torch.tensor_split",
    "torch.Tensor.tensor_split",
    sig="input, indices_or_sections, dim=0",
)
def tensor_split(c: RuleCall) -> Value:
    """n near-equal sections (the first size % n one larger), or cuts at indices."""
    a = c.args
    spec = a.get("indices_or_sections")
    if _is_int(spec) and spec <= 0:
        c.fail("SH112", f"tensor_split: number of sections must be larger than 0, got {spec}")
    got = _dim_of(c, a.tensor("input"), a.get("dim"))
    if got is None:
        return UNKNOWN
    x, d = got
    assert x.shape is not None
    size = x.shape[d]
    if _is_int(spec):
        if isinstance(size, int):
            q, r = divmod(size, spec)
            return _pieces(x, d, [q + 1] * r + [q] * (spec - r), "tensor_split")
        per = S.exact_div(size, spec)
        return _pieces(x, d, [per] * spec, "tensor_split") if S.is_known(per) else UNKNOWN
    if isinstance(spec, tuple | list) and all(_is_int(v) for v in spec):
        if not isinstance(size, int):
            return UNKNOWN
        cuts = [0, *spec, size]
        sizes: list[Dim] = []
        for lo, hi in itertools.pairwise(cuts):
            lo_c = min(max(lo + size if lo < 0 else lo, 0), size)
            hi_c = min(max(hi + size if hi < 0 else hi, 0), size)
            sizes.append(max(hi_c - lo_c, 0))
        return _pieces(x, d, sizes, "tensor_split")
    return UNKNOWN


@function("torch.narrow", "torch.Tensor.narrow", sig="input, dim, start, length")
def narrow(c: RuleCall) -> Value:
    """dim resized to length; start + length must fit."""
    a = c.args
    x = a.tensor("input")
    if x is None or x.shape is None:
        return unknown_like(x)
    if not x.shape:
        c.fail("SH109", "narrow() cannot be applied to a 0-dim tensor")
    d = norm_dim(c, a.get("dim"), len(x.shape))
    if d is None:
        return Tensor((UNKNOWN,) * len(x.shape), x.dtype)
    size = x.shape[d]
    start, length = a.get("start"), a.dim("length")
    if isinstance(length, int) and length < 0:
        c.fail("SH112", f"narrow(): length must be non-negative, got {length}")
    if _is_int(start) and isinstance(size, int):
        if not -size <= start <= size:
            c.fail("SH112", f"narrow(): start {start} is out of bounds for size {size}")
        begin = start + size if start < 0 else start
        if isinstance(length, int) and begin + length > size:
            c.fail(
                "SH112",
                f"narrow(): start ({start}) + length ({length}) exceeds dimension size ({size})",
            )
    out = (*x.shape[:d], length, *x.shape[d + 1 :])
    return x.with_shape(out, f"narrow → {fmt_shape(out)}")


def _check_index(c: RuleCall, i: Value, size: Dim, d: int, x: Tensor, what: str) -> None:
    if _is_int(i) and isinstance(size, int) and not -size <= i < size:
        c.fail(
            "SH112",
            f"{what}: index {i} is out of range for dim {d} of size {size} in {fmt_shape(x.shape)}",
        )


@function("torch.select", "torch.Tensor.select", sig="input, dim, index")
def select(c: RuleCall) -> Value:
    """One index along dim: that dim disappears."""
    a = c.args
    x = a.tensor("input")
    if x is None or x.shape is None:
        return unknown_like(x)
    if not x.shape:
        c.fail("SH109", "select() cannot be applied to a 0-dim tensor")
    d = norm_dim(c, a.get("dim"), len(x.shape))
    if d is None:
        return Tensor((UNKNOWN,) * (len(x.shape) - 1), x.dtype)
    _check_index(c, a.get("index"), x.shape[d], d, x, "select()")
    out = (*x.shape[:d], *x.shape[d + 1 :])
    return x.with_shape(out, f"select → {fmt_shape(out)}")


# ------------------------------------------------------------------------------ __getitem__


def _nonneg(d: Dim) -> bool:
    return S.lt(d, 0) is False


def _bound(v: Value) -> Dim | bool | None:
    """A slice bound as a dim; None for None; False when not static."""
    if v is None:
        return None
    if _is_size(v):
        return as_dim(v)
    return False


def slice_len(size: Dim, sl: slice) -> Dim:
    """len(range(size)[sl]) — exact for ints, symbolic where provable, else UNKNOWN."""
    start, stop, step = _bound(sl.start), _bound(sl.stop), _bound(sl.step)
    if start is False or stop is False or step is False:
        return UNKNOWN
    step_i = 1 if step is None else step
    if not isinstance(step_i, int):
        return UNKNOWN
    ints = [b for b in (start, stop) if b is None or isinstance(b, int)]
    if isinstance(size, int) and len(ints) == 2:
        return len(range(size)[slice(ints[0], ints[1], step_i)])
    if not S.is_known(size) or step_i < 1:
        return UNKNOWN

    def clamp(b: Dim | None, default: Dim) -> Dim:
        if b is None:
            return default
        assert not isinstance(b, bool)
        if isinstance(b, int) and b < 0:
            shifted = S.add(size, b)
            return shifted if _nonneg(shifted) else UNKNOWN
        if not _nonneg(b):
            return UNKNOWN
        if S.lt(size, b) is False:  # b <= size
            return b
        if S.lt(size, b) is True:
            return size
        return UNKNOWN

    lo, hi = clamp(start, 0), clamp(stop, size)
    n = S.sub(hi, lo)
    if not S.is_known(n):
        return UNKNOWN
    neg = S.lt(n, 0)
    if neg is True:
        return 0
    if neg is None:
        return UNKNOWN
    return S.ceildiv(n, step_i) if step_i > 1 else n


def _adv_shape(c: RuleCall, e: Value, sizes: Shape, x: Tensor) -> Shape | None:
    """The broadcast shape an advanced index contributes (None: unknown)."""
    if isinstance(e, list):
        if all(isinstance(v, bool) for v in e):
            if len(sizes) == 1 and isinstance(sizes[0], int) and sizes[0] != len(e):
                c.fail(
                    "SH112",
                    f"index: the mask of length {len(e)} does not match the indexed dim "
                    f"of size {sizes[0]}",
                )
            return (UNKNOWN,)
        if all(_is_int(v) for v in e):
            for v in e:
                if isinstance(sizes[0], int) and not -sizes[0] <= v < sizes[0]:
                    c.fail("SH112", f"index {v} is out of bounds for a dim of size {sizes[0]}")
            return (len(e),)
        return None
    assert isinstance(e, Tensor)
    if e.shape is None or e.dtype is None:
        return None
    if e.dtype in ("bool", "uint8"):
        if S.shape_eq(e.shape, sizes) is False:
            c.fail(
                "SH112",
                f"index: the mask {fmt_shape(e.shape)} does not match the shape of the indexed "
                f"dims {fmt_shape(sizes)} of {fmt_shape(x.shape)}",
            )
        return (UNKNOWN,)
    if e.dtype not in INT_INDEX:
        c.fail(
            "SH110",
            f"tensors used as indices must be long, int, byte or bool tensors, got {e.dtype}",
        )
    return e.shape


def getitem_apply(c: RuleCall, x: Tensor | None, idx: Value) -> Value:
    """torch's basic + advanced indexing on shapes."""
    if x is None or x.shape is None:
        return unknown_like(x)
    entries = list(idx) if isinstance(idx, tuple) else [idx]
    if len(entries) == 1 and isinstance(entries[0], tuple):
        entries = list(entries[0])
    if any(isinstance(e, S.Unknown) for e in entries):
        return unknown_like(x)

    def consumed(e: Value) -> int | None:
        if e is None or e is Ellipsis:
            return 0
        if isinstance(e, Tensor):
            if e.dtype in ("bool", "uint8"):
                return None if e.shape is None else max(len(e.shape), 1)
            return 1
        if isinstance(e, bool):
            return 0
        return 1

    counts = [consumed(e) for e in entries]
    if any(n is None for n in counts):
        return unknown_like(x)
    used = sum(n for n in counts if n is not None)
    rank = len(x.shape)
    if sum(e is Ellipsis for e in entries) > 1:
        return unknown_like(x)  # torch accepts several, with its own rules
    if used > rank:
        c.fail(
            "SH109",
            f"too many indices for tensor of dimension {rank}: {fmt_shape(x.shape)} "
            f"indexed with {used}",
        )
    if Ellipsis not in entries:
        entries.append(Ellipsis)
    out: list[Dim] = []
    adv: list[tuple[int, Shape | None]] = []  # (position in out, contributed shape)
    adv_entries: list[int] = []
    pos = 0
    slot = 0  # position among entries that keep a place (ints and empty ellipses do not)
    for k, e in enumerate(entries):
        if not (_is_size(e) or (e is Ellipsis and rank == used)):
            slot += 1
        if e is Ellipsis:
            n = rank - used
            out.extend(x.shape[pos : pos + n])
            pos += n
        elif e is None:
            out.append(1)
        elif isinstance(e, bool):
            return unknown_like(x)
        elif _is_size(e):
            _check_index(c, e, x.shape[pos], pos, x, "index")
            pos += 1
        elif isinstance(e, slice):
            step = e.step
            if _is_int(step) and step <= 0:
                c.fail("SH112", "slice step must be positive (negative steps are not supported)")
            out.append(slice_len(x.shape[pos], e))
            pos += 1
        elif isinstance(e, Tensor | list):
            m = counts[k]
            assert m is not None
            sizes = x.shape[pos : pos + m]
            adv.append((len(out), _adv_shape(c, e, sizes, x)))
            adv_entries.append(slot)
            pos += m
        else:
            return unknown_like(x)
    if adv:
        if any(s is None for _, s in adv):
            return unknown_like(x)
        from shape_lsp.core.rules.arith import broadcast_all

        shapes = [s for _, s in adv if s is not None]
        joined = broadcast_all(c, shapes, "index") if len(shapes) > 1 else shapes[0]
        adjacent = adv_entries == list(range(adv_entries[0], adv_entries[0] + len(adv_entries)))
        at = adv[0][0] if adjacent else 0
        out = [*out[:at], *joined, *out[at:]]
    shape = tuple(out)
    return x.with_shape(shape, f"[...] → {fmt_shape(shape)}")


@function("torch.Tensor.__getitem__", sig="input, idx")
def getitem(c: RuleCall) -> Value:
    """x[idx]: idx is a tuple with one entry per subscript element."""
    return getitem_apply(c, c.args.tensor("input"), c.args.get("idx"))
