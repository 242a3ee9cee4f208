"""The static slice of the user's module that verify runs: never the whole file.

Computed from the syntax tree alone (stdlib ``ast``; the file is never run to decide). Kept:
imports, definitions (classes, functions), statements with no call in them (constants), the
configuration of imported modules (``torch.set_default_dtype(...)``, ``sys.path.append(...)``,
``os.environ[...] = ...``), and every top-level statement that binds or fills (``model.add(...)``,
``layers.append(...)``, ``cfg["x"] = ...``; see MUTATOR_PREFIXES) a name the models need,
transitively: the names the models' classes and functions read, the requested models and their
constructor expressions. Everything else is skipped and reported: ``if __name__ == "__main__":``
blocks, training loops, ``model.fit(...)``, downloads, ``torch.save``, prints. Line numbers are
the file's own (the kept statements are compiled as a tree). Valid on Python 3.8.
"""

from __future__ import annotations

import ast
from typing import Any

MODEL_BASES = frozenset(
    {"Module", "Model", "Layer", "Sequential", "ModuleList", "ModuleDict", "LightningModule"}
)
MODEL_CALLS = frozenset({"Sequential", "Model", "Functional", "ModuleList", "ModuleDict"})
# A method call statement on a name the models need is kept when the method builds or fills
# its object (`model.add`, `layers.append`, `parser.add_argument`, `cfg.update`, `net.build`);
# others (`fit`, `train`, `save`, `load_state_dict`, `summary`, `compile`) are skipped.
MUTATOR_PREFIXES = ("add", "append", "extend", "insert", "update", "register", "set", "build")
_CONFIG_CALLS = frozenset(
    {
        "manual_seed",
        "seed",
        "filterwarnings",
        "simplefilter",
        "append",
        "insert",
        "basicConfig",
        "disable_traceback_filtering",
        "use_deterministic_algorithms",
    }
)
_DEFS = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)
_SCOPES = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda)


def root_name(node: ast.AST) -> str | None:
    """`a` for `a`, `a.b.c`, `a[0].b`, `a.b()`; None otherwise."""
    while isinstance(node, (ast.Attribute, ast.Subscript, ast.Call)):
        node = node.func if isinstance(node, ast.Call) else node.value
    return node.id if isinstance(node, ast.Name) else None


def last_name(node: ast.AST) -> str | None:
    """`c` for `a.b.c` or `c`; None otherwise."""
    if isinstance(node, ast.Attribute):
        return node.attr
    return node.id if isinstance(node, ast.Name) else None


def is_main_guard(node: ast.stmt) -> bool:
    """`if __name__ == "__main__":` (either operand order)."""
    if not isinstance(node, ast.If) or not isinstance(node.test, ast.Compare):
        return False
    parts = [node.test.left, *node.test.comparators]
    names = any(isinstance(p, ast.Name) and p.id == "__name__" for p in parts)
    main = any(isinstance(p, ast.Constant) and p.value == "__main__" for p in parts)
    return names and main


def loads(node: ast.AST) -> set[str]:
    """Every name read anywhere in `node`."""
    return {n.id for n in ast.walk(node) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)}


def _has_call(node: ast.AST) -> bool:
    return any(
        isinstance(n, (ast.Call, ast.Await, ast.Yield, ast.YieldFrom)) for n in ast.walk(node)
    )


def bound(stmt: ast.stmt) -> set[str]:
    """Names a top-level statement binds (not inside the functions or classes it defines)."""
    out: set[str] = set()
    todo: list[ast.AST] = [stmt]
    while todo:
        node = todo.pop()
        if isinstance(node, _DEFS):
            out.add(node.name)
            continue
        if isinstance(node, ast.Lambda):
            continue
        if isinstance(node, ast.Name) and isinstance(node.ctx, (ast.Store, ast.Del)):
            out.add(node.id)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            out.update((a.asname or a.name).split(".")[0] for a in node.names)
        elif isinstance(node, ast.ExceptHandler) and node.name:
            out.add(node.name)
        todo.extend(ast.iter_child_nodes(node))
    return out


def mutated(stmt: ast.stmt) -> set[str]:
    """Names whose object a statement changes: `n.x = v`, `n[k] = v`, `n.append(v)`, `del n[k]`."""
    out: set[str] = set()
    for node in ast.walk(stmt):
        targets: list[ast.expr] = []
        if isinstance(node, ast.Assign):
            targets = list(node.targets)
        elif isinstance(node, (ast.AugAssign, ast.AnnAssign)):
            targets = [node.target]
        elif isinstance(node, ast.Delete):
            targets = list(node.targets)
        elif (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr.lstrip("_").startswith(MUTATOR_PREFIXES)
        ):
            name = root_name(node.func.value)
            if name:
                out.add(name)
        for t in targets:
            name = root_name(t) if isinstance(t, (ast.Attribute, ast.Subscript)) else None
            if name:
                out.add(name)
    return out


def def_time_loads(node: ast.AST) -> set[str]:
    """Names a def / class statement reads when it runs (decorators, defaults, bases, and a
    class body's own statements), not those its functions read when called."""
    out: set[str] = set()
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
        parts: list[Any] = [*node.decorator_list, *node.args.defaults, node.returns]
        parts += [d for d in node.args.kw_defaults if d is not None]
        args = node.args
        every = [*getattr(args, "posonlyargs", []), *args.args, *args.kwonlyargs]
        every += [a for a in (args.vararg, args.kwarg) if a is not None]
        parts += [a.annotation for a in every]
        for p in parts:
            if p is not None:
                out |= loads(p)
    elif isinstance(node, ast.ClassDef):
        for p in [*node.decorator_list, *node.bases, *(k.value for k in node.keywords)]:
            out |= loads(p)
        for st in node.body:
            out |= def_time_loads(st) if isinstance(st, _DEFS) else loads(st)
    return out


def free_names(node: ast.AST) -> set[str]:
    """Names a definition's code reads from the module (reads less its own locals)."""
    local: set[str] = set()
    glob: set[str] = set()
    for n in ast.walk(node):
        if isinstance(n, ast.Name) and isinstance(n.ctx, (ast.Store, ast.Del)):
            local.add(n.id)
        elif isinstance(n, ast.arg):
            local.add(n.arg)
        elif isinstance(n, _DEFS) and n is not node:
            local.add(n.name)
        elif isinstance(n, (ast.Import, ast.ImportFrom)):
            local.update((a.asname or a.name).split(".")[0] for a in n.names)
        elif isinstance(n, (ast.Global, ast.Nonlocal)):
            glob.update(n.names)
    return loads(node) - (local - glob)


def _definitional(stmt: ast.stmt) -> bool:
    """Imports, definitions and call-free statements (constants), also inside if / try."""
    if isinstance(stmt, (ast.Import, ast.ImportFrom, ast.Pass, *_DEFS)):
        return True
    if isinstance(stmt, (ast.Assign, ast.AnnAssign, ast.AugAssign, ast.Expr)):
        return not _has_call(stmt)
    if isinstance(stmt, ast.If) and not is_main_guard(stmt) and not _has_call(stmt.test):
        return all(_definitional(s) for s in [*stmt.body, *stmt.orelse])
    if isinstance(stmt, ast.Try):
        handlers = [s for h in stmt.handlers for s in h.body]
        return all(_definitional(s) for s in [*stmt.body, *handlers, *stmt.orelse, *stmt.finalbody])
    return False


def _configures(stmt: ast.stmt, modules: set[str]) -> bool:
    """`torch.set_default_dtype(...)`, `sys.path.append(...)`, `os.environ["X"] = "1"`."""
    if isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Call):
        func = stmt.value.func
        name = last_name(func)
        return bool(
            isinstance(func, ast.Attribute)
            and root_name(func) in modules
            and name
            and (name.startswith("set_") or name in _CONFIG_CALLS)
        )
    if isinstance(stmt, (ast.Assign, ast.AugAssign)):
        targets = stmt.targets if isinstance(stmt, ast.Assign) else [stmt.target]
        return all(
            isinstance(t, (ast.Attribute, ast.Subscript)) and root_name(t) in modules
            for t in targets
        )
    return False


def _builds_model(stmt: ast.stmt, classes: set[str]) -> bool:
    """An assignment whose value calls a model class of the file or a framework container."""
    if not isinstance(stmt, (ast.Assign, ast.AnnAssign)) or stmt.value is None:
        return False
    return any(
        isinstance(n, ast.Call) and last_name(n.func) in (MODEL_CALLS | classes)
        for n in ast.walk(stmt.value)
    )


def _model_classes(body: list[ast.stmt]) -> set[str]:
    out: set[str] = set()
    for st in body:
        if isinstance(st, ast.ClassDef) and any(
            last_name(b) in MODEL_BASES or last_name(b) in out for b in st.bases
        ):
            out.add(st.name)
    return out


def _start(stmt: ast.stmt) -> int:
    decorators = getattr(stmt, "decorator_list", [])
    return int(min([stmt.lineno, *(d.lineno for d in decorators)]))


def slice_module(
    tree: ast.Module, lines: list[str], roots: set[str], discover: bool
) -> tuple[ast.Module, dict[str, Any], dict[str, int]]:
    """(the module to run, {"ran": [[first, last], ...], "skipped": [{line, end_line, code,
    reason}]}, {name bound only by skipped code: its line}).

    `roots`: the names the requested models need; with `discover`, the file's model classes
    and the module-level models they (or a framework container) build are roots too.
    """
    body = tree.body
    modules: set[str] = set()
    for st in body:
        if isinstance(st, (ast.Import, ast.ImportFrom)):
            modules |= bound(st)
    classes = _model_classes(body)
    needed = set(roots)
    if discover:
        needed |= classes
        for st in body:
            if _builds_model(st, classes):
                needed |= bound(st)
    always = [
        not is_main_guard(st) and (_definitional(st) or _configures(st, modules)) for st in body
    ]
    keep = [False] * len(body)
    expanded: set[int] = set()
    changed = True
    while changed:
        changed = False
        for i, st in enumerate(body):
            if not keep[i] and (
                always[i] or (not is_main_guard(st) and (bound(st) | mutated(st)) & needed)
            ):
                keep[i] = changed = True
                needed |= def_time_loads(st) if isinstance(st, _DEFS) else loads(st)
            if keep[i] and i not in expanded and isinstance(st, _DEFS) and st.name in needed:
                expanded.add(i)
                needed |= free_names(st)
                changed = True
    ran: list[list[int]] = []
    skipped: list[dict[str, Any]] = []
    missing: dict[str, int] = {}
    for i, st in enumerate(body):
        first, last = _start(st), getattr(st, "end_lineno", None) or st.lineno
        if keep[i]:
            if ran and ran[-1][2] == i - 1:
                ran[-1][1:] = [last, i]
            else:
                ran.append([first, last, i])
            continue
        text = lines[first - 1].strip() if first - 1 < len(lines) else ""
        skipped.append(
            {
                "line": first,
                "end_line": last,
                "code": text if len(text) <= 60 else text[:57] + "...",
                "reason": "__main__ block" if is_main_guard(st) else "not needed by the model",
            }
        )
        for name in bound(st):
            missing.setdefault(name, first)
    kept_names: set[str] = set()
    for i, st in enumerate(body):
        if keep[i]:
            kept_names |= bound(st)
    missing = {k: v for k, v in missing.items() if k not in kept_names}
    module = ast.Module(body=[st for i, st in enumerate(body) if keep[i]], type_ignores=[])
    return module, {"ran": [r[:2] for r in ran], "skipped": skipped}, missing


def roots_of(specs: list[dict[str, Any]], ctors: list[str]) -> set[str]:
    """The names requested models start from: their names, variables and constructor code."""
    out: set[str] = set()
    for spec in specs:
        for key in ("name", "variable"):
            if spec.get(key):
                out.add(str(spec[key]))
        if spec.get("ctor"):
            ctors = [*ctors, str(spec["ctor"])]
    for ctor in ctors:
        try:
            out |= loads(ast.parse(ctor, mode="eval"))
        except (SyntaxError, ValueError):
            continue
    return out
