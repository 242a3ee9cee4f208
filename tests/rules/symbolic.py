"""Exact symbolic results: the check behind every `test_*symbolic_inputs_are_sound`.

A case that torch runs is given to the engine twice with symbols for sizes: every input dim a
symbol ("all"), then only the first tensor's dims ("first": symbols meet integers). Each time

- no false alarm (torch ran these sizes);
- the result is exact: every dim known (a rule may give up only where the test says so), and
  with the case's sizes substituted it is torch's shape and dtype;
- it holds for other sizes too: each symbol in turn is set to 1 and to its size + 1, torch runs
  the call again, and where torch accepts, the same symbolic result (substituted) must be
  torch's new shape. A symbol returned where the answer is an integer (`s0` for a dim that
  broadcasts to 3) or the wrong symbol of the same size fails here.
"""

from __future__ import annotations

from collections.abc import Callable, Collection

from shape_lsp.core.values.abstract import Tensor
from shape_lsp.core.values.shapes import Dim, Expr, Unknown, render, substitute
from tests.rules.harness import Dims, Outcome

MODES = ("all", "first")


def _real_tensor(v: object) -> tuple[tuple[int, ...], str] | None:
    import numpy as np
    import torch

    if isinstance(v, torch.Tensor):
        return tuple(v.shape), str(v.dtype).removeprefix("torch.")
    if isinstance(v, np.ndarray | np.generic):
        return tuple(np.shape(v)), str(v.dtype)
    return None


def compare(
    ours: object, real: object, values: dict[str, int], exact: bool, path: str = "result"
) -> str | None:
    """None when the engine's value is torch's once `values` fill the symbols, else why not.
    exact: unknown dims / shapes count as a difference."""
    import torch

    if isinstance(ours, Unknown):
        return f"{path}: unknown" if exact else None
    if isinstance(ours, Tensor):
        if isinstance(real, tuple | list) and real and isinstance(real[0], torch.Tensor):
            real = real[0]  # a (values, indices)-like result given as its first tensor
        got = _real_tensor(real)
        if got is None:
            return f"{path}: the engine gave a tensor, torch {type(real).__name__}"
        shape, dtype = got
        if ours.dtype is not None and ours.dtype != dtype:
            return f"{path}: dtype {ours.dtype}, torch {dtype}"
        if ours.shape is None:
            return f"{path}: unknown shape (torch {shape})" if exact else None
        if len(ours.shape) != len(shape):
            return f"{path}: rank {len(ours.shape)}, torch {shape}"
        for i, (d, r) in enumerate(zip(ours.shape, shape, strict=True)):
            problem = _dim(d, r, values, exact, f"{path}[{i}]")
            if problem:
                return problem
        return None
    if isinstance(ours, tuple | list):
        if _real_tensor(real) is not None:  # an engine tuple for one tensor: not comparable
            return f"{path}: the engine gave a {type(ours).__name__}, torch a tensor"
        if not isinstance(real, tuple | list) or len(real) != len(ours):
            return f"{path}: {len(ours)} elements, torch {real!r}"
        for i, (a, b) in enumerate(zip(ours, real, strict=True)):
            problem = compare(a, b, values, exact, f"{path}[{i}]")
            if problem:
                return problem
        return None
    dim_like = isinstance(ours, Expr) or (isinstance(ours, int) and not isinstance(ours, bool))
    if dim_like and isinstance(real, int) and not isinstance(real, bool):
        return _dim(ours, real, values, exact, path)  # type: ignore[arg-type]
    return None  # other values (dtypes, flags) are compared by the concrete tests


def _dim(d: Dim, r: int, values: dict[str, int], exact: bool, path: str) -> str | None:
    if isinstance(d, Unknown):
        return f"{path}: unknown (torch {r})" if exact else None
    v = substitute(d, values)
    if v != r:
        return f"{path}: {render(d)} = {render(v)} with {values}, torch {r}"
    return None


def check(
    engine: Callable[[Dims], object],
    real: Callable[[Dims], object],
    gives_up: Collection[str] = (),
) -> None:
    """The module docstring's checks. engine(dims) / real(dims) run the case with that plan;
    gives_up: the modes ("all", "first") in which an unknown result is allowed."""
    for mode in MODES:
        dims = Dims(mode)
        ours = engine(dims)
        assert not isinstance(ours, Outcome), f"false alarm {ours.code} ({mode} symbolic)"
        values = dims.values
        if not values:
            continue
        base = real(Dims(mode))
        assert not isinstance(base, Exception), base
        problem = compare(ours, base, values, mode not in gives_up)
        assert problem is None, f"{mode} symbolic: {problem}"
        for name, size in values.items():
            for alt in (1, size + 1):
                if alt == size:
                    continue
                theirs = real(Dims(mode, {name: alt}))
                if isinstance(theirs, Exception):
                    continue
                problem = compare(ours, theirs, {**values, name: alt}, exact=False)
                assert problem is None, f"{mode} symbolic, {name}={alt} (was {size}): {problem}"
