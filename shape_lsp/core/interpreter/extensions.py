"""The one interface through which a framework (torch, keras, ...) extends the interpreter.

The interpreter knows Python; what `torch.nn.Module`, `keras.Model` or a `DataLoader` mean is
registered here by the packages under `core/frameworks/`, each from its own `register()`.
A hook gets the interpreter first (typed precisely in the framework that writes it) and
returns a value, or `NotImplemented` to let the next hook or the interpreter decide.
Adding a framework is a new folder that calls these functions; the interpreter is unchanged.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from shape_lsp.core.values.abstract import Value

CallHook = Callable[..., Value]
"""(interp, args, kwargs, node, frame) -> value: a call of a canonical library name."""
MethodHook = Callable[..., Value]
"""(interp, bound_method, args, kwargs, node, frame) -> value or NotImplemented."""
ClassHook = Callable[..., Value]
"""(interp, class_ref, args, kwargs, node, frame) -> the instance of a framework "data" class."""
CallObserver = Callable[..., None]
"""(recorder, module, args, output, site): after every module call (Keras naming, sessions)."""
ContainerCall = Callable[..., Value]
"""(recorder, container, args, kwargs, node, frame, site) -> output of a container kind's call."""
WarningFix = Callable[..., tuple[Any, ...]]
"""(interp, layer, site, input) -> quick fixes for a warning code."""


@dataclass
class Extensions:
    """What the registered frameworks add; the interpreter and the recorder read it."""

    calls: dict[str, CallHook] = field(default_factory=dict)
    method_hooks: list[MethodHook] = field(default_factory=list)
    module_bases: dict[str, str] = field(default_factory=dict)
    """Canonical base class -> framework whose modules its subclasses are ("torch", "keras")."""
    containers: dict[str, tuple[str, str]] = field(default_factory=dict)
    """Canonical container class -> (kind, framework): ("Sequential", "torch")."""
    data_bases: dict[str, str] = field(default_factory=dict)
    """Canonical base class of framework "data" classes (datasets) -> framework."""
    class_hooks: dict[str, ClassHook] = field(default_factory=dict)
    """Class kind ("data") -> how to instantiate a user subclass of such a base."""
    call_observers: list[CallObserver] = field(default_factory=list)
    container_calls: dict[str, ContainerCall] = field(default_factory=dict)
    warning_fixes: dict[str, WarningFix] = field(default_factory=dict)
    unresolved_calls: list[Callable[..., None]] = field(default_factory=list)
    """(interp, name, chunk, node): a call of an imported name that leads nowhere (the
    analysis notes a library missing from the environment)."""
    library_prefixes: list[str] = field(default_factory=list)
    """Dotted prefixes of libraries (never resolved as project files)."""
    layer_namespaces: set[str] = field(default_factory=set)
    """Namespaces whose capitalised names are layers even when no rule knows them."""
    frameworks: list[str] = field(default_factory=list)
    forward_methods: dict[str, str] = field(default_factory=dict)
    """Framework -> the method a module call runs ("forward"; Keras: "call")."""
    mutable_containers: set[str] = field(default_factory=set)
    """Frameworks whose containers take `seq[i] = m`, `seq.name = m` and `seq.name` reads."""
    tensor_methods: str = ""
    """Rule namespace of tensor methods and attributes ("torch.Tensor")."""
    array_methods: str = ""
    """Rule namespace of array (numpy) methods ("numpy.ndarray")."""
    dtype_namespace: str = ""
    """`x.dtype` of a float32 tensor is `<dtype_namespace>.float32`."""
    operators: dict[str, str] = field(default_factory=dict)
    """Python operator on tensors -> function rule ("+" -> "torch.add")."""

    def register_framework(self, name: str) -> None:
        """Classes of `name` (module bases, containers) are modules the interpreter runs."""
        if name not in self.frameworks:
            self.frameworks.append(name)

    def register_call(self, name: str, hook: CallHook) -> None:
        """Calls of `name` (canonical) go to `hook` first; the first registration wins."""
        self.calls.setdefault(name, hook)

    def register_method_hook(self, hook: MethodHook) -> None:
        """A hook tried on every method call before the interpreter's own (idempotent)."""
        if hook not in self.method_hooks:
            self.method_hooks.append(hook)

    def register_module_base(self, name: str, framework: str) -> None:
        """Subclasses of `name` are modules of `framework` (their calls run forward/call)."""
        self.module_bases[name] = framework

    def register_container(self, name: str, kind: str, framework: str) -> None:
        """`name(...)` builds a container of `kind` (Sequential, ModuleList, ModuleDict)."""
        self.containers[name] = (kind, framework)

    def register_data_base(self, name: str, framework: str, hook: ClassHook) -> None:
        """Subclasses of `name` are framework data classes, instantiated by `hook`."""
        self.data_bases[name] = framework
        self.class_hooks["data"] = hook

    def register_call_observer(self, observer: CallObserver) -> None:
        """Called after each module call (idempotent)."""
        if observer not in self.call_observers:
            self.call_observers.append(observer)

    def register_container_call(self, kind: str, hook: ContainerCall) -> None:
        """How a container of `kind` runs when called."""
        self.container_calls.setdefault(kind, hook)

    def register_warning_fix(self, code: str, fix: WarningFix) -> None:
        """Quick fixes offered with warnings of `code`."""
        self.warning_fixes.setdefault(code, fix)

    def register_unresolved_call(self, hook: Callable[..., None]) -> None:
        """Told about calls of imported names that resolve to nothing (idempotent)."""
        if hook not in self.unresolved_calls:
            self.unresolved_calls.append(hook)

    def register_library(self, *prefixes: str) -> None:
        """Names under these dotted prefixes are library names, not project imports."""
        for p in prefixes:
            if p not in self.library_prefixes:
                self.library_prefixes.append(p)

    def register_layer_namespace(self, *namespaces: str) -> None:
        """Capitalised names in these namespaces are layers (opaque when no rule knows them)."""
        self.layer_namespaces.update(namespaces)

    def register_tensors(
        self, methods: str, arrays: str, dtypes: str, operators: dict[str, str]
    ) -> None:
        """Where tensor methods, array methods, dtypes and operators find their rules."""
        self.tensor_methods, self.array_methods, self.dtype_namespace = methods, arrays, dtypes
        self.operators.update(operators)

    def is_layer_name(self, name: str) -> bool:
        """`torch.nn.Foo`, `keras.layers.Foo`: a layer class by its namespace."""
        head, _, tail = name.rpartition(".")
        return head in self.layer_namespaces and tail[:1].isupper()

    def is_library(self, name: str) -> bool:
        """Whether a canonical name belongs to a registered library."""
        return name.startswith(tuple(self.library_prefixes))


EXTENSIONS = Extensions()
EXTENSIONS.register_library(
    "builtins.",
    "math.",
    "typing.",
    "collections.",
    "functools.",
    "os.",
    "sys.",
    "numpy.",
    "jaxtyping.",
    "einops.",
)
