"""torchvision datasets as declarative data rules (no torchvision import); the transforms are
in transforms_torchvision.py.

A dataset entry gives the sample a dataset yields: a PIL image (mode, height, width) and an
int target, its constructor signature, and the documented length per split; a dataset that
is not listed here makes the sample unknown. The examples are run against the real
torchvision in tests/rules/test_data_rules.py.

Sources: the torchvision 0.28 dataset docs ("28x28 grayscale", "32x32 colour", STL10 "96x96")
and the transforms' own docstrings (Resize: "If size is an int, smaller edge of the image will
be matched to this number"; Pad: "(left, top, right, bottom)").
"""

from __future__ import annotations

from dataclasses import dataclass

from shape_lsp.core.rules.base import Args, Param, parse_signature
from shape_lsp.core.values.abstract import Tensor, Value
from shape_lsp.core.values.shapes import UNKNOWN, Dim

TV = "torchvision.datasets."

_CHANNELS = {"L": 1, "RGB": 3, "RGBA": 4, "I": 1, "F": 1}


@dataclass(frozen=True)
class Image:
    """A PIL image: mode ("L", "RGB"; None unknown), height and width (UNKNOWN when not known)."""

    mode: str | None
    height: Dim
    width: Dim

    @property
    def channels(self) -> int | None:
        """Channels ToTensor would give."""
        return _CHANNELS.get(self.mode or "")


@dataclass(frozen=True)
class DatasetSpec:
    """A torchvision dataset: what one sample is, and how many there are per split."""

    name: str
    signature: tuple[Param, ...]
    image: Image | None  # None: the loader decides (DatasetFolder)
    lengths: dict[object, int]  # split value (train=True/False or split="...") -> length
    split_arg: str = "train"
    doc: str = ""


DATASETS: dict[str, DatasetSpec] = {}


def _dataset(
    names: tuple[str, ...],
    sig: str,
    image: Image | None,
    lengths: dict[object, int] | None = None,
    split_arg: str = "train",
    doc: str = "",
) -> None:
    spec = DatasetSpec(names[0], parse_signature(sig), image, lengths or {}, split_arg, doc)
    for n in names:
        DATASETS[TV + n] = spec


_MNIST_SIG = "root, train=True, transform=None, target_transform=None, download=False"
_dataset(("MNIST",), _MNIST_SIG, Image("L", 28, 28), {True: 60000, False: 10000}, doc="28x28")
_dataset(("FashionMNIST",), _MNIST_SIG, Image("L", 28, 28), {True: 60000, False: 10000})
_dataset(("KMNIST",), _MNIST_SIG, Image("L", 28, 28), {True: 60000, False: 10000})
_dataset(
    ("EMNIST",),
    "root, split, train=True, transform=None, target_transform=None, download=False",
    Image("L", 28, 28),
)
_dataset(
    ("QMNIST",),
    "root, what=None, compat=True, train=True, transform=None, target_transform=None, "
    "download=False",
    Image("L", 28, 28),
)
_dataset(("CIFAR10",), _MNIST_SIG, Image("RGB", 32, 32), {True: 50000, False: 10000}, doc="32x32")
_dataset(("CIFAR100",), _MNIST_SIG, Image("RGB", 32, 32), {True: 50000, False: 10000})
_dataset(
    ("SVHN",),
    "root, split='train', transform=None, target_transform=None, download=False",
    Image("RGB", 32, 32),
    {"train": 73257, "test": 26032, "extra": 531131},
    split_arg="split",
)
_dataset(
    ("STL10",),
    "root, split='train', folds=None, transform=None, target_transform=None, download=False",
    Image("RGB", 96, 96),
    {"train": 5000, "test": 8000, "unlabeled": 100000, "train+unlabeled": 105000},
    split_arg="split",
)
_dataset(
    ("ImageFolder",),
    "root, transform=None, target_transform=None, loader=None, is_valid_file=None, "
    "allow_empty=False",
    Image("RGB", UNKNOWN, UNKNOWN),
)
_dataset(
    ("DatasetFolder",),
    "root, loader, extensions=None, transform=None, target_transform=None, "
    "is_valid_file=None, allow_empty=False",
    None,
)
_dataset(
    ("FakeData",),
    "size=1000, image_size=(3, 224, 224), num_classes=10, transform=None, "
    "target_transform=None, random_offset=0",
    None,  # from image_size: see dataset_sample
)

_FAKE_MODES = {1: "L", 3: "RGB", 4: "RGBA"}  # ToPILImage on a float (C, H, W) tensor


def dataset_sample(spec: DatasetSpec, a: Args) -> tuple[Value, Value] | None:
    """(image, target) before transforms; None when not modelled (unknown)."""
    if spec.name == "FakeData":
        size = a.get("image_size")
        if not isinstance(size, tuple | list) or len(size) != 3:
            return None
        c, h, w = size
        if not all(isinstance(d, int) for d in size) or c not in _FAKE_MODES:
            return None
        return Image(_FAKE_MODES[c], h, w), UNKNOWN_INT
    if spec.name == "QMNIST" and a.bool("compat") is not True:
        return (spec.image, Tensor((8,), "int64")) if spec.image else None
    if spec.image is None:
        return None
    return spec.image, UNKNOWN_INT


def dataset_length(spec: DatasetSpec, a: Args) -> int | None:
    """The documented number of samples, when the split is static and documented."""
    if spec.name == "FakeData":
        return a.int("size")
    key = a.get(spec.split_arg)
    if isinstance(key, bool | str) and key in spec.lengths:
        return spec.lengths[key]
    return None


@dataclass(frozen=True)
class IntTarget:
    """A Python int sample item (a class index); default collate makes it int64 (B,)."""


UNKNOWN_INT = IntTarget()
