"""The fixed-size masked head (``num_predictions=k``): the same loss and gradients as
the gathered selected rows, padding rows ignored, and no graph break under torch.compile."""
from __future__ import annotations

import pytest
import torch

from encoder_lib import EncoderConfig, EncoderForMaskedLM

from tests.mlm_batches import CFG, _data


@pytest.mark.parametrize("extra_rows", [0, 1, 25])
def test_fixed_size_loss_and_gradients_equal_the_variable_size_ones(extra_rows):
    torch.manual_seed(0)
    model = EncoderForMaskedLM(CFG)
    ids, mask, labels = _data()
    n = int((labels != -100).sum())
    variable = model(ids, mask, labels=labels)
    ref_grads = torch.autograd.grad(variable.loss, list(model.parameters()))

    fixed = model(ids, mask, labels=labels, num_predictions=n + extra_rows)
    assert fixed.logits.shape == (n + extra_rows, CFG.vocab_size) and fixed.labels.shape == (n + extra_rows,)
    # the selected rows first, in reading order, then padding rows labelled -100
    torch.testing.assert_close(fixed.labels[:n], variable.labels, rtol=0, atol=0)
    assert (fixed.labels[n:] == -100).all()
    torch.testing.assert_close(fixed.logits[:n], variable.logits)
    torch.testing.assert_close(fixed.loss, variable.loss)
    grads = torch.autograd.grad(fixed.loss, list(model.parameters()))
    for a, b in zip(grads, ref_grads):
        torch.testing.assert_close(a, b)


def test_padding_rows_do_not_change_the_loss_whatever_their_hidden_states():
    torch.manual_seed(0)
    model = EncoderForMaskedLM(CFG)
    ids, mask, labels = _data()
    n = int((labels != -100).sum())
    a = model(ids, mask, labels=labels, num_predictions=n + 10).loss
    ids2 = torch.where(labels == -100, (ids * 7 + 3) % CFG.vocab_size, ids)   # other unselected tokens
    ids2[mask == 0] = 0
    with torch.no_grad():
        h = model.encoder(ids2, mask).last_hidden_state[labels != -100]
        ref = torch.nn.functional.cross_entropy(model.mlm_head(h), labels[labels != -100])
    b = model(ids2, mask, labels=labels, num_predictions=n + 10).loss
    torch.testing.assert_close(b, ref)
    assert not torch.equal(a, b)          # the context changed the selected rows' H, as it should


def test_more_selected_rows_than_k_keeps_the_first_k_in_reading_order():
    torch.manual_seed(0)
    model = EncoderForMaskedLM(CFG)
    ids, mask, labels = _data()
    out = model(ids, mask, labels=labels, num_predictions=4)
    keep = (labels != -100).reshape(-1).nonzero().squeeze(1)[:4]
    first4 = torch.full_like(labels, -100).reshape(-1)
    first4[keep] = labels.reshape(-1)[keep]
    ref = model(ids, mask, labels=first4.view_as(labels))
    torch.testing.assert_close(out.loss, ref.loss)
    assert out.labels.tolist() == ref.labels.tolist()


def test_no_selected_row_gives_zero_loss_and_k_is_checked():
    model = EncoderForMaskedLM(CFG)
    ids, mask, _ = _data()
    out = model(ids, mask, labels=torch.full_like(ids, -100), num_predictions=8)
    assert out.loss.item() == 0.0 and out.labels.shape == (8,)
    out.loss.backward()
    with pytest.raises(ValueError, match="num_predictions must be a positive int"):
        model(ids, mask, labels=torch.full_like(ids, -100), num_predictions=0)


def test_whole_model_with_the_fixed_size_head_compiles_as_one_graph_forward_and_backward():
    """No graph break (torch._dynamo.explain), and fullgraph=True compiles forward and
    backward (AOTAutograd's joint graph; the aot_eager backend skips code generation)."""
    torch.manual_seed(0)
    model = EncoderForMaskedLM(EncoderConfig(**{**CFG.to_dict(), "dropout": 0.1, "attention_dropout": 0.1}))
    ids, mask, labels = _data()
    k = 30
    torch._dynamo.reset()
    explained = torch._dynamo.explain(model)(ids, mask, labels=labels, num_predictions=k)
    assert explained.graph_break_count == 0, explained.break_reasons
    assert explained.graph_count == 1
    model.eval()                                       # no dropout: eager and compiled comparable
    eager = model(ids, mask, labels=labels, num_predictions=k)
    grads = torch.autograd.grad(eager.loss, list(model.parameters()))
    compiled = torch.compile(model, backend="aot_eager", fullgraph=True)
    out = compiled(ids, mask, labels=labels, num_predictions=k)
    torch.testing.assert_close(out.loss, eager.loss)
    for a, b in zip(torch.autograd.grad(out.loss, list(model.parameters())), grads):
        torch.testing.assert_close(a, b)
    torch._dynamo.reset()


def test_the_variable_size_head_breaks_the_graph_where_it_gathers():
    """Why the fixed-size head exists: the default path's gather has a data-dependent size."""
    model = EncoderForMaskedLM(CFG)
    ids, mask, labels = _data()
    torch._dynamo.reset()
    explained = torch._dynamo.explain(model)(ids, mask, labels=labels)
    torch._dynamo.reset()
    assert explained.graph_break_count >= 1
