"""Feedback for a notebook the grader could not read (invalid JSON, an empty file ...).

nbgrader never sees such a file, so it writes no feedback for it; the student would get
nothing back for that notebook. :func:`write_unreadable_feedback` writes a short page in
its place, ``feedback/<student>/<part>/<notebook>.html``, saying why it scored 0 and
what to do.
"""
from __future__ import annotations

import html
from pathlib import Path

PAGE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{notebook}: not graded</title></head>
<body>
<h1>{notebook}</h1>
<p><strong>Score: 0 / {points}.</strong> The file you handed in could not be read as a notebook,
so none of its questions could be graded.</p>
<p>Why: {why}</p>
<p>What to do: open the notebook in Jupyter (if it opens, save it again with File &gt; Save),
or download it again from where you worked on it, and ask your instructor whether you
may hand it in again.</p>
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
            page.write_text(PAGE.format(notebook=html.escape(name), points=points or "all points",
                                        why=html.escape(why or "the file is not a valid notebook")),
                            encoding="utf-8")
            written.append(page)
    return written
