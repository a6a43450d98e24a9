"""Loss curves of a training run: a static plot and a live one that redraws in place.

    curve = LiveLossCurve(baseline=unigram_loss)       # shows an empty figure
    for step in range(steps):
        loss = training_step(...)
        curve.update(step + 1, loss)                    # redraws every ``every`` steps
    curve.update(step + 1, loss, held_out=dev_loss)     # held-out points as markers
    curve.finish()                                      # the final picture

The live curve renders each picture to PNG and replaces one display output with it
(``IPython.display`` display ids), so it updates in JupyterLab, on Colab and while
nbgrader runs the notebook, without pyplot state and without anything on stderr.
Outside IPython (a terminal, a test) it draws nothing until asked for ``figure()``.
"""
from __future__ import annotations

import io
import math
import time
from typing import Sequence

STEP_LABEL = "training step"
LOSS_LABEL = "cross-entropy loss (nats per masked token)"


def smooth(values: Sequence[float], weight: float = 0.9) -> list[float]:
    """Exponential moving average with bias correction (the first values are not pulled
    towards 0): what makes a noisy per-step loss readable."""
    if not 0.0 <= weight < 1.0:
        raise ValueError(f"the smoothing weight must be in [0, 1), got {weight!r}")
    out, avg = [], 0.0
    for i, v in enumerate(values, start=1):
        avg = weight * avg + (1.0 - weight) * float(v)
        out.append(avg / (1.0 - weight ** i))
    return out


def _check_curve(steps, losses, what: str) -> tuple[list[float], list[float]]:
    steps, losses = [float(s) for s in steps], [float(v) for v in losses]
    if len(steps) != len(losses):
        raise ValueError(f"{what}: {len(steps)} steps but {len(losses)} losses; give one loss per step")
    bad = [s for s, v in zip(steps, losses) if not math.isfinite(v)]
    if bad:
        raise ValueError(f"{what}: the loss is NaN or infinite at step {bad[0]:g}; "
                         "lower the learning rate or check the loss computation")
    return steps, losses


def plot_loss_curve(steps: Sequence[float], losses: Sequence[float], held_out=None,
                    baseline: float | None = None, baseline_label: str = "unigram baseline",
                    title: str = "Masked-LM pre-training loss", ax=None, smoothing: float = 0.9):
    """Training loss per step (raw and smoothed), optional held-out points
    ``(steps, losses)`` and a horizontal ``baseline``; returns the matplotlib Axes."""
    steps, losses = _check_curve(steps, losses, "training curve")
    if ax is None:
        import matplotlib.pyplot as plt

        _, ax = plt.subplots(figsize=(7, 4))
    if losses:
        ax.plot(steps, losses, color="tab:blue", alpha=0.3, linewidth=1, label="training loss (per step)")
        ax.plot(steps, smooth(losses, smoothing), color="tab:blue", linewidth=2, label="training loss (smoothed)")
    if held_out is not None:
        h_steps, h_losses = _check_curve(*held_out, what="held-out curve")
        if h_losses:
            ax.plot(h_steps, h_losses, "o-", color="tab:orange", label="held-out loss")
    if baseline is not None:
        ax.axhline(float(baseline), color="gray", linestyle="--", label=f"{baseline_label} ({baseline:.2f})")
    ax.set_title(title)
    ax.set_xlabel(STEP_LABEL)
    ax.set_ylabel(LOSS_LABEL)
    ax.grid(alpha=0.3)
    if ax.get_legend_handles_labels()[0]:
        ax.legend(loc="upper right")
    return ax


class LiveLossCurve:
    """A loss curve that redraws in place while a loop runs. ``update`` records a step
    and redraws every ``every`` steps (and whenever a held-out loss comes in);
    ``finish`` draws the final picture. The recorded values are in ``steps``,
    ``losses``, ``held_out_steps`` and ``held_out_losses``."""

    def __init__(self, baseline: float | None = None, baseline_label: str = "unigram baseline",
                 title: str = "Masked-LM pre-training loss", every: int = 10, show: bool | None = None,
                 dpi: int = 80):
        if not isinstance(every, int) or every < 1:
            raise ValueError(f"every must be a positive number of steps, got {every!r}")
        self.baseline, self.baseline_label, self.title = baseline, baseline_label, title
        self.every, self.dpi = every, dpi
        self.steps: list[int] = []
        self.losses: list[float] = []
        self.held_out_steps: list[int] = []
        self.held_out_losses: list[float] = []
        self.renders = 0                     # pictures drawn so far (tests watch it)
        self._start = time.perf_counter()
        self._handle = None
        if show is None:
            show = _in_ipython()
        if show:
            from IPython.display import display

            self._handle = display(self._image(), display_id=True)

    def update(self, step: int, loss: float, held_out: float | None = None) -> None:
        """Record the training loss of ``step`` (and a held-out loss measured there)."""
        loss = float(loss)
        if not math.isfinite(loss):
            raise ValueError(f"the training loss is {loss} at step {step}: training diverged; "
                             "lower the learning rate (or check the loss function)")
        self.steps.append(int(step))
        self.losses.append(loss)
        if held_out is not None:
            self.held_out_steps.append(int(step))
            self.held_out_losses.append(float(held_out))
        if held_out is not None or len(self.steps) % self.every == 0:
            self.redraw()

    def finish(self) -> None:
        """Draw the final picture (call it after the loop)."""
        self.redraw()

    def redraw(self) -> None:
        if self._handle is not None:
            self._handle.update(self._image())

    def summary(self) -> str:
        """One line: steps so far, last smoothed loss, time taken."""
        if not self.losses:
            return "no steps yet"
        elapsed = time.perf_counter() - self._start
        return (f"step {self.steps[-1]}: loss {smooth(self.losses)[-1]:.3f} (smoothed), "
                f"{elapsed:.0f} s, {len(self.steps) / max(elapsed, 1e-9):.1f} steps/s")

    def figure(self):
        """The current picture as a matplotlib Figure."""
        from matplotlib.figure import Figure

        fig = Figure(figsize=(7, 4), dpi=self.dpi, layout="constrained")
        ax = fig.subplots()
        held_out = (self.held_out_steps, self.held_out_losses) if self.held_out_losses else None
        title = self.title + (f"\n{self.summary()}" if self.losses else "")
        plot_loss_curve(self.steps, self.losses, held_out=held_out, baseline=self.baseline,
                        baseline_label=self.baseline_label, title=title, ax=ax)
        if not self.losses and self.baseline is None:
            ax.set_ylim(0, 1)
        return fig

    def _image(self):
        from IPython.display import Image

        buffer = io.BytesIO()
        self.figure().savefig(buffer, format="png")
        self.renders += 1
        return Image(data=buffer.getvalue(), format="png")


def _in_ipython() -> bool:
    try:
        from IPython import get_ipython
    except ImportError:
        return False
    return get_ipython() is not None
