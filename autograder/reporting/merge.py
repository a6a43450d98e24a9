"""Write the results: ``grades.csv``, ``totals.csv`` and one merged nbgrader gradebook.

Every job graded into its own gradebook (a copy of the master). :func:`merge_gradebooks`
folds them into ``OUT/gradebook.db``, which nbgrader's formgrader can open for the
written answers. An existing merged gradebook is updated in place, so manual grades
and comments an instructor already entered survive a re-run (only the automatic fields
are replaced); if the course itself changed, the old gradebook is kept as
``gradebook.db.old`` and a fresh one is started.
"""
from __future__ import annotations

import csv
import json
import os
import shutil
import warnings
from collections import defaultdict
from pathlib import Path

from .results import Row

GRADES_COLUMNS = ["student", "part", "notebook", "grade_id", "score", "max_score", "status", "comment"]


def _num(x: float | None) -> str:
    if x is None:
        return ""
    return f"{x:g}"


def write_grades_csv(rows: list[Row], path: Path) -> None:
    """One row per student x question."""
    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(GRADES_COLUMNS)
        for r in sorted(rows, key=lambda r: (r.student, r.part, r.notebook)):
            w.writerow([r.student, r.part, r.notebook, r.grade_id, _num(r.score), _num(r.max_score), r.status,
                        r.comment])


def write_totals_csv(rows: list[Row], units: list[str], path: Path, late: dict | None = None,
                     config=None) -> None:
    """One row per student: points per assignment (a part, or a notebook when the class
    has one assignment per notebook: ``config``, :mod:`.class_config`), total, maximum,
    percent, questions waiting for manual grading. Plain columns an LMS grade import can map.
    An assignment the student handed nothing in for is an empty cell and not in the maximum.
    With ``late`` (``{(student, part): deadlines.Late}``, when a deadlines file is in use) also,
    per assignment, the days late and the points after the late penalty (a notebook takes
    its part's), then the penalty, total and percent after it; the raw columns stay as they are."""
    from .class_config import ClassConfig, handed_in_units
    config = config or ClassConfig(assignments="part")
    got: dict = defaultdict(lambda: defaultdict(float))
    top: dict = defaultdict(lambda: defaultdict(float))
    manual: dict = defaultdict(int)
    part_of: dict = {}
    for r in rows:
        unit = config.unit(r)
        got[r.student][unit] += r.score or 0.0
        top[r.student][unit] += r.max_score
        manual[r.student] += r.status == "manual"
        part_of[unit] = r.part
    handed = handed_in_units(rows, config)
    head = ["student", *units, "total", "max_total", "percent", "pending_manual"]
    if late is not None:
        head += [f"{u}_days_late" for u in units] + [f"{u}_after_penalty" for u in units]
        head += ["late_penalty", "total_after_penalty", "percent_after_penalty"]
    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(head)
        for s in sorted(got):
            mine = [u for u in units if u in handed[s]]
            total = sum(got[s][u] for u in mine)
            top_total = sum(top[s][u] for u in mine)
            line = [s, *[_num(got[s][u]) if u in handed[s] else "" for u in units], _num(total), _num(top_total),
                    f"{100 * total / top_total:.1f}" if top_total else "", manual[s]]
            if late is not None:
                from ..course.deadlines import after_penalty
                lt = {u: late.get((s, part_of.get(u, u))) for u in mine}
                after = {u: after_penalty(got[s][u], lt[u]) if lt[u] else got[s][u] for u in mine}
                kept = sum(after.values())
                line += [lt[u].days if u in mine and lt[u] else "" for u in units]
                line += [_num(round(after[u], 4)) if u in mine else "" for u in units]
                line += [_num(round(total - kept, 4)), _num(round(kept, 4)),
                         f"{100 * kept / top_total:.1f}" if top_total else ""]
            w.writerow(line)


def merge_gradebooks(master_db: Path, master_hash: str, jobs: list[dict], out_db: Path,
                     state: Path) -> int:
    """Fold the jobs' gradebooks into ``out_db``; returns how many were merged now."""
    from nbgrader.api import Gradebook, MissingEntry

    stamp = state / "merged.json"
    merged = json.loads(stamp.read_text()) if stamp.is_file() else {}
    fresh = False
    if merged.get("__master__") != master_hash or not out_db.is_file():
        fresh = out_db.is_file()
        if out_db.is_file():
            shutil.copyfile(out_db, out_db.with_suffix(".db.old"))
        tmp = out_db.with_suffix(".db.tmp")
        shutil.copyfile(master_db, tmp)
        os.replace(tmp, out_db)
        merged = {"__master__": master_hash}
    todo = [j for j in jobs if merged.get(j["key"]) != j["fingerprint"] and Path(j["gradebook_path"]).is_file()]
    if not todo:
        return 0
    with warnings.catch_warnings(), Gradebook(f"sqlite:///{out_db}") as gb:
        warnings.simplefilter("ignore")   # SQLAlchemy autoflush notes from nbgrader's own API
        for job in todo:
            student, assignment = job["student"], job["assignment"]
            with Gradebook(f"sqlite:///{job['gradebook_path']}") as src:
                try:
                    sub = src.find_submission(assignment, student)
                except MissingEntry:
                    continue
                gb.update_or_create_student(student)
                gb.update_or_create_submission(assignment, student, timestamp=sub.timestamp)
                for nb in sub.notebooks:
                    target = gb.find_submission_notebook(nb.name, assignment, student)
                    target.flagged = nb.flagged
                    grades = {g.name: g for g in target.grades}
                    for g in nb.grades:
                        t = grades.get(g.name)
                        if t is None:
                            continue
                        t.auto_score = g.auto_score
                        if t.manual_score is None:
                            t.needs_manual_grade = g.needs_manual_grade
                    comments = {c.name: c for c in target.comments}
                    for c in nb.comments:
                        if c.name in comments:
                            comments[c.name].auto_comment = c.auto_comment
                gb.db.commit()
            merged[job["key"]] = job["fingerprint"]
    if fresh:   # the course changed: keep the hand grading done on the old gradebook
        from .hand_grades import carry_over
        carry_over(out_db.with_suffix(".db.old"), out_db)
    stamp.write_text(json.dumps(merged, indent=0), encoding="utf-8")
    return len(todo)
