"""Wall time of `shape-lsp verify` on a ResNet-50 against a bare script doing the same forward.

Each figure is the median (and min) of --repeat interleaved runs, each in a fresh interpreter:
  verify_<dev>   `python -m shape_lsp.verifier.command FIXTURE --device <dev>` (static analysis,
                 agent spawn, import, build, hooked forward, diff, output)
  client_<dev>   `run_verify(...)` called in an already warm process (what the server pays)
  bare_<dev>     `python -c "import torch, build ResNet50 on <dev>, one no_grad forward"`
Prints one JSON line: seconds per figure and the verify/bare ratios.

    .venv/bin/python benchmarks/verify_bench.py [--repeat 3] [--batch 8] [--size 224]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FIXTURE = ROOT / "benchmarks" / "fixtures" / "resnet50.py"

BARE = """
import sys, torch
sys.path.insert(0, {folder!r})
from resnet50 import ResNet50
dev = {device!r}
with torch.device(dev):
    model = ResNet50().eval()
x = (torch.empty if dev == "meta" else torch.randn)({shape}, device=dev)
with torch.no_grad():
    out = model(x)
assert tuple(out.shape) == ({batch}, 1000)
"""


def _time(cmd: list[str]) -> float:
    start = time.perf_counter()
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(f"{cmd[:4]} failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
    return elapsed


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--size", type=int, default=224)
    ap.add_argument("--devices", default="meta,cpu")
    args = ap.parse_args()
    sys.path.insert(0, str(ROOT))
    from shape_lsp.verifier.client import run_verify

    shape = (args.batch, 3, args.size, args.size)
    shape_arg = ",".join(map(str, shape))
    figures: dict[str, float | int | str] = {
        "model": "ResNet-50",
        "input": shape_arg,
        "repeat": args.repeat,
    }
    for dev in args.devices.split(","):
        verify = [
            sys.executable,
            "-m",
            "shape_lsp.verifier.command",
            str(FIXTURE),
            "--model",
            "ResNet50",
            "--device",
            dev,
            "--input-shape",
            shape_arg,
            "--timeout",
            "300",
            "--format",
            "json",
        ]
        bare = [
            sys.executable,
            "-c",
            BARE.format(folder=str(FIXTURE.parent), device=dev, shape=shape, batch=args.batch),
        ]
        times: dict[str, list[float]] = {"verify": [], "bare": [], "client": []}
        calls = 0
        for _ in range(args.repeat):  # interleaved, so load drift hits all three alike
            times["verify"].append(_time(verify))
            times["bare"].append(_time(bare))
            start = time.perf_counter()
            r = run_verify(
                str(FIXTURE), model="ResNet50", input_shapes=[shape], device=dev, timeout=300
            )
            times["client"].append(time.perf_counter() - start)
            if r.status != "ok" or len(r.models[0].calls) < 150:
                raise SystemExit(f"verify on {dev}: {r.status}: {r.message}")
            calls = len(r.models[0].calls)
        for key, vals in times.items():
            figures[f"{key}_{dev}_s"] = round(statistics.median(vals), 3)
            figures[f"{key}_{dev}_min_s"] = round(min(vals), 3)
        for key in ("verify", "client"):
            figures[f"ratio_{key}_{dev}"] = round(
                statistics.median(times[key]) / statistics.median(times["bare"]), 2
            )
            figures[f"ratio_{key}_{dev}_min"] = round(min(times[key]) / min(times["bare"]), 2)
        figures[f"calls_{dev}"] = calls
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
