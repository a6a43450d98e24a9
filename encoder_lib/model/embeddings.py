"""Input embeddings: token + position + segment, then LayerNorm and dropout.

h^0_i = LayerNorm(E_tok[x_i] + E_pos[i] + E_seg[s_i])

E_tok has ``config.padded_vocab_size`` rows: ``vocab_size`` unless the table is padded
for speed (``vocab_multiple``); token ids stay below ``vocab_size``.
"""
from __future__ import annotations

import torch
from torch import nn

from .config import EncoderConfig


class Embeddings(nn.Module):
    def __init__(self, config: EncoderConfig):
        super().__init__()
        d = config.hidden_size
        self.word_embeddings = nn.Embedding(config.padded_vocab_size, d, padding_idx=config.pad_token_id)
        self.position_embeddings = nn.Embedding(config.max_position, d)
        self.token_type_embeddings = nn.Embedding(config.type_vocab_size, d)
        self.layer_norm = nn.LayerNorm(d, eps=config.layer_norm_eps)
        self.dropout = nn.Dropout(config.dropout)
        self.register_buffer("position_ids", torch.arange(config.max_position), persistent=False)

    def forward(self, input_ids: torch.Tensor, token_type_ids: torch.Tensor | None = None) -> torch.Tensor:
        seq_len = input_ids.shape[1]
        x = self.word_embeddings(input_ids)                                 # (batch, seq, d)
        x = x + self.position_embeddings(self.position_ids[:seq_len])       # (seq, d) broadcast
        if token_type_ids is None:
            x = x + self.token_type_embeddings.weight[0]                    # segment A everywhere
        else:
            x = x + self.token_type_embeddings(token_type_ids)
        return self.dropout(self.layer_norm(x))                             # (batch, seq, d)
