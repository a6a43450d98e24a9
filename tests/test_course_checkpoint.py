"""The shipped course checkpoint: small, loadable in one call, described truly by its
model card, and reproducible by the command that made it."""
from __future__ import annotations

import json

import pytest
import torch

from encoder_lib import Encoder, EncoderForMaskedLM, load_masked_lm, load_pretrained
from encoder_lib.data.heldout import heldout_batches
from encoder_lib.model import masked_lm_metrics
from encoder_lib.pretrain.ship import FIRST_STEPS, RESULT, card_for, first_steps_on_cpu
from encoder_lib.pretrained import course_checkpoint_dir

FOLDER = course_checkpoint_dir("course")


def _json(name):
    return json.loads((FOLDER / name).read_text(encoding="utf-8"))


def test_checkpoint_is_at_most_20_mb_and_complete():
    names = {p.name for p in FOLDER.iterdir()}
    assert {"model.safetensors", "config.json", "history.json", "vocab.txt", "MODEL_CARD.md", RESULT, FIRST_STEPS} <= names
    size = sum(p.stat().st_size for p in FOLDER.iterdir())
    assert size <= 20 * 1024 * 1024, f"the course checkpoint is {size / 1e6:.1f} MB, over 20 MB"


def test_model_card_is_in_sync_with_the_shipped_files():
    assert (FOLDER / "MODEL_CARD.md").read_text(encoding="utf-8") == card_for(FOLDER), (
        "MODEL_CARD.md is out of date: run python -m encoder_lib.pretrain.ship runs/course "
        "encoder_lib/checkpoints/course")


def test_course_checkpoint_loads_in_one_call():
    encoder, tokenizer = load_pretrained("course")
    assert isinstance(encoder, Encoder) and not encoder.training
    assert encoder.config.hidden_size == _json("config.json")["encoder"]["hidden_size"]
    mlm, _ = load_masked_lm("course")
    assert isinstance(mlm, EncoderForMaskedLM)
    assert mlm.mlm_head.word_embeddings.weight is mlm.encoder.embeddings.word_embeddings.weight
    torch.testing.assert_close(mlm.encoder.embeddings.word_embeddings.weight,
                               encoder.embeddings.word_embeddings.weight)
    ids = tokenizer(["the dog barked at the [MASK]"])
    assert mlm(ids["input_ids"], ids["attention_mask"]).logits.shape[-1] == tokenizer.vocab_size
    minilm, _ = load_pretrained()
    assert minilm.config.hidden_size == 384, "load_pretrained() must still give all-MiniLM-L6-v2"
    with pytest.raises(FileNotFoundError, match="no shipped checkpoint 'nope'"):
        load_masked_lm("nope")


def test_shipped_weights_score_what_the_card_says_and_beat_the_unigram_baseline():
    result, pre = _json(RESULT), _json("config.json")["pretrain"]
    mlm, tokenizer = load_masked_lm("course")
    batches = heldout_batches(tokenizer, pre["max_length"], pre["heldout_sentences"], pre["heldout_seed"],
                              pre["mlm_probability"])
    m = masked_lm_metrics(mlm, batches)
    assert m["tokens"] == result["model"]["tokens"] == result["baseline"]["tokens"]
    assert m["loss"] == pytest.approx(result["model"]["loss"], abs=2e-3)
    assert m["accuracy"] == pytest.approx(result["model"]["accuracy"], abs=2e-3)
    assert m["loss"] < result["baseline"]["loss"] - 0.3, "the checkpoint does not beat the unigram baseline"
    assert m["accuracy"] > result["baseline"]["accuracy"] + 0.03


def test_rerunning_the_command_on_the_cpu_reproduces_the_recorded_first_losses(tmp_path):
    pre = _json("config.json")["pretrain"]
    recorded = _json(FIRST_STEPS)
    assert recorded["device"] == "cpu" and len(recorded["steps"]) == 3
    rerun = first_steps_on_cpu(pre, tmp_path)         # what ship recorded, computed again now
    assert len(rerun) == 3
    for ours, theirs in zip(rerun, recorded["steps"]):
        assert ours["step"] == theirs["step"]
        assert ours["loss"] == pytest.approx(theirs["loss"], abs=2e-3), (
            f"step {ours['step']}: re-run loss {ours['loss']} vs recorded {theirs['loss']}")



def test_shipping_an_unfinished_run_says_so_and_writes_nothing(tmp_path, capsys):
    from encoder_lib.pretrain.ship import main
    (tmp_path / "run" / "step_000100").mkdir(parents=True)          # checkpoints, but no final/
    assert main([str(tmp_path / "run"), str(tmp_path / "dest")]) == 2
    err = capsys.readouterr().err
    assert "lacks model.safetensors" in err and "did the run finish?" in err and "Traceback" not in err
    assert not (tmp_path / "dest").exists()
