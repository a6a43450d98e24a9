"""Values as plain data: what a check compares, in a form that holds no live object.

:func:`describe` turns whatever a test has in hand (a tensor, a list of tokens, a quiz
answer, a model) into *plain* values: Python scalars and strings, lists, tuples, dicts,
:class:`TensorData` (dtype, shape and the numbers as a numpy array) and
:class:`ObjectInfo` (only the names of an object's classes). The rules in
:mod:`encoder_lib.checks.rules` decide on plain values alone, so the same decision can be
made in the student's notebook (the visible tests) and, from JSON, in the grader's own
process, where no student object ever exists. :func:`to_json` and :func:`from_json`
carry plain values across (no pickle: only JSON, and numbers as base64 bytes).
"""
from __future__ import annotations

import base64
import hashlib
import math
import zlib
from dataclasses import dataclass
from typing import Any

import numpy as np

#: Tensors with more elements than this travel as a digest only (compared exactly).
MAX_ELEMENTS = 4_000_000


@dataclass(frozen=True)
class TensorData:
    """A tensor or array as numbers: ``data`` is float32 for floating tensors, int64 for
    integer ones, bool for bool (None when it was too large to carry)."""
    dtype: str                       # "torch.float32", "torch.int64", ... as torch names it
    shape: tuple[int, ...]
    data: np.ndarray | None
    digest: str                      # sha256 of the numbers, for exact comparisons
    subclass: str = ""               # the class name when it was not a plain tensor


@dataclass(frozen=True)
class ObjectInfo:
    """Any other object: the qualified names of its class and of every base class."""
    classes: tuple[str, ...]

    @property
    def type_name(self) -> str:
        return self.classes[0].rsplit(".", 1)[-1] if self.classes else "object"


@dataclass(frozen=True)
class TypeInfo:
    """A class used as a value (``type(x)``, an exception class, an isinstance target)."""
    classes: tuple[str, ...]


@dataclass(frozen=True)
class Raised:
    """An exception a call raised: its classes and its message."""
    classes: tuple[str, ...]
    message: str

    @property
    def type_name(self) -> str:
        return self.classes[0].rsplit(".", 1)[-1] if self.classes else "Exception"


def qualname(cls: type) -> str:
    module = getattr(cls, "__module__", "") or ""
    name = getattr(cls, "__qualname__", None) or getattr(cls, "__name__", "?")
    return name if module == "builtins" else f"{module}.{name}"


def class_names(cls: type) -> tuple[str, ...]:
    try:
        classes = type.__dict__["__mro__"].__get__(cls)      # not a class attribute a student set
    except (TypeError, KeyError):
        classes = (cls,)
    return tuple(qualname(c) for c in classes)


def _numbers(array: np.ndarray) -> tuple[np.ndarray | None, str]:
    array = np.ascontiguousarray(array)
    digest = hashlib.sha256(array.tobytes()).hexdigest()
    return (array if array.size <= MAX_ELEMENTS else None), digest


_TORCH: dict[str, Any] = {}


def capture() -> None:
    """Keep torch's own tensor functions, so that describing a tensor later uses them even
    if code has replaced ``torch.Tensor.numpy`` and the like in the meantime (the grading
    kernel calls this before any student code runs)."""
    import torch

    if _TORCH:
        return
    T = torch.Tensor
    _TORCH.update(torch=torch, Tensor=T, Parameter=torch.nn.Parameter, detach=T.detach, cpu=T.cpu,
                  abs=T.abs, float=T.float, long=T.long, numpy=T.numpy, is_complex=T.is_complex,
                  is_floating_point=T.is_floating_point, shape=T.shape, dtype=T.dtype,
                  disable=torch._C.DisableTorchFunction, isinstance=isinstance, type=type)


def describe_tensor(t: Any) -> TensorData:
    capture()
    f = _TORCH
    subclass = "" if f["type"](t) in (f["Tensor"], f["Parameter"]) else qualname(f["type"](t))
    with f["disable"]():                                  # a subclass cannot answer for itself
        base = f["cpu"](f["detach"](t))
        if f["is_complex"](base):
            base = f["abs"](base)
        dtype = str(f["dtype"].__get__(t))
        if dtype == "torch.bool":
            array = f["numpy"](base).astype(bool)
        elif f["is_floating_point"](base):
            array = f["numpy"](f["float"](base))
        else:
            array = f["numpy"](f["long"](base))
        shape = tuple(int(n) for n in f["shape"].__get__(base))
    data, digest = _numbers(array)
    return TensorData(dtype, shape, data, digest, subclass)


def describe(value: Any, depth: int = 0) -> Any:
    """``value`` as plain data (see the module docstring)."""
    if value is None or type(value) in (bool, int, float, str):
        return value
    if depth > 20:
        return ObjectInfo(class_names(type(value)))
    t = type(value)
    if t in (list, tuple):
        items = [describe(v, depth + 1) for v in list.__iter__(value)] if t is list else \
            [describe(v, depth + 1) for v in tuple.__iter__(value)]
        return items if t is list else tuple(items)
    if t is dict:
        return {describe(k, depth + 1): describe(v, depth + 1) for k, v in dict.items(value)
                if type(k) in (str, int, bool, float, tuple) or k is None}
    if t in (set, frozenset):
        return frozenset(describe(v, depth + 1) for v in value
                         if v is None or type(v) in (bool, int, float, str, tuple))
    if isinstance(value, type):
        return TypeInfo(class_names(value))
    if isinstance(value, BaseException):
        try:
            message = str(value)
        except Exception:                                # noqa: BLE001 - a message that fails
            message = "(a message that cannot be shown)"
        return Raised(class_names(type(value)), message[:2000])
    import torch

    if isinstance(value, torch.Tensor):
        return describe_tensor(value)
    if isinstance(value, torch.dtype):
        return TypeInfo((str(value),))
    if isinstance(value, torch.Size):
        return tuple(int(n) for n in value)
    if isinstance(value, np.ndarray) and t is np.ndarray:
        array = value.astype(np.float32) if value.dtype.kind == "f" else value
        data, digest = _numbers(array)
        return TensorData(f"numpy.{value.dtype}", tuple(value.shape), data, digest)
    if isinstance(value, np.generic) and type(value).__module__ == "numpy":
        return value.item()
    return ObjectInfo(class_names(t))


# ------------------------------------------------------------------ JSON
def to_json(value: Any) -> Any:
    """Plain data -> JSON-able data (tagged where JSON has no type of its own)."""
    if value is None or type(value) in (bool, int, str):
        return value
    if type(value) is float:
        return value if math.isfinite(value) else {"float": repr(value)}
    if type(value) is list:
        return [to_json(v) for v in value]
    if type(value) is tuple:
        return {"tuple": [to_json(v) for v in value]}
    if type(value) is dict:
        return {"dict": [[to_json(k), to_json(v)] for k, v in value.items()]}
    if type(value) is frozenset:
        return {"set": [to_json(v) for v in value]}
    if isinstance(value, TensorData):
        out = {"tensor": {"dtype": value.dtype, "shape": list(value.shape), "digest": value.digest,
                          "subclass": value.subclass}}
        if value.data is not None:
            out["tensor"]["kind"] = value.data.dtype.str
            out["tensor"]["data"] = base64.b64encode(zlib.compress(value.data.tobytes(), 1)).decode()
        return out
    if isinstance(value, ObjectInfo):
        return {"object": list(value.classes)}
    if isinstance(value, TypeInfo):
        return {"type": list(value.classes)}
    if isinstance(value, Raised):
        return {"raised": list(value.classes), "message": value.message}
    return to_json(describe(value))


_KINDS = {"<f4", "<i8", "|b1", "<f8", "<i4", "<i2", "|i1", "|u1", "<u2", "<u4", "<u8", "<f2"}


def from_json(obj: Any) -> Any:
    """JSON from :func:`to_json` -> plain data. Raises ValueError on anything else."""
    if obj is None or type(obj) in (bool, int, float, str):
        return obj
    if type(obj) is list:
        return [from_json(v) for v in obj]
    if type(obj) is not dict or len(obj) not in (1, 2):
        raise ValueError(f"not plain data: {str(obj)[:80]}")
    if "float" in obj:
        return float(str(obj["float"]))
    if "tuple" in obj:
        return tuple(from_json(v) for v in obj["tuple"])
    if "dict" in obj:
        return {_hashable(from_json(k)): from_json(v) for k, v in obj["dict"]}
    if "set" in obj:
        return frozenset(_hashable(from_json(v)) for v in obj["set"])
    if "object" in obj:
        return ObjectInfo(tuple(str(n) for n in obj["object"]))
    if "type" in obj:
        return TypeInfo(tuple(str(n) for n in obj["type"]))
    if "raised" in obj:
        return Raised(tuple(str(n) for n in obj["raised"]), str(obj.get("message", "")))
    if "tensor" in obj:
        t = obj["tensor"]
        shape = tuple(int(n) for n in t["shape"])
        data = None
        if "data" in t:
            if t.get("kind") not in _KINDS:
                raise ValueError("unknown array kind")
            raw = zlib.decompress(base64.b64decode(t["data"]), bufsize=1 << 20)
            data = np.frombuffer(raw, dtype=np.dtype(t["kind"]))
            if data.size != math.prod(shape):
                raise ValueError("array size does not match its shape")
            data = data.reshape(shape)
        return TensorData(str(t["dtype"]), shape, data, str(t["digest"]), str(t.get("subclass", "")))
    raise ValueError(f"not plain data: {str(obj)[:80]}")


def _hashable(value: Any) -> Any:
    if isinstance(value, list):
        return tuple(_hashable(v) for v in value)
    return value


def fingerprint(value: Any) -> str:
    """A short digest of plain data (tensors by their numbers), to tell whether two runs
    gave a check the same inputs."""
    def walk(v: Any) -> Any:
        if isinstance(v, TensorData):
            return ["T", v.dtype, list(v.shape), v.digest]
        if isinstance(v, (list, tuple)):
            return [type(v).__name__, [walk(x) for x in v]]
        if isinstance(v, dict):
            return ["D", sorted(([walk(k), walk(x)] for k, x in v.items()), key=repr)]
        if isinstance(v, frozenset):
            return ["S", sorted((walk(x) for x in v), key=repr)]
        if isinstance(v, (ObjectInfo, TypeInfo)):
            return [type(v).__name__, list(v.classes)]
        if isinstance(v, float):
            return ["F", repr(v)]
        return v
    return hashlib.sha256(repr(walk(value)).encode()).hexdigest()[:16]
