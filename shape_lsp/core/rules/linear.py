"""Linear, Bilinear, Identity."""

from __future__ import annotations

from shape_lsp.core.rules.base import (
    Args,
    FixHint,
    RuleCall,
    bad,
    fmt,
    fmt_shape,
    layer,
    ok,
    unknown_like,
)
from shape_lsp.core.values import shapes as S
from shape_lsp.core.values.abstract import Value
from shape_lsp.core.values.shapes import Dim, Shape


def _linear_params(a: Args) -> Dim | None:
    fin, fout = a.dim("in_features"), a.dim("out_features")
    n = S.mul(fin, fout)
    if a.bool("bias") is not False:
        n = S.add(n, fout)
    return n if S.is_known(n) else None


def _linear_template(a: Args) -> Shape | None:
    return (S.sym("B"), a.dim("in_features"))


@layer(
    "torch.nn.Linear",
    sig="in_features, out_features, bias=True, device=None, dtype=None",
    params=_linear_params,
    template=_linear_template,
    has_weights=True,
    examples=[
        ok("nn.Linear(20, 30)", (4, 20)),
        ok("nn.Linear(20, 30)", (4, 7, 20)),
        ok("nn.Linear(20, 30)", (20,)),
        ok("nn.Linear(20, 30, bias=False)", (2, 3, 4, 20)),
        bad("nn.Linear(20, 30)", (4, 21), "SH101"),
        bad("nn.Linear(400, 10)", (4, 16, 5, 5), "SH101"),
    ],
)
def linear(c: RuleCall) -> Value:
    """y = x A^T + b over the last dimension."""
    x = c.tensor()
    fin, fout = c.args.dim("in_features"), c.args.dim("out_features")
    if x is None or x.shape is None:
        return unknown_like(x)
    if not x.shape:
        c.fail("SH109", "Linear expects at least a 1D input, got a 0D tensor")
    last = x.shape[-1]
    if S.eq(last, fin) is False:
        flat = S.numel(x.shape[1:]) if len(x.shape) > 2 else None
        if flat is not None and S.eq(flat, fin) is True:
            c.fail(
                "SH101",
                f"Linear(in_features={fmt(fin)}) gets {fmt_shape(x.shape)}: the last dimension "
                f"is {fmt(last)}; flattening dims 1.. would give {fmt(flat)}, "
                "so a Flatten is missing",
                FixHint("insert_flatten"),
            )
        if flat is not None and S.is_known(flat):
            # Rank > 2 and even flattened it does not fit: flatten and fix in_features.
            c.fail(
                "SH101",
                f"Linear(in_features={fmt(fin)}) gets {fmt_shape(x.shape)}: "
                f"last dimension {fmt(last)} != in_features {fmt(fin)} "
                f"(flattened it would be {fmt(flat)})",
                FixHint("insert_flatten", "in_features", flat),
            )
        c.fail(
            "SH101",
            f"Linear(in_features={fmt(fin)}) gets {fmt_shape(x.shape)}: "
            f"last dimension {fmt(last)} != in_features {fmt(fin)}",
            FixHint("set_arg", "in_features", last),
        )
    c.note(f"out = (*, {fmt(fin)}) → (*, {fmt(fout)})")
    return x.with_shape((*x.shape[:-1], fout))


def _bilinear_params(a: Args) -> Dim | None:
    n = S.product([a.dim("in1_features"), a.dim("in2_features"), a.dim("out_features")])
    if a.bool("bias") is not False:
        n = S.add(n, a.dim("out_features"))
    return n if S.is_known(n) else None


@layer(
    "torch.nn.Bilinear",
    sig="in1_features, in2_features, out_features, bias=True, device=None, dtype=None",
    params=_bilinear_params,
    has_weights=True,
    examples=[
        ok("nn.Bilinear(5, 6, 7)", (3, 5), (3, 6)),
        bad("nn.Bilinear(5, 6, 7)", (3, 5), (3, 5), "SH101"),
        bad("nn.Bilinear(5, 6, 7)", (3, 5), (1, 6), "SH108"),
        bad("nn.Bilinear(5, 6, 7)", (2, 3, 5), (3, 6), "SH108"),
    ],
)
def bilinear(c: RuleCall) -> Value:
    """y = x1^T A x2 + b."""
    x1, x2 = c.tensor(0), c.tensor(1)
    if x1 is None or x2 is None or x1.shape is None or x2.shape is None:
        return unknown_like(x1)
    for x, name in ((x1, "in1_features"), (x2, "in2_features")):
        if x.shape and S.eq(x.shape[-1], c.args.dim(name)) is False:
            c.fail(
                "SH101",
                f"Bilinear({name}={fmt(c.args.dim(name))}) gets {fmt_shape(x.shape)}",
                FixHint("set_arg", name, x.shape[-1]),
            )
    # torch: same rank, same leading (batch) dims, no broadcasting
    lead1, lead2 = x1.shape[:-1], x2.shape[:-1]
    if len(lead1) != len(lead2) or any(
        S.eq(a, b) is False for a, b in zip(lead1, lead2, strict=True)
    ):
        c.fail(
            "SH108",
            f"Bilinear inputs {fmt_shape(x1.shape)} and {fmt_shape(x2.shape)} differ "
            "outside the feature dimension",
        )
    return x1.with_shape((*x1.shape[:-1], c.args.dim("out_features")))


@layer(
    "torch.nn.Identity",
    sig="*args, **kwargs",
    params=lambda a: 0,
    examples=[ok("nn.Identity()", (2, 3, 4))],
)
def identity(c: RuleCall) -> Value:
    """Returns its input."""
    return c.inputs[0] if c.inputs else unknown_like(None)
