"""Hand grades from the merged gradebook into the rows every output is written from.

The workers grade into their own gradebooks, so the rows built from their results know
only the automatic scores: a written answer is "manual" (pending) there. The instructor
grades by hand in formgrader on ``OUT/gradebook.db`` (the merged gradebook, where
:func:`autograder.reporting.merge.merge_gradebooks` keeps manual scores across re-runs).
:func:`apply_hand_grades` reads that gradebook back and puts every score set by hand,
and every comment written by hand, into the rows, so ``grades.csv``, ``totals.csv`` and
the report count them (and the pending count falls).
"""
from __future__ import annotations

import warnings
from dataclasses import replace
from pathlib import Path

from .results import Problem, Row

#: Status of a question whose score a person set (a written answer, or an override).
HAND_GRADED = "hand-graded"


def hand_grades(db: Path) -> dict[tuple[str, str, str, str], tuple[float | None, str]]:
    """``(student, part, notebook, grade_id) -> (score set by hand or None, comment)`` for
    every question of the gradebook that a person touched (a score, a comment or both)."""
    if not Path(db).is_file():
        return {}
    from nbgrader.api import Gradebook

    found: dict = {}
    with warnings.catch_warnings(), Gradebook(f"sqlite:///{Path(db).resolve()}") as gb:
        warnings.simplefilter("ignore")   # SQLAlchemy notes from nbgrader's own API
        for assignment in gb.assignments:
            for sub in assignment.submissions:
                for nb in sub.notebooks:
                    comments = {c.name: (c.manual_comment or "").strip() for c in nb.comments}
                    for g in nb.grades:
                        manual = None if g.manual_score is None else float(g.manual_score)
                        comment = comments.get(g.name, "")
                        if manual is not None or comment:
                            found[(sub.student_id, assignment.name, nb.name, g.name)] = (manual, comment)
    return found


def apply_hand_grades(rows: list[Row], db: Path) -> list[Row]:
    """``rows`` with the scores and comments set by hand in ``db``. A row whose file was
    missing or unreadable keeps its zero: a hand grade there belongs to an older copy."""
    found = hand_grades(db)
    out = []
    for r in rows:
        manual, comment = found.get((r.student, r.part, r.notebook, r.grade_id), (None, ""))
        if r.status in ("missing", "unreadable"):
            out.append(r)
            continue
        if manual is not None:
            r = replace(r, score=min(manual, r.max_score), status=HAND_GRADED,
                        detail=f"graded by hand (automatic status: {r.status})")
        if comment:
            r = replace(r, comment=comment)
        out.append(r)
    return out


def stale_hand_grades(db: Path, answers: dict[tuple[str, str, str, str], str], seen: Path) -> list[Problem]:
    """Hand grades given to an answer that has changed since: a student handed in a new
    version, nbgrader kept the score. ``answers`` maps each question to a hash of the
    answer cell graded now; ``seen`` (JSON, kept between runs) records, for every hand grade,
    the answer it was first seen with. A hand grade the instructor changes is taken as a
    fresh look (its answer is recorded again)."""
    import json

    try:
        record = json.loads(Path(seen).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        record = {}
    out = []
    for key, (manual, comment) in sorted(hand_grades(db).items()):
        answer = answers.get(key)
        if answer is None:
            continue
        name = "/".join(key)
        old = record.get(name)
        if old is None or old.get("score") != manual or old.get("comment") != comment:
            record[name] = {"score": manual, "comment": comment, "answer": answer}
        elif old.get("answer") != answer:
            student, part, notebook, grade_id = key
            out.append(Problem(student, notebook, "hand_grade_stale",
                               f"cell '{grade_id}': the answer was changed after it was graded by hand "
                               f"(the hand grade {manual if manual is not None else ''} was kept): look at it "
                               "again in formgrader", 0.0, (grade_id,)))
    Path(seen).parent.mkdir(parents=True, exist_ok=True)
    Path(seen).write_text(json.dumps(record, indent=1), encoding="utf-8")
    return out


def carry_over(old_db: Path, new_db: Path) -> int:
    """Copy the hand grades and comments of ``old_db`` into ``new_db`` for every question
    both have (same student, part, notebook and grade id), the score capped at the new
    maximum. Used when a changed course starts a fresh merged gradebook, so that no hand
    grading is lost. Returns how many questions were carried over."""
    found = hand_grades(old_db)
    if not found:
        return 0
    from nbgrader.api import Gradebook, MissingEntry

    n = 0
    with warnings.catch_warnings(), Gradebook(f"sqlite:///{Path(new_db).resolve()}") as gb:
        warnings.simplefilter("ignore")
        for (student, part, notebook, grade_id), (manual, comment) in found.items():
            try:
                g = gb.find_grade(grade_id, notebook, part, student)
            except MissingEntry:
                continue
            if manual is not None:
                g.manual_score = min(manual, float(g.max_score))
                g.needs_manual_grade = False
            if comment:
                try:
                    gb.find_comment(grade_id, notebook, part, student).manual_comment = comment
                except MissingEntry:
                    pass
            n += 1
        gb.db.commit()
    return n
