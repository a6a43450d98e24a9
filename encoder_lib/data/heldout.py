"""The held-out masked-LM set, masked once, and the unigram baseline on it.

A fixed sample of the *dev* split's sentences (never seen in pre-training) is
tokenized and masked with a fixed seed, so every run, on every machine, is scored on
exactly the same masked positions: held-out losses are comparable across runs.

The unigram baseline predicts every masked token from the training corpus's token
frequencies alone (add-one smoothed), ignoring the context: its loss is the
cross-entropy of that distribution on the held-out labels, its accuracy that of
always guessing the most frequent token. A masked LM that has learnt anything from
context beats both.
"""
from __future__ import annotations

import math
import random
from functools import lru_cache
from typing import Iterable, Sequence

import torch

from . import splits
from .masking import IGNORE_INDEX, mask_tokens

HELDOUT_SENTENCES = 2000     # dev sentences in the held-out set
HELDOUT_SEED = 1234          # seed of both the sample and its masks
HELDOUT_BATCH = 128          # sentences per held-out batch


def pad_batch(rows: Sequence[Sequence[int]], pad_id: int) -> tuple[torch.Tensor, torch.Tensor]:
    """(input_ids, attention_mask), both (batch, longest row) long, padded on the right."""
    longest = max(len(r) for r in rows)
    ids = torch.full((len(rows), longest), pad_id, dtype=torch.long)
    mask = torch.zeros((len(rows), longest), dtype=torch.long)
    for i, r in enumerate(rows):
        ids[i, :len(r)] = torch.tensor(r, dtype=torch.long)
        mask[i, :len(r)] = 1
    return ids, mask


def special_mask(input_ids: torch.Tensor, tokenizer) -> torch.Tensor:
    """(batch, seq) bool: True at [CLS], [SEP] and [PAD]."""
    ids = torch.tensor([tokenizer.cls_token_id, tokenizer.sep_token_id, tokenizer.pad_token_id])
    return torch.isin(input_ids, ids)


def heldout_sentences(n: int = HELDOUT_SENTENCES, seed: int = HELDOUT_SEED) -> list[str]:
    """A fixed sample of ``n`` dev-split sentences (definitions and examples), none of
    which occurs in the train split's text (a few example sentences are shared by
    synsets of different splits; those are left out)."""
    return list(_sample(n, seed))


@lru_cache(maxsize=8)
def _sample(n: int, seed: int) -> tuple[str, ...]:
    train = set(splits.pretraining_sentences("train"))
    dev = sorted(set(splits.pretraining_sentences("dev")) - train)
    if not 0 < n <= len(dev):
        raise ValueError(f"the held-out set needs 1..{len(dev)} sentences, got {n}")
    return tuple(random.Random(seed).sample(dev, n))


def heldout_batches(tokenizer, max_length: int = 64, n: int = HELDOUT_SENTENCES,
                    seed: int = HELDOUT_SEED, mlm_probability: float = 0.15,
                    batch_size: int = HELDOUT_BATCH) -> list[dict[str, torch.Tensor]]:
    """The held-out set as masked batches (input_ids, attention_mask, labels), masked
    once with ``seed``: the same positions every call, on every machine."""
    rows = [tokenizer.encode(s, max_length=max_length) for s in heldout_sentences(n, seed)]
    rows.sort(key=len)                                    # similar lengths together: little padding
    generator = torch.Generator().manual_seed(seed)
    batches = []
    for start in range(0, len(rows), batch_size):
        ids, mask = pad_batch(rows[start:start + batch_size], tokenizer.pad_token_id)
        masked, labels = mask_tokens(ids, special_mask(ids, tokenizer), mask_token_id=tokenizer.mask_token_id,
                                     vocab_size=tokenizer.vocab_size, mlm_probability=mlm_probability,
                                     generator=generator)
        batches.append({"input_ids": masked, "attention_mask": mask, "labels": labels})
    return batches


def unigram_baseline(train_rows: Iterable[Sequence[int]], batches: Iterable[dict], vocab_size: int,
                     special_ids: Sequence[int] = ()) -> dict[str, float]:
    """Loss, perplexity and accuracy of the context-free unigram guess on ``batches``.

    train_rows: token ids of the training sentences (special ids are not counted)."""
    counts = torch.zeros(vocab_size, dtype=torch.float64)
    for row in train_rows:
        counts += torch.bincount(torch.as_tensor(row, dtype=torch.long), minlength=vocab_size).double()
    counts[list(special_ids)] = 0.0
    probs = (counts + 1.0) / (counts.sum() + vocab_size)              # add-one smoothing
    log_probs, best = probs.log(), int(probs.argmax())
    total, correct, tokens = 0.0, 0, 0
    for b in batches:
        labels = b["labels"][b["labels"] != IGNORE_INDEX]              # (n_masked,)
        total -= log_probs[labels].sum().item()
        correct += (labels == best).sum().item()
        tokens += labels.numel()
    loss = total / tokens
    return {"loss": loss, "perplexity": math.exp(loss), "accuracy": correct / tokens, "tokens": tokens}
