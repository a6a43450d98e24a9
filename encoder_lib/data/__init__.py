"""Shipped corpora and datasets for the course (offline; nothing is downloaded).

``encoder_lib.data.wordnet`` loads the WordNet 3.0 glosses and example sentences used
for pre-training, supersense classification and word-in-context probes.
"""

from . import wordnet

__all__ = ["wordnet"]
