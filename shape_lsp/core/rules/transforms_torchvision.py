"""torchvision transforms as declarative data rules (no torchvision import).

A transform entry gives its signature and how it maps one sample item (a PIL `Image`, a
`Tensor`, or a tuple of crops) to the next; a transform that is not listed here makes the
sample unknown. The examples are run against the real torchvision in
tests/rules/test_data_rules.py. Sources: the transforms' own docstrings (Resize: "If size is an
int, smaller edge of the image will be matched to this number"; Pad: "(left, top, right,
bottom)").
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from shape_lsp.core.rules.base import Args, Param, ShapeError, dtype_of, parse_signature
from shape_lsp.core.rules.data_torchvision import Image
from shape_lsp.core.values import shapes as S
from shape_lsp.core.values.abstract import Tensor, Value
from shape_lsp.core.values.shapes import UNKNOWN, Dim

TF = "torchvision.transforms."
V2 = "torchvision.transforms.v2."

# ---------------------------------------------------------------------- transforms

Item = Value  # Image | Tensor | tuple of items | UNKNOWN
Apply = Callable[[Args, Item], Item]


@dataclass(frozen=True)
class TransformRule:
    """A transform: its signature and how it maps one sample item."""

    names: tuple[str, ...]
    signature: tuple[Param, ...]
    apply: Apply


TRANSFORMS: dict[str, TransformRule] = {}


def transform(*short: str, sig: str, v1: bool = True, v2: bool = True) -> Callable[[Apply], Apply]:
    """Register under torchvision.transforms.X and/or torchvision.transforms.v2.X."""

    def deco(fn: Apply) -> Apply:
        names = tuple([TF + n for n in short if v1] + [V2 + n for n in short if v2])
        rule = TransformRule(names, parse_signature(sig), fn)
        for n in names:
            TRANSFORMS[n] = rule
        return fn

    return deco


def _fail(message: str, code: str = "SH112") -> ShapeError:
    return ShapeError(code, message)


def _hw(item: Item) -> tuple[Dim, Dim] | None:
    if isinstance(item, Image):
        return item.height, item.width
    if isinstance(item, Tensor) and item.shape is not None and len(item.shape) >= 2:
        return item.shape[-2], item.shape[-1]
    return None


def _with_hw(item: Item, h: Dim, w: Dim) -> Item:
    if isinstance(item, Image):
        return Image(item.mode, h, w)
    if isinstance(item, Tensor) and item.shape is not None and len(item.shape) >= 2:
        return item.with_shape((*item.shape[:-2], h, w))
    return UNKNOWN


def _size(a: Args, name: str = "size") -> tuple[int, int] | None:
    v = a.get(name)
    if isinstance(v, int) and not isinstance(v, bool):
        return v, v
    if isinstance(v, tuple | list) and len(v) == 1 and isinstance(v[0], int):
        return v[0], v[0]
    if isinstance(v, tuple | list) and len(v) == 2 and all(isinstance(d, int) for d in v):
        return v[0], v[1]
    return None


def _map(fn: Callable[[Item], Item]) -> Callable[[Item], Item]:
    """Apply per crop when the item is a tuple of crops (after FiveCrop)."""

    def go(item: Item) -> Item:
        if isinstance(item, tuple):
            return tuple(go(i) for i in item)
        return fn(item)

    return go


@transform("ToTensor", sig="")
def to_tensor(a: Args, item: Item) -> Item:
    """PIL (H, W) mode L/RGB -> float32 (C, H, W) in [0, 1]; a uint8 HWC ndarray likewise."""

    def one(x: Item) -> Item:
        if isinstance(x, Image):
            c = x.channels
            return Tensor((c if c else UNKNOWN, x.height, x.width), "float32")
        if isinstance(x, Tensor) and x.numpy and x.shape is not None:
            shape = x.shape
            dtype = "float32" if x.dtype == "uint8" else x.dtype
            if len(shape) == 2:
                return Tensor((1, *shape), dtype)
            if len(shape) == 3:
                return Tensor((shape[2], shape[0], shape[1]), dtype)
            raise _fail(f"ToTensor: pic should be 2 or 3 dimensional, got {len(shape)}D")
        if isinstance(x, Tensor) and not x.numpy:
            raise _fail("ToTensor: pic should be a PIL Image or ndarray, got a torch tensor")
        return UNKNOWN

    return _map(one)(item)


@transform("PILToTensor", sig="")
def pil_to_tensor(a: Args, item: Item) -> Item:
    """PIL -> uint8 (C, H, W), no scaling."""

    def one(x: Item) -> Item:
        if isinstance(x, Image):
            c = x.channels
            return Tensor((c if c else UNKNOWN, x.height, x.width), "uint8")
        return UNKNOWN

    return _map(one)(item)


@transform("ToImage", sig="", v1=False)
def to_image(a: Args, item: Item) -> Item:
    """v2.ToImage: PIL -> uint8 (C, H, W); a tensor keeps its dtype, a 2D one gets C=1."""

    def one(x: Item) -> Item:
        if isinstance(x, Image):
            c = x.channels
            return Tensor((c if c else UNKNOWN, x.height, x.width), "uint8")
        if isinstance(x, Tensor) and x.shape is not None:
            shape = x.shape
            if x.numpy and len(shape) == 3:
                shape = (shape[2], shape[0], shape[1])
            if len(shape) == 2:
                shape = (1, *shape)
            return Tensor(shape, x.dtype)
        return UNKNOWN

    return _map(one)(item)


@transform("ToDtype", sig="dtype, scale=False", v1=False)
def to_dtype(a: Args, item: Item) -> Item:
    """v2.ToDtype(torch.float32, scale=True): tensors change dtype, PIL images pass."""
    dt = dtype_of(a.get("dtype"))

    def one(x: Item) -> Item:
        if isinstance(x, Tensor):
            return Tensor(x.shape, dt)
        return x if isinstance(x, Image) else UNKNOWN

    return _map(one)(item)


@transform("ConvertImageDtype", sig="dtype", v2=False)
def convert_dtype(a: Args, item: Item) -> Item:
    """ConvertImageDtype(torch.float): tensors only."""
    dt = dtype_of(a.get("dtype"))
    return _map(lambda x: Tensor(x.shape, dt) if isinstance(x, Tensor) else UNKNOWN)(item)


def _resized(h: Dim, w: Dim, size: int, max_size: int | None) -> tuple[Dim, Dim]:
    """torchvision's _compute_resized_output_size for an int size (shorter side)."""
    if not isinstance(h, int) or not isinstance(w, int):
        if isinstance(h, S.Expr) and h == w:
            return size, size
        return UNKNOWN, UNKNOWN
    short, long = (w, h) if w <= h else (h, w)
    new_short, new_long = size, int(size * long / short)
    if max_size is not None and new_long > max_size:
        new_short, new_long = int(max_size * new_short / new_long), max_size
    nw, nh = (new_short, new_long) if w <= h else (new_long, new_short)
    return nh, nw


@transform(
    "Resize",
    sig="size, interpolation=None, max_size=None, antialias=True",
)
def resize(a: Args, item: Item) -> Item:
    """Resize(32): the shorter side becomes 32; Resize((h, w)): exactly (h, w)."""
    v = a.get("size")

    def one(x: Item) -> Item:
        hw = _hw(x)
        if hw is None:
            return UNKNOWN
        if isinstance(v, tuple | list) and len(v) == 2:
            return _with_hw(
                x,
                S.UNKNOWN if not isinstance(v[0], int) else v[0],
                S.UNKNOWN if not isinstance(v[1], int) else v[1],
            )
        n = v[0] if isinstance(v, tuple | list) and len(v) == 1 else v
        if not isinstance(n, int) or isinstance(n, bool):
            return _with_hw(x, UNKNOWN, UNKNOWN)
        return _with_hw(x, *_resized(hw[0], hw[1], n, a.int("max_size")))

    return _map(one)(item)


def _crop(what: str, a: Args, item: Item, pad: tuple[int, int] = (0, 0)) -> Item:
    size = _size(a)

    def one(x: Item) -> Item:
        hw = _hw(x)
        if hw is None:
            return UNKNOWN
        if size is None:
            return _with_hw(x, UNKNOWN, UNKNOWN)
        if what == "RandomCrop" and not a.bool("pad_if_needed"):
            h, w = hw
            if isinstance(h, int) and isinstance(w, int):
                h, w = h + pad[0], w + pad[1]
                if h < size[0] or w < size[1]:
                    raise _fail(
                        f"RandomCrop: required crop size {size} is larger than the input "
                        f"image size {(h, w)} (torchvision raises ValueError)"
                    )
        return _with_hw(x, size[0], size[1])

    return _map(one)(item)


@transform("CenterCrop", sig="size")
def center_crop(a: Args, item: Item) -> Item:
    """CenterCrop(s): (s, s) (pads when the image is smaller)."""
    return _crop("CenterCrop", a, item)


def _pad_amounts(v: Value) -> tuple[int, int, int, int] | None:
    """(left, top, right, bottom)."""
    if isinstance(v, int) and not isinstance(v, bool):
        return v, v, v, v
    if isinstance(v, tuple | list) and all(isinstance(d, int) for d in v):
        if len(v) == 1:
            return v[0], v[0], v[0], v[0]
        if len(v) == 2:
            return v[0], v[1], v[0], v[1]
        if len(v) == 4:
            return v[0], v[1], v[2], v[3]
    return None


@transform(
    "RandomCrop",
    sig="size, padding=None, pad_if_needed=False, fill=0, padding_mode='constant'",
)
def random_crop(a: Args, item: Item) -> Item:
    """RandomCrop(s, padding=p): (s, s); ValueError when the padded image is smaller."""
    p = _pad_amounts(a.get("padding")) if a.get("padding") is not None else (0, 0, 0, 0)
    if p is None:
        return _map(lambda x: _with_hw(x, UNKNOWN, UNKNOWN) if _hw(x) else UNKNOWN)(item)
    return _crop("RandomCrop", a, item, (p[1] + p[3], p[0] + p[2]))


@transform(
    "RandomResizedCrop",
    sig="size, scale=(0.08, 1.0), ratio=(0.75, 1.3333333333333333), interpolation=None, "
    "antialias=True",
)
def random_resized_crop(a: Args, item: Item) -> Item:
    """RandomResizedCrop(s): (s, s) whatever the input size."""
    return _crop("RandomResizedCrop", a, item)


def _n_crop(n: int) -> Apply:
    def apply(a: Args, item: Item) -> Item:
        size = _size(a)
        hw = _hw(item)
        if isinstance(item, tuple) or hw is None:
            return UNKNOWN
        if size is None:
            return UNKNOWN
        h, w = hw
        if isinstance(h, int) and isinstance(w, int) and (size[0] > h or size[1] > w):
            raise _fail(
                f"{'FiveCrop' if n == 5 else 'TenCrop'}: requested crop size {size} is bigger "
                f"than the input size {(h, w)}"
            )
        return (_with_hw(item, size[0], size[1]),) * n

    return apply


transform("FiveCrop", sig="size")(_n_crop(5))
transform("TenCrop", sig="size, vertical_flip=False")(_n_crop(10))


@transform("Grayscale", sig="num_output_channels=1")
def grayscale(a: Args, item: Item) -> Item:
    """Grayscale(n): mode L (n=1) or three equal channels (n=3)."""
    n = a.int("num_output_channels")

    def one(x: Item) -> Item:
        if n not in (1, 3):
            return UNKNOWN
        if isinstance(x, Image):
            return Image("L" if n == 1 else "RGB", x.height, x.width)
        if isinstance(x, Tensor) and x.shape is not None and len(x.shape) >= 3:
            c = x.shape[-3]
            if isinstance(c, int) and c not in (1, 3):
                raise _fail(f"Grayscale: expects 1 or 3 channels, got {c}")
            return x.with_shape((*x.shape[:-3], n, *x.shape[-2:]))
        return UNKNOWN

    return _map(one)(item)


@transform("Pad", sig="padding, fill=0, padding_mode='constant'")
def pad(a: Args, item: Item) -> Item:
    """Pad(p): int -> all sides; (lr, tb); (left, top, right, bottom)."""
    p = _pad_amounts(a.get("padding"))

    def one(x: Item) -> Item:
        hw = _hw(x)
        if hw is None:
            return UNKNOWN
        if p is None:
            return _with_hw(x, UNKNOWN, UNKNOWN)
        return _with_hw(x, S.add(hw[0], p[1] + p[3]), S.add(hw[1], p[0] + p[2]))

    return _map(one)(item)


@transform("Normalize", sig="mean, std, inplace=False")
def normalize(a: Args, item: Item) -> Item:
    """Normalize(mean, std): a float (C, H, W) tensor; len(mean/std) must be 1 or C."""

    def one(x: Item) -> Item:
        if isinstance(x, Image):
            raise _fail("Normalize needs a tensor (put ToTensor() before it), got a PIL image")
        if not isinstance(x, Tensor):
            return UNKNOWN
        if x.dtype is not None and not x.dtype.startswith(("float", "bfloat")):
            raise _fail(f"Normalize: input tensor should be a float tensor, got {x.dtype}", "SH110")
        if x.shape is not None and len(x.shape) < 3:
            raise _fail(
                f"Normalize: expected a tensor image of size (..., C, H, W), got "
                f"{S.render_shape(x.shape)}",
                "SH109",
            )
        c = x.shape[-3] if x.shape is not None else UNKNOWN
        for arg in ("mean", "std"):
            v = a.get(arg)
            n = len(v) if isinstance(v, tuple | list) else 1 if isinstance(v, int | float) else None
            if isinstance(c, int) and n is not None and n not in (1, c):
                raise _fail(
                    f"Normalize: {arg} has {n} values but the image has {c} channel"
                    f"{'s' if c != 1 else ''}"
                )
        return x

    return _map(one)(item)


@transform("RandomHorizontalFlip", "RandomVerticalFlip", sig="p=0.5")
def flip(a: Args, item: Item) -> Item:
    """Shape-preserving."""
    return item


@transform("ColorJitter", sig="brightness=0, contrast=0, saturation=0, hue=0")
def color_jitter(a: Args, item: Item) -> Item:
    """Shape-preserving."""
    return item


@transform(
    "RandomRotation",
    sig="degrees, interpolation=None, expand=False, center=None, fill=0",
)
def rotation(a: Args, item: Item) -> Item:
    """Same size unless expand=True."""
    if a.bool("expand") is False:
        return item
    return _map(lambda x: _with_hw(x, UNKNOWN, UNKNOWN) if _hw(x) else UNKNOWN)(item)


@transform("GaussianBlur", sig="kernel_size, sigma=(0.1, 2.0)")
def blur(a: Args, item: Item) -> Item:
    """Shape-preserving."""
    return item


def apply_transform(name: str, a: Args, item: Item) -> Item:
    """Apply the named transform; UNKNOWN for one not listed (Lambda included)."""
    rule = TRANSFORMS.get(name)
    if rule is None:
        return UNKNOWN
    return rule.apply(a, item)


# ---------------------------------------------------------------------- examples for tests

EXAMPLES: tuple[tuple[str, tuple[int, int, int], str], ...] = (
    # (transform source, FakeData image_size (C, H, W), expected "shape dtype" or "error")
    ("T.ToTensor()", (1, 28, 28), "(1, 28, 28) float32"),
    ("T.ToTensor()", (3, 32, 40), "(3, 32, 40) float32"),
    ("T.PILToTensor()", (3, 32, 32), "(3, 32, 32) uint8"),
    (
        "v2.Compose([v2.ToImage(), v2.ToDtype(torch.float32, scale=True)])",
        (3, 20, 30),
        "(3, 20, 30) float32",
    ),
    ("T.Compose([T.Resize(32), T.ToTensor()])", (1, 28, 28), "(1, 32, 32) float32"),
    ("T.Compose([T.Resize(16), T.ToTensor()])", (3, 32, 48), "(3, 16, 24) float32"),
    ("T.Compose([T.Resize(16), T.ToTensor()])", (3, 50, 30), "(3, 26, 16) float32"),
    ("T.Compose([T.Resize((20, 24)), T.ToTensor()])", (3, 32, 32), "(3, 20, 24) float32"),
    ("T.Compose([T.CenterCrop(24), T.ToTensor()])", (3, 32, 32), "(3, 24, 24) float32"),
    ("T.Compose([T.CenterCrop((10, 12)), T.ToTensor()])", (1, 28, 28), "(1, 10, 12) float32"),
    ("T.Compose([T.RandomCrop(32, padding=4), T.ToTensor()])", (3, 32, 32), "(3, 32, 32) float32"),
    ("T.Compose([T.RandomCrop(40), T.ToTensor()])", (3, 32, 32), "error"),
    ("T.Compose([T.RandomResizedCrop(64), T.ToTensor()])", (3, 32, 40), "(3, 64, 64) float32"),
    ("T.Compose([T.Grayscale(), T.ToTensor()])", (3, 32, 32), "(1, 32, 32) float32"),
    ("T.Compose([T.Grayscale(3), T.ToTensor()])", (1, 28, 28), "(3, 28, 28) float32"),
    ("T.Compose([T.Pad(2), T.ToTensor()])", (1, 28, 28), "(1, 32, 32) float32"),
    ("T.Compose([T.Pad((1, 2)), T.ToTensor()])", (1, 28, 28), "(1, 32, 30) float32"),
    ("T.Compose([T.Pad((1, 2, 3, 4)), T.ToTensor()])", (1, 28, 28), "(1, 34, 32) float32"),
    (
        "T.Compose([T.ToTensor(), T.Normalize((0.1307,), (0.3081,))])",
        (1, 28, 28),
        "(1, 28, 28) float32",
    ),
    (
        "T.Compose([T.ToTensor(), T.Normalize((0.5, 0.5, 0.5), (0.5, 0.5, 0.5))])",
        (3, 32, 32),
        "(3, 32, 32) float32",
    ),
    (
        "T.Compose([T.ToTensor(), T.Normalize((0.5, 0.5, 0.5), (0.5, 0.5, 0.5))])",
        (1, 28, 28),
        "error",
    ),
    ("T.Compose([T.Normalize((0.5,), (0.5,)), T.ToTensor()])", (1, 28, 28), "error"),
    ("T.Compose([T.PILToTensor(), T.Normalize((0.5,), (0.5,))])", (1, 28, 28), "error"),
    (
        "T.Compose([T.RandomHorizontalFlip(), T.RandomVerticalFlip(), T.ColorJitter(0.2),"
        " T.RandomRotation(10), T.GaussianBlur(3), T.ToTensor()])",
        (3, 32, 32),
        "(3, 32, 32) float32",
    ),
    (
        "T.Compose([T.RandomRotation(30, expand=True), T.ToTensor()])",
        (3, 32, 32),
        "(3, ?, ?) float32",
    ),
    ("T.Compose([T.Lambda(lambda x: x), T.ToTensor()])", (3, 32, 32), "unknown"),
    ("T.Compose([T.Resize(32), T.FiveCrop(24)])", (3, 40, 40), "5 x (24, 24)"),
    ("T.Compose([T.TenCrop(24)])", (3, 32, 32), "10 x (24, 24)"),
    ("T.Compose([T.FiveCrop(40)])", (3, 32, 32), "error"),
    (
        "T.Compose([T.ToTensor(), T.ConvertImageDtype(torch.float64)])",
        (1, 8, 8),
        "(1, 8, 8) float64",
    ),
    (
        "v2.Compose([v2.ToImage(), v2.Resize(16), v2.ToDtype(torch.float32, scale=True), "
        "v2.Normalize([0.5], [0.5])])",
        (1, 28, 28),
        "(1, 16, 16) float32",
    ),
    (
        "v2.Compose([v2.PILToTensor(), v2.CenterCrop(20), v2.Grayscale(3)])",
        (1, 28, 28),
        "(3, 20, 20) uint8",
    ),
)
