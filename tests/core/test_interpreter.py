"""Interpreter behaviour: names, evaluation, control flow, inputs, findings, fixes."""

from __future__ import annotations

import textwrap

import pytest

from shape_lsp.core.api import Analyzer
from shape_lsp.core.config import settings_from_mapping
from shape_lsp.core.results import AnalysisResult, Finding

_an = Analyzer()


def run(src: str, **settings: object) -> AnalysisResult:
    s, problems = settings_from_mapping(settings or None)
    assert not problems
    return _an.analyze(textwrap.dedent(src), "<test>", s)


def codes(result: AnalysisResult) -> list[tuple[int, str]]:
    return [(f.span.start_line + 1, f.code) for f in result.findings]


def model(result: AnalysisResult, name: str) -> str:
    return {m.name: m.output for m in result.models}[name]


@pytest.mark.parametrize(
    "imports,prefix",
    [
        ("import torch.nn as nn", "nn."),
        ("from torch import nn", "nn."),
        ("import torch", "torch.nn."),
        ("import torch.nn", "torch.nn."),
        ("from torch.nn import Conv2d, Linear, Flatten, Sequential", ""),
        ("import torch.nn as tnn\nnn = tnn", "nn."),
    ],
)
def test_name_resolution_forms(imports: str, prefix: str) -> None:
    p = prefix
    src = (
        f"\n{imports}\n"
        f"net = {p}Sequential({p}Conv2d(3, 8, 3), {p}Flatten(), {p}Linear(8 * 30 * 29, 10))"
        "  # shape: (2, 3, 32, 32)\n"
    )
    r = run(src)
    assert codes(r) == [(src.count("\n"), "SH101")], r.findings


def test_import_alias_of_layer() -> None:
    r = run("""
        from torch.nn import Linear as Dense
        m = Dense(4, 5)
        import torch.nn as nn
        net = nn.Sequential(m, Dense(6, 2))  # shape: (3, 4)
    """)
    assert codes(r) == [(5, "SH101")]


def test_constants_arithmetic_and_init_params() -> None:
    r = run("""
        import torch.nn as nn
        HIDDEN = 2 ** 5
        CH = (16, 32)

        class Net(nn.Module):
            def __init__(self, c_in=3, hidden=HIDDEN, classes=10):
                super().__init__()
                self.conv = nn.Conv2d(c_in, CH[1], kernel_size=3, padding=1)
                self.pool = nn.AdaptiveAvgPool2d((1, 1))
                self.fc = nn.Linear(CH[-1], hidden)
                self.out = nn.Linear(hidden * 1, classes)

            def forward(self, x):  # shape: x=(B, 3, H, W)
                x = self.pool(self.conv(x))
                x = x.flatten(1)
                return self.out(self.fc(x))

        net = Net(classes=7)
    """)
    assert codes(r) == []
    assert model(r, "Net") == "(B, 7)"


def test_if_else_join_keeps_agreeing_dims_and_stays_silent() -> None:
    r = run("""
        import torch.nn as nn

        class Net(nn.Module):
            def __init__(self, use_bn=True):
                super().__init__()
                self.conv = nn.Conv2d(3, 8, 3)
                self.bn = nn.BatchNorm2d(8) if use_bn else None
                self.fc = nn.Linear(8, 2)

            def forward(self, x, flag):  # shape: x=(4, 3, 10, 10), flag=(1,)
                x = self.conv(x)
                if self.bn is not None:
                    x = self.bn(x)
                if flag:
                    x = x * 2
                else:
                    x = x + 1
                return x
    """)
    assert codes(r) == []
    assert model(r, "Net") == "(4, 8, 8, 8)"


def test_loops_over_range_and_modulelist_and_helper_method() -> None:
    r = run("""
        import torch.nn as nn
        import torch.nn.functional as F

        class Block(nn.Module):
            def __init__(self, c):
                super().__init__()
                self.conv = nn.Conv2d(c, c, 3, padding=1)

            def forward(self, x):
                return x + self.conv(x)

        class Net(nn.Module):
            def __init__(self, depth=3):
                super().__init__()
                self.blocks = nn.ModuleList([Block(16) for _ in range(depth)])
                self.stem = nn.Conv2d(3, 16, 3, stride=2, padding=1)
                self.heads = nn.ModuleList()
                for i in range(2):
                    self.heads.append(nn.Linear(16, 4 + i))

            def features(self, x):
                x = self.stem(x)
                for blk in self.blocks:
                    x = blk(x)
                return x

            def forward(self, x):  # shape: x=(2, 3, 32, 32)
                x = F.adaptive_avg_pool2d(self.features(x), 1).flatten(1)
                return self.heads[1](x)
    """)
    assert codes(r) == []
    assert model(r, "Net") == "(2, 5)"
    calls = [c.module for c in r.models[[m.name for m in r.models].index("Net")].calls]
    assert "blocks.2.conv" in calls and "heads.1" in calls


def test_residual_add_mismatch_is_proven() -> None:
    r = run("""
        import torch.nn as nn

        class Res(nn.Module):
            def __init__(self):
                super().__init__()
                self.conv = nn.Conv2d(8, 8, 3)

            def forward(self, x):  # shape: x=(B, 8, 16, W)
                return x + self.conv(x)
    """)
    assert codes(r) == [(10, "SH108")]


def test_symbolic_residual_is_not_proven() -> None:
    # x + conv(x) with sizes H and H - 2: torch accepts it when H == 3 (3 broadcasts with 1),
    # so nothing is proven and nothing may be reported.
    r = run("""
        import torch.nn as nn
        net = nn.Conv2d(8, 8, 3)

        def f(x):  # never called: no inputs, no findings
            return x + net(x)
    """)
    assert codes(r) == []


def test_symbolic_input_from_first_layer() -> None:
    r = run("""
        import torch.nn as nn

        class Net(nn.Module):
            def __init__(self):
                super().__init__()
                self.conv = nn.Conv2d(3, 64, 5)
                self.pool = nn.MaxPool2d(2)

            def forward(self, x):
                return self.pool(self.conv(x))
    """)
    assert model(r, "Net") == "(B, 64, H//2 - 2, W//2 - 2)"
    assert r.models[0].input_source == "symbolic"


def test_jaxtyping_annotation_input() -> None:
    r = run("""
        import torch.nn as nn
        from jaxtyping import Float
        from torch import Tensor

        class Net(nn.Module):
            def __init__(self):
                super().__init__()
                self.fc = nn.Linear(32 * 32 * 3, 10)

            def forward(self, x: Float[Tensor, "batch 3 32 32"]):
                return self.fc(x.flatten(1))
    """)
    assert model(r, "Net") == "(batch, 10)"
    assert r.models[0].input_source == "annotation"


def test_config_input_shapes_and_symbol_names() -> None:
    src = """
        import torch.nn as nn
        net = nn.Sequential(nn.Conv2d(3, 4, 3), nn.ReLU())
    """
    r = run(src, inputShapes={"net": [[5, 3, 9, 9]]})
    assert model(r, "net") == "(5, 4, 7, 7)"
    r = run(src, symbols={"batch": "N"})
    assert model(r, "net") == "(N, 4, H - 2, W - 2)"


def test_suppression_comment_and_ignore_setting() -> None:
    src = """
        import torch.nn as nn
        net = nn.Sequential(nn.Linear(4, 8), nn.Linear(9, 2))  # shape: ignore[SH101]
        net2 = nn.Sequential(nn.Linear(4, 8), nn.Linear(9, 2))
    """
    assert codes(run(src)) == [(4, "SH101")]
    assert codes(run(src, ignore=["SH101"])) == []


def test_syntax_error_keeps_other_models() -> None:
    r = run("""
        import torch.nn as nn
        good = nn.Sequential(nn.Linear(4, 8), nn.Linear(9, 2))

        def broken(:
            pass

        other = nn.Sequential(nn.Linear(3, 3), nn.Linear(2, 2))
    """)
    assert codes(r) == [(3, "SH101"), (5, "SH001"), (8, "SH101")]
    assert not r.parsed


def test_unknown_layer_and_dynamic_code_stay_silent() -> None:
    r = run("""
        import torch.nn as nn
        import mylib

        class Net(nn.Module):
            def __init__(self, **kw):
                super().__init__()
                self.body = mylib.Backbone(**kw)
                self.odd = getattr(nn, "Linear")(7, 3)
                self.fc = nn.Linear(512, 10)

            def forward(self, x):  # shape: x=(2, 3, 32, 32)
                x = self.body(x)
                x = self.odd(x)
                return self.fc(x)
    """)
    assert codes(r) == []
    assert model(r, "Net") == "unknown"


def test_unknown_torch_layer_leaves_a_note() -> None:
    r = run("""
        import torch.nn as nn
        net = nn.Sequential(nn.Linear(4, 4), nn.FancyNewLayer(4), nn.Linear(9, 2))  # shape: (2, 4)
    """)
    assert codes(r) == []
    notes = [f for f in r.facts if f.kind == "note"]
    assert notes and "FancyNewLayer" in notes[0].label


def _apply(src: str, f: Finding) -> str:
    lines = src.splitlines(keepends=True)
    edits = sorted(
        f.fixes[0].edits, key=lambda e: (e.span.start_line, e.span.start_col), reverse=True
    )
    for e in edits:
        s, t = e.span, e.span
        head = "".join(lines[: s.start_line]) + lines[s.start_line][: s.start_col]
        tail = lines[t.end_line][t.end_col :] + "".join(lines[t.end_line + 1 :])
        lines = (head + e.new_text + tail).splitlines(keepends=True)
    return "".join(lines)


def test_fix_insert_flatten_in_sequential_then_clean() -> None:
    src = textwrap.dedent("""\
        import torch.nn as nn
        net = nn.Sequential(  # shape: (2, 3, 8, 8)
            nn.Conv2d(3, 4, 3),
            nn.Linear(4 * 6 * 6, 10),
        )
    """)
    r = _an.analyze(src)
    (f,) = r.findings
    assert "Flatten" in f.fixes[0].title
    fixed = _apply(src, f)
    assert "    nn.Flatten(),\n    nn.Linear(4 * 6 * 6, 10)," in fixed
    assert _an.analyze(fixed).findings == ()


def test_fix_set_in_features_and_flatten_in_forward() -> None:
    src = textwrap.dedent("""\
        import torch
        import torch.nn as nn

        class Net(nn.Module):
            def __init__(self):
                super().__init__()
                self.conv = nn.Conv2d(3, 4, 3)
                self.fc = nn.Linear(100, 10)

            def forward(self, x):  # shape: x=(2, 3, 8, 8)
                x = self.conv(x)
                return self.fc(x)
    """)
    (f,) = _an.analyze(src).findings
    assert f.code == "SH101" and f.span.start_line == 11
    assert f.related and f.related[0].span.start_line == 7
    fixed = _apply(src, f)
    assert "        x = torch.flatten(x, 1)\n        return self.fc(x)" in fixed
    assert "nn.Linear(144, 10)" in fixed
    assert _an.analyze(fixed).findings == ()


def test_fix_keeps_the_product_form_of_in_features() -> None:
    src = textwrap.dedent("""\
        import torch
        import torch.nn as nn

        class Head(nn.Module):
            def __init__(self):
                super().__init__()
                self.conv = nn.Conv2d(3, 16, 3)
                self.fc = nn.Linear(16 * 4 * 4, 10)

            def forward(self, x):  # shape: x=(2, 3, 7, 7)
                x = torch.flatten(self.conv(x), 1)
                return self.fc(x)
    """)
    (f,) = _an.analyze(src).findings
    assert f.fixes[0].title == "Set in_features=16 * 5 * 5"
    fixed = _apply(src, f)
    assert "nn.Linear(16 * 5 * 5, 10)" in fixed
    assert _an.analyze(fixed).findings == ()


def test_fix_pads_the_conv_of_a_skip_connection() -> None:
    src = textwrap.dedent("""\
        import torch.nn as nn

        class Res(nn.Module):
            def __init__(self):
                super().__init__()
                self.conv = nn.Conv2d(16, 16, kernel_size=3)
                self.bn = nn.BatchNorm2d(16)

            def forward(self, x):  # shape: x=(2, 16, 8, 8)
                return x + self.bn(self.conv(x))
    """)
    (f,) = _an.analyze(src).findings
    assert f.code == "SH108" and "padding=1" in f.fixes[0].title
    fixed = _apply(src, f)
    assert "nn.Conv2d(16, 16, kernel_size=3, padding=1)" in fixed
    assert _an.analyze(fixed).findings == ()


def test_factories_past_an_opaque_builder_are_still_probed() -> None:
    # Five factories share a builder the engine can't follow; probing one is enough to know.
    # The old rule (stop after three misses in a row) never reached `mlp()` and its bug.
    opaque = "".join(f"def net_{k}():\n    return build(Net, {k})\n\n\n" for k in range(5))
    r = run(
        "import torch.nn as nn\n"
        "from elsewhere import build\n\n\n"
        + opaque
        + "def mlp():\n    return nn.Sequential(nn.Linear(4, 8), nn.Linear(9, 2))\n"
    )
    assert "mlp()" in {m.name for m in r.models}
    assert [c for _, c in codes(r)] == ["SH101"]
