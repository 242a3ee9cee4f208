"""The agent end to end through run_verify, without static models (cpu and meta only)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from shape_lsp.verifier.client import run_verify
from tests.verifier.conftest import fixture

pytestmark = pytest.mark.usefixtures("no_static")


def _outputs(report, model=0):  # type: ignore[no-untyped-def]
    return [(c.module, c.output) for c in report.models[model].calls]


@pytest.mark.parametrize("device", ["cpu", "meta"])
def test_convnet_runs_and_records_every_call(device: str) -> None:
    r = run_verify(fixture("convnet.py"), device=device, timeout=60)
    assert r.status == "ok", r.message
    assert r.device == device and r.dtype == "float32"
    assert _outputs(r) == [
        ("conv1", [2, 6, 28, 28]),
        ("pool", [2, 6, 14, 14]),
        ("conv2", [2, 16, 10, 10]),
        ("pool", [2, 16, 5, 5]),
        ("fc1", [2, 120]),
        ("fc2", [2, 10]),
        ("", [2, 10]),
    ]
    lines = {c.module: c.line for c in r.models[0].calls}
    assert lines["conv1"] == 16 and lines["fc2"] == 20  # call sites inside forward()
    assert r.models[0].inputs == [[2, 3, 32, 32]]
    assert any(f.kind == "runtime" and f.span.start_line == 15 for f in r.facts)


def test_sequential_variable_gets_lines_from_its_arguments() -> None:
    r = run_verify(fixture("sequential.py"), device="cpu")
    assert r.status == "ok", r.message
    assert r.models[0].name == "model"
    assert _outputs(r) == [("0", [2, 64]), ("1", [2, 64]), ("2", [2, 5]), ("", [2, 5])]
    assert [c.line for c in r.models[0].calls] == [4, 5, 6, 3]


def test_siamese_two_inputs_shared_encoder_called_twice() -> None:
    r = run_verify(fixture("siamese.py"), device="cpu")
    assert r.status == "ok", r.message
    assert [m.name for m in r.models] == ["Siamese"]  # Encoder is a part, not a model
    assert r.models[0].inputs == [[2, 1, 32, 32], [2, 1, 32, 32]]
    enc = [c for c in r.models[0].calls if c.module == "encoder"]
    assert [c.output for c in enc] == [[2, 16], [2, 16]]
    assert [c.line for c in enc] == [23, 24]


def test_user_input_shapes_and_dims() -> None:
    r = run_verify(
        fixture("siamese.py"), model="Siamese", input_shapes=[(3, 1, 8, 8)] * 2, device="meta"
    )
    assert r.status == "ok", r.message
    assert r.models[0].calls[-1].output == [3]


def test_forward_error_is_mapped_to_the_line_module_and_inputs() -> None:
    r = run_verify(fixture("buggy.py"), device="cpu")
    assert r.status == "error"
    err = r.models[0].error
    assert err is not None
    assert (err.line, err.module, err.layer) == (14, "fc", "Linear")
    assert err.input_shapes == [[2, 7200]]
    assert "mat1 and mat2 shapes cannot be multiplied" in err.message
    (f,) = r.findings
    assert f.code == "SH202" and f.span.start_line == 13 and f.source == "shape-lsp verify"
    assert "`fc` (Linear) with input (2, 7200)" in f.message


def test_printing_model_still_reports() -> None:
    r = run_verify(fixture("noisy.py"), device="cpu")
    assert r.status == "ok", r.message
    assert "forward garbage" in r.stdout
    assert "import-time chatter" not in r.stdout  # a top-level print is not the model's
    assert [k.code for k in r.skipped] == ['print("import-time chatter {not json")']
    assert "stderr garbage" in r.stderr


def test_hanging_forward_is_killed_at_the_timeout() -> None:
    start = time.monotonic()
    r = run_verify(fixture("hang.py"), device="cpu", timeout=3)
    elapsed = time.monotonic() - start
    assert r.status == "timeout"
    assert "did not finish within 3 s" in r.message
    assert "line 11 of hang.py" in r.message or "line 10 of hang.py" in r.message
    assert 2.5 < elapsed < 15  # the 3 s count once torch is imported (slow on a loaded box)
    assert r.findings and r.findings[0].code == "SH202"


def test_os_exit_is_a_crash_with_the_exit_code() -> None:
    r = run_verify(fixture("exits.py"), device="cpu")
    assert r.status == "crashed"
    assert "exited with code 3" in r.message


def test_segfault_is_a_crash_with_the_signal_and_line() -> None:
    r = run_verify(fixture("segfault.py"), device="cpu")
    assert r.status == "crashed"
    assert "SIGSEGV" in r.message
    assert "line 12 of segfault.py" in r.message


def test_import_failure_is_reported_at_its_line() -> None:
    r = run_verify(fixture("badimport.py"), device="cpu")
    assert r.status == "error"
    assert "ModuleNotFoundError" in r.message and "not_a_real_module_for_shape_lsp" in r.message
    assert [f.span.start_line for f in r.findings] == [2]


def test_constructor_arguments_we_cannot_find() -> None:
    r = run_verify(fixture("needs_args.py"), device="cpu")
    assert r.status == "error"
    assert "cannot build `Net()`" in r.message and "--ctor" in r.message
    assert "out_features" in r.message
    ok = run_verify(
        fixture("needs_args.py"),
        model="Net",
        ctor="Net(4, out_features=2)",
        input_shapes=[(2, 4)],
        device="cpu",
    )
    assert ok.status == "ok", ok.message
    assert ok.models[0].calls[-1].output == [2, 2]


def test_constructor_from_the_files_main_block() -> None:
    r = run_verify(fixture("example_ctor.py"), device="cpu")
    assert r.status == "ok", r.message
    assert r.models[0].calls[-1].output == [2, 3]


def test_wrong_rank_input_shape_says_what_to_supply() -> None:
    r = run_verify(fixture("convnet.py"), model="Net", input_shapes=[(2, 3, 32)], device="cpu")
    assert r.status == "error"
    assert "rank 3" in r.message and "rank 4" in r.message and "2,3,32,32" in r.message
    assert r.models[0].error is not None and r.models[0].error.phase == "inputs"


def test_wrong_number_of_inputs() -> None:
    r = run_verify(
        fixture("siamese.py"), model="Siamese", input_shapes=[(2, 1, 8, 8)], device="cpu"
    )
    assert r.status == "error" and "takes 2 tensor input(s)" in r.message


def test_unknown_model_name_lists_the_candidates() -> None:
    r = run_verify(fixture("convnet.py"), model="Nope", device="cpu")
    assert r.status == "error" and "no model named 'Nope'" in r.message and "Net" in r.message


def test_meta_falls_back_to_cpu_for_data_dependent_ops() -> None:
    r = run_verify(fixture("data_dependent.py"), device="meta")
    assert r.status == "ok", r.message
    assert r.device == "cpu"
    assert "meta could not run it" in r.message and "ran on cpu" in r.message
    assert r.models[0].calls[-1].output == [2, 4]


@pytest.mark.skipif(os.environ.get("CUDA_VISIBLE_DEVICES") not in (None, ""), reason="GPU")
def test_cuda_unavailable_is_explained() -> None:
    r = run_verify(fixture("sequential.py"), device="cuda")
    if r.status == "ok":  # a machine with CUDA: the run must really have used it
        assert r.device == "cuda"
        return
    assert r.status == "unavailable"
    assert "CUDA is not available" in r.message and "--device cpu" in r.message


def test_missing_interpreter_is_unavailable() -> None:
    r = run_verify(fixture("sequential.py"), python="/nonexistent/python3")
    assert r.status == "unavailable" and "/nonexistent/python3" in r.message


def test_interpreter_without_torch_is_unavailable(tmp_path) -> None:  # type: ignore[no-untyped-def]
    shim = tmp_path / "py"
    shim.write_text(f'#!/bin/sh\nexec {sys.executable} -S "$@"\n')  # -S: no site-packages
    shim.chmod(0o755)
    r = run_verify(fixture("sequential.py"), python=str(shim), device="cpu")
    assert r.status == "unavailable" and "torch cannot be imported" in r.message


def test_client_does_not_import_torch() -> None:
    code = (
        "import sys, shape_lsp.verifier.client, shape_lsp.verifier.command; "
        "assert 'torch' not in sys.modules, 'torch imported'"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_unsaved_buffer_text_is_what_runs(tmp_path) -> None:  # type: ignore[no-untyped-def]
    text = Path(fixture("buggy.py")).read_text().replace("8 * 32 * 32", "8 * 30 * 30")
    r = run_verify(fixture("buggy.py"), source=text, device="meta")
    assert r.status == "ok", r.message
    untitled = run_verify(str(tmp_path / "untitled-1"), source=text, device="meta")
    assert untitled.status == "ok", untitled.message
    assert untitled.models[0].calls[-1].output == [2, 10]


def test_meta_errors_use_torchs_usual_wording() -> None:
    r = run_verify(fixture("buggy.py"), device="meta")
    assert r.status == "error" and r.device == "meta"
    err = r.models[0].error
    assert err is not None and (err.module, err.input_shapes) == ("fc", [[2, 7200]])
    # rerun of `fc` alone on cpu with zeros: torch's usual words, not "a and b must have..."
    assert "mat1 and mat2 shapes cannot be multiplied (2x7200 and 8192x10)" in err.message
    assert "reduction dim" not in r.message


def test_meta_errors_of_big_modules_keep_the_meta_message() -> None:
    r = run_verify(fixture("big_buggy.py"), device="meta")  # 20M weights: not rerun on cpu
    assert r.status == "error" and r.device == "meta"
    err = r.models[0].error
    assert err is not None and err.module == "1" and err.input_shapes == [[2, 4096]]
    assert "mat1 and mat2" not in err.message and "4096" in err.message


def test_summary_joins_sentences_without_doubled_punctuation() -> None:
    from shape_lsp.verifier.client import _summary
    from shape_lsp.verifier.protocol import RuntimeErrorInfo, VerifiedModel, VerifyReport

    def bad(name: str, text: str) -> VerifiedModel:
        return VerifiedModel(name, error=RuntimeErrorInfo(3, "fc", [[2, 4]], text, "RuntimeError"))

    report = VerifyReport(
        "error", models=[bad("Net", "got [4, 400] X [256, 120]."), bad("f", "x.")]
    )
    text = _summary(report)
    assert ".;" not in text and not text.endswith(".")
    assert "X [256, 120]; f: forward raised" in text
