"""Keras recurrent layers (SimpleRNN, LSTM, GRU) and the wrappers Bidirectional, TimeDistributed.

Inputs are (batch, timesteps, features). return_sequences keeps the time axis; return_state
returns [output, *states] (LSTM: h and c; GRU / SimpleRNN: h).
"""

from __future__ import annotations

from shape_lsp.core.rules.base import Args, LayerValue, RuleCall, bad, fmt_shape, ok, unknown_like
from shape_lsp.core.rules.keras_base import (
    KW,
    B,
    build,
    built_dim,
    keras_layer,
    known,
    out,
    template_or,
)
from shape_lsp.core.values import shapes as S
from shape_lsp.core.values.abstract import Tensor, Value
from shape_lsp.core.values.shapes import Dim

RNN_SIG = (
    "units, activation='tanh', recurrent_activation='sigmoid', use_bias=True, "
    "kernel_initializer='glorot_uniform', recurrent_initializer='orthogonal', "
    "bias_initializer='zeros', unit_forget_bias=True, kernel_regularizer=None, "
    "recurrent_regularizer=None, bias_regularizer=None, activity_regularizer=None, "
    "kernel_constraint=None, recurrent_constraint=None, bias_constraint=None, dropout=0.0, "
    "recurrent_dropout=0.0, seed=None, return_sequences=False, return_state=False, "
    "go_backwards=False, stateful=False, unroll=False, reset_after=True, use_cudnn='auto', " + KW
)
_GATES = {"SimpleRNN": 1, "LSTM": 4, "GRU": 3}
_STATES = {"SimpleRNN": 1, "LSTM": 2, "GRU": 1}


def _rnn_params(kind: str) -> object:
    def count(a: Args) -> Dim | None:
        fin, units = built_dim(a, -1), a.dim("units")
        if not isinstance(fin, int) or not isinstance(units, int):
            return None
        g = _GATES[kind]
        n = g * units * (fin + units)
        if a.bool("use_bias") is not False:
            twice = kind == "GRU" and a.bool("reset_after") is not False
            n += g * units * (2 if twice else 1)
        return n

    return count


def rnn_forward(kind: str, c: RuleCall) -> Value:
    """(B, T, F) → (B, units) / (B, T, units), plus states with return_state."""
    x = c.tensor()
    if x is None or x.shape is None:
        return unknown_like(x)
    if len(x.shape) != 3:
        c.fail(
            "SH109",
            f"{kind} expects a 3D input (batch, timesteps, "
            f"features), got {len(x.shape)}D {fmt_shape(x.shape)}",
        )
    build(c, x, (-1,))
    units = c.args.dim("units")
    b, t = x.shape[0], x.shape[1]
    y = out(x, (b, t, units) if c.args.bool("return_sequences") else (b, units))
    if c.args.bool("return_state"):
        state = out(x, (b, units))
        return (y, *([state] * _STATES[kind]))
    return y


_RNN_EXAMPLES = {
    "SimpleRNN": [
        ok("layers.SimpleRNN(4)", (2, 5, 3)),
        ok("layers.SimpleRNN(4, return_sequences=True)", (2, 5, 3)),
    ],
    "LSTM": [
        ok("layers.LSTM(8)", (2, 5, 3)),
        ok("layers.LSTM(8, return_sequences=True, return_state=True)", (2, 5, 3)),
        bad("layers.LSTM(8)", (2, 5), "SH109"),
    ],
    "GRU": [
        ok("layers.GRU(6, return_state=True)", (2, 5, 3)),
        ok("layers.GRU(6, reset_after=False)", (2, 5, 3)),
    ],
}

for _kind in _GATES:
    keras_layer(
        f"keras.layers.{_kind}",
        sig=RNN_SIG,
        params=_rnn_params(_kind),
        template=template_or((B, S.sym("T"), S.sym("F"))),
        examples=_RNN_EXAMPLES[_kind],
    )(lambda c, k=_kind: rnn_forward(k, c))  # type: ignore[misc]


def _inner(c: RuleCall) -> LayerValue | None:
    v = c.args.get("layer")
    return v if isinstance(v, LayerValue) else None


def _inner_call(inner: LayerValue, x: Tensor, c: RuleCall) -> Value:
    rc = RuleCall(Args(inner.args), (x,), layer_name=inner.type_name)
    got = inner.rule.forward(rc)
    c.notes.extend(rc.notes)
    c.warnings.extend(rc.warnings)
    return got


def _inner_params(a: Args) -> Dim | None:
    v = a.get("layer")
    if not isinstance(v, LayerValue) or v.rule.params is None:
        return None
    return v.rule.params(Args(v.args))


@keras_layer(
    "keras.layers.Bidirectional",
    sig="layer, merge_mode='concat', weights=None, backward_layer=None, " + KW,
    params=lambda a: known(S.mul(2, _inner_params(a) or S.UNKNOWN)),
    template=template_or((B, S.sym("T"), S.sym("F"))),
    examples=[
        ok("layers.Bidirectional(layers.LSTM(4))", (2, 5, 3)),
        ok(
            "layers.Bidirectional(layers.GRU(4, return_sequences=True), merge_mode='sum')",
            (2, 5, 3),
        ),
    ],
)
def bidirectional(c: RuleCall) -> Value:
    """A forward and a backward copy of the RNN, merged (concat doubles the features)."""
    x = c.tensor()
    inner = _inner(c)
    if x is None or inner is None:
        return unknown_like(x)
    got = _inner_call(inner, x, c)
    y, states = (got[0], got[1:]) if isinstance(got, tuple) else (got, ())
    if not isinstance(y, Tensor) or y.shape is None:
        return unknown_like(x)
    mode = c.args.get("merge_mode")
    if mode is None:
        return (y, y, *states, *states)
    if mode == "concat":
        y = out(y, (*y.shape[:-1], S.mul(2, y.shape[-1])))
    return (y, *states, *states) if states else y


@keras_layer(
    "keras.layers.TimeDistributed",
    sig="layer, " + KW,
    params=_inner_params,
    examples=[
        ok("layers.TimeDistributed(layers.Dense(8))", (2, 5, 3)),
        ok("layers.TimeDistributed(layers.Conv2D(4, 3))", (2, 5, 8, 8, 3)),
    ],
)
def time_distributed(c: RuleCall) -> Value:
    """Applies the inner layer to every timestep: (B, T, *rest) → (B, T, *inner(rest))."""
    x = c.tensor()
    inner = _inner(c)
    if x is None or x.shape is None or inner is None:
        return unknown_like(x)
    if len(x.shape) < 3:
        c.fail(
            "SH109",
            f"TimeDistributed expects an input of rank >= 3 "
            f"(batch, timesteps, ...), got {fmt_shape(x.shape)}",
        )
    step = _inner_call(inner, x.with_shape((x.shape[0], *x.shape[2:])), c)
    if isinstance(step, tuple):
        step = step[0]
    if not isinstance(step, Tensor) or step.shape is None:
        return unknown_like(x)
    return out(x, (x.shape[0], x.shape[1], *step.shape[1:]))
