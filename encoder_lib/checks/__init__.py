"""Comparisons that the notebooks' visible tests use. Each raises AssertionError with a
message a student can act on: which rule failed, what was expected, what came back,
where it first differs, and a hint.

Order the checks of a test from specific to general: the shape, the dtype and the
rule-specific properties (rows sum to 1, padding gets no weight, a ValueError) come
before the final "values differ from the reference", so that a student reads the
message that names the rule they broke. Call the student's function through
:func:`checked_call` so that a crash inside it says which call failed.

To check *how* an answer computes something, run it inside :class:`RowWatch` (how many rows
of the input a weight was applied to: "the output layer runs at the chosen rows only") or
:class:`TorchCalls` (which torch functions it called, by whatever name: "the batch is moved to
``policy.device``"). :func:`record_run` records a number of the student's own run in the
notebook, for a quiz about that run (:func:`check_argmax`'s ``record``).

Each check describes its inputs as plain data (:mod:`encoder_lib.checks.plain`) and
asks the rule in :mod:`encoder_lib.checks.rules`; the grader decides a submission's
tests with the same rules, in its own process.
"""
from __future__ import annotations

from typing import Any, Callable, Iterable, Sequence

import torch

from encoder_lib.checks import rules
from encoder_lib.checks.calls import (LIBRARY_ATTENTION, LIBRARY_LAYER_NORM, LIBRARY_SOFTMAX,
                                      checked_call, forbid, forbid_all)
from encoder_lib.checks.calls import RowWatch, TorchCalls
from encoder_lib.checks.plain import describe
from encoder_lib.checks.record import record_run

__all__ = ["check_type", "check_shape", "check_dtype", "check_close", "check_sequence", "check_choice",
           "check_finite", "check_raises", "check_argmax", "checked_call", "forbid", "forbid_all",
           "record_run", "RowWatch", "TorchCalls", "LIBRARY_SOFTMAX", "LIBRARY_ATTENTION", "LIBRARY_LAYER_NORM"]

def _raise_if(message: str | None) -> None:
    if message is not None:
        raise AssertionError(message)


def check_type(name: str, value: Any, expected: type | tuple, hint: str | None = None) -> None:
    _raise_if(rules.check_type(name, describe(value), describe(expected), hint))


def check_shape(name: str, tensor: Any, expected: Sequence[int], hint: str | None = None) -> None:
    """``tensor`` is a torch.Tensor of exactly ``expected`` shape."""
    _raise_if(rules.check_shape(name, describe(tensor), describe(tuple(expected)), hint))


def check_dtype(name: str, tensor: Any, expected: torch.dtype, hint: str | None = None) -> None:
    """``tensor`` is a torch.Tensor of dtype ``expected``; the message names both dtypes."""
    _raise_if(rules.check_dtype(name, describe(tensor), describe(expected), hint))


def check_finite(name: str, tensor: Any, hint: str | None = None, rule: str | None = None) -> None:
    """No NaN or infinity in ``tensor``; reports the first bad position."""
    _raise_if(rules.check_finite(name, describe(tensor), hint, rule))


def check_close(name: str, got: Any, expected: torch.Tensor, atol: float = 1e-5,
                rtol: float = 1e-4, hint: str | None = None, rule: str | None = None) -> None:
    """Same shape and values within tolerance; reports the first mismatching position.
    ``rule``, when given, names the requirement the comparison checks."""
    _raise_if(rules.check_close(name, describe(got), describe(expected), atol, rtol, hint, rule))


def check_sequence(name: str, got: Any, expected: Sequence, hint: str | None = None,
                   rule: str | None = None) -> None:
    """Two sequences (lists of tokens or ids) are equal; reports the first difference."""
    _raise_if(rules.check_sequence(name, describe(got), describe(expected), hint, rule))


def check_choice(name: str, value: Any, options: Iterable, hint: str | None = None) -> None:
    """A quiz answer is one of the allowed options (a format check, not a correctness one)."""
    _raise_if(rules.check_choice(name, describe(value), describe(list(options)), hint))


def check_argmax(name: str, value: Any, scores: Sequence[float], atol: float = 0.0,
                 record: str | None = None, hint: str | None = None, rule: str | None = None) -> None:
    """``value`` is an int index at which ``scores`` reaches its maximum (within ``atol``:
    any of several tied places counts).

    ``record`` names where the notebook recorded these scores with :func:`record_run`
    (``"probe_results/minilm/wic"``: the recorded value ``probe_results``, then keys into
    it). Here the check uses ``scores`` as given; the grader uses the scores the student's
    own run recorded in the notebook handed in (it reruns the notebook with other settings,
    whose scores may peak elsewhere)."""
    _raise_if(rules.check_argmax(name, describe(value), describe(scores), atol, hint, rule))


def check_raises(call: str, fn: Callable, exception: type[BaseException], *args: Any,
                 hint: str | None = None, rule: str | None = None, **kwargs: Any) -> BaseException | None:
    """``fn(*args, **kwargs)`` raises ``exception`` with a non-empty message; returns it.
    ``call`` is how the message shows the call, e.g. ``"split_heads(x with d=10, 3)"``."""
    try:
        fn(*args, **kwargs)
    except Exception as err:   # noqa: BLE001 - any other error is the student's to fix
        _raise_if(rules.check_raises(call, describe(err), describe(exception), hint, rule))
        return err
    _raise_if(rules.check_raises(call, None, describe(exception), hint, rule))
    return None
