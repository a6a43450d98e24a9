"""Feedback for a notebook the grader could not grade: a file it could not read (invalid
JSON, an empty file, another course's notebook) or one it skipped (over the size limit).

nbgrader never sees such a file, so it writes no feedback for it; the student would get
nothing back for that notebook. :func:`write_unreadable_feedback` and
:func:`write_skipped_feedback` write a short page in its place,
``feedback/<student>/<part>/<notebook>.html``, saying why it scored 0 and what to do.
"""
from __future__ import annotations

import html
from pathlib import Path

PAGE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{notebook}: not graded</title></head>
<body>
<h1>{notebook}</h1>
<p><strong>Score: 0 / {points}.</strong> The file you handed in {headline}, so none of its
questions could be graded.</p>
<p>Why: {why}</p>
<p>What to do: {todo}</p>
</body></html>
"""


def write_unreadable_feedback(jobs: list[dict], layout: dict | None = None) -> list[Path]:
    """One page per unreadable notebook of ``jobs``; returns the pages written."""
    written = []
    for job in jobs:
        for name in job.get("unreadable", []):
            why = "; ".join(n["detail"] for n in job.get("repair", {}).get(name, []) if n.get("fatal"))
            points = ""
            if layout is not None:
                points = f"{layout[job['assignment']][name]['points']:g}"
            page = Path(job["feedback_dir"]) / f"{name}.html"
            page.parent.mkdir(parents=True, exist_ok=True)
            kinds = {n["kind"] for n in job.get("repair", {}).get(name, []) if n.get("fatal")}
            headline = ("is not this course's notebook" if "other_notebook" in kinds else
                        "could not be read as a notebook")
            page.write_text(PAGE.format(notebook=html.escape(name), points=points or "all points",
                                        headline=headline, why=html.escape(why or "the file is not a valid notebook"),
                                        todo=REOPEN), encoding="utf-8")
            written.append(page)
    return written


REOPEN = ("open the notebook in Jupyter (if it opens, save it again with File &gt; Save), or download it "
          "again from where you worked on it, check that it is this course's notebook, and ask your "
          "instructor whether you may hand it in again.")
SMALLER = ("clear the outputs (Edit &gt; Clear Outputs of All Cells, or Kernel &gt; Restart Kernel and "
           "Clear Outputs), save, and ask your instructor whether you may hand it in again: large "
           "images and printed tensors are what make a notebook this big.")


def write_skipped_feedback(intake, nb_part: dict[str, str], out: Path, graded: set[tuple[str, str]],
                           layout: dict | None = None) -> list[Path]:
    """One page per notebook the intake skipped for a student (a file over the size limit),
    unless another copy of it was graded (``graded``: (student, notebook) pairs)."""
    written = []
    for note in intake.notes:
        if note.kind != "file_too_large" or not note.student or not note.notebook:
            continue
        if (note.student, note.notebook) in graded or note.notebook not in nb_part:
            continue
        part = nb_part[note.notebook]
        points = f"{layout[part][note.notebook]['points']:g}" if layout is not None else ""
        page = Path(out) / "feedback" / note.student / part / f"{note.notebook}.html"
        page.parent.mkdir(parents=True, exist_ok=True)
        page.write_text(PAGE.format(notebook=html.escape(note.notebook), points=points or "all points",
                                    headline="was too large to grade", why=html.escape(note.detail), todo=SMALLER),
                        encoding="utf-8")
        written.append(page)
    return written
