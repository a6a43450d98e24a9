"""The masked-LM masking rule: 15 % of real tokens, 80/10/10, never a special token."""
from __future__ import annotations

import pytest
import torch

from encoder_lib import MLMCollator, WordPieceTokenizer, mask_tokens

VOCAB, MASK_ID, CLS, SEP, PAD = 30522, 103, 101, 102, 0


def _batch(rows=400, seq=128, seed=0):
    """Random real ids (never a special id) framed by [CLS] ... [SEP] and right padding."""
    g = torch.Generator().manual_seed(seed)
    ids = torch.randint(1000, VOCAB, (rows, seq), generator=g)
    lengths = torch.randint(8, seq + 1, (rows,), generator=g)
    pos = torch.arange(seq)[None, :]
    ids[:, 0] = CLS
    ids[torch.arange(rows), lengths - 1] = SEP
    ids[pos >= lengths[:, None]] = PAD
    special = (ids == CLS) | (ids == SEP) | (ids == PAD)
    return ids, special


def _mask(ids, special, seed=1, p=0.15):
    return mask_tokens(ids, special, mask_token_id=MASK_ID, vocab_size=VOCAB, mlm_probability=p,
                       generator=torch.Generator().manual_seed(seed))


def test_fifteen_percent_of_real_tokens_are_selected_and_80_10_10_among_them():
    ids, special = _batch()
    masked, labels = _mask(ids, special)
    selected = labels != -100
    n_real = (~special).sum().item()
    n_sel = selected.sum().item()
    # ~46k real tokens: the standard error of the 15 % share is 0.0017; allow 6 of them
    assert abs(n_sel / n_real - 0.15) < 0.01, f"selected share {n_sel / n_real:.4f}, rule says 15 %"
    to_mask = (masked == MASK_ID) & selected
    unchanged = (masked == ids) & selected
    to_random = selected & ~to_mask & ~unchanged
    shares = [x.sum().item() / n_sel for x in (to_mask, to_random, unchanged)]
    # ~6.9k selected: standard errors 0.005 (80 %) and 0.004 (10 %)
    assert abs(shares[0] - 0.8) < 0.03, f"[MASK] share {shares[0]:.3f}, rule says 80 %"
    assert abs(shares[1] - 0.1) < 0.025, f"random-token share {shares[1]:.3f}, rule says 10 %"
    assert abs(shares[2] - 0.1) < 0.025, f"unchanged share {shares[2]:.3f}, rule says 10 %"
    # random replacements are spread over the vocabulary, not one id
    assert masked[to_random].unique().numel() > 0.9 * to_random.sum().item()


def test_labels_hold_the_original_id_at_selected_positions_and_minus_100_elsewhere():
    ids, special = _batch(rows=50)
    masked, labels = _mask(ids, special)
    selected = labels != -100
    assert torch.equal(labels[selected], ids[selected])
    assert torch.equal(masked[~selected], ids[~selected]), "an unselected position was changed"


def test_special_tokens_are_never_selected():
    ids, special = _batch()
    for seed in range(3):
        masked, labels = _mask(ids, special, seed=seed, p=0.9)
        assert (labels[special] == -100).all(), "[CLS]/[SEP]/[PAD] must never be selected"
        assert torch.equal(masked[special], ids[special]), "a special token was replaced"


def test_seeded_masking_is_reproducible_and_seed_dependent():
    ids, special = _batch(rows=20)
    a, b, c = _mask(ids, special, seed=7), _mask(ids, special, seed=7), _mask(ids, special, seed=8)
    assert torch.equal(a[0], b[0]) and torch.equal(a[1], b[1])
    assert not torch.equal(a[1], c[1])


def test_mask_tokens_does_not_modify_its_input():
    ids, special = _batch(rows=20)
    ids_before, special_before = ids.clone(), special.clone()
    _mask(ids, special, p=0.5)
    assert torch.equal(ids, ids_before) and torch.equal(special, special_before)


@pytest.mark.parametrize("p", [0, 1, 1.5, -0.1, 0.0])
def test_mask_probability_outside_zero_one_is_a_clear_error(p):
    ids, special = _batch(rows=2)
    with pytest.raises(ValueError, match="strictly between 0 and 1"):
        _mask(ids, special, p=p)


def test_mask_tokens_rejects_mismatched_special_mask():
    ids, special = _batch(rows=2)
    with pytest.raises(ValueError, match="same shape"):
        mask_tokens(ids, special[:, :5], mask_token_id=MASK_ID, vocab_size=VOCAB)


@pytest.fixture(scope="module")
def tokenizer():
    return WordPieceTokenizer.from_pretrained()


SENTENCES = ["a domestic animal kept for companionship", "the bank of a river",
             "an act of great courage in the face of danger, usually in battle", "run"] * 8


def test_collator_pads_and_never_selects_special_tokens(tokenizer):
    batch = MLMCollator(tokenizer, max_length=16, mlm_probability=0.5, seed=0)(SENTENCES)
    assert set(batch) == {"input_ids", "attention_mask", "labels"}
    ids, mask, labels = batch["input_ids"], batch["attention_mask"], batch["labels"]
    assert ids.shape == mask.shape == labels.shape and ids.shape[1] <= 16
    plain = tokenizer(SENTENCES, max_length=16)["input_ids"]
    special = torch.isin(plain, torch.tensor([tokenizer.cls_token_id, tokenizer.sep_token_id,
                                              tokenizer.pad_token_id]))
    assert (labels[special] == -100).all()
    assert (labels[mask == 0] == -100).all()
    assert (labels != -100).any()
    selected = labels != -100
    assert torch.equal(labels[selected], plain[selected])


def test_seeded_collator_repeats_its_masks(tokenizer):
    a = MLMCollator(tokenizer, seed=3)
    b = MLMCollator(tokenizer, seed=3)
    for _ in range(2):                                   # the same sequence of calls
        x, y = a(SENTENCES), b(SENTENCES)
        assert torch.equal(x["input_ids"], y["input_ids"]) and torch.equal(x["labels"], y["labels"])
    c = MLMCollator(tokenizer, seed=4)(SENTENCES)
    assert not torch.equal(c["labels"], MLMCollator(tokenizer, seed=3)(SENTENCES)["labels"])


def test_collator_generator_state_round_trips(tokenizer):
    a = MLMCollator(tokenizer, seed=5)
    a(SENTENCES)
    state = a.state_dict()
    expected = a(SENTENCES)
    b = MLMCollator(tokenizer, seed=99)
    b.load_state_dict(state)
    assert torch.equal(b(SENTENCES)["labels"], expected["labels"])


def test_collator_rejects_bad_settings(tokenizer):
    with pytest.raises(ValueError, match="strictly between 0 and 1"):
        MLMCollator(tokenizer, mlm_probability=1.0)
    with pytest.raises(ValueError, match="max_length"):
        MLMCollator(tokenizer, max_length=2)
    with pytest.raises(ValueError, match="empty"):
        MLMCollator(tokenizer)([])
