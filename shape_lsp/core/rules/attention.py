"""MultiheadAttention, Transformer encoder/decoder layers and stacks, nn.Transformer and
F.scaled_dot_product_attention.

Sequence layout: (L, N, E), or (N, L, E) with batch_first, or unbatched (L, E).
MultiheadAttention returns (output, weights or None) as a Python tuple; weights are
(N, L, S) averaged over heads, (N, num_heads, L, S) otherwise.
"""

from __future__ import annotations

from shape_lsp.core.rules.arith import broadcast_all
from shape_lsp.core.rules.base import (
    Args,
    LayerValue,
    RuleCall,
    ShapeError,
    bad,
    fmt,
    fmt_shape,
    function,
    layer,
    ok,
    unknown_like,
)
from shape_lsp.core.values import shapes as S
from shape_lsp.core.values.abstract import Tensor, Value
from shape_lsp.core.values.shapes import UNKNOWN, Dim, Shape


def _fwd(c: RuleCall, i: int, name: str) -> Value:
    """Forward argument i (positional) or `name` (keyword)."""
    if i < len(c.inputs):
        return c.inputs[i]
    return c.kwinputs.get(name)


def _known(n: Dim) -> Dim | None:
    return n if S.is_known(n) else None


def _validate_heads(embed: str, heads: str) -> object:
    def validate(a: Args) -> None:
        e, h = a.int(embed), a.int(heads)
        if e is not None and h is not None and h > 0 and e % h:
            raise ShapeError(
                "SH112",
                f"{embed}={e} must be divisible by {heads}={h}",
                at_constructor=True,
            )

    return validate


# ------------------------------------------------------------------------------ MultiheadAttention


def mha_params(e: Dim, kdim: Dim, vdim: Dim, bias: bool | None, bias_kv: bool | None) -> Dim:
    """Parameter count of nn.MultiheadAttention."""
    if bias is None or bias_kv is None:
        return UNKNOWN
    if S.eq(kdim, e) is True and S.eq(vdim, e) is True:
        n = S.mul(3, S.mul(e, e))
    else:
        n = S.add(S.mul(e, e), S.mul(e, S.add(kdim, vdim)))
    n = S.add(n, S.mul(e, e))  # out_proj
    if bias:
        n = S.add(n, S.mul(4, e))
    if bias_kv:
        n = S.add(n, S.mul(2, e))
    return n


def _mha_dims(a: Args) -> tuple[Dim, Dim, Dim]:
    e = a.dim("embed_dim")
    k = e if a.get("kdim") is None else a.dim("kdim")
    v = e if a.get("vdim") is None else a.dim("vdim")
    return e, k, v


def _mha_param_count(a: Args) -> Dim | None:
    e, k, v = _mha_dims(a)
    return _known(mha_params(e, k, v, a.bool("bias"), a.bool("add_bias_kv")))


def _check_embed(c: RuleCall, x: Tensor, want: Dim, what: str, arg: str) -> None:
    assert x.shape is not None
    if x.shape and S.eq(x.shape[-1], want) is False:
        c.fail(
            "SH101",
            f"{what}: expected {arg}={fmt(want)} features, but the input "
            f"{fmt_shape(x.shape)} has {fmt(x.shape[-1])}",
        )


def mha_apply(
    c: RuleCall,
    q: Value,
    k: Value,
    v: Value,
    e: Dim,
    kdim: Dim,
    vdim: Dim,
    heads: Dim,
    batch_first: bool | None,
    need_weights: Value = True,
    average: Value = True,
    extra_kv: int = 0,
    what: str = "MultiheadAttention",
) -> Value:
    """(output, weights) for query/key/value in the layer's layout."""
    if not isinstance(q, Tensor) or q.shape is None:
        dt = q.dtype if isinstance(q, Tensor) else None
        return (Tensor(None, dt), Tensor(None, dt) if need_weights is not False else None)
    if len(q.shape) not in (2, 3):
        c.fail("SH109", f"{what}: query should be 2D (unbatched) or 3D, got {fmt_shape(q.shape)}")
    batched = len(q.shape) == 3
    _check_embed(c, q, e, what, "embed_dim")
    tensors = [t for t in (k, v) if isinstance(t, Tensor) and t.shape is not None]
    for t in tensors:
        assert t.shape is not None
        if len(t.shape) != len(q.shape):
            c.fail(
                "SH109",
                f"{what}: for a {len(q.shape)}D query, key and value must be "
                f"{len(q.shape)}D too, got {fmt_shape(t.shape)}",
            )
    if isinstance(k, Tensor) and k.shape is not None:
        _check_embed(c, k, kdim, what, "kdim")
    if isinstance(v, Tensor) and v.shape is not None:
        _check_embed(c, v, vdim, what, "vdim")
    if batch_first is None and batched:
        return (Tensor(None, q.dtype), None if need_weights is False else Tensor(None, q.dtype))

    def seq_batch(t: Tensor) -> tuple[Dim, Dim]:
        assert t.shape is not None
        if not batched:
            return t.shape[0], UNKNOWN
        return (t.shape[1], t.shape[0]) if batch_first else (t.shape[0], t.shape[1])

    L, N = seq_batch(q)
    src: Dim = UNKNOWN
    if len(tensors) == 2:
        (ks, kb), (vs, vb) = seq_batch(tensors[0]), seq_batch(tensors[1])
        if S.eq(ks, vs) is False or S.eq(kb, vb) is False:
            c.fail(
                "SH112",
                f"{what}: key {fmt_shape(tensors[0].shape)} and value "
                f"{fmt_shape(tensors[1].shape)} differ in sequence or batch size",
            )
    for t in tensors:
        ts, tb = seq_batch(t)
        src = ts
        if batched and S.eq(tb, N) is False:
            c.fail(
                "SH112",
                f"{what}: query {fmt_shape(q.shape)} and key/value {fmt_shape(t.shape)} have "
                f"different batch sizes ({fmt(N)} vs {fmt(tb)})",
            )
    out: Shape = q.shape
    y = q.with_shape(out, f"{what} → {fmt_shape(out)}")
    if need_weights is False:
        return (y, None)
    if not isinstance(need_weights, bool) or not isinstance(average, bool):
        return (y, Tensor(None, q.dtype))
    s = S.add(src, extra_kv)
    w: Shape = (L, s) if average else (heads, L, s)
    if batched:
        w = (N, *w)
    c.note(f"output {fmt_shape(out)}, weights {fmt_shape(w)}")
    return (y, q.with_shape(w, "attention weights"))


@layer(
    "torch.nn.MultiheadAttention",
    sig="embed_dim, num_heads, dropout=0.0, bias=True, add_bias_kv=False, add_zero_attn=False, "
    "kdim=None, vdim=None, batch_first=False, device=None, dtype=None",
    params=_mha_param_count,
    validate=_validate_heads("embed_dim", "num_heads"),  # type: ignore[arg-type]
    has_weights=True,
    examples=[
        ok("nn.MultiheadAttention(8, 2)", (5, 3, 8), (6, 3, 8), (6, 3, 8)),
        ok("nn.MultiheadAttention(8, 2, batch_first=True)", (3, 5, 8), (3, 6, 8), (3, 6, 8)),
        ok("nn.MultiheadAttention(8, 4, kdim=4, vdim=6)", (5, 3, 8), (6, 3, 4), (6, 3, 6)),
        ok(
            "nn.MultiheadAttention(8, 2, add_bias_kv=True, add_zero_attn=True)",
            (5, 3, 8),
            (5, 3, 8),
            (5, 3, 8),
        ),
        ok("nn.MultiheadAttention(8, 2, bias=False)", (5, 8), (6, 8), (6, 8)),
        bad("nn.MultiheadAttention(8, 2)", (5, 3, 8), (6, 4, 8), (6, 4, 8), "SH112"),
    ],
)
def multihead_attention(c: RuleCall) -> Value:
    """Attention of query over key/value; (output, weights)."""
    a = c.args
    e, kd, vd = _mha_dims(a)
    extra = (1 if a.bool("add_bias_kv") else 0) + (1 if a.bool("add_zero_attn") else 0)
    return mha_apply(
        c,
        _fwd(c, 0, "query"),
        _fwd(c, 1, "key"),
        _fwd(c, 2, "value"),
        e,
        kd,
        vd,
        a.dim("num_heads"),
        a.bool("batch_first"),
        True
        if len(c.inputs) <= 4 and "need_weights" not in c.kwinputs
        else _fwd(c, 4, "need_weights"),
        True
        if len(c.inputs) <= 6 and "average_attn_weights" not in c.kwinputs
        else _fwd(c, 6, "average_attn_weights"),
        extra,
    )


# ------------------------------------------------------------------------------ Transformer layers

_LAYER_SIG = (
    "d_model, nhead, dim_feedforward=2048, dropout=0.1, activation='relu', layer_norm_eps=1e-05, "
    "batch_first=False, norm_first=False, bias=True, device=None, dtype=None"
)


def _block_params(a: Args, attentions: int, norms: int) -> Dim | None:
    e, f, bias = a.dim("d_model"), a.dim("dim_feedforward"), a.bool("bias")
    if bias is None:
        return None
    n = S.mul(attentions, mha_params(e, e, e, bias, False))
    n = S.add(n, S.mul(2, S.mul(e, f)))
    if bias:
        n = S.add(n, S.add(f, e))
    n = S.add(n, S.mul(norms * (2 if bias else 1), e))
    return _known(n)


def _seq_template(a: Args) -> Shape | None:
    bf = a.bool("batch_first")
    if bf is None:
        return None
    b, t = S.sym("B"), S.sym("L")
    return (b, t, a.dim("d_model")) if bf else (t, b, a.dim("d_model"))


def _check_seq(c: RuleCall, x: Tensor, e: Dim, what: str) -> None:
    assert x.shape is not None
    if len(x.shape) not in (2, 3):
        c.fail("SH109", f"{what}: expected a 2D (unbatched) or 3D input, got {fmt_shape(x.shape)}")
    if S.eq(x.shape[-1], e) is False:
        c.fail(
            "SH101",
            f"{what}(d_model={fmt(e)}) gets {fmt_shape(x.shape)}: the last dimension must "
            f"be d_model",
        )


def _batch_of(x: Tensor, bf: bool | None) -> Dim:
    assert x.shape is not None
    if len(x.shape) != 3 or bf is None:
        return UNKNOWN
    return x.shape[0] if bf else x.shape[1]


def encoder_layer_apply(c: RuleCall, a: Args, x: Value, what: str) -> Value:
    """Self-attention + feed-forward block: the shape is kept."""
    if not isinstance(x, Tensor) or x.shape is None:
        return unknown_like(x if isinstance(x, Tensor) else None)
    _check_seq(c, x, a.dim("d_model"), what)
    return x.with_shape(x.shape, what)


def decoder_layer_apply(c: RuleCall, a: Args, tgt: Value, memory: Value, what: str) -> Value:
    """Self-attention over tgt, cross-attention over memory: tgt's shape is kept."""
    if not isinstance(tgt, Tensor) or tgt.shape is None:
        return unknown_like(tgt if isinstance(tgt, Tensor) else None)
    e, bf = a.dim("d_model"), a.bool("batch_first")
    _check_seq(c, tgt, e, what)
    if isinstance(memory, Tensor) and memory.shape is not None:
        _check_seq(c, memory, e, what + " memory")
        if len(memory.shape) != len(tgt.shape):
            c.fail(
                "SH109",
                f"{what}: tgt {fmt_shape(tgt.shape)} and memory {fmt_shape(memory.shape)} "
                "must both be batched (3D) or unbatched (2D)",
            )
        if S.eq(_batch_of(tgt, bf), _batch_of(memory, bf)) is False:
            c.fail(
                "SH112",
                f"{what}: tgt {fmt_shape(tgt.shape)} and memory {fmt_shape(memory.shape)} "
                "have different batch sizes",
            )
    return tgt.with_shape(tgt.shape, what)


@layer(
    "torch.nn.TransformerEncoderLayer",
    sig=_LAYER_SIG,
    params=lambda a: _block_params(a, 1, 2),
    template=_seq_template,
    validate=_validate_heads("d_model", "nhead"),  # type: ignore[arg-type]
    has_weights=True,
    examples=[
        ok("nn.TransformerEncoderLayer(8, 2, 16)", (5, 3, 8)),
        ok("nn.TransformerEncoderLayer(8, 2, 16, batch_first=True, norm_first=True)", (3, 5, 8)),
        ok("nn.TransformerEncoderLayer(8, 4, 32, bias=False)", (5, 8)),
        ok("nn.TransformerEncoderLayer(d_model=16, nhead=4, dim_feedforward=8)", (2, 2, 16)),
        bad("nn.TransformerEncoderLayer(8, 2, 16, norm_first=True)", (5, 3, 9), "SH101"),
    ],
)
def transformer_encoder_layer(c: RuleCall) -> Value:
    """nn.TransformerEncoderLayer(src)."""
    return encoder_layer_apply(c, c.args, _fwd(c, 0, "src"), "TransformerEncoderLayer")


@layer(
    "torch.nn.TransformerDecoderLayer",
    sig=_LAYER_SIG,
    params=lambda a: _block_params(a, 2, 3),
    validate=_validate_heads("d_model", "nhead"),  # type: ignore[arg-type]
    has_weights=True,
    examples=[
        ok("nn.TransformerDecoderLayer(8, 2, 16)", (5, 3, 8), (6, 3, 8)),
        ok("nn.TransformerDecoderLayer(8, 2, 16, batch_first=True)", (3, 5, 8), (3, 6, 8)),
        ok("nn.TransformerDecoderLayer(8, 2, 16, bias=False, norm_first=True)", (5, 8), (6, 8)),
        bad("nn.TransformerDecoderLayer(8, 2, 16)", (5, 3, 8), (6, 2, 8), "SH112"),
        bad("nn.TransformerDecoderLayer(8, 2, 16)", (5, 3, 8), (6, 3, 7), "SH101"),
    ],
)
def transformer_decoder_layer(c: RuleCall) -> Value:
    """nn.TransformerDecoderLayer(tgt, memory)."""
    return decoder_layer_apply(
        c, c.args, _fwd(c, 0, "tgt"), _fwd(c, 1, "memory"), "TransformerDecoderLayer"
    )


# ------------------------------------------------------------------------------ stacks


def _sub_params(v: Value) -> Dim | None:
    """Parameter count of a constructed sub-layer (None: unknown); None → 0."""
    if v is None:
        return 0
    if isinstance(v, LayerValue) and v.rule.params is not None:
        return v.rule.params(Args(v.args))
    return None


def _stack_params(which: str) -> object:
    def params(a: Args) -> Dim | None:
        per, n, norm = _sub_params(a.get(which)), a.int("num_layers"), _sub_params(a.get("norm"))
        if per is None or n is None or norm is None:
            return None
        return _known(S.add(S.mul(n, per), norm))

    return params


def _run_sub(c: RuleCall, v: Value, inputs: tuple[Value, ...], kw: dict[str, Value]) -> Value:
    """Apply a constructed layer's rule; unknown for anything else."""
    if not isinstance(v, LayerValue):
        return Tensor(None, inputs[0].dtype if isinstance(inputs[0], Tensor) else None)
    rc = RuleCall(Args(v.args), inputs, kw, c.notes, v.type_name, c.warnings)
    out = v.rule.forward(rc)
    return out[0] if isinstance(out, tuple) else out


def _sub_template(which: str) -> object:
    def template(a: Args) -> Shape | None:
        v = a.get(which)
        if isinstance(v, LayerValue) and v.rule.template is not None:
            return v.rule.template(Args(v.args))
        return None

    return template


@layer(
    "torch.nn.TransformerEncoder",
    sig="encoder_layer, num_layers, norm=None, enable_nested_tensor=True, mask_check=True",
    params=_stack_params("encoder_layer"),  # type: ignore[arg-type]
    template=_sub_template("encoder_layer"),  # type: ignore[arg-type]
    has_weights=True,
)
def transformer_encoder(c: RuleCall) -> Value:
    """num_layers copies of the encoder layer, then the optional norm."""
    x = _fwd(c, 0, "src")
    if c.args.int("num_layers") == 0:
        return x
    y = _run_sub(c, c.args.get("encoder_layer"), (x,), {})
    if c.args.get("norm") is not None:
        y = _run_sub(c, c.args.get("norm"), (y,), {})
    return y


@layer(
    "torch.nn.TransformerDecoder",
    sig="decoder_layer, num_layers, norm=None",
    params=_stack_params("decoder_layer"),  # type: ignore[arg-type]
    has_weights=True,
)
def transformer_decoder(c: RuleCall) -> Value:
    """num_layers copies of the decoder layer, then the optional norm."""
    tgt, memory = _fwd(c, 0, "tgt"), _fwd(c, 1, "memory")
    if c.args.int("num_layers") == 0:
        return tgt
    y = _run_sub(c, c.args.get("decoder_layer"), (tgt, memory), {})
    if c.args.get("norm") is not None:
        y = _run_sub(c, c.args.get("norm"), (y,), {})
    return y


def _transformer_params(a: Args) -> Dim | None:
    if a.get("custom_encoder") is not None or a.get("custom_decoder") is not None:
        return None
    ne, nd, bias = a.int("num_encoder_layers"), a.int("num_decoder_layers"), a.bool("bias")
    enc, dec = _block_params(a, 1, 2), _block_params(a, 2, 3)
    if ne is None or nd is None or enc is None or dec is None or bias is None:
        return None
    norms = S.mul(2 * (2 if bias else 1), a.dim("d_model"))
    return _known(S.add(S.add(S.mul(ne, enc), S.mul(nd, dec)), norms))


@layer(
    "torch.nn.Transformer",
    sig="d_model=512, nhead=8, num_encoder_layers=6, num_decoder_layers=6, "
    "dim_feedforward=2048, dropout=0.1, activation='relu', custom_encoder=None, "
    "custom_decoder=None, layer_norm_eps=1e-05, batch_first=False, norm_first=False, "
    "bias=True, device=None, dtype=None",
    params=_transformer_params,
    validate=_validate_heads("d_model", "nhead"),  # type: ignore[arg-type]
    has_weights=True,
    examples=[
        ok("nn.Transformer(8, 2, 1, 1, 16)", (5, 3, 8), (4, 3, 8)),
        ok("nn.Transformer(8, 2, 2, 1, 16, batch_first=True)", (3, 5, 8), (3, 4, 8)),
        ok("nn.Transformer(8, 2, 1, 1, 16)", (5, 8), (4, 8)),
        bad("nn.Transformer(8, 2, 1, 1, 16)", (5, 3, 8), (4, 2, 8), "SH112"),
        bad("nn.Transformer(8, 2, 1, 1, 16)", (5, 3, 8), (4, 3, 7), "SH101"),
    ],
)
def transformer(c: RuleCall) -> Value:
    """Encoder over src, decoder over tgt: the output has tgt's shape."""
    a = c.args
    src, tgt = _fwd(c, 0, "src"), _fwd(c, 1, "tgt")
    e, bf = a.dim("d_model"), a.bool("batch_first")
    if not isinstance(tgt, Tensor) or tgt.shape is None:
        return unknown_like(tgt if isinstance(tgt, Tensor) else None)
    if isinstance(src, Tensor) and src.shape is not None:
        same_rank = len(src.shape) == 3 and len(tgt.shape) == 3
        if same_rank and S.eq(_batch_of(src, bf), _batch_of(tgt, bf)) is False:
            c.fail(
                "SH112",
                f"Transformer: the batch sizes of src {fmt_shape(src.shape)} and tgt "
                f"{fmt_shape(tgt.shape)} must be equal",
            )
        for t in (src, tgt):
            assert t.shape is not None
            if t.shape and S.eq(t.shape[-1], e) is False:
                c.fail(
                    "SH101",
                    f"Transformer(d_model={fmt(e)}): the feature number of src "
                    f"{fmt_shape(src.shape)} and tgt {fmt_shape(tgt.shape)} must equal d_model",
                )
        encoder_layer_apply(c, a, src, "Transformer encoder")
    return decoder_layer_apply(c, a, tgt, src, "Transformer")


# ------------------------------------------------------------------------------ SDPA


@function(
    "torch.nn.functional.scaled_dot_product_attention",
    sig="query, key, value, attn_mask=None, dropout_p=0.0, is_causal=False, scale=None, "
    "enable_gqa=False",
)
def sdpa(c: RuleCall) -> Value:
    """softmax(q @ k^T) @ v: (..., L, E) x (..., S, E) x (..., S, Ev) → (..., L, Ev)."""
    a = c.args
    q, k, v = a.tensor("query"), a.tensor("key"), a.tensor("value")
    if q is None or k is None or v is None or q.shape is None:
        return unknown_like(q)
    if k.shape is None or v.shape is None:
        return Tensor(None, q.dtype)
    what = "scaled_dot_product_attention"
    for t in (q, k, v):
        assert t.shape is not None
        if len(t.shape) < 2:
            c.fail(
                "SH109",
                f"{what}: query, key and value must be at least 2D, got {fmt_shape(t.shape)}",
            )
    dts = {t.dtype for t in (q, k, v)}
    if None not in dts and len(dts) > 1:
        c.fail(
            "SH110",
            f"{what}: query, key and value must have the same dtype, got "
            f"{q.dtype}, {k.dtype} and {v.dtype}",
        )
    if S.eq(q.shape[-1], k.shape[-1]) is False:
        c.fail(
            "SH107",
            f"{what}: query {fmt_shape(q.shape)} and key {fmt_shape(k.shape)} have different "
            f"feature sizes ({fmt(q.shape[-1])} vs {fmt(k.shape[-1])})",
        )
    if S.eq(k.shape[-2], v.shape[-2]) is False:
        c.fail(
            "SH107",
            f"{what}: key {fmt_shape(k.shape)} and value {fmt_shape(v.shape)} have different "
            f"sequence lengths ({fmt(k.shape[-2])} vs {fmt(v.shape[-2])})",
        )
    qb, kb, vb = q.shape[:-2], k.shape[:-2], v.shape[:-2]
    gqa = a.get("enable_gqa")
    if gqa is True:
        if len(qb) < 1 or len(kb) < 1 or len(vb) < 1:
            return Tensor(None, q.dtype)
        hq, hk = qb[-1], kb[-1]
        if isinstance(hq, int) and isinstance(hk, int) and hk and hq % hk:
            c.fail("SH112", f"{what}: key/value heads {hk} must divide query heads {hq}")
        batch = broadcast_all(c, [qb[:-1], kb[:-1], vb[:-1]], what)
        batch = (*batch, hq)
    elif gqa is False:
        batch = broadcast_all(c, [qb, kb, vb], what)
    else:
        return Tensor(None, q.dtype)
    out = (*batch, q.shape[-2], v.shape[-1])
    mask = a.tensor("attn_mask")
    if mask is not None and mask.shape is not None:
        broadcast_all(c, [mask.shape, (*batch, q.shape[-2], k.shape[-2])], what + " attn_mask")
    c.note(f"{fmt_shape(q.shape)} · {fmt_shape(k.shape)} · {fmt_shape(v.shape)} → {fmt_shape(out)}")
    return q.with_shape(out, f"{what} → {fmt_shape(out)}")
