"""The pre-training speed settings: a padded vocabulary that is never predicted, linear
layers without biases, the settings' checks, and a training run with them on."""
from __future__ import annotations

import json

import pytest
import torch
import torch.nn.functional as F

from encoder_lib import EncoderConfig, EncoderForMaskedLM
from encoder_lib.data import splits
from encoder_lib.model import Encoder, WeightsMismatchError, load_bert_weights, ours_to_bert
from encoder_lib.model.attention import sdpa_backend
from encoder_lib.pretrain import PretrainConfig, load_model_folder, train
from encoder_lib.pretrain.speed import adamw_options

CFG = dict(vocab_size=300, hidden_size=32, num_layers=2, num_heads=4, intermediate_size=64, max_position=32,
           dropout=0.0, attention_dropout=0.0)


def _batch(seed=0, batch=4, seq=10):
    g = torch.Generator().manual_seed(seed)
    ids = torch.randint(5, CFG["vocab_size"], (batch, seq), generator=g)
    labels = torch.where(torch.rand(batch, seq, generator=g) < 0.3, ids, -100)
    labels[0, 1] = ids[0, 1]
    return ids, torch.ones_like(ids), labels


def test_the_defaults_keep_the_unpadded_table_and_every_bias():
    cfg = EncoderConfig()
    assert cfg.vocab_multiple == 1 and cfg.linear_bias and cfg.padded_vocab_size == 30522
    assert EncoderConfig(vocab_multiple=64).padded_vocab_size == 30528      # BERT's 30,522 rounded up
    model = EncoderForMaskedLM(EncoderConfig(**CFG))
    assert model.encoder.embeddings.word_embeddings.weight.shape[0] == 300
    assert model.mlm_head.bias is not None and model.mlm_head.dense.bias is not None
    pretrain = PretrainConfig().encoder_config()
    assert (pretrain.vocab_multiple, pretrain.linear_bias, pretrain.vocab_size) == (1, True, 30522)


def test_padded_vocabulary_rows_are_never_predicted_and_leave_the_loss_unchanged():
    torch.manual_seed(0)
    plain = EncoderForMaskedLM(EncoderConfig(**CFG))
    padded = EncoderForMaskedLM(EncoderConfig(**CFG, vocab_multiple=64))
    table = padded.encoder.embeddings.word_embeddings.weight
    assert table.shape == (320, 32)
    state = plain.state_dict()
    state["encoder.embeddings.word_embeddings.weight"] = torch.cat([state["encoder.embeddings.word_embeddings.weight"],
                                                                   torch.randn(20, 32) * 5])   # large padded rows
    state["mlm_head.word_embeddings.weight"] = state["encoder.embeddings.word_embeddings.weight"]
    padded.load_state_dict(state)
    ids, mask, labels = _batch()
    a, b = plain(ids, mask, labels=labels), padded(ids, mask, labels=labels)
    assert b.logits.shape[-1] == 300 == padded(ids, mask).logits.shape[-1]
    torch.testing.assert_close(b.loss, a.loss)
    b.loss.backward()
    assert table.grad[300:].abs().max() == 0, "a padded row got a gradient: it entered the loss"
    # export is BERT's format (vocab_size rows); loading pads the table again
    exported = ours_to_bert(padded.encoder)
    assert exported["embeddings.word_embeddings.weight"].shape == (300, 32)
    again = Encoder(EncoderConfig(**CFG, vocab_multiple=64))
    load_bert_weights(again, exported)
    torch.testing.assert_close(again(ids).last_hidden_state, padded.encoder(ids).last_hidden_state)


def test_no_bias_model_has_no_linear_bias_and_exports_zero_biases():
    model = EncoderForMaskedLM(EncoderConfig(**CFG, linear_bias=False))
    linears = [m for m in model.modules() if isinstance(m, torch.nn.Linear)]
    assert len(linears) == 2 * 4 + 1 and all(m.bias is None for m in linears)
    assert model.mlm_head.bias is None
    ids, mask, labels = _batch()
    model(ids, mask, labels=labels).loss.backward()
    exported = ours_to_bert(model.encoder)
    assert exported["encoder.layer.0.attention.self.query.bias"].abs().max() == 0
    transformers = pytest.importorskip("transformers")
    cfg = model.config.to_bert_config()
    bert = transformers.BertModel(transformers.BertConfig(**{k: v for k, v in cfg.items()
                                                             if k not in ("model_type", "architectures")}),
                                  add_pooling_layer=False).eval()
    bert.load_state_dict(exported, strict=False)
    with torch.no_grad():
        torch.testing.assert_close(bert(ids).last_hidden_state, model.encoder.eval()(ids).last_hidden_state,
                                   atol=1e-5, rtol=1e-4)
    load_bert_weights(Encoder(model.config), exported)        # zero biases load into a no-bias encoder
    exported["encoder.layer.1.output.dense.bias"] += 0.5
    with pytest.raises(WeightsMismatchError, match="this encoder has no biases"):
        load_bert_weights(Encoder(model.config), exported)


@pytest.mark.parametrize("values, message", [
    ({"fixed_mlm_rows": 0.1}, "fixed_mlm_rows must be 0 .off. or between mlm_probability"),
    ({"compile_mode": "max-autotune"}, "needs compile on"),
    ({"compile": True, "compile_mode": "fastest"}, "compile_mode must be one of default"),
    ({"adamw": "apex"}, "adamw must be one of auto, fused"),
    ({"sdpa_backend": "xformers"}, "sdpa_backend must be one of auto, flash"),
    ({"vocab_multiple": 0}, "vocab_multiple must be a positive integer"),
])
def test_bad_speed_settings_are_clear_errors(values, message):
    with pytest.raises(ValueError, match=message):
        PretrainConfig(**values)


def test_speed_settings_map_to_torch_options():
    cpu, cuda = torch.device("cpu"), torch.device("cuda")
    assert adamw_options(PretrainConfig(), cpu) == {"fused": False}       # today's behaviour
    assert adamw_options(PretrainConfig(), cuda) == {"fused": True}
    assert adamw_options(PretrainConfig(adamw="foreach"), cuda) == {"foreach": True}
    assert PretrainConfig().predicted_rows(1000) is None
    assert PretrainConfig(fixed_mlm_rows=0.2).predicted_rows(1001) == 201
    q = torch.randn(1, 2, 5, 8)
    with sdpa_backend("math"):
        torch.testing.assert_close(F.scaled_dot_product_attention(q, q, q), F.scaled_dot_product_attention(q, q, q))


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    path = tmp_path_factory.mktemp("corpus") / "sentences.txt"
    path.write_text("\n".join(splits.pretraining_sentences("train")[:400]) + "\n", encoding="utf-8")
    return path


TINY = dict(hidden_size=32, num_layers=2, num_heads=2, intermediate_size=64, max_position=32, max_length=32,
            batch_size=16, max_steps=6, warmup_steps=2, lr=3e-3, heldout_sentences=64, eval_every=6,
            checkpoint_every=6, dropout=0.0, seed=5)


def test_a_run_with_the_fixed_size_head_follows_the_default_run(corpus, tmp_path):
    """With k above every batch's selected rows, the losses are those of the default head."""
    runs = {}
    for name, extra in (("default", {}), ("fixed", {"fixed_mlm_rows": 0.6})):
        cfg = PretrainConfig(**TINY, corpus=str(corpus), out_dir=str(tmp_path / name), **extra)
        runs[name] = [r["loss"] for r in train(cfg, progress=False)["history"]["train"]]
    assert runs["fixed"] == pytest.approx(runs["default"], rel=1e-4)


def test_a_run_with_the_cpu_speed_settings_on_trains_and_loads_back(corpus, tmp_path):
    cfg = PretrainConfig(**TINY, corpus=str(corpus), out_dir=str(tmp_path / "fast"), fixed_mlm_rows=0.2,
                         vocab_multiple=64, linear_bias=False, adamw="fused", sdpa_backend="math")
    summary = train(cfg, progress=False)
    losses = [r["loss"] for r in summary["history"]["train"]]
    assert losses[-1] < losses[0]
    saved = json.loads((tmp_path / "fast" / "final" / "config.json").read_text())
    assert saved["encoder"]["vocab_multiple"] == 64 and saved["encoder"]["linear_bias"] is False
    model = load_model_folder(tmp_path / "fast" / "final")
    assert model.encoder.embeddings.word_embeddings.weight.shape[0] == 30528
    assert model.config.vocab_size == 30522 and model.mlm_head.bias is None
