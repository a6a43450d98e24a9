"""Labelled data for part 3: a WordNet definition -> its supersense.

Each item is one synset's definition ("a domesticated carnivorous mammal ...") and its
supersense (lexicographer file, e.g. ``noun.animal``). The train / dev / test split is
the shared synset split of :mod:`encoder_lib.data.splits`, so no dev or test definition
was seen while the course checkpoint was pre-trained.

Two label sets ("tasks"):

* ``"supersense"``: the 45 lexicographer classes (``wordnet.SUPERSENSES`` order).
* ``"coarse"``: 10 broader classes for a quick run on a laptop. The six largest noun
  supersenses stay (artifact, person, plant, animal, act, communication: 50 % of all
  synsets), the other 20 noun classes become ``noun.other``, and each remaining part of
  speech becomes one class (``verb``, ``adj``, ``adv``). Every synset keeps a label,
  no class has fewer than ~3 % of the items, and it still needs meaning, not just the
  part of speech (the six noun classes are semantic), so it learns from a few hundred
  examples where the 45-way task has many classes with almost no training items.

Deduplication: different synsets can share a definition. A dev or test item whose text
(lower-cased, whitespace-collapsed) also appears in train is dropped (it is not a fair
test item), so is a test item that appears in dev, and so is a repeat inside a split
(the first one, in WordNet order, is kept).

Learning curves use nested, stratified subsets of train: ``load("train", size=n)``
is the first n items of one seeded ordering of the train split in which every prefix
holds each class in proportion (within about one item), so the 500 items are inside the
2,000, which are inside the 8,000, and so on.

    from encoder_lib.data import supersense
    train = supersense.load("train", size=2000, seed=0)    # LabelledSet, 2,000 items
    train.texts[0], train.labels[0], train.label_names[train.labels[0]]
    dev = supersense.load("dev", task="coarse")
"""
from __future__ import annotations

import random
from collections import Counter
from dataclasses import dataclass
from functools import lru_cache

from . import splits, wordnet

TASKS = ("supersense", "coarse")
#: The labelled-set sizes of the learning curve (``None`` = the whole train split).
CURVE_SIZES = (500, 2000, 8000, None)
#: Noun supersenses kept as classes of their own in the coarse task (the six largest).
COARSE_NOUNS = ("noun.artifact", "noun.person", "noun.plant", "noun.animal", "noun.act",
                "noun.communication")
COARSE_LABELS = COARSE_NOUNS + ("noun.other", "verb", "adj", "adv")


@dataclass(frozen=True)
class LabelledSet:
    """Texts with integer labels; ``label_names[label]`` is the class name."""

    texts: tuple[str, ...]          # one definition per item
    labels: tuple[int, ...]         # class index per item, 0 <= label < len(label_names)
    label_names: tuple[str, ...]    # the task's classes, in a fixed order
    synsets: tuple[str, ...]        # the synset id each definition comes from

    def __len__(self) -> int:
        return len(self.texts)

    @property
    def num_labels(self) -> int:
        return len(self.label_names)

    def class_counts(self) -> dict[str, int]:
        """Items per class name (every class listed, zeros included)."""
        c = Counter(self.labels)
        return {name: c[i] for i, name in enumerate(self.label_names)}


def _check_task(task: str) -> str:
    if task not in TASKS:
        raise ValueError(f"task must be one of {TASKS}, got {task!r}")
    return task


def label_names(task: str = "supersense") -> tuple[str, ...]:
    """The class names of a task, in label-index order."""
    return tuple(wordnet.SUPERSENSES) if _check_task(task) == "supersense" else COARSE_LABELS


def coarse_label(supersense: str) -> str:
    """The coarse class of a supersense: 'noun.person' -> 'noun.person',
    'noun.food' -> 'noun.other', 'verb.motion' -> 'verb', 'adj.pert' -> 'adj'."""
    if supersense not in wordnet.SUPERSENSES:
        raise ValueError(f"{supersense!r} is not one of the 45 WordNet supersenses")
    if supersense in COARSE_NOUNS:
        return supersense
    pos = supersense.split(".")[0]
    return "noun.other" if pos == "noun" else pos


def text_key(text: str) -> str:
    """What counts as 'the same text': lower-cased (the tokenizer is uncased), with
    runs of whitespace collapsed."""
    return " ".join(text.lower().split())


@lru_cache(maxsize=None)
def _deduplicated() -> dict[str, tuple[wordnet.Gloss, ...]]:
    """split -> its glosses after deduplication (train first, then dev, then test)."""
    seen: set[str] = set()
    out = {}
    for split in splits.SPLITS:
        kept = []
        for g in splits.glosses(split):
            key = text_key(g.definition)
            if key not in seen:
                seen.add(key)
                kept.append(g)
        out[split] = tuple(kept)
    return out


def _labelled(split: str, task: str) -> LabelledSet:
    names = label_names(task)
    index = {name: i for i, name in enumerate(names)}
    glosses = _deduplicated()[split]
    to_class = (lambda s: s) if task == "supersense" else coarse_label
    return LabelledSet(texts=tuple(g.definition for g in glosses),
                       labels=tuple(index[to_class(g.supersense)] for g in glosses),
                       label_names=names, synsets=tuple(g.synset for g in glosses))


def stratified_order(labels: tuple[int, ...] | list[int], seed: int = 0) -> list[int]:
    """A seeded ordering of item indices in which every prefix is stratified.

    Each class's items are shuffled; the k-th item of a class with n_c items gets the
    position key (k + u_c) / n_c, u_c a random offset in [0, 1) per class; sorting by
    key interleaves the classes so that any first n items hold n * n_c / N of class c,
    give or take about one."""
    rng = random.Random(seed)
    by_class: dict[int, list[int]] = {}
    for i, label in enumerate(labels):
        by_class.setdefault(label, []).append(i)
    keyed = []
    for label in sorted(by_class):
        items = by_class[label]
        rng.shuffle(items)
        offset = rng.random()
        keyed += [((k + offset) / len(items), rng.random(), i) for k, i in enumerate(items)]
    return [i for *_, i in sorted(keyed)]


def load(split: str, task: str = "supersense", size: int | None = None, seed: int = 0) -> LabelledSet:
    """The labelled items of one split for one task.

    ``size`` takes a stratified subset: for train, the first ``size`` items of the
    seeded ordering (so subsets with the same seed are nested); for dev and test, the
    same rule gives smaller evaluation sets. ``None`` keeps every item, in WordNet order."""
    splits._check_split(split)
    full = _labelled(split, _check_task(task))
    if size is None:
        return full
    if not isinstance(size, int) or isinstance(size, bool) or size <= 0:
        raise ValueError(f"size must be a positive integer or None, got {size!r}")
    if size > len(full):
        raise ValueError(f"size {size} is larger than the {split} split ({len(full)} items); "
                         "use size=None for all of it")
    keep = stratified_order(full.labels, seed)[:size]
    return LabelledSet(texts=tuple(full.texts[i] for i in keep),
                       labels=tuple(full.labels[i] for i in keep),
                       label_names=full.label_names,
                       synsets=tuple(full.synsets[i] for i in keep))


def counts(task: str = "supersense") -> dict[str, int]:
    """Items per split after deduplication."""
    return {split: len(_labelled(split, _check_task(task))) for split in splits.SPLITS}
