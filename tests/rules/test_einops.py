"""einops patterns against real einops (on NumPy arrays, no torch needed).

Random patterns, valid and broken, with random sizes: whenever einops accepts a call the engine
must give the same shape (or unknown) and report nothing; when einops raises, the engine reports
it or says unknown. A few hand-written examples pin down each error the rule reports.
"""

from __future__ import annotations

import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shape_lsp.core.values.shapes import mul, sym
from tests.rules.harness import Outcome, engine_function

einops = pytest.importorskip("einops")
np = pytest.importorskip("numpy")

OPS = {"rearrange": "einops.rearrange", "reduce": "einops.reduce", "repeat": "einops.repeat"}


def engine(op: str, shape: tuple[object, ...], pattern: str, **lengths: object) -> Outcome:
    from shape_lsp.core.values.abstract import Tensor

    args: list[object] = [Tensor(tuple(shape)), pattern]  # type: ignore[arg-type]
    if op == "reduce":
        args.append("mean")
    return engine_function(OPS[op], args, dict(lengths))


def real(op: str, shape: tuple[int, ...], pattern: str, **lengths: int) -> object:
    x = np.zeros(shape)
    try:
        if op == "reduce":
            return einops.reduce(x, pattern, "mean", **lengths).shape
        return getattr(einops, op)(x, pattern, **lengths).shape
    except einops.EinopsError as e:
        return e


CASES = [
    ("rearrange", (2, 3, 8, 8), "b c (h p) (w q) -> b (h w) (p q c)", {"p": 4, "q": 4}),
    ("rearrange", (2, 3, 8, 8), "b c h w -> b (c h w)", {}),
    ("rearrange", (2, 3, 8, 8), "b c h w -> b h w", {}),  # c on one side only
    ("rearrange", (2, 3, 8), "b c h w -> b c (h w)", {}),  # wrong rank
    ("rearrange", (2, 3, 9, 8), "b c (h p) w -> b c h p w", {"p": 2}),  # 9 % 2
    ("rearrange", (2, 6, 4), "b (h d) n -> b h n d", {"h": 4}),  # 6 % 4
    ("rearrange", (2, 3, 4, 5), "b ... d -> b d ...", {}),
    ("rearrange", (2, 3, 4, 5), "b ... d -> b (...) d", {}),
    ("rearrange", (2, 1, 4), "b () n -> b n", {}),
    ("rearrange", (2, 3, 4), "b 1 n -> b n", {}),  # a 1 that is 3
    ("repeat", (2, 3), "h w -> h w c", {"c": 4}),
    ("repeat", (2, 3), "h w -> h w c", {}),  # c has no size
    ("repeat", (2, 3), "h w -> (h 2) w", {}),
    ("reduce", (2, 3, 8, 8), "b c (h 2) (w 2) -> b c h w", {}),
    ("reduce", (2, 3, 8, 8), "b c h w -> b c", {}),
    ("reduce", (2, 3, 8, 8), "b c h w -> b c k", {}),  # k not on the left
    ("rearrange", (2, 6), "b (h d) -> b h d", {}),  # cannot infer two sizes
    ("rearrange", (2, 6), "b (h d) -> b h d", {"h": 2, "d": 4}),  # 2*4 != 6
]


@pytest.mark.parametrize(("op", "shape", "pattern", "lengths"), CASES)
def test_case_agrees_with_einops(
    op: str, shape: tuple[int, ...], pattern: str, lengths: dict[str, int]
) -> None:
    want = real(op, shape, pattern, **lengths)
    got = engine(op, shape, pattern, **lengths)
    if isinstance(want, Exception):
        assert got.code is not None, f"einops raised {want}, the engine gave {got}"
    else:
        assert got.code is None and got.shape == want, (got, want)


def test_symbolic_sizes_flow() -> None:
    b, h = sym("B"), sym("H")
    got = engine("rearrange", (b, 3, mul(h, 4)), "b c (h p) -> b (c p) h", p=4)
    assert got.code is None and got.shape == (b, 12, h)
    got = engine("rearrange", (b, 3, h), "b c (h p) -> b c h p", p=4)
    assert got.code is None and got.shape is not None and got.shape[:2] == (b, 3)


def test_pattern_not_understood_is_unknown() -> None:
    got = engine("rearrange", (2, 3), "b _c -> _c b")
    assert got.code is None and got.shape is None


NAMES = "abcdefg"


@st.composite
def programs(draw: st.DrawFn) -> tuple[str, tuple[int, ...], str, dict[str, int]]:
    rnd = random.Random(draw(st.integers(0, 2**32)))
    op = rnd.choice(list(OPS))
    axes = rnd.sample(NAMES, rnd.randint(1, 5))
    sizes = {a: rnd.randint(1, 4) for a in axes}

    def compose(names: list[str], ellipsis: bool) -> tuple[str, list[list[str]]]:
        items: list[list[str]] = []
        rest = list(names)
        rnd.shuffle(rest)
        while rest:
            k = rnd.choice([1, 1, 1, 2, 3])
            items.append(rest[:k])
            rest = rest[k:]
        if ellipsis:
            items.insert(rnd.randint(0, len(items)), ["..."])
        text = " ".join(g[0] if len(g) == 1 else "(" + " ".join(g) + ")" for g in items)
        return text, items

    ell = rnd.random() < 0.3
    left_text, left = compose(axes, ell)
    right_axes = list(axes)
    if op == "reduce":
        right_axes = [a for a in axes if rnd.random() < 0.6]
    if op == "repeat":
        new = [n for n in NAMES if n not in axes][: rnd.randint(0, 2)]
        right_axes += new
        sizes.update({n: rnd.randint(1, 3) for n in new})
    if rnd.random() < 0.15 and right_axes:  # break it: drop or invent an axis
        right_axes = right_axes[1:] if rnd.random() < 0.5 else [*right_axes, "z"]
    right_text, _ = compose(right_axes, ell and rnd.random() < 0.9)
    shape: list[int] = []
    for g in left:
        if g == ["..."]:
            shape += [rnd.randint(1, 3) for _ in range(rnd.randint(0, 2))]
        else:
            n = 1
            for a in g:
                n *= sizes[a]
            shape.append(n)
    if rnd.random() < 0.2 and shape:  # break the shape
        i = rnd.randrange(len(shape))
        shape[i] += rnd.choice([-1, 1]) if shape[i] > 1 else 1
    if rnd.random() < 0.1:
        shape.append(2)
    lengths: dict[str, int] = {}
    for g in left:
        for a in g[:-1]:
            if a != "...":
                lengths[a] = sizes[a]
    for a in right_axes:
        if a not in axes and a in sizes and rnd.random() < 0.9:
            lengths[a] = sizes[a]
    if rnd.random() < 0.3:
        for a in rnd.sample(axes, min(len(axes), 2)):
            lengths[a] = sizes[a] + (1 if rnd.random() < 0.2 else 0)
    return op, tuple(shape), f"{left_text} -> {right_text}", lengths


@settings(max_examples=300, deadline=None)
@given(programs())
def test_random_patterns_agree_with_einops(
    prog: tuple[str, tuple[int, ...], str, dict[str, int]],
) -> None:
    op, shape, pattern, lengths = prog
    want = real(op, shape, pattern, **lengths)
    got = engine(op, shape, pattern, **lengths)
    if isinstance(want, Exception):
        assert got.code is not None or got.shape is None, f"einops raised {want}; engine {got}"
    else:
        assert got.code is None, f"false positive {got} on {prog}; einops gives {want}"
        assert got.shape is None or got.shape == want, (got.shape, want, prog)
