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


def write_totals_csv(rows: list[Row], parts: list[str], path: Path, late: dict | None = None) -> None:
    """One row per student: points per part, total, maximum, percent, questions waiting
    for manual grading. Plain columns an LMS grade import can map. With ``late``
    (``{(student, part): deadlines.Late}``, when a deadlines file is in use) also, per part,
    the days late and the points after the late penalty, then the penalty, total and
    percent after it; the raw columns stay as they are."""
    got: dict = defaultdict(lambda: defaultdict(float))
    top: dict = defaultdict(lambda: defaultdict(float))
    manual: dict = defaultdict(int)
    for r in rows:
        got[r.student][r.part] += r.score or 0.0
        top[r.student][r.part] += r.max_score
        manual[r.student] += r.status == "manual"
    head = ["student", *parts, "total", "max_total", "percent", "pending_manual"]
    if late is not None:
        head += [f"{p}_days_late" for p in parts] + [f"{p}_after_penalty" for p in parts]
        head += ["late_penalty", "total_after_penalty", "percent_after_penalty"]
    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(head)
        for s in sorted(got):
            total = sum(got[s][p] for p in parts)
            top_total = sum(top[s][p] for p in parts)
            line = [s, *[_num(got[s][p]) for p in parts], _num(total), _num(top_total),
                    f"{100 * total / top_total:.1f}" if top_total else "", manual[s]]
            if late is not None:
                from ..course.deadlines import after_penalty
                after = {p: after_penalty(got[s][p], late[(s, p)]) if (s, p) in late else got[s][p]
                         for p in parts}
                kept = sum(after.values())
                line += [late[(s, p)].days if (s, p) in late else "" for p in parts]
                line += [_num(round(after[p], 4)) for p in parts]
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
