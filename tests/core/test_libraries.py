"""Library code from the user's environment (issue #17): interpreter discovery, import
resolution through its folders, lazy indexes and caches, findings placed at the user's line,
the note for a library that is not installed, and timm / transformers from their real sources
(unzipped from the pinned wheels into a temporary site folder; skipped when offline)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from shape_lsp.core.analysis import environment
from shape_lsp.core.analysis.environment import Environment, discover, find_interpreter, from_paths
from shape_lsp.core.analysis.libraries import Libraries, index_source
from shape_lsp.core.analysis.library_modules import EnvironmentStore
from shape_lsp.core.api import Analyzer
from shape_lsp.core.config import Settings, settings_from_mapping
from tests.library_site import unpack


def _write(root: Path, files: dict[str, str]) -> None:
    for rel, text in files.items():
        p = root / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(textwrap.dedent(text), "utf-8")


def _analyzer(site: Path, cache: Path | None = None) -> Analyzer:
    an = Analyzer()
    an.workspace.libraries = EnvironmentStore(cache).use(from_paths([str(site)]))
    return an


LIB = {
    "mylib/__init__.py": """
        from .blocks import Block as Block
        from .layers import *
        from . import sub
    """,
    "mylib/blocks.py": """
        import torch.nn as nn
        from .layers import make_linear


        class Block(nn.Module):
            def __init__(self, d_in, d_out):
                super().__init__()
                self.fc = make_linear(d_in, d_out)

            def forward(self, x):
                return self.fc(x)
    """,
    "mylib/layers.py": """
        import torch.nn as nn

        __all__ = ["Wide", "make_linear"]


        def make_linear(a, b):
            return nn.Linear(a, b)


        class Wide(nn.Module):
            def __init__(self):
                super().__init__()
                self.fc = nn.Linear(4, 64)

            def forward(self, x):
                return self.fc(x)


        def _hidden():
            return 1


        UNUSED = [n for n in range(100)]
    """,
    "mylib/sub/__init__.py": "",
    "mylib/sub/deep.py": """
        import torch.nn as nn


        def head(n):
            return nn.Linear(8, n)
    """,
    "mylib/stubbed.pyi": "def f() -> int: ...\n",
    "mylib/both.py": "X = 1\n",
    "mylib/both.pyi": "X: int\n",
    "nspkg/inner/mod.py": "import torch.nn as nn\n\n\ndef lin():\n    return nn.Linear(2, 3)\n",
}


@pytest.fixture
def site(tmp_path: Path) -> Path:
    folder = tmp_path / "site"
    _write(folder, LIB)
    return folder


# ---------------------------------------------------------------- environment discovery


def _fake_venv(folder: Path) -> Path:
    py = folder / "bin" / "python"
    py.parent.mkdir(parents=True)
    py.write_text("")
    return py


def test_interpreter_order(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    project = tmp_path / "proj"
    project.mkdir()
    (project / "pyproject.toml").write_text("")
    dotvenv = _fake_venv(project / ".venv")
    active = _fake_venv(tmp_path / "active")
    monkeypatch.delenv("VIRTUAL_ENV", raising=False)
    assert find_interpreter(project) == (str(dotvenv), ".venv")
    monkeypatch.setenv("VIRTUAL_ENV", str(tmp_path / "active"))
    assert find_interpreter(project) == (str(active), "VIRTUAL_ENV")
    assert find_interpreter(project, editor="/e/python") == ("/e/python", "editor")
    assert find_interpreter(project, "/s/python", "/e/python") == ("/s/python", "setting")
    monkeypatch.delenv("VIRTUAL_ENV")
    (project / ".venv" / "bin" / "python").unlink()
    assert find_interpreter(project) == (sys.executable, "server")


def test_sys_path_is_asked_once_and_cached(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    env = discover(tmp_path, setting=sys.executable, cache_dir=tmp_path / "c")
    assert env.error is None and env.origin == "setting"
    assert all(os.path.isdir(p) for p in env.paths)
    stdlib = os.path.dirname(os.__file__)
    assert stdlib not in env.paths  # the standard library is modelled, not read

    def boom(*a: object, **k: object) -> None:
        raise AssertionError("the interpreter was asked again")

    monkeypatch.setattr(subprocess, "run", boom)
    again = discover(tmp_path, setting=sys.executable, cache_dir=tmp_path / "c")
    assert again.paths == env.paths


def test_bad_interpreter_is_an_error_not_a_crash(tmp_path: Path) -> None:
    env = discover(tmp_path, setting=str(tmp_path / "nope" / "python"), cache_dir=tmp_path)
    assert env.paths == () and env.error


def test_settings_python_and_library_paths() -> None:
    s, problems = settings_from_mapping({"python": ".venv", "library-paths": ["vendor"]})
    assert not problems and s.python == ".venv" and s.library_paths == ("vendor",)
    _, problems = settings_from_mapping({"python": 3})
    assert problems


# ---------------------------------------------------------------- resolution


def test_resolution(site: Path) -> None:
    libs = Libraries(from_paths([str(site)]))
    blocks = str(site / "mylib" / "blocks.py")
    layers = str(site / "mylib" / "layers.py")
    assert libs.locate("mylib.Block") == (blocks, "Block")  # `from .x import Y as Y`
    assert libs.locate("mylib.Wide") == (layers, "Wide")  # star import with __all__
    assert libs.locate("mylib._hidden") is None  # not exported by the star import
    assert libs.locate("mylib.layers._hidden") == (layers, "_hidden")
    assert libs.locate("mylib.sub") == ("", "mylib.sub")
    assert libs.locate("mylib.sub.deep.head") == (str(site / "mylib/sub/deep.py"), "head")
    assert libs.locate("nspkg.inner.mod.lin") == (str(site / "nspkg/inner/mod.py"), "lin")
    assert libs.locate("mylib.stubbed.f") == (str(site / "mylib/stubbed.pyi"), "f")  # alone
    assert libs.locate("mylib.both.X") == (str(site / "mylib/both.py"), "X")  # .py first
    assert libs.locate("nothere.x") is None
    assert libs.absolute(".layers.make_linear", blocks) == "mylib.layers.make_linear"


def test_index_is_cheap_and_slices_keep_line_numbers(site: Path) -> None:
    libs = Libraries(from_paths([str(site)]))
    path = str(site / "mylib" / "layers.py")
    text = Path(path).read_text()
    keep = libs.needed(path, {"Wide"})
    sliced = libs.slice_text(path, text, keep)
    assert len(sliced.splitlines()) == len(text.splitlines())
    assert "class Wide" in sliced and "UNUSED" not in sliced and "def _hidden" not in sliced
    ix = index_source(text)
    assert ix.exported == ("Wide", "make_linear")


def test_index_cache_on_disk(site: Path, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    first = Libraries(from_paths([str(site)]), cache)
    assert first.locate("mylib.Wide")
    assert first.indexes.reads > 0
    second = Libraries(from_paths([str(site)]), cache)
    assert second.locate("mylib.Wide")
    assert second.indexes.reads == 0  # every index came from the disk
    (site / "mylib" / "layers.py").write_text("import torch.nn as nn\n\n\nclass Other:\n    pass\n")
    os.utime(site / "mylib" / "layers.py", ns=(1, 1))
    third = Libraries(from_paths([str(site)]), cache)
    assert third.locate("mylib.Wide") is None  # the changed file was re-indexed


def test_a_library_model_is_followed_and_findings_land_on_the_users_line(
    site: Path, tmp_path: Path
) -> None:
    an = _analyzer(site, tmp_path / "cache")
    text = (
        "import torch\n"
        "from mylib import Block\n"
        "import mylib\n"
        "\n"
        "ok = Block(4, 8)\n"
        "y = ok(torch.randn(2, 4))\n"
        "bad = mylib.Wide()\n"
        "z = bad(torch.randn(2, 5))\n"
    )
    result = an.analyze(text, str(tmp_path / "user.py"))
    assert not result.internal_errors
    outputs = sorted(m.output for m in result.models if m.input_shapes)
    assert outputs in (["(2, 64)", "(2, 8)"], ["(2, 8)", "unknown"])
    assert [(f.code, f.span.start_line) for f in result.findings] == [("SH101", 7)]
    finding = result.findings[0]
    assert "mylib/layers.py:" in finding.message  # where inside the library
    assert all(f.span.start_line < len(text.splitlines()) for f in result.findings)


def test_traces_name_the_library_file(site: Path, tmp_path: Path) -> None:
    an = _analyzer(site)
    text = (
        "import torch\nfrom mylib import Block\n\n"
        "m = Block(4, 8)\ny = m(torch.randn(2, 4))\nbad = torch.nn.Linear(3, 2)(y)\n"
    )
    result = an.analyze(text, str(tmp_path / "user.py"))
    (f,) = result.findings
    assert any("mylib/blocks.py:" in step for step in f.trace), f.trace


def test_missing_library_is_said_in_the_hover(site: Path, tmp_path: Path) -> None:
    an = _analyzer(site)
    text = "import torch\nimport torchvision\n\nm = torchvision.models.resnet18()\ny = m(torch.randn(1, 3, 8, 8))\n"
    result = an.analyze(text, str(tmp_path / "user.py"))
    notes = [f for f in result.facts if f.kind == "note"]
    assert notes and "torchvision is not installed in <paths>" in notes[0].detail[0]
    assert not result.findings


def test_without_an_environment_nothing_is_read(tmp_path: Path) -> None:
    result = Analyzer().analyze("import mylib\nm = mylib.Wide()\n", str(tmp_path / "u.py"))
    assert not result.findings and not result.internal_errors


def test_environment_from_pyproject(site: Path, tmp_path: Path) -> None:
    project = tmp_path / "proj"
    project.mkdir()
    (project / "pyproject.toml").write_text(f'[tool.shape-lsp]\nlibrary-paths = ["{site}"]\n')
    user = project / "m.py"
    text = "import torch\nimport mylib\nbad = mylib.Wide()\nz = bad(torch.randn(2, 5))\n"
    user.write_text(text)
    env = {**os.environ, "SHAPE_LSP_CACHE_DIR": str(tmp_path / "c")}
    out = subprocess.run(
        [sys.executable, "-m", "shape_lsp", "check", "--no-cache", "--format", "json", str(user)],
        capture_output=True,
        text=True,
        cwd=project,
        env=env,
        timeout=120,
        check=False,
    )
    data = json.loads(out.stdout)
    codes = [d["code"] for f in data["files"] for d in f["diagnostics"]]
    assert codes == ["SH101"], out.stdout[-2000:]


def test_environment_value_is_plain() -> None:
    env = Environment("/x/python", "setting", ("/a",))
    assert env.describe() == "/x/python" and environment.from_paths(["/a"]).paths == ("/a",)


def test_settings_default_has_no_python() -> None:
    assert Settings().python is None and Settings().library_paths == ()


# ---------------------------------------------------------------- real libraries


@pytest.fixture(scope="module")
def real_site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("realsite")
    for package in ("timm", "transformers"):
        if not unpack(package, folder):
            pytest.skip(f"{package} wheel not available (offline?)")
    return folder


def test_timm_create_model_resnet50(real_site: Path, tmp_path: Path) -> None:
    an = _analyzer(real_site)
    text = (
        "import timm\nimport torch\n\n"
        'm = timm.create_model("resnet50.a1_in1k", pretrained=False, num_classes=10)\n'
        "y = m(torch.randn(2, 3, 64, 64))\n"
        'f = timm.create_model("resnet50", pretrained=False, num_classes=0)\n'
        "g = f(torch.randn(2, 3, 64, 64))\n"
        'h = timm.create_model("resnet50", features_only=True)\n'
    )
    result = an.analyze(text, str(tmp_path / "user.py"))
    models = {m.output: m.total_params for m in result.models if m.input_shapes}
    # torch: resnet50(num_classes=10) has 23,528,522 parameters; num_classes=0 drops the fc
    assert models == {"(2, 10)": 23528522, "(2, 2048)": 23508032}
    assert not result.findings


def test_transformers_config_defaults(real_site: Path, tmp_path: Path) -> None:
    an = _analyzer(real_site)
    text = (
        "import torch\nfrom transformers import BertConfig, BertModel\n\n"
        "config = BertConfig(hidden_size=128, num_attention_heads=4)\n"
        "model = BertModel(config)\n"
        "lin = torch.nn.Linear(config.hidden_size, config.vocab_size)\n"
        "x = lin(torch.randn(2, 100))\n"
    )
    result = an.analyze(text, str(tmp_path / "user.py"))
    # hidden_size from the call, vocab_size (30522) from configuration_bert.py's defaults
    (f,) = result.findings
    assert f.code == "SH101" and "in_features 128" in f.message
    lin_shapes = [x.shape for x in result.facts if x.label == "x"]
    assert lin_shapes in ([], ["unknown"])


def test_transformers_bert_forward(real_site: Path, tmp_path: Path) -> None:
    an = _analyzer(real_site)
    text = (
        "import torch\nfrom transformers import BertConfig, BertModel\n\n"
        "config = BertConfig(hidden_size=128, num_hidden_layers=2, num_attention_heads=4,"
        " intermediate_size=256)\n"
        "model = BertModel(config)\n"
        "out = model(torch.randint(0, 100, (2, 16)))\n"
        "h = out.last_hidden_state\n"
        "p = out.pooler_output\n"
        "bad = torch.nn.Linear(64, 2)(h)\n"
    )
    result = an.analyze(text, str(tmp_path / "user.py"))
    shapes = {f.label: f.shape for f in result.facts if f.kind == "tensor"}
    assert shapes["h"] == "(2, 16, 128)" and shapes["p"] == "(2, 128)"
    (m,) = [m for m in result.models if m.input_shapes]
    # torch: BertModel(that config) has 4,254,336 parameters
    assert m.total_params == 4254336
    (f,) = result.findings
    assert f.code == "SH101" and f.span.start_line == 8
    assert any("transformers/models/bert/modeling_bert.py:" in step for step in f.trace)


def test_timm_forward_features_head_and_num_features(real_site: Path, tmp_path: Path) -> None:
    an = _analyzer(real_site)
    text = (
        "import timm\nimport torch\n\n"
        'm = timm.create_model("resnet50", pretrained=False)\n'
        "f = m.forward_features(torch.randn(2, 3, 64, 64))\n"
        "h = m.forward_head(f)\n"
        "bad = torch.nn.Linear(m.num_features + 1, 3)(m.forward_head(f, pre_logits=True))\n"
    )
    result = an.analyze(text, str(tmp_path / "user.py"))
    shapes = {f.label: f.shape for f in result.facts if f.kind == "tensor"}
    assert shapes["f"] == "(2, 2048, 2, 2)" and shapes["h"] == "(2, 1000)"
    assert [(f.code, f.span.start_line) for f in result.findings] == [("SH101", 6)]
