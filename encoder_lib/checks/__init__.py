"""Comparisons that the notebooks' visible tests use. Each raises AssertionError with a
message a student can act on: what was expected, what came back, where it first
differs, and a hint."""
from __future__ import annotations

import contextlib
from typing import Any, Iterable, Sequence

import torch


def _fail(message: str, hint: str | None) -> None:
    raise AssertionError(message + (f"\nHint: {hint}" if hint else ""))


def check_type(name: str, value: Any, expected: type | tuple, hint: str | None = None) -> None:
    if not isinstance(value, expected):
        want = expected.__name__ if isinstance(expected, type) else " or ".join(t.__name__ for t in expected)
        _fail(f"{name} should be a {want}, but it is a {type(value).__name__}.", hint)


def check_shape(name: str, tensor: Any, expected: Sequence[int], hint: str | None = None) -> None:
    """``tensor`` is a torch.Tensor of exactly ``expected`` shape."""
    check_type(name, tensor, torch.Tensor, hint)
    if tuple(tensor.shape) != tuple(expected):
        _fail(f"{name} has shape {tuple(tensor.shape)}, expected {tuple(expected)}.", hint)


def check_close(name: str, got: Any, expected: torch.Tensor, atol: float = 1e-5,
                rtol: float = 1e-4, hint: str | None = None) -> None:
    """Same shape and values within tolerance; reports the first mismatching position."""
    check_shape(name, got, expected.shape, hint)
    got_f = got.detach().float().cpu()
    exp_f = expected.detach().float().cpu()
    bad = ~torch.isclose(got_f, exp_f, atol=atol, rtol=rtol, equal_nan=False)
    if bad.any():
        first = tuple(int(i) for i in bad.nonzero()[0])
        worst = (got_f - exp_f).abs().nan_to_num(float("inf")).max().item()
        _fail(
            f"{name} differs from the expected values at {int(bad.sum())} of {bad.numel()} positions.\n"
            f"First mismatch at index {first}: got {got_f[first].item():.6g}, "
            f"expected {exp_f[first].item():.6g} (largest difference {worst:.3g}, tolerance {atol:g}).",
            hint)


def check_sequence(name: str, got: Any, expected: Sequence, hint: str | None = None) -> None:
    """Two sequences (lists of tokens or ids) are equal; reports the first difference."""
    if isinstance(got, torch.Tensor):
        got = got.tolist()
    check_type(name, got, (list, tuple), hint)
    got, expected = list(got), list(expected)
    for i, (g, e) in enumerate(zip(got, expected)):
        if g != e:
            _fail(f"{name} first differs at position {i}: got {g!r}, expected {e!r}.\n"
                  f"  got:      {got}\n  expected: {expected}", hint)
    if len(got) != len(expected):
        _fail(f"{name} has length {len(got)}, expected {len(expected)}.\n"
              f"  got:      {got}\n  expected: {expected}", hint)


def check_choice(name: str, value: Any, options: Iterable, hint: str | None = None) -> None:
    """A quiz answer is one of the allowed options (a format check, not a correctness one)."""
    options = list(options)
    if value is None:
        _fail(f"{name} is still None: set it to one of {options}.", hint)
    if value not in options:
        _fail(f"{name} = {value!r} is not one of the allowed answers {options}.", hint)


@contextlib.contextmanager
def forbid(owner: Any, attribute: str, reason: str | None = None):
    """Within the block, calling ``owner.attribute`` raises AssertionError.

    Hidden tests use it to make sure an exercise is not solved by calling the library
    function it asks the student to write (for example ``torch.softmax``).
    """
    original = getattr(owner, attribute)
    label = f"{getattr(owner, '__name__', type(owner).__name__)}.{attribute}"

    def _blocked(*args, **kwargs):
        raise AssertionError(reason or f"This exercise asks you to write it yourself: "
                                       f"do not call {label}.")

    setattr(owner, attribute, _blocked)
    try:
        yield
    finally:
        setattr(owner, attribute, original)
