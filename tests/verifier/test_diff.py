"""The static diff: hand-written static models stand in for the core's output."""

from __future__ import annotations

from pathlib import Path

import pytest

from shape_lsp.core.results import ModelCall, ModelSummary, Severity, Span
from shape_lsp.verifier.client import run_verify
from shape_lsp.verifier.diff import agrees, bind, eval_dim, example_ctors, resolve_shape
from shape_lsp.verifier.protocol import (
    RuntimeCall,
    RuntimeErrorInfo,
    VerifiedModel,
    VerifyReport,
    VerifyRequest,
)
from tests.verifier.conftest import fixture


def _net(**overrides: object) -> ModelSummary:
    calls = (
        ModelCall("conv1", 16, ("B", 6, "H - 4", "W - 4"), "Conv2d"),
        ModelCall("pool", 16, ("B", 6, 14, 14), "MaxPool2d"),
        ModelCall("conv2", 17, ("B", 16, 10, 10), "Conv2d"),
        ModelCall("pool", 17, ("B", 16, 6, 6), "MaxPool2d"),  # wrong on purpose
        ModelCall("fc1", 19, None, "Linear"),  # static-unknown
        ModelCall("fc2", 20, ("B", 10), "Linear"),
    )
    fields: dict[str, object] = {
        "name": "Net",
        "span": Span(5, 0, 19, 0),
        "kind": "class",
        "input_source": "example",
        "inputs": ("x",),
        "output": "(B, 10)",
        "calls": calls,
        "input_shapes": (("B", 3, "H", "W"),),
        "input_dtypes": ("float32",),
        "ctor": "Net(num_classes=10)",
    }
    fields.update(overrides)
    return ModelSummary(**fields)  # type: ignore[arg-type]


def test_eval_dim_and_agreement() -> None:
    env = {"B": 2, "H": 32}
    assert eval_dim("H//2 - 1", env) == 15
    assert eval_dim("64*H*H", env) == 65536
    assert eval_dim("?", env) is None and eval_dim("N", env) is None
    assert eval_dim("H/3", env) is None and eval_dim(7, env) == 7
    assert resolve_shape(("B", 3, "H", "H"), env) == [2, 3, 32, 32]
    assert resolve_shape(("B", "N"), env) is None
    assert agrees(("B", 6, "N"), [2, 6, 9], env) is True  # unbound symbols are wildcards
    assert agrees(("B", 6), [2, 7], env) is False
    assert agrees(("B",), [2, 7], env) is False
    assert agrees(None, [2], env) is None
    assert bind([("B", 3, "H", "W")], [[4, 3, 8, 9]], env) == {"B": 4, "H": 8, "W": 9}


def test_example_ctors_only_from_the_main_block() -> None:
    src = "class A: ...\nclass B: ...\nA(1)\nif __name__ == '__main__':\n    m = B(2, k=3)\n"
    assert example_ctors(src) == {"B": "B(2, k=3)"}


def test_mismatch_unknown_and_agreement(static_models) -> None:  # type: ignore[no-untyped-def]
    static_models(_net())
    r = run_verify(fixture("convnet.py"), device="meta", dims={"H": 32, "W": 32})
    assert r.status == "mismatch", r.message
    by = {(c.module, c.line): c for c in r.models[0].calls}
    assert by[("conv1", 16)].agrees is True and by[("conv1", 16)].static_output[2] == "H - 4"
    assert by[("pool", 17)].agrees is False
    assert by[("fc1", 19)].agrees is None and by[("fc1", 19)].static_output is None
    (f,) = r.findings
    assert f.code == "SH201" and f.severity == Severity.WARNING
    assert f.span.start_line == 16 and f.source == "shape-lsp verify"
    assert "(2, 16, 5, 5)" in f.message and "(B, 16, 6, 6)" in f.message
    fc1 = [x for x in r.facts if x.span.start_line == 18]
    assert fc1 and fc1[-1].shape == "(2, 120)" and fc1[-1].label == "runtime" and fc1[-1].inlay


def test_static_inputs_drive_the_run(static_models) -> None:  # type: ignore[no-untyped-def]
    static_models(_net(input_shapes=((4, 3, "H", "W"),), calls=()))
    r = run_verify(fixture("convnet.py"), device="meta", dims={"H": 32, "W": 32})
    assert r.status == "ok", r.message
    assert r.models[0].inputs == [[4, 3, 32, 32]]


def test_user_shape_rank_checked_against_static(static_models) -> None:  # type: ignore[no-untyped-def]
    static_models(_net())
    r = run_verify(fixture("convnet.py"), input_shapes=[(2, 3, 32)], device="meta")
    assert r.status == "error" and "has rank 3 but Net's input 1 has rank 4" in r.message


def test_severity_and_ignore_settings() -> None:
    from shape_lsp.core.config import Settings
    from shape_lsp.verifier.diff import apply_diff

    def run(settings: Settings) -> list[object]:
        vm = VerifiedModel(
            "Net",
            [RuntimeCall("fc2", 20, [2, 9], "float32", layer="Linear")],
            inputs=[[2, 3, 32, 32]],
            device="meta",
        )
        source = (Path(fixture("convnet.py"))).read_text()
        findings, facts = apply_diff(
            [vm], [_net()], source, dims={}, device="meta", settings=settings
        )
        assert vm.calls[0].agrees is False and facts[0].inlay
        return [f.severity for f in findings]

    assert run(Settings()) == [Severity.WARNING]
    assert run(Settings(severity={"SH201": Severity.ERROR})) == [Severity.ERROR]
    assert run(Settings(ignore=frozenset({"SH201"}))) == []


def test_report_round_trip() -> None:
    r = VerifyReport(
        "error",
        device="cpu",
        dtype="float32",
        message="m",
        models=[
            VerifiedModel(
                "Net",
                [RuntimeCall("fc", 3, [2, 4], "float32", ("B", 4), True)],
                RuntimeErrorInfo(3, "fc", [[2, 4]], "boom", "RuntimeError"),
                [[2, 4]],
                "cpu",
            )
        ],
    )
    from shape_lsp.core.results import Finding, ShapeFact

    r.findings = (Finding("SH202", Severity.ERROR, Span(2, 4, 2, 9), "x", source="s"),)
    r.facts = (ShapeFact(Span(2, 4, 2, 9), "runtime", "runtime", "(2, 4)", "float32"),)
    back = VerifyReport.from_json(r.to_json())
    assert back == r
    req = VerifyRequest(path="p", report_path="r", trace_path="t", dims={"B": 2})
    assert VerifyRequest.from_json(req.to_json()) == req
    with pytest.raises(ValueError):
        VerifyReport.from_json('{"status": "weird"}')


def test_blocks_of_another_model_are_not_run_alone(static_models) -> None:  # type: ignore[no-untyped-def]
    span = Span(0, 0, 1, 0)
    enc = ModelSummary(
        "Encoder",
        span,
        "class",
        "symbolic",
        ("x",),
        "(B, 16)",
        calls=(ModelCall("fc", 14, ("B", 16), "Linear"),),
    )
    siam = ModelSummary(
        "Siamese",
        span,
        "class",
        "symbolic",
        ("a", "b"),
        "(B,)",
        calls=(
            ModelCall("encoder", 23, ("B", 16), "Encoder"),
            ModelCall("encoder", 24, ("B", 17), "Encoder"),
        ),
    )
    static_models(enc, siam)
    r = run_verify(fixture("siamese.py"), device="meta")
    assert [m.name for m in r.models] == ["Siamese"]
    enc_calls = [c for c in r.models[0].calls if c.module == "encoder"]
    assert [c.agrees for c in enc_calls] == [True, False]  # matched by occurrence
    assert r.status == "mismatch" and r.findings[0].span.start_line == 23
