"""Fetch the real-world corpus (torchvision and timm sources) into the git-ignored
`benchmarks/.corpus/` folder: wheels under `dl/`, unzipped trees under `src/<dist>/`.

    .venv/bin/python benchmarks/fetch_corpus.py

Uses `pip download --no-deps`; skips what is already there. Third-party code is never
committed (`benchmarks/.corpus/` is in .gitignore).
"""

from __future__ import annotations

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


def _wheel(name: str, version: str) -> Path | None:
    hits = sorted(DL.glob(f"{name}-{version}-*.whl"))
    return hits[0] if hits else None


def fetch() -> list[Path]:
    """Download and unzip each package unless present; returns the model folders."""
    DL.mkdir(parents=True, exist_ok=True)
    SRC.mkdir(parents=True, exist_ok=True)
    for name, version in PACKAGES.items():
        target = SRC / name
        if (target / "models").is_dir():
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
            members = [m for m in zf.namelist() if m.startswith(f"{name}/") and m.endswith(".py")]
            zf.extractall(SRC, members)
    dirs = [SRC / d for d in MODEL_DIRS]
    for d in dirs:
        if not d.is_dir():
            raise SystemExit(f"fetch_corpus: {d} missing after unzip")
    return dirs


def main() -> int:
    for d in fetch():
        print(d)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
