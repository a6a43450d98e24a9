"""Word-in-context data, the token-pair head and the layer-wise probe (encoder_lib.data.wic,
encoder_lib.model.token_pair, encoder_lib.probe): the rules the data promises, the
span -> token mapping, clear errors for bad input, and a probe that really learns."""
from __future__ import annotations

import hashlib
import math
from collections import Counter, defaultdict

import pytest
import torch

from encoder_lib.data import wic, wordnet
from encoder_lib.data.wordnet import Example
from encoder_lib.model import EncoderConfig, Encoder, TokenPairHead, WordInContextModel, pair_features, pool_targets
from encoder_lib import probe
from encoder_lib.tokenizer import WordPieceTokenizer

# The sizes of the shipped rule's pairs; a change to the data or the rule shows up here.
EXPECTED_SIZES = {
    "train": {"pairs": 10504, "same": 5252, "lemmas": 2038, "sentences": 10893},
    "dev": {"pairs": 1176, "same": 588, "lemmas": 244, "sentences": 1294},
    "test": {"pairs": 1212, "same": 606, "lemmas": 237, "sentences": 1334},
}


@pytest.fixture(scope="module")
def tok() -> WordPieceTokenizer:
    return WordPieceTokenizer.from_pretrained()


def _fingerprint(pairs) -> str:
    text = "\n".join(f"{p.lemma}\t{p.first.synset}\t{p.first.text}\t{p.second.synset}\t{p.second.text}\t{p.label}"
                     for p in pairs)
    return hashlib.sha256(text.encode()).hexdigest()


# ---------------------------------------------------------------------------
# The data's rules
# ---------------------------------------------------------------------------

def test_split_sizes_are_those_of_the_shipped_rule():
    assert wic.sizes() == EXPECTED_SIZES


def test_pairs_are_the_same_on_every_call_and_after_the_cache_is_cleared():
    before = {s: _fingerprint(wic.pairs(s)) for s in wic.SPLITS}
    wic._all_pairs.cache_clear()
    wic._tagged_by_lemma.cache_clear()
    assert {s: _fingerprint(wic.pairs(s)) for s in wic.SPLITS} == before


def test_no_target_lemma_is_in_two_splits():
    lemmas = {s: {p.lemma for p in wic.pairs(s)} for s in wic.SPLITS}
    assert not lemmas["train"] & lemmas["dev"]
    assert not lemmas["train"] & lemmas["test"]
    assert not lemmas["dev"] & lemmas["test"]
    assert all(wic.split_of_lemma(p.lemma) == s for s in wic.SPLITS for p in wic.pairs(s))


def test_labels_are_balanced_within_every_lemma_and_mean_same_synset():
    for split in wic.SPLITS:
        per_lemma = defaultdict(Counter)
        for p in wic.pairs(split):
            assert p.first.target.lower() == p.second.target.lower() == p.lemma
            assert p.label == int(p.first.synset == p.second.synset)
            assert p.first.text != p.second.text
            per_lemma[p.lemma][p.label] += 1
        for lemma, c in per_lemma.items():
            assert c[0] == c[1] <= wic.MAX_PAIRS_PER_LABEL, (lemma, c)


def test_split_of_lemma_is_case_blind_and_rejects_empty():
    assert wic.split_of_lemma("Bank") == wic.split_of_lemma("bank")
    with pytest.raises(ValueError, match="non-empty"):
        wic.split_of_lemma(" ")
    with pytest.raises(ValueError, match="split must be one of"):
        wic.pairs("validation")


# ---------------------------------------------------------------------------
# Character span -> token positions
# ---------------------------------------------------------------------------

def test_span_to_tokens_takes_every_piece_that_overlaps_the_span():
    offsets = [(0, 0), (0, 3), (4, 8), (8, 9), (10, 12), (0, 0), (0, 0)]
    assert wic.span_to_tokens(offsets, 4, 9) == [2, 3]
    assert wic.span_to_tokens(offsets, 5, 6) == [2]
    assert wic.span_to_tokens(torch.tensor(offsets), 0, 12) == [1, 2, 3, 4]


def test_a_target_not_in_the_sentence_is_a_clear_error():
    offsets = [(0, 0), (0, 3), (4, 8), (0, 0), (0, 0)]
    with pytest.raises(ValueError, match="covers no token"):
        wic.span_to_tokens(offsets, 20, 25)
    with pytest.raises(ValueError, match="empty or negative"):
        wic.span_to_tokens(offsets, 4, 4)


def test_encode_targets_marks_exactly_the_target_pieces(tok):
    text = "the riverbanks were acknowledged by the bank"
    e = Example("x", "noun.object", text, "acknowledge", 20, 32)
    enc = wic.encode_targets([e, Example("y", "noun.group", text, "bank", 40, 44)], tok)
    ids = enc["input_ids"]
    for row, word in ((0, "acknowledged"), (1, "bank")):
        marked = ids[row][enc["target_mask"][row] == 1].tolist()
        assert tok.decode(marked) == word
    assert enc["target_mask"].dtype == torch.float32


def test_every_shipped_pair_maps_its_target_to_tokens(tok):
    examples = wic.targets("dev") + wic.targets("test")
    enc = wic.encode_targets(examples, tok)
    assert (enc["target_mask"].sum(1) >= 1).all()
    assert not ((enc["target_mask"] == 1) & (enc["attention_mask"] == 0)).any()


def test_encode_targets_errors_name_the_problem(tok):
    with pytest.raises(ValueError, match="empty"):
        wic.encode_targets([], tok)
    with pytest.raises(ValueError, match="no target span"):
        wic.encode_targets([Example("x", "noun.Tops", "a sentence", None, None, None)], tok)
    with pytest.raises(ValueError, match="runs past the end"):
        wic.encode_targets([Example("x", "noun.Tops", "a bank", "bank", 2, 40)], tok)
    long_text = "word " * 200 + "bank"
    with pytest.raises(ValueError, match="covers no token.*max_length"):
        wic.encode_targets([Example("x", "noun.Tops", long_text, "bank", len(long_text) - 4, len(long_text))], tok)


def test_collate_pairs_stacks_sentence_a_then_b_and_rejects_an_empty_list(tok):
    ps = wic.pairs("dev")[:3]
    batch = wic.collate_pairs(ps, tok)
    assert batch.input_ids.shape[0] == 6 and batch.labels.tolist() == [p.label for p in ps]
    assert tok.decode(batch.input_ids[4][batch.attention_mask[4] == 1]) == \
        tok.decode(tok.encode(ps[1].second.text))
    with pytest.raises(ValueError, match="pair list is empty"):
        wic.collate_pairs([], tok)
    with pytest.raises(TypeError, match="not a WicPair"):
        wic.collate_pairs([("a", "b")], tok)


# ---------------------------------------------------------------------------
# Pooling, pair features, the head
# ---------------------------------------------------------------------------

def test_pool_targets_is_the_mean_of_the_target_pieces():
    h = torch.arange(2 * 4 * 3, dtype=torch.float32).reshape(2, 4, 3)
    mask = torch.tensor([[0, 1, 1, 0], [0, 0, 0, 1]], dtype=torch.float32)
    pooled = pool_targets(h, mask)
    assert torch.allclose(pooled[0], (h[0, 1] + h[0, 2]) / 2)
    assert torch.allclose(pooled[1], h[1, 3])


def test_pool_targets_rejects_a_target_on_padding_or_a_missing_target():
    h = torch.zeros(2, 4, 3)
    attention = torch.tensor([[1, 1, 1, 0], [1, 1, 1, 1]])
    with pytest.raises(ValueError, match="padding"):
        pool_targets(h, torch.tensor([[0, 0, 0, 1], [0, 1, 0, 0]]), attention)
    with pytest.raises(ValueError, match="mark no token"):
        pool_targets(h, torch.tensor([[0, 0, 0, 0], [0, 1, 0, 0]]), attention)
    with pytest.raises(ValueError, match="shape"):
        pool_targets(h, torch.ones(2, 3))


def test_pair_features_are_u_v_absolute_difference_and_product():
    u = torch.tensor([[1.0, -2.0]])
    v = torch.tensor([[3.0, 4.0]])
    assert pair_features(u, v).tolist() == [[1.0, -2.0, 3.0, 4.0, 2.0, 6.0, 3.0, -8.0]]
    with pytest.raises(ValueError, match="pair list is empty"):
        pair_features(torch.zeros(0, 2), torch.zeros(0, 2))
    with pytest.raises(ValueError, match="same|both"):
        pair_features(torch.zeros(1, 2), torch.zeros(1, 3))


def test_token_pair_head_gives_logits_and_the_model_learns_a_tiny_task(tok):
    torch.manual_seed(0)
    config = EncoderConfig(num_layers=1, hidden_size=32, num_heads=2, intermediate_size=64, dropout=0.0,
                           attention_dropout=0.0)
    head = TokenPairHead(config)
    assert head(torch.zeros(5, 32), torch.zeros(5, 32)).shape == (5, 2)
    model = WordInContextModel(Encoder(config))
    batch = wic.collate_pairs(wic.pairs("dev")[:8], tok)
    opt = torch.optim.AdamW(model.parameters(), lr=3e-3)
    losses = []
    for _ in range(30):
        loss = torch.nn.functional.cross_entropy(model(batch), batch.labels)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < 0.5 * losses[0], losses


# ---------------------------------------------------------------------------
# The probe
# ---------------------------------------------------------------------------

def test_linear_probe_finds_a_linearly_separable_layer_and_not_a_noise_layer():
    g = torch.Generator().manual_seed(0)
    y = torch.randint(0, 3, (600,), generator=g)
    signal = torch.nn.functional.one_hot(y, 3).float() * 3 + torch.randn(600, 3, generator=g)
    noise = torch.randn(600, 3, generator=g)
    x = torch.stack([noise, signal], dim=1)                              # (n, 2 layers, 3)
    accs = probe.probe_layers(x[:400], y[:400], x[400:], y[400:], 3)
    assert accs[1] > 0.9 and accs[0] < 0.5, accs
    assert probe.majority_baseline(torch.tensor([0, 0, 1]), torch.tensor([0, 1, 1, 1])) == 0.25


def test_target_vectors_give_one_vector_per_layer_from_the_encoder(tok):
    torch.manual_seed(0)
    config = EncoderConfig(num_layers=2, hidden_size=32, num_heads=2, intermediate_size=64)
    enc = Encoder(config)
    examples = wic.targets("dev")[:5]
    vecs = probe.target_vectors(enc, tok, examples, batch_size=2)
    assert vecs.shape == (5, 3, 32)
    one = wic.encode_targets(examples[:1], tok)
    h = enc(one["input_ids"], one["attention_mask"], output_hidden_states=True).hidden_states
    assert torch.allclose(vecs[0, 2], pool_targets(h[2], one["target_mask"])[0], atol=1e-5)
    feats = probe.wic_features(vecs, [0, 1], [2, 3])
    assert feats.shape == (2, 3, 128)
    with pytest.raises(ValueError, match="empty"):
        probe.wic_features(vecs, [], [])
    with pytest.raises(ValueError, match="no examples"):
        probe.target_vectors(enc, tok, [])


# ---------------------------------------------------------------------------
# The notebook's experiment helpers
# ---------------------------------------------------------------------------

def test_starting_points_are_named_and_random_init_has_the_course_architecture():
    from encoder_lib import context_tasks as ct

    with pytest.raises(ValueError, match="starting point must be one of"):
        ct.starting_point("bert-large")
    enc, tok = ct.starting_point("random", seed=1)
    assert enc.config == ct.course_config()
    again, _ = ct.starting_point("random", seed=1)
    assert all(torch.equal(a, b) for a, b in zip(enc.state_dict().values(), again.state_dict().values()))


def test_finetune_wic_trains_a_copy_and_evaluate_counts_correct_pairs(tok):
    from encoder_lib import context_tasks as ct

    torch.manual_seed(0)
    enc = Encoder(EncoderConfig(num_layers=1, hidden_size=32, num_heads=2, intermediate_size=64, max_position=64))
    before = {k: v.clone() for k, v in enc.state_dict().items()}
    model, losses = ct.finetune_wic(enc, tok, ct.WicConfig(train_pairs=16, batch_size=8, epochs=1))
    assert len(losses) == 2 and all(math.isfinite(x) for x in losses)
    assert all(torch.equal(before[k], v) for k, v in enc.state_dict().items()), "the caller's encoder changed"
    acc = ct.evaluate_wic(model, tok, "dev", limit=10)
    assert 0.0 <= acc <= 1.0 and acc * 10 == round(acc * 10)
    data = ct.probe_data(train_pairs=20, test_pairs=10)
    assert len(data.train_pairs) == 20 and max(max(a, b) for a, b, _ in data.train_pairs) < len(data.train_sentences)
    assert set(ct.chance_levels(data)) == {"wic", "supersense"}
