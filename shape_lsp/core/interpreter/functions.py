"""User code: calling functions and methods, binding parameters, instantiating classes."""

from __future__ import annotations

import contextlib
import logging

import libcst as cst

from shape_lsp.core.interpreter.calls import Calls
from shape_lsp.core.interpreter.classes import all_bases, data_instance, generated_init
from shape_lsp.core.interpreter.extensions import EXTENSIONS
from shape_lsp.core.interpreter.frame import (
    MAX_DEPTH,
    Budget,
    Frame,
    LoopExit,
    Return,
    join_values,
)
from shape_lsp.core.interpreter.objects import (
    ClassInfo,
    ClassRef,
    FunctionRef,
    ModuleInstance,
    PyObject,
    assign_path,
)
from shape_lsp.core.interpreter.state import InterpreterState
from shape_lsp.core.source.syntax import source_text
from shape_lsp.core.values import shapes as S
from shape_lsp.core.values.abstract import Value
from shape_lsp.core.values.shapes import UNKNOWN

log = logging.getLogger(__name__)


class Functions(Calls):
    """User code: calling functions and methods, binding parameters, instantiating classes."""

    def call_function(
        self,
        fn: FunctionRef,
        args: list[Value],
        kwargs: dict[str, Value],
        frame: Frame,
        record_facts: bool | None = None,
        symbolic_missing: bool = False,
    ) -> Value:
        """Interpret a local function or method body with bound parameters."""
        if self.depth >= MAX_DEPTH:
            raise Budget
        if self.touched is not None:
            self.touched[id(fn.chunk)] = fn.chunk
        env = self.bind_params(fn, args, kwargs, frame, symbolic_missing)
        if fn.closure is not None:
            env = {**fn.closure, **env}
        home = _home_of(fn)
        new = Frame(
            env,
            fn.chunk,
            fn.self_obj,
            fn.owner,
            record_facts=frame.record_facts if record_facts is None else record_facts,
            home=None if home is None or home is self else home,
        )
        self.depth += 1
        try:
            self.exec_block(fn.node.body, new)
        except Return as r:
            new.returns.append(r.value)
        except LoopExit:
            pass
        finally:
            self.depth -= 1
        if not new.returns:
            return None
        out = new.returns[0]
        for ret in new.returns[1:]:
            out = join_values(out, ret)
        return out

    def bind_params(
        self,
        fn: FunctionRef,
        args: list[Value],
        kwargs: dict[str, Value],
        frame: Frame,
        symbolic_missing: bool = False,
    ) -> dict[str, Value]:
        """Parameter name -> value (missing ones: default, else UNKNOWN, or a symbol named
        after the parameter when a model is analysed on its own)."""
        missing: Value = UNKNOWN
        params = fn.node.params
        env: dict[str, Value] = {}
        positional = [*params.posonly_params, *params.params]
        pos = list(args)
        if fn.self_obj is not None and positional:
            env[positional[0].name.value] = fn.self_obj
            positional = positional[1:]
        home = _home_of(fn) or self
        def_frame = Frame(
            home.globals, fn.chunk, record_facts=False, home=None if home is self else home
        )
        for p in positional:
            pname = p.name.value
            if pos:
                env[pname] = pos.pop(0)
            elif pname in kwargs:
                env[pname] = kwargs.pop(pname)
            elif p.default is not None:
                env[pname] = self.eval(p.default, def_frame)
            else:
                env[pname] = S.sym(pname) if symbolic_missing else missing
        if isinstance(params.star_arg, cst.Param):
            env[params.star_arg.name.value] = tuple(pos)
        for p in params.kwonly_params:
            pname = p.name.value
            if pname in kwargs:
                env[pname] = kwargs.pop(pname)
            elif p.default is not None:
                env[pname] = self.eval(p.default, def_frame)
            else:
                env[pname] = S.sym(pname) if symbolic_missing else missing
        if params.star_kwarg is not None:
            env[params.star_kwarg.name.value] = dict(kwargs)
        return env

    def instantiate(
        self,
        info: ClassInfo,
        args: list[Value],
        kwargs: dict[str, Value],
        node: cst.Call | None,
        frame: Frame | None,
        symbolic_missing: bool = False,
    ) -> Value:
        """Run a local class's __init__ on a fresh instance."""
        class_hook = EXTENSIONS.class_hooks.get(info.framework or "")
        if class_hook is not None and frame is not None:
            return class_hook(self, ClassRef(info), args, kwargs, node, frame)
        if info.framework is None:
            if info.find_method("__init__") is None or generated_init(info):
                return data_instance(info, args, kwargs)
            return self._plain_instance(info, args, kwargs, frame)
        if info.framework not in EXTENSIONS.frameworks:
            return UNKNOWN
        span = self.rec.span(frame.chunk, node) if frame is not None and node is not None else None
        inst = ModuleInstance(info, span=span)
        if self.touched is not None:
            self.touched[id(info.chunk)] = info.chunk
        if node is not None and frame is not None and frame.env is self.globals:
            inst.ctor_text = source_text(node)
        hit = info.find_method("__init__")
        if hit is not None:
            self._run_init(info, hit, inst, args, kwargs, frame, symbolic_missing)
        assign_path(inst, "")
        return inst

    def _plain_instance(
        self, info: ClassInfo, args: list[Value], kwargs: dict[str, Value], frame: Frame | None
    ) -> Value:
        """An instance of a plain class (a config object): its `__init__` run on it."""
        hit = info.find_method("__init__")
        if hit is None or any(not isinstance(b, ClassRef) for b in all_bases(info)):
            return UNKNOWN  # a base the engine cannot see may set attributes of its own
        obj = PyObject(info, {})
        self._run_init(info, hit, obj, args, kwargs, frame)
        return obj

    def _run_init(
        self,
        info: ClassInfo,
        hit: tuple[ClassInfo, cst.FunctionDef],
        obj: Value,
        args: list[Value],
        kwargs: dict[str, Value],
        frame: Frame | None,
        symbolic_missing: bool = False,
    ) -> None:
        """Run `__init__` (found on `hit`'s owner) on a fresh `obj`, in its defining module."""
        owner, fn = hit
        caller = frame or Frame(self.globals, info.chunk)
        if info.home is not None and info.home is not self:
            caller = Frame(caller.env, caller.chunk, record_facts=False, home=info.home)  # type: ignore[arg-type]
        with contextlib.suppress(Budget):
            self.call_function(
                FunctionRef(fn, owner.chunk_for(fn), owner, obj),
                args,
                kwargs,
                caller,
                record_facts=False,
                symbolic_missing=symbolic_missing,
            )


def _home_of(fn: FunctionRef) -> InterpreterState | None:
    """The interpreter whose module namespace a function's body sees."""
    home = fn.owner.home if fn.owner is not None else fn.home
    return home if isinstance(home, InterpreterState) else None
