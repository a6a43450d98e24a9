"""Shipped corpora and datasets for the course (offline; nothing is downloaded).

``encoder_lib.data.wordnet`` loads the WordNet 3.0 glosses and example sentences used
for pre-training, supersense classification and word-in-context probes;
``encoder_lib.data.splits`` is the one train / dev / test split of their synsets;
``encoder_lib.data.supersense`` is part 3's labelled data (definition -> supersense).
"""

from . import splits, supersense, wordnet

__all__ = ["splits", "supersense", "wordnet"]
