"""Runtime vs static: match calls, flag disagreements (SH201), map errors (SH202), make facts.

Pure stdlib on top of the core's types; no torch.
"""

from __future__ import annotations

import ast
import operator
from collections.abc import Callable, Sequence
from typing import Any

from shape_lsp.core.config import Settings
from shape_lsp.core.results import Finding, ModelSummary, ShapeFact, Span
from shape_lsp.verifier.protocol import Dims, RuntimeErrorInfo, VerifiedModel

SOURCE = "shape-lsp verify"
DEFAULT_DIMS: dict[str, int] = {"B": 2, "C": 3, "H": 32, "W": 32, "L": 16, "T": 16, "D": 8}

_OPS: dict[type, Callable[[int, int], int]] = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.FloorDiv: operator.floordiv,
    ast.Mod: operator.mod,
    ast.Pow: operator.pow,
}


def eval_dim(dim: int | str | None, env: dict[str, int]) -> int | None:
    """An int for a static dim (`64`, `"H"`, `"H//2 - 1"`) under `env`; None when unknown."""
    if dim is None or isinstance(dim, int):
        return dim
    try:
        tree = ast.parse(dim.strip(), mode="eval").body
    except SyntaxError:
        return None
    return _eval(tree, env)


def _eval(node: ast.AST, env: dict[str, int]) -> int | None:
    if isinstance(node, ast.Constant) and isinstance(node.value, int):
        return node.value
    if isinstance(node, ast.Name):
        return env.get(node.id)
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        v = _eval(node.operand, env)
        return None if v is None else -v
    if isinstance(node, ast.BinOp):
        a, b = _eval(node.left, env), _eval(node.right, env)
        if a is None or b is None:
            return None
        if isinstance(node.op, ast.Div):
            return a // b if b and a % b == 0 else None
        op = _OPS.get(type(node.op))
        if op is None or (b == 0 and isinstance(node.op, ast.FloorDiv | ast.Mod)):
            return None
        return op(a, b)
    return None


def resolve_shape(shape: Sequence[int | str] | None, env: dict[str, int]) -> list[int] | None:
    """A concrete shape from a static one, or None when a dim cannot be resolved."""
    if shape is None:
        return None
    out = [eval_dim(d, env) for d in shape]
    return None if any(v is None or v < 1 for v in out) else [int(v) for v in out if v is not None]


def bind(
    static_inputs: Sequence[Sequence[int | str] | None],
    concrete: Sequence[Sequence[int]],
    base: dict[str, int],
) -> dict[str, int]:
    """Symbol values implied by running `concrete` inputs for the static input shapes."""
    env = dict(base)
    for s, c in zip(static_inputs, concrete, strict=False):
        if s is None or len(s) != len(c):
            continue
        for d, v in zip(s, c, strict=True):
            if isinstance(d, str) and d.isidentifier():
                env[d] = v
    return env


def agrees(static: Dims | None, runtime: Sequence[int] | None, env: dict[str, int]) -> bool | None:
    """True/False when comparable; None when the static shape is unknown."""
    if static is None or runtime is None:
        return None
    if len(static) != len(runtime):
        return False
    for s, r in zip(static, runtime, strict=True):
        v = eval_dim(s, env)
        if v is not None and v != r:
            return False
    return True


def render(shape: Sequence[int | str] | None) -> str:
    """`(2, 64, 16, 16)`, `(10,)` or `unknown`, like the core's render_shape."""
    if shape is None:
        return "unknown"
    if len(shape) == 1:
        return f"({shape[0]},)"
    return "(" + ", ".join(str(d) for d in shape) + ")"


class LineSpans:
    """Spans for 1-based lines of a source text (first non-blank column to line end)."""

    def __init__(self, source: str) -> None:
        self.lines = source.splitlines()

    def span(self, line: int) -> Span:
        i = max(line - 1, 0)
        text = self.lines[i] if i < len(self.lines) else ""
        start = len(text) - len(text.lstrip())
        return Span(i, start, i, max(len(text.rstrip()), start + 1))


def sequential_lines(source: str, variable: str) -> dict[str, int]:
    """`{"0": line, "1": line, ...}` for `variable = nn.Sequential(a, b, ...)` in the file."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return {}
    for node in tree.body:
        if (
            isinstance(node, ast.Assign)
            and any(isinstance(t, ast.Name) and t.id == variable for t in node.targets)
            and isinstance(node.value, ast.Call)
        ):
            out = {"": node.lineno}
            for i, arg in enumerate(node.value.args):
                out[str(i)] = arg.lineno
            return out
    return {}


def example_ctors(source: str) -> dict[str, str]:
    """`{"Net": "Net(num_classes=10)"}` from calls in the file's `if __name__ == "__main__":`."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return {}
    classes = {n.name for n in tree.body if isinstance(n, ast.ClassDef)}
    out: dict[str, str] = {}
    for node in tree.body:
        if not (isinstance(node, ast.If) and "__main__" in ast.unparse(node.test)):
            continue
        for sub in ast.walk(node):
            if (
                isinstance(sub, ast.Call)
                and isinstance(sub.func, ast.Name)
                and sub.func.id in classes
                and sub.func.id not in out
            ):
                text = ast.get_source_segment(source, sub)
                if text:
                    out[sub.func.id] = " ".join(text.split())
    return out


def apply_diff(
    models: list[VerifiedModel],
    static: Sequence[ModelSummary],
    source: str,
    *,
    dims: dict[str, int],
    device: str | None,
    settings: Settings,
) -> tuple[list[Finding], list[ShapeFact]]:
    """Fill each call's static_output / agrees; findings for mismatches and errors; facts."""
    spans = LineSpans(source)
    findings: list[Finding] = []
    facts: list[ShapeFact] = []
    by_name = {m.name: m for m in static}
    by_name.update({m.variable: m for m in static if m.variable})
    for vm in models:
        summary = by_name.get(vm.name)
        static_calls: dict[tuple[str, int], Any] = {}
        seen: dict[str, int] = {}
        for c in summary.calls if summary else ():
            k = seen.get(c.module, 0)
            seen[c.module] = k + 1
            static_calls[(c.module, k)] = c
        env = bind(summary.input_shapes if summary else (), vm.inputs, dims)
        seq = sequential_lines(
            source, summary.variable if summary and summary.variable else vm.name
        )
        model_line = summary.span.start_line + 1 if summary else seq.get("", 0)
        seen = {}
        last_on_line: dict[int, int] = {}
        for i, call in enumerate(vm.calls):
            k = seen.get(call.module, 0)
            seen[call.module] = k + 1
            sc = static_calls.get((call.module, k))
            if sc is not None:
                call.static_output = sc.output
                call.agrees = agrees(sc.output, call.output, env)
                if not call.line:
                    call.line = sc.line
            if not call.line:
                call.line = seq.get(call.module.split(".")[0], 0) or model_line
            if call.line:
                last_on_line[call.line] = i
            if call.agrees is False and settings.enabled("SH201") and sc is not None:
                findings.append(
                    Finding(
                        "SH201",
                        settings.severity_of("SH201"),
                        spans.span(sc.line or call.line),
                        f"runtime shape {render(call.output)} of `{call.module or vm.name}` "
                        f"({call.layer or sc.layer}) differs from the static {render(sc.output)} "
                        f"[{device}, {call.dtype}]",
                        trace=(f"inputs {', '.join(render(s) for s in vm.inputs)}",),
                        source=SOURCE,
                    )
                )
        for i, call in enumerate(vm.calls):
            if not call.line:
                continue
            facts.append(
                ShapeFact(
                    span=spans.span(call.line),
                    kind="runtime",
                    label="runtime",
                    shape=render(call.output),
                    dtype=call.dtype,
                    detail=(
                        f"`{call.module or vm.name}` ({call.layer}) on {vm.device or device}",
                        f"static: {render(call.static_output)}",
                    ),
                    inlay=last_on_line.get(call.line) == i and call.agrees is not True,
                )
            )
        if vm.error is not None:
            f = error_finding(
                vm,
                vm.error,
                static_calls=static_calls,
                model_line=model_line,
                spans=spans,
                settings=settings,
            )
            if f is not None:
                findings.append(f)
    return findings, facts


def error_message(name: str, err: RuntimeErrorInfo) -> str:
    """`Net: forward raised RuntimeError in `fc` (Linear) with input (2, 400): ...`."""
    if err.phase != "forward":
        return f"{name}: {err.message}" if name else err.message
    where = ""
    if err.module is not None:
        shapes = ", ".join(render(s) for s in err.input_shapes) or "no tensors"
        where = f" in `{err.module or name}` ({err.layer}) with input {shapes}"
    return f"{name}: forward raised {err.exc_type}{where}: {err.message}"


def error_finding(
    vm: VerifiedModel,
    err: RuntimeErrorInfo,
    *,
    static_calls: dict[tuple[str, int], Any],
    model_line: int,
    spans: LineSpans,
    settings: Settings,
) -> Finding | None:
    """SH202 at the line that raised (or the static call / model line when unknown)."""
    line = err.line
    if not line and err.module is not None:
        sc = static_calls.get((err.module, 0))
        line = sc.line if sc is not None else None
    line = line or model_line
    if not line or not settings.enabled("SH202"):
        return None
    return Finding(
        "SH202",
        settings.severity_of("SH202"),
        spans.span(line),
        error_message(vm.name, err),
        source=SOURCE,
    )
