"""Our encoder with the real all-MiniLM-L6-v2 weights reproduces Hugging Face's
BertModel: every layer's hidden states (1e-4) and the attention maps (1e-5)."""
import pytest
import torch

from encoder_lib import load_pretrained
from encoder_lib.model import Encoder, EncoderConfig, load_bert_weights, ours_to_bert
from encoder_lib.pretrained import pretrained_model_dir

transformers = pytest.importorskip("transformers")

SENTENCES = [
    "The quick fox jumps over the lazy dog.",
    "She sat on the bank of the river and watched the water.",
    "He deposited his salary at the bank on Monday.",
    "a",
    "Transformers map every token to a contextual vector.",
    "Can you believe it's already 2026?!",
    "Café owners in Zürich serve naïve tourists crème brûlée.",
    "東京は日本の首都です。",
    "The bat flew out of the cave at dusk.",
    "He swung the bat and hit a home run.",
    "Pre-training uses masked language modelling (MLM) on unlabelled text.",
    "antidisestablishmentarianism",
    "Prices rose 3.5% in Q3, to $1,234.56 per unit.",
    "Send an e-mail to info@example.com or visit https://example.org/path?q=1.",
    "WordNet groups English words into sets of cognitive synonyms.",
    "The cell divided; the prisoner sat in his cell; her cell phone rang.",
    "I love this movie 😀 so much!!!",
    "Is this sarcastic? Oh, sure, it's *brilliant*.",
    "Spam: you have WON a FREE prize, click now",
    "Fine-tuning updates the encoder and the new classification head together.",
    "short",
    "Colorless green ideas sleep furiously.",
    "Tabs\tand\nnewlines are whitespace too.",
    "The river bank was muddy after the rain, and the bank across the street was closed.",
]


@pytest.fixture(scope="module")
def models():
    ours, tokenizer = load_pretrained(device="cpu")
    theirs = transformers.BertModel.from_pretrained(
        str(pretrained_model_dir()), attn_implementation="eager", add_pooling_layer=False,
        dtype=torch.float32).eval()
    return ours, theirs, tokenizer


def _run_both(ours, theirs, batch):
    with torch.no_grad():
        a = ours(batch["input_ids"], attention_mask=batch["attention_mask"],
                 token_type_ids=batch["token_type_ids"], output_hidden_states=True, output_attentions=True)
        b = theirs(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"],
                   token_type_ids=batch["token_type_ids"], output_hidden_states=True, output_attentions=True)
    return a, b


def test_every_layer_matches_bert_on_a_padded_batch(models):
    ours, theirs, tokenizer = models
    batch = tokenizer(SENTENCES)
    assert batch["attention_mask"].float().mean() < 0.9, "the batch should contain padding"
    a, b = _run_both(ours, theirs, batch)
    assert len(a.hidden_states) == ours.config.num_layers + 1 == len(b.hidden_states)
    real = batch["attention_mask"].bool()
    for layer, (x, y) in enumerate(zip(a.hidden_states, b.hidden_states)):
        assert x.shape == y.shape == (len(SENTENCES), batch["input_ids"].shape[1], 384)
        diff = (x - y).abs()[real].max().item()
        assert diff < 1e-4, f"layer {layer}: max difference {diff:.2e} on real tokens"


def test_attention_maps_match_eager_attention(models):
    ours, theirs, tokenizer = models
    batch = tokenizer(SENTENCES)
    a, b = _run_both(ours, theirs, batch)
    for layer, (x, y) in enumerate(zip(a.attentions, b.attentions)):
        assert x.shape == (len(SENTENCES), 12, batch["input_ids"].shape[1], batch["input_ids"].shape[1])
        assert torch.allclose(x, y, atol=1e-5), f"layer {layer}: attention maps differ"
        padded_keys = ~batch["attention_mask"].bool()[:, None, None, :].expand_as(x)
        assert x[padded_keys].abs().max() == 0, "padding tokens must get no attention"
        assert torch.allclose(x.sum(-1), torch.ones_like(x.sum(-1)), atol=1e-5)


def test_fast_path_equals_the_explicit_attention_path(models):
    ours, _, tokenizer = models
    batch = tokenizer(SENTENCES[:8])
    with torch.no_grad():
        fast = ours(batch["input_ids"], attention_mask=batch["attention_mask"]).last_hidden_state
        slow = ours(batch["input_ids"], attention_mask=batch["attention_mask"],
                    output_attentions=True).last_hidden_state
    real = batch["attention_mask"].bool()
    assert (fast - slow).abs()[real].max() < 1e-5


def test_sentence_pairs_with_segment_ids_match_bert(models):
    ours, theirs, tokenizer = models
    batch = tokenizer(SENTENCES[:6], text_pair=SENTENCES[6:12])
    assert batch["token_type_ids"].max() == 1
    a, b = _run_both(ours, theirs, batch)
    real = batch["attention_mask"].bool()
    assert (a.last_hidden_state - b.last_hidden_state).abs()[real].max() < 1e-4


def test_padding_does_not_change_the_real_tokens_representations(models):
    ours, _, tokenizer = models
    alone = tokenizer(["The quick fox"])
    padded = tokenizer(["The quick fox", "a much longer sentence that forces padding on the first one"])
    with torch.no_grad():
        h_alone = ours(alone["input_ids"], attention_mask=alone["attention_mask"]).last_hidden_state[0]
        h_padded = ours(padded["input_ids"], attention_mask=padded["attention_mask"]).last_hidden_state[0]
    n = alone["input_ids"].shape[1]
    assert n == 5    # [CLS] the quick fox [SEP]
    assert torch.allclose(h_alone, h_padded[:n], atol=1e-5)


def test_exported_weights_load_into_bert_and_back():
    config = EncoderConfig(vocab_size=100, hidden_size=32, num_layers=2, num_heads=4,
                           intermediate_size=64, max_position=40)
    ours = Encoder(config).eval()
    bert_cfg = transformers.BertConfig(**{k: v for k, v in config.to_bert_config().items()
                                          if k not in ("model_type", "architectures")})
    theirs = transformers.BertModel(bert_cfg, add_pooling_layer=False).eval()
    missing, unexpected = theirs.load_state_dict(ours_to_bert(ours), strict=False)
    assert not [m for m in missing if "position_ids" not in m] and not unexpected
    again = Encoder(config).eval()
    load_bert_weights(again, ours_to_bert(ours))
    ids = torch.randint(0, 100, (2, 7))
    with torch.no_grad():
        assert torch.allclose(again(ids).last_hidden_state, theirs(ids).last_hidden_state, atol=1e-5)


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_gpu_forward_matches_bert_on_the_gpu(models):
    ours, theirs, tokenizer = models
    ours, theirs = ours.cuda(), theirs.cuda()
    try:
        batch = {k: v.cuda() for k, v in tokenizer(SENTENCES).items()}
        with torch.no_grad():
            a = ours(batch["input_ids"], attention_mask=batch["attention_mask"]).last_hidden_state
            b = theirs(**batch).last_hidden_state
        real = batch["attention_mask"].bool()
        assert (a - b).abs()[real].max() < 1e-3      # TF32 / kernel differences on the GPU
    finally:
        ours.cpu(), theirs.cpu()
