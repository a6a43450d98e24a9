"""Comparisons that the notebooks' visible tests use. Each raises AssertionError with a
message a student can act on: which rule failed, what was expected, what came back,
where it first differs, and a hint.

Order the checks of a test from specific to general: the shape, the dtype and the
rule-specific properties (rows sum to 1, padding gets no weight, a ValueError) come
before the final "values differ from the reference", so that a student reads the
message that names the rule they broke. Call the student's function through
:func:`checked_call` so that a crash inside it says which call failed.
"""
from __future__ import annotations

import contextlib
from typing import Any, Callable, Iterable, Sequence

import torch

from encoder_lib.checks.calls import (LIBRARY_ATTENTION, LIBRARY_LAYER_NORM, LIBRARY_SOFTMAX,
                                      checked_call, forbid, forbid_all)

__all__ = ["check_type", "check_shape", "check_dtype", "check_close", "check_sequence", "check_choice",
           "check_finite", "check_raises", "checked_call", "forbid", "forbid_all",
           "LIBRARY_SOFTMAX", "LIBRARY_ATTENTION", "LIBRARY_LAYER_NORM"]

#: Names students know for the integer and float dtypes, used in messages.
DTYPE_WORDS = {torch.long: "torch.long (int64)", torch.int32: "torch.int32", torch.bool: "torch.bool",
               torch.float32: "torch.float32", torch.float64: "torch.float64 (double)",
               torch.float16: "torch.float16", torch.bfloat16: "torch.bfloat16"}


def _fail(message: str, hint: str | None) -> None:
    raise AssertionError(message + (f"\nHint: {hint}" if hint else ""))


def _rule(rule: str | None) -> str:
    return f"Rule: {rule}\n" if rule else ""


def check_type(name: str, value: Any, expected: type | tuple, hint: str | None = None) -> None:
    if not isinstance(value, expected):
        want = expected.__name__ if isinstance(expected, type) else " or ".join(t.__name__ for t in expected)
        _fail(f"{name} should be a {want}, but it is a {type(value).__name__}.", hint)


def check_shape(name: str, tensor: Any, expected: Sequence[int], hint: str | None = None) -> None:
    """``tensor`` is a torch.Tensor of exactly ``expected`` shape."""
    check_type(name, tensor, torch.Tensor, hint)
    if tuple(tensor.shape) != tuple(expected):
        _fail(f"{name} has shape {tuple(tensor.shape)}, expected {tuple(expected)}.", hint)


def check_dtype(name: str, tensor: Any, expected: torch.dtype, hint: str | None = None) -> None:
    """``tensor`` is a torch.Tensor of dtype ``expected``; the message names both dtypes."""
    check_type(name, tensor, torch.Tensor, hint)
    if tensor.dtype != expected:
        got, want = DTYPE_WORDS.get(tensor.dtype, str(tensor.dtype)), DTYPE_WORDS.get(expected, str(expected))
        _fail(f"{name} has dtype {got}, expected {want}.", hint or f"create it with dtype={expected}.")


def check_finite(name: str, tensor: Any, hint: str | None = None, rule: str | None = None) -> None:
    """No NaN or infinity in ``tensor``; reports the first bad position."""
    check_type(name, tensor, torch.Tensor, hint)
    bad = ~torch.isfinite(tensor.detach().float())
    if bad.any():
        first = tuple(int(i) for i in bad.nonzero()[0])
        _fail(f"{_rule(rule)}{name} contains {int(bad.sum())} NaN or infinite values "
              f"(the first at index {first}: {tensor[first].item()}).", hint)


def check_close(name: str, got: Any, expected: torch.Tensor, atol: float = 1e-5,
                rtol: float = 1e-4, hint: str | None = None, rule: str | None = None) -> None:
    """Same shape and values within tolerance; reports the first mismatching position.
    ``rule``, when given, names the requirement the comparison checks."""
    check_shape(name, got, expected.shape, hint)
    got_f = got.detach().float().cpu()
    exp_f = expected.detach().float().cpu()
    bad = ~torch.isclose(got_f, exp_f, atol=atol, rtol=rtol, equal_nan=False)
    if bad.any():
        first = tuple(int(i) for i in bad.nonzero()[0])
        worst = (got_f - exp_f).abs().nan_to_num(float("inf")).max().item()
        _fail(
            f"{_rule(rule)}{name} differs from the expected values at {int(bad.sum())} of {bad.numel()} "
            f"positions.\nFirst mismatch at index {first}: got {got_f[first].item():.6g}, "
            f"expected {exp_f[first].item():.6g} (largest difference {worst:.3g}, tolerance {atol:g}).",
            hint)


def check_sequence(name: str, got: Any, expected: Sequence, hint: str | None = None,
                   rule: str | None = None) -> None:
    """Two sequences (lists of tokens or ids) are equal; reports the first difference."""
    if isinstance(got, torch.Tensor):
        got = got.tolist()
    check_type(name, got, (list, tuple), hint)
    got, expected = list(got), list(expected)
    for i, (g, e) in enumerate(zip(got, expected)):
        if g != e:
            _fail(f"{_rule(rule)}{name} first differs at position {i}: got {g!r}, expected {e!r}.\n"
                  f"  got:      {got}\n  expected: {expected}", hint)
    if len(got) != len(expected):
        _fail(f"{_rule(rule)}{name} has length {len(got)}, expected {len(expected)}.\n"
              f"  got:      {got}\n  expected: {expected}", hint)


def check_choice(name: str, value: Any, options: Iterable, hint: str | None = None) -> None:
    """A quiz answer is one of the allowed options (a format check, not a correctness one)."""
    options = list(options)
    if value is None:
        _fail(f"{name} is still None: set it to one of {options}.", hint)
    if value not in options or type(value) not in {type(o) for o in options}:
        _fail(f"{name} = {value!r} is not one of the allowed answers {options}.", hint)


def check_raises(call: str, fn: Callable, exception: type[BaseException], *args: Any,
                 hint: str | None = None, rule: str | None = None, **kwargs: Any) -> BaseException:
    """``fn(*args, **kwargs)`` raises ``exception`` with a non-empty message; returns it.
    ``call`` is how the message shows the call, e.g. ``"split_heads(x with d=10, 3)"``."""
    try:
        fn(*args, **kwargs)
    except exception as err:
        if not str(err).strip():
            _fail(f"{_rule(rule)}{call} raised {exception.__name__} without a message: say what is wrong.",
                  hint)
        return err
    except Exception as err:   # noqa: BLE001 - any other error is the student's to fix
        _fail(f"{_rule(rule)}{call} should raise {exception.__name__}, but it raised "
              f"{type(err).__name__}: {err}", hint)
    _fail(f"{_rule(rule)}{call} should raise {exception.__name__}, but it returned normally.", hint)
    raise AssertionError  # unreachable: _fail raises


