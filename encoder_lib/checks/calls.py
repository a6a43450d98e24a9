"""Calling the student's code from a test: say which call failed, and forbid the library
functions an exercise asks the student to write themselves."""
from __future__ import annotations

import contextlib
from typing import Any, Callable, Iterable

import torch
import torch.nn.functional as F

#: torch's softmax functions, forbidden where an exercise asks for a hand-written softmax.
LIBRARY_SOFTMAX = [(torch, "softmax"), (torch.Tensor, "softmax"), (F, "softmax"), (torch.special, "softmax"),
                   (torch, "log_softmax"), (torch.Tensor, "log_softmax"), (F, "log_softmax")]
#: ... and torch's fused attention on top of them.
LIBRARY_ATTENTION = LIBRARY_SOFTMAX + [(F, "scaled_dot_product_attention")]
#: torch's LayerNorm functions.
LIBRARY_LAYER_NORM = [(F, "layer_norm"), (torch, "layer_norm")]


@contextlib.contextmanager
def forbid(owner: Any, attribute: str, reason: str | None = None):
    """Within the block, calling ``owner.attribute`` raises AssertionError.

    Tests use it to make sure an exercise is not solved by calling the library
    function it asks the student to write (for example ``torch.softmax``).
    """
    original = getattr(owner, attribute)
    label = f"{getattr(owner, '__name__', type(owner).__name__)}.{attribute}"

    def _blocked(*args, **kwargs):
        raise AssertionError(reason or f"Rule: this exercise asks you to write it yourself: "
                                       f"do not call {label}.")

    setattr(owner, attribute, _blocked)
    try:
        yield
    finally:
        setattr(owner, attribute, original)


@contextlib.contextmanager
def forbid_all(targets: Iterable[tuple[Any, str]], reason: str | None = None):
    """:func:`forbid` for every ``(owner, attribute)`` of ``targets`` at once."""
    with contextlib.ExitStack() as stack:
        for owner, attribute in targets:
            stack.enter_context(forbid(owner, attribute, reason))
        yield


def checked_call(call: str, fn: Callable, *args: Any, forbidden: Iterable[tuple[Any, str]] = (),
                 **kwargs: Any) -> Any:
    """``fn(*args, **kwargs)``, with ``forbidden`` library functions made to fail.

    An error inside ``fn`` comes back as an AssertionError that names the call (``call``
    is how the student would write it, e.g. ``"wordpiece('xx', {'x'})"``) and the error,
    so a failing test, hidden ones included, says which of its calls went wrong.
    """
    try:
        with forbid_all(forbidden):
            return fn(*args, **kwargs)
    except AssertionError as err:
        raise AssertionError(f"{call}: {err}") from None
    except NotImplementedError:
        raise
    except Exception as err:   # noqa: BLE001 - report any crash of the student's code
        raise AssertionError(f"{call} raised {type(err).__name__}: {err}") from err
