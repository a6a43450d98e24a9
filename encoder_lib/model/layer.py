"""One post-LN encoder layer, as in BERT:

A = LayerNorm(H + SelfAttention(H));  H' = LayerNorm(A + FFN(A)).
"""
from __future__ import annotations

import torch
from torch import nn

from .attention import MultiHeadSelfAttention
from .config import EncoderConfig


class FeedForward(nn.Module):
    """Position-wise feed-forward network: Linear(d -> ffn), GELU, Linear(ffn -> d)."""

    def __init__(self, config: EncoderConfig):
        super().__init__()
        self.up = nn.Linear(config.hidden_size, config.intermediate_size, bias=config.linear_bias)
        self.act = nn.GELU()
        self.down = nn.Linear(config.intermediate_size, config.hidden_size, bias=config.linear_bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.down(self.act(self.up(x)))                  # (batch, seq, d)


class EncoderLayer(nn.Module):
    def __init__(self, config: EncoderConfig):
        super().__init__()
        self.attention = MultiHeadSelfAttention(config)
        self.attention_norm = nn.LayerNorm(config.hidden_size, eps=config.layer_norm_eps)
        self.ffn = FeedForward(config)
        self.ffn_norm = nn.LayerNorm(config.hidden_size, eps=config.layer_norm_eps)
        self.dropout = nn.Dropout(config.dropout)

    def forward(self, h: torch.Tensor, key_mask: torch.Tensor | None = None,
                output_attentions: bool = False) -> tuple[torch.Tensor, torch.Tensor | None]:
        attended, probs = self.attention(h, key_mask, output_attentions)
        a = self.attention_norm(h + self.dropout(attended))          # (batch, seq, d)
        out = self.ffn_norm(a + self.dropout(self.ffn(a)))           # (batch, seq, d)
        return out, probs
