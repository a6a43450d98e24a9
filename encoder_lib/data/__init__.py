"""Shipped corpora and datasets for the course (offline; nothing is downloaded).

``encoder_lib.data.wordnet`` loads the WordNet 3.0 glosses and example sentences used
for pre-training, supersense classification and word-in-context probes;
``encoder_lib.data.splits`` is the one train / dev / test split of their synsets;
``encoder_lib.data.masking`` makes masked-LM batches (15 %, 80/10/10);
``encoder_lib.data.supersense`` is part 3's labelled data (definition -> supersense).
"""

from . import masking, splits, supersense, wordnet
from .masking import MLMCollator, mask_tokens

__all__ = ["MLMCollator", "mask_tokens", "masking", "splits", "supersense", "wordnet"]
