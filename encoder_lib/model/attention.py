"""Multi-head scaled dot-product self-attention with a padding mask.

The query, key and value projections are one fused Linear (d -> 3d), which is faster
than three; rows are ordered [query; key; value] so BERT checkpoints load by
concatenation. The fast path is ``torch.nn.functional.scaled_dot_product_attention``;
when the attention probabilities are asked for, the same maths runs explicitly:
softmax(Q K^T / sqrt(head_dim) + mask) V.
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from .config import EncoderConfig


class MultiHeadSelfAttention(nn.Module):
    def __init__(self, config: EncoderConfig):
        super().__init__()
        self.num_heads = config.num_heads
        self.head_dim = config.head_dim
        self.qkv = nn.Linear(config.hidden_size, 3 * config.hidden_size, bias=config.linear_bias)
        self.out = nn.Linear(config.hidden_size, config.hidden_size, bias=config.linear_bias)
        self.attention_dropout = config.attention_dropout

    def forward(self, x: torch.Tensor, key_mask: torch.Tensor | None = None,
                output_attentions: bool = False) -> tuple[torch.Tensor, torch.Tensor | None]:
        """x: (batch, seq, d); key_mask: (batch, 1, 1, seq) bool, True where a key may be
        attended to, or None for no padding. Returns (output (batch, seq, d), probabilities
        (batch, heads, seq, seq) or None)."""
        batch, seq, d = x.shape
        qkv = self.qkv(x).view(batch, seq, 3, self.num_heads, self.head_dim)
        q, k, v = qkv.permute(2, 0, 3, 1, 4).unbind(0)             # each (batch, heads, seq, head_dim)
        dropout_p = self.attention_dropout if self.training else 0.0
        probs = None
        if output_attentions:
            scores = q @ k.transpose(-2, -1) / math.sqrt(self.head_dim)   # (batch, heads, seq, seq)
            if key_mask is not None:
                scores = scores.masked_fill(~key_mask, torch.finfo(scores.dtype).min)
            probs = scores.softmax(dim=-1)
            context = F.dropout(probs, dropout_p, self.training) @ v      # (batch, heads, seq, head_dim)
        else:
            context = F.scaled_dot_product_attention(q, k, v, attn_mask=key_mask, dropout_p=dropout_p)
        context = context.transpose(1, 2).reshape(batch, seq, d)          # (batch, seq, d)
        return self.out(context), probs


def sdpa_backend(name: str = "auto"):
    """A context manager that makes scaled_dot_product_attention use one kernel family:
    "flash" (FlashAttention-2; no padding mask), "cudnn", "efficient" (memory-efficient),
    "math" (the plain formula), or "auto" (PyTorch picks, the default). A kernel that
    cannot run the inputs raises an error instead of quietly using another."""
    import contextlib

    from torch.nn.attention import SDPBackend, sdpa_kernel

    backends = {"flash": SDPBackend.FLASH_ATTENTION, "cudnn": SDPBackend.CUDNN_ATTENTION,
                "efficient": SDPBackend.EFFICIENT_ATTENTION, "math": SDPBackend.MATH}
    if name == "auto":
        return contextlib.nullcontext()
    if name not in backends:
        raise ValueError(f"sdpa backend must be auto or one of {', '.join(backends)}, got {name!r}")
    return sdpa_kernel(backends[name])
