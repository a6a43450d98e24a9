"""What the first cell of every course notebook calls: grading-mode detection, device
report, CPU thread policy, seeding, and keeping harmless warnings off stderr (nbgrader
zeroes a test cell that writes to stderr)."""
from __future__ import annotations

import os
import sys
import warnings

import torch

from .device import (ThreadChoice, apply_thread_policy, describe_device, get_device, physical_cores,
                     seed_everything)

#: True while nbgrader executes the notebook (autograding): slow cells shrink then.
GRADING: bool = bool(os.environ.get("NBGRADER_EXECUTION"))


def is_grading() -> bool:
    """True while nbgrader runs this notebook (``NBGRADER_EXECUTION`` is set)."""
    return bool(os.environ.get("NBGRADER_EXECUTION"))


def _warning_to_stdout(message, category, filename, lineno, file=None, line=None):
    print(f"Warning ({category.__name__}): {message}", file=sys.stdout)


def setup_notebook(seed: int = 0, quiet: bool = False) -> torch.device:
    """Seed everything, report the device, choose the CPU threads (one per idle core:
    ``encoder_lib.device.apply_thread_policy``) and send warnings to stdout.

    Returns the device the notebook should use.
    """
    seed_everything(seed)
    warnings.showwarning = _warning_to_stdout
    device = get_device()
    if is_grading():            # tiny runs, and the grader runs other notebooks beside this one
        torch.set_num_threads(1)
        threads = ThreadChoice(1, physical_cores(), None, "grading: small runs, one thread each")
    else:
        threads = apply_thread_policy()
    if not quiet:
        print(describe_device(device))
        print(threads.describe())
        if is_grading():
            print("Grading mode: training cells run a shortened version.")
    return device


class TimeBudget:
    """A training run capped at ``max_steps`` steps and ``seconds`` of wall time.

    ``progress(step)`` is how far the run is, max(step / max_steps, elapsed / seconds),
    capped at 1: give it to the learning-rate schedule (``lr_factor(step, run,
    progress=budget.progress(step))``) and warm-up and decay fit in whichever limit comes
    first, so a slow or busy machine runs a shorter but complete schedule instead of
    stopping inside its warm-up. ``done(step)`` says when to stop; ``summary(step)`` says
    in one line how the run ended, and why when it stopped early.

        budget = TimeBudget(run.max_steps, 660)     # the clock starts here
        while not budget.done(step): ...
        print(budget.summary(step))
    """

    def __init__(self, max_steps: int, seconds: float, clock=None):
        if isinstance(max_steps, bool) or not isinstance(max_steps, int) or max_steps <= 0:
            raise ValueError(f"max_steps must be a positive int, got {max_steps!r}")
        if not seconds > 0:
            raise ValueError(f"the time limit must be a positive number of seconds, got {seconds!r}")
        import time

        self.max_steps, self.seconds = max_steps, float(seconds)
        self._clock = clock or time.perf_counter
        self.started = self._clock()

    def elapsed(self) -> float:
        """Seconds since the budget was made."""
        return self._clock() - self.started

    def progress(self, step: int) -> float:
        """How far the run is, from 0 to 1: the step count or the clock, whichever is further."""
        return min(1.0, max(step / self.max_steps, self.elapsed() / self.seconds))

    def done(self, step: int) -> bool:
        """True once ``step`` reaches max_steps or the time is up."""
        return step >= self.max_steps or self.elapsed() >= self.seconds

    def summary(self, step: int) -> str:
        """One line: how many steps ran in how long, and, when the clock stopped the run
        early, that it did and what that means."""
        took = self.elapsed()
        if step >= self.max_steps:
            return f"all {self.max_steps:,} planned steps in {took:.0f} s"
        return (f"stopped early by the time limit: {step:,} of the {self.max_steps:,} planned steps in "
                f"{took:.0f} s (limit {self.seconds:.0f} s; {step / max(took, 1e-9):.1f} steps/s on this "
                "machine). The learning-rate schedule followed the clock, so warm-up and decay both fit "
                "in the time: a shorter run, not a cut one")
