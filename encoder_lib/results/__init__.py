"""The course's committed measurements, shipped with the package.

The benchmark scripts under ``bench/`` write their results to ``bench/results/`` in the
repository and a copy of the JSON here, so a notebook can show the committed numbers
where only ``encoder_lib`` is installed (Colab, a pip install). ``tests/test_compare_results.py``
checks each copy equals its source.

    from encoder_lib import results
    committed = results.load("finetune_compare")      # the four-way comparison of part 3
    wic = results.load("context_tasks")               # notebook 06's fine-tuning runs, several seeds
"""
from __future__ import annotations

import json
from pathlib import Path

HERE = Path(__file__).resolve().parent
NAMES = ("finetune_compare", "context_tasks")


def path(name: str) -> Path:
    if name not in NAMES:
        raise ValueError(f"no committed results named {name!r}; there are: {', '.join(NAMES)}")
    return HERE / f"{name}.json"


def load(name: str) -> dict | None:
    """The committed results ``name`` as a dict, or None when they were never made."""
    file = path(name)
    return json.loads(file.read_text(encoding="utf-8")) if file.is_file() else None
