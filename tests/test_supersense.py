"""Part 3's labelled data: definition -> supersense on the shared synset split, with
deduplicated splits, a coarse label set and nested, stratified training subsets."""
from __future__ import annotations

from collections import Counter

import pytest

from encoder_lib.data import splits, supersense, wordnet


@pytest.mark.parametrize("task", supersense.TASKS)
def test_no_text_is_in_two_splits_or_twice_in_one(task):
    keys = {s: [supersense.text_key(t) for t in supersense.load(s, task).texts] for s in splits.SPLITS}
    for s, k in keys.items():
        assert len(k) == len(set(k)), f"{s} holds a definition twice"
    assert not set(keys["train"]) & set(keys["dev"]), "a dev definition is also in train"
    assert not set(keys["train"]) & set(keys["test"]), "a test definition is also in train"
    assert not set(keys["dev"]) & set(keys["test"]), "a test definition is also in dev"


def test_deduplication_drops_only_repeated_definitions():
    # Every item left out repeats a definition kept earlier (train first, then dev, test).
    kept_so_far: set[str] = set()
    for s in splits.SPLITS:
        raw = splits.glosses(s)
        kept = supersense.load(s)
        kept_synsets = set(kept.synsets)
        assert kept_synsets <= {g.synset for g in raw}, "an item left its synset's split"
        kept_keys = {supersense.text_key(t) for t in kept.texts}
        for g in raw:
            if g.synset not in kept_synsets:
                assert supersense.text_key(g.definition) in kept_keys | kept_so_far, g
        kept_so_far |= kept_keys
    assert supersense.counts()["train"] > 90_000
    assert min(supersense.counts()[s] for s in ("dev", "test")) > 11_000


def test_labels_are_each_synsets_supersense():
    by_synset = {g.synset: g.supersense for g in wordnet.glosses()}
    data = supersense.load("dev")
    assert data.label_names == tuple(wordnet.SUPERSENSES) and data.num_labels == 45
    for synset, label in zip(data.synsets[:2000], data.labels[:2000]):
        assert data.label_names[label] == by_synset[synset]


def test_coarse_task_has_ten_classes_and_merges_whole_supersenses():
    names = supersense.label_names("coarse")
    assert len(names) == 10 and len(set(names)) == 10
    assert supersense.coarse_label("noun.person") == "noun.person"
    assert supersense.coarse_label("noun.food") == "noun.other"
    assert supersense.coarse_label("verb.motion") == "verb"
    assert supersense.coarse_label("adj.ppl") == "adj"
    assert supersense.coarse_label("adv.all") == "adv"
    assert {supersense.coarse_label(s) for s in wordnet.SUPERSENSES} == set(names)
    fine, coarse = supersense.load("test"), supersense.load("test", "coarse")
    assert fine.synsets == coarse.synsets
    for f, c in zip(fine.labels, coarse.labels):
        assert coarse.label_names[c] == supersense.coarse_label(fine.label_names[f])
    shares = [n / len(coarse) for n in coarse.class_counts().values()]
    assert min(shares) > 0.02, "a coarse class is too rare for a quick run"


@pytest.mark.parametrize("task", supersense.TASKS)
def test_training_subsets_are_nested(task):
    sets = [supersense.load("train", task, size=n, seed=3) for n in (500, 2000, 8000)]
    for small, large in zip(sets, sets[1:]):
        assert set(small.synsets) <= set(large.synsets)
    assert [len(s) for s in sets] == [500, 2000, 8000]
    assert supersense.load("train", task, size=500, seed=3) == sets[0], "not reproducible"
    other_seed = supersense.load("train", task, size=500, seed=4)
    assert set(other_seed.synsets) != set(sets[0].synsets), "the seed does not change the subset"


@pytest.mark.parametrize("task", supersense.TASKS)
@pytest.mark.parametrize("size", [500, 2000])
def test_training_subsets_are_stratified(task, size):
    full = supersense.load("train", task)
    part = supersense.load("train", task, size=size, seed=1)
    whole = full.class_counts()
    for name, n in part.class_counts().items():
        expected = size * whole[name] / len(full)
        assert abs(n - expected) < 1.5, f"{name}: {n} items, {expected:.1f} expected"


def test_stratified_order_keeps_every_prefix_in_proportion():
    labels = [0] * 600 + [1] * 300 + [2] * 100
    order = supersense.stratified_order(labels, seed=0)
    assert sorted(order) == list(range(1000))
    for n in (10, 37, 100, 555):
        c = Counter(labels[i] for i in order[:n])
        for label, share in ((0, 0.6), (1, 0.3), (2, 0.1)):
            assert abs(c[label] - share * n) <= 1


def test_bad_arguments_get_clear_errors():
    with pytest.raises(ValueError, match="task must be one of"):
        supersense.load("train", task="sentiment")
    with pytest.raises(ValueError, match="split must be one of"):
        supersense.load("validation")
    with pytest.raises(ValueError, match="larger than the dev split"):
        supersense.load("dev", size=10**6)
    with pytest.raises(ValueError, match="positive integer"):
        supersense.load("train", size=0)
    with pytest.raises(ValueError, match="not one of the 45"):
        supersense.coarse_label("noun.cat")
