"""Data pipelines for the interpreter: datasets, transforms, DataLoader, keras.datasets.

Registered through the interpreter's extension interface (`EXTENSIONS`) like the Keras
support; the shapes themselves come from the declarative rules in
rules/data_torchvision.py, rules/transforms_torchvision.py and rules/data_arrays.py. Nothing here
imports torch/torchvision.

- A torchvision dataset, a `TensorDataset`, or a user `Dataset` subclass (its `__init__`,
  `__getitem__` and `__len__` are interpreted) is a `DatasetValue`: one sample and a length.
- `DataLoader(ds, batch_size=64)` is a `LoaderValue`; iterating it (`for x, y in loader`,
  `enumerate(loader)`, `next(iter(loader))`) gives the default-collated batch: tensors get a
  leading batch dim, ints become int64 (B,), floats float64 (B,). The batch dim is
  min(batch_size, len) when the length is known, batch_size with drop_last, else a symbol.
- Batch tensors carry "from loader (line N)" as the first trace step: model summaries name it.
- Anything not modelled (a Lambda, an unknown dataset, a custom collate_fn) is unknown.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import libcst as cst

from shape_lsp.core.interpreter.extensions import EXTENSIONS, CallHook
from shape_lsp.core.interpreter.objects import BoundMethod, ClassRef, FunctionRef, ModuleInstance
from shape_lsp.core.rules.base import Args, BindError, ShapeError, bind
from shape_lsp.core.rules.data_arrays import keras_dataset
from shape_lsp.core.rules.data_torchvision import (
    DATASETS,
    Image,
    IntTarget,
    dataset_length,
    dataset_sample,
)
from shape_lsp.core.rules.transforms_torchvision import TRANSFORMS
from shape_lsp.core.values import shapes as S
from shape_lsp.core.values.abstract import AbstractIterable, Tensor, Value
from shape_lsp.core.values.shapes import UNKNOWN, Dim, Unknown

if TYPE_CHECKING:
    from shape_lsp.core.interpreter.frame import Frame
    from shape_lsp.core.interpreter.interpret import Interpreter

DATA = "torch.utils.data."
DATASET_BASES = {DATA + "Dataset", DATA + "dataset.Dataset", DATA + "IterableDataset"}
_BATCH = S.sym("B")


# ---------------------------------------------------------------------- values


@dataclass(frozen=True, eq=False)
class TransformValue:
    """A transform pipeline: (rule name, bound args) steps; a None name is an unknown step."""

    steps: tuple[tuple[str | None, Args | None], ...]

    def __call__(self, item: Value) -> Value:
        """Apply every step; raises ShapeError like torchvision would raise."""
        for name, args in self.steps:
            if name is None or args is None:
                return UNKNOWN
            rule = TRANSFORMS[name]
            item = rule.apply(args, item)
            if isinstance(item, Unknown):
                return UNKNOWN
        return item


@dataclass(eq=False)
class DatasetValue(AbstractIterable):
    """A map-style dataset: one sample (before collation) and its length when known."""

    sample: Value
    size: Value = UNKNOWN
    origin: str = "dataset"

    def iter_item(self) -> Value:
        return self.sample

    def get_item(self, key: Value) -> Value:
        return self.sample if isinstance(key, int | Unknown | S.Expr) else UNKNOWN

    def length(self) -> Value:
        return self.size


@dataclass(eq=False)
class LoaderValue(AbstractIterable):
    """A DataLoader: iterating gives one collated batch."""

    batch: Value
    n_batches: Value = UNKNOWN

    def iter_item(self) -> Value:
        return self.batch

    def length(self) -> Value:
        return self.n_batches


@dataclass(eq=False)
class StreamValue(AbstractIterable):
    """iter(x) / enumerate(x) / zip(x, y) over abstract iterables: items all alike."""

    item: Value
    size: Value = UNKNOWN
    pairs: list[Value] = field(default_factory=list)

    def iter_item(self) -> Value:
        return self.item

    def length(self) -> Value:
        return self.size


# ---------------------------------------------------------------------- collation


class _CollateError(Exception):
    pass


def collate(item: Value, batch: Dim, origin: str) -> Value:
    """torch's default_collate of `batch` copies of one sample item."""
    trace = (f"from {origin}",)
    if isinstance(item, Tensor):
        if item.shape is None:
            return Tensor(None, item.dtype, False, trace)
        return Tensor((batch, *item.shape), item.dtype, False, trace)
    if isinstance(item, IntTarget) or (isinstance(item, int) and not isinstance(item, bool)):
        return Tensor((batch,), "int64", False, trace)
    if isinstance(item, float):
        return Tensor((batch,), "float64", False, trace)
    if isinstance(item, Image):
        raise _CollateError(
            "default_collate cannot batch PIL images: the dataset's transform needs a "
            "ToTensor() (or PILToTensor / v2.ToImage)"
        )
    if isinstance(item, tuple | list):
        out = [collate(e, batch, origin) for e in item]
        return tuple(out) if isinstance(item, tuple) else out
    if isinstance(item, dict):
        return {k: collate(v, batch, origin) for k, v in item.items()}
    return UNKNOWN


def _convert(item: Value, origin: str) -> Value:
    """default_convert (batch_size=None): NumPy arrays become tensors, the rest stays."""
    if isinstance(item, Tensor):
        return Tensor(item.shape, item.dtype, False, (f"from {origin}",))
    if isinstance(item, tuple | list):
        out = [_convert(e, origin) for e in item]
        return tuple(out) if isinstance(item, tuple) else out
    return item


# ---------------------------------------------------------------------- hooks


def _line(interp: Interpreter, frame: Frame, node: cst.CSTNode) -> int:
    span = interp.rec.span(frame.chunk, node)
    return span.start_line + 1 if span else 0


def _error(interp: Interpreter, frame: Frame, node: cst.CSTNode, code: str, msg: str) -> None:
    interp.rec.add(code, interp.rec.span(frame.chunk, node), msg)


def _transform_hook(name: str) -> CallHook:
    def hook(
        interp: Interpreter,
        args: list[Value],
        kwargs: dict[str, Value],
        node: cst.Call,
        frame: Frame,
    ) -> Value:
        rule = TRANSFORMS[name]
        try:
            bound = bind(rule.signature, args, kwargs)
        except BindError:
            return TransformValue(((None, None),))
        return TransformValue(((name, Args(bound)),))

    return hook


def _compose(
    interp: Interpreter, args: list[Value], kwargs: dict[str, Value], node: cst.Call, frame: Frame
) -> Value:
    seq = args[0] if args else kwargs.get("transforms")
    if not isinstance(seq, list | tuple):
        return TransformValue(((None, None),))
    steps: list[tuple[str | None, Args | None]] = []
    for t in seq:
        if isinstance(t, TransformValue):
            steps.extend(t.steps)
        else:
            steps.append((None, None))  # Lambda, a user transform, anything unknown
    return TransformValue(tuple(steps))


def _unknown_transform(
    interp: Interpreter, args: list[Value], kwargs: dict[str, Value], node: cst.Call, frame: Frame
) -> Value:
    return TransformValue(((None, None),))


def _apply(
    interp: Interpreter, t: Value, item: Value, node: cst.CSTNode, frame: Frame, what: str
) -> Value:
    """Apply a dataset's transform argument to a sample item; errors become findings."""
    if t is None:
        return item
    if not isinstance(t, TransformValue):
        return UNKNOWN
    try:
        return t(item)
    except ShapeError as e:
        _error(interp, frame, node, e.code, f"{what}: {e.message}")
        return UNKNOWN


def _dataset_hook(name: str) -> CallHook:
    def hook(
        interp: Interpreter,
        args: list[Value],
        kwargs: dict[str, Value],
        node: cst.Call,
        frame: Frame,
    ) -> Value:
        spec = DATASETS[name]
        try:
            a = Args(bind(spec.signature, args, kwargs))
        except BindError:
            return DatasetValue(UNKNOWN)
        sample = dataset_sample(spec, a)
        size = dataset_length(spec, a)
        if sample is None:
            return DatasetValue(UNKNOWN, size if size is not None else UNKNOWN)
        image, target = sample
        short = name.rsplit(".", 1)[-1]
        image = _apply(interp, a.get("transform"), image, node, frame, short)
        if a.get("target_transform") is not None:
            target = UNKNOWN
        return DatasetValue((image, target), size if size is not None else UNKNOWN, short)

    return hook


def _tensor_dataset(
    interp: Interpreter, args: list[Value], kwargs: dict[str, Value], node: cst.Call, frame: Frame
) -> Value:
    if kwargs or not args or not all(isinstance(t, Tensor) for t in args):
        return DatasetValue(UNKNOWN)
    firsts = [t.shape[0] if t.shape else UNKNOWN for t in args]
    known = [d for d in firsts if isinstance(d, int)]
    if len(set(known)) > 1:
        shapes = ", ".join(S.render_shape(t.shape) for t in args)
        _error(
            interp,
            frame,
            node,
            "SH106",
            f"TensorDataset: size mismatch between tensors: {shapes} differ in their first "
            "dimension (torch asserts they are equal)",
        )
        return DatasetValue(UNKNOWN)
    sample = tuple(
        Tensor(t.shape[1:], t.dtype, t.numpy) if t.shape else Tensor(None, t.dtype, t.numpy)
        for t in args
    )
    return DatasetValue(sample, firsts[0], "TensorDataset")


def _loader(
    interp: Interpreter, args: list[Value], kwargs: dict[str, Value], node: cst.Call, frame: Frame
) -> Value:
    ds = args[0] if args else kwargs.get("dataset")
    bs = args[1] if len(args) > 1 else kwargs.get("batch_size", 1)
    origin = f"loader (line {_line(interp, frame, node)})"
    ds = _as_dataset(interp, ds, frame)
    if (
        not isinstance(ds, DatasetValue)
        or kwargs.get("collate_fn") not in (None,)
        or (kwargs.get("batch_sampler") is not None)
        or len(args) > 2
    ):
        return LoaderValue(UNKNOWN)
    size = ds.size
    drop = kwargs.get("drop_last", False)
    if bs is None:
        return LoaderValue(_convert(ds.sample, origin), size)
    if not isinstance(bs, int) or isinstance(bs, bool) or bs < 1:
        return LoaderValue(UNKNOWN)
    batch: Dim
    n: Value = UNKNOWN
    if isinstance(size, int) and not isinstance(size, bool):
        batch = min(bs, size)
        n = size // bs if drop is True else -(-size // bs)
    elif drop is True:
        batch = bs
    else:
        batch = _BATCH
    try:
        return LoaderValue(collate(ds.sample, batch, origin), n)
    except _CollateError as e:
        _error(interp, frame, node, "SH112", f"DataLoader: {e}")
        return LoaderValue(UNKNOWN)


def _as_dataset(interp: Interpreter, ds: Value, frame: Frame) -> Value:
    """A user Dataset instance: its sample from __getitem__, its length from __len__."""
    if not isinstance(ds, ModuleInstance) or ds.cls.framework != "data":
        return ds
    cached = ds.attrs.get("__shape_lsp_dataset__")
    if isinstance(cached, DatasetValue):
        return cached
    sample: Value = UNKNOWN
    size: Value = UNKNOWN
    hit = ds.cls.find_method("__getitem__")
    if hit is not None:
        fn = FunctionRef(hit[1], hit[0].chunk_for(hit[1]), hit[0], ds)
        sample = interp.call_function(fn, [S.sym("idx")], {}, frame, record_facts=False)
    hit = ds.cls.find_method("__len__")
    if hit is not None:
        fn = FunctionRef(hit[1], hit[0].chunk_for(hit[1]), hit[0], ds)
        got = interp.call_function(fn, [], {}, frame, record_facts=False)
        size = got if isinstance(got, int) and not isinstance(got, bool) else UNKNOWN
    out = DatasetValue(sample, size, ds.cls.name)
    ds.attrs["__shape_lsp_dataset__"] = out
    return out


def _subset(
    interp: Interpreter, args: list[Value], kwargs: dict[str, Value], node: cst.Call, frame: Frame
) -> Value:
    ds = _as_dataset(interp, args[0] if args else kwargs.get("dataset"), frame)
    idx = args[1] if len(args) > 1 else kwargs.get("indices")
    if not isinstance(ds, DatasetValue):
        return DatasetValue(UNKNOWN)
    n = len(idx) if isinstance(idx, list | tuple) else UNKNOWN
    return DatasetValue(ds.sample, n, ds.origin)


def _random_split(
    interp: Interpreter, args: list[Value], kwargs: dict[str, Value], node: cst.Call, frame: Frame
) -> Value:
    ds = _as_dataset(interp, args[0] if args else kwargs.get("dataset"), frame)
    lengths = args[1] if len(args) > 1 else kwargs.get("lengths")
    if not isinstance(ds, DatasetValue) or not isinstance(lengths, list | tuple):
        return UNKNOWN
    sizes: list[Value] = [UNKNOWN] * len(lengths)
    if all(isinstance(v, int) and not isinstance(v, bool) for v in lengths):
        sizes = list(lengths)
    elif all(isinstance(v, float) for v in lengths) and isinstance(ds.size, int):
        total = ds.size
        got = [int(total * f) for f in lengths]  # torch: floor, then the remainder round-robin
        for i in range(total - sum(got)):
            got[i % len(got)] += 1
        sizes = list(got)
    return [DatasetValue(ds.sample, s, ds.origin) for s in sizes]


def _concat_dataset(
    interp: Interpreter, args: list[Value], kwargs: dict[str, Value], node: cst.Call, frame: Frame
) -> Value:
    seq = args[0] if args else kwargs.get("datasets")
    if not isinstance(seq, list | tuple) or not seq:
        return DatasetValue(UNKNOWN)
    parts = [_as_dataset(interp, d, frame) for d in seq]
    if not all(isinstance(p, DatasetValue) for p in parts):
        return DatasetValue(UNKNOWN)
    from shape_lsp.core.interpreter.frame import join_values

    sample = parts[0].sample
    for p in parts[1:]:
        sample = join_values(sample, p.sample)
    sizes = [p.size for p in parts]
    total = sum(sizes) if all(isinstance(s, int) for s in sizes) else UNKNOWN
    return DatasetValue(sample, total, parts[0].origin)


# ---------------------------------------------------------------------- builtins over data


def _builtin(short: str) -> CallHook:
    def hook(
        interp: Interpreter,
        args: list[Value],
        kwargs: dict[str, Value],
        node: cst.Call,
        frame: Frame,
    ) -> Value:
        a0 = _as_dataset(interp, args[0], frame) if args else None
        if isinstance(a0, AbstractIterable) and not kwargs:
            if short == "len" and len(args) == 1:
                return a0.length()
            if short == "iter" and len(args) == 1:
                return StreamValue(a0.iter_item(), a0.length())
            if short == "next" and args:
                return a0.iter_item()
            if short == "enumerate":
                return StreamValue((S.sym("i"), a0.iter_item()), a0.length())
        if short == "zip" and args and any(isinstance(a, AbstractIterable) for a in args):
            items = [a.iter_item() if isinstance(a, AbstractIterable) else UNKNOWN for a in args]
            return StreamValue(tuple(items))
        if short == "enumerate" and len(args) == 2 and isinstance(a0, AbstractIterable):
            return StreamValue((S.sym("i"), a0.iter_item()), a0.length())
        from shape_lsp.core.interpreter.evaluate import builtin
        from shape_lsp.core.interpreter.frame import ITERATING_BUILTINS

        if short in ITERATING_BUILTINS:  # containers, lists: the interpreter's own
            return interp.iterating_builtin(short, args, kwargs)
        return builtin(short, args)

    return hook


def _passthrough(
    interp: Interpreter, args: list[Value], kwargs: dict[str, Value], node: cst.Call, frame: Frame
) -> Value:
    """tqdm(loader, ...) iterates like its first argument."""
    return args[0] if args else UNKNOWN


def _keras_load(name: str) -> CallHook:
    def hook(
        interp: Interpreter,
        args: list[Value],
        kwargs: dict[str, Value],
        node: cst.Call,
        frame: Frame,
    ) -> Value:
        if name == "cifar100" and kwargs.get("label_mode", "fine") not in ("fine", "coarse"):
            return UNKNOWN
        return keras_dataset(name, f"keras.datasets.{name} (line {_line(interp, frame, node)})")

    return hook


def _class_hook(
    interp: Interpreter,
    cls: ClassRef,
    args: list[Value],
    kwargs: dict[str, Value],
    node: cst.Call | None,
    frame: Frame,
) -> Value:
    """Instantiate a user Dataset subclass (its __init__ runs; the instance stays abstract)."""
    info = cls.info
    inst = ModuleInstance(info)
    hit = info.find_method("__init__")
    if hit is not None:
        from shape_lsp.core.interpreter.frame import Budget

        try:
            interp.call_function(
                FunctionRef(hit[1], hit[0].chunk_for(hit[1]), hit[0], inst),
                args,
                kwargs,
                frame,
                record_facts=False,
            )
        except Budget:
            return UNKNOWN
    return inst


def _method(
    interp: Interpreter,
    m: BoundMethod,
    args: list[Value],
    kwargs: dict[str, Value],
    node: cst.Call,
    frame: Frame,
) -> Value:
    """`ds.__getitem__`-style calls on abstract data values: none are modelled yet."""
    if isinstance(m.obj, DatasetValue | LoaderValue | StreamValue | TransformValue):
        return UNKNOWN
    return NotImplemented


def register() -> None:
    """Install the data-pipeline hooks (idempotent)."""
    ext = EXTENSIONS
    for name in DATASETS:
        ext.register_call(name, _dataset_hook(name))
    for name in TRANSFORMS:
        ext.register_call(name, _transform_hook(name))
    for ns in ("torchvision.transforms.", "torchvision.transforms.v2."):
        ext.register_call(ns + "Compose", _compose)
        ext.register_call(ns + "Lambda", _unknown_transform)
    for sub in ("", "dataset.", "dataloader."):
        ext.register_call(DATA + sub + "TensorDataset", _tensor_dataset)
        ext.register_call(DATA + sub + "DataLoader", _loader)
        ext.register_call(DATA + sub + "Subset", _subset)
        ext.register_call(DATA + sub + "random_split", _random_split)
        ext.register_call(DATA + sub + "ConcatDataset", _concat_dataset)
    for short in ("len", "iter", "next", "enumerate", "zip"):
        ext.register_call(f"builtins.{short}", _builtin(short))
    for q in ("tqdm.tqdm", "tqdm.auto.tqdm", "tqdm.notebook.tqdm"):
        ext.register_call(q, _passthrough)
    for name in ("mnist", "fashion_mnist", "cifar10", "cifar100"):
        ext.register_call(f"keras.datasets.{name}.load_data", _keras_load(name))
    for base in DATASET_BASES:
        ext.register_data_base(base, "torch", _class_hook)
    ext.register_method_hook(_method)
