"""Masked-language-model inputs: choose positions, corrupt them, keep the answers.

BERT's rule, applied independently to every real token (never to [CLS], [SEP] or
[PAD]): with probability ``mlm_probability`` (15 %) the position is *selected*. The
loss is computed at the selected positions only, where the label is the original id;
everywhere else the label is -100 (ignored). Of the selected positions

* 80 % are replaced by [MASK],
* 10 % by a token drawn uniformly from the vocabulary,
* 10 % are left unchanged,

so the model cannot learn that "only [MASK] positions matter": it must keep a good
guess of every token, since any token may be one it is asked about.

``mask_tokens`` works on a batch of ids; ``MLMCollator`` turns a list of sentences
into a padded, masked batch. Both draw from a ``torch.Generator`` when one is given
(``MLMCollator(seed=...)``), so a seeded run masks the same positions every time.
"""
from __future__ import annotations

from typing import Sequence

import torch

IGNORE_INDEX = -100          # label of a position the loss skips (PyTorch's cross-entropy default)
MASK_FRACTION = 0.8          # of the selected positions: share replaced by [MASK]
RANDOM_FRACTION = 0.1        # ... share replaced by a random token (the rest stay unchanged)


def check_mlm_probability(p) -> float:
    """``p`` as a float, or a clear error when it is not strictly between 0 and 1."""
    if isinstance(p, bool) or not isinstance(p, (int, float)):
        raise TypeError(f"mlm_probability must be a number in (0, 1), got {type(p).__name__}")
    if not 0.0 < float(p) < 1.0:
        raise ValueError(f"mlm_probability must be strictly between 0 and 1 (BERT uses 0.15), got {p!r}")
    return float(p)


def mask_tokens(input_ids: torch.Tensor, special_tokens_mask: torch.Tensor, *, mask_token_id: int,
                vocab_size: int, mlm_probability: float = 0.15,
                generator: torch.Generator | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """(masked_input_ids, labels), both (batch, seq) long; the inputs are not modified.

    input_ids: (batch, seq) token ids; special_tokens_mask: (batch, seq) bool, True at
    [CLS], [SEP] and [PAD] (never selected). labels holds the original id at the
    selected positions and -100 elsewhere."""
    p = check_mlm_probability(mlm_probability)
    if not isinstance(input_ids, torch.Tensor) or input_ids.dim() != 2:
        raise ValueError("input_ids must be a (batch, seq) tensor of token ids")
    if input_ids.is_floating_point():
        raise TypeError(f"input_ids must hold integer token ids, got dtype {input_ids.dtype}")
    if not isinstance(special_tokens_mask, torch.Tensor) or special_tokens_mask.shape != input_ids.shape:
        raise ValueError(f"special_tokens_mask must be a tensor of the same shape as input_ids "
                         f"{tuple(input_ids.shape)}")
    if not isinstance(vocab_size, int) or vocab_size <= 0:
        raise ValueError(f"vocab_size must be a positive int, got {vocab_size!r}")
    if not 0 <= mask_token_id < vocab_size:
        raise ValueError(f"mask_token_id {mask_token_id} is outside the vocabulary 0..{vocab_size - 1}")

    special = special_tokens_mask.to(device=input_ids.device, dtype=torch.bool)
    shape, device = input_ids.shape, input_ids.device
    # three uniform draws per position, in a fixed order, so a seeded generator repeats exactly
    u_select = torch.rand(shape, generator=generator, device=device)      # (batch, seq)
    u_kind = torch.rand(shape, generator=generator, device=device)        # (batch, seq)
    random_ids = torch.randint(vocab_size, shape, generator=generator, device=device)

    selected = (u_select < p) & ~special                                  # (batch, seq) bool
    to_mask = selected & (u_kind < MASK_FRACTION)
    to_random = selected & (u_kind >= MASK_FRACTION) & (u_kind < MASK_FRACTION + RANDOM_FRACTION)

    labels = torch.where(selected, input_ids, torch.full_like(input_ids, IGNORE_INDEX))
    masked = torch.where(to_mask, torch.full_like(input_ids, mask_token_id), input_ids)
    masked = torch.where(to_random, random_ids.to(input_ids.dtype), masked)
    return masked, labels


class MLMCollator:
    """Sentences -> a padded, masked batch for masked-LM training.

    >>> collate = MLMCollator(tokenizer, max_length=64, seed=0)
    >>> batch = collate(["a small dog", "the bank of a river"])
    >>> batch["input_ids"].shape, batch["labels"].shape      # both (batch, longest row)

    With ``seed`` the collator owns a generator seeded once, so the same sequence of
    calls gives the same masks; without it, torch's global generator is used."""

    def __init__(self, tokenizer, max_length: int = 128, mlm_probability: float = 0.15,
                 seed: int | None = None):
        self.tokenizer = tokenizer
        if isinstance(max_length, bool) or not isinstance(max_length, int) or max_length < 3:
            raise ValueError(f"max_length must be an int >= 3 ([CLS], a token, [SEP]), got {max_length!r}")
        self.max_length = max_length
        self.mlm_probability = check_mlm_probability(mlm_probability)
        self.seed = seed
        self.generator = None
        if seed is not None:
            self.generator = torch.Generator().manual_seed(int(seed))
        self._special_ids = torch.tensor([tokenizer.cls_token_id, tokenizer.sep_token_id,
                                          tokenizer.pad_token_id])

    def __call__(self, sentences: Sequence[str]) -> dict[str, torch.Tensor]:
        if isinstance(sentences, str):
            sentences = [sentences]
        if len(sentences) == 0:
            raise ValueError("cannot make a batch from an empty list of sentences")
        enc = self.tokenizer(list(sentences), padding=True, truncation=True, max_length=self.max_length)
        input_ids = enc["input_ids"]                                         # (batch, seq)
        special = torch.isin(input_ids, self._special_ids)                   # (batch, seq) bool
        masked, labels = mask_tokens(input_ids, special, mask_token_id=self.tokenizer.mask_token_id,
                                     vocab_size=self.tokenizer.vocab_size,
                                     mlm_probability=self.mlm_probability, generator=self.generator)
        return {"input_ids": masked, "attention_mask": enc["attention_mask"], "labels": labels}

    def state_dict(self) -> dict:
        """The generator's state (for resuming a seeded run exactly)."""
        return {"generator": None if self.generator is None else self.generator.get_state()}

    def load_state_dict(self, state: dict) -> None:
        if state.get("generator") is not None:
            if self.generator is None:
                self.generator = torch.Generator()
            self.generator.set_state(state["generator"])
