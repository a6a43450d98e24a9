"""The one train / dev / test split of the WordNet synsets, shared by parts 2 and 3.

Every synset belongs to exactly one split, decided once by a fixed rule and shipped as
``encoder_lib/data/split.tsv.gz`` (synset id, split; in WordNet order). Pre-training
(part 2) reads only the text of the *train* synsets, so the definitions that part 3
evaluates on (dev, test) were never seen while the encoder was pre-trained.

The rule: within each supersense (lexicographer file), synsets are ordered by the
SHA-256 of ``RULE_SALT + synset id``; the first 80 % go to train, the next 10 % to
dev, the rest to test (rounded per supersense). It is stratified by supersense and
depends on nothing but the synset ids, so it is the same on every machine and Python.

    from encoder_lib.data import splits
    splits.split_of("02084071-n")              # 'train', 'dev' or 'test'
    splits.glosses("dev")                      # the dev synsets' Gloss records
    splits.pretraining_sentences()             # train definitions, then train examples

Regenerate (and check) the shipped file with ``python -m encoder_lib.data.splits``.
"""
from __future__ import annotations

import argparse
import gzip
import hashlib
from collections import Counter, defaultdict
from functools import lru_cache
from pathlib import Path

from . import wordnet

SPLITS = ("train", "dev", "test")
FRACTIONS = {"train": 0.8, "dev": 0.1, "test": 0.1}  # share of each supersense's synsets
RULE_SALT = "encoder-course-split-v1:"                 # changing it makes a new split
SPLIT_FILE = Path(__file__).resolve().parent / "split.tsv.gz"
HEADER = "synset\tsplit\n"


def _check_split(split: str) -> str:
    if split not in SPLITS:
        raise ValueError(f"split must be one of {SPLITS}, got {split!r}")
    return split


def compute_split() -> dict[str, str]:
    """Apply the rule to the shipped glosses: synset id -> split (WordNet order)."""
    by_supersense: dict[str, list[str]] = defaultdict(list)
    for g in wordnet.glosses():
        by_supersense[g.supersense].append(g.synset)
    assignment: dict[str, str] = {}
    for ids in by_supersense.values():
        ids.sort(key=lambda s: hashlib.sha256((RULE_SALT + s).encode()).hexdigest())
        n_train = round(len(ids) * FRACTIONS["train"])
        n_dev = round(len(ids) * FRACTIONS["dev"])
        for i, synset in enumerate(ids):
            assignment[synset] = "train" if i < n_train else "dev" if i < n_train + n_dev else "test"
    return {g.synset: assignment[g.synset] for g in wordnet.glosses()}


#: The gzip header's operating-system byte (offset 9) of the shipped file: Unix. Python
#: 3.11 and 3.12 write 3 there, 3.13 writes 255 (unknown); fixing it keeps the bytes the same.
GZIP_OS_UNIX = b"\x03"


def render(assignment: dict[str, str]) -> bytes:
    """The shipped file's bytes: gzip without a timestamp and with a fixed header, so
    every Python makes the same bytes."""
    text = HEADER + "".join(f"{s}\t{split}\n" for s, split in assignment.items())
    data = gzip.compress(text.encode("utf-8"), mtime=0)
    return data[:9] + GZIP_OS_UNIX + data[10:]


@lru_cache(maxsize=None)
def _assignment() -> dict[str, str]:
    if not SPLIT_FILE.is_file():
        raise FileNotFoundError(f"the split file {SPLIT_FILE} is missing; reinstall encoder_lib or "
                                "regenerate it with `python -m encoder_lib.data.splits`")
    lines = gzip.decompress(SPLIT_FILE.read_bytes()).decode("utf-8").splitlines()
    return dict(line.split("\t") for line in lines[1:])


def split_of(synset: str) -> str:
    """'train', 'dev' or 'test' for a synset id such as '02084071-n'."""
    try:
        return _assignment()[synset]
    except KeyError:
        raise KeyError(f"{synset!r} is not a WordNet 3.0 synset id (expected e.g. '02084071-n')") from None


@lru_cache(maxsize=None)
def synsets(split: str) -> frozenset[str]:
    """The synset ids of one split."""
    _check_split(split)
    return frozenset(s for s, name in _assignment().items() if name == split)


def glosses(split: str) -> list[wordnet.Gloss]:
    """The Gloss records (definition, supersense, lemmas) of one split, in WordNet order."""
    keep = synsets(split)
    return [g for g in wordnet.glosses() if g.synset in keep]


def examples(split: str) -> list[wordnet.Example]:
    """The example sentences whose synset is in one split, in WordNet order."""
    keep = synsets(split)
    return [e for e in wordnet.examples() if e.synset in keep]


def pretraining_sentences(split: str = "train") -> list[str]:
    """Plain text of one split for masked-LM pre-training: its definitions, then its
    example sentences. Pre-training uses ``"train"``; held-out MLM text comes from
    ``"dev"``.

    A sentence identical to a definition of another split is left out (a handful:
    different synsets can share a gloss, and a few examples read like another
    synset's gloss), so no dev or test definition is ever seen in pre-training."""
    elsewhere = {g.definition for g in wordnet.glosses() if split_of(g.synset) != split}
    text = [g.definition for g in glosses(split)] + [e.text for e in examples(split)]
    return [t for t in text if t not in elsewhere]


def counts() -> dict[str, dict[str, int]]:
    """Synsets, definitions' words and example sentences per split (for reports)."""
    synset_counts = Counter(_assignment().values())
    example_counts = Counter(split_of(e.synset) for e in wordnet.examples())
    words = Counter()
    for g in wordnet.glosses():
        words[split_of(g.synset)] += len(g.definition.split())
    for e in wordnet.examples():
        words[split_of(e.synset)] += len(e.text.split())
    return {s: {"synsets": synset_counts[s], "examples": example_counts[s], "words": words[s]}
            for s in SPLITS}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Write (or --check) the shipped synset split.")
    parser.add_argument("--check", action="store_true", help="only check the shipped file is in sync")
    args = parser.parse_args(argv)
    fresh = render(compute_split())
    if args.check:
        ok = SPLIT_FILE.is_file() and SPLIT_FILE.read_bytes() == fresh
        print("split.tsv.gz is in sync with the rule" if ok else
              "split.tsv.gz is out of date: run python -m encoder_lib.data.splits")
        return 0 if ok else 1
    SPLIT_FILE.write_bytes(fresh)
    _assignment.cache_clear()
    synsets.cache_clear()
    for split, c in counts().items():
        print(f"{split:5s} {c['synsets']:6d} synsets {c['examples']:6d} examples {c['words']:8d} words")
    print(f"wrote {SPLIT_FILE}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
