"""Layer-wise linear probes: where in the stack H^0 .. H^L does the information live?

The encoder stays frozen. For every tagged sentence we pool the target word's vector
from each layer once (``target_vectors``: (n, L+1, d)); then one linear classifier per
layer is trained on those vectors alone:

- **word-in-context**: on the pair features [u; v; |u-v|; u*v] of the two targets,
  is it the same sense? (2 classes, chance 50 %)
- **supersense**: on the target's vector, which of WordNet's lexicographer classes
  (noun.animal, verb.motion, ...) is its sense in? (chance = the majority class)

A probe that reaches high accuracy at layer l means the answer is *linearly readable*
from H^l. Features are standardised with the training set's mean and spread, and
the classifier is a logistic regression fitted full-batch with L-BFGS (deterministic,
no learning rate to tune), with a small L2 penalty.

    vecs = target_vectors(encoder, tokenizer, examples)           # (n, L+1, d)
    accs = probe_layers(train_x, train_y, test_x, test_y)         # one accuracy per layer
"""
from __future__ import annotations

import contextlib
from dataclasses import dataclass

import torch
from torch import nn

from .data.wic import encode_targets
from .device import get_device
from .model.token_pair import pair_features, pool_targets


@dataclass
class ProbeConfig:
    l2: float = 1e-3            # L2 penalty on the probe's weights (per example, mean loss)
    max_iter: int = 50          # L-BFGS iterations per layer (enough for these convex fits)
    seed: int = 0               # initialisation of the probe (zeros, so it only matters for ties)


@torch.no_grad()
def target_vectors(encoder: nn.Module, tokenizer, examples, batch_size: int = 128,
                   max_length: int = 128) -> torch.Tensor:
    """The target word's pooled vector at every layer, for tagged sentences.

    Returns (n, L+1, d) float32 on the CPU: index 0 is H^0 (the embeddings), index l the
    output of layer l. The encoder is put in eval mode (no dropout) and not changed."""
    examples = list(examples)
    if not examples:
        raise ValueError("no examples: give at least one tagged example sentence")
    encoder.eval()
    device = next(encoder.parameters()).device
    out = []
    for i in range(0, len(examples), batch_size):
        enc = encode_targets(examples[i:i + batch_size], tokenizer, max_length)
        ids, mask, target = (enc[k].to(device) for k in ("input_ids", "attention_mask", "target_mask"))
        states = encoder(ids, mask, output_hidden_states=True).hidden_states    # L+1 x (batch, seq, d)
        pooled = [pool_targets(h.float(), target, mask) for h in states]       # L+1 x (batch, d)
        out.append(torch.stack(pooled, dim=1).cpu())                            # (batch, L+1, d)
    return torch.cat(out)                                                       # (n, L+1, d)


def fit_linear_probe(x: torch.Tensor, y: torch.Tensor, num_classes: int,
                     config: ProbeConfig | None = None, device=None) -> nn.Module:
    """A logistic-regression classifier (standardisation + nn.Linear) fitted on x: (n, f), y: (n,).

    The fit runs on ``device`` (default: the GPU when there is one); the returned probe is
    on the CPU, where ``target_vectors`` leaves the features."""
    config = config or ProbeConfig()
    if x.dim() != 2 or y.dim() != 1 or x.shape[0] != y.shape[0]:
        raise ValueError(f"x must be (n, features) and y (n,), got {tuple(x.shape)} and {tuple(y.shape)}")
    if x.shape[0] == 0:
        raise ValueError("no training examples for the probe")
    if int(y.min()) < 0 or int(y.max()) >= num_classes:
        raise ValueError(f"labels must be in 0..{num_classes - 1}, got {int(y.min())}..{int(y.max())}")
    device = get_device(device)
    x, y = x.float().to(device), y.to(device)
    mean, std = x.mean(0), x.std(0).clamp_min(1e-6)
    linear = nn.Linear(x.shape[1], num_classes).to(device)
    nn.init.zeros_(linear.weight)
    nn.init.zeros_(linear.bias)
    z = (x - mean) / std                                                        # (n, f)
    opt = torch.optim.LBFGS(linear.parameters(), lr=1.0, max_iter=config.max_iter,
                            history_size=20, line_search_fn="strong_wolfe")

    def closure():
        opt.zero_grad()
        loss = nn.functional.cross_entropy(linear(z), y) + config.l2 * linear.weight.pow(2).sum()
        loss.backward()
        return loss

    with torch.enable_grad(), _one_cpu_thread(device):
        opt.step(closure)
    probe = nn.Sequential(_Standardise(mean, std), linear)
    return probe.cpu().eval()


@contextlib.contextmanager
def _one_cpu_thread(device: torch.device):
    """Fit on one CPU thread: the fit is many small operations, where several threads
    only wait on each other (measured 20-60x slower with 2 threads than with one on a
    busy 2-core machine; the matrices are too small to gain from more threads)."""
    if device.type != "cpu":
        yield
        return
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(before)


class _Standardise(nn.Module):
    def __init__(self, mean: torch.Tensor, std: torch.Tensor):
        super().__init__()
        self.register_buffer("mean", mean)
        self.register_buffer("std", std)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return (x - self.mean) / self.std


@torch.no_grad()
def accuracy(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> float:
    """Share of rows of x whose arg-max prediction equals y."""
    return float((model(x.float()).argmax(-1) == y).float().mean())


def wic_features(vectors: torch.Tensor, first: list[int], second: list[int]) -> torch.Tensor:
    """Per-layer pair features: vectors (n, L+1, d) indexed by the pairs' sentence rows
    -> (pairs, L+1, 4 d)."""
    if not first:
        raise ValueError("the pair list is empty: give at least one pair")
    u, v = vectors[first], vectors[second]                                      # (pairs, L+1, d)
    n, layers, d = u.shape
    return pair_features(u.reshape(n * layers, d), v.reshape(n * layers, d)).reshape(n, layers, 4 * d)


def probe_layers(train_x: torch.Tensor, train_y: torch.Tensor, test_x: torch.Tensor,
                 test_y: torch.Tensor, num_classes: int | None = None,
                 config: ProbeConfig | None = None) -> list[float]:
    """One linear probe per layer: train on train_x[:, l], report accuracy on test_x[:, l].

    train_x: (n, L+1, f); test_x: (m, L+1, f). Returns L+1 test accuracies."""
    if train_x.dim() != 3 or test_x.dim() != 3 or train_x.shape[1:] != test_x.shape[1:]:
        raise ValueError(f"train_x and test_x must be (n, layers, features) with the same layers and "
                         f"features, got {tuple(train_x.shape)} and {tuple(test_x.shape)}")
    if num_classes is None:
        num_classes = int(max(train_y.max(), test_y.max())) + 1
    return [accuracy(fit_linear_probe(train_x[:, layer], train_y, num_classes, config), test_x[:, layer], test_y)
            for layer in range(train_x.shape[1])]


def majority_baseline(train_y: torch.Tensor, test_y: torch.Tensor) -> float:
    """Test accuracy of always answering the most frequent training label (chance level)."""
    majority = int(torch.bincount(train_y).argmax())
    return float((test_y == majority).float().mean())
