"""The loss-curve figure of a finished (or running) pre-training run."""
from __future__ import annotations

from pathlib import Path

from matplotlib.figure import Figure


def smooth(values: list[float], window: int) -> list[float]:
    """Running mean over the last ``window`` values (the first ones over fewer)."""
    out, total = [], 0.0
    for i, v in enumerate(values):
        total += v
        if i >= window:
            total -= values[i - window]
        out.append(total / min(i + 1, window))
    return out


def save_loss_curve(history: dict, path: str | Path, title: str = "Masked-LM pre-training") -> Path:
    """Training loss (smoothed), held-out loss and the unigram baseline against the step."""
    fig = Figure(figsize=(7, 4.2), layout="constrained")
    ax = fig.subplots()
    train = history.get("train", [])
    if train:
        steps = [r["step"] for r in train]
        losses = [r["loss"] for r in train]
        ax.plot(steps, losses, color="tab:blue", alpha=0.25, linewidth=0.8, label="training loss (per step)")
        ax.plot(steps, smooth(losses, max(1, len(losses) // 50)), color="tab:blue",
                label="training loss (running mean)")
    evals = history.get("eval", [])
    if evals:
        ax.plot([r["step"] for r in evals], [r["loss"] for r in evals], "o-", color="tab:orange",
                label="held-out loss (dev split, fixed masks)")
    baseline = history.get("baseline")
    if baseline:
        ax.axhline(baseline["loss"], color="grey", linestyle="--",
                   label=f"unigram baseline ({baseline['loss']:.2f})")
    ax.set_xlabel("optimizer step")
    ax.set_ylabel("cross-entropy per masked token (nats)")
    ax.set_title(title)
    ax.grid(alpha=0.3)
    ax.legend()
    path = Path(path)
    fig.savefig(path, dpi=110)
    return path
