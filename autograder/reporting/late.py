"""Apply the due dates to a graded class: who was late, by how much, and what it cost.

:func:`assess_all` pairs every graded (student, part) with its submission time
(:mod:`autograder.intake.submission_times`) and due date (:mod:`autograder.course.deadlines`);
``late.csv``, ``totals.csv``, the report and the gradebook are written from the result.
In the gradebook (:func:`write_gradebook`) each part gets its due date, each submission
its time and each notebook its share of the penalty, so ``nbgrader export`` shows the
same ``timestamp``, ``late_submission_penalty`` and ``score`` as ``totals.csv``.
"""
from __future__ import annotations

import csv
import warnings
from collections import defaultdict
from pathlib import Path

from ..course.deadlines import Deadlines, Late, after_penalty, assess, days_words, utc
from .results import Row

LATE_COLUMNS = ["student", "part", "submitted_at", "due", "time_from", "days_late", "penalty_percent",
                "raw", "penalty_points", "after_penalty", "note"]


def part_scores(rows: list[Row]) -> dict[tuple[str, str], float]:
    """Points per (student, part), hand grades included, pending answers as 0."""
    out: dict = defaultdict(float)
    for r in rows:
        out[(r.student, r.part)] += r.score or 0.0
    return dict(out)


def assess_all(deadlines: Deadlines, stamps: dict, rows: list[Row]) -> dict[tuple[str, str], Late]:
    """``{(student, part): Late}`` for every part a student handed something in for."""
    out = {}
    for key in sorted({(r.student, r.part) for r in rows if r.status != "missing"}):
        stamp = stamps.get(key)
        late = assess(deadlines.policy, deadlines.due.get(key[1]), stamp.time if stamp else None,
                      marked_late=bool(stamp and stamp.marked_late))
        late.source = stamp.source if stamp else ""
        out[key] = late
    return out


def _num(x: float) -> str:
    return f"{round(x, 4):g}"


def write_late_csv(late: dict, raw: dict, path: Path) -> None:
    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(LATE_COLUMNS)
        for (student, part), l in sorted(late.items()):
            score = raw.get((student, part), 0.0)
            after = after_penalty(score, l)
            w.writerow([student, part, utc(l.submitted) if l.submitted else "", utc(l.due) if l.due else "",
                        l.source,
                        l.days, _num(l.percent), _num(score), _num(score - after), _num(after), l.note])


def report_lines(late: dict, raw: dict, deadlines: Deadlines) -> list[str]:
    """The report's section: the policy, then one line per late or undated submission."""
    p = deadlines.policy
    words = ("no penalty" if p.kind == "none" else
             f"{p.percent_per_day:g} % of the part's points per day late (days rounded up)"
             + (f", 0 after {p.cutoff_days:g} days" if p.cutoff_days is not None else ""))
    lines = [f"  from {deadlines.path}: {words}; grace {p.grace_minutes:g} min"]
    for part, due in sorted(deadlines.due.items()):
        lines.append(f"  due {part}: {utc(due)}")
    shown = [(k, l) for k, l in sorted(late.items()) if l.days or l.percent]
    unknown = sorted({k[1] for k, l in late.items() if l.submitted is None and l.due is not None})
    for (student, part), l in shown:
        score = raw.get((student, part), 0.0)
        lines.append(f"  {student} / {part}: handed in {utc(l.submitted)}, {days_words(l)}, "
                     f"-{l.percent:g} %: {_num(score)} -> {_num(after_penalty(score, l))} points"
                     f" (time from the {l.source}" + (f"; {l.note})" if l.note else ")"))
    if not shown:
        lines.append("  nobody handed in late")
    if unknown:
        lines.append(f"  no submission times for some students of {', '.join(unknown)} (a folder gives "
                     "none: give --times CSV or grade the LMS zip); they count as on time")
    return lines


def write_gradebook(db: Path, deadlines: Deadlines, late: dict) -> None:
    """Due dates, submission times and per-notebook penalties into nbgrader's gradebook."""
    from nbgrader.api import Gradebook, MissingEntry

    naive = lambda dt: dt.replace(tzinfo=None) if dt else None   # noqa: E731 (nbgrader keeps naive UTC)
    with warnings.catch_warnings(), Gradebook(f"sqlite:///{Path(db).resolve()}") as gb:
        warnings.simplefilter("ignore")
        for part, due in deadlines.due.items():
            try:
                gb.find_assignment(part).duedate = naive(due)
            except MissingEntry:
                continue
        for (student, part), l in late.items():
            try:
                sub = gb.find_submission(part, student)
            except MissingEntry:
                continue
            if l.submitted is not None:
                sub.timestamp = naive(l.submitted)
            for nb in sub.notebooks:
                nb.late_submission_penalty = (nb.score or 0.0) * l.percent / 100.0
        gb.db.commit()


def load_deadlines(deadlines_file: Path | None, out: Path, parts: list[str], times: Path | None):
    """(Deadlines or None, stamps from the ``--times`` CSV or None) for a run writing to
    ``out``: the file given, else ``out/deadlines.toml`` when it exists. Raises
    DeadlineError, naming the file and field, for a malformed file or CSV."""
    from ..course.deadlines import load
    from ..intake.submission_times import from_csv

    path = deadlines_file or (out / "deadlines.toml")
    if deadlines_file is None and not path.is_file() and times is None:
        return None, None
    deadlines = load(path, parts) if path.is_file() or deadlines_file else Deadlines(path)
    return deadlines, (from_csv(times, parts, deadlines.tz) if times is not None else None)


def apply_deadlines(out: Path, deadlines: Deadlines | None, stamps: dict, rows: list[Row]):
    """The late step of a grading (or combining) run: ``late.csv``, due dates and
    submission times in ``gradebook.db``; returns (late, report lines), (None, None)
    without due dates (and removes a stale ``late.csv``, so no old penalty is exported)."""
    if deadlines is None:
        (out / "late.csv").unlink(missing_ok=True)
        return None, None
    late = assess_all(deadlines, stamps, rows)
    raw = part_scores(rows)
    write_late_csv(late, raw, out / "late.csv")
    write_gradebook(out / "gradebook.db", deadlines, late)
    return late, report_lines(late, raw, deadlines)
