"""The model being fine-tuned: an encoder and a classification head, and the three
starting points of the comparison (random initialisation, the course checkpoint, MiniLM).
"""
from __future__ import annotations

from pathlib import Path

import torch
from torch import nn

from ..model import ClassificationHead, Encoder, WeightsMismatchError
from ..pretrain.checkpoint import CheckpointError as PretrainCheckpointError
from ..pretrained import load_masked_lm, load_pretrained, pretrained_model_dir
from ..tokenizer import WordPieceTokenizer


class CheckpointError(ValueError):
    """A model folder that cannot be a starting point (wrong files, config or vocabulary)."""


class SequenceClassifier(nn.Module):
    """logits = Head(Encode_theta(x)): one label per sequence."""

    def __init__(self, encoder: Encoder, num_labels: int, pooling: str = "cls", dropout: float = 0.1):
        super().__init__()
        self.encoder = encoder
        self.head = ClassificationHead(encoder.config, num_labels, dropout=dropout, pooling=pooling)

    def pooled(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        """The vector the head classifies, (batch, d)."""
        h = self.encoder(input_ids, attention_mask).last_hidden_state    # H: (batch, seq, d)
        return self.head.pool(h, attention_mask)

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        return self.head.classify(self.pooled(input_ids, attention_mask))  # (batch, num_labels)

    # the fine-tuning loop's interface (shared with WordInContextModel): features from a
    # batch dict, then the head; a frozen encoder's features are computed once

    def features(self, batch: dict) -> torch.Tensor:
        """The pooled vectors of a batch dict (input_ids, attention_mask), (batch, d)."""
        return self.pooled(batch["input_ids"], batch["attention_mask"])

    def classify(self, features: torch.Tensor) -> torch.Tensor:
        """Logits (batch, num_labels) from pooled vectors (batch, d)."""
        return self.head.classify(features)


def _load_folder(folder: Path) -> tuple[Encoder, WordPieceTokenizer]:
    """An encoder from a model folder, checked so a wrong folder gets a clear error: a
    BERT-format folder (config.json, model.safetensors, vocab.txt) or a pre-training
    run's folder (encoder_lib.pretrain's config.json and model.safetensors)."""
    import json
    missing = [f for f in ("config.json", "model.safetensors") if not (folder / f).is_file()]
    if missing:
        raise CheckpointError(f"{folder} is not a model folder: it lacks {', '.join(missing)}")
    config = json.loads((folder / "config.json").read_text())
    ours = str(config.get("format", "")).startswith("encoder_lib.pretrain")
    vocab_size = config["encoder"]["vocab_size"] if ours else config.get("vocab_size")
    vocab_file = folder / "vocab.txt" if (folder / "vocab.txt").is_file() or not ours else pretrained_model_dir() / "vocab.txt"
    if not vocab_file.is_file():
        raise CheckpointError(f"{folder} is not a model folder: it lacks vocab.txt")
    with open(vocab_file, encoding="utf-8") as f:
        n_vocab = sum(1 for _ in f)
    if vocab_size != n_vocab:
        raise CheckpointError(f"{folder}: config.json says vocab_size={vocab_size} but {vocab_file.name} has "
                              f"{n_vocab} tokens; the weights were trained with another vocabulary")
    try:
        if ours:
            model, tokenizer = load_masked_lm(folder, device="cpu")
            return model.encoder, tokenizer
        return load_pretrained(folder, device="cpu")
    except (WeightsMismatchError, PretrainCheckpointError) as err:
        raise CheckpointError(f"{folder}/model.safetensors does not match its config.json:\n{err}") from None


def load_start(init: str, random_like: str = "course") -> tuple[Encoder, WordPieceTokenizer]:
    """(encoder on the CPU in train mode, tokenizer) for a starting point:
    "course" = part 2's checkpoint, "minilm" = all-MiniLM-L6-v2, "random" = the
    architecture and vocabulary of ``random_like`` with fresh BERT initialisation,
    or a path to a BERT-format folder."""
    if init == "minilm":
        encoder, tokenizer = load_pretrained(device="cpu")
    elif init == "course":
        try:
            encoder, tokenizer = load_pretrained("course", device="cpu")
        except (FileNotFoundError, TypeError, ValueError) as err:
            raise CheckpointError(f"the course checkpoint of part 2 cannot be loaded: {err}") from None
    elif init == "random":
        if random_like == "random":
            raise ValueError("random_like must name a model to copy the architecture from")
        pretrained, tokenizer = load_start(random_like)
        encoder = Encoder(pretrained.config)          # same shapes, fresh N(0, 0.02) weights
    else:
        folder = Path(init)
        if not folder.is_dir():
            raise CheckpointError(f"init must be 'random', 'course', 'minilm' or a model folder; "
                                  f"{init!r} is none of these")
        encoder, tokenizer = _load_folder(folder)
    if encoder.config.vocab_size != tokenizer.vocab_size:
        raise CheckpointError(f"the {init} encoder has {encoder.config.vocab_size} token embeddings but its "
                              f"tokenizer {tokenizer.vocab_size} tokens: another vocabulary")
    return encoder.train(), tokenizer
