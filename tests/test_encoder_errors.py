"""Bad input gets a clear error naming what was wrong, not a stack trace from torch."""
import json

import pytest
import torch
from safetensors.torch import save_file

from encoder_lib.model import Encoder, EncoderConfig, WeightsMismatchError, load_bert_weights

SMALL = EncoderConfig(vocab_size=50, hidden_size=16, num_layers=2, num_heads=2,
                      intermediate_size=32, max_position=10)


@pytest.fixture(scope="module")
def model():
    return Encoder(SMALL).eval()


@pytest.mark.parametrize("ids, error, message", [
    (torch.ones(1, 11, dtype=torch.long), ValueError, "position table covers only 10"),
    (torch.ones(0, 4, dtype=torch.long), ValueError, "empty"),
    (torch.ones(2, 0, dtype=torch.long), ValueError, "empty"),
    (torch.tensor([[1, 2, 50]]), ValueError, "token id 50 is outside the vocabulary"),
    (torch.tensor([[1, -1]]), ValueError, "token id -1 is outside"),
    (torch.tensor([[1.0, 2.0]]), TypeError, "integer token ids"),
    (torch.tensor([1, 2, 3]), ValueError, "unsqueeze"),
    ([[1, 2, 3]], TypeError, "torch.Tensor"),
])
def test_bad_input_ids_are_named(model, ids, error, message):
    with pytest.raises(error, match=message):
        model(ids)


def test_mask_of_the_wrong_shape_is_named(model):
    ids = torch.ones(2, 5, dtype=torch.long)
    with pytest.raises(ValueError, match=r"attention_mask has shape \(2, 4\)"):
        model(ids, attention_mask=torch.ones(2, 4))


def test_mask_with_values_other_than_zero_and_one(model):
    with pytest.raises(ValueError, match="only 0"):
        model(torch.ones(1, 3, dtype=torch.long), attention_mask=torch.tensor([[1, 2, 1]]))


def test_all_padding_row_is_named(model):
    with pytest.raises(ValueError, match="no real token"):
        model(torch.ones(2, 3, dtype=torch.long), attention_mask=torch.tensor([[1, 1, 1], [0, 0, 0]]))


def test_segment_ids_out_of_range(model):
    with pytest.raises(ValueError, match="token_type_ids"):
        model(torch.ones(1, 3, dtype=torch.long), token_type_ids=torch.tensor([[0, 1, 2]]))


def test_config_rejects_heads_that_do_not_divide_the_width():
    with pytest.raises(ValueError, match="divisible"):
        EncoderConfig(hidden_size=30, num_heads=4)


def test_weights_of_another_architecture_are_rejected_with_a_list(tmp_path):
    gpt_like = {"transformer.h.0.attn.c_attn.weight": torch.zeros(16, 48),
                "transformer.wte.weight": torch.zeros(50, 16)}
    path = tmp_path / "model.safetensors"
    save_file(gpt_like, str(path))
    with pytest.raises(WeightsMismatchError) as err:
        load_bert_weights(Encoder(SMALL), path)
    text = str(err.value)
    assert "is this a BERT-format checkpoint" in text
    assert "transformer.wte.weight" in text and "missing" in text


def test_missing_and_mis_shaped_tensors_are_listed():
    from encoder_lib.model import ours_to_bert

    state = ours_to_bert(Encoder(SMALL))
    del state["encoder.layer.1.output.dense.bias"]
    state["embeddings.word_embeddings.weight"] = torch.zeros(51, 16)
    state["encoder.layer.0.surprise.weight"] = torch.zeros(3)
    with pytest.raises(WeightsMismatchError) as err:
        load_bert_weights(Encoder(SMALL), state)
    text = str(err.value)
    assert "missing (1): layers.1.ffn.down.bias" in text
    assert "wrong shape (1): embeddings.word_embeddings.weight: file (51, 16) vs model (50, 16)" in text
    assert "unexpected (1): encoder.layer.0.surprise.weight" in text


def test_a_corrupt_weights_file_is_a_clear_error(tmp_path):
    path = tmp_path / "model.safetensors"
    path.write_bytes(b"not a safetensors file")
    with pytest.raises(ValueError, match="not a readable safetensors file"):
        load_bert_weights(Encoder(SMALL), path)


def test_a_non_bert_config_is_rejected(tmp_path):
    with pytest.raises(ValueError, match="model_type 'bert'"):
        EncoderConfig.from_bert_config({"model_type": "gpt2"})
