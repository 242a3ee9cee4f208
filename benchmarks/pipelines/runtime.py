"""Run one pipeline benchmark script for real and print what its model was fed, as JSON.

    python benchmarks/pipelines/runtime.py SCRIPT

Nothing is downloaded: torchvision datasets are swapped for `torchvision.datasets.FakeData`
of the documented sample shape (256 samples), `keras.datasets.*.load_data()` for random uint8
arrays of the documented shapes (256 train / 64 test samples), and `tensorflow.keras` is an
alias of Keras 3 on the torch backend. The first top-level model call's input shape and
dtype are recorded (torch: `nn.Module.__call__`, Keras: `Layer.__call__` on concrete
tensors), and an exception's line in the script.
"""

from __future__ import annotations

import json
import os
import runpy
import sys
import traceback
import types
from typing import Any

os.environ.setdefault("KERAS_BACKEND", "torch")
sys.modules.setdefault(
    "torchvision._meta_registrations", types.ModuleType("torchvision._meta_registrations")
)

import numpy as np  # noqa: E402
import torch  # noqa: E402

record: dict[str, Any] = {}
_depth = [0]
N_FAKE = 256

# torchvision docs: sample (C, H, W) and classes
TORCHVISION = {
    "MNIST": (1, 28, 28, 10),
    "FashionMNIST": (1, 28, 28, 10),
    "KMNIST": (1, 28, 28, 10),
    "EMNIST": (1, 28, 28, 47),
    "QMNIST": (1, 28, 28, 10),
    "CIFAR10": (3, 32, 32, 10),
    "CIFAR100": (3, 32, 32, 100),
    "SVHN": (3, 32, 32, 10),
    "STL10": (3, 96, 96, 10),
}
# keras.io/api/datasets: (sample shape, label shape per sample)
KERAS = {
    "mnist": ((28, 28), (), 10),
    "fashion_mnist": ((28, 28), (), 10),
    "cifar10": ((32, 32, 3), (1,), 10),
    "cifar100": ((32, 32, 3), (1,), 100),
}


def _note(x: object) -> None:
    if "input" in record:
        return
    if isinstance(x, torch.Tensor):
        record["input"] = list(x.shape)
        record["dtype"] = str(x.dtype).removeprefix("torch.")


def _patch_torch() -> None:
    orig = torch.nn.Module.__call__

    def call(self: torch.nn.Module, *args: Any, **kwargs: Any) -> Any:
        transform = type(self).__module__.startswith("torchvision.transforms")
        if (
            _depth[0] == 0
            and args
            and not transform
            and not isinstance(self, torch.nn.modules.loss._Loss)
        ):
            _note(args[0])
        _depth[0] += 1
        try:
            return orig(self, *args, **kwargs)
        finally:
            _depth[0] -= 1

    torch.nn.Module.__call__ = call  # type: ignore[method-assign]


def _patch_torchvision() -> None:
    try:
        import torchvision.datasets as tvd
    except ImportError:
        return

    def fake(c: int, h: int, w: int, k: int) -> Any:
        def make(*args: Any, transform: Any = None, target_transform: Any = None, **kw: Any) -> Any:
            return tvd.FakeData(
                size=N_FAKE,
                image_size=(c, h, w),
                num_classes=k,
                transform=transform,
                target_transform=target_transform,
            )

        return make

    for name, spec in TORCHVISION.items():
        setattr(tvd, name, fake(*spec))


def _patch_keras() -> None:
    try:
        import keras
    except ImportError:
        return
    rng = np.random.default_rng(0)

    def loader(sample: tuple[int, ...], label: tuple[int, ...], k: int) -> Any:
        def load_data(*args: Any, **kwargs: Any) -> Any:
            return tuple(
                (
                    rng.integers(0, 256, size=(n, *sample), dtype=np.uint8),
                    rng.integers(0, k, size=(n, *label), dtype=np.uint8),
                )
                for n in (N_FAKE, 64)
            )

        return load_data

    for name, spec in KERAS.items():
        getattr(keras.datasets, name).load_data = loader(*spec)
    tf = types.ModuleType("tensorflow")
    tf.keras = keras  # type: ignore[attr-defined]
    sys.modules.setdefault("tensorflow", tf)
    sys.modules.setdefault("tensorflow.keras", keras)
    sys.modules.setdefault("tensorflow.keras.layers", keras.layers)
    orig = keras.Layer.__call__

    def call(self: Any, *args: Any, **kwargs: Any) -> Any:
        if _depth[0] == 0 and args and isinstance(self, keras.Model):
            _note(args[0])
        _depth[0] += 1
        try:
            return orig(self, *args, **kwargs)
        finally:
            _depth[0] -= 1

    keras.Layer.__call__ = call


def main() -> None:
    script = os.path.abspath(sys.argv[1])
    _patch_torch()
    _patch_torchvision()
    _patch_keras()
    torch.manual_seed(0)
    try:
        runpy.run_path(script, run_name="__main__")
    except BaseException as e:  # the script's own failure is the result
        record["error"] = f"{type(e).__name__}: {str(e)[:300]}"
        lines = [f.lineno for f in traceback.extract_tb(e.__traceback__) if f.filename == script]
        record["error_line"] = lines[-1] if lines else None
    print(json.dumps(record))


if __name__ == "__main__":
    main()
