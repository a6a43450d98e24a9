"""What the first cell of every course notebook calls: grading-mode detection, device
report, seeding, and keeping harmless warnings off stderr (nbgrader zeroes a test
cell that writes to stderr)."""
from __future__ import annotations

import os
import sys
import warnings

import torch

from .device import describe_device, get_device, seed_everything

#: True while nbgrader executes the notebook (autograding): slow cells shrink then.
GRADING: bool = bool(os.environ.get("NBGRADER_EXECUTION"))


def is_grading() -> bool:
    """True while nbgrader runs this notebook (``NBGRADER_EXECUTION`` is set)."""
    return bool(os.environ.get("NBGRADER_EXECUTION"))


def _warning_to_stdout(message, category, filename, lineno, file=None, line=None):
    print(f"Warning ({category.__name__}): {message}", file=sys.stdout)


def setup_notebook(seed: int = 0, quiet: bool = False) -> torch.device:
    """Seed everything, report the device, and send warnings to stdout.

    Returns the device the notebook should use.
    """
    seed_everything(seed)
    warnings.showwarning = _warning_to_stdout
    device = get_device()
    if not quiet:
        print(describe_device(device))
        if is_grading():
            print("Grading mode: training cells run a shortened version.")
    return device
