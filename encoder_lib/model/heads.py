"""Output heads on top of H.

MaskedLMHead: Pr(. | x) = Softmax(H W_o) row by row, with W_o tied to the token
embeddings (BERT's transform: dense, GELU, LayerNorm, then the tied decoder).
ClassificationHead: a task layer on h_0, the vector of [CLS].
"""
from __future__ import annotations

import torch
from torch import nn

from .config import EncoderConfig


class MaskedLMHead(nn.Module):
    def __init__(self, config: EncoderConfig, word_embeddings: nn.Embedding):
        super().__init__()
        self.dense = nn.Linear(config.hidden_size, config.hidden_size)
        self.act = nn.GELU()
        self.layer_norm = nn.LayerNorm(config.hidden_size, eps=config.layer_norm_eps)
        self.word_embeddings = word_embeddings                 # W_o^T, shared with the input side
        self.bias = nn.Parameter(torch.zeros(config.vocab_size))

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        x = self.layer_norm(self.act(self.dense(h)))            # (batch, seq, d)
        return x @ self.word_embeddings.weight.T + self.bias    # logits (batch, seq, vocab)


class ClassificationHead(nn.Module):
    def __init__(self, config: EncoderConfig, num_labels: int, dropout: float | None = None):
        super().__init__()
        if num_labels < 2:
            raise ValueError(f"a classifier needs at least 2 labels, got {num_labels}")
        self.dropout = nn.Dropout(config.dropout if dropout is None else dropout)
        self.classifier = nn.Linear(config.hidden_size, num_labels)

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.dropout(h[:, 0]))           # logits (batch, num_labels) from h_0
