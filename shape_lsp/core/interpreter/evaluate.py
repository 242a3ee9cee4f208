"""Static evaluation of plain Python values: literals, arithmetic on ints and symbolic sizes,
tuples, comparisons and a few builtins. Nothing here knows about tensors or layers."""

from __future__ import annotations

import math
import operator
from collections.abc import Callable

import libcst as cst

from shape_lsp.core.interpreter.callables import callable_kind
from shape_lsp.core.rules.base import LayerValue
from shape_lsp.core.values import shapes as S
from shape_lsp.core.values.abstract import Value
from shape_lsp.core.values.shapes import UNKNOWN, Expr, Unknown
from shape_lsp.core.values.symbolic import SymNum, applies, number_op, rounded

MAX_LITERAL = 10**12  # sizes beyond this are treated as unknown (huge literals, fuzzing)
MAX_SEQ = 10_000


def literal(node: cst.BaseExpression) -> Value:
    """The value of a literal node, UNKNOWN when it is not one."""
    try:
        if isinstance(node, cst.Integer):
            v = int(node.value.replace("_", ""), 0)
            return v if abs(v) <= MAX_LITERAL else UNKNOWN
        if isinstance(node, cst.Float):
            return float(node.value.replace("_", ""))
        if isinstance(node, cst.SimpleString):
            fast = _plain_string(node.value)
            if fast is not None:
                return fast
        if isinstance(node, cst.SimpleString | cst.ConcatenatedString):
            text = node.evaluated_value
            return text if isinstance(text, str) else UNKNOWN
        if isinstance(node, cst.Name) and node.value in ("True", "False", "None"):
            return {"True": True, "False": False, "None": None}[node.value]
        if isinstance(node, cst.Ellipsis):
            return Ellipsis
    except (ValueError, OverflowError, SyntaxError, UnicodeError):
        return UNKNOWN
    return UNKNOWN


def _plain_string(text: str) -> str | None:
    """The value of a string literal without escapes or f/b prefixes (fast path)."""
    i = 0
    while i < len(text) and text[i] in "rRuU":
        i += 1
    if i < len(text) and text[i] in "bBfF":
        return None
    raw = i > 0 and text[0] in "rR"
    quote = text[i : i + 3] if text[i : i + 3] in ('"""', "'''") else text[i : i + 1]
    body = text[i + len(quote) : len(text) - len(quote)]
    if not raw and "\\" in body:
        return None
    return body


def _dimlike(v: Value) -> bool:
    return isinstance(v, int | Expr) and not isinstance(v, bool)


def _num(v: Value) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool)


def binop(op: str, a: Value, b: Value) -> Value:
    """Python arithmetic on constants and symbolic sizes; UNKNOWN when it cannot be done."""
    if isinstance(a, bool):
        a = int(a)
    if isinstance(b, bool):
        b = int(b)
    if applies(a, b):
        return number_op(op, a, b)
    if isinstance(a, Unknown) or isinstance(b, Unknown):
        return UNKNOWN
    if _dimlike(a) and _dimlike(b) and (isinstance(a, Expr) or isinstance(b, Expr)):
        out = _symbolic(op, a, b)
        return number_op(op, a, b) if op == "/" and isinstance(out, Unknown) else out
    if _num(a) and _num(b):
        return _numeric(op, a, b)
    if op == "+" and isinstance(a, tuple) and isinstance(b, tuple):
        return a + b
    if op == "+" and isinstance(a, list) and isinstance(b, list):
        return a + b
    if op == "+" and isinstance(a, str) and isinstance(b, str):
        return a + b
    if op == "*" and isinstance(a, tuple | list) and isinstance(b, int):
        return a * b if 0 <= len(a) * b <= MAX_SEQ else UNKNOWN
    if op == "*" and isinstance(b, tuple | list) and isinstance(a, int):
        return b * a if 0 <= len(b) * a <= MAX_SEQ else UNKNOWN
    if op == "%" and isinstance(a, str) and _plain_format_args(b):
        try:  # "denseblock%d" % (i + 1): module names built with printf-style formatting
            return a % b
        except (TypeError, ValueError, KeyError):
            return UNKNOWN
    return UNKNOWN


def _plain_format_args(b: Value) -> bool:
    plain = (int, float, str)
    return isinstance(b, plain) or (isinstance(b, tuple) and all(isinstance(x, plain) for x in b))


def _symbolic(op: str, a: Value, b: Value) -> Value:
    if op == "+":
        return S.add(a, b)
    if op == "-":
        return S.sub(a, b)
    if op == "*":
        return S.mul(a, b)
    if op == "//":
        return S.floordiv(a, b)
    if op == "/":
        q = S.exact_div(a, b)
        return UNKNOWN if isinstance(q, Unknown) else q
    return UNKNOWN


_NUMERIC: dict[str, Callable[[float, float], float]] = {
    "+": operator.add,
    "-": operator.sub,
    "*": operator.mul,
    "/": operator.truediv,
    "//": operator.floordiv,
    "%": operator.mod,
    "**": operator.pow,
}


def _numeric(op: str, a: float, b: float) -> Value:
    fn = _NUMERIC.get(op)
    if fn is None:
        return UNKNOWN
    try:
        if op == "**" and (abs(b) > 64 or abs(a) > MAX_LITERAL):
            return UNKNOWN
        v = fn(a, b)
    except (ZeroDivisionError, OverflowError, ValueError):
        return UNKNOWN
    if isinstance(v, int) and abs(v) > MAX_LITERAL:
        return UNKNOWN
    if isinstance(v, complex):
        return UNKNOWN
    return v


BINOPS: dict[type[cst.BaseBinaryOp], str] = {
    cst.Add: "+",
    cst.Subtract: "-",
    cst.Multiply: "*",
    cst.Divide: "/",
    cst.FloorDivide: "//",
    cst.Modulo: "%",
    cst.Power: "**",
    cst.MatrixMultiply: "@",
}


def compare(op: cst.BaseCompOp, a: Value, b: Value) -> Value:
    """A comparison of constants (and `is None` on anything); UNKNOWN otherwise."""
    if isinstance(op, cst.Is | cst.IsNot):
        if a is None or b is None:
            if isinstance(a, Unknown) or isinstance(b, Unknown):
                return UNKNOWN
            same = a is b
            return same if isinstance(op, cst.Is) else not same
        return UNKNOWN
    if isinstance(a, Unknown) or isinstance(b, Unknown):
        return UNKNOWN
    if isinstance(a, Expr) or isinstance(b, Expr):
        if isinstance(op, cst.Equal | cst.NotEqual) and _dimlike(a) and _dimlike(b):
            e = S.eq(a, b)
            if e is None:
                return UNKNOWN
            return e if isinstance(op, cst.Equal) else not e
        return UNKNOWN
    if not _plain(a) or not _plain(b):
        return UNKNOWN
    try:
        if isinstance(op, cst.Equal):
            return a == b
        if isinstance(op, cst.NotEqual):
            return a != b
        if isinstance(op, cst.LessThan):
            return a < b
        if isinstance(op, cst.LessThanEqual):
            return a <= b
        if isinstance(op, cst.GreaterThan):
            return a > b
        if isinstance(op, cst.GreaterThanEqual):
            return a >= b
        if isinstance(op, cst.In):
            return a in b
        if isinstance(op, cst.NotIn):
            return a not in b
    except TypeError:
        return UNKNOWN
    return UNKNOWN


def _plain(v: Value) -> bool:
    if isinstance(v, tuple | list):
        return all(_plain(x) for x in v)
    if isinstance(v, dict):
        return all(_plain(k) and _plain(x) for k, x in v.items())
    return v is None or isinstance(v, int | float | str | bool)


def truth(v: Value) -> bool | None:
    """Python truthiness of a static value, None when not static."""
    if isinstance(v, bool):
        return v
    if v is None:
        return False
    if isinstance(v, int | float | str | tuple | list | dict):
        return bool(v)
    if isinstance(v, LayerValue) or callable_kind(v) is not None:
        return True  # classes, functions, partials and layer instances are always true
    return None


def builtin(name: str, args: list[Value]) -> Value:
    """A few pure builtins / math functions over static values."""
    try:
        if len(args) == 1 and isinstance(args[0], SymNum):
            fresh = rounded(name, args[0])
            return UNKNOWN if fresh is None else fresh
        if (
            name in ("round", "math.ceil", "math.floor", "math.trunc")
            and len(args) == 1
            and isinstance(args[0], Expr)
        ):
            return args[0]
        if name in ("int", "builtins.int") and len(args) == 1:
            a = args[0]
            if _dimlike(a):
                return a
            if isinstance(a, float):
                return int(a)
            if isinstance(a, str) and a.strip().lstrip("-").isdigit():
                return int(a)
            return UNKNOWN
        if name == "float" and len(args) == 1 and _num(args[0]):
            return float(args[0])
        if name in ("min", "max") and args:
            seq = list(args[0]) if len(args) == 1 and isinstance(args[0], tuple | list) else args
            if all(_num(x) for x in seq) and seq:
                return min(seq) if name == "min" else max(seq)
            return UNKNOWN
        if name == "abs" and len(args) == 1 and _num(args[0]):
            return abs(args[0])
        if name == "len" and len(args) == 1 and isinstance(args[0], tuple | list | str | dict):
            return len(args[0])
        if name == "sum" and len(args) == 1 and isinstance(args[0], tuple | list):
            total: Value = 0
            for x in args[0]:
                total = binop("+", total, x)
            return total
        if name in ("tuple", "list") and len(args) == 1 and isinstance(args[0], tuple | list):
            return tuple(args[0]) if name == "tuple" else list(args[0])
        if name in ("tuple", "list") and not args:
            return () if name == "tuple" else []
        if name == "range" and all(isinstance(a, int) for a in args) and 1 <= len(args) <= 3:
            r = range(*args)
            return tuple(r) if len(r) <= MAX_SEQ else UNKNOWN
        if name == "sorted" and len(args) == 1 and isinstance(args[0], tuple | list):
            return sorted(args[0]) if all(_plain(x) for x in args[0]) else UNKNOWN
        if name in ("any", "all") and len(args) == 1 and isinstance(args[0], tuple | list):
            truths = [truth(x) for x in args[0]]
            decided = (True in truths) if name == "any" else (False in truths)
            if decided:
                return name == "any"
            return UNKNOWN if None in truths else name == "all"
        if name == "reversed" and len(args) == 1 and isinstance(args[0], tuple | list):
            return tuple(reversed(args[0]))
        if name == "enumerate" and len(args) == 1 and isinstance(args[0], tuple | list):
            return tuple(enumerate(args[0]))
        if name == "zip" and args and all(isinstance(a, tuple | list) for a in args):
            return tuple(zip(*args, strict=False))
        if name == "round" and len(args) == 1 and _num(args[0]):
            return round(args[0])
        if name in ("math.prod", "numpy.prod") and len(args) == 1:
            a = args[0]
            if isinstance(a, tuple | list) and all(_dimlike(x) for x in a):
                return S.product(a)
            return UNKNOWN
        if name in ("math.floor", "math.ceil", "math.trunc") and len(args) == 1 and _num(args[0]):
            if name == "math.trunc":
                return math.trunc(args[0])
            return math.floor(args[0]) if name == "math.floor" else math.ceil(args[0])
        if name == "math.sqrt" and len(args) == 1 and _num(args[0]) and args[0] >= 0:
            return math.sqrt(args[0])
    except (TypeError, ValueError, OverflowError):
        return UNKNOWN
    return UNKNOWN


BUILTIN_NAMES = frozenset(
    {
        "int",
        "float",
        "min",
        "max",
        "abs",
        "len",
        "sum",
        "tuple",
        "list",
        "range",
        "reversed",
        "enumerate",
        "zip",
        "sorted",
        "any",
        "all",
        "round",
        "print",
        "isinstance",
        "super",
        "getattr",
        "setattr",
        "hasattr",
        "dict",
        "str",
        "bool",
        "type",
        "OrderedDict",
    }
)
