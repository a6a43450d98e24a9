"""EncoderForMaskedLM: gathered-row loss equals the full loss, tied weights, metrics."""
from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from encoder_lib import EncoderForMaskedLM, masked_lm_metrics

from tests.mlm_batches import CFG, _data


def test_gathered_logits_loss_equals_the_full_logits_loss_and_gradients():
    torch.manual_seed(0)
    model = EncoderForMaskedLM(CFG)
    ids, mask, labels = _data()
    out = model(ids, mask, labels=labels)
    n = (labels != -100).sum().item()
    assert out.logits.shape == (n, CFG.vocab_size) and out.labels.shape == (n,)
    grads = torch.autograd.grad(out.loss, list(model.parameters()))

    full = model(ids, mask).logits                                      # (batch, seq, vocab)
    assert full.shape == (*ids.shape, CFG.vocab_size)
    ref = F.cross_entropy(full.reshape(-1, CFG.vocab_size), labels.reshape(-1), ignore_index=-100)
    ref_grads = torch.autograd.grad(ref, list(model.parameters()))
    torch.testing.assert_close(out.loss, ref)
    for a, b in zip(grads, ref_grads):
        torch.testing.assert_close(a, b)


def test_output_layer_is_tied_to_the_input_embeddings():
    model = EncoderForMaskedLM(CFG)
    table = model.encoder.embeddings.word_embeddings.weight
    assert model.mlm_head.word_embeddings.weight is table
    # the tied table is one parameter: counted once, and an update moves both sides
    assert sum(p is table for p in model.parameters()) == 1
    ids, mask, labels = _data()
    opt = torch.optim.SGD(model.parameters(), lr=1.0)
    model(ids, mask, labels=labels).loss.backward()
    before = table.detach().clone()
    opt.step()
    assert not torch.equal(before, table.detach())
    assert model.mlm_head.word_embeddings.weight is model.encoder.embeddings.word_embeddings.weight


def test_logits_without_labels_give_pr_of_every_word_at_every_position():
    model = EncoderForMaskedLM(CFG).eval()
    ids, mask, _ = _data()
    logits = model(ids, mask).logits
    h = model.encoder(ids, mask).last_hidden_state
    head = model.mlm_head
    expected = head.layer_norm(head.act(head.dense(h))) @ model.encoder.embeddings.word_embeddings.weight.T + head.bias
    torch.testing.assert_close(logits, expected)


def test_no_selected_position_gives_zero_loss_not_nan():
    model = EncoderForMaskedLM(CFG)
    ids, mask, _ = _data()
    out = model(ids, mask, labels=torch.full_like(ids, -100))
    assert out.loss.item() == 0.0
    out.loss.backward()


def test_labels_of_the_wrong_shape_are_a_clear_error():
    model = EncoderForMaskedLM(CFG)
    ids, mask, labels = _data()
    with pytest.raises(ValueError, match="same shape as input_ids"):
        model(ids, mask, labels=labels[:, :3])


def test_metrics_weight_every_masked_position_equally():
    torch.manual_seed(1)
    model = EncoderForMaskedLM(CFG)
    model.train()
    batches = [dict(zip(("input_ids", "attention_mask", "labels"), _data(seed=s))) for s in range(3)]
    m = masked_lm_metrics(model, batches)
    assert model.training, "the metrics must restore the model's mode"
    model.eval()
    logits, labels = [], []
    with torch.no_grad():
        for b in batches:
            full = model(b["input_ids"], b["attention_mask"]).logits
            sel = b["labels"] != -100
            logits.append(full[sel])
            labels.append(b["labels"][sel])
    logits, labels = torch.cat(logits), torch.cat(labels)
    assert m["tokens"] == labels.numel()
    assert m["loss"] == pytest.approx(F.cross_entropy(logits, labels).item(), rel=1e-5)
    assert m["perplexity"] == pytest.approx(math.exp(m["loss"]), rel=1e-9)
    assert m["accuracy"] == pytest.approx((logits.argmax(-1) == labels).float().mean().item())
