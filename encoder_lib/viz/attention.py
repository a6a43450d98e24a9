"""Attention heatmaps: one head (or the mean over heads) as a token-by-token matrix, and a
grid of every head of one layer.

Rows are query tokens (the token doing the looking), columns the tokens attended to; a
row of attention weights sums to 1. Both functions take torch tensors or numpy arrays
and return the matplotlib objects they drew on, so a notebook can adjust them.
"""
from __future__ import annotations

import math
from typing import Sequence

import numpy as np

QUERY_LABEL = "query token"
KEY_LABEL = "attended-to token"
COLORBAR_LABEL = "attention weight"
CMAP = "viridis"


def _as_array(attn, what: str) -> np.ndarray:
    """A float numpy array from a tensor (any device, with or without grad) or an array."""
    if hasattr(attn, "detach"):
        attn = attn.detach().float().cpu().numpy()
    try:
        return np.asarray(attn, dtype=float)
    except (TypeError, ValueError):
        raise TypeError(f"{what} must be a torch tensor or numpy array of attention weights, "
                        f"got {type(attn).__name__}") from None


def _check_tokens(tokens: Sequence[str], seq: int, shape: tuple) -> list[str]:
    if isinstance(tokens, str):
        raise TypeError("tokens must be a list of token strings (e.g. tok.convert_ids_to_tokens(ids)), "
                        "not one string")
    tokens = [str(t) for t in tokens]
    if len(tokens) != seq:
        raise ValueError(f"the attention matrix has shape {shape}, so it needs {seq} tokens, "
                         f"but {len(tokens)} were given; drop padding from both or pass the matching tokens")
    return tokens


def _label_ticks(ax, tokens: list[str], show_x: bool = True, show_y: bool = True) -> None:
    positions = range(len(tokens))
    ax.set_xticks(positions)
    ax.set_yticks(positions)
    ax.set_xticklabels(tokens if show_x else [], rotation=90, fontsize=8)
    ax.set_yticklabels(tokens if show_y else [], fontsize=8)


def plot_attention(attn, tokens: Sequence[str], layer: int | None = None, head: int | None = None,
                   ax=None):
    """Heatmap of attention weights; returns the matplotlib Axes.

    attn: (seq, seq) for one head, or (heads, seq, seq) for a whole layer, in which case
    ``head`` picks one head and ``head=None`` shows the mean over heads.
    tokens: the seq token strings, in order (rows and columns).
    layer, head: numbers shown in the title. Layers count from 1, as in the course: layer l
    produces H^l, so its weights are ``out.attentions[l - 1]`` (H^0 is the embeddings).
    Heads count from 0.
    ax: draw on this Axes (a new figure when None).
    """
    import matplotlib.pyplot as plt

    a = _as_array(attn, "attn")
    if a.ndim == 3:
        if head is None:
            which = f"mean of {a.shape[0]} heads"
            a = a.mean(axis=0)                       # (seq, seq)
        else:
            if not -a.shape[0] <= head < a.shape[0]:
                raise ValueError(f"head={head} is out of range: attn has {a.shape[0]} heads "
                                 f"(0 .. {a.shape[0] - 1})")
            a = a[head]                              # (seq, seq)
            which = f"head {head}"
    elif a.ndim == 2:
        which = f"head {head}" if head is not None else None
    else:
        raise ValueError(f"attn must have shape (seq, seq) or (heads, seq, seq), got shape {a.shape}; "
                         "for a model output pick one sentence and layer first, e.g. "
                         "out.attentions[layer][0]")
    if a.shape[0] != a.shape[1]:
        raise ValueError(f"self-attention weights are square (seq, seq), got shape {a.shape}")
    tokens = _check_tokens(tokens, a.shape[0], a.shape)

    if ax is None:
        size = min(10.0, 2.5 + 0.35 * len(tokens))
        _, ax = plt.subplots(figsize=(size + 1.2, size))
    image = ax.imshow(a, cmap=CMAP, vmin=0.0, vmax=max(float(a.max()), 1e-12))
    ax.figure.colorbar(image, ax=ax, label=COLORBAR_LABEL)
    _label_ticks(ax, tokens)
    ax.set_xlabel(KEY_LABEL)
    ax.set_ylabel(QUERY_LABEL)
    parts = ["Attention"] + ([f"layer {layer}"] if layer is not None else []) + ([which] if which else [])
    ax.set_title(", ".join(parts) if len(parts) > 1 else "Attention weights")
    return ax


def plot_attention_grid(attentions, tokens: Sequence[str], layer: int, index: int = 0,
                        ncols: int = 4):
    """Every head of one layer, one small heatmap each; returns the matplotlib Figure.

    attentions: the model's ``out.attentions``, a tuple with one (batch, heads, seq, seq)
    tensor per layer (a single (batch, heads, seq, seq) or (heads, seq, seq) tensor is
    accepted too). layer: 1 .. L, as in the course: layer l produces H^l, and its
    weights are ``attentions[l - 1]``. index: which sentence of the batch. The colour scale is shared by all
    heads, so their heatmaps can be compared.
    """
    import matplotlib.pyplot as plt

    if isinstance(attentions, (tuple, list)):
        if not 1 <= layer <= len(attentions):
            raise ValueError(f"layer={layer} is out of range: the model has {len(attentions)} layers, "
                             f"numbered 1 .. {len(attentions)} (layer l produces H^l)")
        a = _as_array(attentions[layer - 1], "attentions[layer - 1]")
    else:
        a = _as_array(attentions, "attentions")
    if a.ndim == 4:
        if not -a.shape[0] <= index < a.shape[0]:
            raise ValueError(f"index={index} is out of range: the batch holds {a.shape[0]} sentences")
        a = a[index]                                   # (heads, seq, seq)
    if a.ndim != 3 or a.shape[1] != a.shape[2]:
        raise ValueError("attentions must be the model's tuple of (batch, heads, seq, seq) tensors, "
                         f"or one layer's (heads, seq, seq); got a layer of shape {a.shape}")
    tokens = _check_tokens(tokens, a.shape[1], a.shape)
    heads = a.shape[0]
    ncols = max(1, min(ncols, heads))
    nrows = math.ceil(heads / ncols)
    cell = min(3.2, 1.2 + 0.15 * len(tokens))
    fig, axes = plt.subplots(nrows, ncols, figsize=(cell * ncols + 1.5, cell * nrows + 1.0),
                             squeeze=False, constrained_layout=True)
    vmax = max(float(a.max()), 1e-12)
    image = None
    for h, ax in enumerate(axes.flat):
        if h >= heads:
            ax.set_visible(False)
            continue
        row, col = divmod(h, ncols)
        image = ax.imshow(a[h], cmap=CMAP, vmin=0.0, vmax=vmax)
        last_row = row == nrows - 1 or h + ncols >= heads
        _label_ticks(ax, tokens, show_x=last_row, show_y=col == 0)
        ax.set_title(f"head {h}", fontsize=10)
        ax.set_xlabel(KEY_LABEL if last_row else "")
        ax.set_ylabel(QUERY_LABEL if col == 0 else "")
    fig.colorbar(image, ax=[ax for ax in axes.flat if ax.get_visible()], label=COLORBAR_LABEL,
                 shrink=0.8)
    fig.suptitle(f"Attention of layer {layer}, every head (rows: query token, columns: attended-to token)")
    return fig
