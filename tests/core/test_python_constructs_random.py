"""Random models built from the Python constructs the interpreter follows (zip / enumerate over
ModuleLists, setattr/getattr with f-string names, a Sequential subclass calling
super().forward, ModuleDict items, int() of a float product, dataclass configs), with random
sizes that are sometimes wrong. The engine must never crash, never report an error torch does
not raise, and when it reports none the torch output shape must match its own (if known).
All programs run in one torch subprocess.
"""

from __future__ import annotations

import json
import random
import subprocess
import sys

import pytest

from shape_lsp.core.api import Analyzer

N_PROGRAMS = 40

HEADER = """import dataclasses
import torch
import torch.nn as nn


@dataclasses.dataclass
class Cfg:
    dim: int = {dim}
    ratio: float = {ratio}


class Seq(nn.Sequential):
    def __init__(self, a, b):
        super().__init__(nn.Linear(a, b), nn.ReLU())

    def forward(self, x):
        return super().forward(x) * 1.0


"""

INIT = {
    "zip": (
        "        self.ls = nn.ModuleList([nn.Linear({a}, {b}) for _ in range(2)])\n"
        "        self.ns = nn.ModuleList([nn.LayerNorm({b}) for _ in range(2)])\n"
    ),
    "enumerate": "        self.ls = nn.ModuleList([nn.Linear({a}, {b}), nn.Linear({b2}, {b})])\n",
    "getattr": "        for i in range(2):\n            setattr(self, f'l{{i}}', nn.Linear({a}, {b}))\n",
    "super": "        self.s = Seq({a}, {b})\n",
    "dict": "        self.d = nn.ModuleDict({{'p': nn.Linear({a}, {b}), 'q': nn.Linear({a2}, {b})}})\n",
    "int": "        h = int(cfg.dim * cfg.ratio)\n        self.f1 = nn.Linear(cfg.dim, h)\n"
    "        self.f2 = nn.Linear(h + {off}, {b})\n",
}
FORWARD = {
    "zip": "        for l, n in zip(self.ls, self.ns):\n            x = n(l(x))\n",
    "enumerate": "        for i, l in enumerate(self.ls):\n            x = l(x) + i\n",
    "getattr": "        for i in range(2):\n            x = getattr(self, f'l{i}')(x)\n",
    "super": "        x = self.s(x)\n",
    "dict": "        x = self.d['p'](x) + self.d['q'](x)\n",
    "int": "        x = self.f2(self.f1(x))\n",
}


def program(rnd: random.Random) -> str:
    kind = rnd.choice(list(INIT))
    dim = rnd.choice([4, 6, 8])
    a = dim
    b = rnd.choice([dim, dim + 1, 5])
    sizes = {
        "a": a,
        "b": b,
        "b2": rnd.choice([b, b + 1]),
        "a2": rnd.choice([a, a + 1]),
        "off": rnd.choice([0, 0, 1]),
    }
    body = INIT[kind].format(**sizes)
    head_in = rnd.choice([b, b, b + 1])
    return (
        HEADER.format(dim=dim, ratio=rnd.choice([1.0, 1.5, 2.0]))
        + "class Net(nn.Module):\n    def __init__(self, cfg):\n        super().__init__()\n"
        + body
        + f"        self.head = nn.Linear({head_in}, 3)\n\n    def forward(self, x):\n"
        + FORWARD[kind]
        + "        return self.head(x)\n\n\n"
        + f"out = Net(Cfg())(torch.randn(2, {dim}))\n"
    )


RUNNER = r"""
import json, sys
out = []
for src in json.loads(sys.stdin.read()):
    g = {"__name__": "__main__"}
    try:
        exec(compile(src, "<p>", "exec"), g)
        out.append(list(g["out"].shape))
    except Exception as e:
        out.append(type(e).__name__)
print(json.dumps(out))
"""


def test_random_programs_agree_with_torch() -> None:
    pytest.importorskip("torch")
    rnd = random.Random(14)
    progs = [program(rnd) for _ in range(N_PROGRAMS)]
    proc = subprocess.run(
        [sys.executable, "-c", RUNNER],
        input=json.dumps(progs),
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )
    torch_out = json.loads(proc.stdout.strip().splitlines()[-1])
    caught = 0
    raised = 0
    for src, real in zip(progs, torch_out, strict=True):
        r = Analyzer().analyze(src, "p.py")
        assert not r.internal_errors, (src, r.internal_errors)
        errors = [f for f in r.findings if f.severity.name == "ERROR"]
        if isinstance(real, list):
            assert not errors, (src, [f.message for f in errors])
            (net,) = [m for m in r.models if m.name == "Net"]
            if net.output not in (None, "unknown"):
                assert net.output == str(tuple(real)), (src, net.output)
        else:
            raised += 1
            caught += bool(errors)
    assert raised > 0 and caught == raised, f"caught {caught} of {raised} torch errors"
