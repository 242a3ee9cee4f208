"""Run the verify agent in a subprocess and diff its runtime shapes with the static ones.

Cheap to import (no torch). `run_verify` never raises: every failure is a `VerifyReport` with a
status and a message saying what to supply.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from shape_lsp.core.config import Settings
from shape_lsp.core.results import Finding, ModelSummary
from shape_lsp.verifier import diff

if TYPE_CHECKING:
    from shape_lsp.core.api import Analyzer
from shape_lsp.verifier.protocol import (
    ModelRequest,
    RuntimeErrorInfo,
    VerifiedModel,
    VerifyReport,
    VerifyRequest,
)

log = logging.getLogger(__name__)

AGENT = str(Path(__file__).with_name("agent") / "__init__.py")
# Load the agent package by path under a private name: nothing of shape_lsp (nor its
# dependencies) has to be importable by the user's interpreter, and no folder of ours lands on
# sys.path; its modules import each other relatively, through the package's __path__.
_BOOTSTRAP = (
    "import importlib.util as u,os,sys\n"
    "p=sys.argv[1]\n"
    "s=u.spec_from_file_location('_shape_lsp_verify_agent',p,"
    "submodule_search_locations=[os.path.dirname(p)])\n"
    "m=u.module_from_spec(s);sys.modules[s.name]=m;s.loader.exec_module(m)\n"
    "raise SystemExit(m.main())\n"
)
_TAIL = 4000
STARTUP_LIMIT = 120.0  # seconds for the agent's interpreter to import torch (and keras)
_KERAS = re.compile(r"^\s*(?:import|from)\s+(?:tf_)?keras\b|tensorflow\.keras", re.M)
_FRAME = re.compile(r'File "(?P<file>[^"]+)", line (?P<line>\d+)')


@dataclass
class _Plan:
    """Everything decided before spawning: the request and the static side."""

    request: VerifyRequest
    static: tuple[ModelSummary, ...]
    source: str


def _interpreter(path: str, settings: Settings) -> str:
    """The interpreter the static analysis reads libraries from (environment.py): the
    `verify.python` / `python` settings, `$VIRTUAL_ENV`, the project's .venv, else this one."""
    from pathlib import Path

    from shape_lsp.core.analysis.environment import find_interpreter

    project = Path(path).resolve().parent if path and not path.startswith("<") else None
    python, _ = find_interpreter(project, settings.verify_python or settings.python)
    return python or sys.executable


def run_verify(
    path: str,
    *,
    source: str | None = None,
    model: str | None = None,
    input_shapes: list[tuple[int, ...]] | None = None,
    device: str | None = None,
    timeout: float | None = None,
    python: str | None = None,
    dims: dict[str, int] | None = None,
    ctor: str | None = None,
    settings: Settings | None = None,
) -> VerifyReport:
    """Run the model(s) of `path` for real and compare with the static shapes.

    Arguments left None come from `settings` (verify_device / verify_timeout / verify_python /
    verify_dims), then from the defaults: device "auto", 60 s, this interpreter.
    """
    settings = settings or Settings()
    try:
        return _run_verify(
            path,
            source=source,
            model=model,
            input_shapes=input_shapes,
            device=device or settings.verify_device,
            timeout=timeout if timeout is not None else settings.verify_timeout,
            python=python or _interpreter(path, settings),
            dims={**diff.DEFAULT_DIMS, **settings.verify_dims, **(dims or {})},
            ctor=ctor,
            settings=settings,
        )
    except Exception as e:  # never raise to the caller
        log.exception("verify failed")
        return VerifyReport("error", message=f"verify failed: {type(e).__name__}: {e}", path=path)


def _run_verify(
    path: str,
    *,
    source: str | None,
    model: str | None,
    input_shapes: list[tuple[int, ...]] | None,
    device: str,
    timeout: float,
    python: str,
    dims: dict[str, int],
    ctor: str | None,
    settings: Settings,
) -> VerifyReport:
    path = os.path.abspath(path)
    on_disk: str | None = None
    try:
        on_disk = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        if source is None:
            return VerifyReport("error", message=f"cannot read {path}: {e}", path=path)
    if source is None:
        source = on_disk or ""
    plan = _plan(
        path,
        source,
        model=model,
        input_shapes=input_shapes,
        device=device,
        dims=dims,
        ctor=ctor,
        settings=settings,
    )
    if isinstance(plan, VerifyReport):
        return plan
    if source != on_disk:  # an unsaved buffer: the agent runs this text, not the file
        plan.request.source = source
    with tempfile.TemporaryDirectory(prefix="shape-lsp-verify-") as tmp:
        report = _spawn(plan.request, tmp, python, timeout)
    report.path = path
    if report.status in ("ok", "error"):
        findings, facts = diff.apply_diff(
            report.models, plan.static, source, dims=dims, device=report.device, settings=settings
        )
        report.findings = tuple(findings)
        report.facts = tuple(facts)
        if report.status == "ok" and any(c.agrees is False for m in report.models for c in m.calls):
            report.status = "mismatch"
        summary = _summary(report)
        if summary and summary not in report.message:
            report.message = _join_parts([report.message, summary])
    elif report.status in ("timeout", "crashed"):
        report.findings = tuple(_hang_finding(report, source, settings))
    return report


def _plan(
    path: str,
    source: str,
    *,
    model: str | None,
    input_shapes: list[tuple[int, ...]] | None,
    device: str,
    dims: dict[str, int],
    ctor: str | None,
    settings: Settings,
) -> _Plan | VerifyReport:
    static = _static_models(source, path, settings)
    chosen = [m for m in static if model is None or model in (m.name, m.variable)]
    if model is None:  # a class used inside another model (a block) is verified as its part
        parts = {c.layer for m in static for c in m.calls if c.module}
        chosen = [m for m in chosen if m.name not in parts] or chosen
    ctors = diff.example_ctors(source)
    requests: list[ModelRequest] = []
    for m in chosen:
        inputs: list[list[int]] | None = None
        user = input_shapes is not None
        if input_shapes is not None:
            problem = _rank_problem(m, input_shapes)
            if problem:
                err = RuntimeErrorInfo(None, None, [], problem, "", phase="inputs")
                return VerifyReport(
                    "error", message=problem, path=path, models=[VerifiedModel(m.name, error=err)]
                )
            inputs = [list(s) for s in input_shapes]
        elif m.input_shapes:
            resolved = [diff.resolve_shape(s, dims) for s in m.input_shapes]
            inputs = None if any(r is None for r in resolved) else [r for r in resolved if r]
        requests.append(
            ModelRequest(
                name=m.name,
                kind=m.kind,
                ctor=(ctor if model else None) or m.ctor or ctors.get(m.name),
                variable=m.variable,
                inputs=inputs,
                input_dtypes=list(m.input_dtypes),
                user_inputs=user,
                framework=m.framework,
            )
        )
    if ctor and not model:
        head = ctor.split("(", 1)[0].strip()
        model = head if head.isidentifier() else None
        if requests:
            requests[0].ctor = ctor
    if not chosen and model:
        requests.append(
            ModelRequest(
                name=model,
                ctor=ctor,
                inputs=[list(s) for s in input_shapes] if input_shapes else None,
                user_inputs=input_shapes is not None,
            )
        )
    req = VerifyRequest(
        path=path,
        report_path="",
        trace_path="",
        device=device,
        keras=bool(_KERAS.search(source)) or any(m.framework == "keras" for m in static),
        dims=dims,
        ctors=ctors,
        models=requests,
        inputs=[list(s) for s in input_shapes] if input_shapes and not requests else None,
    )
    return _Plan(req, static, source)


_ANALYZER: Analyzer | None = None


def _static_models(source: str, path: str, settings: Settings) -> tuple[ModelSummary, ...]:
    try:
        from shape_lsp.core.api import Analyzer

        global _ANALYZER  # noqa: PLW0603 - one engine (and library store) per process
        if _ANALYZER is None:
            _ANALYZER = Analyzer(libraries=True)
        return _ANALYZER.analyze(source, path, settings).models
    except Exception as e:  # the static side is optional here: verify still runs the models
        log.warning(
            "static analysis failed (%s: %s); verifying without static shapes", type(e).__name__, e
        )
        return ()


def _rank_problem(m: ModelSummary, shapes: list[tuple[int, ...]]) -> str:
    known = [s for s in m.input_shapes if s is not None]
    if not m.input_shapes or len(known) != len(m.input_shapes):
        return ""
    if len(shapes) != len(known):
        return (
            f"{m.name} takes {len(known)} input(s) but {len(shapes)} --input-shape were "
            "given; give one per input"
        )
    for i, (given, want) in enumerate(zip(shapes, known, strict=True)):
        if len(given) != len(want):
            return (
                f"--input-shape {','.join(map(str, given))} has rank {len(given)} but "
                f"{m.name}'s input {i + 1} has rank {len(want)} "
                f"({diff.render(want)})"
            )
    return ""


def _spawn(req: VerifyRequest, tmp: str, python: str, timeout: float) -> VerifyReport:
    """Start the agent in its own session; kill the whole group on timeout."""
    req.report_path = os.path.join(tmp, "report.json")
    req.trace_path = os.path.join(tmp, "trace.txt")
    req.deadline = time.time() + timeout
    out_path, err_path = os.path.join(tmp, "stdout.txt"), os.path.join(tmp, "stderr.txt")
    env = dict(os.environ, PYTHONUNBUFFERED="1", PYTHONFAULTHANDLER="1")
    if req.keras:
        env["KERAS_BACKEND"] = "torch"
    folder = os.path.dirname(req.path)
    with open(out_path, "wb") as out, open(err_path, "wb") as err:
        try:
            proc = subprocess.Popen(
                [python, "-c", _BOOTSTRAP, AGENT],
                stdin=subprocess.PIPE,
                stdout=out,
                stderr=err,
                cwd=folder if os.path.isdir(folder) else None,
                env=env,
                start_new_session=True,
            )
        except OSError as e:
            return VerifyReport(
                "unavailable",
                message=f"cannot start the verify interpreter "
                f"{python!r}: {e}; set verify.python / --python",
            )
        try:
            assert proc.stdin is not None
            with contextlib.suppress(BrokenPipeError):
                proc.stdin.write(req.to_json().encode())
                proc.stdin.close()
            timed_out = _wait(proc, req.report_path + ".ready", timeout)
            if timed_out:
                _ask_for_stacks(proc, req.trace_path)
        finally:
            _kill_group(proc)
    stdout, stderr = _tail(out_path), _tail(err_path)
    trace = _tail(req.trace_path)
    if timed_out and not os.path.exists(req.report_path + ".ready"):
        return VerifyReport(
            "timeout",
            message=f"the verify interpreter {python} did not finish "
            f"importing torch{' and keras' if req.keras else ''} within "
            f"{max(timeout, STARTUP_LIMIT):g} s and was killed",
            stdout=stdout,
            stderr=_join(stderr, trace),
        )
    if timed_out:
        return VerifyReport(
            "timeout",
            message=f"the verify run did not finish within "
            f"{timeout:g} s and was killed{_where(trace, req.path)}; raise the "
            "timeout (--timeout / verify.timeout) if the model is just slow",
            stdout=stdout,
            stderr=_join(stderr, trace),
        )
    report = _read_report(req.report_path)
    if report is None:
        rc = proc.returncode
        how = (
            f"was killed by signal {_signal_name(-rc)}"
            if rc < 0
            else f"exited with code {rc} before reporting (does the code call os._exit "
            "or sys.exit?)"
        )
        return VerifyReport(
            "crashed",
            message=f"the verify agent {how}{_where(trace, req.path)}",
            stdout=stdout,
            stderr=_join(stderr, trace),
        )
    report.stdout, report.stderr = stdout, stderr
    return report


def _wait(proc: subprocess.Popen[bytes], ready: str, timeout: float) -> bool:
    """Wait for the agent; True when it ran past its time. The timeout counts from the moment the
    agent has imported torch (and keras) and is about to import the user's file, so a slow
    interpreter start does not eat the model's time; the start itself gets STARTUP_LIMIT s."""
    start = time.monotonic()
    ready_at: float | None = None
    while proc.poll() is None:
        now = time.monotonic()
        if ready_at is None and os.path.exists(ready):
            ready_at = now
        limit = ready_at + timeout if ready_at is not None else start + max(timeout, STARTUP_LIMIT)
        if now >= limit:
            return True
        time.sleep(0.02)
    return False


def _ask_for_stacks(proc: subprocess.Popen[bytes], trace_path: str) -> None:
    """SIGUSR1 makes the agent's faulthandler dump every thread's stack to the trace file (at
    kill time, so the user's line is where the run really hung); wait briefly for it."""
    usr1 = getattr(signal, "SIGUSR1", None)
    if usr1 is None:
        return
    try:
        before = os.path.getsize(trace_path)
    except OSError:
        before = 0
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.kill(proc.pid, usr1)
    end = time.monotonic() + 1.0
    while time.monotonic() < end and proc.poll() is None:
        with contextlib.suppress(OSError):
            if os.path.getsize(trace_path) > before:
                time.sleep(0.05)  # let the dump finish
                return
        time.sleep(0.02)


def _kill_group(proc: subprocess.Popen[bytes]) -> None:
    """Kill the agent's whole session (children included), whether or not the leader exited."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.wait(timeout=5)


def _read_report(path: str) -> VerifyReport | None:
    try:
        with open(path, encoding="utf-8") as fh:
            return VerifyReport.from_json(fh.read())
    except (OSError, ValueError, KeyError, TypeError) as e:
        if os.path.exists(path):
            log.warning("unreadable verify report: %s", e)
        return None


def _tail(path: str) -> str:
    try:
        with open(path, "rb") as fh:
            fh.seek(0, os.SEEK_END)
            size = fh.tell()
            fh.seek(max(size - _TAIL, 0))
            text = fh.read().decode("utf-8", "replace")
    except OSError:
        return ""
    return ("... " if size > _TAIL else "") + text


def _join(stderr: str, trace: str) -> str:
    return stderr if not trace.strip() else f"{stderr}\n{trace}".strip()


def _signal_name(num: int) -> str:
    try:
        return signal.Signals(num).name
    except ValueError:
        return str(num)


def _user_frame(trace: str, path: str) -> int | None:
    """The innermost line of the user's file in a faulthandler dump (most recent call first)."""
    for m in _FRAME.finditer(trace):
        if os.path.abspath(m.group("file")) == path:
            return int(m.group("line"))
    return None


def _where(trace: str, path: str) -> str:
    line = _user_frame(trace, path)
    return f" while running line {line} of {os.path.basename(path)}" if line else ""


def _hang_finding(report: VerifyReport, source: str, settings: Settings) -> list[Finding]:
    line = _user_frame(report.stderr, report.path)
    if line is None or not settings.enabled("SH202"):
        return []
    return [
        Finding(
            "SH202",
            settings.severity_of("SH202"),
            diff.LineSpans(source).span(line),
            f"verify {report.status}: {report.message}",
            source=diff.SOURCE,
        )
    ]


def _summary(report: VerifyReport) -> str:
    parts = []
    for m in report.models:
        if m.error is not None:
            parts.append(diff.error_message(m.name, m.error))
        else:
            bad = sum(c.agrees is False for c in m.calls)
            parts.append(
                f"{m.name}: {len(m.calls)} calls, "
                + (f"{bad} differ from the static shapes" if bad else "no disagreement")
            )
    return _join_parts(parts)


def _join_parts(parts: list[str]) -> str:
    """`a; b` from sentences: a part's own final full stop would read `...].; b`."""
    out = [p.rstrip() for p in parts if p.strip()]
    return "; ".join(p[:-1] if p.endswith(".") and not p.endswith("..") else p for p in out)
