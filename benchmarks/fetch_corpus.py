"""Fetch the real-world corpora into the git-ignored `benchmarks/.corpus/` folder: wheels
under `dl/`, unzipped trees under `src/<package>/`.

    .venv/bin/python benchmarks/fetch_corpus.py                  # torchvision + timm
    .venv/bin/python benchmarks/fetch_corpus.py --corpus second  # monai, diffusers, ...

The second corpus is public model code nobody here tuned for: monai's networks, diffusers'
UNets and autoencoders, torchaudio's models, segmentation-models-pytorch, 20 of transformers'
model files and 10 of keras-hub's model folders (Keras), all from pinned wheels.

Uses `pip download --no-deps`; skips what is already there. Third-party code is never
committed (`benchmarks/.corpus/` is in .gitignore).
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent / ".corpus"
DL = ROOT / "dl"
SRC = ROOT / "src"
# torchvision 0.29.2 is not installable beside torch 2.13 here (constraints cap it at 0.29.1).
PACKAGES = {"torchvision": "0.29.1", "timm": "1.0.31"}
# The folders the corpus scripts read, relative to src/.
MODEL_DIRS = ("torchvision/models", "timm/models")

_HF = "transformers/models"
_KH = "keras_hub/src/models"
# Second corpus: distribution -> (version, import package); then the paths it checks.
SECOND_PACKAGES = {
    "monai": ("1.6.1", "monai"),
    "diffusers": ("0.42.1", "diffusers"),
    "torchaudio": ("2.11.0", "torchaudio"),
    "segmentation-models-pytorch": ("0.6.0", "segmentation_models_pytorch"),
    "transformers": ("5.23.0", "transformers"),
    "keras-hub": ("0.32.0", "keras_hub"),
}
_HF_MODELS = [
    "bert",
    "beit",
    "clip",
    "convnext",
    "deit",
    "detr",
    "dinov2",
    "efficientnet",
    "gpt2",
    "levit",
    "mobilenet_v2",
    "mobilevit",
    "poolformer",
    "regnet",
    "resnet",
    "segformer",
    "swin",
    "vit",
    "wav2vec2",
    "whisper",
]
_KH_MODELS = [
    "resnet",
    "vit",
    "densenet",
    "efficientnet",
    "mobilenet",
    "vgg",
    "cspnet",
    "xception",
    "segformer",
    "mit",
]
SECOND_PATHS = (
    "monai/networks/nets",
    "monai/networks/blocks",
    "diffusers/models/unets",
    "diffusers/models/autoencoders",
    "torchaudio/models",
    "segmentation_models_pytorch/decoders",
    "segmentation_models_pytorch/base",
    *(f"{_HF}/{m}/modeling_{m}.py" for m in _HF_MODELS),
    *(f"{_KH}/{m}" for m in _KH_MODELS),
)
CORPORA = {"main": MODEL_DIRS, "second": SECOND_PATHS}


def _wheel(name: str, version: str) -> Path | None:
    stem = name.replace("-", "_")
    hits = sorted(DL.glob(f"{stem}-{version}-*.whl"))
    return hits[0] if hits else None


def _packages(corpus: str) -> dict[str, tuple[str, str]]:
    if corpus == "second":
        return SECOND_PACKAGES
    return {name: (version, name) for name, version in PACKAGES.items()}


def fetch(corpus: str = "main") -> list[Path]:
    """Download and unzip each package unless present; returns the paths to check."""
    DL.mkdir(parents=True, exist_ok=True)
    SRC.mkdir(parents=True, exist_ok=True)
    paths = [SRC / d for d in CORPORA[corpus]]
    for name, (version, package) in _packages(corpus).items():
        if all(p.exists() for p in paths if p.relative_to(SRC).parts[0] == package):
            continue
        wheel = _wheel(name, version)
        if wheel is None:
            subprocess.run(
                [
                    sys.executable,
                    "-m",
                    "pip",
                    "download",
                    "--no-deps",
                    "--only-binary=:all:",
                    "--dest",
                    str(DL),
                    f"{name}=={version}",
                ],
                check=True,
            )
            wheel = _wheel(name, version)
            if wheel is None:
                raise SystemExit(f"fetch_corpus: no wheel for {name}=={version} in {DL}")
        with zipfile.ZipFile(wheel) as zf:
            members = [
                m for m in zf.namelist() if m.startswith(f"{package}/") and m.endswith(".py")
            ]
            zf.extractall(SRC, members)
    for p in paths:
        if not p.exists():
            raise SystemExit(f"fetch_corpus: {p} missing after unzip")
    return paths


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--corpus", choices=sorted(CORPORA), default="main")
    args = ap.parse_args(argv)
    for d in fetch(args.corpus):
        print(d)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
