"""Pictures of how similar hidden states are: a layer-wise curve (the same word in two
contexts, cosine similarity per layer) and a token-by-token similarity matrix.

Both plot functions take torch tensors, numpy arrays or lists, draw on ``ax`` when one
is given (a new figure otherwise) and return the matplotlib Axes.
"""
from __future__ import annotations

from typing import Mapping, Sequence

import numpy as np

SIMILARITY_LABEL = "cosine similarity"
LAYER_LABEL = r"layer $l$ of the hidden states $H^l$ (0 = embeddings)"
CMAP = "magma"


def _as_array(values, what: str) -> np.ndarray:
    """A float numpy array from a tensor (any device, with or without grad), array or list."""
    if hasattr(values, "detach"):
        values = values.detach().float().cpu().numpy()
    try:
        array = np.asarray(values, dtype=float)
    except (TypeError, ValueError):
        raise TypeError(f"{what} must be a torch tensor, numpy array or list of numbers, "
                        f"got {type(values).__name__}") from None
    if not np.isfinite(array).all():
        raise ValueError(f"{what} contains NaN or infinite values; check the computation that made it")
    return array


def cosine_similarity_matrix(a, b=None):
    """Cosine similarity of every row of ``a`` (n, d) with every row of ``b`` (m, d);
    ``b`` defaults to ``a``. Returns a torch tensor (n, m) with values in [-1, 1]."""
    import torch

    a = torch.as_tensor(a).float()
    b = a if b is None else torch.as_tensor(b).float().to(a.device)
    if a.dim() != 2 or b.dim() != 2:
        raise ValueError(f"expected two matrices of row vectors (n, d) and (m, d), got shapes "
                         f"{tuple(a.shape)} and {tuple(b.shape)}; pick one sentence first, e.g. H[0]")
    if a.shape[1] != b.shape[1]:
        raise ValueError(f"the row vectors have different widths: {a.shape[1]} and {b.shape[1]}")
    a_unit = a / a.norm(dim=-1, keepdim=True).clamp_min(1e-12)   # (n, d)
    b_unit = b / b.norm(dim=-1, keepdim=True).clamp_min(1e-12)   # (m, d)
    return a_unit @ b_unit.T                                      # (n, m)


def plot_layer_similarity(similarities, title: str = "Cosine similarity of the same word in two contexts",
                          ax=None, xlabel: str = LAYER_LABEL, ylabel: str = SIMILARITY_LABEL,
                          label: str | None = None):
    """Line plot of similarity against layer; returns the Axes.

    similarities: one curve (a sequence of L+1 numbers, entry l for H^l), or a dict
    {legend label: curve} for several curves on the same axes.
    """
    import matplotlib.pyplot as plt

    if isinstance(similarities, Mapping):
        curves = {str(k): _as_array(v, f"similarities[{k!r}]") for k, v in similarities.items()}
        if not curves:
            raise ValueError("similarities is an empty dict: give at least one curve")
    else:
        curves = {label: _as_array(similarities, "similarities")}
    for name, curve in curves.items():
        if curve.ndim != 1 or curve.size == 0:
            raise ValueError(f"each curve must be a 1-D sequence with one value per layer, got shape "
                             f"{curve.shape}" + (f" for {name!r}" if name else ""))
    if ax is None:
        _, ax = plt.subplots(figsize=(6.5, 4))
    longest = 0
    for name, curve in curves.items():
        ax.plot(np.arange(curve.size), curve, marker="o", label=name)
        longest = max(longest, curve.size)
    ax.set_xticks(np.arange(longest))
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.grid(True, alpha=0.3)
    if any(name for name in curves):
        ax.legend()
    return ax


def draw_heatmap(ax, matrix: np.ndarray, row_tokens: Sequence[str], col_tokens: Sequence[str], *,
                 title: str, xlabel: str, ylabel: str, colorbar_label: str,
                 vmin: float | None, vmax: float | None, cmap: str = CMAP) -> None:
    """A labelled token-by-token heatmap on ``ax`` (shared by the plots and the explorer)."""
    image = ax.imshow(matrix, cmap=cmap, vmin=vmin, vmax=vmax, aspect="auto")
    ax.figure.colorbar(image, ax=ax, label=colorbar_label)
    ax.set_xticks(range(len(col_tokens)))
    ax.set_yticks(range(len(row_tokens)))
    ax.set_xticklabels(col_tokens, rotation=90, fontsize=8)
    ax.set_yticklabels(row_tokens, fontsize=8)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title)


def _tokens(tokens, n: int, what: str, shape: tuple) -> list[str]:
    if isinstance(tokens, str):
        raise TypeError(f"{what} must be a list of token strings, not one string")
    tokens = [str(t) for t in tokens]
    if len(tokens) != n:
        raise ValueError(f"the matrix has shape {shape}, so {what} needs {n} tokens, got {len(tokens)}")
    return tokens


def plot_similarity_matrix(matrix, row_tokens: Sequence[str], col_tokens: Sequence[str] | None = None,
                           title: str = "Token-by-token cosine similarity", ax=None,
                           xlabel: str = "token", ylabel: str = "token",
                           vmin: float | None = None, vmax: float | None = 1.0):
    """Heatmap of a (n, m) similarity matrix with token labels; returns the Axes.

    row_tokens label the n rows; col_tokens the m columns (default: the row tokens, for
    a sentence compared with itself). The colour scale ends at 1 (identical direction)
    and starts at the smallest value unless ``vmin`` is given.
    """
    import matplotlib.pyplot as plt

    m = _as_array(matrix, "matrix")
    if m.ndim != 2:
        raise ValueError(f"matrix must be 2-D (n, m), got shape {m.shape}; pick one sentence first")
    rows = _tokens(row_tokens, m.shape[0], "row_tokens", m.shape)
    cols = rows if col_tokens is None else _tokens(col_tokens, m.shape[1], "col_tokens", m.shape)
    if col_tokens is None and m.shape[0] != m.shape[1]:
        raise ValueError(f"matrix has shape {m.shape}, which is not square: pass col_tokens too")
    if ax is None:
        width = min(12.0, 3.0 + 0.35 * len(cols))
        height = min(10.0, 2.0 + 0.35 * len(rows))
        _, ax = plt.subplots(figsize=(width + 1.2, height))
    draw_heatmap(ax, m, rows, cols, title=title, xlabel=xlabel, ylabel=ylabel,
                 colorbar_label=SIMILARITY_LABEL, vmin=vmin, vmax=vmax)
    return ax
