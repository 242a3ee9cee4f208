"""Library code from the user's environment (issue #17): a ~50-line user model built on timm's
resnet50 and a small BERT from transformers, checked against the libraries' real sources.

The pinned wheels' Python files are unzipped into a temporary site folder (tests/library_site.py;
nothing is imported from them), named by `[tool.shape-lsp] library-paths` in a temporary
project. Figures, side by side in one run:

- cold `shape-lsp check` (new process, empty library cache; result cache off)
- warm `shape-lsp check` (new process, library index cache filled, user file edited)
- in-process (server-like, one Analyzer): first analysis, then edit -> diagnostics p50
- RSS of the in-process run

Run: `.venv/bin/python benchmarks/library_env.py [--runs N] [--case both|timm]`. Skips when the
wheels are missing.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.library_site import unpack  # noqa: E402

USER = '''"""A small classifier on timm's resnet50 and a text encoder from transformers."""

import timm
import torch
import torch.nn as nn
from transformers import BertConfig, BertModel


class ImageHead(nn.Module):
    def __init__(self, num_classes: int = 10) -> None:
        super().__init__()
        self.backbone = timm.create_model("resnet50", pretrained=False, num_classes=0)
        self.proj = nn.Linear(2048, 256)
        self.cls = nn.Linear(256, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        feats = self.backbone(x)
        return self.cls(torch.relu(self.proj(feats)))


class TextEncoder(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        config = BertConfig(
            hidden_size=128,
            num_hidden_layers=2,
            num_attention_heads=4,
            intermediate_size=256,
        )
        self.bert = BertModel(config)
        self.head = nn.Linear(config.hidden_size, 8)

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        out = self.bert(ids)
        return self.head(out.last_hidden_state[:, 0])


image_model = ImageHead(num_classes=5)
logits = image_model(torch.randn(2, 3, 64, 64))
plain = timm.create_model("resnet50", pretrained=False, num_classes=7)
y = plain(torch.randn(2, 3, 64, 64))
text_model = TextEncoder()
emb = text_model(torch.randint(0, 1000, (2, 16)))
EDIT = {edit}
'''


TIMM_ONLY = '''"""timm's resnet50 with a new head."""

import timm
import torch
import torch.nn as nn


class ImageHead(nn.Module):
    def __init__(self, num_classes: int = 10) -> None:
        super().__init__()
        self.backbone = timm.create_model("resnet50", pretrained=False, num_classes=0)
        self.cls = nn.Linear(2048, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.cls(self.backbone(x))


image_model = ImageHead(num_classes=5)
logits = image_model(torch.randn(2, 3, 64, 64))
EDIT = {edit}
'''


def _check(project: Path, user: Path, cache: Path) -> tuple[float, dict[str, object]]:
    env = {**os.environ, "SHAPE_LSP_CACHE_DIR": str(cache)}
    t = time.perf_counter()
    out = subprocess.run(
        [sys.executable, "-m", "shape_lsp", "check", "--no-cache", "--format", "json", str(user)],
        capture_output=True,
        text=True,
        cwd=project,
        env=env,
        timeout=600,
        check=False,
    )
    wall = time.perf_counter() - t
    try:
        data = json.loads(out.stdout)
    except ValueError:
        data = {"error": out.stderr[-2000:]}
    return wall, data


def _summary(data: dict[str, object]) -> str:
    files = data.get("files") if isinstance(data, dict) else None
    if not isinstance(files, list) or not files:
        return str(data)[:300]
    rec = files[0]
    models = [
        f"{m['name']}: {m.get('output')} ({m.get('total_params')} params)" for m in rec["models"]
    ]
    diags = [f"{d['line']}:{d['code']} {d['message'][:80]}" for d in rec["diagnostics"]]
    return "; ".join(models) + (" | diagnostics: " + "; ".join(diags) if diags else "")


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=20, help="edits timed in-process")
    ap.add_argument("--case", choices=["both", "timm"], default="both", help="user file")
    args = ap.parse_args()
    user_text = USER if args.case == "both" else TIMM_ONLY
    with tempfile.TemporaryDirectory() as tmp:
        site = Path(tmp) / "site"
        for package in ("timm", "transformers")[: 2 if args.case == "both" else 1]:
            if not unpack(package, site):
                print(f"skip: the {package} wheel is not available (offline?)")
                return 0
        project = Path(tmp) / "project"
        project.mkdir()
        (project / "pyproject.toml").write_text(
            f'[tool.shape-lsp]\nlibrary-paths = ["{site}"]\n', "utf-8"
        )
        user = project / "model.py"
        cache = Path(tmp) / "cache"
        user.write_text(user_text.format(edit=0), "utf-8")
        cold, data = _check(project, user, cache)
        print(f"cold check : {cold:6.2f} s  (new process, empty library cache)")
        user.write_text(user_text.format(edit=1), "utf-8")
        warm, data = _check(project, user, cache)
        print(f"warm check : {warm:6.2f} s  (new process, index cache filled, user file edited)")
        print(f"  result   : {_summary(data)}")

        from shape_lsp.core.api import Analyzer
        from shape_lsp.core.config import load_settings

        settings, _ = load_settings(user)
        os.environ["SHAPE_LSP_CACHE_DIR"] = str(cache)
        an = Analyzer(libraries=True)
        t = time.perf_counter()
        an.analyze(user_text.format(edit=2), str(user), settings)
        first = time.perf_counter() - t
        times = []
        for i in range(args.runs):
            text = user_text.format(edit=100 + i)
            t = time.perf_counter()
            an.analyze(text, str(user), settings)
            times.append((time.perf_counter() - t) * 1000)
        rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(
            f"in-process : first {first:5.2f} s, edit->diagnostics p50 {statistics.median(times):6.1f} ms"
        )
        print(f"RSS        : {rss:6.0f} MB (in-process run, max resident)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
