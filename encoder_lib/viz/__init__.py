"""Plots and widgets for looking inside the encoder.

- ``plot_attention``, ``plot_attention_grid``: attention heatmaps (``viz.attention``);
- ``plot_layer_similarity``, ``plot_similarity_matrix``, ``cosine_similarity_matrix``:
  how similar hidden states are, per layer and token by token (``viz.similarity``);
- ``attention_explorer``: an ipywidgets explorer (``viz.explorer``);
- ``plot_loss_curve``, ``LiveLossCurve``: training-loss curves, static or redrawn live
  while a loop runs (``viz.loss_curve``);
- ``fill_mask``, ``fill_mask_widget``: a masked LM's top-k words for each ``[MASK]`` of a
  sentence, and a widget comparing models on it (``viz.fill_mask``).

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
    "plot_loss_curve": "loss_curve",
    "LiveLossCurve": "loss_curve",
    "fill_mask": "fill_mask",
    "fill_mask_widget": "fill_mask",
    "FillMaskWidget": "fill_mask",
}


def __getattr__(name: str):
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'encoder_lib.viz' has no attribute {name!r}")
    return getattr(importlib.import_module(f".{module}", __name__), name)


def __dir__() -> list[str]:
    return sorted(list(globals()) + list(_EXPORTS))


__all__ = sorted(_EXPORTS)
