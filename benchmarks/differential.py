"""Agreement with torch at scale: random configurations around every layer rule's examples.

    .venv/bin/python benchmarks/differential.py --per-rule 2000 -j 2

For each torch layer rule with examples, configurations are generated around each example:
integer constructor arguments perturbed (kernel/stride/padding/dilation/groups/channels ...,
inside tuples too), stride/padding/dilation/groups keywords added where the signature has them,
input sizes perturbed and ranks changed by one. Each runs through the engine
(tests/rules/harness.engine_layer) and through torch (harness.torch_layer). Outcomes:

  agree            same shape, or both report an error
  unknown          the engine gives no shape and no error (allowed: it cannot decide)
  training only    torch raises in training mode but runs after .eval() (BatchNorm on one value
                   per channel, InstanceNorm tracking running stats on one spatial element),
                   and the engine gives eval mode's shape and no error (allowed: the mode is
                   not in the source, so it cannot decide); an engine error there is a false
                   positive, a different shape a wrong shape. Only layers whose classes read
                   self.training are run again in eval mode.
  wrong shape      both succeed with different shapes
  false positive   the engine reports an error, torch runs
  missed           torch raises in forward, the engine gives a concrete shape
  missed (ctor)    torch's constructor raises, the engine gives a concrete shape
  engine crash     the engine raised something other than a finding
  bad argument     missed / wrong shape where a size-like argument was made zero or negative
                   (torch rejects it in forward: an argument check, not a shape rule)
  empty tensor     missed / wrong shape with a zero-sized input dimension (torch's special
                   cases for empty tensors)

Disagreements = wrong shape + false positive + missed + engine crash (target 0). "missed
(ctor)", "bad argument" and "empty tensor" are counted apart: argument validation and empty
tensors are outside what the shape rules promise; they are printed with examples. Prints per-rule counts, examples of each disagreement, one JSON line.
"""

from __future__ import annotations

import argparse
import ast
import functools
import inspect
import json
import multiprocessing as mp
import random
import sys
import time
import warnings
from collections import Counter
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

MAX_ELEMENTS = 200_000
KINDS = (
    "agree",
    "unknown",
    "training only",
    "wrong shape",
    "false positive",
    "missed",
    "missed (ctor)",
    "bad argument",
    "empty tensor",
    "engine crash",
)
DISAGREE = ("wrong shape", "false positive", "missed", "engine crash")
EXTRA_KW = ("stride", "padding", "dilation", "groups", "output_padding", "ceil_mode")


def rules() -> dict[str, Any]:
    """name -> rule, torch rules with examples, one name per rule."""
    from shape_lsp.core.rules import LAYERS

    out: dict[str, Any] = {}
    seen: set[int] = set()
    for name, rule in LAYERS.items():
        if rule.framework != "torch" or not rule.examples or id(rule) in seen:
            continue
        seen.add(id(rule))
        out[name] = rule
    return out


def _perturb_int(v: int, rng: random.Random) -> int:
    r = rng.random()
    if r < 0.45:
        return max(v + rng.choice([-2, -1, 1, 2]), rng.choice([0, 1]))
    if r < 0.75:
        return rng.randrange(0, 9)
    if r < 0.85:
        return v * 2
    if r < 0.92:
        return -rng.randrange(1, 3)
    return v


ZERO_OK = {
    "padding",
    "output_padding",
    "dim",
    "start_dim",
    "end_dim",
    "num_layers",
    "value",
    "padding_idx",
    "dropout",
    "p",
}


def _perturb_value(node: ast.expr, rng: random.Random, name: str, flags: list[str]) -> ast.expr:
    if isinstance(node, ast.Constant) and type(node.value) is int and rng.random() < 0.5:
        new = _perturb_int(node.value, rng)
        if new < 0 <= node.value or (new == 0 < node.value and name not in ZERO_OK):
            flags.append(f"{name}={new}")
        return ast.Constant(new)
    if isinstance(node, ast.Tuple | ast.List):
        node.elts = [_perturb_value(e, rng, name, flags) for e in node.elts]
    return node


def perturb_ctor(ctor: str, rule: Any, rng: random.Random, flags: list[str] | None = None) -> str:
    """The constructor with some integers changed; `flags` collects non-positive values given
    to parameters that need positive ones (torch rejects those as arguments, not shapes)."""
    flags = [] if flags is None else flags
    call = ast.parse(ctor, mode="eval").body
    assert isinstance(call, ast.Call)
    pnames = [p.name for p in rule.signature]
    call.args = [
        _perturb_value(a, rng, pnames[i] if i < len(pnames) else "?", flags)
        for i, a in enumerate(call.args)
    ]
    for kw in call.keywords:
        kw.value = _perturb_value(kw.value, rng, kw.arg or "?", flags)
    names = {p.name for p in rule.signature}
    have = {k.arg for k in call.keywords}
    for extra in EXTRA_KW:
        if extra in names and extra not in have and rng.random() < 0.25:
            # only when not given positionally
            pos = [p.name for p in rule.signature][: len(call.args)]
            if extra not in pos:
                value: Any = (
                    rng.random() < 0.5 if extra == "ceil_mode" else rng.choice([0, 1, 1, 2, 2, 3])
                )
                if value == 0 and extra not in ZERO_OK and extra != "ceil_mode":
                    flags.append(f"{extra}=0")
                call.keywords.append(ast.keyword(extra, ast.Constant(value)))
    return ast.unparse(call)


def perturb_shape(shape: tuple[int, ...], rng: random.Random) -> tuple[int, ...]:
    dims = list(shape)
    r = rng.random()
    if r < 0.1 and len(dims) > 1:
        del dims[rng.randrange(len(dims))]
    elif r < 0.2 and len(dims) < 6:
        dims.insert(rng.randrange(len(dims) + 1), rng.randrange(1, 5))
    for i in range(len(dims)):
        if rng.random() < 0.4:
            dims[i] = max(0, dims[i] + rng.choice([-3, -2, -1, 1, 2, 3]))
        elif rng.random() < 0.05:
            dims[i] = rng.randrange(0, 3)
    return tuple(dims)


def classify(ctor: str, inputs: tuple[tuple[int, ...], ...]) -> tuple[str, str]:
    from tests.rules.harness import engine_layer, torch_layer

    try:
        ours = engine_layer(ctor, inputs)
    except Exception as e:
        return "engine crash", f"{type(e).__name__}: {e}"
    import torch
    from torch import nn

    try:  # the constructor alone, to tell its errors from forward's
        mod = eval(ctor, {"nn": nn, "torch": torch})
        ctor_ok = True
    except Exception:
        ctor_ok = False
    try:
        theirs: Any = torch_layer(ctor, inputs)
    except Exception as e:
        theirs = e
    if isinstance(theirs, BaseException) and ctor_ok and _reads_training(mod):
        # torch raising in training mode only (BatchNorm's "more than 1 value per channel"):
        # the mode is not in the source, so the engine must not report it, and its shape must
        # be eval mode's
        try:
            in_eval: Any = torch_layer(ctor, inputs, training=False)
        except Exception as e:
            in_eval = e
        if not isinstance(in_eval, BaseException):
            kind, detail = _compare(ours, in_eval)
            if kind == "agree":
                return "training only", f"torch in training mode: {str(theirs)[:150]}"
            return kind, f"{detail} (torch raises in training mode only)"
    if isinstance(theirs, BaseException):
        if ours.code is not None:
            return "agree", ""
        if ours.shape is None or any(not isinstance(d, int) for d in ours.shape):
            return "unknown", ""
        if "SH104" in ours.warnings and 0 in ours.shape:  # empty output: a warning only
            return "agree", ""
        kind = "missed" if ctor_ok else "missed (ctor)"
        return kind, f"engine {ours.shape}, torch {type(theirs).__name__}: {str(theirs)[:150]}"
    return _compare(ours, theirs)


def _reads_training(mod: Any) -> bool:
    """Whether eval mode can change the outcome: some submodule's class (or a base class below
    nn.Module) reads `self.training`."""
    return any(_class_reads_training(type(m)) for m in mod.modules())


@functools.cache
def _class_reads_training(cls: type) -> bool:
    from torch import nn

    for klass in cls.__mro__:
        if klass in (nn.Module, object):
            continue
        try:
            if "self.training" in inspect.getsource(klass):
                return True
        except (OSError, TypeError):
            return True
    return False


def _compare(ours: Any, theirs: tuple[int, ...]) -> tuple[str, str]:
    """The engine's outcome against a torch run that succeeded with shape `theirs`."""
    if ours.code is not None:
        return "false positive", f"engine {ours.code}, torch {theirs}"
    if ours.shape is None:
        return "unknown", ""
    known = [(a, b) for a, b in zip(ours.shape, theirs, strict=False) if isinstance(a, int)]
    if len(ours.shape) != len(theirs) or any(a != b for a, b in known):
        return "wrong shape", f"engine {ours.shape}, torch {theirs}"
    return "agree" if len(known) == len(theirs) else "unknown", ""


def run_rule(job: tuple[str, int, int]) -> dict[str, Any]:
    name, n, seed = job
    warnings.simplefilter("ignore")
    import torch

    torch.set_num_threads(1)
    rule = rules()[name]
    rng = random.Random(seed)
    counts: Counter[str] = Counter()
    samples: dict[str, list[str]] = {}
    done = 0
    tries = 0
    while done < n and tries < n * 3:
        tries += 1
        ex = rng.choice(rule.examples)
        flags: list[str] = []
        ctor = perturb_ctor(ex.ctor, rule, rng, flags) if rng.random() < 0.7 else ex.ctor
        inputs = tuple(perturb_shape(s, rng) if rng.random() < 0.7 else s for s in ex.inputs)
        if rng.random() < 0.3 and len(ex.inputs) > 1:  # keep multi-input layers consistent
            inputs = (inputs[0],) * len(ex.inputs)
        if any(_numel(s) > MAX_ELEMENTS for s in inputs):
            continue
        kind, detail = classify(ctor, inputs)
        if kind in ("missed", "wrong shape", "false positive"):
            if any(0 in sh for sh in inputs):
                kind = "empty tensor"
            elif flags and kind != "false positive":
                kind = "bad argument"
        counts[kind] += 1
        done += 1
        if kind not in ("agree", "unknown"):
            lst = samples.setdefault(kind, [])
            if len(lst) < 3:
                lst.append(f"{ctor} on {inputs}: {detail}")
    return {"rule": name, "counts": dict(counts), "samples": samples}


def _numel(shape: tuple[int, ...]) -> int:
    out = 1
    for d in shape:
        out *= max(d, 1)
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--per-rule", type=int, default=2000)
    ap.add_argument("-j", "--jobs", type=int, default=2)
    ap.add_argument("--only", action="append", help="rule name substring (repeatable)")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)
    names = [n for n in rules() if not args.only or any(o in n for o in args.only)]
    jobs = [(n, args.per_rule, args.seed + i) for i, n in enumerate(names)]
    t0 = time.time()
    ctx = mp.get_context("fork" if sys.platform.startswith("linux") else "spawn")
    with ctx.Pool(args.jobs) as pool:
        results = sorted(pool.imap_unordered(run_rule, jobs), key=lambda r: r["rule"])
    total: Counter[str] = Counter()
    print(f"{'rule':<30}" + "".join(f"{k[:12]:>13}" for k in KINDS))
    for r in results:
        total.update(r["counts"])
        print(
            f"{r['rule'].removeprefix('torch.nn.'):<30}"
            + "".join(f"{r['counts'].get(k, 0):>13}" for k in KINDS)
        )
    print(f"{'TOTAL':<30}" + "".join(f"{total.get(k, 0):>13}" for k in KINDS))
    disagreements = sum(total[k] for k in DISAGREE)
    print(
        f"\n{sum(total.values())} cases over {len(results)} rules in {time.time() - t0:.0f} s; "
        f"disagreements: {disagreements}"
    )
    for r in results:
        for kind, lst in r["samples"].items():
            for s in lst[:2]:
                print(f"  {kind}: {s}")
    print(
        json.dumps(
            {
                "cases": sum(total.values()),
                "rules": len(results),
                "disagreements": disagreements,
                **{k: total.get(k, 0) for k in KINDS},
            }
        )
    )
    return 1 if disagreements else 0


if __name__ == "__main__":
    raise SystemExit(main())
