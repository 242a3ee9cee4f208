"""Inputs for models no example call runs: from `# shape:` comments, annotations
(jaxtyping and friends), or discovered from the first layer each input reaches; what such a
run assumed, for its messages."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

import libcst as cst

from shape_lsp.core.analysis.interpreters import recorder_of
from shape_lsp.core.source.names import dotted
from shape_lsp.core.source.parse import Chunk
from shape_lsp.core.values import shapes as S
from shape_lsp.core.values.abstract import ASSUMED_FLOAT32, AssumedDtype, Tensor, Value
from shape_lsp.core.values.shapes import UNKNOWN, Dim, Shape

if TYPE_CHECKING:
    from shape_lsp.core.interpreter.frame import Frame
    from shape_lsp.core.interpreter.interpret import Interpreter

_JAX_DTYPES = {
    "Float": "float32",
    "Float32": "float32",
    "Float64": "float64",
    "Float16": "float16",
    "BFloat16": "bfloat16",
    "Int": "int64",
    "Int64": "int64",
    "Int32": "int32",
    "Integer": "int64",
    "Bool": "bool",
    "Shaped": None,
    "Num": None,
    "Real": None,
    "UInt8": "uint8",
}
_COMMENT = re.compile(r"#\s*shape:\s*(?!ignore)(?P<spec>.+)$")
_ONE = re.compile(r"(?:(?P<name>[A-Za-z_]\w*)\s*[:=]\s*)?\((?P<dims>[^()]*)\)")


def assumption(interp: Interpreter, inputs: list[Value]) -> str:
    """`with the input `(B, 3, H, W)` assumed from Conv2d`: what a run made up (the first
    layer each input reaches, from discover), for the messages of its findings."""
    shown: list[str] = []
    froms: list[str] = []
    for i, t in enumerate(inputs):
        hit = recorder_of(interp).templates.get(i)
        if not isinstance(t, Tensor) or t.shape is None or hit is None:
            continue
        shown.append(f"`{S.render_shape(t.shape)}`")
        froms.append(str(hit[1]).rsplit(".", 1)[-1])
    if not shown:
        return ""
    noun = "input" if len(shown) == 1 else "inputs"
    return f"with the {noun} {', '.join(shown)} assumed from {', '.join(froms)}"


def input_params(fn: cst.FunctionDef) -> list[cst.Param]:
    params = [*fn.params.posonly_params, *fn.params.params]
    return [p for p in params[1:] if p.default is None]


def optional_inputs(fn: cst.FunctionDef) -> dict[str, Value]:
    """`forward(self, x, skip=None)` run on its own: `skip` may be a tensor or None (the
    block's users pass one), so it is unknown; the default alone explores a path they may
    never take (a decoder block whose `torch.cat([x, skip])` is skipped)."""
    params = [*fn.params.params[1:], *fn.params.kwonly_params]
    return {
        p.name.value: UNKNOWN
        for p in params
        if isinstance(p.default, cst.Name) and p.default.value == "None"
    }


def inputs_for(
    interp: Interpreter, name: str, fn: cst.FunctionDef, params: list[cst.Param], chunk: Chunk
) -> tuple[list[Value] | None, str]:
    configured = interp.settings.input_shapes.get(name)
    if configured:
        return [Tensor(shape_of_spec(spec), ASSUMED_FLOAT32) for spec in configured], "config"
    annotated = [_annotation_input(p) for p in params]
    if params and all(a is not None for a in annotated):
        return list(annotated), "annotation"
    span = recorder_of(interp).span(chunk, fn.name)
    if span is not None:
        got = comment_inputs(interp, span.start_line, len(params), fn)
        if got is not None:
            return got, "comment"
    return None, ""


def shape_of_spec(spec: tuple[int | str, ...]) -> Shape:
    return tuple(d if isinstance(d, int) else S.sym(str(d)) for d in spec)


def _annotation_input(p: cst.Param) -> Tensor | None:
    """`x: Float[Tensor, "batch 3 32 32"]` -> a tensor of that shape."""
    ann = p.annotation.annotation if p.annotation is not None else None
    if not isinstance(ann, cst.Subscript) or len(ann.slice) != 2:
        return None
    head = dotted(ann.value)
    if head is None:
        return None
    short = head.rsplit(".", 1)[-1]
    if short not in _JAX_DTYPES:
        return None
    spec = ann.slice[1].slice
    if not isinstance(spec, cst.Index) or not isinstance(spec.value, cst.SimpleString):
        return None
    text = spec.value.evaluated_value
    if not isinstance(text, str):
        return None
    dims: list[Dim] = []
    for tok in text.split():
        if tok.isdigit():
            dims.append(int(tok))
        elif tok.startswith(("*", "...", "#*")) or tok == "...":
            return None
        else:
            name = tok.lstrip("#_").split("=")[0]
            if not name.isidentifier():
                return None
            dims.append(S.sym(name))
    dtype = _JAX_DTYPES[short]
    if dtype is None or not short[-1].isdigit():  # Float, Int, Shaped: any width, any dtype
        dtype = AssumedDtype(dtype or "float32")
    return Tensor(tuple(dims), dtype)


def comment_inputs(
    interp: Interpreter, line: int, n: int, fn: cst.FunctionDef | None = None
) -> list[Value] | None:
    """`# shape: x=(B, 3, 32, 32), y=(B, 10)` on, above or just below the line."""
    lines = interp.parsed.lines
    for ln in (line, line - 1, line + 1):
        if not 0 <= ln < len(lines):
            continue
        m = _COMMENT.search(lines[ln])
        if m is None:
            continue
        found: dict[str, Tensor] = {}
        ordered: list[Tensor] = []
        for part in _ONE.finditer(m.group("spec")):
            dims: list[Dim] = []
            for raw in part.group("dims").split(","):
                tok = raw.strip()
                if not tok:
                    continue
                if tok.lstrip("-").isdigit():
                    dims.append(int(tok))
                elif tok.isidentifier():
                    dims.append(S.sym(tok))
                else:
                    return None
            t = Tensor(tuple(dims), ASSUMED_FLOAT32)
            ordered.append(t)
            if part.group("name"):
                found[part.group("name")] = t
        if fn is not None and found:
            names = [p.name.value for p in input_params(fn)]
            if all(nm in found for nm in names):
                return [found[nm] for nm in names]
        if len(ordered) == n:
            return list(ordered)
    return None


def discover(interp: Interpreter, mod: Value, n: int, frame: Frame) -> list[Value] | None:
    """Run quietly with placeholder inputs to learn what the first layers expect."""
    placeholders = [Tensor(None) for _ in range(n)]
    rec = recorder_of(interp)
    rec.discovery = {id(p): i for i, p in enumerate(placeholders)}
    rec.templates = {}
    rec.ranks = {}
    saved_steps = interp.steps
    try:
        rec.module_call(mod, list(placeholders), {}, None, frame)
    except Exception:
        pass
    finally:
        rec.discovery = None
        interp.steps = saved_steps
    if not rec.templates:
        return None
    renames = _renames(interp)
    out: list[Value] = []
    for i in range(n):
        rank = rec.ranks.get(i)
        if i not in rec.templates:
            out.append(Tensor(None))  # an input no first layer describes stays unknown
            continue
        shape, layer_name = rec.templates[i]
        dims = tuple(_rename(d, renames) for d in shape)  # type: ignore[attr-defined]
        exact = bool(_EXACT_RANK.match(str(layer_name)))
        if rank == -1:  # unpacked at several ranks: the layer's guess, its rank not trusted
            rank = None
        if rank is not None and not exact and len(dims) < rank:
            # (B, F) from a Linear, but the code unpacks `b, n, c = x.shape`: (B, N, F).
            extra = _EXTRA_AXES.get(rank - len(dims)) or tuple(
                f"D{k}" for k in range(1, rank - len(dims) + 1)
            )
            dims = (dims[0], *(S.sym(a) for a in extra), *dims[1:])
            exact = True
        out.append(Tensor(dims, ASSUMED_FLOAT32, assumed=not exact))
    return out


_EXTRA_AXES = {1: ("N",), 2: ("H", "W")}


# First layers whose input rank is fixed (in practice): their symbolic input is trusted fully.
_EXACT_RANK = re.compile(
    r"torch\.nn\.(Conv|ConvTranspose|MaxPool|AvgPool|AdaptiveAvgPool|AdaptiveMaxPool|LPPool"
    r"|BatchNorm|InstanceNorm)[23]d$|keras\.Input$"
)


_ROLES = {
    "B": "batch",
    "C": "channels",
    "H": "height",
    "W": "width",
    "L": "length",
    "D": "depth",
    "T": "time",
}


def _renames(interp: Interpreter) -> dict[str, str]:
    sym = interp.settings.symbols
    return {k: sym[role] for k, role in _ROLES.items() if sym.get(role, k) != k}


def _rename(d: Dim, renames: dict[str, str]) -> Dim:
    if not renames or not isinstance(d, S.Expr):
        return d
    names = S.symbols_of(d)
    out: Dim = d
    for old in names:
        if old in renames:
            out = _swap(out, old, renames[old])
    return out


def _swap(d: Dim, old: str, new: str) -> Dim:
    if not isinstance(d, S.Expr):
        return d
    total: Dim = 0
    for m, c in d.terms:
        term: Dim = c
        for a in m:
            if isinstance(a, str):
                term = S.mul(term, S.sym(new if a == old else a))
            else:
                term = S.mul(term, S.floordiv(_swap(a.num, old, new), a.den))
        total = S.add(total, term)
    return total
