"""The pre-training speed settings of ``PretrainConfig`` turned into torch objects, for
the training loop and ``bench/pretrain_speed.py`` alike.

Each is off by default, so the loop runs the model as the course shows it:

* ``compile`` / ``compile_mode``: ``torch.compile`` on the whole model (with
  ``fixed_mlm_rows`` it is one graph, forward and backward; "reduce-overhead" adds CUDA
  graphs, "max-autotune" searches matrix-product kernels);
* ``adamw``: the AdamW implementation (one fused kernel, a few multi-tensor ones, or a
  Python loop over the parameters);
* ``sdpa_backend``: the attention kernel family;
* ``fixed_mlm_rows``, ``vocab_multiple``, ``linear_bias`` and ``dropout`` change the
  model or its head: ``PretrainConfig.encoder_config`` and ``predicted_rows`` carry them.
"""
from __future__ import annotations

import torch

from ..model.attention import sdpa_backend
from .config import PretrainConfig


def adamw_options(config: PretrainConfig, device: torch.device) -> dict:
    """Keyword arguments for torch.optim.AdamW selecting ``config.adamw``'s implementation."""
    return {"auto": {"fused": device.type == "cuda"}, "fused": {"fused": True},
            "foreach": {"foreach": True}, "loop": {"foreach": False}}[config.adamw]


def compile_model(model: torch.nn.Module, config: PretrainConfig) -> torch.nn.Module:
    """``model`` through torch.compile in ``config.compile_mode``, or unchanged if compile is off."""
    return torch.compile(model, mode=config.compile_mode) if config.compile else model


def attention_kernels(config: PretrainConfig):
    """Context manager: the forward pass runs under it (the backward follows the forward's kernel)."""
    return sdpa_backend(config.sdpa_backend)
