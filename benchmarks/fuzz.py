"""Fuzz the core with mutations of the fixture models; prints figures.

    .venv/bin/python benchmarks/fuzz.py --cases 100000 -j 2 --budget 1500

Each case takes a fixture model (tests/fixtures/torch), applies one to three random mutations
(deletions, insertions, truncation mid-token, random numbers and strings in layer arguments,
deep nesting of brackets / ifs / defs, huge literals, non-UTF-8 bytes decoded as the CLI does,
CRLF, lone CRs, tabs, NUL bytes, form feeds, very long lines) and runs `Analyzer.analyze` on
it. Checked per case: no exception escapes, the call returns within --slow seconds (slower
cases are listed), every finding and fact span lies inside the text. Reported separately:
results carrying `internal_errors` (caught inside the core, so not crashes, but bugs).

The mutators are shared with tests/core/test_fuzz.py, which drives them from hypothesis:
`rng` is anything with `randrange(n)`, `random()` and `choice(seq)`.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import re
import sys
import time
import traceback
from collections import Counter
from collections.abc import Callable
from multiprocessing.connection import wait
from pathlib import Path
from typing import Any, Protocol

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "tests" / "fixtures" / "torch"


class Rng(Protocol):
    def randrange(self, n: int) -> int: ...
    def random(self) -> float: ...
    def choice(self, seq: Any) -> Any: ...


def seeds() -> list[str]:
    """The fixture models, the starting points of every mutation."""
    return [p.read_text(encoding="utf-8") for p in sorted(FIXTURES.glob("*.py"))]


SNIPPETS = [
    "(",
    ")",
    "[",
    "]",
    "{",
    "}",
    ":",
    ",",
    ".",
    "=",
    "==",
    "*",
    "**",
    "@",
    "->",
    ";",
    "\\",
    "\n",
    "\n    ",
    "    ",
    "\t",
    " ",
    "def ",
    "class ",
    "lambda ",
    "return ",
    "yield ",
    "if ",
    "else:",
    "elif ",
    "for ",
    "while ",
    "async ",
    "await ",
    "import ",
    "from ",
    "with ",
    "try:",
    "except:",
    "match x:",
    "case _:",
    "global x",
    "nonlocal x",
    "del ",
    "pass",
    "'",
    '"',
    "'''",
    '"""',
    "f'{",
    "#",
    "\x00",
    "\r",
    "\r\n",
    "\x0c",
    "\x0b",
    "\u2028",
    "\x85",
    "é",
    "λ",
    "\U0001f642",
    "\ufeff",
    "\ud800",
    "x",
    "self",
    "self.",
    "super().__init__()",
    "nn.Conv2d(",
    "nn.Linear(",
    "nn.Sequential(",
    "torch.cat(",
    ".view(",
    ".reshape(",
    "x.shape",
    "x.size(",
    "x = ",
    "return x",
    "forward(self, x)",
    "nn.Module",
    "Tensor",
    "...",
    "None",
    "-1",
    "0",
    "1e309",
    "10**100",
    "2**63",
    "float('nan')",
]

NUMBERS = [
    "0",
    "-1",
    "-7",
    "1",
    "2",
    "3",
    "7",
    "64",
    "1000000",
    "10**18",
    "2**63",
    "10**400",
    "9" * 50,
    "0.5",
    "1e308",
    "-0.0",
    "float('inf')",
    "float('nan')",
    "True",
    "None",
    "0x10",
    "0b11",
    "1_000",
    "1j",
    "(2, 3)",
    "(0, 0)",
    "[1, 2, 3]",
    "()",
    "(-1,)",
    "x",
    "self",
    "'a'",
    "''",
    "...",
]

STRINGS = [
    "'same'",
    "'valid'",
    "'zeros'",
    "'nonsense'",
    "''",
    "'\\x00'",
    "b'abc'",
    "f'{x}'",
    "'" + "x" * 5000 + "'",
    "'é\\u2028'",
    "r'\\'",
]

_NUM = re.compile(r"(?<![\w.])\d+(?:\.\d+)?(?![\w.])")
_STR = re.compile(r"'[^'\n]*'|\"[^\"\n]*\"")


def _pos(text: str, rng: Rng) -> int:
    return rng.randrange(len(text) + 1)


def m_delete(text: str, rng: Rng) -> str:
    i = _pos(text, rng)
    return text[:i] + text[i + 1 + rng.randrange(40) :]


def m_insert(text: str, rng: Rng) -> str:
    i = _pos(text, rng)
    return text[:i] + rng.choice(SNIPPETS) + text[i:]


def m_truncate(text: str, rng: Rng) -> str:
    return text[: _pos(text, rng)]


def m_number(text: str, rng: Rng) -> str:
    hits = list(_NUM.finditer(text))
    if not hits:
        return m_insert(text, rng)
    m = rng.choice(hits)
    return text[: m.start()] + rng.choice(NUMBERS) + text[m.end() :]


def m_string(text: str, rng: Rng) -> str:
    hits = list(_STR.finditer(text))
    if not hits:
        return m_insert(text, rng)
    m = rng.choice(hits)
    return text[: m.start()] + rng.choice(STRINGS + NUMBERS) + text[m.end() :]


def m_argument(text: str, rng: Rng) -> str:
    """A random extra argument in a call: keyword or positional, value of any kind."""
    hits = [m.end() for m in re.finditer(r"\w\(", text)]
    if not hits:
        return m_insert(text, rng)
    i = rng.choice(hits)
    kw = rng.choice(
        [
            "",
            "stride=",
            "padding=",
            "dilation=",
            "groups=",
            "bias=",
            "dim=",
            "kernel_size=",
            "in_features=",
            "out_channels=",
            "*",
            "**",
            "x=",
        ]
    )
    return text[:i] + kw + rng.choice(NUMBERS + STRINGS) + ", " + text[i:]


def _line_starts(text: str) -> list[int]:
    return [0] + [m.end() for m in re.finditer("\n", text)]


def m_nest_expr(text: str, rng: Rng) -> str:
    """Deeply nested brackets in place of a number (or at a random place)."""
    depth = rng.choice([10, 50, 199, 200, 201, 1000, 5000])
    o, c = rng.choice(
        [
            ("(", ")"),
            ("[", "]"),
            ("{", "}"),
            ("[", "],"),
            ("(", ",)"),
            ("f(", ")"),
            ("-", ""),
            ("not ", ""),
            ("x.", "y"),
            ("a[", "]"),
        ]
    )
    inner = o * depth + "1" + c * depth
    hits = list(_NUM.finditer(text))
    if hits and rng.random() < 0.7:
        m = rng.choice(hits)
        return text[: m.start()] + inner + text[m.end() :]
    i = _pos(text, rng)
    return text[:i] + inner + text[i:]


def m_nest_blocks(text: str, rng: Rng) -> str:
    """Deeply nested ifs / defs / classes / withs inserted at a line start."""
    depth = rng.choice([5, 20, 99, 100, 101, 300])
    kw = rng.choice(
        ["if x:", "def f(x):", "class C(nn.Module):", "with a:", "for i in x:", "while x:", "try:"]
    )
    lines = [" " * i + kw for i in range(depth)] + [" " * depth + "x = nn.Linear(3, 4)(x)"]
    if kw == "try:":
        lines = [" " * i + "try:" for i in range(depth)] + [" " * depth + "pass"]
        lines += [" " * i + "except E:\n" + " " * (i + 1) + "pass" for i in reversed(range(depth))]
    starts = _line_starts(text)
    i = rng.choice(starts)
    return text[:i] + "\n".join(lines) + "\n" + text[i:]


def m_huge(text: str, rng: Rng) -> str:
    """A huge literal: long int, long string, long list / tuple / dict, long expression."""
    n = rng.choice([1000, 10_000, 100_000])
    lit = rng.choice(
        [
            "9" * n,
            "'" + "a" * n + "'",
            "[" + ", ".join(["1"] * (n // 10)) + "]",
            "(" + ", ".join(["nn.ReLU()"] * (n // 100)) + ")",
            "{" + ", ".join(f"{i}: {i}" for i in range(n // 100)) + "}",
            " + ".join(["x"] * (n // 10)),
            "nn.Sequential(" + ", ".join(["nn.Linear(4, 4)"] * (n // 100)) + ")",
        ]
    )
    hits = list(_NUM.finditer(text))
    if hits and rng.random() < 0.6:
        m = rng.choice(hits)
        return text[: m.start()] + lit + text[m.end() :]
    i = rng.choice(_line_starts(text))
    return text[:i] + "y = " + lit + "\n" + text[i:]


def m_bytes(text: str, rng: Rng) -> str:
    """Random bytes in the encoded file, decoded as the CLI does (UTF-8, else latin-1)."""
    data = bytearray(text.encode("utf-8", "surrogatepass"))
    for _ in range(1 + rng.randrange(8)):
        i = rng.randrange(len(data) + 1)
        data[i:i] = bytes(
            [rng.choice([0x00, 0x80, 0xC3, 0xE2, 0xED, 0xF0, 0xFF, 0xFE, 0x1B, rng.randrange(256)])]
        )
    raw = bytes(data)
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode("latin-1")


def m_line_endings(text: str, rng: Rng) -> str:
    kind = rng.randrange(6)
    if kind == 0:
        return text.replace("\n", "\r\n")
    if kind == 1:
        return text.replace("\n", "\r")
    if kind == 2:  # mixed
        return "".join(ch if ch != "\n" else rng.choice(["\n", "\r\n", "\r"]) for ch in text)
    if kind == 3:
        return text.replace("    ", "\t")
    if kind == 4:  # mixed tabs and spaces
        return re.sub(r"(?m)^    ", lambda _: rng.choice(["\t", "    ", " \t", "\t    "]), text)
    return "\ufeff" + text


def m_control(text: str, rng: Rng) -> str:
    ch = rng.choice(["\x00", "\x0c", "\x0b", "\x1c", "\x85", "\u2028", "\u2029", "\x1a", "\x7f"])
    out = text
    for _ in range(1 + rng.randrange(5)):
        i = _pos(out, rng)
        out = out[:i] + ch + out[i:]
    return out


def m_long_line(text: str, rng: Rng) -> str:
    kind = rng.randrange(3)
    if kind == 0:  # the whole file on few lines
        return re.sub(r"\n(?=\S)", "; ", text)
    if kind == 1:
        i = rng.choice(_line_starts(text))
        return text[:i] + "x = 1  # " + "#" * 200_000 + "\n" + text[i:]
    i = rng.choice(_line_starts(text))
    return text[:i] + "z = (" + "1 + " * 20_000 + "1)\n" + text[i:]


def m_lines(text: str, rng: Rng) -> str:
    """Duplicate, drop or swap whole lines (keeps tokens intact, breaks structure)."""
    lines = text.split("\n")
    if len(lines) < 3:
        return text
    i, j = rng.randrange(len(lines)), rng.randrange(len(lines))
    kind = rng.randrange(3)
    if kind == 0:
        lines.insert(j, lines[i])
    elif kind == 1:
        del lines[i]
    else:
        lines[i], lines[j] = lines[j], lines[i]
    return "\n".join(lines)


def m_dedent(text: str, rng: Rng) -> str:
    """Change the indentation of one line."""
    starts = _line_starts(text)
    i = rng.choice(starts)
    delta = rng.choice(["", " ", "  ", "        ", "\t"])
    j = i
    while j < len(text) and text[j] in " \t":
        j += 1
    return text[:i] + delta + text[j:]


MUTATORS: dict[str, Callable[[str, Rng], str]] = {
    "delete": m_delete,
    "insert": m_insert,
    "truncate": m_truncate,
    "number": m_number,
    "string": m_string,
    "argument": m_argument,
    "nest_expr": m_nest_expr,
    "nest_blocks": m_nest_blocks,
    "huge": m_huge,
    "bytes": m_bytes,
    "line_endings": m_line_endings,
    "control": m_control,
    "long_line": m_long_line,
    "lines": m_lines,
    "dedent": m_dedent,
}
# Cheap mutators more often: most real typing is small edits.
WEIGHTS = {
    "delete": 6,
    "insert": 6,
    "truncate": 3,
    "number": 8,
    "string": 3,
    "argument": 6,
    "nest_expr": 1,
    "nest_blocks": 1,
    "huge": 1,
    "bytes": 2,
    "line_endings": 2,
    "control": 2,
    "long_line": 1,
    "lines": 4,
    "dedent": 3,
}
_WEIGHTED = [name for name, w in WEIGHTS.items() for _ in range(w)]


def mutate(text: str, rng: Rng, n: int | None = None) -> tuple[str, list[str]]:
    """Apply 1-3 random mutations; returns the text and the mutator names."""
    names = []
    for _ in range(n if n is not None else 1 + rng.randrange(3)):
        name = rng.choice(_WEIGHTED)
        names.append(name)
        text = MUTATORS[name](text, rng)
    return text, names


_LINE_BREAK = re.compile(r"\r\n|\r|\n")


def lsp_lines(text: str) -> list[str]:
    """Lines as an editor (LSP) counts them: split at \\n, \\r\\n and \\r only."""
    return _LINE_BREAK.split(text)


def check_result(result: Any, text: str) -> list[str]:
    """Problems with a result's well-formedness (empty: fine)."""
    lines = lsp_lines(text)
    out: list[str] = []
    items = [("finding", f.code, f.span) for f in result.findings]
    items += [("fact", f.label, f.span) for f in result.facts]
    for kind, name, s in items:
        if not (0 <= s.start_line <= s.end_line < len(lines)):
            out.append(
                f"{kind} {name}: lines {s.start_line}-{s.end_line} outside 0-{len(lines) - 1}"
            )
            continue
        if (s.start_line, s.start_col) > (s.end_line, s.end_col) or s.start_col < 0:
            out.append(f"{kind} {name}: reversed span {s}")
            continue
        # one past the end of a line is allowed (a syntax error at the end of the line)
        if s.start_col > len(lines[s.start_line]) + 1 or s.end_col > len(lines[s.end_line]) + 1:
            out.append(f"{kind} {name}: columns past the end of the line in {s}")
    for m in result.models:
        for c in m.calls:
            if not 1 <= c.line <= len(lines):
                out.append(f"model {m.name}: call line {c.line} outside 1-{len(lines)}")
    return out


# ------------------------------------------------------------------------------ the runner


def _case(analyzer: Any, text: str) -> dict[str, Any]:
    t0 = time.perf_counter()
    try:
        result = analyzer.analyze(text, "fuzz.py")
    except BaseException as e:
        return {
            "seconds": time.perf_counter() - t0,
            "exception": f"{type(e).__name__}: {e}"[:300],
            "traceback": traceback.format_exc()[-2000:],
        }
    rec: dict[str, Any] = {"seconds": time.perf_counter() - t0}
    bad = check_result(result, text)
    if bad:
        rec["bad"] = bad[:3]
    if result.internal_errors:
        rec["internal"] = [str(x)[:300] for x in result.internal_errors[:3]]
    return rec


def _new_stats() -> dict[str, Any]:
    return {
        "cases": 0,
        "seconds": 0.0,
        "max": 0.0,
        "by_mutator": Counter(),
        "exceptions": [],
        "bad": [],
        "internal": [],
        "slow": [],
        "crashed": [],
        "n_exc": 0,
        "n_bad": 0,
        "n_internal": 0,
        "n_slow": 0,
        "n_crashed": 0,
    }


def _worker(job: tuple[int, int, float, float, int], cur: Any, began: Any, conn: Any) -> None:
    """Run cases [start, stop) until the deadline; `cur`/`began` tell the parent where it is."""
    import random

    from shape_lsp.core.api import Analyzer

    start, stop, deadline, slow, keep = job
    base = seeds()
    analyzer = Analyzer()
    stats = _new_stats()
    for seed in range(start, stop):
        if time.time() > deadline:
            break
        rng = random.Random(seed)
        text, names = mutate(rng.choice(base), rng)
        cur.value, began.value = seed, time.time()
        rec = _case(analyzer, text)
        stats["cases"] += 1
        stats["seconds"] += rec["seconds"]
        stats["max"] = max(stats["max"], rec["seconds"])
        for n in names:
            stats["by_mutator"][n] += 1
        info = {"seed": seed, "mutators": names, "seconds": round(rec["seconds"], 3)}
        for key, field in (("exception", "exceptions"), ("bad", "bad"), ("internal", "internal")):
            if key in rec:
                stats["n_" + ("exc" if key == "exception" else key)] += 1
                if len(stats[field]) < keep:
                    stats[field].append(
                        {
                            **info,
                            key: rec[key],
                            **({"traceback": rec["traceback"]} if key == "exception" else {}),
                        }
                    )
        if rec["seconds"] > slow:
            stats["n_slow"] += 1
            if len(stats["slow"]) < keep:
                stats["slow"].append(info)
    cur.value = -1
    conn.send(stats)
    conn.close()


def _merge(total: dict[str, Any], st: dict[str, Any]) -> None:
    for k in ("cases", "seconds", "n_exc", "n_bad", "n_internal", "n_slow", "n_crashed"):
        total[k] += st[k]
    total["max"] = max(total["max"], st["max"])
    total["by_mutator"].update(st["by_mutator"])
    for k in ("exceptions", "bad", "internal", "slow", "crashed"):
        total[k].extend(st[k][: max(0, 20 - len(total[k]))])


def run(
    first: int, cases: int, jobs: int, batch: int, budget: float, slow: float, hard: float
) -> dict[str, Any]:
    """Batches over `jobs` processes; a case that kills its process (a segfault, say) or runs
    past `hard` seconds is recorded as crashed and the rest of its batch re-queued."""
    ctx = mp.get_context("fork" if sys.platform.startswith("linux") else "spawn")
    t0 = time.time()
    deadline = t0 + budget
    queue = [(s, min(s + batch, first + cases)) for s in range(first, first + cases, batch)]
    queue.reverse()
    total = _new_stats()
    lanes: list[dict[str, Any]] = []
    reported = 0

    def launch() -> None:
        a, b = queue.pop()
        cur, began = ctx.Value("q", -1, lock=False), ctx.Value("d", time.time(), lock=False)
        parent, child = ctx.Pipe(duplex=False)
        proc = ctx.Process(
            target=_worker, args=((a, b, deadline, slow, 5), cur, began, child), daemon=True
        )
        proc.start()
        child.close()
        lanes.append({"proc": proc, "conn": parent, "cur": cur, "began": began, "range": (a, b)})

    while queue or lanes:
        while queue and len(lanes) < jobs and time.time() < deadline:
            launch()
        if not lanes:
            break
        ready = wait([ln["conn"] for ln in lanes], 1.0)
        for ln in list(lanes):
            failure = None
            if ln["conn"] in ready:
                try:
                    _merge(total, ln["conn"].recv())
                except (EOFError, OSError):
                    ln["proc"].join(5)
                    failure = f"process died (exit code {ln['proc'].exitcode})"
            elif not ln["proc"].is_alive():
                failure = f"process died (exit code {ln['proc'].exitcode})"
            elif ln["cur"].value >= 0 and time.time() - ln["began"].value > hard:
                failure = f"no answer within {hard:.0f} s"
            else:
                continue
            lanes.remove(ln)
            if failure is not None:
                ln["proc"].kill()
                ln["proc"].join(5)
                seed = ln["cur"].value
                a, b = ln["range"]
                if seed < 0:  # died before its first case: skip the batch
                    seed = a
                total["n_crashed"] += 1
                if len(total["crashed"]) < 20:
                    rng_seed = seed
                    import random

                    rng = random.Random(rng_seed)
                    names = mutate(rng.choice(seeds()), rng)[1]
                    total["crashed"].append(
                        {"seed": seed, "mutators": names, "seconds": 0, "crashed": failure}
                    )
                # the cases before it are run again (their results went with the process)
                queue.extend(r for r in ((seed + 1, b), (a, seed)) if r[0] < r[1])
            ln["conn"].close()
        if total["cases"] - reported >= 10_000:
            reported = total["cases"]
            print(
                f"  {total['cases']} cases, {time.time() - t0:.0f} s", file=sys.stderr, flush=True
            )
    total["wall"] = time.time() - t0
    return total


def replay(seed: int) -> str:
    """The text of case `seed` (to reproduce a finding)."""
    import random

    rng = random.Random(seed)
    return mutate(rng.choice(seeds()), rng)[0]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cases", type=int, default=100_000)
    ap.add_argument("-j", "--jobs", type=int, default=2)
    ap.add_argument("--budget", type=float, default=1800.0, help="stop after this many seconds")
    ap.add_argument("--slow", type=float, default=5.0, help="report cases slower than this")
    ap.add_argument("--seed", type=int, default=0, help="first case number")
    ap.add_argument("--batch", type=int, default=500)
    ap.add_argument(
        "--hard",
        type=float,
        default=60.0,
        help="kill a case after this many seconds and count it as crashed",
    )
    ap.add_argument("--replay", type=int, help="print the text of one case and analyse it")
    ap.add_argument("--json", help="write the full stats (with tracebacks) here")
    args = ap.parse_args(argv)
    sys.setrecursionlimit(max(sys.getrecursionlimit(), 1000))
    if args.replay is not None:
        text = replay(args.replay)
        sys.stdout.write(repr(text[:3000]) + "\n")
        from shape_lsp.core.api import Analyzer

        print(json.dumps(_case(Analyzer(), text), indent=1))
        return 0
    total = run(args.seed, args.cases, args.jobs, args.batch, args.budget, args.slow, args.hard)
    wall = total.pop("wall")
    n = max(total["cases"], 1)
    print(
        f"cases: {total['cases']}  wall: {wall:.0f} s  jobs: {args.jobs}  "
        f"mean: {1000 * total['seconds'] / n:.1f} ms  max: {total['max']:.2f} s"
    )
    print(
        f"processes killed (segfault, or over {args.hard:.0f} s): {total['n_crashed']}  "
        f"exceptions escaping analyze: {total['n_exc']}  malformed results: {total['n_bad']}  "
        f"slower than {args.slow:.0f} s: {total['n_slow']}  "
        f"results with internal_errors: {total['n_internal']}"
    )
    print(
        "mutations applied: "
        + ", ".join(f"{k} {v}" for k, v in sorted(total["by_mutator"].items()))
    )
    for k in ("crashed", "exceptions", "bad", "slow", "internal"):
        for item in total[k][:8]:
            detail = (
                item.get("crashed")
                or item.get("exception")
                or item.get("bad")
                or item.get("internal")
                or ""
            )
            print(
                f"  {k}: seed {item['seed']} {item['mutators']} {item['seconds']} s {str(detail)[:160]}"
            )
    if args.json:
        Path(args.json).write_text(
            json.dumps({**total, "by_mutator": dict(total["by_mutator"])}, indent=1)
        )
    summary = {
        k: total[k] for k in ("cases", "n_crashed", "n_exc", "n_bad", "n_slow", "n_internal")
    }
    summary |= {
        "wall_s": round(wall, 1),
        "mean_ms": round(1000 * total["seconds"] / n, 2),
        "max_s": round(total["max"], 2),
    }
    print(json.dumps(summary))
    return 1 if total["n_crashed"] or total["n_exc"] or total["n_bad"] or total["n_slow"] else 0


if __name__ == "__main__":
    raise SystemExit(main())
