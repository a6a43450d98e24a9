"""Word-in-context pairs from the sense-tagged WordNet example sentences.

A pair is two example sentences whose tagged target is the same lemma, labelled 1 when
both uses are the same synset (sense) and 0 when they are different ones:

    "he sat on the bank of the river"  /  "the bank raised its rates"   -> 0
    "a bank of the Thames"             /  "fishing from the bank"       -> 1

The rules, all fixed so the data is the same on every machine:

- Only lemmas tagged with at least two different synsets take part, so every lemma
  gives both kinds of pair and the lemma alone never tells the label.
- Balanced per lemma: ``min(same, different, MAX_PAIRS_PER_LABEL)`` pairs of each
  label, chosen by the SHA-256 order of the pair's ids; pairs of identical sentences
  are left out.
- A lemma-level split: the SHA-256 of ``SPLIT_SALT + lemma`` puts each lemma (with all
  its pairs) in train (80 %), dev (10 %) or test (10 %), so no target word of dev or
  test was seen in training.

The target's character span (``Example.start:end``) becomes token positions with the
tokenizer's character offsets (``span_to_tokens``); ``encode_targets`` gives padded ids
and a (batch, seq) ``target_mask`` with 1.0 at the target's word pieces.

    from encoder_lib.data import wic
    train = wic.pairs("train")           # list[WicPair], balanced labels
    wic.sizes()                          # pairs / lemmas per split
"""
from __future__ import annotations

import hashlib
from collections import defaultdict
from dataclasses import dataclass
from functools import lru_cache
from itertools import combinations

import torch

from . import wordnet
from .wordnet import Example

SPLITS = ("train", "dev", "test")
FRACTIONS = {"train": 0.8, "dev": 0.1, "test": 0.1}   # share of the lemmas per split
SPLIT_SALT = "encoder-course-wic-v1:"                  # changing it makes a new split
MAX_PAIRS_PER_LABEL = 8                                # per lemma, so frequent words do not dominate
LABEL_NAMES = ("different sense", "same sense")        # label index -> meaning


@dataclass(frozen=True)
class WicPair:
    """Two uses of one lemma and whether they are the same sense."""

    lemma: str       # the shared target lemma, lower case, e.g. "bank"
    first: Example   # a tagged example sentence (target, start, end, synset)
    second: Example  # another one with the same target lemma
    label: int       # 1: same synset in both sentences; 0: different synsets


def _hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def split_of_lemma(lemma: str) -> str:
    """'train', 'dev' or 'test' for a target lemma (decided by its hash alone)."""
    if not isinstance(lemma, str) or not lemma.strip():
        raise ValueError(f"lemma must be a non-empty str, got {lemma!r}")
    x = int(_hash(SPLIT_SALT + lemma.lower())[:8], 16) / 16 ** 8   # uniform in [0, 1)
    return "train" if x < FRACTIONS["train"] else "dev" if x < FRACTIONS["train"] + FRACTIONS["dev"] else "test"


def _check_split(split: str) -> str:
    if split not in SPLITS:
        raise ValueError(f"split must be one of {SPLITS}, got {split!r}")
    return split


@lru_cache(maxsize=None)
def _tagged_by_lemma() -> dict[str, tuple[Example, ...]]:
    by_lemma: dict[str, list[Example]] = defaultdict(list)
    for e in wordnet.examples():
        if e.target is not None:
            by_lemma[e.target.lower()].append(e)
    return {lemma: tuple(exs) for lemma, exs in by_lemma.items()}


def _pair_key(lemma: str, a: int, b: int, first: Example, second: Example) -> str:
    return _hash(f"{SPLIT_SALT}{lemma}:{a}:{b}:{first.text}|{second.text}")


@lru_cache(maxsize=None)
def _all_pairs() -> tuple[WicPair, ...]:
    out: list[WicPair] = []
    # lemmas in the hash order of their names, so that the first n pairs of a split are a
    # fair sample of its lemmas (not the ones starting with "a")
    for lemma in sorted(_tagged_by_lemma(), key=lambda l: _hash(SPLIT_SALT + "order:" + l)):
        exs = _tagged_by_lemma()[lemma]
        if len({e.synset for e in exs}) < 2:
            continue
        same, different = [], []
        for a, b in combinations(range(len(exs)), 2):
            first, second = exs[a], exs[b]
            if first.text == second.text:
                continue
            (same if first.synset == second.synset else different).append(
                (_pair_key(lemma, a, b, first, second), first, second))
        n = min(len(same), len(different), MAX_PAIRS_PER_LABEL)
        chosen = [(key, f, s, 1) for key, f, s in sorted(same)[:n]]
        chosen += [(key, f, s, 0) for key, f, s in sorted(different)[:n]]
        out.extend(WicPair(lemma, f, s, label) for _, f, s, label in sorted(chosen, key=lambda c: c[0]))
    return tuple(out)


def pairs(split: str) -> list[WicPair]:
    """The word-in-context pairs of one split (labels balanced within every lemma),
    lemma by lemma in a fixed pseudo-random order, so ``pairs(split)[:n]`` is a fair
    sample of the split's lemmas."""
    _check_split(split)
    return [p for p in _all_pairs() if split_of_lemma(p.lemma) == split]


def targets(split: str) -> list[Example]:
    """The distinct tagged example sentences used by one split's pairs, in first-use
    order (for probes: each has a target span, a synset and a supersense)."""
    seen: dict[tuple, Example] = {}
    for p in pairs(split):
        for e in (p.first, p.second):
            seen.setdefault((e.synset, e.text, e.start), e)
    return list(seen.values())


def sizes() -> dict[str, dict[str, int]]:
    """Pairs, same-sense pairs, lemmas and distinct sentences per split (for reports)."""
    out = {}
    for split in SPLITS:
        ps = pairs(split)
        out[split] = {"pairs": len(ps), "same": sum(p.label for p in ps),
                      "lemmas": len({p.lemma for p in ps}), "sentences": len(targets(split))}
    return out


# ---------------------------------------------------------------------------
# Character span -> token positions
# ---------------------------------------------------------------------------

def span_to_tokens(offsets, start: int, end: int) -> list[int]:
    """Positions of the tokens that overlap the character span ``[start, end)``.

    ``offsets`` holds one (start, end) per token position, as ``tokenizer(...,
    return_offsets_mapping=True)["offset_mapping"][row]`` gives it: (0, 0) marks
    [CLS], [SEP] and padding, which never belong to a span.

    >>> span_to_tokens([(0, 0), (0, 3), (4, 8), (8, 9), (0, 0)], 4, 9)
    [2, 3]
    """
    if isinstance(offsets, torch.Tensor):
        offsets = offsets.tolist()
    if isinstance(start, bool) or isinstance(end, bool) or not isinstance(start, int) or not isinstance(end, int):
        raise TypeError(f"start and end must be ints, got {start!r} and {end!r}")
    if not 0 <= start < end:
        raise ValueError(f"the span [{start}, {end}) is empty or negative: need 0 <= start < end")
    positions = [i for i, (a, b) in enumerate(offsets) if b > a and a < end and b > start]
    if not positions:
        last = max((b for a, b in offsets if b > a), default=0)
        raise ValueError(f"the target span [{start}, {end}) covers no token of the sentence (its tokens end "
                         f"at character {last}): is the target in this sentence, and was it cut off by "
                         "max_length?")
    return positions


def encode_targets(examples, tokenizer, max_length: int = 128) -> dict[str, torch.Tensor]:
    """Tokenize tagged sentences and mark their targets.

    ``examples``: Example records (or any objects with ``text``, ``start`` and ``end``).
    Returns ``input_ids`` and ``attention_mask`` (batch, seq) long and ``target_mask``
    (batch, seq) float, 1.0 at each target word piece and 0.0 elsewhere."""
    examples = list(examples)
    if not examples:
        raise ValueError("no examples to encode: the list is empty")
    for i, e in enumerate(examples):
        if getattr(e, "start", None) is None or getattr(e, "end", None) is None:
            raise ValueError(f"example {i} has no target span (start/end are None): use tagged examples")
        if e.end > len(e.text):
            raise ValueError(f"example {i}: the target span [{e.start}, {e.end}) runs past the end of its "
                             f"{len(e.text)}-character sentence {e.text!r:.60}")
    batch = tokenizer([e.text for e in examples], padding=True, truncation=True, max_length=max_length,
                      return_offsets_mapping=True)
    target_mask = torch.zeros(batch["input_ids"].shape)                # (batch, seq)
    for row, e in enumerate(examples):
        try:
            positions = span_to_tokens(batch["offset_mapping"][row], e.start, e.end)
        except ValueError as err:
            raise ValueError(f"example {row} ({e.text!r:.60}): {err}") from None
        target_mask[row, positions] = 1.0
    return {"input_ids": batch["input_ids"], "attention_mask": batch["attention_mask"],
            "target_mask": target_mask}


def collate_pairs(pair_list, tokenizer, max_length: int = 128):
    """A ``PairBatch`` for a list of WicPair: sentence A of every pair, then sentence B,
    padded together, with the targets marked, and the labels (batch,) long."""
    from ..model.token_pair import PairBatch

    pair_list = list(pair_list)
    if not pair_list:
        raise ValueError("the pair list is empty: give at least one WicPair (see wic.pairs('train'))")
    for i, p in enumerate(pair_list):
        if not isinstance(p, WicPair):
            raise TypeError(f"pair {i} is a {type(p).__name__}, not a WicPair")
    enc = encode_targets([p.first for p in pair_list] + [p.second for p in pair_list], tokenizer, max_length)
    labels = torch.tensor([p.label for p in pair_list], dtype=torch.long)          # (batch,)
    return PairBatch(enc["input_ids"], enc["attention_mask"], enc["target_mask"], labels)
