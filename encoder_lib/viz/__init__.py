"""Plots and widgets for looking inside the encoder.

- ``plot_attention``, ``plot_attention_grid``: attention heatmaps (``viz.attention``);
- ``plot_layer_similarity``, ``plot_similarity_matrix``, ``cosine_similarity_matrix``:
  how similar hidden states are, per layer and token by token (``viz.similarity``);
- ``attention_explorer``: an ipywidgets explorer (``viz.explorer``).

Everything is imported on first use, so ``import encoder_lib.viz`` stays light and
works without ipywidgets when only the plots are needed.
"""
from __future__ import annotations

import importlib

_EXPORTS = {
    "plot_attention": "attention",
    "plot_attention_grid": "attention",
    "plot_layer_similarity": "similarity",
    "plot_similarity_matrix": "similarity",
    "cosine_similarity_matrix": "similarity",
    "attention_explorer": "explorer",
    "EncoderExplorer": "explorer",
}


def __getattr__(name: str):
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'encoder_lib.viz' has no attribute {name!r}")
    return getattr(importlib.import_module(f".{module}", __name__), name)


def __dir__() -> list[str]:
    return sorted(list(globals()) + list(_EXPORTS))


__all__ = sorted(_EXPORTS)
