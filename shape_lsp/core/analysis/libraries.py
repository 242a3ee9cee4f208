"""Library code from the user's environment, read the way a type checker reads it.

Absolute imports are resolved through the environment's folders (environment.py): packages,
namespace packages, `__init__` re-exports (`from .x import Y`, `from .x import *` with
`__all__`, names imported under `if TYPE_CHECKING:`), relative imports inside a library, `.pyi`
stubs only when they are all there is. Nothing is executed.

Parsing is lazy: each library file gets a cheap index (`ast`: its top-level statements, the
names each binds and reads); a resolution that reaches a definition parses only the statements
it needs (the definition and, transitively, the top-level names it reads), by blanking every
other line, so line numbers stay those of the real file. Indexes are cached on disk (keyed by
path, size and mtime; bounded; safe to delete), so a second process reads no file twice.
"""

from __future__ import annotations

import ast
import contextlib
import hashlib
import json
import os
import re
from dataclasses import dataclass
from pathlib import Path

from shape_lsp.core.analysis.environment import Environment

INDEX_FORMAT = 3
MAX_CACHE_FILES = 20_000
MAX_FOLLOW = 24


@dataclass(frozen=True)
class Stmt:
    """One top-level statement: 1-based first/last line, names bound, names read."""

    first: int
    last: int
    binds: tuple[str, ...]
    reads: tuple[str, ...]


@dataclass(frozen=True)
class FileIndex:
    """What a library file defines and imports, without parsing it with libcst."""

    stmts: tuple[Stmt, ...]
    imports: dict[str, str]  # bound name -> dotted target (relative names keep their dots)
    stars: tuple[str, ...]  # `from m import *` targets, in order
    exported: tuple[str, ...] | None  # a literal `__all__`
    registered: tuple[str, ...]  # functions decorated with a `register_model`-like decorator
    lazy: bool  # has a module-level __getattr__ (names may appear that are not listed)

    def defines(self, name: str) -> bool:
        """Whether a statement other than an import binds `name`."""
        return any(name in s.binds for s in self.stmts) and name not in self.imports


_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_REGISTERED = re.compile(r"^@(?:\w+\.)*register_model\b[^\n]*\n(?:@[^\n]*\n)*def (\w+)", re.M)


_PROSE = re.compile(r'"""[\s\S]*?"""|\'\'\'[\s\S]*?\'\'\'|#[^\n]*')


def _reads(lines: list[str], first: int, last: int) -> set[str]:
    """The identifiers in a statement's code: the names it reads and more (attribute names,
    words in short strings), found much faster than by walking its tree. Docstrings and
    comments are left out (their prose would pull in unrelated definitions)."""
    code = _PROSE.sub(" ", "".join(lines[first - 1 : last]))
    return set(_IDENT.findall(code))


def _bound(node: ast.stmt, imports: dict[str, str], stars: list[str], package: str) -> set[str]:
    """Names a top-level statement binds (descending into if/try/with blocks)."""
    out: set[str] = set()
    if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
        out.add(node.name)
    elif isinstance(node, ast.Import):
        for a in node.names:
            if a.asname:
                out.add(a.asname)
                imports[a.asname] = a.name
            else:
                top = a.name.split(".")[0]
                out.add(top)
                imports.setdefault(top, top)
    elif isinstance(node, ast.ImportFrom):
        base = "." * node.level + (node.module or "")
        for a in node.names:
            if a.name == "*":
                stars.append(base)
                continue
            name = a.asname or a.name
            out.add(name)
            sep = "" if base.endswith(".") else "."
            imports[name] = f"{base}{sep}{a.name}"
    elif isinstance(node, ast.Assign | ast.AnnAssign | ast.AugAssign):
        targets = node.targets if isinstance(node, ast.Assign) else [node.target]
        for t in targets:
            out |= {n.id for n in ast.walk(t) if isinstance(n, ast.Name)}
    elif isinstance(node, ast.If | ast.Try | ast.With | ast.For | ast.While):
        children: list[ast.stmt] = list(node.body)
        if isinstance(node, ast.If | ast.For | ast.While):
            children += node.orelse
        if isinstance(node, ast.Try):
            children += node.orelse + node.finalbody
            for h in node.handlers:
                children += h.body
        for c in children:
            out |= _bound(c, imports, stars, package)
    return out


def _decorated_by(node: ast.AST, word: str) -> bool:
    if not isinstance(node, ast.FunctionDef):
        return False
    for d in node.decorator_list:
        target = d.func if isinstance(d, ast.Call) else d
        name = target.attr if isinstance(target, ast.Attribute) else getattr(target, "id", "")
        if name == word:
            return True
    return False


def index_source(text: str) -> FileIndex:
    """A file's index (empty when it does not parse)."""
    try:
        tree = ast.parse(text)
    except (SyntaxError, ValueError, RecursionError):
        return FileIndex((), {}, (), None, (), False)
    stmts: list[Stmt] = []
    imports: dict[str, str] = {}
    stars: list[str] = []
    exported: tuple[str, ...] | None = None
    registered: list[str] = []
    lazy = False
    lines = text.splitlines(keepends=True)
    for node in tree.body:
        first = min([node.lineno] + [d.lineno for d in getattr(node, "decorator_list", [])])
        last = node.end_lineno or node.lineno
        binds = _bound(node, imports, stars, "")
        reads = _reads(lines, first, last)
        if isinstance(node, ast.ClassDef | ast.FunctionDef):
            reads.discard(node.name)
        stmts.append(Stmt(first, last, tuple(sorted(binds)), tuple(sorted(reads))))
        if isinstance(node, ast.FunctionDef) and node.name == "__getattr__":
            lazy = True
        if _decorated_by(node, "register_model"):
            registered.append(node.name)  # type: ignore[attr-defined]
        if (
            isinstance(node, ast.Assign)
            and any(isinstance(t, ast.Name) and t.id == "__all__" for t in node.targets)
            and isinstance(node.value, ast.List | ast.Tuple)
        ):
            names = [e.value for e in node.value.elts if isinstance(e, ast.Constant)]
            exported = tuple(str(n) for n in names)
    return FileIndex(tuple(stmts), imports, tuple(stars), exported, tuple(registered), lazy)


def _to_json(ix: FileIndex) -> dict[str, object]:
    return {
        "stmts": [[s.first, s.last, list(s.binds), list(s.reads)] for s in ix.stmts],
        "imports": ix.imports,
        "stars": list(ix.stars),
        "exported": list(ix.exported) if ix.exported is not None else None,
        "registered": list(ix.registered),
        "lazy": ix.lazy,
    }


def _from_json(d: dict[str, object]) -> FileIndex:
    stmts = tuple(
        Stmt(int(a), int(b), tuple(c), tuple(r))
        for a, b, c, r in d["stmts"]  # type: ignore[attr-defined]
    )
    exported = d["exported"]
    return FileIndex(
        stmts,
        dict(d["imports"]),  # type: ignore[call-overload]
        tuple(d["stars"]),  # type: ignore[arg-type]
        tuple(exported) if isinstance(exported, list) else None,
        tuple(d["registered"]),  # type: ignore[arg-type]
        bool(d["lazy"]),
    )


class IndexCache:
    """File indexes in memory and on disk (one JSON file per library file, keyed by path,
    size and mtime; pruned to MAX_CACHE_FILES oldest-first; any bad entry is recomputed)."""

    def __init__(self, folder: Path | None) -> None:
        self.folder = folder / f"index-v{INDEX_FORMAT}" if folder is not None else None
        self.memory: dict[str, tuple[str, FileIndex]] = {}
        self.reads = 0  # files indexed from source this process (for tests and benchmarks)
        self._written = 0

    @staticmethod
    def stamp(path: str) -> str | None:
        try:
            st = os.stat(path)
        except OSError:
            return None
        return f"{st.st_size}:{st.st_mtime_ns}"

    def get(self, path: str, text: str | None = None) -> FileIndex:
        """The index of `path` (its text is read when not given and not cached)."""
        stamp = self.stamp(path) or ""
        hit = self.memory.get(path)
        if hit is not None and hit[0] == stamp:
            return hit[1]
        entry = self._entry(path)
        ix: FileIndex | None = None
        if entry is not None:
            try:
                data = json.loads(entry.read_text("utf-8"))
                if data.get("path") == path and data.get("stamp") == stamp:
                    ix = _from_json(data["index"])
            except (OSError, ValueError, KeyError, TypeError, AttributeError):
                ix = None
        if ix is None:
            if text is None:
                text = read_text(path) or ""
            ix = index_source(text)
            self.reads += 1
            self._store(entry, path, stamp, ix)
        self.memory[path] = (stamp, ix)
        return ix

    def _entry(self, path: str) -> Path | None:
        if self.folder is None:
            return None
        name = hashlib.blake2b(path.encode(), digest_size=16).hexdigest()
        return self.folder / name[:2] / f"{name}.json"

    def _store(self, entry: Path | None, path: str, stamp: str, ix: FileIndex) -> None:
        if entry is None or not stamp:
            return
        try:
            entry.parent.mkdir(parents=True, exist_ok=True)
            tmp = entry.with_suffix(f".{os.getpid()}.tmp")
            tmp.write_text(json.dumps({"path": path, "stamp": stamp, "index": _to_json(ix)}))
            os.replace(tmp, entry)
            self._written += 1
            if self._written % 500 == 0:
                self.prune()
        except OSError:
            pass

    def prune(self) -> None:
        """Keep the cache bounded: drop the oldest entries beyond MAX_CACHE_FILES."""
        if self.folder is None:
            return
        try:
            files = sorted(self.folder.glob("*/*.json"), key=lambda p: p.stat().st_mtime)
        except OSError:
            return
        for f in files[: max(0, len(files) - MAX_CACHE_FILES)]:
            with contextlib.suppress(OSError):
                f.unlink()


def read_text(path: str) -> str | None:
    """A file's text (utf-8, else latin-1); None when unreadable."""
    try:
        with open(path, "rb") as fh:
            data = fh.read(8_000_000)
    except OSError:
        return None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("latin-1")


class Libraries:
    """Import resolution through an environment's folders, with lazy per-file indexes."""

    def __init__(self, env: Environment, cache_dir: Path | None = None) -> None:
        self.env = env
        self.roots = tuple(os.path.abspath(p) for p in env.paths)
        self.indexes = IndexCache(cache_dir)
        self._modules: dict[str, str | None] = {}
        self._dirs: dict[str, bool] = {}
        self._registries: dict[str, dict[str, str]] = {}

    # ------------------------------------------------------------------ modules

    def _isdir(self, path: str) -> bool:
        hit = self._dirs.get(path)
        if hit is None:
            hit = self._dirs[path] = os.path.isdir(path)
        return hit

    def module_file(self, dotted: str) -> str | None:
        """The file of a module (`pkg/__init__.py`, `mod.py`, a stub only when alone), the
        folder of a namespace package, or None when no root has it."""
        if dotted in self._modules:
            return self._modules[dotted]
        parts = dotted.split(".")
        found: str | None = None
        namespace: str | None = None
        for root in self.roots:
            base = os.path.join(root, *parts)
            for cand in (os.path.join(base, "__init__.py"), base + ".py"):
                if os.path.isfile(cand):
                    found = cand
                    break
            if found:
                break
            for cand in (os.path.join(base, "__init__.pyi"), base + ".pyi"):
                if os.path.isfile(cand):
                    found = cand
                    break
            if found:
                break
            if namespace is None and self._isdir(base) and len(parts) > 0:
                namespace = base
        out = found or namespace
        self._modules[dotted] = out
        return out

    def installed(self, top: str) -> bool:
        """Whether a top-level package or module is importable from the environment."""
        return self.module_file(top) is not None

    def module_name(self, path: str) -> str | None:
        """The dotted module name of a library file (None when under no root)."""
        full = os.path.abspath(path)
        for root in self.roots:
            if full.startswith(root + os.sep):
                rel = full[len(root) + 1 :]
                rel = rel.removesuffix(".pyi").removesuffix(".py")
                parts = rel.split(os.sep)
                if parts[-1] == "__init__":
                    parts = parts[:-1]
                return ".".join(parts)
        return None

    def owns(self, path: str) -> bool:
        """Whether `path` is a library file (under one of the roots)."""
        full = os.path.abspath(path)
        return any(full.startswith(r + os.sep) for r in self.roots)

    def absolute(self, name: str, from_path: str) -> str | None:
        """A relative import name made absolute from the library file importing it."""
        dots = len(name) - len(name.lstrip("."))
        if not dots:
            return name
        here = self.module_name(from_path)
        if here is None:
            return None
        package = here.split(".")
        if not from_path.endswith(("__init__.py", "__init__.pyi")):
            package = package[:-1]
        if dots - 1 > len(package):
            return None
        base = package[: len(package) - (dots - 1)]
        rest = name[dots:]
        return ".".join([*base, rest] if rest else base)

    # ------------------------------------------------------------------ names

    def locate(self, name: str, depth: int = 0) -> tuple[str, str] | None:
        """(file, top-level name) that defines dotted `name`, following re-exports;
        ("", module) when `name` is a module itself; None when not found statically.

        Read as attribute access from the top-level package, as Python evaluates
        `torchvision.models.alexnet`: a name the package binds beats its submodule (after
        trying the name's parent as a module, as an import statement would)."""
        if depth > MAX_FOLLOW:
            return None
        parts = name.split(".")
        if self.module_file(parts[0]) is None:
            return None
        if len(parts) > 2:
            # `from pkg.sub import X` names module pkg.sub even where pkg binds a function
            # `sub` (torchvision.ops.stochastic_depth): the import system, not getattr.
            parent = ".".join(parts[:-1])
            path = self.module_file(parent)
            if path is not None and os.path.isfile(path):
                found = self._in_module(path, parent, parts[-1], depth)
                if found is not None:
                    return found
        mod = parts[0]
        for i, attr in enumerate(parts[1:], start=1):
            path = self.module_file(mod)
            if path is None or os.path.isdir(path):
                # a namespace package: only submodules
                sub = f"{mod}.{attr}"
                if self.module_file(sub) is None:
                    return None
                mod = sub
                continue
            found = self._in_module(path, mod, attr, depth)
            if found is None:
                return None
            if found[0]:
                if i == len(parts) - 1:
                    return found
                return None  # an attribute of a class or value: the interpreter's business
            mod = found[1]
        return ("", mod)

    def _in_module(self, path: str, mod: str, attr: str, depth: int) -> tuple[str, str] | None:
        ix = self.indexes.get(path)
        if ix.defines(attr):
            return (path, attr)
        target = ix.imports.get(attr)
        if target is not None:
            absolute = self.absolute(target, path)
            if absolute is None:
                return None
            if absolute == f"{mod}.{attr}":  # `from pkg import sub` inside pkg
                return ("", absolute) if self.module_file(absolute) else None
            return self.locate(absolute, depth + 1)
        package = path.endswith(("__init__.py", "__init__.pyi"))
        submodule = f"{mod}.{attr}"
        if package and self.module_file(submodule):
            # A submodule, unless its own star import re-binds the name (`from .alexnet
            # import *` binds the function `alexnet`); other star modules are not searched
            # (transformers' top level star-imports thousands of files).
            if f".{attr}" in ix.stars or submodule in ix.stars:
                sub = self.module_file(submodule)
                if sub is not None and os.path.isfile(sub):
                    six = self.indexes.get(sub)
                    if six.exported is not None and attr in six.exported:
                        return self._in_module(sub, submodule, attr, depth + 1)
            return ("", submodule)
        for star in _likely_first(ix.stars, attr):
            absolute = self.absolute(star, path)
            sub = self.module_file(absolute) if absolute else None
            if sub is None or os.path.isdir(sub) or absolute is None:
                continue
            six = self.indexes.get(sub)
            if six.exported is not None and attr not in six.exported:
                if attr not in six.registered:
                    if package and absolute == f"{mod}.{attr}":
                        return ("", absolute)  # `pkg.resnet`: the submodule itself
                    continue
            elif attr.startswith("_"):
                continue
            hit = self._in_module(sub, absolute, attr, depth + 1)
            if hit is not None:
                return hit
        # A submodule last: a name the package binds itself (`from .alexnet import *` binds
        # the function `alexnet`) replaces the submodule attribute of the same name.
        if package and self.module_file(f"{mod}.{attr}"):
            return ("", f"{mod}.{attr}")
        return None

    # ------------------------------------------------------------------ slices

    def needed(self, path: str, names: set[str]) -> frozenset[int]:
        """Indexes of the top-level statements that define `names`, and transitively the
        top-level names those statements read."""
        ix = self.indexes.get(path)
        by_name: dict[str, list[int]] = {}
        for i, s in enumerate(ix.stmts):
            for b in s.binds:
                by_name.setdefault(b, []).append(i)
        todo = list(names)
        seen_names: set[str] = set()
        keep: set[int] = set()
        while todo:
            n = todo.pop()
            if n in seen_names:
                continue
            seen_names.add(n)
            for i in by_name.get(n, ()):
                if i not in keep:
                    keep.add(i)
                    todo.extend(ix.stmts[i].reads)
        return frozenset(keep)

    def slice_text(self, path: str, text: str, keep: frozenset[int]) -> str:
        """The file's text with every top-level statement outside `keep` blanked (line
        numbers unchanged, so positions and traces name the real file's lines)."""
        ix = self.indexes.get(path, text)
        lines = text.splitlines(keepends=True)
        out = [""] * len(lines)
        for i in keep:
            s = ix.stmts[i]
            out[s.first - 1 : s.last] = lines[s.first - 1 : s.last]
        return "".join(x if x else "\n" for x in out)

    def registry(self, package: str) -> dict[str, str]:
        """Model name -> defining file for a package's `@register_model` functions (timm),
        found by a text scan of its modules (no parse), cached on disk by their stamps."""
        hit = self._registries.get(package)
        if hit is not None:
            return hit
        init = self.module_file(package)
        if init is None:
            return {}
        folder = os.path.dirname(init) if os.path.isfile(init) else init
        try:
            files = sorted(f for f in os.listdir(folder) if f.endswith(".py"))
        except OSError:
            return {}
        stamps = [f"{f}:{IndexCache.stamp(os.path.join(folder, f))}" for f in files]
        key = hashlib.blake2b(";".join([folder, *stamps]).encode(), digest_size=16).hexdigest()
        cache = self.indexes.folder / "registry" / f"{key}.json" if self.indexes.folder else None
        out: dict[str, str] | None = None
        if cache is not None:
            try:
                out = dict(json.loads(cache.read_text("utf-8")))
            except (OSError, ValueError, TypeError):
                out = None
        if out is None:
            out = {}
            for f in files:
                p = os.path.join(folder, f)
                for n in _REGISTERED.findall(read_text(p) or ""):
                    out.setdefault(n, p)
            if cache is not None:
                try:
                    cache.parent.mkdir(parents=True, exist_ok=True)
                    tmp = cache.with_suffix(f".{os.getpid()}.tmp")
                    tmp.write_text(json.dumps(out))
                    os.replace(tmp, cache)
                except OSError:
                    pass
        self._registries[package] = out
        return out


def _likely_first(stars: tuple[str, ...], attr: str) -> list[str]:
    """Star-import targets in search order: those whose module name shares words with `attr`
    first (`BertModel` looks in `.bert`, then `.modeling_bert`), the rest last-first as
    Python's later imports win. Keeps `import transformers` from indexing thousands of files."""
    low = attr.lower()
    words = [w.lower() for w in re.findall(r"[A-Z]+[a-z0-9]*|[a-z0-9]+", attr)]

    def score(star: str) -> int:
        segment = star.rsplit(".", 1)[-1]
        total = 0
        for t in segment.lower().split("_"):
            if len(t) > 1 and (t in low or any(t.startswith(w) for w in words if len(w) > 2)):
                total += len(t)
        return total

    order = list(reversed(stars))
    return sorted(order, key=lambda st: -score(st))


def display_path(libraries: Libraries | None, path: str) -> str:
    """How a file is named in messages and traces: `torchvision/models/resnet.py` for a library
    file (its path inside the environment's folder), the base name for a project file."""
    if libraries is not None:
        full = os.path.abspath(path)
        for root in libraries.roots:
            if full.startswith(root + os.sep):
                return full[len(root) + 1 :].replace(os.sep, "/")
    return os.path.basename(path)
