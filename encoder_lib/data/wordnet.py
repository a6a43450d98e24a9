"""Load the WordNet 3.0 text shipped with encoder_lib (standard library only).

The files under ``encoder_lib/data/wordnet/`` are made by
``scripts/extract_wordnet.py`` from the Debian package ``wordnet-base``; their
licence is in ``LICENSE`` next to them and must be kept.

    from encoder_lib.data import wordnet
    wordnet.glosses()[0]          # Gloss(synset='00001740-n', supersense='noun.Tops', ...)
    wordnet.supersenses()         # the 45 lexicographer file names, in lexfile order
    wordnet.examples_with("bank") # example sentences containing the word 'bank'
"""

from __future__ import annotations

import csv
import gzip
import io
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

DATA_DIR = Path(__file__).resolve().parent / "wordnet"

# WordNet's 45 lexicographer files (lexnames(5WN)), index = lex_filenum.
SUPERSENSES = (
    "adj.all", "adj.pert", "adv.all", "noun.Tops", "noun.act", "noun.animal",
    "noun.artifact", "noun.attribute", "noun.body", "noun.cognition",
    "noun.communication", "noun.event", "noun.feeling", "noun.food", "noun.group",
    "noun.location", "noun.motive", "noun.object", "noun.person", "noun.phenomenon",
    "noun.plant", "noun.possession", "noun.process", "noun.quantity", "noun.relation",
    "noun.shape", "noun.state", "noun.substance", "noun.time", "verb.body",
    "verb.change", "verb.cognition", "verb.communication", "verb.competition",
    "verb.consumption", "verb.contact", "verb.creation", "verb.emotion", "verb.motion",
    "verb.perception", "verb.possession", "verb.social", "verb.stative", "verb.weather",
    "adj.ppl",
)


@dataclass(frozen=True)
class Gloss:
    """One WordNet synset with its definition."""

    synset: str  # offset-pos, e.g. "02084071-n"; pos is n, v, a, s (adj. satellite) or r
    supersense: str  # lexicographer file, e.g. "noun.animal" (one of supersenses())
    lemmas: tuple[str, ...]  # the synset's words, e.g. ("dog", "domestic dog", "Canis familiaris")
    definition: str  # the gloss without its example sentences

    @property
    def pos(self) -> str:
        return self.synset.rsplit("-", 1)[1]


@dataclass(frozen=True)
class Example:
    """One example sentence from a synset's gloss, sense-tagged where possible."""

    synset: str  # the synset whose gloss holds the sentence
    supersense: str  # that synset's lexicographer file
    text: str  # the sentence
    target: str | None  # the synset lemma found in text (its sense is `synset`), or None
    start: int | None  # text[start:end] is the target's surface form, e.g. "banks"
    end: int | None

    @property
    def pos(self) -> str:
        return self.synset.rsplit("-", 1)[1]


def _read_tsv(name: str) -> list[list[str]]:
    path = DATA_DIR / name
    if not path.is_file():
        raise FileNotFoundError(
            f"the shipped WordNet file {path} is missing; reinstall encoder_lib or "
            "regenerate it with `python scripts/extract_wordnet.py` "
            "(needs the Debian package wordnet-base)"
        )
    with gzip.open(path, "rt", encoding="utf-8", newline="") as f:
        text = f.read()
    rows = list(csv.reader(io.StringIO(text), delimiter="\t", quoting=csv.QUOTE_NONE))
    return rows[1:]  # drop the header


@lru_cache(maxsize=None)
def _glosses() -> tuple[Gloss, ...]:
    return tuple(
        Gloss(synset, supersense, tuple(lemmas.split("|")), definition)
        for synset, supersense, lemmas, definition in _read_tsv("glosses.tsv.gz")
    )


@lru_cache(maxsize=None)
def _examples() -> tuple[Example, ...]:
    out = []
    for synset, supersense, target, start, end, text in _read_tsv("examples.tsv.gz"):
        if target:
            out.append(Example(synset, supersense, text, target, int(start), int(end)))
        else:
            out.append(Example(synset, supersense, text, None, None, None))
    return tuple(out)


def glosses() -> list[Gloss]:
    """Every WordNet 3.0 synset (117,659) with supersense, lemmas and definition."""
    return list(_glosses())


def examples() -> list[Example]:
    """Every example sentence in the glosses (48,298), in synset order."""
    return list(_examples())


def supersenses() -> list[str]:
    """The 45 supersense (lexicographer file) names, in WordNet's lexfile order."""
    return list(SUPERSENSES)


def sentences() -> list[str]:
    """Plain text for pre-training: every definition, then every example sentence."""
    return [g.definition for g in _glosses()] + [e.text for e in _examples()]


def examples_with(word: str, *, tagged: bool = False) -> list[Example]:
    """Example sentences that contain `word` as a whole word (case-insensitive).

    With tagged=True, only those whose sense-tagged target is `word` itself, so
    `example.synset` is the sense of `word` in that sentence (for word-in-context
    pairs). A multi-word lemma may be given with spaces or underscores.
    """
    if not isinstance(word, str):
        raise TypeError(f"word must be a str, got {type(word).__name__}")
    word = word.replace("_", " ").strip()
    if not word:
        raise ValueError("word must be a non-empty string, e.g. 'bank'")
    if tagged:
        key = word.lower()
        return [e for e in _examples() if e.target is not None and e.target.lower() == key]
    pattern = re.compile(r"(?<!\w)" + re.escape(word) + r"(?!\w)", re.IGNORECASE)
    return [e for e in _examples() if pattern.search(e.text)]
