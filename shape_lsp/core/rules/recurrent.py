"""RNN / LSTM / GRU and their cells.

Sequence layers take (L, N, H_in), (N, L, H_in) with batch_first, or unbatched (L, H_in), and
return (output, h_n) — (output, (h_n, c_n)) for LSTM — as Python tuples:

    output: (L, N, D * H_out)    h_n: (D * num_layers, N, H_out)    c_n: (D * num_layers, N, H)

with D = 2 when bidirectional and H_out = proj_size (LSTM only) or hidden_size.
"""

from __future__ import annotations

from shape_lsp.core.rules.base import (
    Args,
    FixHint,
    RuleCall,
    ShapeError,
    bad,
    fmt,
    fmt_shape,
    layer,
    ok,
)
from shape_lsp.core.values import shapes as S
from shape_lsp.core.values.abstract import Tensor, Value
from shape_lsp.core.values.shapes import UNKNOWN, Dim, Shape

GATES = {"RNN": 1, "LSTM": 4, "GRU": 3}

_TAIL = "bias=True, batch_first=False, dropout=0.0, bidirectional=False"
SIGS = {
    "RNN": f"input_size, hidden_size, num_layers=1, nonlinearity='tanh', {_TAIL}, "
    "device=None, dtype=None",
    "LSTM": f"input_size, hidden_size, num_layers=1, {_TAIL}, proj_size=0, device=None, dtype=None",
    "GRU": f"input_size, hidden_size, num_layers=1, {_TAIL}, device=None, dtype=None",
}


def _dirs(a: Args) -> int | None:
    b = a.bool("bidirectional")
    return None if b is None else (2 if b else 1)


def _proj(a: Args) -> Dim:
    if "proj_size" not in a:
        return 0
    return a.dim("proj_size")


def _out_size(a: Args) -> Dim:
    p = _proj(a)
    if p == 0:
        return a.dim("hidden_size")
    if isinstance(p, int) and p > 0:
        return p
    return UNKNOWN


def _rnn_params(kind: str) -> object:
    def params(a: Args) -> Dim | None:
        g = GATES[kind]
        h, inp, n, d = a.dim("hidden_size"), a.dim("input_size"), a.int("num_layers"), _dirs(a)
        bias = a.bool("bias")
        p = _proj(a)
        if n is None or d is None or bias is None or not S.is_known(p):
            return None
        hr = p if p != 0 else h
        total: Dim = 0
        for i in range(n):
            in_l = inp if i == 0 else S.mul(hr, d)
            per: Dim = S.add(S.mul(S.mul(g, h), in_l), S.mul(S.mul(g, h), hr))
            if bias:
                per = S.add(per, S.mul(2 * g, h))
            if p != 0:
                per = S.add(per, S.mul(p, h))
            total = S.add(total, S.mul(d, per))
        return total if S.is_known(total) else None

    return params


def _rnn_validate(kind: str) -> object:
    def validate(a: Args) -> None:
        n, p, h = a.int("num_layers"), a.int("proj_size"), a.int("hidden_size")
        if n is not None and n <= 0:
            raise ShapeError("SH112", "num_layers must be greater than zero", at_constructor=True)
        if p is not None and p < 0:
            raise ShapeError(
                "SH112", "proj_size should be a non-negative integer", at_constructor=True
            )
        if p and h is not None and p >= h:
            raise ShapeError(
                "SH112",
                f"proj_size={p} has to be smaller than hidden_size={h}",
                at_constructor=True,
            )
        nl = a.str("nonlinearity")
        if kind == "RNN" and nl is not None and nl not in ("tanh", "relu"):
            raise ShapeError(
                "SH112", f"Unknown nonlinearity '{nl}': use 'tanh' or 'relu'", at_constructor=True
            )

    return validate


def _template(a: Args) -> Shape | None:
    bf = a.bool("batch_first")
    if bf is None:
        return None
    b, t = S.sym("B"), S.sym("L")
    return (b, t, a.dim("input_size")) if bf else (t, b, a.dim("input_size"))


def _check_hidden(
    c: RuleCall, what: str, h: Value, want: Shape, batched: bool, which: str = "hidden"
) -> None:
    if not isinstance(h, Tensor) or h.shape is None:
        return
    if len(h.shape) != len(want):
        c.fail(
            "SH109",
            f"{what}: for {'batched 3-D' if batched else 'unbatched 2-D'} input, {which} "
            f"should be {len(want)}-D, got {fmt_shape(h.shape)}",
        )
    if S.shape_eq(h.shape, want) is False:
        c.fail(
            "SH112", f"{what}: expected {which} of size {fmt_shape(want)}, got {fmt_shape(h.shape)}"
        )


def rnn_forward(c: RuleCall, kind: str) -> Value:
    """One RNN / LSTM / GRU call."""
    a = c.args
    x = c.tensor()
    hx = c.inputs[1] if len(c.inputs) > 1 else c.kwinputs.get("hx")
    dtype = x.dtype if x is not None else None
    unknown_state: Value = Tensor(None, dtype)
    if kind == "LSTM":
        unknown_state = (Tensor(None, dtype), Tensor(None, dtype))
    if x is None or x.shape is None:
        return (Tensor(None, dtype), unknown_state)
    if len(x.shape) not in (2, 3):
        c.fail(
            "SH109", f"{kind}: expected a 2D or 3D input, got {len(x.shape)}D {fmt_shape(x.shape)}"
        )
    want_in = a.dim("input_size")
    if S.eq(x.shape[-1], want_in) is False:
        c.fail(
            "SH101",
            f"{kind}(input_size={fmt(want_in)}) gets {fmt_shape(x.shape)}: input.size(-1) "
            f"must be equal to input_size, got {fmt(x.shape[-1])}",
            FixHint("set_arg", "input_size", x.shape[-1]),
        )
    batched = len(x.shape) == 3
    bf = a.bool("batch_first")
    d, n = _dirs(a), a.int("num_layers")
    h_out, h_cell = _out_size(a), a.dim("hidden_size")
    if bf is None and batched:
        return (Tensor(None, dtype), unknown_state)
    if batched:
        seq, batch = (x.shape[1], x.shape[0]) if bf else (x.shape[0], x.shape[1])
    else:
        seq, batch = x.shape[0], UNKNOWN
    if S.eq(seq, 0) is True:
        c.fail("SH112", f"{kind}: expected sequence length to be larger than 0 in RNN")
    feat = S.mul(d, h_out) if d is not None else UNKNOWN
    layers = S.mul(d, n) if d is not None and n is not None else UNKNOWN
    if batched:
        out: Shape = (batch, seq, feat) if bf else (seq, batch, feat)
        h_shape: Shape = (layers, batch, h_out)
        c_shape: Shape = (layers, batch, h_cell)
    else:
        out, h_shape, c_shape = (seq, feat), (layers, h_out), (layers, h_cell)
    if kind == "LSTM" and isinstance(hx, tuple) and len(hx) == 2:
        _check_hidden(c, kind, hx[0], h_shape, batched, "hidden[0]")
        _check_hidden(c, kind, hx[1], c_shape, batched, "hidden[1]")
    elif kind != "LSTM":
        _check_hidden(c, kind, hx, h_shape, batched)
    c.note(f"output {fmt_shape(out)}, h_n {fmt_shape(h_shape)}")
    y = x.with_shape(out, f"{kind} → {fmt_shape(out)}")
    h_n = x.with_shape(h_shape, f"{kind} h_n")
    if kind == "LSTM":
        return (y, (h_n, x.with_shape(c_shape, f"{kind} c_n")))
    return (y, h_n)


_EXAMPLES = {
    "RNN": [
        ok("nn.RNN(10, 20)", (5, 3, 10)),
        ok("nn.RNN(10, 20, 2, nonlinearity='relu', batch_first=True)", (3, 5, 10)),
        ok("nn.RNN(10, 20, bidirectional=True)", (5, 10)),
        bad("nn.RNN(10, 20)", (5, 3, 11), "SH101"),
        bad("nn.RNN(10, 20)", (5, 3, 2, 10), "SH109"),
    ],
    "LSTM": [
        ok("nn.LSTM(10, 20)", (5, 3, 10)),
        ok("nn.LSTM(10, 20, num_layers=2, batch_first=True, bidirectional=True)", (3, 5, 10)),
        ok("nn.LSTM(10, 20, proj_size=8, bidirectional=True)", (5, 3, 10)),
        ok("nn.LSTM(10, 20, 3, bias=False, proj_size=4)", (7, 10)),
        bad("nn.LSTM(10, 20, batch_first=True)", (3, 5, 12), "SH101"),
        bad("nn.LSTM(10, 20)", (10,), "SH109"),
    ],
    "GRU": [
        ok("nn.GRU(10, 20)", (5, 3, 10)),
        ok("nn.GRU(8, 16, 2, batch_first=True, dropout=0.1)", (4, 6, 8)),
        ok("nn.GRU(8, 16, bidirectional=True, bias=False)", (6, 8)),
        bad("nn.GRU(8, 16)", (6, 9), "SH101"),
    ],
}

for _kind in ("RNN", "LSTM", "GRU"):
    layer(
        f"torch.nn.{_kind}",
        sig=SIGS[_kind],
        params=_rnn_params(_kind),  # type: ignore[arg-type]
        template=_template,
        validate=_rnn_validate(_kind),  # type: ignore[arg-type]
        has_weights=True,
        family="recurrent",
        examples=_EXAMPLES[_kind],
    )(lambda c, k=_kind: rnn_forward(c, k))  # type: ignore[misc]


# ------------------------------------------------------------------------------ cells


def _cell_params(kind: str) -> object:
    def params(a: Args) -> Dim | None:
        g = GATES[kind]
        h, inp, bias = a.dim("hidden_size"), a.dim("input_size"), a.bool("bias")
        if bias is None:
            return None
        n = S.mul(S.mul(g, h), S.add(inp, h))
        if bias:
            n = S.add(n, S.mul(2 * g, h))
        return n if S.is_known(n) else None

    return params


def cell_forward(c: RuleCall, kind: str) -> Value:
    """One step: input (N, H_in) or (H_in,), hidden (N, H) or (H,)."""
    a = c.args
    x = c.tensor()
    hx = c.inputs[1] if len(c.inputs) > 1 else c.kwinputs.get("hx")
    dtype = x.dtype if x is not None else None
    if x is None or x.shape is None:
        unknown = Tensor(None, dtype)
        return (unknown, unknown) if kind == "LSTM" else unknown
    what = f"{kind}Cell"
    if len(x.shape) not in (1, 2):
        c.fail(
            "SH109", f"{what}: expected a 1D or 2D input, got {len(x.shape)}D {fmt_shape(x.shape)}"
        )
    want_in, h = a.dim("input_size"), a.dim("hidden_size")
    if S.eq(x.shape[-1], want_in) is False:
        c.fail(
            "SH101",
            f"{what}(input_size={fmt(want_in)}) gets {fmt_shape(x.shape)}: input has "
            f"inconsistent input_size {fmt(x.shape[-1])}",
            FixHint("set_arg", "input_size", x.shape[-1]),
        )
    out: Shape = (x.shape[0], h) if len(x.shape) == 2 else (h,)
    states = list(hx) if kind == "LSTM" and isinstance(hx, tuple) else [hx]
    for i, s in enumerate(states):
        _check_hidden(c, what, s, out, len(x.shape) == 2, f"hidden{i}")
    y = x.with_shape(out, f"{what} → {fmt_shape(out)}")
    return (y, x.with_shape(out, f"{what} c")) if kind == "LSTM" else y


_CELL_EXAMPLES = {
    "RNN": [
        ok("nn.RNNCell(10, 20)", (3, 10)),
        ok("nn.RNNCell(10, 20, bias=False, nonlinearity='relu')", (10,)),
        bad("nn.RNNCell(10, 20)", (3, 11), "SH101"),
    ],
    "LSTM": [
        ok("nn.LSTMCell(10, 20)", (3, 10)),
        ok("nn.LSTMCell(10, 20, bias=False)", (10,)),
        bad("nn.LSTMCell(10, 20)", (3, 4, 10), "SH109"),
    ],
    "GRU": [
        ok("nn.GRUCell(10, 20)", (3, 10)),
        bad("nn.GRUCell(10, 20)", (3, 9), "SH101"),
    ],
}

for _kind in ("RNN", "LSTM", "GRU"):
    _sig = (
        "input_size, hidden_size, bias=True, "
        + ("nonlinearity='tanh', " if _kind == "RNN" else "")
        + "device=None, dtype=None"
    )
    layer(
        f"torch.nn.{_kind}Cell",
        sig=_sig,
        params=_cell_params(_kind),  # type: ignore[arg-type]
        template=lambda a: (S.sym("B"), a.dim("input_size")),
        has_weights=True,
        family="recurrent",
        examples=_CELL_EXAMPLES[_kind],
    )(lambda c, k=_kind: cell_forward(c, k))  # type: ignore[misc]
