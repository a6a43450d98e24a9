"""A small encoder config and a padded batch with masked-LM labels, shared by the masked-LM
head tests (tests/test_masked_lm.py, tests/test_fixed_size_head.py)."""
from __future__ import annotations

import torch

from encoder_lib import EncoderConfig

CFG = EncoderConfig(vocab_size=300, hidden_size=32, num_layers=2, num_heads=4, intermediate_size=64,
                    max_position=32, dropout=0.0, attention_dropout=0.0)


def _data(seed=0, batch=6, seq=12):
    g = torch.Generator().manual_seed(seed)
    ids = torch.randint(5, CFG.vocab_size, (batch, seq), generator=g)
    mask = torch.ones(batch, seq, dtype=torch.long)
    mask[0, 8:] = 0
    mask[3, 5:] = 0
    ids[mask == 0] = 0
    labels = torch.where((torch.rand(batch, seq, generator=g) < 0.3) & (mask == 1), ids, -100)
    labels[1, 2] = ids[1, 2]                             # at least one selected position
    return ids, mask, labels
