"""Module (like ``torch.nn.Module``; Parameter is in ``parameter.py``, loading a state
dict in ``module_state.py``, the containers in ``containers.py``).

A ``Module`` keeps three ordered registries, filled by plain attribute assignment::

    self.weight = Parameter(...)     ->  self._parameters["weight"]
    self.fc = Linear(4, 2)           ->  self._modules["fc"]
    self.register_buffer("running_mean", zeros(4))   ->  self._buffers["running_mean"]

Everything else (``parameters()``, ``state_dict()``, ``train()``, ``repr``) walks those
registries. Attribute reads of registered names go through ``__getattr__``, which looks
them up in the registries (they are not stored in the instance ``__dict__``).

Calling a module runs ``forward`` and, while it runs, pushes the module's qualified name
(``"features.0"``, as in ``named_modules()``) onto ``autograd.function._module_stack``:
every graph node created inside records it as ``ctx.module``. A module called on its own
(not from the forward of a module that contains it) is named after its class (``"Conv2d"``),
and its descendants are named relative to it.
"""
import itertools
from collections import OrderedDict

import numpy as np

from autograd import Tensor, is_grad_enabled
from autograd import function as _function

from . import module_state as _module_state
from .module_state import _copy_into  # noqa: F401  (re-exported: optimizers, tests)
from .parameter import Parameter, _rebuild_parameter  # noqa: F401  (re-exported)

__all__ = ["Parameter", "Module", "Sequential", "ModuleList", "ModuleDict", "ParameterList",
           "ParameterDict"]


# ---------------------------------------------------------------------------- naming
_running = []            # (module, prefix of its descendants' names) per forward in progress
_structure_version = 0   # bumped whenever a submodule is added or removed anywhere


def _structure_changed():
    global _structure_version
    _structure_version += 1


class _RemovableHandle:
    """Returned by ``register_forward_hook``; ``handle.remove()`` unregisters the hook."""
    _ids = itertools.count()

    def __init__(self, hooks):
        self.hooks = hooks
        self.id = next(self._ids)

    def remove(self):
        self.hooks.pop(self.id, None)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.remove()




def _addindent(s, num_spaces):
    lines = s.split("\n")
    if len(lines) == 1:
        return s
    return lines[0] + "\n" + "\n".join(" " * num_spaces + line for line in lines[1:])


def _typename(value):
    return type(value).__module__ + "." + type(value).__qualname__ \
        if not isinstance(value, Tensor) else "Tensor"


def _check_name(kind, name):
    if not isinstance(name, str):
        raise TypeError(f"{kind} name should be a string. Got {type(name).__name__}")
    if name == "":
        raise KeyError(f'{kind} name can\'t be empty string ""')
    if "." in name:
        raise KeyError(f'{kind} name can\'t contain ".", got: {name}')


class Module:
    """Base class of all layers and models. Subclasses call ``super().__init__()`` first,
    assign parameters and submodules as attributes, and define ``forward``."""

    training: bool

    def __init__(self):
        d = self.__dict__
        d["training"] = True
        d["_parameters"] = {}
        d["_buffers"] = {}
        d["_non_persistent_buffers_set"] = set()
        d["_modules"] = {}
        d["_forward_pre_hooks"] = {}
        d["_forward_hooks"] = {}

    def forward(self, *args, **kwargs):  # abstract: every module defines its own
        raise NotImplementedError(f'Module [{type(self).__name__}] is missing the required '
                                  f'"forward" function')

    # ------------------------------------------------------------------ calling
    def __call__(self, *args, **kwargs):
        scope, prefix = self._scope()
        stack = _function._module_stack
        stack.append(scope)
        _running.append((self, prefix))
        try:
            if self._forward_pre_hooks:
                args, kwargs = self._run_pre_hooks(args, kwargs)
            d = self.__dict__
            if (d.get("_backward_hooks") or d.get("_backward_pre_hooks")) \
                    and is_grad_enabled():
                from .hooks import wrap_call
                out = wrap_call(self, args, lambda a: self.forward(*a, **kwargs))
            else:
                out = self.forward(*args, **kwargs)
            if self._forward_hooks:
                with_kwargs = self.__dict__.get("_hooks_with_kwargs", ())
                for hid, hook in list(self._forward_hooks.items()):
                    result = hook(self, args, kwargs, out) if hid in with_kwargs \
                        else hook(self, args, out)
                    if result is not None:
                        out = result
        finally:
            stack.pop()
            _running.pop()
        return out

    def _scope(self):
        """(this call's qualified name, prefix for its descendants' names)."""
        if _running:
            parent, prefix = _running[-1]
            rel = parent._descendant_names().get(id(self))
            if rel:
                name = prefix + rel
                return name, name + "."
            if rel == "":  # a module calling itself
                return _function._module_stack[-1], prefix
        return type(self).__name__, ""

    def _descendant_names(self):
        """id(module) -> name relative to self, for self and all its descendants (cached)."""
        cache = self.__dict__.get("_names_cache")
        if cache is None or cache[0] != _structure_version:
            names = {}
            for name, m in self.named_modules():
                names[id(m)] = name
            cache = (_structure_version, names)
            self.__dict__["_names_cache"] = cache
        return cache[1]

    def _run_pre_hooks(self, args, kwargs):
        with_kwargs = self.__dict__.get("_hooks_with_kwargs", ())
        for hid, hook in list(self._forward_pre_hooks.items()):
            if hid in with_kwargs:
                result = hook(self, args, kwargs)
                if result is not None:
                    if not (isinstance(result, tuple) and len(result) == 2):
                        raise RuntimeError(f"forward pre-hook must return None or a tuple of "
                                           f"(new_args, new_kwargs), but got {result}.")
                    args, kwargs = result
            else:
                result = hook(self, args)
                if result is not None:
                    args = result if isinstance(result, tuple) else (result,)
        return args, kwargs

    def _add_hook(self, hooks, hook, prepend, with_kwargs):
        handle = _RemovableHandle(hooks)
        hooks[handle.id] = hook
        if prepend:  # run before the hooks already registered
            items = list(hooks.items())
            hooks.clear()
            hooks.update([items[-1]] + items[:-1])
        if with_kwargs:
            self.__dict__.setdefault("_hooks_with_kwargs", set()).add(handle.id)
        return handle

    def register_full_backward_hook(self, hook, prepend=False):
        """``hook(module, grad_input, grad_output)`` runs when the gradients with respect to
        the module's inputs are computed; it may return a new ``grad_input`` (see
        nn/hooks.py)."""
        if "_backward_hooks" not in self.__dict__:
            self.__dict__["_backward_hooks"] = {}
        return self._add_hook(self._backward_hooks, hook, prepend, False)

    def register_full_backward_pre_hook(self, hook, prepend=False):
        """``hook(module, grad_output)`` runs when the gradients with respect to the
        module's outputs are computed; it may return a new ``grad_output``."""
        if "_backward_pre_hooks" not in self.__dict__:
            self.__dict__["_backward_pre_hooks"] = {}
        return self._add_hook(self._backward_pre_hooks, hook, prepend, False)

    def register_forward_pre_hook(self, hook, *, prepend=False, with_kwargs=False):
        """``hook(module, args)`` runs before ``forward``; it may return new args.
        ``with_kwargs=True``: ``hook(module, args, kwargs)`` returning ``(args, kwargs)``;
        ``prepend=True``: runs before the hooks registered earlier."""
        return self._add_hook(self._forward_pre_hooks, hook, prepend, with_kwargs)

    def register_forward_hook(self, hook, *, prepend=False, with_kwargs=False,
                              always_call=False):
        """``hook(module, args, output)`` runs after ``forward``; it may return a new output
        (``with_kwargs=True``: ``hook(module, args, kwargs, output)``)."""
        return self._add_hook(self._forward_hooks, hook, prepend, with_kwargs)

    # ------------------------------------------------------------------ registration
    def __setattr__(self, name, value):
        d = self.__dict__
        params = d.get("_parameters")
        if isinstance(value, Parameter):
            if params is None:
                raise AttributeError("cannot assign parameters before Module.__init__() call")
            self._remove_from(name, d, self._buffers, self._modules)
            self.register_parameter(name, value)
            return
        if params is not None and name in params:
            if value is not None:
                raise TypeError(f"cannot assign '{_typename(value)}' as parameter '{name}' "
                                f"(nn.Parameter or None expected)")
            params[name] = None
            return
        modules = d.get("_modules")
        if isinstance(value, Module):
            if modules is None:
                raise AttributeError("cannot assign module before Module.__init__() call")
            self._remove_from(name, d, self._parameters, self._buffers)
            modules[name] = value
            _structure_changed()
            return
        if modules is not None and name in modules:
            if value is not None:
                raise TypeError(f"cannot assign '{_typename(value)}' as child module '{name}' "
                                f"(nn.Module or None expected)")
            modules[name] = None
            _structure_changed()
            return
        buffers = d.get("_buffers")
        if buffers is not None and name in buffers:
            if value is not None and not isinstance(value, Tensor):
                raise TypeError(f"cannot assign '{_typename(value)}' as buffer '{name}' "
                                f"(Tensor or None expected)")
            buffers[name] = value
            return
        object.__setattr__(self, name, value)

    @staticmethod
    def _remove_from(name, *dicts):
        for dct in dicts:
            dct.pop(name, None)

    def __getattr__(self, name):
        # Only called when normal lookup fails: registered names live in the registries.
        d = self.__dict__
        for registry in ("_parameters", "_buffers", "_modules"):
            reg = d.get(registry)
            if reg is not None and name in reg:
                return reg[name]
        raise AttributeError(f"'{type(self).__name__}' object has no attribute '{name}'")

    def __delattr__(self, name):
        if name in self._parameters:
            del self._parameters[name]
        elif name in self._buffers:
            del self._buffers[name]
            self._non_persistent_buffers_set.discard(name)
        elif name in self._modules:
            del self._modules[name]
            _structure_changed()
        else:
            object.__delattr__(self, name)

    def __dir__(self):
        return sorted(set(super().__dir__()) | set(self._parameters) | set(self._buffers)
                      | set(self._modules))

    def __getstate__(self):
        state = self.__dict__.copy()
        state.pop("_names_cache", None)  # holds ids of this process's objects
        return state

    def __setstate__(self, state):
        self.__dict__.update(state)

    def register_parameter(self, name, param):
        """Register ``param`` (a Parameter or None) under ``name``."""
        if "_parameters" not in self.__dict__:
            raise AttributeError("cannot assign parameter before Module.__init__() call")
        _check_name("parameter", name)
        if hasattr(self, name) and name not in self._parameters:
            raise KeyError(f"attribute '{name}' already exists")
        if param is not None and not isinstance(param, Parameter):
            raise TypeError(f"cannot assign '{_typename(param)}' object to parameter '{name}' "
                            f"(nn.Parameter or None required)")
        self._parameters[name] = param

    def register_buffer(self, name, tensor, persistent=True):
        """Register a non-learnable Tensor (e.g. running statistics) that ``state_dict``
        saves (unless ``persistent=False``) and ``to(dtype)`` converts."""
        if "_buffers" not in self.__dict__:
            raise AttributeError("cannot assign buffer before Module.__init__() call")
        _check_name("buffer", name)
        if hasattr(self, name) and name not in self._buffers:
            raise KeyError(f"attribute '{name}' already exists")
        if tensor is not None and not isinstance(tensor, Tensor):
            raise TypeError(f"cannot assign '{_typename(tensor)}' object to buffer '{name}' "
                            f"(Tensor or None required)")
        self._buffers[name] = tensor
        if persistent:
            self._non_persistent_buffers_set.discard(name)
        else:
            self._non_persistent_buffers_set.add(name)

    def add_module(self, name, module):
        """Register ``module`` (a Module or None) as a child called ``name``."""
        if module is not None and not isinstance(module, Module):
            raise TypeError(f"{_typename(module)} is not a Module subclass")
        _check_name("module", name)
        if hasattr(self, name) and name not in self._modules:
            raise KeyError(f"attribute '{name}' already exists")
        self._modules[name] = module
        _structure_changed()

    register_module = add_module

    def get_submodule(self, target):
        """The submodule at a dotted path such as ``"features.0"`` (``""`` is self)."""
        if target == "":
            return self
        mod = self
        for item in target.split("."):
            if not isinstance(mod, Module) or item not in mod._modules:
                raise AttributeError(f"{mod._get_name()} has no attribute `{item}`")
            mod = mod._modules[item]
        return mod

    def get_parameter(self, target):
        module_path, _, name = target.rpartition(".")
        mod = self.get_submodule(module_path)
        if name not in mod._parameters:
            raise AttributeError(f"{mod._get_name()} has no parameter `{name}`")
        return mod._parameters[name]

    # ------------------------------------------------------------------ iteration
    def _named_members(self, get_members, prefix="", recurse=True, remove_duplicate=True):
        seen = set()
        modules = self.named_modules(prefix=prefix, remove_duplicate=remove_duplicate) \
            if recurse else [(prefix, self)]
        for module_prefix, module in modules:
            for k, v in get_members(module):
                if v is None or (remove_duplicate and id(v) in seen):
                    continue
                if remove_duplicate:
                    seen.add(id(v))
                yield (module_prefix + "." + k if module_prefix else k), v

    def named_parameters(self, prefix="", recurse=True, remove_duplicate=True):
        """(dotted name, Parameter) pairs, e.g. ``("0.weight", p)``; shared ones once."""
        return self._named_members(lambda m: m._parameters.items(), prefix, recurse,
                                   remove_duplicate)

    def parameters(self, recurse=True):
        for _, p in self.named_parameters(recurse=recurse):
            yield p

    def named_buffers(self, prefix="", recurse=True, remove_duplicate=True):
        return self._named_members(lambda m: m._buffers.items(), prefix, recurse,
                                   remove_duplicate)

    def buffers(self, recurse=True):
        for _, b in self.named_buffers(recurse=recurse):
            yield b

    def named_children(self):
        seen = set()
        for name, m in self._modules.items():
            if m is not None and id(m) not in seen:
                seen.add(id(m))
                yield name, m

    def children(self):
        for _, m in self.named_children():
            yield m

    def named_modules(self, memo=None, prefix="", remove_duplicate=True):
        """(dotted name, module) for self (named ``prefix``, "" by default) and every
        descendant, depth first, each shared module once."""
        if memo is None:
            memo = set()
        if id(self) in memo:
            return
        if remove_duplicate:
            memo.add(id(self))
        yield prefix, self
        for name, m in self._modules.items():
            if m is None:
                continue
            yield from m.named_modules(memo, prefix + "." + name if prefix else name,
                                       remove_duplicate)

    def modules(self):
        for _, m in self.named_modules():
            yield m

    def num_parameters(self, trainable_only=False):
        """Total number of scalar weights (only those requiring grad if ``trainable_only``)."""
        return sum(p._data.size for p in self.parameters()
                   if p.requires_grad or not trainable_only)

    # ------------------------------------------------------------------ modes and grads
    def train(self, mode=True):
        if not isinstance(mode, bool):
            raise ValueError("training mode is expected to be boolean")
        for m in self.modules():
            m.__dict__["training"] = mode
        return self

    def eval(self):
        return self.train(False)

    def requires_grad_(self, requires_grad=True):
        for p in self.parameters():
            p.requires_grad_(requires_grad)
        return self

    def zero_grad(self, set_to_none=True):
        for p in self.parameters():
            if p.grad is None:
                continue
            if set_to_none:
                p.grad = None
            else:
                p.grad = Tensor(np.zeros_like(p._data))

    def apply(self, fn):
        """Call ``fn(m)`` on every submodule (children first) and on self; returns self."""
        for m in self.children():
            m.apply(fn)
        fn(self)
        return self

    # ------------------------------------------------------------------ dtype
    def _cast(self, dtype):
        dtype = np.dtype(dtype)
        if dtype.kind != "f":
            raise TypeError(f"nn.Module.to only accepts floating point dtypes, but got {dtype}")
        for m in self.modules():
            for t in itertools.chain(m._parameters.values(), m._buffers.values()):
                if t is None or t._data.dtype.kind != "f" or t._data.dtype == dtype:
                    continue
                t._data = t._data.astype(dtype)
                t._version += 1
                if t.grad is not None:
                    t.grad = Tensor(t.grad._data.astype(dtype))
        return self

    def to(self, *args, dtype=None, device=None, non_blocking=False, **kwargs):
        """``to(dtype)``, ``to(device)``, ``to(device, dtype)`` or ``to(tensor)``: casts
        floating point parameters and buffers in place (the same Parameter objects). The
        device must be the CPU (``"cpu"``, ``"cpu:0"``, a device object of type cpu)."""
        for a in args + ((device,) if device is not None else ()):
            if a is None:
                continue
            if isinstance(a, Tensor):
                dtype = a._data.dtype
            elif _is_dtype(a):
                dtype = a
            else:
                _check_device(a)
        if dtype is None:
            return self
        return self._cast(dtype)

    def float(self):
        return self._cast(np.float32)

    def double(self):
        return self._cast(np.float64)

    def half(self):
        """Cast floating point parameters and buffers to float16."""
        return self._cast(np.float16)

    def type(self, dst_type):
        return self._cast(dst_type)

    def cpu(self):
        return self

    def cuda(self, device=None):
        _check_device("cuda")

    def share_memory(self):
        return self

    # ------------------------------------------------------------------ state dict
    def state_dict(self, destination=None, prefix="", keep_vars=False):
        """An ordered dict of every parameter and persistent buffer by dotted name
        (``"0.weight"``, ``"bn.running_mean"``). Values are detached Tensors sharing the
        module's arrays (copy them to keep a snapshot), or the Parameters themselves
        with ``keep_vars=True``."""
        if destination is None:
            destination = OrderedDict()
        for name, p in self._parameters.items():
            if p is not None:
                destination[prefix + name] = p if keep_vars else p.detach()
        for name, b in self._buffers.items():
            if b is not None and name not in self._non_persistent_buffers_set:
                destination[prefix + name] = b if keep_vars else b.detach()
        for name, m in self._modules.items():
            if m is not None:
                m.state_dict(destination, prefix + name + ".", keep_vars)
        return destination

    def load_state_dict(self, state_dict, strict=True):
        """Copy values (Tensors or NumPy arrays, e.g. from ``nn.load``) into the parameters
        and buffers, in place. With ``strict`` (the default) missing and unexpected keys are
        errors; a shape mismatch is always an error. Returns ``(missing_keys,
        unexpected_keys)``."""
        return _module_state.load_state_dict(self, state_dict, strict)

    # ------------------------------------------------------------------ printing
    def _get_name(self):
        return type(self).__name__

    def extra_repr(self):
        """Text shown inside ``Name(...)`` before the children (override in layers)."""
        return ""

    def __repr__(self):
        extra = self.extra_repr()
        extra_lines = extra.split("\n") if extra else []
        child_lines = [f"({key}): " + _addindent(repr(m), 2) for key, m in self._modules.items()]
        lines = extra_lines + child_lines
        main = self._get_name() + "("
        if lines:
            if len(extra_lines) == 1 and not child_lines:
                main += extra_lines[0]
            else:
                main += "\n  " + "\n  ".join(lines) + "\n"
        return main + ")"


def _is_dtype(value):
    try:
        np.dtype(value)
    except TypeError:
        return False
    return not isinstance(value, str) or value.split(":")[0] not in ("cpu", "cuda", "mps")


def _check_device(device):
    """Accept the CPU only (a string such as ``"cpu"`` / ``"cpu:0"`` or a device object)."""
    kind = device if isinstance(device, str) else getattr(device, "type", str(device))
    if kind.split(":")[0] != "cpu":
        raise RuntimeError(f"ndgrad runs on the CPU only: device {str(device)!r} is not "
                           f"available (use 'cpu')")


# The containers (Sequential, ModuleList, ...) live in containers.py; re-exported here.
from .containers import (Sequential, ModuleList, ModuleDict, ParameterList,  # noqa: E402,F401
                         ParameterDict)
