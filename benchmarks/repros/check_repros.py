"""Re-check the reproducers: shape-lsp's verdict on each file, and what torch does.

    .venv/bin/python benchmarks/repros/check_repros.py

`missing_*.py` are buggy on purpose (torch raises on the `torch check` line of the
docstring) and shape-lsp misses them; `fp_*.py` are correct and shape-lsp flags them.
A repro is fixed when the first kind gets a finding and the second kind gets none.
"""

from __future__ import annotations

import importlib.util
import re
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent


def main() -> int:
    import torch

    exe = Path(sys.executable).with_name("shape-lsp")
    for p in sorted(HERE.glob("*_*.py")):
        if p.name == Path(__file__).name:
            continue
        out = subprocess.run([str(exe), "check", "--no-cache", str(p)], capture_output=True, text=True,
                             check=False).stdout.strip().splitlines()
        spec = importlib.util.spec_from_file_location(p.stem, p)
        assert spec is not None and spec.loader is not None
        mod = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(mod)
        m = re.search(r"torch check.*?:\n    (.*)\n", p.read_text(encoding="utf-8"))
        verdict = "torch runs"
        try:
            if m:
                eval(m.group(1), {**vars(mod), "torch": torch})
        except Exception as e:
            verdict = f"torch raises {type(e).__name__}: {str(e)[:70]}"
        print(f"{p.name}: shape-lsp: {out[-1] if out else '?'} | {verdict}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
