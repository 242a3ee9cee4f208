"""torchvision's own installed sources, read statically (issue #17), against torchvision.

For every classification factory of the pinned torchvision, the engine's static summary of
`torchvision.models.NAME(num_classes=K)(x)` in a small user file must match torchvision's real
model: output shape, `sum(p.numel())` and the output shape of every module path both sides
report (forward hooks). Head replacement and wrong inputs give the right shapes/diagnostics.

torchvision's Python files are unzipped from its wheel (downloaded once into the git-ignored
`benchmarks/.corpus/dl/`) into a temporary site folder, which is the analysed environment; the
reference side imports the same files through a small import shim that never touches the C
extension; models are built on the `meta` device, so nothing is allocated or computed. Skips
cleanly when the wheel cannot be had. Families the interpreter does not follow yet through
torchvision's real code are listed in GAPS (strict xfails: a fix must remove them).
"""

from __future__ import annotations

import ast
import enum
import importlib
import itertools
import sys
import types
import warnings
import zipfile
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import pytest

from shape_lsp.core.analysis.environment import from_paths
from shape_lsp.core.analysis.library_modules import EnvironmentStore
from shape_lsp.core.api import Analyzer
from shape_lsp.core.results import ModelSummary
from tests.library_site import unpack, wheel

torch = pytest.importorskip("torch")

ROOT = Path(__file__).resolve().parents[2]
TV_FILES = [
    "resnet",
    "vgg",
    "alexnet",
    "squeezenet",
    "mobilenetv2",
    "mobilenetv3",
    "efficientnet",
    "mnasnet",
    "densenet",
    "shufflenetv2",
    "googlenet",
    "inception",
    "convnext",
    "vision_transformer",
]
K = 7  # num_classes, not the default, so the head must follow the argument


def _factories() -> list[str]:
    """The public lowercase builders (`__all__`) of the classification modules of the pinned
    wheel, read from the zip without unpacking or importing anything."""
    whl = wheel("torchvision")
    if whl is None:
        return []
    out: list[str] = []
    with zipfile.ZipFile(whl) as zf:
        for f in TV_FILES:
            tree = ast.parse(zf.read(f"torchvision/models/{f}.py").decode("utf-8"))
            for node in tree.body:
                if isinstance(node, ast.Assign) and any(
                    isinstance(t, ast.Name) and t.id == "__all__" for t in node.targets
                ):
                    out += [ast.literal_eval(e) for e in node.value.elts]  # type: ignore[attr-defined]
    return [n for n in out if n[:1].islower()]


FACTORIES = _factories()
# Families whose real torchvision code the interpreter does not follow to the output yet.
GAPS = {
    n
    for n in FACTORIES
    if n.startswith(
        (
            "inception",
            "googlenet",
            "convnext",
            "vit_",
        )
    )
}


def _size(name: str) -> int:
    if name.startswith("vit_"):
        return 224  # fixed positional embedding
    if name == "inception_v3":
        return 75  # its minimum
    return 64


def _params(rows: list[Any], ids: list[str], gaps: set[str] | None = None) -> list[Any]:
    """Rows as pytest params; those whose model is in `gaps` (GAPS) are strict xfails."""
    gaps = GAPS if gaps is None else gaps
    return [
        pytest.param(*r, id=i, marks=pytest.mark.xfail(strict=True, reason="not followed yet"))
        if r[0] in gaps
        else pytest.param(*r, id=i)
        for r, i in zip(rows, ids, strict=True)
    ]


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("site")
    if not unpack("torchvision", folder):
        pytest.skip("torchvision wheel not available (offline?)")
    return folder


@pytest.fixture(scope="module")
def an(site: Path) -> Analyzer:
    analyzer = Analyzer()
    analyzer.workspace.libraries = EnvironmentStore(None).use(from_paths([str(site)]))
    return analyzer


def _load_torchvision(src: Path) -> dict[str, Callable[..., Any]]:
    """torchvision.models' factories, imported from `src` with stubs for the compiled parts.

    `sys.modules` is restored afterwards, so no fake `torchvision` leaks into other tests."""
    saved = {k: v for k, v in sys.modules.items() if k.split(".")[0] == "torchvision"}

    def package(name: str, path: Path | None = None) -> types.ModuleType:
        mod = types.ModuleType(name)
        if path is not None:
            mod.__path__ = [str(path)]
        sys.modules[name] = mod
        return mod

    try:
        for k in saved:
            del sys.modules[k]
        package("torchvision", src)
        _set(
            package("torchvision.utils"),
            _log_api_usage_once=lambda obj: None,
            _make_ntuple=lambda x, n: (
                tuple(x) if isinstance(x, Iterable) else tuple(itertools.repeat(x, n))
            ),
        )
        package("torchvision.transforms", src / "transforms")
        _set(
            package("torchvision.transforms._presets"),
            ImageClassification=lambda *a, **k: None,
            InterpolationMode=enum.Enum("InterpolationMode", "NEAREST BILINEAR BICUBIC"),
        )
        _set(package("torchvision._internally_replaced_utils"), load_state_dict_from_url=None)
        ops = package("torchvision.ops", src / "ops")
        importlib.import_module("torchvision.ops.misc")
        depth = importlib.import_module("torchvision.ops.stochastic_depth")
        _set(ops, StochasticDepth=depth.StochasticDepth, stochastic_depth=depth.stochastic_depth)
        package("torchvision.models", src / "models")
        factories: dict[str, Callable[..., Any]] = {}
        for f in TV_FILES:
            mod = importlib.import_module(f"torchvision.models.{f}")
            for name in getattr(mod, "__all__", ()):
                if name[0].islower():
                    factories[name] = getattr(mod, name)
        return factories
    finally:
        for k in [k for k in sys.modules if k.split(".")[0] == "torchvision"]:
            del sys.modules[k]
        sys.modules.update(saved)


def _set(mod: types.ModuleType, **attrs: Any) -> None:
    for k, v in attrs.items():
        setattr(mod, k, v)


@pytest.fixture(scope="module")
def tv(site: Path) -> dict[str, Callable[..., Any]]:
    try:
        return _load_torchvision(site / "torchvision")
    except Exception as e:  # a layout change in torchvision: say so rather than fail obscurely
        pytest.skip(f"cannot load torchvision's model code: {e!r}")


def _analyze(an: Analyzer, body: str, name: str) -> tuple[Any, list[ModelSummary]]:
    text = "import torch\nimport torch.nn as nn\nimport torchvision\n\n" + body
    result = an.analyze(text, str(ROOT / "tests" / f"_tv_user_{name}.py"))
    assert not result.internal_errors, result.internal_errors
    return result, [m for m in result.models if m.input_shapes]


def _reference(
    factory: Callable[..., Any], size: int
) -> tuple[tuple[int, ...], int, dict[str, set[tuple[int, ...]]]]:
    """Output shape, parameter count and per-module output shapes of the real model."""
    shapes: dict[str, set[tuple[int, ...]]] = {}

    def hook(path: str) -> Callable[..., None]:
        def record(mod: Any, inp: Any, out: Any) -> None:
            if isinstance(out, torch.Tensor):
                shapes.setdefault(path, set()).add(tuple(out.shape))

        return record

    with warnings.catch_warnings(), torch.device("meta"):
        warnings.simplefilter("ignore")
        model = factory(num_classes=K).eval()
        for path, mod in model.named_modules():
            if path:
                mod.register_forward_hook(hook(path))
        with torch.no_grad():
            y = model(torch.randn(2, 3, size, size))
    return tuple(y.shape), sum(p.numel() for p in model.parameters()), shapes


def test_the_classification_families_are_listed() -> None:
    if not FACTORIES:
        pytest.skip("torchvision wheel not available (offline?)")
    for name in (
        "resnet18",
        "resnet152",
        "resnext101_64x4d",
        "wide_resnet101_2",
        "vgg19_bn",
        "alexnet",
        "mobilenet_v2",
        "mobilenet_v3_small",
        "efficientnet_b7",
        "densenet201",
        "squeezenet1_1",
        "shufflenet_v2_x2_0",
        "googlenet",
        "inception_v3",
        "mnasnet1_3",
        "convnext_large",
        "vit_h_14",
    ):
        assert name in FACTORIES


@pytest.mark.parametrize(
    "name",
    [
        pytest.param(n, marks=pytest.mark.xfail(strict=True, reason="not followed yet"))
        if n in GAPS
        else n
        for n in FACTORIES
    ],
)
def test_model_matches_torchvision(
    tv: dict[str, Callable[..., Any]], an: Analyzer, name: str
) -> None:
    assert name in tv, f"torchvision has no {name}"
    size = _size(name)
    out, params, shapes = _reference(tv[name], size)
    result, models = _analyze(
        an,
        f"model = torchvision.models.{name}(num_classes={K})\n"
        f"out = model(torch.randn(2, 3, {size}, {size}))\n",
        name,
    )
    assert not result.findings, [f.message for f in result.findings]
    assert len(models) == 1
    m = models[0]
    assert m.output == str(out)
    assert m.total_params == params
    static: dict[str, set[tuple[int | str, ...]]] = {}
    for c in m.calls:
        if c.module and c.output is not None:
            static.setdefault(c.module, set()).add(tuple(c.output))
    compared = [p for p in shapes if p in static]
    for p in compared:
        assert static[p] == shapes[p], (p, static[p], shapes[p])
    # Every module torchvision runs is also followed statically.
    assert len(compared) == len(shapes), sorted(set(shapes) - set(static))[:10]


HEADS = [
    # (factory, replacement lines using `model`, expected output)
    ("resnet18", "model.fc = nn.Linear(model.fc.in_features, 10)", "(2, 10)"),
    ("resnet50", "model.fc = nn.Identity()", "(2, 2048)"),
    (
        "resnext50_32x4d",
        "model.fc = nn.Sequential(nn.Dropout(0.2), nn.Linear(2048, 10))",
        "(2, 10)",
    ),
    (
        "mobilenet_v2",
        "model.classifier[-1] = nn.Linear(model.classifier[-1].in_features, 10)",
        "(2, 10)",
    ),
    ("mobilenet_v3_large", "model.classifier[3] = nn.Linear(1280, 10)", "(2, 10)"),
    ("efficientnet_b0", "model.classifier[1] = nn.Linear(1280, 10)", "(2, 10)"),
    ("vgg16", "model.classifier[6] = nn.Linear(4096, 10)", "(2, 10)"),
    ("alexnet", "model.classifier[-1] = nn.Linear(4096, 10)", "(2, 10)"),
    ("densenet121", "model.classifier = nn.Linear(model.classifier.in_features, 10)", "(2, 10)"),
    ("squeezenet1_1", "model.classifier[1] = nn.Conv2d(512, 10, kernel_size=1)", "(2, 10)"),
    ("convnext_tiny", "model.classifier[2] = nn.Linear(768, 10)", "(2, 10)"),
    ("vit_b_16", "model.heads.head = nn.Linear(model.heads.head.in_features, 10)", "(2, 10)"),
    ("vit_b_32", "model.heads = nn.Identity()", "(2, 768)"),
    (
        "mobilenet_v2",
        "model.features[0][0] = nn.Conv2d(1, 32, 3, 2, 1, bias=False)",
        "(2, 1000)",
    ),  # grayscale stem: fed a 1-channel input below
]


@pytest.mark.parametrize(
    ("name", "replace", "expected"),
    _params(HEADS, [f"{n}-{i}" for i, (n, _, _) in enumerate(HEADS)]),
)
def test_head_replacement(an: Analyzer, name: str, replace: str, expected: str) -> None:
    size = _size(name)
    channels = 1 if "Conv2d(1," in replace else 3
    result, models = _analyze(
        an,
        f"model = torchvision.models.{name}()\n{replace}\n"
        f"out = model(torch.randn(2, {channels}, {size}, {size}))\n",
        name,
    )
    assert not result.findings, [f.message for f in result.findings]
    assert len(models) == 1 and models[0].output == expected


WRONG_HEADS = [
    ("resnet18", "model.fc = nn.Linear(500, 10)"),
    ("resnet50", "model.fc = nn.Linear(512, 10)"),
    ("mobilenet_v2", "model.classifier[-1] = nn.Linear(1000, 10)"),
    ("efficientnet_b0", "model.classifier[1] = nn.Linear(1000, 10)"),
    ("vgg11", "model.classifier[0] = nn.Linear(512, 4096)"),
    ("densenet121", "model.classifier = nn.Linear(2048, 10)"),
    ("vit_b_16", "model.heads.head = nn.Linear(1024, 10)"),
]


@pytest.mark.parametrize(
    ("name", "replace"),
    _params(WRONG_HEADS, [f"{n}-{i}" for i, (n, _) in enumerate(WRONG_HEADS)]),
)
def test_wrong_head_is_reported_on_the_users_line(an: Analyzer, name: str, replace: str) -> None:
    size = _size(name)
    result, _ = _analyze(
        an,
        f"model = torchvision.models.{name}()\n{replace}\n"
        f"out = model(torch.randn(2, 3, {size}, {size}))\n",
        name,
    )
    codes = [(f.code, f.span.start_line) for f in result.findings]
    assert codes == [("SH101", 5)], [f.message for f in result.findings]  # the replace line


WRONG_INPUTS = [
    ("resnet18", "torch.randn(2, 1, 224, 224)", "SH102"),
    ("vgg16_bn", "torch.randn(2, 4, 64, 64)", "SH102"),
    ("efficientnet_b0", "torch.randn(2, 2, 64, 64)", "SH102"),
    ("densenet121", "torch.randn(2, 1, 64, 64)", "SH102"),
    ("vit_b_16", "torch.randn(2, 3, 64, 64)", "SH108"),  # 16 patches vs a 197-long embedding
]


@pytest.mark.parametrize(
    ("name", "x", "code"), _params(WRONG_INPUTS, [n for n, _, _ in WRONG_INPUTS], {"vit_b_16"})
)
def test_wrong_input_is_reported_at_the_users_call(
    an: Analyzer, name: str, x: str, code: str
) -> None:
    result, _ = _analyze(an, f"model = torchvision.models.{name}()\nout = model({x})\n", name)
    codes = [(f.code, f.span.start_line) for f in result.findings]
    assert codes == [(code, 5)], [f.message for f in result.findings]


def test_from_import_and_weights_argument(an: Analyzer) -> None:
    result, models = _analyze(
        an,
        "from torchvision.models import resnet34\n"
        "from torchvision import models\n"
        "a = resnet34(weights=None)\n"
        "ya = a(torch.randn(1, 3, 96, 96))\n"
        "b = models.mobilenet_v2(weights=None, num_classes=3)\n"
        "yb = b(torch.randn(4, 3, 64, 64))\n",
        "imports",
    )
    assert not result.findings
    assert sorted(m.output for m in models) == ["(1, 1000)", "(4, 3)"]


def test_get_model(an: Analyzer) -> None:
    result, models = _analyze(
        an,
        "from torchvision.models import get_model\n"
        'g = get_model("resnet18", weights=None, num_classes=3)\n'
        "y = g(torch.randn(1, 3, 32, 32))\n",
        "get_model",
    )
    assert not result.findings
    assert [m.output for m in models] == ["(1, 3)"]
