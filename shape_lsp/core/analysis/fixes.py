"""Turn a rule's FixHint into source edits (quick fixes) at the right places.

Edits are minimal text replacements at positions libcst gives us, so the user's formatting
and comments around them survive.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import libcst as cst

from shape_lsp.core.results import Finding, Fix, Span, TextEdit
from shape_lsp.core.rules.base import FixHint, LayerValue
from shape_lsp.core.source.names import local_name_for
from shape_lsp.core.values.abstract import Tensor

if TYPE_CHECKING:
    from shape_lsp.core.interpreter.interpret import Interpreter
    from shape_lsp.core.interpreter.module_calls import Site


def apply_fixes(text: str, findings: tuple[Finding, ...]) -> tuple[str, int]:
    """The text with each finding's preferred fix applied (`check --fix`), and how many
    were applied; a fix whose edits overlap an earlier one waits for the next pass."""
    from shape_lsp.core.source.lines import split_lines

    lines = split_lines(text)
    starts = [0]
    for ln in lines:
        starts.append(starts[-1] + len(ln))

    def offset(line: int, col: int) -> int | None:
        if not 0 <= line < len(lines) or not 0 <= col <= len(lines[line].rstrip("\r\n")):
            return None
        return starts[line] + col

    chosen: list[tuple[int, int, str]] = []
    applied = 0
    for f in findings:
        preferred = [x for x in f.fixes if x.preferred]
        if len(preferred) != 1:
            continue
        edits = []
        for e in preferred[0].edits:
            a = offset(e.span.start_line, e.span.start_col)
            b = offset(e.span.end_line, e.span.end_col)
            if a is None or b is None or b < a:
                break
            edits.append((a, b, e.new_text))
        else:
            if any(
                (a < y and x < b) or a == b == x == y for a, b, _ in edits for x, y, _ in chosen
            ):
                continue
            chosen.extend(edits)
            applied += 1
    for a, b, new in sorted(chosen, reverse=True):
        text = text[:a] + new + text[b:]
    return text, applied


def _overlap(a: int, b: int, x: int, y: int) -> bool:
    """Whether edits of [a, b) and [x, y) clash (two insertions at one place do)."""
    return (a < y and x < b) or a == b == x == y


def fixes_for(
    interp: Interpreter, hint: FixHint | None, layer: LayerValue, site: Site, x: Tensor | None
) -> tuple[Fix, ...]:
    """Fixes for a failed layer call; () when none can be made safely."""
    if hint is None:
        return ()
    try:
        if hint.kind == "set_arg":
            factors = x.factors if x is not None else None
            edit = _set_arg(interp, layer, hint.arg, hint.value, factors=factors)
            if edit is None:
                return ()
            return (Fix(f"Set {hint.arg}={edit.new_text}", (edit,), preferred=True),)
        if hint.kind == "insert_flatten":
            factors = tuple(x.shape[1:]) if x is not None and x.shape else None
            return _insert_flatten(interp, layer, site, hint, factors)
        if hint.kind == "set_padding":
            edit = _set_arg(interp, layer, "padding", hint.value, add_missing=True)
            if edit is None:
                return ()
            return (Fix(f"Set padding={hint.value!r}", (edit,)),)
    except Exception:  # a fix is a nicety: never let it break analysis
        return ()
    return ()


def _arg_node(layer: LayerValue, name: str) -> cst.Arg | None:
    call = layer.node
    if not isinstance(call, cst.Call):
        return None
    for a in call.args:
        if a.keyword is not None and a.keyword.value == name:
            return a
    names = [p.name for p in layer.rule.signature if not p.star and not p.kw_only]
    if name not in names:
        return None
    idx = names.index(name)
    positional = [a for a in call.args if a.keyword is None and not a.star]
    if any(a.star for a in call.args):
        return None
    return positional[idx] if idx < len(positional) else None


def _value_text(value: object) -> str | None:
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int | str):
        return repr(value)
    return None


def _set_arg(
    interp: Interpreter,
    layer: LayerValue,
    name: str,
    value: object,
    add_missing: bool = False,
    factors: tuple[object, ...] | None = None,
) -> TextEdit | None:
    text = _value_text(value)
    if text is None or layer.chunk is None:
        return None
    arg = _arg_node(layer, name)
    if arg is not None and factors and _written_as_product(arg.value):
        # The user wrote e.g. `16 * 4 * 4`: answer in the same form, `16 * 5 * 5`.
        ints = [f for f in factors if isinstance(f, int) and not isinstance(f, bool)]
        prod = 1
        for f in ints:
            prod *= f
        if len(ints) == len(factors) > 1 and prod == value:
            text = " * ".join(str(f) for f in ints)
    chunk = layer.chunk
    if arg is None:
        if not add_missing or not isinstance(layer.node, cst.Call):
            return None
        span = interp.rec.span(chunk, layer.node)
        if span is None:
            return None
        end = Span(span.end_line, span.end_col - 1, span.end_line, span.end_col - 1)
        sep = ", " if layer.node.args else ""
        return TextEdit(end, f"{sep}{name}={text}")
    span = interp.rec.span(chunk, arg.value)
    if span is None:
        return None
    return TextEdit(span, text)


def _written_as_product(node: cst.BaseExpression) -> bool:
    return isinstance(node, cst.BinaryOperation) and isinstance(node.operator, cst.Multiply)


def padding_fix(interp: Interpreter, operands: list[Tensor]) -> tuple[Fix, ...]:
    """A skip connection whose branch went through an unpadded, stride-1 convolution with an
    odd kernel: `padding=k//2` keeps the size, so both sides agree again."""
    for t in operands:
        if t.producer is None:
            continue
        conv, shape_in = t.producer
        if not isinstance(conv, LayerValue) or shape_in is None:
            continue
        if not conv.rule.names[0].startswith("torch.nn.Conv"):
            continue
        others = [o for o in operands if o is not t and o.shape is not None]
        n = int(conv.rule.names[0][-2])
        args = conv.args
        k = args.get("kernel_size")
        ks = (k,) * n if isinstance(k, int) else k
        stride, pad, dil = args.get("stride", 1), args.get("padding", 0), args.get("dilation", 1)
        if (
            stride not in (1, (1,) * n)
            or pad not in (0, (0,) * n)
            or dil not in (1, (1,) * n)
            or not isinstance(ks, tuple)
            or len(ks) != n
            or not all(isinstance(v, int) and v % 2 == 1 for v in ks)
        ):
            continue
        if not any(
            o.shape is not None and tuple(o.shape[-n:]) == tuple(shape_in[-n:]) for o in others
        ):
            continue
        value: object = ks[0] // 2 if len(set(ks)) == 1 else tuple(v // 2 for v in ks)
        if not isinstance(value, int):
            continue
        edit = _set_arg(interp, conv, "padding", value, add_missing=True)
        if edit is not None:
            where = conv.path or conv.type_name
            return (
                Fix(
                    f"Set padding={value} on {where} (keeps the size for the skip connection)",
                    (edit,),
                    preferred=True,
                ),
            )
    return ()


def _insert_flatten(
    interp: Interpreter,
    layer: LayerValue,
    site: Site,
    hint: FixHint,
    factors: tuple[object, ...] | None = None,
) -> tuple[Fix, ...]:
    edits: list[TextEdit] = []
    span = interp.rec.span(site.chunk, site.node)
    if span is None:
        return ()
    if site.entry:
        nn = local_name_for(interp.aliases, "torch.nn.Flatten") or "torch.nn.Flatten"
        line = (
            interp.parsed.lines[span.start_line]
            if span.start_line < len(interp.parsed.lines)
            else ""
        )
        before = line[: span.start_col]
        text = f"{nn}(),\n{before}" if before.strip() == "" else f"{nn}(), "
        edits.append(
            TextEdit(Span(span.start_line, span.start_col, span.start_line, span.start_col), text)
        )
        title = f"Insert {nn}() before this layer"
    else:
        call = site.node
        if not isinstance(call, cst.Call) or not call.args:
            return ()
        first = call.args[0].value
        if not isinstance(first, cst.Name):
            return ()
        var = first.value
        line = interp.parsed.lines[span.start_line]
        indent = line[: len(line) - len(line.lstrip())]
        torch_flatten = local_name_for(interp.aliases, "torch.flatten")
        stmt = (
            f"{var} = {torch_flatten}({var}, 1)" if torch_flatten else f"{var} = {var}.flatten(1)"
        )
        edits.append(TextEdit(Span(span.start_line, 0, span.start_line, 0), f"{indent}{stmt}\n"))
        title = f"Insert `{stmt}` before this call"
    if hint.value is not None and hint.arg:
        edit = _set_arg(interp, layer, hint.arg, hint.value, factors=factors)
        if edit is not None:
            edits.append(edit)
            title += f" and set {hint.arg}={edit.new_text}"
    return (Fix(title, tuple(edits), preferred=True),)
