"""Data rules against the real libraries: torchvision transforms and datasets, NumPy, Keras.

torchvision is not a dependency: its checks run where it can be imported (install it with
`pip install --no-deps --target DIR torchvision==0.28.0 pillow` and put DIR on PYTHONPATH);
its compiled ops need not load (`torchvision._meta_registrations` is stubbed). Without it the
expected values written in the rules (from the torchvision docs) are still checked against
the engine. keras.datasets cannot download here: their shapes are the documented ones
(keras.io/api/datasets), checked against the engine; to_categorical runs in real Keras.
"""

from __future__ import annotations

import os
import sys
import types
from typing import Any

import numpy as np
import pytest

from shape_lsp.core.analysis.interpreters import new_interpreter
from shape_lsp.core.config import Settings
from shape_lsp.core.interpreter.interpret import Interpreter
from shape_lsp.core.rules.data_arrays import KERAS_DATASETS
from shape_lsp.core.rules.data_torchvision import DATASETS, Image
from shape_lsp.core.rules.transforms_torchvision import EXAMPLES, TRANSFORMS
from shape_lsp.core.source.parse import ParseCache, parse_file
from shape_lsp.core.values.abstract import Tensor
from shape_lsp.core.values.shapes import Unknown, render_shape, sym

HEADER = (
    "import numpy as np\nimport torch\nfrom torchvision import datasets\n"
    "import torchvision.transforms as T\nfrom torchvision.transforms import v2\n"
    "import keras\n"
)


def run(body: str) -> Interpreter:
    """Interpret a snippet (module pass only) and return the interpreter."""
    src = HEADER + body
    interp = new_interpreter(parse_file(src, ParseCache()), "t.py", Settings())
    interp.module_pass()
    return interp


def describe(v: Any) -> str:
    """The same rendering for engine values and real objects."""
    if isinstance(v, Tensor):
        return f"{render_shape(v.shape)} {v.dtype}"
    if isinstance(v, Unknown):
        return "unknown"
    if isinstance(v, tuple) and v and all(isinstance(e, Image | Tensor) for e in v):
        e = v[0]
        hw = (e.height, e.width) if isinstance(e, Image) else tuple(e.shape[-2:])
        return f"{len(v)} x {render_shape(hw)}"
    return f"other {v!r}"


def real_describe(v: Any) -> str:
    import torch

    if isinstance(v, torch.Tensor):
        return f"{render_shape(tuple(v.shape))} {str(v.dtype).removeprefix('torch.')}"
    if isinstance(v, tuple):
        w, h = v[0].size
        return f"{len(v)} x ({h}, {w})"
    return f"other {v!r}"


def _torchvision() -> Any:
    sys.modules.setdefault(
        "torchvision._meta_registrations", types.ModuleType("torchvision._meta_registrations")
    )
    return pytest.importorskip("torchvision")


@pytest.mark.parametrize(("src", "size", "want"), EXAMPLES)
def test_transform_engine(src: str, size: tuple[int, int, int], want: str) -> None:
    interp = run(f"ds = datasets.FakeData(size=2, image_size={size}, transform={src})\n")
    sample = interp.globals["ds"].sample
    codes = [f.code for f in interp.rec.findings.values()]
    if want == "error":
        assert codes, f"no finding for {src} on {size}"
        return
    assert not codes, codes
    assert describe(sample[0]) == want


@pytest.mark.parametrize(("src", "size", "want"), EXAMPLES)
def test_transform_real(src: str, size: tuple[int, int, int], want: str) -> None:
    tv = _torchvision()
    import torch
    from torchvision.transforms import v2

    env = {"torch": torch, "T": tv.transforms, "v2": v2}
    ds = tv.datasets.FakeData(size=2, image_size=size, transform=eval(src, env))
    if want == "error":
        with pytest.raises((ValueError, TypeError, RuntimeError)):
            ds[0]
        return
    x, _ = ds[0]
    if want != "unknown":
        got = real_describe(x)
        assert all(w in ("?", g) for w, g in zip(_tokens(want), _tokens(got), strict=True)), got


def _tokens(text: str) -> list[str]:
    """`(3, ?, 32) float32` -> ['3', '?', '32', 'float32'] (? matches any size)."""
    return text.replace("(", " ").replace(")", " ").replace(",", " ").split()


def test_every_transform_has_an_example() -> None:
    used = " ".join(src for src, _, _ in EXAMPLES)
    for name in TRANSFORMS:
        assert name.rsplit(".", 1)[-1] + "(" in used, name


# ---------------------------------------------------------------------- datasets

# (dataset, constructor args, documented (C, H, W), train length) - torchvision docs
DOCUMENTED = [
    ("MNIST", "'d'", (1, 28, 28), 60000),
    ("FashionMNIST", "'d'", (1, 28, 28), 60000),
    ("KMNIST", "'d'", (1, 28, 28), 60000),
    ("EMNIST", "'d', 'balanced'", (1, 28, 28), None),
    ("QMNIST", "'d'", (1, 28, 28), None),
    ("CIFAR10", "'d'", (3, 32, 32), 50000),
    ("CIFAR100", "'d'", (3, 32, 32), 50000),
    ("SVHN", "'d'", (3, 32, 32), 73257),
    ("STL10", "'d'", (3, 96, 96), 5000),
    ("FakeData", "image_size=(3, 40, 50)", (3, 40, 50), 1000),
]


@pytest.mark.parametrize(("name", "args", "chw", "n"), DOCUMENTED)
def test_dataset_engine(name: str, args: str, chw: tuple[int, ...], n: int | None) -> None:
    interp = run(
        f"ds = datasets.{name}({args}, transform=T.ToTensor())\n"
        "loader = torch.utils.data.DataLoader(ds, batch_size=16)\n"
        "x, y = next(iter(loader))\n"
    )
    ds = interp.globals["ds"]
    assert describe(ds.sample[0]) == f"{render_shape(chw)} float32"
    b = 16 if n is not None else sym("B")  # an undocumented length: the last batch may be smaller
    assert describe(interp.globals["x"]) == f"{render_shape((b, *chw))} float32"
    assert describe(interp.globals["y"]) == f"{render_shape((b,))} int64"
    assert (ds.size if isinstance(ds.size, int) else None) == n


def test_every_dataset_is_listed() -> None:
    listed = {n for n, *_ in DOCUMENTED} | {"ImageFolder", "DatasetFolder"}
    assert {k.rsplit(".", 1)[-1] for k in DATASETS} == listed


def _fill(ds: Any, data: Any, targets: Any) -> Any:
    ds.data, ds.targets, ds.labels = data, targets, targets
    ds.transform = ds.target_transform = None
    ds.compat, ds.train = True, True
    return ds


@pytest.mark.parametrize(
    ("name", "layout"),
    [
        ("MNIST", "nhw"),
        ("FashionMNIST", "nhw"),
        ("KMNIST", "nhw"),
        ("EMNIST", "nhw"),
        ("CIFAR10", "nhwc"),
        ("CIFAR100", "nhwc"),
        ("SVHN", "nchw"),
        ("STL10", "nchw"),
    ],
)
def test_dataset_getitem_real(name: str, layout: str) -> None:
    """The real __getitem__ on arrays of the documented layout: PIL mode and target type."""
    tv = _torchvision()
    import torch

    spec = DATASETS[f"torchvision.datasets.{name}"]
    assert spec.image is not None
    c = spec.image.channels or 0
    h, w = int(spec.image.height), int(spec.image.width)  # type: ignore[call-overload]
    cls = getattr(tv.datasets, name)
    shape = {"nhw": (2, h, w), "nhwc": (2, h, w, c), "nchw": (2, c, h, w)}[layout]
    data: Any = np.zeros(shape, np.uint8)
    targets: Any = [1, 2] if layout != "nhw" else torch.tensor([1, 2])
    if layout == "nhw":
        data = torch.from_numpy(data)
    if layout == "nchw":
        targets = np.array([1, 2])
    img, target = _fill(cls.__new__(cls), data, targets)[0]
    assert img.mode == spec.image.mode and img.size == (w, h)
    assert isinstance(target, int)


def test_fakedata_real() -> None:
    tv = _torchvision()
    img, target = tv.datasets.FakeData(size=2, image_size=(1, 20, 30))[0]
    interp = run("ds = datasets.FakeData(size=2, image_size=(1, 20, 30))\n")
    engine_img = interp.globals["ds"].sample[0]
    assert (img.mode, img.size[1], img.size[0]) == (
        engine_img.mode,
        engine_img.height,
        engine_img.width,
    )
    assert isinstance(target, int)


def test_unknown_dataset_and_lambda_stay_unknown() -> None:
    interp = run(
        "a = datasets.Places365('d', transform=T.ToTensor())\n"
        "b = datasets.MNIST('d', transform=T.Compose([T.Lambda(lambda x: x), T.ToTensor()]))\n"
        "c = datasets.ImageFolder('d', transform=T.ToTensor())\n"
        "la = torch.utils.data.DataLoader(b, batch_size=8)\n"
        "xb, yb = next(iter(la))\n"
    )
    assert "a" not in interp.globals or not hasattr(interp.globals["a"], "sample")
    assert isinstance(interp.globals["b"].sample[0], Unknown)
    assert describe(interp.globals["c"].sample[0]) == "(3, ?, ?) float32"
    assert isinstance(interp.globals["xb"], Unknown)
    assert describe(interp.globals["yb"]) == "(8,) int64"


# ---------------------------------------------------------------------- torch.utils.data


def test_loader_rules_against_torch() -> None:
    import torch
    from torch.utils.data import ConcatDataset, DataLoader, Subset, TensorDataset, random_split

    body = (
        "X = torch.randn(100, 20)\ny = torch.randint(0, 3, (100,))\n"
        "ds = torch.utils.data.TensorDataset(X, y)\n"
        "a, b = torch.utils.data.random_split(ds, [0.8, 0.2])\n"
        "s = torch.utils.data.Subset(ds, [0, 1, 2])\n"
        "cat = torch.utils.data.ConcatDataset([a, s])\n"
        "r1 = next(iter(torch.utils.data.DataLoader(ds, batch_size=32)))\n"
        "r2 = next(iter(torch.utils.data.DataLoader(s, batch_size=32)))\n"
        "r3 = next(iter(torch.utils.data.DataLoader(b, batch_size=64, drop_last=False)))\n"
        "r4 = next(iter(torch.utils.data.DataLoader(ds, batch_size=None)))\n"
        "n1 = len(torch.utils.data.DataLoader(ds, batch_size=32))\n"
        "n2 = len(torch.utils.data.DataLoader(ds, batch_size=32, drop_last=True))\n"
        "n3 = len(cat)\n"
    )
    interp = run(body)
    g = interp.globals
    X, y = torch.randn(100, 20), torch.randint(0, 3, (100,))
    ds = TensorDataset(X, y)
    a, b = random_split(ds, [0.8, 0.2])
    s = Subset(ds, [0, 1, 2])
    real = {
        "r1": next(iter(DataLoader(ds, batch_size=32))),
        "r2": next(iter(DataLoader(s, batch_size=32))),
        "r3": next(iter(DataLoader(b, batch_size=64))),
        "r4": next(iter(DataLoader(ds, batch_size=None))),
    }
    for k, v in real.items():
        assert [describe(e) for e in g[k]] == [real_describe(e) for e in v], k
    assert g["n1"] == len(DataLoader(ds, batch_size=32))
    assert g["n2"] == len(DataLoader(ds, batch_size=32, drop_last=True))
    assert g["n3"] == len(ConcatDataset([a, s]))


def test_collate_of_ints_floats_and_dicts_against_torch() -> None:
    import torch
    from torch.utils.data import DataLoader, Dataset

    class D(Dataset):  # type: ignore[type-arg]
        def __len__(self) -> int:
            return 10

        def __getitem__(self, i: int) -> dict[str, Any]:
            return {"x": torch.zeros(4, 5), "label": 3, "w": 0.5}

    real = next(iter(DataLoader(D(), batch_size=4)))
    interp = run(
        "class D(torch.utils.data.Dataset):\n"
        "    def __len__(self):\n        return 10\n"
        "    def __getitem__(self, i):\n"
        "        return {'x': torch.zeros(4, 5), 'label': 3, 'w': 0.5}\n"
        "batch = next(iter(torch.utils.data.DataLoader(D(), batch_size=4)))\n"
    )
    got = interp.globals["batch"]
    assert {k: describe(v) for k, v in got.items()} == {
        k: real_describe(v) for k, v in real.items()
    }


def test_tensor_dataset_size_mismatch_is_reported() -> None:
    import torch

    with pytest.raises(AssertionError):
        torch.utils.data.TensorDataset(torch.zeros(10, 2), torch.zeros(9))
    interp = run("ds = torch.utils.data.TensorDataset(torch.zeros(10, 2), torch.zeros(9))\n")
    assert [f.code for f in interp.rec.findings.values()] == ["SH106"]


def test_pil_images_cannot_be_collated() -> None:
    tv = _torchvision()
    from torch.utils.data import DataLoader

    with pytest.raises(TypeError):
        next(iter(DataLoader(tv.datasets.FakeData(size=4, image_size=(1, 8, 8)), batch_size=2)))
    interp = run(
        "loader = torch.utils.data.DataLoader(datasets.FakeData(size=4, image_size=(1, 8, 8)),"
        " batch_size=2)\n"
    )
    assert [f.code for f in interp.rec.findings.values()] == ["SH112"]


# ---------------------------------------------------------------------- NumPy and Keras

NUMPY = [
    "np.linspace(0, 1, 7)",
    "np.expand_dims(np.zeros((3, 4)), -1)",
    "np.expand_dims(np.zeros((3, 4)), 0)",
    "np.stack([np.zeros((3, 4)), np.ones((3, 4))])",
    "np.stack([np.zeros((3, 4)), np.ones((3, 4))], axis=-1)",
    "np.concatenate([np.zeros((3, 4)), np.ones((5, 4))])",
    "np.concatenate([np.zeros((3, 4), dtype=np.float32), np.ones((3, 2), dtype=np.float32)], axis=1)",
    "np.vstack([np.zeros(4), np.ones(4)])",
    "np.hstack([np.zeros((2, 3)), np.ones((2, 1))])",
    "np.hstack([np.zeros(3), np.ones(2)])",
    "np.squeeze(np.zeros((3, 1, 4)))",
    "np.squeeze(np.zeros((3, 1, 4)), axis=1)",
    "np.random.randint(0, 255, size=(6, 28, 28)).astype('uint8') / 255.0",
    "np.random.rand(6, 28, 28).astype('float32').reshape(-1, 784)",
]


@pytest.mark.parametrize("src", NUMPY)
def test_numpy_against_numpy(src: str) -> None:
    real = eval(src, {"np": np})
    interp = run(f"r = {src}\n")
    got = interp.globals["r"]
    assert describe(got) == f"{render_shape(real.shape)} {real.dtype}"
    assert got.numpy


@pytest.mark.parametrize(
    "src",
    [
        "np.stack([np.zeros((3, 4)), np.ones((3, 5))])",
        "np.concatenate([np.zeros((3, 4)), np.ones((5, 3))])",
        "np.squeeze(np.zeros((3, 2, 4)), axis=1)",
    ],
)
def test_numpy_errors_against_numpy(src: str) -> None:
    with pytest.raises(ValueError):
        eval(src, {"np": np})
    assert [f.code for f in run(f"r = {src}\n").rec.findings.values()]


@pytest.mark.parametrize(
    ("labels", "n"), [("np.zeros(6, dtype=np.uint8)", 10), ("np.zeros((6, 1), dtype=np.uint8)", 4)]
)
def test_to_categorical_against_keras(labels: str, n: int) -> None:
    os.environ.setdefault("KERAS_BACKEND", "torch")
    keras = pytest.importorskip("keras")
    real = keras.utils.to_categorical(eval(labels, {"np": np}), n)
    got = run(f"r = keras.utils.to_categorical({labels}, {n})\n").globals["r"]
    assert describe(got) == f"{render_shape(real.shape)} {real.dtype}"


# keras.io/api/datasets: mnist/fashion_mnist "(60000, 28, 28)" uint8, labels "(60000,)";
# cifar10/cifar100 "(50000, 32, 32, 3)" uint8, labels "(50000, 1)".
@pytest.mark.parametrize("name", sorted(KERAS_DATASETS))
def test_keras_datasets_documented(name: str) -> None:
    g = run(
        f"(x, y), (xt, yt) = keras.datasets.{name}.load_data()\n"
        "x2 = x.reshape(-1, *x.shape[1:]).astype('float32') / 255.0\n"
    ).globals
    sample, label, n, nt = KERAS_DATASETS[name]
    assert describe(g["x"]) == f"{render_shape((n, *sample))} uint8"
    assert describe(g["y"]) == f"{render_shape((n, *label))} uint8"
    assert describe(g["xt"]) == f"{render_shape((nt, *sample))} uint8"
    assert describe(g["x2"]) == f"{render_shape((n, *sample))} float32"
    assert g["x"].trace[0].startswith(f"from keras.datasets.{name}")
