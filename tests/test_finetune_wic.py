"""Word-in-context fine-tuning through part 3's loop (encoder_lib.finetune with task "wic"):
it learns, stops early and keeps the best epoch, trains only the head when the encoder
is frozen, runs from the command line, and gives clear errors for bad pairs.

The runs use a tiny one-layer encoder on the real tokenizer and a task made here: the
target word "bank" (or "port", "club") next to a river word or a money word, and two
uses are the same sense when their context words come from the same group.
"""
from __future__ import annotations

import json
import random

import pytest
import torch

from encoder_lib import context_tasks as ct
from encoder_lib.data import wic
from encoder_lib.data.wic import WicPair
from encoder_lib.data.wordnet import Example
from encoder_lib.finetune import FinetuneConfig, WicConfig, finetune
from encoder_lib.finetune import train as train_module
from encoder_lib.finetune.__main__ import main
from encoder_lib.finetune.pairs import EncodedPairs
from encoder_lib.device import seed_everything
from encoder_lib.model import Encoder, EncoderConfig, TokenPairHead, WordInContextModel, ours_to_bert
from encoder_lib.pretrained import pretrained_model_dir
from encoder_lib.tokenizer import WordPieceTokenizer

GROUPS = {"river": ["river", "water", "fish", "shore", "boat", "stream"],
          "money": ["money", "loan", "cash", "account", "credit", "deposit"]}
TARGETS = ["bank", "port", "club"]
TEMPLATES = ["the {t} by the {c}", "a {c} near the {t}", "we saw the {t} and the {c} today", "{c} at this {t}"]


def _example(target: str, group: str, rng: random.Random) -> Example:
    text = rng.choice(TEMPLATES).format(t=target, c=rng.choice(GROUPS[group]))
    start = text.index(target)
    return Example(f"{target}-{group}", "noun.Tops", text, target, start, start + len(target))


def _make_pairs(n: int, seed: int) -> list[WicPair]:
    """n balanced pairs of the made-up task (label 1: both context words from one group)."""
    rng = random.Random(seed)
    out = []
    for i in range(n):
        target = TARGETS[i % len(TARGETS)]
        a = rng.choice(list(GROUPS))
        b = a if i % 2 == 0 else next(g for g in GROUPS if g != a)
        out.append(WicPair(target, _example(target, a, rng), _example(target, b, rng), int(a == b)))
    return out


@pytest.fixture(scope="module")
def tok() -> WordPieceTokenizer:
    return WordPieceTokenizer.from_pretrained()


@pytest.fixture(scope="module")
def pairs():
    return _make_pairs(96, seed=0), _make_pairs(48, seed=1)


def _tiny_encoder(seed: int = 0) -> Encoder:
    torch.manual_seed(seed)
    return Encoder(EncoderConfig(num_layers=1, hidden_size=32, num_heads=2, intermediate_size=64, max_position=32,
                                 dropout=0.0, attention_dropout=0.0))


def _config(**overrides) -> WicConfig:
    settings = dict(max_length=32, epochs=8, batch_size=16, lr_encoder=1e-2, lr_head=1e-2, head_dropout=0.0,
                    patience=8, progress=False, device="cpu")
    settings.update(overrides)
    return WicConfig(**settings)


# --- it learns, through the same loop as sentence classification ------------------------------

def test_wic_fine_tuning_through_the_shared_loop_fits_its_training_pairs(tok, pairs):
    train, _ = pairs
    result = finetune(_config(), encoder=_tiny_encoder(), tokenizer=tok, train=train, dev=train)   # dev = train
    assert isinstance(result.model, WordInContextModel)
    assert result.label_names == wic.LABEL_NAMES
    losses = result.step_losses
    assert len(losses) == 8 * 6, "one loss per step: 8 epochs of 96 pairs in batches of 16"
    assert sum(losses[-6:]) / 6 < 0.75 * sum(losses[:6]) / 6, f"the training loss did not fall: {losses}"
    assert result.dev["accuracy"] > 0.65, result.history       # training accuracy; chance is 0.5
    assert result.dev["items"] == 96


def test_pair_batches_hold_sentence_a_rows_then_sentence_b_rows_with_the_targets_marked(tok, pairs):
    train, _ = pairs
    data = EncodedPairs(train[:5], tok, max_length=32)
    b = data.batch([3, 1], torch.device("cpu"))
    assert b["input_ids"].shape[0] == 4 and b["labels"].tolist() == [train[3].label, train[1].label]
    for row, e in enumerate([train[3].first, train[1].first, train[3].second, train[1].second]):
        target = b["input_ids"][row][b["target_mask"][row] == 1]
        assert tok.decode(target) == e.target, f"row {row} marks {tok.decode(target)!r}, not {e.target!r}"
    assert b["input_ids"].shape[1] == int(b["attention_mask"].sum(dim=1).max()), "cut to the longest sentence"


# --- early stopping and the frozen encoder, for the pair head -----------------------------------

def test_early_stopping_keeps_the_best_epoch_of_the_pair_model(tok, pairs, monkeypatch):
    train, dev = pairs
    scripted = iter([0.5, 0.7, 0.6, 0.6, 0.9, 0.9])             # dev accuracy after epochs 1, 2, ...
    real_evaluate, snapshots = train_module.evaluate, []

    def scripted_evaluate(model, *args, **kwargs):
        metrics = real_evaluate(model, *args, **kwargs)
        snapshots.append({k: v.clone() for k, v in model.state_dict().items()})
        if len(snapshots) <= 4:
            metrics["accuracy"] = next(scripted)
        return metrics

    monkeypatch.setattr(train_module, "evaluate", scripted_evaluate)
    result = finetune(_config(epochs=6, patience=2), encoder=_tiny_encoder(), tokenizer=tok, train=train, dev=dev)
    assert [h["epoch"] for h in result.history] == [1, 2, 3, 4], \
        "with patience 2, epochs 3 and 4 without a better dev accuracy end the run"
    assert result.best_epoch == 2
    kept = result.model.state_dict()
    assert all(torch.equal(kept[k], snapshots[1][k]) for k in kept), "the kept weights are not epoch 2's"
    assert not torch.equal(kept["head.classifier.weight"], snapshots[3]["head.classifier.weight"])


def test_frozen_encoder_trains_only_the_pair_head_on_features_computed_once(tok, pairs):
    train, dev = pairs
    encoder = _tiny_encoder()
    before = {k: v.clone() for k, v in encoder.state_dict().items()}
    seed_everything(0)                                          # as the loop does before making the head
    head_before = TokenPairHead(encoder.config, 2, 0.0).classifier.weight.clone()
    result = finetune(_config(freeze_encoder=True, lr_head=0.05), encoder=encoder, tokenizer=tok, train=train,
                      dev=dev)
    for name, p in result.model.encoder.state_dict().items():
        assert torch.equal(p, before[name]), f"{name} changed although the encoder was frozen"
    assert not torch.equal(result.model.head.classifier.weight, head_before), "the head did not train"
    assert result.history[-1]["train_loss"] < result.history[0]["train_loss"], result.history
    # the loop scored dev on the cached [u; v]; a full forward pass must give the same
    full = train_module.evaluate(result.model, EncodedPairs(dev, tok, 32), 16, train_module.precision_policy("cpu"))
    assert full["accuracy"] == pytest.approx(result.dev["accuracy"])
    assert full["loss"] == pytest.approx(result.dev["loss"], rel=1e-4)


# --- the notebook's helpers and the command ---------------------------------------------------

def test_wic_config_defaults_suit_a_pretrained_start_and_train_pairs_sets_train_size():
    config = WicConfig()
    assert config.task == "wic"
    assert 1e-4 <= config.lr_encoder <= 3e-4, "Rule: a MiniLM-size encoder fine-tunes at 1e-4 to 3e-4"
    assert config.lr_head > config.lr_encoder, "Rule: the new head learns faster than the pre-trained encoder"
    assert WicConfig(train_pairs=32).train_size == 32
    with pytest.raises(ValueError, match="WicConfig is the word-in-context"):
        WicConfig(task="coarse")
    with pytest.raises(ValueError, match="task 'wic' reads WordNet"):
        WicConfig(train_file="train.tsv", dev_file="dev.tsv")


def test_finetune_wic_rejects_a_sentence_task_config(tok):
    with pytest.raises(ValueError, match="must be a WicConfig"):
        ct.finetune_wic(_tiny_encoder(), tok, FinetuneConfig())


@pytest.fixture(scope="module")
def tiny_model_dir(tmp_path_factory):
    """A BERT-format folder of a tiny encoder with the real vocabulary (for WordNet's pairs)."""
    from safetensors.torch import save_file
    folder = tmp_path_factory.mktemp("tiny_wic_model")
    (folder / "vocab.txt").write_text((pretrained_model_dir() / "vocab.txt").read_text())
    torch.manual_seed(0)
    encoder = Encoder(EncoderConfig(num_layers=1, hidden_size=32, num_heads=2, intermediate_size=64, max_position=48))
    (folder / "config.json").write_text(json.dumps(encoder.config.to_bert_config()))
    save_file(ours_to_bert(encoder), str(folder / "model.safetensors"))
    return folder


def test_command_fine_tunes_on_wordnet_pairs_with_the_wic_defaults(tiny_model_dir, tmp_path, capsys):
    (tmp_path / "run.json").write_text(json.dumps({"task": "wic", "epochs": 1}))
    argv = ["--config", str(tmp_path / "run.json"), "--init", str(tiny_model_dir), "--train-size", "16",
            "--dev-size", "8", "--test-size", "8", "--no-progress", "--device", "cpu", "--out-dir", str(tmp_path / "out")]
    assert main(argv) == 0
    assert "(8 items)" in capsys.readouterr().out
    saved = json.loads((tmp_path / "out" / "result.json").read_text())
    assert saved["config"]["task"] == "wic" and saved["label_names"] == list(wic.LABEL_NAMES)
    assert saved["config"]["lr_encoder"] == WicConfig().lr_encoder, "the command ignored WicConfig's defaults"
    assert main(["--task", "wic", "--train-file", str(tmp_path / "run.json")]) == 2
    assert "task 'wic' reads WordNet" in capsys.readouterr().err


# --- bad input ----------------------------------------------------------------------------------

def test_a_target_span_outside_its_sentence_is_a_clear_error(tok, pairs):
    train, dev = pairs
    bad = WicPair("bank", train[0].first, Example("x", "noun.Tops", "the bank", "bank", 4, 30), 0)
    with pytest.raises(ValueError, match=r"span \[4, 30\) of sentence B of pair 2 .*outside its 8-character"):
        finetune(_config(), encoder=_tiny_encoder(), tokenizer=tok, train=train[:2] + [bad], dev=dev)
    cut = Example("x", "noun.Tops", "word " * 40 + "bank", "bank", 200, 204)     # beyond max_length tokens
    with pytest.raises(ValueError, match="the training set .*covers no token.*max_length"):
        finetune(_config(), encoder=_tiny_encoder(), tokenizer=tok, train=[WicPair("bank", cut, cut, 1)], dev=dev)


def test_an_empty_pair_list_is_a_clear_error(tok, pairs):
    train, dev = pairs
    with pytest.raises(ValueError, match="training set is an empty pair list"):
        finetune(_config(), encoder=_tiny_encoder(), tokenizer=tok, train=[], dev=dev)
    with pytest.raises(ValueError, match="dev set is an empty pair list"):
        finetune(_config(), encoder=_tiny_encoder(), tokenizer=tok, train=train, dev=[])
    with pytest.raises(TypeError, match="not a WicPair"):
        finetune(_config(), encoder=_tiny_encoder(), tokenizer=tok, train=[("a", "b", 1)], dev=dev)
    with pytest.raises(ValueError, match="dev set is an empty pair list"):
        ct.evaluate_wic(WordInContextModel(_tiny_encoder()), tok, "dev", limit=0)


def test_a_target_on_padding_is_a_clear_error(tok, pairs):
    train, _ = pairs
    b = EncodedPairs(train[:4], tok, max_length=32).batch([0, 1, 2, 3], torch.device("cpu"))
    row = int(b["attention_mask"].sum(dim=1).argmin())              # the shortest sentence has padding
    assert b["attention_mask"][row, -1] == 0
    b["target_mask"][row, -1] = 1.0
    model = WordInContextModel(_tiny_encoder())
    with pytest.raises(ValueError, match="padding"):
        model(b)
    with pytest.raises(ValueError, match="even number of rows"):
        model({k: v[:3] for k, v in b.items() if k != "labels"})
