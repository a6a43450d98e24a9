"""A head on two tokens' vectors: does the target word mean the same in two sentences?

Word-in-context needs the contextual h_i of one token, not a sentence vector. For each
sentence the target's vector is pooled from H; the head compares the two vectors u
(sentence A) and v (sentence B) through the features

    [u; v; |u - v|; u * v]                  # (batch, 4 d)

and a linear layer gives the logits. |u - v| and u * v make "how far apart" and
"which directions agree" available to a linear classifier; u and v alone would
need it to learn the comparison itself.

**Pooling a target of several word pieces** ("acknowledgment" may be "acknowledge",
"##ment"): we take the *mean* of its pieces' vectors. Every piece has seen the whole
sentence, and the mean keeps information from each of them, whereas the first
piece alone would throw away the rest; the mean also handles multi-word lemmas
("take off") the same way.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from .config import EncoderConfig


def pool_targets(h: torch.Tensor, target_mask: torch.Tensor,
                 attention_mask: torch.Tensor | None = None) -> torch.Tensor:
    """The mean of ``h`` over each row's target pieces.

    h: (batch, seq, d); target_mask: (batch, seq), 1 at the target's pieces, 0
    elsewhere; attention_mask: (batch, seq), optional, to check that no target sits on
    padding. Returns (batch, d)."""
    if not isinstance(h, torch.Tensor) or h.dim() != 3:
        raise ValueError(f"h must be a (batch, seq, d) tensor, got {getattr(h, 'shape', type(h).__name__)}")
    if not isinstance(target_mask, torch.Tensor) or tuple(target_mask.shape) != tuple(h.shape[:2]):
        raise ValueError(f"target_mask must have shape (batch, seq) = {tuple(h.shape[:2])}, got "
                         f"{tuple(getattr(target_mask, 'shape', ()))}")
    mask = target_mask.to(h.dtype)                                  # (batch, seq)
    counts = mask.sum(dim=1)                                        # (batch,)
    if bool((counts == 0).any()):
        rows = (counts == 0).nonzero().flatten().tolist()
        raise ValueError(f"row(s) {rows[:5]} of target_mask mark no token: every sentence needs its target "
                         "(is the target in the sentence? see encoder_lib.data.wic.span_to_tokens)")
    if attention_mask is not None:
        if tuple(attention_mask.shape) != tuple(target_mask.shape):
            raise ValueError(f"attention_mask has shape {tuple(attention_mask.shape)} but target_mask has "
                             f"{tuple(target_mask.shape)}; they must match")
        on_padding = (target_mask != 0) & (attention_mask == 0)
        if bool(on_padding.any()):
            row, pos = on_padding.nonzero()[0].tolist()
            raise ValueError(f"target_mask marks position {pos} of row {row}, which is padding "
                             "(attention_mask 0): a target must lie on real tokens of its sentence")
    return (mask.unsqueeze(-1) * h).sum(dim=1) / counts.unsqueeze(-1)   # (batch, d)


def pair_features(u: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
    """[u; v; |u - v|; u * v] for two batches of vectors (batch, d) -> (batch, 4 d)."""
    if not isinstance(u, torch.Tensor) or not isinstance(v, torch.Tensor):
        raise TypeError("u and v must be torch tensors of shape (batch, d)")
    if u.shape != v.shape or u.dim() != 2:
        raise ValueError(f"u and v must both have shape (batch, d), got {tuple(u.shape)} and {tuple(v.shape)}")
    if u.shape[0] == 0:
        raise ValueError("the pair list is empty: give at least one pair of vectors")
    return torch.cat([u, v, (u - v).abs(), u * v], dim=-1)            # (batch, 4 d)


class TokenPairHead(nn.Module):
    """Logits for a pair of target vectors: Linear(dropout([u; v; |u-v|; u*v]))."""

    def __init__(self, config: EncoderConfig, num_labels: int = 2, dropout: float | None = None):
        super().__init__()
        if num_labels < 2:
            raise ValueError(f"a classifier needs at least 2 labels, got {num_labels}")
        self.dropout = nn.Dropout(config.dropout if dropout is None else dropout)
        self.classifier = nn.Linear(4 * config.hidden_size, num_labels)

    def forward(self, u: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.dropout(pair_features(u, v)))    # logits (batch, num_labels)


@dataclass
class PairBatch:
    """Two encoded sentences per pair (see encoder_lib.data.wic.collate_pairs)."""

    input_ids: torch.Tensor       # (2 * batch, seq): sentence A of every pair, then sentence B
    attention_mask: torch.Tensor  # (2 * batch, seq)
    target_mask: torch.Tensor     # (2 * batch, seq), 1.0 at the target's pieces
    labels: torch.Tensor | None   # (batch,) 1 = same sense, 0 = different

    def to(self, device) -> "PairBatch":
        return PairBatch(self.input_ids.to(device), self.attention_mask.to(device),
                         self.target_mask.to(device), None if self.labels is None else self.labels.to(device))

    def as_dict(self) -> dict:
        """The batch as the fine-tuning loop's dict (encoder_lib.finetune)."""
        return {"input_ids": self.input_ids, "attention_mask": self.attention_mask,
                "target_mask": self.target_mask, "labels": self.labels}


class WordInContextModel(nn.Module):
    """Encoder + TokenPairHead: both sentences of each pair go through the encoder in
    one batch; each target's vector is the **mean of its word pieces' vectors** in the
    last layer H (``pool_targets``; see the module docstring for why the mean).

    A batch is a PairBatch or a dict with the same keys (the fine-tuning loop's form).
    ``features`` is everything below the head and ``classify`` the head, so the loop of
    encoder_lib.finetune can train it like a sentence classifier, and with a frozen
    encoder compute the features once."""

    def __init__(self, encoder: nn.Module, num_labels: int = 2, dropout: float | None = None):
        super().__init__()
        self.encoder = encoder
        self.head = TokenPairHead(encoder.config, num_labels, dropout)

    def features(self, batch: PairBatch | dict) -> torch.Tensor:
        """[u; v] per pair, (batch, 2 d): the pooled targets of sentence A and sentence B."""
        if isinstance(batch, PairBatch):
            batch = batch.as_dict()
        missing = [k for k in ("input_ids", "attention_mask", "target_mask") if k not in batch]
        if missing:
            raise ValueError(f"a word-in-context batch needs input_ids, attention_mask and target_mask; "
                             f"missing {missing}")
        rows = batch["input_ids"].shape[0]
        if rows == 0:
            raise ValueError("the pair list is empty: a batch needs at least one pair of sentences")
        if rows % 2:
            raise ValueError(f"a pair batch holds sentence A of every pair, then sentence B: an even number "
                             f"of rows, got {rows}")
        h = self.encoder(batch["input_ids"], batch["attention_mask"]).last_hidden_state   # (2 batch, seq, d)
        t = pool_targets(h, batch["target_mask"], batch["attention_mask"])               # (2 batch, d)
        u, v = t.chunk(2, dim=0)                                                         # each (batch, d)
        return torch.cat([u, v], dim=-1)                                                 # (batch, 2 d)

    def classify(self, features: torch.Tensor) -> torch.Tensor:
        """Logits (batch, num_labels) from ``features`` (batch, 2 d)."""
        u, v = features.chunk(2, dim=-1)                                                 # each (batch, d)
        return self.head(u, v)

    def forward(self, batch: PairBatch | dict) -> torch.Tensor:
        return self.classify(self.features(batch))                                      # (batch, num_labels)
