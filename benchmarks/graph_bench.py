"""Time `shape-lsp graph`: cold (a fresh process, as the CLI runs) and warm (the analysis of an
already-open file redone after an edit, plus DOT and SVG rendering, as the server does for the
editors' graph view). Prints one JSON line.

    .venv/bin/python benchmarks/graph_bench.py \
        benchmarks/.corpus/src/timm/models/vision_transformer.py --depth 2 \
        --input-shapes '{"VisionTransformer": [[1, 3, 224, 224]]}'

`--input-shapes` is `[tool.shape-lsp] input-shapes` (for a file without an example call whose
first layer tells nothing, e.g. timm's ViT, which starts with timm's own PatchEmbed).
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

from shape_lsp.core.api import Analyzer
from shape_lsp.core.config import Settings
from shape_lsp.graph import have_dot, pick, to_dot, to_svg


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("file")
    ap.add_argument("--depth", type=int, default=2)
    ap.add_argument("--model")
    ap.add_argument("--input-shapes", default="{}")
    ap.add_argument("--runs", type=int, default=7)
    args = ap.parse_args()
    path = Path(args.file)
    shapes = json.loads(args.input_shapes)
    settings = replace(
        Settings(),
        input_shapes={k: tuple(tuple(s) for s in v) for k, v in shapes.items()},
    )
    with tempfile.TemporaryDirectory() as tmp:
        cfg = Path(tmp) / "pyproject.toml"
        items = ", ".join(f"{k} = {json.dumps(v)}" for k, v in shapes.items())
        cfg.write_text(f"[tool.shape-lsp]\ninput-shapes = {{ {items} }}\n")
        cmd = [sys.executable, "-m", "shape_lsp", "graph", str(path), "--depth", str(args.depth)]
        cmd += ["--config", str(cfg)] + (["--model", args.model] if args.model else [])
        t0 = time.perf_counter()
        proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
        cold = time.perf_counter() - t0
    src = path.read_text(encoding="utf-8")
    an = Analyzer()
    an.analyze(src, str(path), settings)
    warm: list[float] = []
    svg: list[float] = []
    nodes = boxes = 0
    for i in range(args.runs):
        edited = src + f"\n# edit {i}\n"
        t0 = time.perf_counter()
        result = an.analyze(edited, str(path), settings)
        model = pick(list(result.models), args.model)
        if model is None:
            print(json.dumps({"error": "no model to draw", "cli_rc": proc.returncode}))
            return 1
        dot = to_dot(model, args.depth)
        warm.append(time.perf_counter() - t0)
        if have_dot():
            t1 = time.perf_counter()
            to_svg(model, args.depth)
            svg.append(time.perf_counter() - t1)
        nodes = len(model.graph.nodes) if model.graph else 0
        boxes = sum(1 for ln in dot.splitlines() if "[label=" in ln and "->" not in ln)
    out = {
        "file": str(path),
        "model": model.name,
        "depth": args.depth,
        "graph_nodes": nodes,
        "boxes_drawn": boxes,
        "cli_cold_s": round(cold, 2),
        "cli_rc": proc.returncode,
        "warm_analyze_dot_ms_median": round(statistics.median(warm) * 1000, 1),
        "warm_analyze_dot_ms_max": round(max(warm) * 1000, 1),
        "svg_dot_ms_median": round(statistics.median(svg) * 1000, 1) if svg else None,
    }
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
