"""Output heads on top of H.

MaskedLMHead: Pr(. | x) = Softmax(H W_o) row by row, with W_o tied to the token
embeddings (BERT's transform: dense, GELU, LayerNorm, then the tied decoder).
ClassificationHead: a task layer on one vector per sequence: h_0, the vector of [CLS]
(BERT's choice), or the mean of the real tokens' h_i (what all-MiniLM-L6-v2 was trained
to produce, and often better for a small fine-tuning set).
"""
from __future__ import annotations

import torch
from torch import nn

from .config import EncoderConfig


class MaskedLMHead(nn.Module):
    """When the embedding table is padded (``config.vocab_multiple``), the product runs
    over all its rows and the padded columns are sliced off before the bias: they are
    never predicted and never enter a softmax."""

    def __init__(self, config: EncoderConfig, word_embeddings: nn.Embedding):
        super().__init__()
        self.vocab_size = config.vocab_size
        self.dense = nn.Linear(config.hidden_size, config.hidden_size, bias=config.linear_bias)
        self.act = nn.GELU()
        self.layer_norm = nn.LayerNorm(config.hidden_size, eps=config.layer_norm_eps)
        self.word_embeddings = word_embeddings                 # W_o^T, shared with the input side
        self.bias = nn.Parameter(torch.zeros(config.vocab_size)) if config.linear_bias else None

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        x = self.layer_norm(self.act(self.dense(h)))            # (batch, seq, d)
        logits = (x @ self.word_embeddings.weight.T)[..., :self.vocab_size]   # (batch, seq, vocab)
        return logits + self.bias if self.bias is not None else logits


class ClassificationHead(nn.Module):
    """logits = W pool(H) + b, with pool(H) = h_0 ("cls") or the masked mean ("mean")."""

    POOLINGS = ("cls", "mean")

    def __init__(self, config: EncoderConfig, num_labels: int, dropout: float | None = None,
                 pooling: str = "cls"):
        super().__init__()
        if num_labels < 2:
            raise ValueError(f"a classifier needs at least 2 labels, got {num_labels}")
        if pooling not in self.POOLINGS:
            raise ValueError(f"pooling must be one of {self.POOLINGS}, got {pooling!r}")
        self.pooling = pooling
        self.dropout = nn.Dropout(config.dropout if dropout is None else dropout)
        self.classifier = nn.Linear(config.hidden_size, num_labels)

    def pool(self, h: torch.Tensor, attention_mask: torch.Tensor | None = None) -> torch.Tensor:
        """One vector per sequence from H (batch, seq, d): (batch, d). The mean counts only
        positions where attention_mask is 1 (all of them when no mask is given)."""
        if self.pooling == "cls":
            return h[:, 0]                                         # h_0 of [CLS]: (batch, d)
        if attention_mask is None:
            return h.mean(dim=1)
        mask = attention_mask.to(h.dtype).unsqueeze(-1)            # (batch, seq, 1)
        return (h * mask).sum(dim=1) / mask.sum(dim=1).clamp(min=1.0)   # (batch, d)

    def classify(self, pooled: torch.Tensor) -> torch.Tensor:
        """Logits (batch, num_labels) from pooled vectors (batch, d)."""
        return self.classifier(self.dropout(pooled))

    def forward(self, h: torch.Tensor, attention_mask: torch.Tensor | None = None) -> torch.Tensor:
        return self.classify(self.pool(h, attention_mask))       # logits (batch, num_labels)
