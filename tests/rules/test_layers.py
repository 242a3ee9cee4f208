"""Per-layer contracts beyond the examples: parameter counts, dtype checks, input templates,
and symbolic inputs (no false alarm; every known output dim right once the symbols are filled)."""

from __future__ import annotations

import ast

import pytest

from shape_lsp.core.rules import LAYERS
from shape_lsp.core.rules.base import Args, RuleCall, ShapeError, bind
from shape_lsp.core.values.abstract import Tensor
from shape_lsp.core.values.shapes import substitute
from tests.rules import symbolic
from tests.rules.harness import Dims, Outcome, _qualify, engine_layer, torch_layer

torch = pytest.importorskip("torch")

RULES = {id(r): r for r in LAYERS.values() if r.framework == "torch"}.values()
CTORS = sorted({ex.ctor for r in RULES for ex in r.examples})
OK_CTORS = sorted({ex.ctor for r in RULES for ex in r.examples if ex.code is None})
OK_EXAMPLES = sorted({(ex.ctor, ex.inputs) for r in RULES for ex in r.examples if ex.code is None})


def _bound(ctor: str) -> tuple[object, Args]:
    call = ast.parse(ctor, mode="eval").body
    assert isinstance(call, ast.Call)
    rule = LAYERS[_qualify(call.func)]
    args = [ast.literal_eval(a) for a in call.args]
    kwargs = {k.arg: ast.literal_eval(k.value) for k in call.keywords if k.arg}
    return rule, Args(bind(rule.signature, args, kwargs))


def _build(ctor: str) -> object:
    try:
        return eval(ctor, {"nn": torch.nn, "torch": torch})
    except (ValueError, RuntimeError, TypeError):
        return None


@pytest.mark.parametrize("ctor", CTORS)
def test_parameter_count_matches_torch(ctor: str) -> None:
    mod = _build(ctor)
    if mod is None:
        pytest.skip("torch rejects this constructor")
    rule, args = _bound(ctor)
    assert rule.params is not None, f"{rule.names[0]} has no params="  # type: ignore[attr-defined]
    ours = rule.params(args)  # type: ignore[attr-defined]
    theirs = sum(p.numel() for p in mod.parameters())  # type: ignore[attr-defined]
    assert ours == theirs


# has_weights is per rule, while these layers hold float tensors only for some arguments.
ARG_DEPENDENT_WEIGHTS = {
    "nn.InstanceNorm1d(3, affine=True)",
    "nn.InstanceNorm2d(8, affine=True)",
    "nn.InstanceNorm3d(2, affine=True)",
    "nn.GroupNorm(1, 6, affine=False)",
    "nn.LayerNorm((10,), elementwise_affine=False)",
}


@pytest.mark.parametrize(("ctor", "inputs"), OK_EXAMPLES, ids=[c for c, _ in OK_EXAMPLES])
def test_has_weights_matches_torch_dtype_check(
    ctor: str, inputs: tuple[tuple[int, ...], ...]
) -> None:
    """A float64 input fails in torch exactly for the layers flagged has_weights."""
    rule, _ = _bound(ctor)
    raises = isinstance(torch_layer(ctor, inputs, "float64"), Exception)
    if ctor in ARG_DEPENDENT_WEIGHTS:
        assert raises != rule.has_weights  # type: ignore[attr-defined]
    else:
        assert raises == rule.has_weights  # type: ignore[attr-defined]


def _engine_symbolic(ctor: str, inputs: tuple[tuple[int, ...], ...], dims: Dims) -> object:
    rule, args = _bound(ctor)
    tensors = tuple(Tensor(dims.engine(shape)) for shape in inputs)
    try:
        out = rule.forward(RuleCall(args, tensors))  # type: ignore[attr-defined]
    except ShapeError as e:
        return Outcome(None, e.code)
    return out[0] if isinstance(out, tuple) else out


def _torch_symbolic(ctor: str, inputs: tuple[tuple[int, ...], ...], dims: Dims) -> object:
    shapes = tuple(dims.real(shape) for shape in inputs)
    try:
        out = torch_layer(ctor, shapes)
    except AssertionError as e:  # some layers check shapes with assert
        return e
    return out if isinstance(out, Exception) else torch.empty(out)  # type: ignore[arg-type]


# Examples allowed an unknown result on symbolic input, and in which mode (tests/rules/symbolic.py);
# every other example must give the exact symbolic shape. "all": two symbols meet in a
# broadcast (equal or 1 cannot be told). "first" too: ceil_mode's last window, a quotient
# (PixelShuffle's channels / r^2, Unflatten's -1, Fold's blocks), a fractional scale factor.
_BROADCAST = [
    "nn.CosineEmbeddingLoss(reduction='none')",
    "nn.HuberLoss(reduction='none')",
    "nn.KLDivLoss(reduction='none', log_target=True)",
    "nn.L1Loss(reduction='none')",
    "nn.MSELoss(reduction='none')",
    "nn.MarginRankingLoss(0.1, reduction='none')",
    "nn.SmoothL1Loss(reduction='none')",
    "nn.TripletMarginLoss(margin=0.5, swap=True, reduction='none')",
]
_ROUNDING = [
    "nn.AvgPool1d(3, stride=2, padding=1, ceil_mode=True)",
    "nn.AvgPool2d(3, stride=2, ceil_mode=True)",
    "nn.AvgPool2d(3, stride=2, padding=1, ceil_mode=True)",
    "nn.MaxPool1d(2, padding=1, stride=3, ceil_mode=True)",
    "nn.MaxPool1d(3, stride=2, ceil_mode=True)",
    "nn.MaxPool2d(2, stride=2, padding=1, ceil_mode=True)",
    "nn.MaxPool2d(3, stride=2, ceil_mode=True)",
    "nn.MaxPool2d(3, stride=2, padding=1, ceil_mode=True)",
    "nn.MaxPool3d((1, 2, 2), stride=(1, 2, 2), ceil_mode=True)",
    "nn.Fold((4, 5), (2, 2))",
    "nn.Fold(6, 3, padding=1, stride=2)",
    "nn.PixelShuffle(2)",
    "nn.PixelShuffle(3)",
    "nn.Unflatten(-1, (2, -1))",
    "nn.Upsample(scale_factor=1.5)",
]
GIVES_UP: dict[str, tuple[str, ...]] = {
    **dict.fromkeys(_BROADCAST, ("all",)),
    **dict.fromkeys(_ROUNDING, symbolic.MODES),
}


@pytest.mark.parametrize(("ctor", "inputs"), OK_EXAMPLES, ids=[c for c, _ in OK_EXAMPLES])
def test_symbolic_inputs_are_sound(ctor: str, inputs: tuple[tuple[int, ...], ...]) -> None:
    """Symbolic input sizes: no false alarm, and the exact symbolic result (symbolic.check)."""
    symbolic.check(
        lambda dims: _engine_symbolic(ctor, inputs, dims),
        lambda dims: _torch_symbolic(ctor, inputs, dims),
        GIVES_UP.get(ctor, ()),
    )


@pytest.mark.parametrize("ctor", OK_CTORS)
def test_template_is_accepted(ctor: str) -> None:
    """The input a layer implies as a model's first layer runs through it without a finding."""
    rule, args = _bound(ctor)
    if rule.template is None or _build(ctor) is None:  # type: ignore[attr-defined]
        pytest.skip("no template")
    shape = rule.template(args)  # type: ignore[attr-defined]
    if shape is None:
        pytest.skip("template unknown")
    fill = {"B": 2, "C": 4, "L": 17, "D": 9, "H": 17, "W": 19}
    concrete = tuple(substitute(d, fill) for d in shape)
    assert all(isinstance(d, int) for d in concrete)
    theirs = torch_layer(ctor, (concrete,))  # type: ignore[arg-type]
    ours = engine_layer(ctor, (concrete,))  # type: ignore[arg-type]
    assert not isinstance(theirs, Exception), theirs
    assert ours.code is None and ours.shape == theirs


@pytest.mark.parametrize("rank", [3, 4, 5, 6])
@pytest.mark.parametrize("output_size", [1, (1, 1, 1)])
def test_adaptive_avg_pool3d_mean_shortcut_matches_torch(rank: int, output_size: object) -> None:
    """torch averages the last three dims of any rank when the output is all ones."""
    shape = tuple(range(2, 2 + rank))
    ctor = f"nn.AdaptiveAvgPool3d({output_size!r})"
    ours, theirs = engine_layer(ctor, (shape,)), torch_layer(ctor, (shape,))
    if isinstance(theirs, Exception):
        assert ours.code == "SH109"
    else:
        assert ours.code is None and ours.shape == theirs
