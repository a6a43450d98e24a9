"""Calling the student's code from a test: say which call failed, and forbid the library
functions an exercise asks the student to write themselves.

A ban is decided by what ran, not by the name it was called under:

- torch's functions (softmax, attention, LayerNorm, ...) by the ATen operators they run,
  watched by a TorchDispatchMode: ``torch.softmax``, ``x.softmax``, ``F.softmax`` captured
  before the test, ``nn.Softmax()``, ``torch.ops.aten._softmax`` all reach ``aten._softmax``;
- a Python function (a course class's ``forward``, ``weights.bert_to_ours``) by its code
  object: the same mode raises when an operator runs while that code is on the stack
  (between the operator and the ``with``), so a reference captured earlier counts as soon
  as it computes anything; the attribute itself is also replaced for the block, so a call
  by name (``super().forward``, a reference module's ``ref(x)``) fails before it starts.
  (No ``__code__`` swapping, no ``sys.settrace``/``setprofile``: a grading kernel may refuse
  them, and debuggers and coverage tools own the trace hooks.)

Either way the AssertionError ("Rule: this exercise asks you to write it yourself: do not
call F.layer_norm / nn.LayerNorm.") is raised inside the forbidden call, and everything is
put back when the block ends, also when it raises. Code that does not run the banned code
(a hand-written softmax, the class's other methods) passes. The mode's Python callback
costs a few microseconds per operator, only inside a block with a ban.
"""
from __future__ import annotations

import contextlib
import sys
import types
from dataclasses import dataclass
from typing import Any, Callable, Iterable

import torch
from torch.overrides import TorchFunctionMode
from torch.utils._python_dispatch import TorchDispatchMode


def _aten(*names: str) -> frozenset:
    """The ATen operators of these names that this torch has (packets: every overload)."""
    return frozenset(getattr(torch.ops.aten, name) for name in names if hasattr(torch.ops.aten, name))


# What reaches the dispatcher (torch 2.13, CPU and CUDA): torch.softmax, Tensor.softmax,
# F.softmax, torch.special.softmax, nn.Softmax, F.softmin and aten.softmax all run
# aten._softmax; softmax/special_softmax/log_softmax/layer_norm are composite and are
# listed for modes that see them undecomposed.
_SOFTMAX = _aten("_softmax", "_safe_softmax", "_masked_softmax", "softmax", "special_softmax")
_LOG_SOFTMAX = _aten("_log_softmax", "log_softmax", "special_log_softmax")
# F.scaled_dot_product_attention runs one of the fused kernels, or (dropout on the CPU) the
# math path, which runs aten._safe_softmax; nn.MultiheadAttention and
# nn.TransformerEncoderLayer in eval mode without grad run their own fused operators.
_ATTENTION = _aten("scaled_dot_product_attention", "_scaled_dot_product_attention_math",
                   "_scaled_dot_product_attention_math_for_mps", "_scaled_dot_product_flash_attention",
                   "_scaled_dot_product_flash_attention_for_cpu", "_scaled_dot_product_efficient_attention",
                   "_scaled_dot_product_cudnn_attention", "_scaled_dot_product_fused_attention_overrideable",
                   "_flash_attention_forward", "_flash_attention_forward_no_dropout_inplace",
                   "_efficient_attention_forward", "_safe_softmax", "_native_multi_head_attention",
                   "_transformer_encoder_layer_fwd")
_LAYER_NORM = _aten("native_layer_norm", "layer_norm", "_transformer_encoder_layer_fwd")
# LayerNorm by another name: group_norm with one group, instance/batch norm of a reshaped x
_OTHER_NORMS = _aten("native_group_norm", "group_norm", "native_batch_norm", "batch_norm", "instance_norm",
                     "_native_batch_norm_legit", "_native_batch_norm_legit_no_training",
                     "_native_batch_norm_legit_functional", "_batch_norm_with_update",
                     "_batch_norm_with_update_functional", "_batch_norm_no_update", "_batch_norm_impl_index",
                     "cudnn_batch_norm", "miopen_batch_norm")
_NLL_LOSS = _aten("nll_loss", "nll_loss_forward", "nll_loss2d", "nll_loss2d_forward", "nll_loss_nd",
                  "cross_entropy_loss")


@dataclass(frozen=True)
class LibraryOps:
    """torch functions banned by the ATen operators they run, whatever name called them."""
    name: str            # what the student calls, for the message: "torch.softmax / F.softmax"
    ops: frozenset       # ATen OpOverloadPackets


#: torch's softmax functions, forbidden where an exercise asks for a hand-written softmax.
LIBRARY_SOFTMAX = [LibraryOps("torch.softmax / F.softmax", _SOFTMAX),
                   LibraryOps("torch.log_softmax / F.log_softmax", _LOG_SOFTMAX)]
#: ... and torch's fused attention on top of them.
LIBRARY_ATTENTION = LIBRARY_SOFTMAX + [LibraryOps("F.scaled_dot_product_attention / nn.MultiheadAttention",
                                                  _ATTENTION)]
#: torch's LayerNorm functions (and the normalisations that give LayerNorm on a reshaped x).
LIBRARY_LAYER_NORM = [LibraryOps("F.layer_norm / nn.LayerNorm", _LAYER_NORM),
                      LibraryOps("F.group_norm / F.instance_norm / F.batch_norm", _OTHER_NORMS)]

#: ``(owner, attribute)`` bans of torch functions, e.g. ``(F, "cross_entropy")``, by the
#: operators that attribute runs (the attribute's name is the key).
_TORCH_FUNCTION_OPS = {
    "softmax": _SOFTMAX, "_softmax": _SOFTMAX, "_safe_softmax": _SOFTMAX, "softmin": _SOFTMAX,
    "gumbel_softmax": _SOFTMAX, "log_softmax": _LOG_SOFTMAX, "_log_softmax": _LOG_SOFTMAX,
    "cross_entropy": _LOG_SOFTMAX | _NLL_LOSS, "nll_loss": _NLL_LOSS,
    "scaled_dot_product_attention": _ATTENTION, "layer_norm": _LAYER_NORM, "native_layer_norm": _LAYER_NORM,
    "group_norm": _OTHER_NORMS, "instance_norm": _OTHER_NORMS, "batch_norm": _OTHER_NORMS,
}


def _rule(name: str) -> str:
    return f"Rule: this exercise asks you to write it yourself: do not call {name}."


def _owner_name(owner: Any) -> str:
    return getattr(owner, "__name__", type(owner).__name__)


def _is_torch(owner: Any) -> bool:
    """torch, one of its modules (torch.nn.functional, torch.special) or the Tensor class."""
    if isinstance(owner, types.ModuleType):
        return owner.__name__.split(".")[0] == "torch"
    return isinstance(owner, type) and issubclass(owner, torch.Tensor)


# ---------------------------------------------------------------- the dispatch mode

class _Forbidden(TorchDispatchMode):
    """Raises AssertionError when a forbidden ATen operator is about to run, or any
    operator runs inside a forbidden Python function (its code on the stack)."""

    def __init__(self, ops: dict, codes: dict, reason: str | None):
        super().__init__()
        self.ops, self.codes, self.reason = ops, codes, reason  # {OpOverload: name}, {id(code): (message, code)}
        self.outside: set = set()
        self.tripped: str | None = None                  # the first message it raised

    @classmethod
    def _should_skip_dynamo(cls) -> bool:
        return False          # else torch wraps __torch_dispatch__ in torch._dynamo.disable: 1 s to
                              # import torch._dynamo at the first operator, and a slower callback

    def __enter__(self):
        if self.codes:        # the frames running already are the test's: the walk stops at them
            self.outside = set(_frames(sys._getframe(1)))
        return super().__enter__()

    def __exit__(self, *exc):
        self.outside = set()
        return super().__exit__(*exc)

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        name = self.ops.get(func)                        # one dict look-up per operator
        if name is not None:
            self._trip(self.reason or _rule(name))
        if self.codes:
            frame = sys._getframe(1)                     # what called the operator, and up
            while frame is not None and frame not in self.outside:
                banned = self.codes.get(id(frame.f_code))
                if banned is not None:
                    self._trip(banned[0])
                frame = frame.f_back
        return func(*args, **(kwargs or {}))

    def _trip(self, message: str):
        self.tripped = self.tripped or message
        raise AssertionError(message)


def _frames(frame):
    while frame is not None:
        yield frame
        frame = frame.f_back


def _op_names(bans: list[LibraryOps]) -> dict:
    """{OpOverload: the names of every ban that holds it, joined}, over all overloads."""
    names: dict = {}
    for ban in bans:
        for packet in ban.ops:
            for overload in packet.overloads():
                labels = names.setdefault(getattr(packet, overload), [])
                if ban.name not in labels:
                    labels.append(ban.name)
    return {op: " or ".join(labels) for op, labels in names.items()}


# ---------------------------------------------------------------- Python functions

def _codes(target: Any) -> list[types.CodeType]:
    """The code of the Python functions that run when ``target`` is called: itself (a
    method's function) and the ones it wraps (``__wrapped__``, as functools.wraps sets)."""
    codes: list[types.CodeType] = []
    while target is not None:
        if isinstance(target, (types.MethodType, classmethod, staticmethod)):
            target = target.__func__
        if not isinstance(target, types.FunctionType) or any(target.__code__ is c for c in codes):
            break
        codes.append(target.__code__)
        target = getattr(target, "__wrapped__", None)
    return codes


@contextlib.contextmanager
def _replace_attribute(owner: Any, attribute: str, message: str):
    """``owner.attribute`` raises within the block: a call by that name (``super().forward``,
    an instance's ``forward``, a module's own callers) fails before it starts."""
    try:
        own = attribute in vars(owner)
    except TypeError:                                    # no __dict__: put back what getattr gives
        own = None
    original = vars(owner)[attribute] if own else getattr(owner, attribute)

    def _blocked(*args, **kwargs):
        raise AssertionError(message)

    _blocked.__wrapped__ = getattr(owner, attribute)     # a nested ban of the name finds the code
    setattr(owner, attribute, _blocked)
    try:
        yield
    finally:
        if own is False:
            delattr(owner, attribute)                    # it was inherited: the class's is seen again
        else:
            setattr(owner, attribute, original)          # the descriptor itself (a staticmethod stays one)


# ---------------------------------------------------------------- the bans

def _ban_pair(stack: contextlib.ExitStack, owner: Any, attribute: str, reason: str | None,
              op_bans: list[LibraryOps], codes: dict) -> None:
    """Ban ``owner.attribute``: by its operators (a torch function), else by its code
    (a Python function) and its name."""
    label = f"{_owner_name(owner)}.{attribute}"
    target = getattr(owner, attribute)
    if _is_torch(owner) and attribute in _TORCH_FUNCTION_OPS:
        op_bans.append(LibraryOps(label, _TORCH_FUNCTION_OPS[attribute]))
        return
    message = reason or _rule(label)
    for code in _codes(target):
        codes[id(code)] = (message, code)                # (the code object kept alive: its id stays)
    stack.enter_context(_replace_attribute(owner, attribute, message))


@contextlib.contextmanager
def forbid(owner: Any, attribute: str, reason: str | None = None):
    """Within the block, running ``owner.attribute`` raises AssertionError, whatever name
    it is reached by (see the module's docstring); ``reason`` replaces the message.

    Tests use it to make sure an exercise is not solved by calling the library function
    it asks the student to write (``forbid(FeedForward, "forward")``). For a method, its
    code is banned: a call on any instance counts.
    """
    with forbid_all([(owner, attribute)], reason):
        yield


@contextlib.contextmanager
def forbid_all(targets: Iterable[Any], reason: str | None = None):
    """:func:`forbid` for every target at once: ``(owner, attribute)`` pairs and the
    :class:`LibraryOps` of ``LIBRARY_SOFTMAX`` and the like."""
    op_bans: list[LibraryOps] = []
    codes: dict[int, tuple] = {}
    with contextlib.ExitStack() as stack:
        for target in targets:
            if isinstance(target, LibraryOps):
                op_bans.append(target)
            else:
                _ban_pair(stack, *target, reason=reason, op_bans=op_bans, codes=codes)
        mode = None
        if op_bans or codes:           # no dispatch mode, and no overhead, without a ban to watch
            mode = stack.enter_context(_Forbidden(_op_names(op_bans), codes, reason))
        try:
            yield
        except AssertionError:
            raise
        except Exception as err:       # after a ban's error, any error is that one, wrapped or
            if mode is not None and mode.tripped:        # replaced on its way out (TorchScript
                raise AssertionError(mode.tripped) from err     # turns it into a RuntimeError)
            raise


def checked_call(call: str, fn: Callable, *args: Any, forbidden: Iterable[Any] = (), **kwargs: Any) -> Any:
    """``fn(*args, **kwargs)``, with the ``forbidden`` library functions (as for
    :func:`forbid_all`) made to fail.

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


# ---------------------------------------------------------------- watching what ran

def _tensors(value: Any, depth: int = 0):
    """The tensors in a torch function's arguments or result (in lists, tuples, dicts)."""
    if isinstance(value, torch.Tensor):
        yield value
    elif depth < 3 and isinstance(value, (list, tuple)):
        for v in value:
            yield from _tensors(v, depth + 1)
    elif depth < 3 and isinstance(value, dict):
        for v in value.values():
            yield from _tensors(v, depth + 1)


class TorchCalls(TorchFunctionMode):
    """Inside the block, ``see(name, args, kwargs)`` is told of every torch function the
    code calls (``"to"``, ``"linear"``, ``"cross_entropy"``, a tensor method by its name),
    at the level the code calls it: not the ones torch runs inside it. Whatever name the
    code calls a function by (``from torch.nn.functional import cross_entropy``,
    ``nn.CrossEntropyLoss()``), the same function is seen.

    A test uses it to check a rule about *how* something is computed (the batch moved to
    ``policy.device``, the loss computed inside autocast) without caring which torch call
    the student chose."""

    def __init__(self, see: Callable[[str, tuple, dict], None]):
        super().__init__()
        self.see = see

    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        name = getattr(func, "__name__", "")
        if name == "__get__":                            # a property: Tensor.T, Tensor.grad ...
            name = getattr(getattr(func, "__self__", None), "__name__", name)
        self.see(name, args, kwargs)
        return func(*args, **kwargs)


class RowWatch(TorchFunctionMode):
    """Inside the block, how many rows of ``data`` each watched tensor was applied to.

    Every result torch computes inherits the origins of its tensor arguments: ``data`` (the
    input of the student's function) and the watched tensors (``{"projection": E}``, a weight
    matrix and what is made of it: ``E.T``, ``E.t().contiguous()``). A result made from
    ``data`` and a watched tensor is a result of that tensor *applied to the data*; its
    rows are its elements divided by the watched width (``widths``; by default the
    watched tensor's first dimension: V for a (V, d) table), counted when one of its
    dimensions has that width. ``rows[name]`` is the most rows of any such result.

    So a (d, V) copy of the weights (``W.t().contiguous()``) counts nothing (it holds no
    data), ``h @ E.T`` counts the rows of ``h``, and a transposed product (V, n) counts n."""

    def __init__(self, data: torch.Tensor, watched: dict[str, torch.Tensor], widths: dict[str, int] | None = None):
        super().__init__()
        self._origins: dict[int, tuple[Any, frozenset]] = {}   # id -> (weak reference, origins)
        self.widths = {name: int((widths or {}).get(name, t.shape[0])) for name, t in watched.items()}
        self.rows = {name: 0 for name in watched}
        self._mark(data, frozenset({"data"}))
        for name, t in watched.items():
            self._mark(t, frozenset({name}))

    def _mark(self, t: torch.Tensor, origins: frozenset) -> None:
        import weakref

        try:
            ref = weakref.ref(t)
        except TypeError:
            return
        old = self._origin(t)
        self._origins[id(t)] = (ref, origins | old)

    def _origin(self, t: torch.Tensor) -> frozenset:
        entry = self._origins.get(id(t))
        if entry is None or entry[0]() is not t:         # an id reused by a newer tensor
            return frozenset()
        return entry[1]

    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        out = func(*args, **kwargs)
        origins = frozenset().union(*(self._origin(t) for t in _tensors((args, kwargs))))
        if origins:
            for t in _tensors(out):
                self._mark(t, origins)
                if "data" not in origins:
                    continue
                for name in origins & self.rows.keys():
                    width = self.widths[name]
                    if width > 0 and width in tuple(t.shape):
                        self.rows[name] = max(self.rows[name], t.numel() // width)
        return out
