"""A notebook's own run, recorded in the notebook for the grader.

Some quiz answers depend on the run a student made ("the layer where *your* probe peaks").
The grader reruns a notebook with smaller settings, so such an answer is judged against
the numbers the student's own run produced: :func:`record_run` shows them in the cell's
output as plain JSON (a MIME type of its own, beside a line of text), where they stay in
the notebook the student hands in. The grader reads them from that file, in its own
process and before the notebook runs again; code running during grading cannot change
them (``autograder/sandbox/recorded.py``, and :func:`encoder_lib.checks.check_argmax`'s
``record`` argument for the check that uses them).
"""
from __future__ import annotations

from typing import Any

from encoder_lib.checks.plain import describe, to_json

#: The output MIME type of a recorded value.
MIME = "application/vnd.encoder-course.run-record+json"


def record_run(key: str, value: Any, what: str = "") -> None:
    """Show ``value`` (numbers, strings, lists and dicts of them) in this cell's output as
    the recorded value ``key`` of this run; ``what`` says in words what it is."""
    from IPython.display import display

    text = f"Recorded in this notebook for grading: {what or key} (the quiz about it is marked against this run)."
    display({"text/plain": text, MIME: {"key": str(key), "value": to_json(describe(value))}}, raw=True)
