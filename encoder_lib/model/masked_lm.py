"""The encoder as a masked language model: Pr(. | x) = Softmax(H W_o) row by row.

``EncoderForMaskedLM`` is the ``Encoder`` (H = Encode_theta(x)) followed by the tied
``MaskedLMHead`` (W_o is the transpose of the token-embedding table). With ``labels``
(from ``encoder_lib.data.masking``) it computes the loss the way pre-training needs it:

    rows = labels != -100                    # the selected positions, (batch, seq) bool
    H_sel = H[rows]                          # (n_masked, d)   gathered BEFORE the projection
    logits = MaskedLMHead(H_sel)             # (n_masked, vocab)
    loss = cross_entropy(logits, labels[rows])

What gathering first saves: the projection to the vocabulary costs 2 * d * V FLOPs
per position. For the course model (d = 128, 4 layers, feed-forward 512, V = 30,522)
that is 7.8 MFLOP per token, 4.6x the whole encoder (12 d^2 multiply-adds per layer for
the projections and the feed-forward network plus attention at seq 64: 1.7 MFLOP per
token). Evaluating it only at the ~15 % selected rows cuts the forward cost from about
9.5 to 2.9 MFLOP per token (3.3x less, and the same for the backward pass). The
logits' memory shrinks alike: 122 kB per position (30,522 fp32 values), so for a batch
of 128 x 64 positions 1.0 GB of logits (and as much again for their gradient) becomes
about 0.15 GB. The loss is the same, since it never looks at the other rows
(``tests/test_masked_lm.py`` checks it); ``bench/pretrain_speed.py`` measures the step.

The number of selected rows differs from batch to batch, so ``H[rows]`` has a size
known only from the data: ``torch.compile`` must split the graph there. With
``num_predictions=k`` (a fixed-size head, Cramming's "sparse prediction") the head
takes exactly k rows instead: the selected ones first, in reading order, then unselected
ones whose label is -100 as padding, ignored by the loss. The shapes then depend only on
k, and the whole model, forward and backward, compiles as one graph. The loss is the
same whenever k is at least the number of selected rows (``tests/test_fixed_size_head.py``);
selected rows beyond k are left out of the loss, so choose k with a margin (the
pre-training setting ``fixed_mlm_rows`` does).

Without labels the model returns logits for every position, (batch, seq, vocab),
for fill-in-the-blank demos. ``masked_lm_metrics`` gives held-out loss, perplexity
and masked-token accuracy over batches of already-masked data.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Iterable

import torch
import torch.nn.functional as F
from torch import nn

from .config import EncoderConfig
from .encoder import Encoder
from .heads import MaskedLMHead

IGNORE_INDEX = -100    # label of a position the loss skips


@dataclass
class MaskedLMOutput:
    loss: torch.Tensor | None      # mean cross-entropy over the selected positions (scalar), or None
    logits: torch.Tensor           # (n_masked, vocab) with labels ((k, vocab): k fixed rows); (batch, seq, vocab) without
    labels: torch.Tensor | None    # (n_masked,) the original ids at the selected positions ((k,): -100 pads), or None


class EncoderForMaskedLM(nn.Module):
    """Encoder + tied MLM head. ``.encoder`` is a plain ``Encoder`` (what part 3 fine-tunes)."""

    def __init__(self, config: EncoderConfig | None = None):
        super().__init__()
        self.config = config or EncoderConfig()
        self.encoder = Encoder(self.config)
        self.mlm_head = MaskedLMHead(self.config, self.encoder.embeddings.word_embeddings)
        # BERT's initialisation for the head's own layers (the tied table is the encoder's)
        nn.init.normal_(self.mlm_head.dense.weight, std=0.02)
        nn.init.ones_(self.mlm_head.layer_norm.weight)
        nn.init.zeros_(self.mlm_head.layer_norm.bias)
        for bias in (self.mlm_head.dense.bias, self.mlm_head.bias):
            if bias is not None:
                nn.init.zeros_(bias)

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor | None = None,
                labels: torch.Tensor | None = None,
                token_type_ids: torch.Tensor | None = None,
                num_predictions: int | None = None) -> MaskedLMOutput:
        """input_ids, attention_mask, labels: (batch, seq); num_predictions: None (the
        selected rows exactly) or a fixed number of rows. See the module docstring."""
        h = self.encoder(input_ids, attention_mask, token_type_ids).last_hidden_state  # H: (batch, seq, d)
        if labels is None:
            return MaskedLMOutput(loss=None, logits=self.mlm_head(h), labels=None)  # (batch, seq, vocab)
        if not isinstance(labels, torch.Tensor) or labels.shape != input_ids.shape:
            raise ValueError(f"labels must be a tensor of the same shape as input_ids "
                             f"{tuple(input_ids.shape)} (-100 where no loss is wanted)")
        if num_predictions is not None:
            return self._fixed_size_loss(h, labels, num_predictions)
        rows = labels != IGNORE_INDEX                             # (batch, seq) bool
        targets = labels[rows]                                    # (n_masked,)
        logits = self.mlm_head(h[rows])                           # (n_masked, d) -> (n_masked, vocab)
        if targets.numel() == 0:                                  # nothing selected: a zero loss that
            loss = logits.sum() * 0.0                             # still backpropagates (to nothing)
        else:
            loss = F.cross_entropy(logits.float(), targets)
        return MaskedLMOutput(loss=loss, logits=logits, labels=targets)

    def _fixed_size_loss(self, h: torch.Tensor, labels: torch.Tensor, k: int) -> MaskedLMOutput:
        """The loss from exactly k rows of H (batch, seq, d): no shape depends on the data."""
        if isinstance(k, bool) or not isinstance(k, int) or k <= 0:
            raise ValueError(f"num_predictions must be a positive int, got {k!r}")
        flat_labels = labels.reshape(-1)                           # (batch * seq,)
        k = min(k, flat_labels.numel())
        unselected = (flat_labels == IGNORE_INDEX).to(torch.int32)
        order = torch.argsort(unselected, stable=True)[:k]         # (k,) selected rows first, in reading order
        targets = flat_labels[order]                               # (k,) -100 on the padding rows
        logits = self.mlm_head(h.reshape(-1, h.shape[-1])[order])  # (k, d) -> (k, vocab)
        counted = (targets != IGNORE_INDEX).sum().clamp(min=1)     # padding rows add 0 to the sum
        loss = F.cross_entropy(logits.float(), targets, ignore_index=IGNORE_INDEX, reduction="sum") / counted
        return MaskedLMOutput(loss=loss, logits=logits, labels=targets)

    @property
    def num_parameters(self) -> int:
        """Distinct parameters (the tied table counted once)."""
        return sum(p.numel() for p in self.parameters())


@torch.no_grad()
def masked_lm_metrics(model: EncoderForMaskedLM, batches: Iterable[dict]) -> dict[str, float]:
    """Loss, perplexity and masked-token accuracy over already-masked batches (dicts with
    input_ids, attention_mask, labels), weighting every selected position equally.

    Returns {"loss", "perplexity", "accuracy", "tokens"} (tokens = positions scored).
    The model is put in eval mode for the pass and back in its previous mode after."""
    was_training = model.training
    model.eval()
    device = next(model.parameters()).device
    total_loss, correct, tokens = 0.0, 0, 0
    try:
        for batch in batches:
            out = model(batch["input_ids"].to(device), batch["attention_mask"].to(device),
                        labels=batch["labels"].to(device))
            n = out.labels.numel()
            if n == 0:
                continue
            total_loss += F.cross_entropy(out.logits.float(), out.labels, reduction="sum").item()
            correct += (out.logits.argmax(-1) == out.labels).sum().item()
            tokens += n
    finally:
        model.train(was_training)
    if tokens == 0:
        raise ValueError("no masked positions in the batches: nothing to score")
    loss = total_loss / tokens
    return {"loss": loss, "perplexity": math.exp(min(loss, 700.0)), "accuracy": correct / tokens,
            "tokens": tokens}
