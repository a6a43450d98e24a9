"""The word-in-context data of the fine-tuning loop: WordNet's sentence pairs
(encoder_lib.data.wic), checked, tokenized once with their targets marked, and cut into
padded batches (sentence A of every pair, then sentence B), as ``Encoded`` does for
sentences."""
from __future__ import annotations

import torch

from ..data import wic
from ..data.wic import WicPair
from .data import length_pooled_batches


def load_pairs(config) -> tuple[list[WicPair], list[WicPair], list[WicPair] | None]:
    """(train, dev, test or None): the first ``train_size`` / ``dev_size`` / ``test_size``
    pairs of each split, in the fixed order of ``wic.pairs``."""
    train = wic.pairs("train")[:config.train_size]
    dev = wic.pairs("dev")[:config.dev_size]
    test = None if config.test_size == 0 else wic.pairs("test")[:config.test_size]
    return train, dev, test


def check_pairs(pairs, name: str) -> None:
    """Clear errors for an empty pair list, items that are not WicPairs, labels other
    than 0/1, and a target span outside its sentence."""
    if not isinstance(pairs, (list, tuple)):
        raise TypeError(f"the {name} set must be a list of WicPair (see encoder_lib.data.wic.pairs), "
                        f"got {type(pairs).__name__}")
    if len(pairs) == 0:
        raise ValueError(f"the {name} set is an empty pair list: there is nothing to "
                         f"{'train on' if name == 'training' else 'evaluate on'}")
    for i, p in enumerate(pairs):
        if not isinstance(p, WicPair):
            raise TypeError(f"the {name} set: item {i} is a {type(p).__name__}, not a WicPair "
                            "(see encoder_lib.data.wic.pairs)")
        if p.label not in (0, 1) or isinstance(p.label, bool):
            raise ValueError(f"the {name} set: pair {i} ({p.lemma!r}) has label {p.label!r}; "
                             "word-in-context labels are 0 (different sense) and 1 (same sense)")
        for which, e in (("A", p.first), ("B", p.second)):
            if e.start is None or e.end is None:
                raise ValueError(f"the {name} set: sentence {which} of pair {i} ({p.lemma!r}) has no target "
                                 "span (start/end are None): use sense-tagged examples")
            if not 0 <= e.start < e.end <= len(e.text):
                raise ValueError(f"the {name} set: the target span [{e.start}, {e.end}) of sentence {which} of "
                                 f"pair {i} ({p.lemma!r}) lies outside its {len(e.text)}-character sentence "
                                 f"{e.text!r:.60}; need 0 <= start < end <= len(text)")


class EncodedPairs:
    """Word-in-context pairs tokenized once: both sentences of every pair padded to a
    common width, with ``target_mask`` 1.0 at each target's word pieces; labels (n,).
    Offers the loop what ``Encoded`` offers (len, labels, lengths, shuffled_batches, batch)."""

    def __init__(self, pairs: list[WicPair], tokenizer, max_length: int, name: str = "pair"):
        check_pairs(pairs, name)
        n = len(pairs)
        try:
            enc = wic.encode_targets([p.first for p in pairs] + [p.second for p in pairs], tokenizer, max_length)
        except ValueError as err:    # "example k" counts sentence A of every pair, then sentence B
            raise ValueError(f"the {name} set (sentences A of pairs 0..{n - 1}, then B): {err}") from None
        self.input_ids = enc["input_ids"]                    # (2 n, seq): A of every pair, then B
        self.attention_mask = enc["attention_mask"]          # (2 n, seq)
        self.target_mask = enc["target_mask"]                # (2 n, seq)
        self.labels = torch.tensor([p.label for p in pairs], dtype=torch.long)   # (n,)
        real = self.attention_mask.sum(dim=1)                # tokens per sentence
        self.lengths = torch.maximum(real[:n], real[n:]).tolist()   # the longer sentence of each pair

    def __len__(self) -> int:
        return len(self.labels)

    def shuffled_batches(self, batch_size: int, generator: torch.Generator, pool: int = 16) -> list[list[int]]:
        """One epoch's batches of pair indices (see ``length_pooled_batches``)."""
        return length_pooled_batches(self.lengths, batch_size, generator, pool)

    def batch(self, index: list[int] | torch.Tensor, device: torch.device) -> dict:
        """Pairs ``index`` cut to their longest sentence: input_ids, attention_mask and
        target_mask (2 batch, seq), rows of sentence A then sentence B; labels (batch,)."""
        index = torch.as_tensor(index, dtype=torch.long)
        rows = torch.cat([index, index + len(self)])         # (2 batch,)
        width = max(self.lengths[i] for i in index.tolist())
        return {"input_ids": self.input_ids[rows, :width].to(device),
                "attention_mask": self.attention_mask[rows, :width].to(device),
                "target_mask": self.target_mask[rows, :width].to(device),
                "labels": self.labels[index].to(device)}
