"""Fresh named sizes for integers the engine cannot compute (`int(dim * 4.0)`, `math.ceil`).

Fixtures whose docstring starts with `symbolic-too:` are also analysed without their
`__main__` block, so their classes are checked with symbolic constructor arguments only: the
findings must be the same as with the concrete example (which torch confirms).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from shape_lsp.core.api import Analyzer
from shape_lsp.core.interpreter.evaluate import binop, builtin
from shape_lsp.core.values import shapes as S
from shape_lsp.core.values.symbolic import SymNum
from tests.core.test_fixtures import FILES, FIXTURES, expectations

SYMBOLIC = [p for p in FILES if p.read_text(encoding="utf-8").startswith('"""symbolic-too:')]


def _without_main(text: str) -> str:
    return text.split('\nif __name__ == "__main__":', maxsplit=1)[0] + "\n"


@pytest.mark.parametrize("path", SYMBOLIC, ids=[str(p.relative_to(FIXTURES)) for p in SYMBOLIC])
def test_symbolic_pass_finds_the_same(path: Path) -> None:
    text = _without_main(path.read_text(encoding="utf-8"))
    want, _ = expectations(text)
    result = Analyzer().analyze(text, str(path))
    got = {(f.span.start_line + 1, f.code) for f in result.findings}
    assert got == want, [f.message for f in result.findings]
    assert not result.internal_errors


def test_int_of_a_float_product_is_a_fresh_size() -> None:
    dim = S.sym("dim")
    h = builtin("int", [binop("*", dim, 4.0)])
    assert isinstance(h, S.Expr) and h != dim
    assert S.eq(S.add(h, 1), h) is False
    assert S.eq(S.mul(h, 2), h) is False
    assert S.eq(h, builtin("int", [binop("*", 4.0, dim)])) is True  # one name for a*b and b*a
    assert S.eq(h, dim) is None  # nothing claimed about its relation to anything else
    assert S.eq(h, builtin("int", [binop("*", dim, 2.0)])) is None


def test_named_numbers_stay_unknown_elsewhere() -> None:
    dim = S.sym("dim")
    r = binop("/", dim, 3)
    assert isinstance(r, SymNum) and isinstance(r, S.Unknown)
    assert S.is_known(r) is False  # type: ignore[arg-type]
    assert builtin("float", [r]) is S.UNKNOWN
    assert isinstance(builtin("round", [r]), S.Expr)
    assert isinstance(builtin("math.ceil", [binop("*", r, 0.5)]), S.Expr)
    assert builtin("int", [S.UNKNOWN]) is S.UNKNOWN
    assert builtin("math.ceil", [dim]) == dim
    assert binop("/", S.mul(dim, 3), 3) == dim  # exact division stays exact
