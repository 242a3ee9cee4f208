"""Abstract values the interpreter computes: tensors, layers, modules, containers, constants.

Plain Python values stand for themselves: int, float, str, bool, None, and tuples of values.
Symbolic sizes are `shapes.Expr`; anything unknown is `shapes.UNKNOWN`.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from shape_lsp.core.values.shapes import UNKNOWN, Dim, Expr, Shape, Unknown, render_shape

if TYPE_CHECKING:
    pass

TRACE_LIMIT = 10

Value = Any
"""Any abstract value (typed loosely on purpose: Python values flow through unchanged)."""


class AssumedDtype(str):
    """A dtype the engine assumed, not read from the file: torch's default float32 for an
    input the file does not describe. It equals the plain name everywhere (rules compute
    with it as usual) and travels with the tensors that copy it; an explicit cast gives a
    plain name again. A dtype mismatch it takes part in is not reported."""

    __slots__ = ()


ASSUMED_FLOAT32 = AssumedDtype("float32")


def dtype_assumed(t: object) -> bool:
    """Whether a tensor's dtype is only the engine's assumption."""
    return isinstance(getattr(t, "dtype", None), AssumedDtype)


@dataclass(frozen=True, eq=False)
class Tensor:
    """A tensor (or NumPy array) with a shape (None: unknown rank) and a dtype (None: unknown)."""

    shape: Shape | None
    dtype: str | None = "float32"
    numpy: bool = False
    trace: tuple[str, ...] = field(default=(), compare=False)
    assumed: bool = field(default=False, compare=False)
    """The rank was guessed from a rank-agnostic first layer (Linear: (B, F)); checks that
    depend on the rank are not trusted on such tensors."""
    factors: tuple[Dim, ...] | None = field(default=None, compare=False)
    """The dims a flatten merged into the last dim (quick fixes write `16 * 5 * 5`)."""
    producer: tuple[object, Shape | None] | None = field(default=None, compare=False)
    """The last layer (a `rules.base.LayerValue`) that changed the shape, and its input shape
    (padding quick fixes)."""
    origin: tuple[int, ...] = field(default=(), compare=False)
    """The data-flow nodes that produced it in the running model (interpreter/dataflow.py)."""

    @property
    def rank(self) -> int | None:
        """The number of dimensions, when known."""
        return None if self.shape is None else len(self.shape)

    def with_shape(self, shape: Shape | None, step: str | None = None) -> Tensor:
        """A copy with a new shape, the step appended to the trace."""
        trace = self.trace if step is None else (*self.trace, step)[-TRACE_LIMIT:]
        same_last = bool(shape and self.shape and shape[-1] == self.shape[-1])
        same = shape == self.shape
        return replace(
            self,
            shape=shape,
            trace=trace,
            factors=self.factors if same_last else None,
            producer=self.producer if same else None,
        )

    def with_dtype(self, dtype: str | None) -> Tensor:
        """A copy with another dtype."""
        return replace(self, dtype=dtype)

    def describe(self) -> str:
        """`(B, 3, 32, 32) float32`."""
        text = render_shape(self.shape)
        return f"{text} {self.dtype}" if self.dtype else text

    def same_as(self, other: object) -> bool:
        """Shape and dtype identical (used to join branches)."""
        return (
            isinstance(other, Tensor)
            and self.shape == other.shape
            and self.dtype == other.dtype
            and self.numpy == other.numpy
        )


def unknown_tensor(dtype: str | None = None) -> Tensor:
    """A tensor of unknown rank."""
    return Tensor(None, dtype)


@dataclass(frozen=True)
class Qual:
    """A reference to an external qualified name, e.g. `torch.nn.Conv2d` (canonical form)."""

    name: str


class AbstractIterable:
    """A library object the interpreter follows through Python's protocols only: iteration
    of unknown length (every item alike), indexing and len() (a DataLoader, a Dataset)."""

    def iter_item(self) -> Value:
        """What one iteration step yields."""
        return UNKNOWN

    def get_item(self, key: Value) -> Value:
        """`obj[key]`."""
        return UNKNOWN

    def length(self) -> Value:
        """`len(obj)`."""
        return UNKNOWN


def as_dim(v: Value) -> Dim:
    """Interpret a value as a dimension size: int / Expr, else UNKNOWN."""
    if isinstance(v, bool):
        return int(v)
    if isinstance(v, int | Expr):
        return v
    return UNKNOWN


def is_unknown(v: Value) -> bool:
    """True for the UNKNOWN sentinel."""
    return isinstance(v, Unknown)
