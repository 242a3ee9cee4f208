"""Library sources for tests and benchmarks, never vendored: the pinned wheel is downloaded
once (`pip download --no-deps`) into the git-ignored `benchmarks/.corpus/dl/`, and its Python
files are unzipped into a site folder given by the caller (a temporary folder in tests).
Nothing from the libraries is imported; their compiled parts are left out."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DL = ROOT / "benchmarks" / ".corpus" / "dl"
PINNED = {"torchvision": "0.29.1", "timm": "1.0.31", "transformers": "5.25.0"}


def wheel(package: str, version: str | None = None) -> Path | None:
    """The wheel of `package==version`, downloaded when missing; None when offline."""
    version = version or PINNED[package]
    found = sorted(DL.glob(f"{package}-{version}-*.whl"))
    if found:
        return found[0]
    DL.mkdir(parents=True, exist_ok=True)
    try:
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
                f"{package}=={version}",
            ],
            check=True,
            capture_output=True,
            timeout=300,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    found = sorted(DL.glob(f"{package}-{version}-*.whl"))
    return found[0] if found else None


def unpack(package: str, site: Path, version: str | None = None) -> bool:
    """Unzip the package's .py/.pyi files into `site`; False when the wheel cannot be had."""
    if (site / package / "__init__.py").is_file():
        return True
    whl = wheel(package, version)
    if whl is None:
        return False
    with zipfile.ZipFile(whl) as zf:
        members = [
            m for m in zf.namelist() if m.startswith(f"{package}/") and m.endswith((".py", ".pyi"))
        ]
        zf.extractall(site, members)
    return True
