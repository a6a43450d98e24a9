"""A banned library call is decided by what ran, not by the name it was called under.

``encoder_lib.checks.calls``: torch's softmax, attention and LayerNorm are caught at the
ATen operator level (every alias a student could reach them by); a course function
(``FeedForward.forward``, ``weights.bert_to_ours``) by its code on the stack when an
operator runs (a captured reference) and by its name (``super().forward``, a reference
module's call). Hand-written versions pass, with autograd on or off, everything is as
before once the block ends, and none of it needs what a grading kernel may refuse
(``__code__`` replacement, ``sys.settrace``/``setprofile``).
"""
from __future__ import annotations

import functools
import json
import subprocess
import sys
import textwrap
import types
import warnings

import pytest
import torch
import torch.nn.functional as F
from torch import nn

import encoder_lib.model.weights as weights
from encoder_lib.checks import (LIBRARY_ATTENTION, LIBRARY_LAYER_NORM, LIBRARY_SOFTMAX, checked_call, forbid,
                                forbid_all)
from encoder_lib.model import EncoderConfig, FeedForward
from encoder_lib.model.heads import MaskedLMHead
from encoder_lib.model.weights import bert_to_ours as captured_bert_to_ours

RULE = "Rule: this exercise asks you to write it yourself: do not call "
SOFTMAX_RULE = RULE + "torch.softmax / F.softmax"
LOG_SOFTMAX_RULE = RULE + "torch.log_softmax / F.log_softmax"

# captured at import, before any test runs: a ban by name would miss these
captured_softmax = F.softmax
captured_sdpa = F.scaled_dot_product_attention
captured_layer_norm = F.layer_norm
captured_forward = FeedForward.forward
captured_cross_entropy = F.cross_entropy



def _softmax_last(x):
    return torch.softmax(x, -1)


with warnings.catch_warnings():                         # deprecated, but a student may still use it
    warnings.simplefilter("ignore", DeprecationWarning)
    scripted_softmax = torch.jit.script(_softmax_last)


def under_autocast(x):
    with torch.autocast("cpu", dtype=torch.bfloat16):
        return torch.softmax(x, -1)


SMALL = EncoderConfig(vocab_size=20, hidden_size=8, num_layers=1, num_heads=2, intermediate_size=16,
                      max_position=8)


def x_of(*shape, grad=False):
    return torch.randn(*shape, generator=torch.Generator().manual_seed(0)).requires_grad_(grad)


def qkv(grad=False):
    return [(x_of(2, 2, 5, 4) + i).requires_grad_(grad) for i in range(3)]


SOFTMAX_ALIASES = {
    "torch.softmax": lambda x: torch.softmax(x, -1),
    "Tensor.softmax": lambda x: x.softmax(-1),
    "F.softmax": lambda x: F.softmax(x, dim=-1),
    "F.softmax captured before the test": lambda x: captured_softmax(x, -1),
    "torch.special.softmax": lambda x: torch.special.softmax(x, -1),
    "torch._softmax": lambda x: torch._softmax(x, -1, False),
    "torch._safe_softmax": lambda x: torch._safe_softmax(x, -1),
    "torch._C._VariableFunctions.softmax": lambda x: torch._C._VariableFunctions.softmax(x, -1),
    "nn.Softmax()": lambda x: nn.Softmax(dim=-1)(x),
    "F.softmin": lambda x: F.softmin(-x, -1),
    "F.gumbel_softmax": lambda x: F.gumbel_softmax(x, tau=1.0),
    "torch.ops.aten.softmax": lambda x: torch.ops.aten.softmax(x, -1),
    "torch.ops.aten._softmax.default": lambda x: torch.ops.aten._softmax.default(x, -1, False),
    "torch.ops.aten._safe_softmax": lambda x: torch.ops.aten._safe_softmax(x, -1),
    "torch.ops.aten._masked_softmax": lambda x: torch.ops.aten._masked_softmax(x, torch.zeros_like(x).bool()),
    "torch.ops.aten.special_softmax": lambda x: torch.ops.aten.special_softmax(x, -1),
    "Categorical(logits).probs": lambda x: torch.distributions.Categorical(logits=x).probs,
    "torch.vmap": lambda x: torch.vmap(lambda row: torch.softmax(row, -1))(x),
    "torch.jit.script": lambda x: scripted_softmax(x),     # TorchScript wraps the error: still the rule
    "torch.jit.trace": lambda x: torch.jit.trace(lambda t: torch.softmax(t, -1), (x,))(x),
    "torch.utils.checkpoint": lambda x: torch.utils.checkpoint.checkpoint(lambda t: torch.softmax(t, -1), x,
                                                                          use_reentrant=False),
    "bfloat16 under autocast": under_autocast,
    "float64": lambda x: torch.softmax(x.double(), -1),
}
LOG_SOFTMAX_ALIASES = {
    "torch.log_softmax": lambda x: torch.log_softmax(x, -1),
    "Tensor.log_softmax": lambda x: x.log_softmax(-1),
    "F.log_softmax": lambda x: F.log_softmax(x, -1),
    "torch.special.log_softmax": lambda x: torch.special.log_softmax(x, -1),
    "torch._log_softmax": lambda x: torch._log_softmax(x, -1, False),
    "nn.LogSoftmax()": lambda x: nn.LogSoftmax(-1)(x),
    "torch.ops.aten._log_softmax": lambda x: torch.ops.aten._log_softmax(x, -1, False),
    "torch.ops.aten.log_softmax": lambda x: torch.ops.aten.log_softmax(x, -1),
    "F.cross_entropy": lambda x: F.cross_entropy(x.reshape(-1, 4), torch.zeros(x.numel() // 4, dtype=torch.long)),
}
ATTENTION_ALIASES = {
    "F.scaled_dot_product_attention captured before the test": lambda q, k, v: captured_sdpa(q, k, v),
    "F.scaled_dot_product_attention with a mask": lambda q, k, v: F.scaled_dot_product_attention(
        q, k, v, attn_mask=torch.tensor([[True, True, True, False, False]])),
    "F.scaled_dot_product_attention, is_causal": lambda q, k, v: F.scaled_dot_product_attention(
        q, k, v, is_causal=True),
    "F.scaled_dot_product_attention with dropout (the math path)": lambda q, k, v: F.scaled_dot_product_attention(
        q, k, v, dropout_p=0.5),
    "torch.ops.aten.scaled_dot_product_attention": lambda q, k, v: torch.ops.aten.scaled_dot_product_attention(
        q, k, v),
    "torch.ops.aten._scaled_dot_product_attention_math": lambda q, k, v:
        torch.ops.aten._scaled_dot_product_attention_math(q, k, v),
    "torch.ops.aten._scaled_dot_product_flash_attention_for_cpu": lambda q, k, v:
        torch.ops.aten._scaled_dot_product_flash_attention_for_cpu(q, k, v),
    "nn.MultiheadAttention": lambda q, k, v: nn.MultiheadAttention(4, 2, batch_first=True)(q[0], k[0], v[0]),
    "nn.MultiheadAttention in eval mode": lambda q, k, v: nn.MultiheadAttention(4, 2, batch_first=True).eval()(
        q[0], k[0], v[0], need_weights=False),
    "nn.TransformerEncoderLayer in eval mode": lambda q, k, v: nn.TransformerEncoderLayer(
        4, 2, 8, batch_first=True).eval()(q[0]),
    "nn.MultiheadAttention, unbatched input": lambda q, k, v: nn.MultiheadAttention(4, 2)(q[0, 0], k[0, 0], v[0, 0]),
}
LAYER_NORM_ALIASES = {
    "F.layer_norm": lambda x, w, b: F.layer_norm(x, (8,), w, b),
    "F.layer_norm captured before the test": lambda x, w, b: captured_layer_norm(x, (8,), w, b),
    "torch.layer_norm": lambda x, w, b: torch.layer_norm(x, (8,), w, b),
    "torch.native_layer_norm": lambda x, w, b: torch.native_layer_norm(x, (8,), w, b, 1e-5)[0],
    "torch.ops.aten.native_layer_norm": lambda x, w, b: torch.ops.aten.native_layer_norm(x, [8], w, b, 1e-5)[0],
    "torch.ops.aten.layer_norm": lambda x, w, b: torch.ops.aten.layer_norm(x, [8], w, b),
    "torch._C._VariableFunctions.layer_norm": lambda x, w, b: torch._C._VariableFunctions.layer_norm(
        x, (8,), w, b),
    "nn.LayerNorm()": lambda x, w, b: nn.LayerNorm(8)(x),
    "F.group_norm with one group": lambda x, w, b: F.group_norm(x.reshape(-1, 8), 1, w, b),
    "F.instance_norm of a reshaped x": lambda x, w, b: F.instance_norm(x.reshape(-1, 1, 8)),
    "F.batch_norm of x transposed": lambda x, w, b: F.batch_norm(x.reshape(-1, 8).T, None, None, training=True),
    "nn.TransformerEncoderLayer in eval mode": lambda x, w, b: nn.TransformerEncoderLayer(
        8, 2, 16, batch_first=True).eval()(x),
}


def hand_softmax(x, dim=-1):
    e = (x - x.amax(dim, keepdim=True)).exp()
    return e / e.sum(dim, keepdim=True)


def hand_softmax_logsumexp(x, dim=-1):
    return torch.exp(x - torch.logsumexp(x, dim=dim, keepdim=True))


def hand_attention(q, k, v, mask=None):
    scores = q @ k.transpose(-2, -1) / q.shape[-1] ** 0.5
    if mask is not None:
        scores = scores.masked_fill(~mask, torch.finfo(scores.dtype).min)
    weights = hand_softmax(scores)
    return weights @ v, weights


def hand_layer_norm(x, w, b, eps=1e-5):
    mean = x.mean(-1, keepdim=True)
    var = x.var(-1, keepdim=True, unbiased=False)
    return (x - mean) / torch.sqrt(var + eps) * w + b


def hand_layer_norm_rsqrt(x, w, b, eps=1e-5):
    var, mean = torch.var_mean(x, dim=-1, keepdim=True, correction=0)
    return w * (x - mean) * torch.rsqrt(var + eps) + b


def caught(forbidden, fn, *args):
    """The message of the AssertionError that ``fn(*args)`` raises under ``forbidden``."""
    with pytest.raises(AssertionError) as err:
        checked_call("student(...)", fn, *args, forbidden=forbidden)
    return str(err.value)


def no_modes_left():
    return torch._C._len_torch_dispatch_stack() == 0


# ---------------------------------------------------------------- torch functions, any alias

@pytest.mark.parametrize("grad", [False, True], ids=["no_grad", "grad"])
@pytest.mark.parametrize("alias", sorted(SOFTMAX_ALIASES))
@pytest.mark.filterwarnings("ignore:`torch.jit.trace` is deprecated")
def test_every_softmax_alias_is_caught(alias, grad):
    x = x_of(3, 4, grad=grad)
    for forbidden in (LIBRARY_SOFTMAX, LIBRARY_ATTENTION):
        with torch.set_grad_enabled(grad):
            message = caught(forbidden, SOFTMAX_ALIASES[alias], x)
        assert message.startswith("student(...): " + SOFTMAX_RULE), message
    assert no_modes_left()
    SOFTMAX_ALIASES[alias](x)                    # and it works again after the block


@pytest.mark.parametrize("grad", [False, True], ids=["no_grad", "grad"])
@pytest.mark.parametrize("alias", sorted(LOG_SOFTMAX_ALIASES))
def test_every_log_softmax_alias_is_caught(alias, grad):
    x = x_of(3, 4, grad=grad)
    with torch.set_grad_enabled(grad):
        message = caught(LIBRARY_SOFTMAX, LOG_SOFTMAX_ALIASES[alias], x)
    assert LOG_SOFTMAX_RULE in message, message


@pytest.mark.parametrize("grad", [False, True], ids=["no_grad", "grad"])
@pytest.mark.parametrize("alias", sorted(ATTENTION_ALIASES))
def test_every_attention_alias_is_caught(alias, grad):
    with torch.set_grad_enabled(grad):
        message = caught(LIBRARY_ATTENTION, ATTENTION_ALIASES[alias], *qkv(grad))
    assert message.startswith("student(...): " + RULE), message
    assert "F.scaled_dot_product_attention" in message or "F.softmax" in message, message
    ATTENTION_ALIASES[alias](*qkv(grad))


def test_the_fused_attention_is_named_in_the_message():
    message = caught(LIBRARY_ATTENTION, captured_sdpa, *qkv())
    assert message == "student(...): " + RULE + "F.scaled_dot_product_attention / nn.MultiheadAttention.", message


@pytest.mark.parametrize("grad", [False, True], ids=["no_grad", "grad"])
@pytest.mark.parametrize("alias", sorted(LAYER_NORM_ALIASES))
def test_every_layer_norm_alias_is_caught(alias, grad):
    x, w, b = x_of(2, 3, 8, grad=grad), torch.ones(8, requires_grad=grad), torch.zeros(8)
    with torch.set_grad_enabled(grad):
        message = caught(LIBRARY_LAYER_NORM, LAYER_NORM_ALIASES[alias], x, w, b)
    assert message.startswith("student(...): " + RULE), message
    LAYER_NORM_ALIASES[alias](x, w, b)


def test_layer_norm_message_names_f_layer_norm():
    x = x_of(2, 8)
    assert caught(LIBRARY_LAYER_NORM, nn.LayerNorm(8), x) == "student(...): " + RULE + "F.layer_norm / nn.LayerNorm."


def test_the_error_is_raised_inside_the_forbidden_call():
    def student(x):
        return torch.softmax(x, -1)                   # the test fails here

    with pytest.raises(AssertionError) as err, forbid_all(LIBRARY_SOFTMAX):
        student(x_of(2, 3))
    assert any(entry.name == "student" for entry in err.traceback)
    assert str(err.value) == SOFTMAX_RULE + "."


def test_a_library_function_of_a_pair_is_banned_by_what_it_runs():
    # notebook 04 bans the loss by (owner, attribute) pairs: an alias of each counts too
    library_loss = [(F, "cross_entropy"), (F, "nll_loss"), (F, "log_softmax"), (torch, "log_softmax"),
                    (torch.Tensor, "log_softmax")]
    logits, labels = x_of(6, 5), torch.tensor([0, 1, 2, 3, 4, -100])
    for loss in (lambda: captured_cross_entropy(logits, labels), lambda: nn.CrossEntropyLoss()(logits, labels),
                 lambda: torch._C._nn.cross_entropy_loss(logits, labels),
                 lambda: F.nll_loss(hand_softmax(logits).log(), labels), lambda: nn.NLLLoss()(logits, labels)):
        message = caught(library_loss, loss)
        assert "torch.nn.functional." in message and message.startswith("student(...): " + RULE), message
    assert "torch.nn.functional.cross_entropy" in caught(library_loss, captured_cross_entropy, logits, labels)
    keep = labels != -100
    rows = logits[keep]
    hand = checked_call("loss", lambda: (torch.logsumexp(rows, -1) - rows.gather(1, labels[keep, None])[:, 0]).mean(),
                        forbidden=library_loss)
    torch.testing.assert_close(hand, F.cross_entropy(logits, labels))


# ---------------------------------------------------------------- hand-written versions pass

@pytest.mark.parametrize("mode", ["no_grad", "grad, backward after the block", "grad, backward inside"])
def test_hand_written_versions_pass(mode):
    grad = mode != "no_grad"
    x, q, k, v = x_of(2, 3, 8, grad=grad), *qkv(grad)
    w, b = torch.randn(8, requires_grad=grad), torch.randn(8)
    mask = torch.tensor([[True] * 5, [True, True, False, False, False]])[:, None, None, :]

    def student():
        outs = [hand_softmax(x, dim=1), hand_softmax_logsumexp(x), hand_attention(q, k, v, mask)[0],
                hand_layer_norm(x, w, b), hand_layer_norm_rsqrt(x, w, b)]
        if mode == "grad, backward inside":
            sum(o.sum() for o in outs).backward()
        return outs

    with torch.set_grad_enabled(grad):
        outs = checked_call("student()", student, forbidden=LIBRARY_ATTENTION + LIBRARY_LAYER_NORM)
    if mode == "grad, backward after the block":
        sum(o.sum() for o in outs).backward()
    if grad:
        assert x.grad is not None and q.grad is not None and w.grad is not None
    assert no_modes_left()
    with torch.no_grad():
        torch.testing.assert_close(outs[0], torch.softmax(x, 1))
        torch.testing.assert_close(outs[1], torch.softmax(x, -1))
        torch.testing.assert_close(outs[2], F.scaled_dot_product_attention(q, k, v, attn_mask=mask))
        torch.testing.assert_close(outs[3], F.layer_norm(x, (8,), w, b))
        torch.testing.assert_close(outs[4], F.layer_norm(x, (8,), w, b))


def test_no_ban_means_no_dispatch_mode():
    seen = []
    checked_call("f()", lambda: seen.append(torch._C._len_torch_dispatch_stack()))
    assert seen == [0]


# ---------------------------------------------------------------- Python functions, any alias

class Wrapped(FeedForward):
    def forward(self, x):
        return super().forward(x)                     # the forbidden function, reached by super()


def ffn_input():
    return x_of(2, 3, SMALL.hidden_size)


FORWARD_ALIASES = {
    "a reference instance's call": lambda: FeedForward(SMALL)(ffn_input()),
    "FeedForward.forward captured before the test": lambda: captured_forward(FeedForward(SMALL), ffn_input()),
    "super().forward": lambda: Wrapped(SMALL)(ffn_input()),
    "the bound method": lambda: FeedForward(SMALL).forward(ffn_input()),
    "the class attribute": lambda: FeedForward.forward(FeedForward(SMALL), ffn_input()),
}


@pytest.mark.parametrize("alias", sorted(FORWARD_ALIASES))
def test_every_alias_of_a_forbidden_forward_is_caught(alias):
    with pytest.raises(AssertionError, match="do not call FeedForward.forward"), forbid(FeedForward, "forward"):
        FORWARD_ALIASES[alias]()
    assert FORWARD_ALIASES[alias]().shape == (2, 3, SMALL.hidden_size)          # works again after the block


def test_the_forbidden_forward_works_again_after_the_block():
    ffn, x = FeedForward(SMALL), ffn_input()
    before = ffn(x)
    with forbid(FeedForward, "forward"):
        with pytest.raises(AssertionError):
            ffn(x)
    torch.testing.assert_close(ffn(x), before)
    torch.testing.assert_close(captured_forward(ffn, x), before)
    assert FeedForward.forward is captured_forward and "forward" not in vars(Wrapped(SMALL))


def test_the_class_can_be_used_otherwise_inside_the_block():
    with forbid(FeedForward, "forward"):
        ffn = FeedForward(SMALL)                     # constructing a reference, its other methods
        ffn.load_state_dict(FeedForward(SMALL).state_dict())
        assert ffn.up(ffn_input()).shape == (2, 3, SMALL.intermediate_size)
        assert "Linear" in repr(ffn)


def test_a_call_site_that_ran_before_is_caught_too():
    ffn, x = FeedForward(SMALL), ffn_input()

    def call_often(n):
        for _ in range(n):
            captured_forward(ffn, x)                 # the interpreter specialises this call

    call_often(200)
    with pytest.raises(AssertionError), forbid(FeedForward, "forward"):
        call_often(1)
    call_often(2)


def test_forbid_with_an_instance_bans_its_forward():
    head = MaskedLMHead(SMALL, nn.Embedding(SMALL.vocab_size, SMALL.hidden_size))
    h = ffn_input()
    reason = "Rule: do not call head(...): write the transform and the tied projection."
    for call in (lambda: head(h), lambda: type(head).forward(head, h), lambda: head.forward(h)):
        with pytest.raises(AssertionError) as err, forbid(head, "forward", reason):
            call()
        assert str(err.value) == reason
    # what the exercise asks for works inside the block
    with forbid(head, "forward", reason):
        mine = head.layer_norm(head.act(head.dense(h))) @ head.word_embeddings.weight.T + head.bias
    torch.testing.assert_close(mine, head(h))
    assert "forward" not in vars(head)


def test_a_forbidden_module_function_is_caught_through_a_captured_name_and_its_callers():
    no_loader = "Rule: write the name mapping yourself; the library's loader is blocked."
    state = weights.ours_to_bert(__import__("encoder_lib").Encoder(SMALL))
    for call in (lambda: captured_bert_to_ours(state, 1), lambda: weights.bert_to_ours(state, 1),
                 lambda: weights.load_bert_weights(__import__("encoder_lib").Encoder(SMALL), state)):
        with pytest.raises(AssertionError, match="the library's loader is blocked"), \
                forbid(weights, "bert_to_ours", no_loader), forbid(weights, "load_bert_weights", no_loader):
            call()
    assert captured_bert_to_ours(state, SMALL.num_layers)[0]


def test_a_function_with_a_closure_or_a_decorator_is_caught():
    scale = 3

    def with_closure(x):
        return x * scale

    @functools.wraps(with_closure)
    def decorated(*args):
        return with_closure(*args)

    owner, x = types.SimpleNamespace(f=with_closure, g=decorated), torch.ones(2)
    for attribute, fn in (("f", with_closure), ("g", decorated)):
        with pytest.raises(AssertionError, match=f"do not call SimpleNamespace.{attribute}"), forbid(owner, attribute):
            fn(x)                                       # a reference taken before the block
    with pytest.raises(AssertionError), forbid(owner, "g"):
        decorated.__wrapped__(x)                        # what the decorator wraps runs the same code
    with pytest.raises(AssertionError), forbid(owner, "f"):
        owner.f(2)                                      # by name: caught before it computes anything
    assert with_closure(2) == decorated(2) == 6 and owner.f is with_closure


def test_the_message_names_the_rule_and_the_call():
    with pytest.raises(AssertionError) as err, forbid(FeedForward, "forward"):
        checked_call("MyFeedForward(config)(a)", captured_forward, FeedForward(SMALL), ffn_input())
    assert str(err.value) == "MyFeedForward(config)(a): " + RULE + "FeedForward.forward."


# ---------------------------------------------------------------- state is restored

def test_nested_bans_restore_everything():
    code = FeedForward.forward.__code__
    with forbid(FeedForward, "forward"), forbid_all(LIBRARY_SOFTMAX):
        with forbid(FeedForward, "forward", "inner"), forbid_all(LIBRARY_LAYER_NORM):
            with pytest.raises(AssertionError, match="inner"):
                FeedForward(SMALL)(ffn_input())
            with pytest.raises(AssertionError, match="inner"):
                captured_forward(FeedForward(SMALL), ffn_input())
            with pytest.raises(AssertionError, match="F.layer_norm"):
                F.layer_norm(ffn_input(), (SMALL.hidden_size,))
        with pytest.raises(AssertionError, match="do not call FeedForward.forward"):
            FeedForward(SMALL)(ffn_input())
        F.layer_norm(ffn_input(), (SMALL.hidden_size,))   # the inner ban has ended
        with pytest.raises(AssertionError, match="F.softmax"):
            torch.softmax(ffn_input(), -1)
    assert FeedForward.forward is captured_forward and FeedForward.forward.__code__ is code
    assert no_modes_left()
    FeedForward(SMALL)(ffn_input())
    torch.softmax(ffn_input(), -1)


def test_an_exception_inside_nested_bans_restores_everything():
    with pytest.raises(ZeroDivisionError):
        with forbid(FeedForward, "forward"), forbid_all(LIBRARY_ATTENTION):
            with forbid(weights, "bert_to_ours"), forbid_all(LIBRARY_LAYER_NORM):
                1 / 0
    assert FeedForward.forward is captured_forward and weights.bert_to_ours is captured_bert_to_ours
    assert no_modes_left()
    FeedForward(SMALL)(ffn_input())
    torch.softmax(ffn_input(), -1)


def test_an_error_after_the_forbidden_call_still_reports_the_rule():
    def student(x):
        try:
            return torch.softmax(x, -1)
        except AssertionError:
            raise ValueError("something else") from None

    message = caught(LIBRARY_SOFTMAX, student, x_of(2, 3))
    assert message == "student(...): " + SOFTMAX_RULE + ".", message


def test_a_crash_of_the_student_code_ends_the_ban():
    def student(x):
        raise ValueError("bug")

    with pytest.raises(AssertionError, match="student\\(x\\) raised ValueError: bug"):
        checked_call("student(x)", student, ffn_input(), forbidden=LIBRARY_ATTENTION + [(FeedForward, "forward")])
    assert no_modes_left()
    FeedForward(SMALL)(ffn_input())
    torch.softmax(ffn_input(), -1)


def test_a_forbidden_function_running_outside_the_block_does_not_count():
    owner = types.SimpleNamespace()

    def checker(x):                                    # enters the ban while it runs itself
        with forbid(owner, "checker"):
            return checked_call("softmax(x)", hand_softmax, x)

    owner.checker = checker
    torch.testing.assert_close(checker(x_of(2, 3)), torch.softmax(x_of(2, 3), -1))


# ---------------------------------------------------------------- under a grading kernel's rules

GRADING_KERNEL = textwrap.dedent("""
    import json, sys, threading
    import torch, torch.nn.functional as F
    from encoder_lib.checks import LIBRARY_ATTENTION, checked_call, forbid
    from encoder_lib.model import EncoderConfig, FeedForward

    captured_softmax, captured_forward = F.softmax, FeedForward.forward
    refused = []

    def hook(event, args):      # what the grading kernel's audit hook refused (its sentinel)
        if event in ("sys.settrace", "sys.setprofile") or (
                event == "object.__setattr__" and len(args) >= 2 and args[1] == "__code__"):
            refused.append(event)
            raise RuntimeError("not allowed while grading")
        if event == "sys._getframe" and threading.get_ident() == threading.main_thread().ident:
            refused.append(event)
            raise RuntimeError("not allowed while grading")

    def outcome(fn):
        try:
            fn()
            return "passed"
        except AssertionError as err:
            return str(err)

    def cell():                 # a test cell runs in a thread of its own
        config = EncoderConfig(vocab_size=10, hidden_size=8, num_heads=2, intermediate_size=16, max_position=8)
        ffn, x = FeedForward(config), torch.randn(2, 8)
        def with_forward(f):
            with forbid(FeedForward, "forward"):
                checked_call("f(x)", f)
        results["captured softmax"] = outcome(lambda: checked_call("f(x)", lambda: captured_softmax(x, -1),
                                                                   forbidden=LIBRARY_ATTENTION))
        results["hand-written softmax"] = outcome(lambda: checked_call(
            "f(x)", lambda: x.exp() / x.exp().sum(-1, keepdim=True), forbidden=LIBRARY_ATTENTION))
        results["captured forward"] = outcome(lambda: with_forward(lambda: captured_forward(ffn, x)))
        results["instance call"] = outcome(lambda: with_forward(lambda: ffn(x)))
        results["forward after the block"] = list(ffn(x).shape)

    results = {}
    sys.addaudithook(hook)
    thread = threading.Thread(target=cell)
    thread.start()
    thread.join()
    print(json.dumps({"results": results, "refused": refused}))
""")


def test_the_bans_need_no_trace_hook_nor_code_replacement_and_work_in_a_cells_thread():
    proc = subprocess.run([sys.executable, "-c", GRADING_KERNEL], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    assert out["refused"] == [], out
    results = out["results"]
    assert results["captured softmax"].startswith("f(x): " + SOFTMAX_RULE), results
    assert results["hand-written softmax"] == "passed", results
    assert results["captured forward"] == "f(x): " + RULE + "FeedForward.forward.", results
    assert results["instance call"] == "f(x): " + RULE + "FeedForward.forward.", results
    assert results["forward after the block"] == [2, 8], results
