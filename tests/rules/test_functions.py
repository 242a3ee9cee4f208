"""Function and tensor-method rules, each call run through the engine and through real torch.

A case is (qualified name, call source, expected code or None). The call source is evaluated
twice (see harness.engine_env / torch_env): `T(2, 3)` is a float32 tensor, `T(2, dtype="int64")`
another dtype, `N(2, 3)` a float64 NumPy array, `torch.float64` / `np.int32` name dtypes.
"""

from __future__ import annotations

import pytest

from shape_lsp.core.rules import FUNCTIONS
from shape_lsp.core.shapes import is_known, substitute
from shape_lsp.core.values import Tensor
from tests.rules.harness import (
    Outcome,
    describe_engine,
    describe_real,
    engine_call,
    torch_call,
)

pytest.importorskip("torch")

OK = None
CASES: list[tuple[str, str, str | None]] = [
    # ---------------------------------------------------------------- reshape family
    ("torch.Tensor.view", "T(4, 16, 5, 5), -1, 400", OK),
    ("torch.Tensor.view", "T(4, 16, 5, 5), (4, -1)", OK),
    ("torch.Tensor.view", "T(4, 16, 5, 5), [2, 2, 400]", OK),
    ("torch.Tensor.view", "T(4, 16, 5, 5), 4, 256", "SH105"),
    ("torch.Tensor.view", "T(4, 16, 5, 5), -1, 256", "SH105"),
    ("torch.Tensor.view", "T(4, 6), -1, -1", "SH112"),
    ("torch.Tensor.view", "T(4, 6), 24", OK),
    ("torch.Tensor.view", "T(1), ()", OK),
    ("torch.Tensor.reshape", "T(2, 3, 4), 6, -1", OK),
    ("torch.Tensor.reshape", "T(2, 3, 4), -1", OK),
    ("torch.reshape", "T(2, 3, 4), (3, 8)", OK),
    ("torch.reshape", "T(2, 3, 4), (5, -1)", "SH105"),
    ("torch.Tensor.view_as", "T(2, 3, 4), T(6, 4)", OK),
    ("torch.Tensor.view_as", "T(2, 3, 4), T(6, 5)", "SH105"),
    ("torch.flatten", "T(2, 3, 4)", OK),
    ("torch.flatten", "T(2, 3, 4), 1", OK),
    ("torch.flatten", "T(2, 3, 4, 5), start_dim=1, end_dim=2", OK),
    ("torch.flatten", "T()", OK),
    ("torch.flatten", "T(2, 3), 2", "SH111"),
    ("torch.flatten", "T(2, 3, 4), 2, 1", "SH112"),
    ("torch.Tensor.flatten", "T(2, 3, 4), 1", OK),
    ("torch.unflatten", "T(2, 12), 1, (3, 4)", OK),
    ("torch.Tensor.unflatten", "T(2, 12), -1, (3, -1)", OK),
    ("torch.Tensor.unflatten", "T(2, 12), 1, (5, -1)", "SH105"),
    ("torch.squeeze", "T(2, 1, 3, 1)", OK),
    ("torch.squeeze", "T(2, 1, 3, 1), 1", OK),
    ("torch.Tensor.squeeze", "T(2, 1, 3, 1), 0", OK),
    ("torch.Tensor.squeeze", "T(2, 1, 3, 1), (1, 3)", OK),
    ("torch.Tensor.squeeze", "T(2, 1, 3, 1), -1", OK),
    ("torch.Tensor.squeeze", "T(2, 1), 2", "SH111"),
    ("torch.unsqueeze", "T(2, 3), 0", OK),
    ("torch.Tensor.unsqueeze", "T(2, 3), -1", OK),
    ("torch.Tensor.unsqueeze", "T(2, 3), 2", OK),
    ("torch.Tensor.unsqueeze", "T(2, 3), 3", "SH111"),
    ("torch.Tensor.unsqueeze", "T(2, 3), -4", "SH111"),
    ("torch.Tensor.permute", "T(2, 3, 4), 2, 0, 1", OK),
    ("torch.Tensor.permute", "T(2, 3, 4), (0, -1, 1)", OK),
    ("torch.Tensor.permute", "T(2, 3, 4), 0, 1", "SH112"),
    ("torch.Tensor.permute", "T(2, 3, 4), 0, 1, 1", "SH112"),
    ("torch.Tensor.permute", "T(2, 3, 4), 0, 1, 3", "SH111"),
    ("torch.permute", "T(2, 3, 4), (1, 2, 0)", OK),
    ("torch.transpose", "T(2, 3, 4), 0, 2", OK),
    ("torch.Tensor.transpose", "T(2, 3, 4), -1, -2", OK),
    ("torch.Tensor.transpose", "T(2, 3, 4), 1, 3", "SH111"),
    ("torch.swapaxes", "T(2, 3, 4), 0, 1", OK),
    ("torch.Tensor.t", "T(2, 3)", OK),
    ("torch.Tensor.t", "T(3)", OK),
    ("torch.Tensor.t", "T(2, 3, 4)", "SH109"),
    ("torch.Tensor.T", "T(2, 3)", OK),
    ("torch.Tensor.mT", "T(5, 2, 3)", OK),
    ("torch.Tensor.mT", "T(3)", "SH109"),
    ("torch.movedim", "T(2, 3, 4), 0, -1", OK),
    ("torch.Tensor.size", "T(2, 3, 4)", OK),
    ("torch.Tensor.size", "T(2, 3, 4), 1", OK),
    ("torch.Tensor.size", "T(2, 3, 4), -1", OK),
    ("torch.Tensor.size", "T(2, 3, 4), 3", "SH111"),
    ("torch.Tensor.shape", "T(2, 3, 4)", OK),
    ("torch.Tensor.dim", "T(2, 3, 4)", OK),
    ("torch.Tensor.ndim", "T(2, 3)", OK),
    ("torch.Tensor.numel", "T(2, 3, 4)", OK),
    ("torch.numel", "T(2, 3, 4)", OK),
    ("torch.Tensor.expand", "T(3, 1), 2, 3, 4", OK),
    ("torch.Tensor.expand", "T(3, 1), -1, 5", OK),
    ("torch.Tensor.expand", "T(3, 2), 3, 4", "SH108"),
    ("torch.Tensor.expand_as", "T(3, 1), T(2, 3, 7)", OK),
    ("torch.Tensor.repeat", "T(3, 2), 2, 1, 3", OK),
    ("torch.Tensor.repeat", "T(3, 2), 2", "SH112"),
    ("numpy.ndarray.reshape", "N(2, 3, 4), 6, -1", OK),
    ("numpy.ndarray.reshape", "N(2, 3, 4), (5, -1)", "SH105"),
    ("numpy.ndarray.flatten", "N(2, 3, 4)", OK),
    ("numpy.ndarray.T", "N(2, 3, 4)", OK),
    ("numpy.ndarray.shape", "N(2, 3, 4)", OK),
    # ---------------------------------------------------------------- activations and unary
    ("torch.nn.functional.relu", "T(2, 3)", OK),
    ("torch.nn.functional.relu", "T(2, 3, dtype='int64')", OK),
    ("torch.relu", "T(2, 3)", OK),
    ("torch.Tensor.relu", "T(2, 3)", OK),
    ("torch.nn.functional.gelu", "T(2, 3), approximate='tanh'", OK),
    ("torch.nn.functional.leaky_relu", "T(2, 3), 0.2", OK),
    ("torch.nn.functional.elu", "T(2, 3, dtype='float64')", OK),
    ("torch.nn.functional.silu", "T(4)", OK),
    ("torch.nn.functional.hardtanh", "T(4), -2.0, 2.0", OK),
    ("torch.nn.functional.threshold", "T(4), 0.1, 20.0", OK),
    ("torch.nn.functional.softplus", "T(4, 2), beta=2", OK),
    ("torch.nn.functional.sigmoid", "T(4, 2)", OK),
    ("torch.sigmoid", "T(4, 2)", OK),
    ("torch.tanh", "T(4, 2)", OK),
    ("torch.exp", "T(4, 2, dtype='int64')", OK),
    ("torch.log", "T(4, 2)", OK),
    ("torch.sqrt", "T(4, 2, dtype='float64')", OK),
    ("torch.abs", "T(4, 2, dtype='int32')", OK),
    ("torch.neg", "T(4, 2)", OK),
    ("torch.Tensor.exp", "T(4, 2)", OK),
    ("torch.Tensor.abs", "T(4, 2)", OK),
    ("torch.clamp", "T(4, 2), min=0.0", OK),
    ("torch.Tensor.clamp", "T(4, 2), 0.0, 1.0", OK),
    ("torch.nn.functional.normalize", "T(4, 2)", OK),
    ("torch.nn.functional.normalize", "T(4, 2), dim=-1", OK),
    ("torch.nn.functional.normalize", "T(4,), dim=1", "SH111"),
    ("torch.nn.functional.prelu", "T(2, 3, 4), T(3)", OK),
    ("torch.nn.functional.prelu", "T(2, 3, 4), T(4)", "SH112"),
    ("torch.nn.functional.glu", "T(2, 6)", OK),
    ("torch.nn.functional.glu", "T(2, 5)", "SH112"),
    ("torch.nn.functional.softmax", "T(2, 10), dim=1", OK),
    ("torch.nn.functional.softmax", "T(2, 10), -1", OK),
    ("torch.nn.functional.softmax", "T(2, 10), dim=2", "SH111"),
    ("torch.nn.functional.softmax", "T(2, 10), dim=1, dtype=torch.float64", OK),
    ("torch.nn.functional.log_softmax", "T(2, 10), dim=1", OK),
    ("torch.nn.functional.softmin", "T(2, 10), dim=0", OK),
    ("torch.softmax", "T(2, 10), 1", OK),
    ("torch.Tensor.softmax", "T(2, 10), -1", OK),
    ("torch.Tensor.log_softmax", "T(2, 10), 5", "SH111"),
    ("torch.nn.functional.dropout", "T(2, 10)", OK),
    ("torch.nn.functional.dropout", "T(2, 10), p=0.1, training=False", OK),
    ("torch.nn.functional.dropout", "T(2, 10), 1.5", "SH112"),
    ("torch.nn.functional.dropout2d", "T(2, 3, 4, 4), 0.2", OK),
    ("torch.nn.functional.dropout1d", "T(2, 3, 4, 4), 0.2", "SH109"),
    # ---------------------------------------------------------------- functional conv / pool
    ("torch.nn.functional.conv2d", "T(2, 3, 8, 8), T(16, 3, 3, 3)", OK),
    ("torch.nn.functional.conv2d", "T(2, 3, 8, 8), T(16, 3, 3, 3), T(16), 2, 1", OK),
    ("torch.nn.functional.conv2d", "T(2, 4, 8, 8), T(8, 2, 3, 3), groups=2, padding='same'", OK),
    ("torch.nn.functional.conv2d", "T(2, 4, 8, 8), T(16, 3, 3, 3)", "SH102"),
    ("torch.nn.functional.conv2d", "T(2, 3, 2, 2), T(16, 3, 3, 3)", "SH104"),
    ("torch.nn.functional.conv1d", "T(2, 3, 8), T(4, 3, 3), stride=2", OK),
    ("torch.conv2d", "T(2, 3, 8, 8), T(16, 3, 3, 3)", OK),
    ("torch.nn.functional.conv_transpose2d", "T(2, 4, 5, 5), T(4, 3, 3, 3), stride=2", OK),
    ("torch.nn.functional.conv_transpose2d", "T(2, 4, 5, 5), T(4, 3, 3, 3), groups=2", OK),
    ("torch.nn.functional.conv_transpose2d", "T(2, 3, 5, 5), T(4, 3, 3, 3)", "SH102"),
    ("torch.nn.functional.max_pool2d", "T(2, 3, 8, 8), 2", OK),
    ("torch.nn.functional.max_pool2d", "T(2, 3, 9, 9), 3, 2, 1, ceil_mode=True", OK),
    ("torch.nn.functional.max_pool2d", "T(2, 3, 8, 8), 2, return_indices=True", OK),
    ("torch.nn.functional.max_pool2d", "T(2, 3, 1, 8), 2", "SH104"),
    ("torch.nn.functional.max_pool1d", "T(2, 3, 8), 2", OK),
    ("torch.nn.functional.avg_pool2d", "T(2, 3, 8, 8), 2", OK),
    ("torch.nn.functional.avg_pool2d", "T(2, 3, 8, 8), (2, 4), stride=(1, 2)", OK),
    ("torch.nn.functional.avg_pool2d", "T(2, 3, 8, 8), 2, padding=2", "SH112"),
    ("torch.nn.functional.avg_pool1d", "T(2, 3, 8), 3, 2", OK),
    ("torch.nn.functional.avg_pool3d", "T(2, 3, 4, 4, 4), 2", OK),
    ("torch.nn.functional.adaptive_avg_pool2d", "T(2, 3, 8, 8), 1", OK),
    ("torch.nn.functional.adaptive_avg_pool2d", "T(2, 3, 8, 8), (None, 3)", OK),
    ("torch.nn.functional.adaptive_avg_pool2d", "T(8, 8), 2", "SH109"),
    ("torch.nn.functional.adaptive_avg_pool2d", "T(8, 8), 1", OK),
    ("torch.nn.functional.adaptive_avg_pool2d", "T(2, 3, 4, 8, 8), 1", OK),
    ("torch.nn.functional.adaptive_avg_pool2d", "T(8, 8), (1, 1)", "SH109"),
    ("torch.nn.functional.adaptive_avg_pool3d", "T(2, 3, 8, 8, 8), (1, 1)", "SH112"),
    ("torch.nn.functional.adaptive_avg_pool1d", "T(2, 3, 8), 4", OK),
    ("torch.nn.functional.adaptive_max_pool2d", "T(2, 3, 8, 8), (2, 2)", OK),
    ("torch.nn.functional.adaptive_avg_pool3d", "T(2, 3, 8, 8, 8), 2", OK),
    ("torch.nn.functional.layer_norm", "T(2, 3, 8), (8,)", OK),
    ("torch.nn.functional.layer_norm", "T(2, 3, 8), [3, 8]", OK),
    ("torch.nn.functional.layer_norm", "T(2, 3, 8), (3,)", "SH103"),
    ("torch.nn.functional.group_norm", "T(2, 6, 8), 3", OK),
    ("torch.nn.functional.group_norm", "T(2, 6, 8), 4", "SH112"),
    # ---------------------------------------------------------------- broadcasting arithmetic
    ("torch.add", "T(4, 3), T(3)", OK),
    ("torch.add", "T(4, 1, 3), T(5, 1)", OK),
    ("torch.add", "T(2, 16, 8, 8), T(2, 32, 8, 8)", "SH108"),
    ("torch.add", "T(4, 3), T(4)", "SH108"),
    ("torch.add", "T(4, 3), 1", OK),
    ("torch.add", "T(4, 3, dtype='int64'), 1.5", OK),
    ("torch.add", "T(4, 3, dtype='int64'), 2", OK),
    ("torch.add", "T(4, 3), T(3, dtype='float64')", OK),
    ("torch.add", "T(4, 3, dtype='int32'), T(3, dtype='int64')", OK),
    ("torch.add", "T(4, 3, dtype='bool'), T(3, dtype='int64')", OK),
    ("torch.add", "T(4, 3, dtype='float16'), T(3, dtype='bfloat16')", OK),
    ("torch.add", "T(2, 3), T(2, 3), alpha=2", OK),
    ("torch.sub", "T(4, 3), T(4, 1)", OK),
    ("torch.sub", "T(4, 3), T(2, 3)", "SH108"),
    ("torch.mul", "T(4, 3), T(4, 3, dtype='float64')", OK),
    ("torch.mul", "T(2, 1, 5), T(3, 1)", OK),
    ("torch.div", "T(4, 3, dtype='int64'), T(3, dtype='int64')", OK),
    ("torch.div", "T(4, 3, dtype='int64'), 2, rounding_mode='floor'", OK),
    ("torch.div", "T(4, 3), T(5)", "SH108"),
    ("torch.true_divide", "T(4, 3, dtype='int32'), 2", OK),
    ("torch.floor_divide", "T(4, 3, dtype='int64'), 2", OK),
    ("torch.pow", "T(4, 3), 2", OK),
    ("torch.pow", "T(4, 3), T(4, 1)", OK),
    ("torch.maximum", "T(4, 3), T(3)", OK),
    ("torch.minimum", "T(4, 3), T(2)", "SH108"),
    ("torch.eq", "T(4, 3), T(3)", OK),
    ("torch.gt", "T(4, 3), 0.5", OK),
    ("torch.logical_and", "T(4, 3, dtype='bool'), T(4, 3, dtype='bool')", OK),
    ("torch.Tensor.add", "T(4, 3), T(3)", OK),
    ("torch.Tensor.mul", "T(4, 3), 3.0", OK),
    ("torch.Tensor.add_", "T(4, 3), T(3)", OK),
    ("torch.Tensor.add_", "T(3), T(4, 3)", "SH108"),
    ("torch.where", "T(4, 3, dtype='bool'), T(4, 3), 0.0", OK),
    ("torch.where", "T(4, 1, dtype='bool'), T(3), T(2, 1, 1)", OK),
    ("torch.where", "T(4, 3, dtype='bool'), T(2, 3), 0.0", "SH108"),
    # ---------------------------------------------------------------- matmul family
    ("torch.matmul", "T(4, 3), T(3, 5)", OK),
    ("torch.matmul", "T(3), T(3)", OK),
    ("torch.matmul", "T(3), T(3, 5)", OK),
    ("torch.matmul", "T(4, 3), T(3)", OK),
    ("torch.matmul", "T(10, 4, 3), T(3, 5)", OK),
    ("torch.matmul", "T(10, 1, 4, 3), T(7, 3, 5)", OK),
    ("torch.matmul", "T(3), T(10, 3, 5)", OK),
    ("torch.matmul", "T(10, 4, 3), T(3)", OK),
    ("torch.matmul", "T(4, 3), T(4, 5)", "SH107"),
    ("torch.matmul", "T(3), T(4)", "SH107"),
    ("torch.matmul", "T(2, 4, 3), T(5, 3, 5)", "SH108"),
    ("torch.matmul", "T(4, 3), T(3, 5, dtype='float64')", "SH110"),
    ("torch.matmul", "T(), T(3)", "SH109"),
    ("torch.Tensor.matmul", "T(4, 3), T(3, 5)", OK),
    ("torch.mm", "T(4, 3), T(3, 5)", OK),
    ("torch.mm", "T(4, 3), T(4, 5)", "SH107"),
    ("torch.mm", "T(2, 4, 3), T(3, 5)", "SH109"),
    ("torch.bmm", "T(2, 4, 3), T(2, 3, 5)", OK),
    ("torch.bmm", "T(2, 4, 3), T(3, 3, 5)", "SH107"),
    ("torch.bmm", "T(2, 4, 3), T(2, 4, 5)", "SH107"),
    ("torch.bmm", "T(4, 3), T(3, 5)", "SH109"),
    ("torch.Tensor.bmm", "T(2, 4, 3), T(2, 3, 5)", OK),
    ("numpy.matmul", "N(4, 3), N(3, 5)", OK),
    ("torch.nn.functional.linear", "T(2, 20), T(30, 20)", OK),
    ("torch.nn.functional.linear", "T(2, 7, 20), T(30, 20), T(30)", OK),
    ("torch.nn.functional.linear", "T(2, 20), T(20)", OK),
    ("torch.nn.functional.linear", "T(2, 21), T(30, 20)", "SH101"),
    # ---------------------------------------------------------------- cat / stack
    ("torch.cat", "[T(2, 3), T(4, 3)]", OK),
    ("torch.cat", "(T(2, 3), T(2, 4)), dim=1", OK),
    ("torch.cat", "(T(2, 3), T(2, 4)), -1", OK),
    ("torch.cat", "(T(2, 3), T(2, 4, dtype='float64')), 1", OK),
    ("torch.cat", "(T(2, 3), T(0)), 1", OK),
    ("torch.cat", "(T(2, 3), T(2, 4))", "SH106"),
    ("torch.cat", "(T(2, 3), T(2, 3, 1))", "SH106"),
    ("torch.cat", "(T(2, 3), T(2, 3)), dim=2", "SH111"),
    ("torch.cat", "[]", "SH112"),
    ("torch.concat", "(T(2, 3), T(2, 4)), dim=1", OK),
    ("torch.concatenate", "(T(2, 3), T(2, 4)), axis=1", OK),
    ("torch.stack", "[T(2, 3), T(2, 3), T(2, 3)]", OK),
    ("torch.stack", "[T(2, 3), T(2, 3)], dim=2", OK),
    ("torch.stack", "[T(2, 3), T(2, 3)], dim=-1", OK),
    ("torch.stack", "[T(2, 3), T(2, 4)]", "SH106"),
    ("torch.stack", "[T(2, 3), T(2, 3)], dim=3", "SH111"),
    # ---------------------------------------------------------------- distances
    ("torch.nn.functional.pairwise_distance", "T(4, 8), T(4, 8)", OK),
    ("torch.nn.functional.pairwise_distance", "T(4, 8), T(8), keepdim=True", OK),
    ("torch.nn.functional.pairwise_distance", "T(8), T(8)", OK),
    ("torch.nn.functional.pairwise_distance", "T(4, 8), T(4, 7)", "SH108"),
    ("torch.nn.functional.cosine_similarity", "T(4, 8), T(4, 8)", OK),
    ("torch.nn.functional.cosine_similarity", "T(4, 8, 3), T(4, 8, 3), dim=-1", OK),
    ("torch.nn.functional.cosine_similarity", "T(4, 8), T(8), dim=0", OK),
    ("torch.nn.functional.cosine_similarity", "T(8), T(8), dim=0", OK),
    ("torch.nn.functional.cosine_similarity", "T(8), T(8)", "SH111"),
    ("torch.nn.functional.cosine_similarity", "T(4, 8), T(4, 7)", "SH108"),
]


def _ids(cases: list[tuple[str, str, str | None]]) -> list[str]:
    return [f"{q.removeprefix('torch.')}({src})" for q, src, _ in cases]


@pytest.mark.parametrize(("qualname", "src", "code"), CASES, ids=_ids(CASES))
def test_function_matches_torch(qualname: str, src: str, code: str | None) -> None:
    ours, _ = engine_call(qualname, src)
    theirs = torch_call(qualname, src)
    if code is None:
        assert not isinstance(theirs, Exception), f"torch raised {theirs!r}"
        assert not isinstance(ours, Outcome), f"engine reported {ours.code}"
        assert describe_engine(ours) == describe_real(theirs)
    else:
        assert isinstance(theirs, Exception), f"torch accepted it: {describe_real(theirs)}"
        assert isinstance(ours, Outcome), f"engine accepted it: {describe_engine(ours)}"
        assert ours.code == code


OK_CASES = [c for c in CASES if c[2] is None]


@pytest.mark.parametrize(("qualname", "src", "code"), OK_CASES, ids=_ids(OK_CASES))
def test_symbolic_inputs_are_sound(qualname: str, src: str, code: str | None) -> None:
    """With every input dim a symbol, no false alarm, and every known dim is right."""
    ours, values = engine_call(qualname, src, symbolic=True)
    assert not isinstance(ours, Outcome), f"false alarm {ours.code} on symbolic input"
    theirs = describe_real(torch_call(qualname, src))
    if isinstance(ours, Tensor) and ours.shape is not None:
        assert isinstance(theirs, tuple)
        assert theirs[0] == "T"
        assert len(ours.shape) == len(theirs[1])
        for d, real in zip(ours.shape, theirs[1], strict=True):
            if is_known(d):
                assert substitute(d, values) == real, (d, values)


def test_every_function_rule_has_a_case() -> None:
    """Each registered rule is exercised by at least one case under one of its names."""
    covered = {id(FUNCTIONS[q]) for q, _, _ in CASES if q in FUNCTIONS}
    missing = sorted({r.names[0] for r in FUNCTIONS.values() if id(r) not in covered})
    assert len(missing) <= len(FUNCTIONS) // 3, missing
