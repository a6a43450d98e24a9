"""The shared synset split of parts 2 and 3: stable, stratified, and leak-free."""
from __future__ import annotations

import hashlib
from collections import Counter, defaultdict

import pytest

from encoder_lib.data import splits, wordnet

# sha256 of the shipped split file; changing the split on purpose means changing this
# line (and re-making the course checkpoint, whose pre-training text depends on it).
SHIPPED_SPLIT_SHA256 = "30320dbc4d668cfc59c02f8192a0ba020f218b8715f01fcb91c3b23528bfb8a1"


def test_shipped_split_file_is_the_rule_applied_to_the_shipped_glosses():
    assert splits.SPLIT_FILE.read_bytes() == splits.render(splits.compute_split()), (
        "split.tsv.gz is out of date: run python -m encoder_lib.data.splits")


def test_split_is_the_committed_one():
    digest = hashlib.sha256(splits.SPLIT_FILE.read_bytes()).hexdigest()
    assert digest == SHIPPED_SPLIT_SHA256, "the synset split changed; parts 2 and 3 depend on it"


def test_every_synset_is_in_exactly_one_split():
    all_ids = {g.synset for g in wordnet.glosses()}
    parts = [splits.synsets(s) for s in splits.SPLITS]
    assert sum(len(p) for p in parts) == len(all_ids) == 117659
    assert set().union(*parts) == all_ids


def test_split_is_stratified_by_supersense():
    per = defaultdict(Counter)
    for g in wordnet.glosses():
        per[g.supersense][splits.split_of(g.synset)] += 1
    assert len(per) == 45
    for supersense, c in per.items():
        n = sum(c.values())
        for split, share in splits.FRACTIONS.items():
            assert abs(c[split] - share * n) <= 1.5, (supersense, dict(c))


def test_pretraining_text_holds_no_dev_or_test_definition():
    train_text = set(splits.pretraining_sentences("train"))
    for split in ("dev", "test"):
        held_out = {g.definition for g in splits.glosses(split)}
        assert len(held_out) > 10_000 and not (held_out & train_text)
    assert len(train_text) > 100_000


def test_examples_follow_their_synset():
    for e in splits.examples("dev")[:500]:
        assert splits.split_of(e.synset) == "dev"


def test_bad_split_names_and_ids_get_clear_errors():
    with pytest.raises(ValueError, match="split must be one of"):
        splits.glosses("validation")
    with pytest.raises(KeyError, match="not a WordNet 3.0 synset id"):
        splits.split_of("dog")
