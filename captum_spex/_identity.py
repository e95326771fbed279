"""Content identity: a SHA-256 digest of what decides an object's output, never of its
``repr``, its name or its memory address. The query store keys its values by it.

* numbers, strings, bytes, ``None``; tuples, lists, dicts and sets recursively (dicts and
  sets in an order that does not depend on insertion);
* NumPy arrays and torch tensors by dtype, shape, device kind and every byte (bfloat16 too);
* functions by their code (bytecode, constants, names), defaults, closure cells and the
  globals the code names; bound methods by function and ``__self__``; ``functools.partial``
  by function, args and keywords; classes by their bases, methods and attributes;
* objects by their class and every instance attribute: a ``torch.nn.Module`` so by every
  parameter and buffer (persistent or not), ``training`` flags, plain attributes and
  submodules (in Python lists too); forward/backward hooks are left out;
* installed (site-packages) and standard-library code by name and library version;
* anything else by the recipe ``pickle`` would use (``__reduce_ex__``), without pickling.

What has no provable content (a generator, an open file, a socket, a meta tensor) raises
:class:`_Unidentifiable`, whose message says where it sits.
"""

from __future__ import annotations

import copyreg
import dis
import enum
import functools
import hashlib
import importlib.metadata
import os
import site
import sys
import sysconfig
import types
from typing import Any

import numpy as np

__all__ = ["KEY_VERSION", "content_identity"]

#: Part of every store key: keys of another scheme never match.
KEY_VERSION = "captum-spex-store-key/2"

_ATOMS = (type(None), bool, int, float, complex, str)
_BYTES = (bytes, bytearray, memoryview)
# class attributes that do not decide behaviour (or hold interpreter bookkeeping)
_CLASS_SKIP = frozenset(
    "__dict__ __weakref__ __module__ __qualname__ __doc__ __annotations__ __firstlineno__ "
    "__static_attributes__ __orig_bases__ __parameters__ __slots__ __abstractmethods__ "
    "_abc_impl __dataclass_fields__ __dataclass_params__ __match_args__ __slotnames__".split()
)
# process-local bookkeeping (a str hash() differs per process): never part of the identity
_VOLATILE = ("_original_object_hash",)  # transformers' GenerationConfig
# objects whose state never changes a value: identified by their type alone
_INERT = ("_thread.lock", "_thread.RLock", "logging.Logger", "logging.RootLogger")
_BUILTIN_CALLABLES = tuple(
    getattr(types, name)
    for name in "BuiltinFunctionType MethodWrapperType WrapperDescriptorType "
    "MethodDescriptorType ClassMethodDescriptorType".split()
)
_NAMED = (type, types.FunctionType, *_BUILTIN_CALLABLES)


class _Unidentifiable(TypeError):
    """An object whose content cannot be established; the message says where and what."""


def content_identity(obj: object, label: str = "value") -> str:
    """SHA-256 hex digest of the content that decides ``obj``'s behaviour (see the module).

    Parameters
    ----------
    obj : object
        A model, function, array, tensor, container or other object.
    label : str, default "value"
        What ``obj`` is called in the error message (e.g. ``"forward_func"``).

    Returns
    -------
    str
        64 hex digits; equal for equal content, in any process.

    Raises
    ------
    TypeError
        (``_Unidentifiable``) when part of ``obj`` has no provable content.

    Examples
    --------
    >>> import numpy as np
    >>> a, b = np.zeros(3000), np.zeros(3000)
    >>> b[1500] = 1.0  # their reprs are equal; their contents are not
    >>> content_identity(a) == content_identity(b)
    False
    >>> scale = 2.0
    >>> content_identity(lambda x: scale * x) == content_identity(lambda x: scale * x)
    True
    >>> content_identity(lambda x: 3.0 * x) == content_identity(lambda x: scale * x)
    False
    """
    hasher = _Hasher(label)
    hasher.feed(obj)
    return hasher.h.hexdigest()


# ---------------------------------------------------------------------- libraries
@functools.cache
def _library_roots() -> tuple[str, ...]:
    paths = sysconfig.get_paths()
    roots = {paths.get(k) for k in ("stdlib", "platstdlib", "purelib", "platlib")}
    roots.update([*site.getsitepackages(), site.getusersitepackages()])
    return tuple(os.path.realpath(r) + os.sep for r in roots if r)


def _stdlib(module_name: str) -> bool:
    top = module_name.partition(".")[0]
    return top in sys.stdlib_module_names or top in sys.builtin_module_names


@functools.cache
def _is_library(module_name: str) -> bool:
    """Installed (site-packages) or standard-library code: identified by name and version."""
    if _stdlib(module_name):
        return True
    top = module_name.partition(".")[0]
    module = sys.modules.get(module_name) or sys.modules.get(top)
    path = getattr(module, "__file__", None)
    if not isinstance(path, str):
        return False
    return os.path.realpath(path).startswith(_library_roots())


@functools.cache
def _version(module_name: str) -> str:
    if _stdlib(module_name):
        return "python" + ".".join(map(str, sys.version_info[:3]))
    top = module_name.partition(".")[0]
    version = getattr(sys.modules.get(top), "__version__", None)
    if isinstance(version, str):
        return version
    dists = importlib.metadata.packages_distributions().get(top, [])
    return ",".join(importlib.metadata.version(d) for d in dists)


def _library_name(obj: object) -> str | None:
    """``module:qualname@version`` of library code that its name finds again, else None."""
    module = getattr(obj, "__module__", None)
    if not isinstance(module, str) or not _is_library(module):
        return None
    for name in (getattr(obj, "__qualname__", None), getattr(obj, "__name__", None)):
        if not isinstance(name, str) or "<" in name:
            continue
        target: Any = sys.modules.get(module)
        for part in name.split("."):
            target = getattr(target, part, None)
        if target is obj:
            return f"{module}:{name}@{_version(module)}"
    return None


@functools.cache
def _code_names(code: types.CodeType) -> tuple[frozenset[str], frozenset[str]]:
    """(the global names the code loads, every name it uses), nested code included."""
    loads = {i.argval for i in dis.get_instructions(code) if i.opname == "LOAD_GLOBAL"}
    names = set(code.co_names)
    for inner in (_code_names(c) for c in code.co_consts if isinstance(c, types.CodeType)):
        loads, names = loads | inner[0], names | inner[1]
    return frozenset(loads), frozenset(names)


# ---------------------------------------------------------------------- the hasher
class _Hasher:
    """One streaming SHA-256 over an object graph; a memo makes cycles and shared objects
    (tied weights) cost once."""

    def __init__(self, label: str) -> None:
        self.h = hashlib.sha256(KEY_VERSION.encode())
        self._memo: dict[int, int] = {}
        self._keep: list[object] = []  # keeps memoised objects alive: ids stay unique
        self._path = [label]

    def tag(self, *items: str | bytes) -> None:
        for item in items:
            raw = item if isinstance(item, bytes) else item.encode("utf-8", "surrogatepass")
            self.h.update(len(raw).to_bytes(8, "little") + raw)

    def raw(self, buffer: Any) -> None:
        view = memoryview(buffer).cast("B")
        self.h.update(view.nbytes.to_bytes(8, "little"))
        self.h.update(view)

    def child(self, label: str, obj: object) -> None:
        self._path.append(label)
        try:
            self.feed(obj)
        finally:
            self._path.pop()

    def refuse(self, what: str) -> _Unidentifiable:
        return _Unidentifiable(f"{''.join(self._path)} is {what}")

    def seen(self, obj: object) -> bool:
        """True (and a back reference is hashed) when ``obj`` was hashed already."""
        index = self._memo.get(id(obj))
        if index is not None:
            self.tag("ref", str(index))
            return True
        self._memo[id(obj)] = len(self._memo)
        self._keep.append(obj)
        return False

    def feed(self, obj: object) -> None:
        kind = type(obj)
        if kind in _ATOMS:
            self.tag(kind.__name__, repr(obj))
        elif kind in _BYTES:
            self.tag(kind.__name__, bytes(obj))
        elif kind in (list, tuple) or isinstance(obj, (list, tuple)):
            self._feed_sequence(obj)
        elif isinstance(obj, dict):
            self._feed_dict(obj)
        elif isinstance(obj, (set, frozenset)):
            self._feed_set(obj)
        else:
            try:
                _feed_other(self, obj)
            except RecursionError:
                raise self.refuse("nested too deeply to hash") from None

    def _feed_sequence(self, obj: list | tuple) -> None:
        if isinstance(obj, list) and self.seen(obj):
            return
        self.tag("seq", type(obj).__qualname__, str(len(obj)))
        for i, item in enumerate(obj):
            self.child(f"[{i}]", item)

    def _feed_dict(self, obj: dict) -> None:
        if self.seen(obj):
            return
        self.tag("map", type(obj).__qualname__, str(len(obj)))
        for key_digest, key, value in self.sorted_items(obj.items()):
            self.tag(key_digest)
            self.child(f"[{key!r}]"[:60], value)

    def _feed_set(self, obj: set | frozenset) -> None:
        self.tag("set", type(obj).__qualname__, str(len(obj)))
        for digest in sorted(content_identity(item, "".join(self._path)) for item in obj):
            self.tag(digest)

    def sorted_items(self, items: Any) -> list[tuple[str, Any, Any]]:
        items = list(items)
        if all(type(k) is str for k, _ in items):  # the common case, without a digest each
            return sorted(((f"str:{k}", k, v) for k, v in items), key=lambda row: row[0])
        where = "".join(self._path) + " key"
        rows = [(content_identity(k, where), k, v) for k, v in items]
        return sorted(rows, key=lambda row: row[0])


# ---------------------------------------------------------------------- everything else
def _feed_other(h: _Hasher, obj: object) -> None:
    """Arrays, tensors, callables, classes and objects (the containers are done)."""
    torch = sys.modules.get("torch")  # no torch object exists unless torch was imported
    if isinstance(obj, np.ndarray) and not isinstance(obj, np.ma.MaskedArray):
        _feed_array(h, obj)
    elif isinstance(obj, np.generic):
        h.tag("npscalar", obj.dtype.str, obj.tobytes())
    elif isinstance(obj, np.dtype):
        h.tag("dtype", str(obj.descr))
    elif torch is not None and isinstance(obj, torch.Tensor):
        _feed_tensor(h, obj, torch)
    elif isinstance(obj, enum.Enum):
        h.tag("enum", obj.name)
        h.child(".__class__", type(obj))
    elif isinstance(obj, _NAMED) and (name := _library_name(obj)) is not None:
        h.tag("library", name)  # installed code: its name and version
    elif isinstance(obj, types.ModuleType):
        name = obj.__name__
        h.tag("module", name, _version(name) if _is_library(name) else "")
    elif isinstance(obj, type):
        _feed_class(h, obj)
    elif isinstance(obj, types.CodeType):
        _feed_code(h, obj)
    elif isinstance(obj, types.MethodType):
        h.tag("method")
        h.child("<method>", (obj.__func__, obj.__self__))
    elif isinstance(obj, types.FunctionType):
        _feed_function(h, obj)
    elif isinstance(obj, _BUILTIN_CALLABLES) or type(obj).__name__ == "_lru_cache_wrapper":
        _feed_builtin(h, obj)
    elif isinstance(obj, functools.partial):
        h.tag("partial")
        h.child("<partial>", (obj.func, obj.args, obj.keywords, vars(obj)))
    elif isinstance(obj, (staticmethod, classmethod)):
        h.tag(type(obj).__name__)
        h.child(".__func__", obj.__func__)
    elif isinstance(obj, property):
        h.tag("property")
        h.child("<property>", (obj.fget, obj.fset, obj.fdel))
    elif isinstance(obj, (types.MemberDescriptorType, types.GetSetDescriptorType)):
        h.tag("descriptor", obj.__name__)
    else:
        _feed_object(h, obj)


def _feed_array(h: _Hasher, arr: np.ndarray) -> None:
    if h.seen(arr):
        return
    h.tag("ndarray", str(arr.dtype.descr), repr(arr.shape))
    if arr.dtype.hasobject:
        h.child(".tolist()", arr.tolist())
    else:
        h.raw(np.ascontiguousarray(arr).reshape(-1).view(np.uint8))


def _feed_tensor(h: _Hasher, tensor: Any, torch: Any) -> None:
    """dtype, shape, device kind and raw bytes (viewed as uint8: bfloat16 hashes too)."""
    if h.seen(tensor):
        return
    t = tensor.detach()
    if t.device.type == "meta":
        raise h.refuse("a meta tensor (it has no values)")
    try:
        if t.layout != torch.strided:
            t = t.to_dense()
        if t.is_quantized:
            h.tag("quantized", repr(t.qscheme()))
            t = t.int_repr()
        t = t.resolve_conj().resolve_neg()
        h.tag("tensor", str(t.dtype), repr(tuple(t.shape)), t.device.type)
        flat = t.contiguous().reshape(-1).cpu()
        data = flat.view(torch.uint8) if flat.dtype != torch.uint8 else flat
        h.raw(data.numpy())
    except (RuntimeError, TypeError, ValueError) as exc:
        raise h.refuse(f"a tensor whose bytes cannot be read ({exc})") from None


def _feed_code(h: _Hasher, code: types.CodeType) -> None:
    h.tag("code", code.co_code, str(code.co_flags))
    h.tag(*(str(n) for n in (code.co_argcount, code.co_posonlyargcount, code.co_kwonlyargcount)))
    h.tag(*code.co_names, "|", *code.co_varnames, "|", *code.co_freevars, "|", *code.co_cellvars)
    h.tag(getattr(code, "co_exceptiontable", b""))
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            _feed_code(h, const)
        else:
            h.child("<constant>", const)


def _feed_function(h: _Hasher, fn: types.FunctionType) -> None:
    """Code, defaults, closure cells and the globals the code names."""
    if h.seen(fn):
        return
    code = fn.__code__
    h.tag("function")
    _feed_code(h, code)
    h.child(".__defaults__", fn.__defaults__)
    h.child(".__kwdefaults__", fn.__kwdefaults__)
    for var, cell in zip(code.co_freevars, fn.__closure__ or ()):
        try:
            value = cell.cell_contents
        except ValueError:  # an empty cell
            h.tag("empty cell", var)
            continue
        h.tag("cell", var)
        h.child(f".__closure__[{var!r}]", value)
    _feed_globals(h, fn)
    if fn.__dict__:
        h.child(".__dict__", fn.__dict__)


def _feed_globals(h: _Hasher, fn: types.FunctionType) -> None:
    loads, names = _code_names(fn.__code__)
    scope = fn.__globals__
    for name in sorted(n for n in loads if n in scope):  # others are builtins
        value = scope[name]
        h.tag("global", name)
        h.child(f".__globals__[{name!r}]", value)
        if isinstance(value, types.ModuleType) and not _is_library(value.__name__):
            attrs = vars(value)
            for attr in sorted(names):  # the user module's functions this code may call
                if attr in attrs and attrs[attr] is not value:
                    h.tag("attr", attr)
                    h.child(f".__globals__[{name!r}].{attr}", attrs[attr])


def _feed_builtin(h: _Hasher, fn: Any) -> None:
    owner = getattr(fn, "__self__", None)
    h.tag("builtin", type(fn).__qualname__, str(getattr(fn, "__qualname__", "")))
    if type(fn).__name__ == "_lru_cache_wrapper":
        h.child(".__wrapped__", fn.__wrapped__)
    elif owner is not None and not isinstance(owner, types.ModuleType):
        h.child(".__self__", owner)
    else:
        h.tag(str(getattr(fn, "__module__", "")), str(getattr(fn, "__name__", "")))


def _feed_class(h: _Hasher, cls: type) -> None:
    """A class by its bases, methods and attributes."""
    if h.seen(cls):
        return
    h.tag("class", cls.__qualname__)
    for i, base in enumerate(cls.__bases__):
        h.child(f"<base {i}>", base)
    for attr in sorted(vars(cls)):
        if attr not in _CLASS_SKIP:
            h.tag(attr)
            h.child(f".{attr}", vars(cls)[attr])


def _feed_object(h: _Hasher, obj: object) -> None:
    """An instance: its class and every attribute (a module's hooks aside); or, for a class
    that defines how it pickles (or has no ``__dict__``), the recipe pickle would use."""
    kind = type(obj)
    if f"{kind.__module__}.{kind.__qualname__}" in _INERT:
        h.tag("inert", kind.__qualname__)
        return
    if h.seen(obj):
        return
    h.tag("object")
    h.child(".__class__", kind)
    torch = sys.modules.get("torch")
    state = getattr(obj, "__dict__", None)
    if torch is not None and isinstance(obj, torch.nn.Module):
        state = {k: v for k, v in vars(obj).items() if "hook" not in k}
    else:
        recipe = _recipe(h, obj)  # none: hidden C state (an open file), not provable
        if not isinstance(state, dict) or _has_own_reduce(kind):
            _feed_recipe(h, recipe)
            return
    state = {k: v for k, v in state.items() if k not in _VOLATILE}
    for key_digest, key, value in h.sorted_items(state.items()):
        h.tag(key_digest)
        h.child(f".{key}", value)
    for slot in (s for cls in kind.__mro__ for s in _slots(cls)):
        if slot not in ("__dict__", "__weakref__") and hasattr(obj, slot):
            h.tag("slot", slot)
            h.child(f".{slot}", getattr(obj, slot))


def _slots(cls: type) -> tuple[str, ...]:
    slots = vars(cls).get("__slots__", ())
    return (slots,) if isinstance(slots, str) else tuple(slots)


def _has_own_reduce(kind: type) -> bool:
    """True when ``kind`` (not ``object``) defines how it pickles: its state is that recipe."""
    own = ("__reduce__", "__reduce_ex__", "__getstate__")
    mro = kind.__mro__[:-1]
    return kind in copyreg.dispatch_table or any(n in vars(c) for c in mro for n in own)


def _recipe(h: _Hasher, obj: object) -> Any:
    reducer = copyreg.dispatch_table.get(type(obj))
    try:
        return reducer(obj) if reducer is not None else obj.__reduce_ex__(4)
    except Exception as exc:
        kind = type(obj)
        raise h.refuse(
            f"a {kind.__module__}.{kind.__qualname__}, whose content cannot be established "
            f"({type(exc).__name__}: {str(exc)[:80]})"
        ) from None


def _feed_recipe(h: _Hasher, recipe: Any) -> None:
    if isinstance(recipe, str):  # a named global
        return h.tag("global object", recipe)
    parts = list(recipe) + [None] * (5 - len(recipe))
    parts[3:5] = [None if p is None else list(p) for p in parts[3:5]]
    for label, part in zip(("reconstructor", "arguments", "state", "items", "mapping"), parts):
        h.child(f"<{label}>", part)
