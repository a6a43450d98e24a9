"""The decisions behind the checks, on plain data (:mod:`encoder_lib.checks.plain`).

Each function takes what a check was given, described as plain values, and returns
``None`` when the rule holds or the message a student reads when it does not. The
checks in :mod:`encoder_lib.checks` call these in a notebook; the grader calls the same
functions in its own process on values the notebook reported, so a verdict never
depends on code that ran beside the student's.
"""
from __future__ import annotations

import operator
from typing import Any

import numpy as np

from encoder_lib.checks.plain import ObjectInfo, Raised, TensorData, TypeInfo

#: Names students know for the integer and float dtypes, used in messages.
DTYPE_WORDS = {"torch.int64": "torch.long (int64)", "torch.int32": "torch.int32", "torch.bool": "torch.bool",
               "torch.float32": "torch.float32", "torch.float64": "torch.float64 (double)",
               "torch.float16": "torch.float16", "torch.bfloat16": "torch.bfloat16"}


def _with_hint(message: str, hint: str | None) -> str:
    return message + (f"\nHint: {hint}" if hint else "")


def _rule(rule: str | None) -> str:
    return f"Rule: {rule}\n" if rule else ""


def type_name(value: Any) -> str:
    if isinstance(value, TensorData):
        return value.subclass.rsplit(".", 1)[-1] if value.subclass else "Tensor"
    if isinstance(value, (ObjectInfo,)):
        return value.type_name
    if isinstance(value, TypeInfo):
        return "type"
    if isinstance(value, Raised):
        return value.type_name
    if isinstance(value, frozenset):
        return "set"
    return type(value).__name__


def class_names_of(value: Any) -> tuple[str, ...]:
    """The qualified class names a plain value stands for (its class first)."""
    if isinstance(value, TensorData):
        base = ("torch.Tensor", "torch._C.TensorBase", "object")
        return ((value.subclass,) + base) if value.subclass else base
    if isinstance(value, ObjectInfo):
        return value.classes
    if isinstance(value, TypeInfo):
        return ("type", "object")
    if isinstance(value, Raised):
        return value.classes
    names = {frozenset: "frozenset"}
    return (names.get(type(value), type(value).__name__), "object")


#: Built-in value classes: a class of the notebook's own derived from one is not taken for it.
VALUE_CLASSES = {"list", "tuple", "dict", "str", "int", "float", "bool", "set", "frozenset", "bytes", "complex"}


def is_instance(value: Any, expected: tuple[TypeInfo, ...]) -> bool:
    mine = set(class_names_of(value))
    if isinstance(value, TensorData) and value.subclass:
        return False                         # a tensor subclass is not taken for a tensor
    if isinstance(value, ObjectInfo) and value.classes and value.classes[0].startswith("__main__."):
        # a list (str, int ...) subclass written in the notebook can answer .index or == as it likes
        mine -= VALUE_CLASSES
    return any(t.classes and t.classes[0] in mine for t in expected)


def _type_words(expected: tuple[TypeInfo, ...]) -> str:
    names = [t.classes[0].rsplit(".", 1)[-1] if t.classes else "?" for t in expected]
    return " or ".join(names)


def types_of(expected: Any) -> tuple[TypeInfo, ...]:
    if isinstance(expected, TypeInfo):
        return (expected,)
    if isinstance(expected, (tuple, list)):
        return tuple(t for t in expected if isinstance(t, TypeInfo))
    return ()


# ------------------------------------------------------------------ the rules
def check_type(name: str, value: Any, expected: Any, hint: str | None = None) -> str | None:
    types = types_of(expected)
    if not is_instance(value, types):
        return _with_hint(f"{name} should be a {_type_words(types)}, but it is a {type_name(value)}.", hint)
    return None


TENSOR = (TypeInfo(("torch.Tensor",)),)


def check_shape(name: str, tensor: Any, expected: Any, hint: str | None = None) -> str | None:
    failed = check_type(name, tensor, TENSOR, hint)
    if failed:
        return failed
    want = tuple(int(n) for n in expected) if isinstance(expected, (tuple, list)) else expected
    if tensor.shape != want:
        return _with_hint(f"{name} has shape {tensor.shape}, expected {want}.", hint)
    return None


def check_dtype(name: str, tensor: Any, expected: Any, hint: str | None = None) -> str | None:
    failed = check_type(name, tensor, TENSOR, hint)
    if failed:
        return failed
    want = expected.classes[0] if isinstance(expected, TypeInfo) and expected.classes else str(expected)
    if tensor.dtype != want:
        got, wanted = DTYPE_WORDS.get(tensor.dtype, tensor.dtype), DTYPE_WORDS.get(want, want)
        return _with_hint(f"{name} has dtype {got}, expected {wanted}.", hint or f"create it with dtype={want}.")
    return None


def _numbers(t: TensorData) -> np.ndarray | None:
    return None if t.data is None else t.data.astype(np.float32, copy=False)


def check_finite(name: str, tensor: Any, hint: str | None = None, rule: str | None = None) -> str | None:
    failed = check_type(name, tensor, TENSOR, hint)
    if failed:
        return failed
    values = _numbers(tensor)
    if values is None:
        return None
    bad = ~np.isfinite(values)
    if bad.any():
        first = tuple(int(i) for i in np.argwhere(bad)[0])
        return _with_hint(f"{_rule(rule)}{name} contains {int(bad.sum())} NaN or infinite values "
                          f"(the first at index {first}: {values[first].item()}).", hint)
    return None


def check_close(name: str, got: Any, expected: Any, atol: float = 1e-5, rtol: float = 1e-4,
                hint: str | None = None, rule: str | None = None) -> str | None:
    failed = check_shape(name, got, expected.shape if isinstance(expected, TensorData) else (), hint)
    if failed:
        return failed
    g, e = _numbers(got), _numbers(expected)
    if g is None or e is None:                 # too large to carry: only an exact match counts
        if got.digest == expected.digest:
            return None
        return _with_hint(f"{_rule(rule)}{name} differs from the expected values.", hint)
    with np.errstate(invalid="ignore", over="ignore"):
        bad = ~np.isclose(g, e, atol=atol, rtol=rtol, equal_nan=False)
    if bad.any():
        first = tuple(int(i) for i in np.argwhere(bad)[0])
        with np.errstate(invalid="ignore", over="ignore"):
            diff = np.nan_to_num(np.abs(g.astype(np.float64) - e), nan=np.inf)
        worst = float(diff.max())
        return _with_hint(
            f"{_rule(rule)}{name} differs from the expected values at {int(bad.sum())} of {bad.size} "
            f"positions.\nFirst mismatch at index {first}: got {float(g[first]):.6g}, "
            f"expected {float(e[first]):.6g} (largest difference {worst:.3g}, tolerance {atol:g}).", hint)
    return None


def _as_list(value: Any) -> Any:
    if isinstance(value, TensorData) and not value.subclass and value.data is not None:
        return value.data.tolist()
    return value


def check_sequence(name: str, got: Any, expected: Any, hint: str | None = None,
                   rule: str | None = None) -> str | None:
    got = _as_list(got)
    if not isinstance(got, (list, tuple)):
        return _with_hint(f"{name} should be a list or tuple, but it is a {type_name(got)}.", hint)
    got, expected = list(got), list(_as_list(expected))
    for i, (g, e) in enumerate(zip(got, expected)):
        if not same(g, e):
            return _with_hint(f"{_rule(rule)}{name} first differs at position {i}: got {show(g)}, "
                              f"expected {show(e)}.\n  got:      {show(got)}\n  expected: {show(expected)}", hint)
    if len(got) != len(expected):
        return _with_hint(f"{_rule(rule)}{name} has length {len(got)}, expected {len(expected)}.\n"
                          f"  got:      {show(got)}\n  expected: {show(expected)}", hint)
    return None


def check_choice(name: str, value: Any, options: Any, hint: str | None = None) -> str | None:
    options = list(options)
    if value is None:
        return _with_hint(f"{name} is still None: set it to one of {options}.", hint)
    if not any(same(value, o) and type(value) is type(o) for o in options):
        return _with_hint(f"{name} = {show(value)} is not one of the allowed answers {options}.", hint)
    return None


def check_argmax(name: str, value: Any, scores: Any, atol: float = 0.0, hint: str | None = None,
                 rule: str | None = None) -> str | None:
    """``value`` is an int (not a bool) index of ``scores`` (a list of numbers) whose score
    is the maximum, within ``atol``."""
    scores = _as_list(scores)
    if isinstance(scores, tuple):
        scores = list(scores)
    if not isinstance(scores, list) or not scores or any(
            isinstance(s, bool) or not isinstance(s, (int, float)) for s in scores):
        return _with_hint(f"{_rule(rule)}the scores to compare {name} with could not be read.", hint)
    if type(value) is not int:
        return _with_hint(f"{_rule(rule)}{name} should be an int, but it is a {type_name(value)}.", hint)
    if not 0 <= value < len(scores):
        return _with_hint(f"{_rule(rule)}{name} = {value} is not one of the places 0 to {len(scores) - 1}.", hint)
    best = max(scores)
    if scores[value] < best - atol:
        peaks = [i for i, s in enumerate(scores) if s >= best - atol]
        return _with_hint(f"{_rule(rule)}{name} = {value}, where the score is {scores[value]:.4g}; the highest "
                          f"score, {best:.4g}, is at {' or '.join(map(str, peaks))}.", hint)
    return None


def check_raises(call: str, outcome: Any, exception: Any, hint: str | None = None,
                 rule: str | None = None) -> str | None:
    """``outcome``: the :class:`Raised` of the call, or ``None`` when it returned."""
    want = exception.classes[0] if isinstance(exception, TypeInfo) and exception.classes else "Exception"
    short = want.rsplit(".", 1)[-1]
    if isinstance(outcome, Raised):
        if want in outcome.classes:
            if not outcome.message.strip():
                return _with_hint(f"{_rule(rule)}{call} raised {short} without a message: say what is wrong.",
                                  hint)
            return None
        return _with_hint(f"{_rule(rule)}{call} should raise {short}, but it raised "
                          f"{outcome.type_name}: {outcome.message}", hint)
    return _with_hint(f"{_rule(rule)}{call} should raise {short}, but it returned normally.", hint)


# ------------------------------------------------------------------ comparisons (asserts)
def same(a: Any, b: Any) -> bool:
    """``a == b`` on plain data, tensors compared by their numbers."""
    if isinstance(a, TensorData) or isinstance(b, TensorData):
        if not (isinstance(a, TensorData) and isinstance(b, TensorData)) or a.subclass or b.subclass:
            return False
        if a.shape != b.shape:
            return False
        if a.data is None or b.data is None:
            return a.digest == b.digest
        return bool(np.array_equal(a.data.astype(np.float64), b.data.astype(np.float64)))
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        return type(a) is type(b) and len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    if isinstance(a, (ObjectInfo, TypeInfo, Raised)) or isinstance(b, (ObjectInfo, TypeInfo, Raised)):
        return type(a) is type(b) and a == b
    try:
        return bool(a == b)
    except Exception:                                 # noqa: BLE001
        return False


def _identical(a: Any, b: Any) -> bool:
    if a is None or b is None or isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    return same(a, b) and type(a) is type(b)


def _contains(container: Any, item: Any) -> bool:
    if isinstance(container, dict):
        return any(same(item, k) for k in container)
    if isinstance(container, str):
        return isinstance(item, str) and item in container
    if isinstance(container, (list, tuple, frozenset)):
        return any(same(item, x) for x in container)
    return False


def _order(op):
    def compare(a: Any, b: Any) -> bool:
        if isinstance(a, bool) or isinstance(b, bool) or not all(
                isinstance(x, (int, float)) for x in (a, b)):
            if isinstance(a, str) and isinstance(b, str):
                return op(a, b)
            return False
        return op(a, b)
    return compare


COMPARISONS = {
    "==": same, "!=": lambda a, b: not same(a, b),
    "is": _identical, "is not": lambda a, b: not _identical(a, b),
    "in": lambda a, b: _contains(b, a), "not in": lambda a, b: not _contains(b, a),
    "<": _order(operator.lt), "<=": _order(operator.le), ">": _order(operator.gt), ">=": _order(operator.ge),
}

def scalar(value: Any) -> Any:
    """A one-element plain tensor as the Python number it holds (as ``tensor.item()``)."""
    if isinstance(value, TensorData) and not value.subclass and value.data is not None and value.data.size == 1:
        item = value.data.reshape(-1)[0].item()
        return bool(item) if value.dtype == "torch.bool" else item
    return value


def compare(op: str, left: Any, right: Any) -> bool:
    """Whether ``left op right`` holds on plain data (``op`` as Python writes it); a
    one-element tensor compared with a number counts as that number, as in Python."""
    if isinstance(left, TensorData) != isinstance(right, TensorData):
        left, right = scalar(left), scalar(right)
    return COMPARISONS[op](left, right)


def near(value: Any, expected: Any, tolerance: Any, op: str = "<") -> bool:
    """``abs(value - expected) < tolerance`` (``op`` "<" or "<=") on numbers."""
    value, expected, tolerance = scalar(value), scalar(expected), scalar(tolerance)
    numbers = (value, expected, tolerance)
    if any(isinstance(x, bool) or not isinstance(x, (int, float)) for x in numbers):
        return False
    diff = abs(value - expected)
    return diff < tolerance if op == "<" else diff <= tolerance


def show(value: Any, limit: int = 300) -> str:
    """A short repr of plain data for messages."""
    if isinstance(value, TensorData):
        if value.data is not None and value.data.size <= 12:
            text = f"tensor({value.data.tolist()})"
        else:
            text = f"a {value.dtype} tensor of shape {value.shape}"
    elif isinstance(value, (ObjectInfo, TypeInfo)):
        text = f"<{value.classes[0] if value.classes else '?'}>"
    elif isinstance(value, Raised):
        text = f"{value.type_name}: {value.message}"
    elif isinstance(value, list):
        text = "[" + ", ".join(show(v, limit) for v in value) + "]"
    elif isinstance(value, tuple):
        text = "(" + ", ".join(show(v, limit) for v in value) + ("," if len(value) == 1 else "") + ")"
    else:
        text = repr(value)
    return text if len(text) <= limit else text[:limit - 3] + "..."
