"""Class statistics from the graded rows: per question and per notebook or part.

- :func:`question_stats`: per question the mean, the share of students at full marks and
  the *discrimination*: the correlation, across students, of the question's score with
  the rest of their score in the same part (the part's total without this question). A
  question the strong students get and the weak ones miss has a high discrimination; one
  near 0 (or below) tells them apart no better than chance, and is worth a second look.
- :func:`scores_by`: every student's score and maximum per notebook or per part.

Only work handed in counts: a notebook a student did not hand in (status ``missing``)
is left out of its questions' figures, and a written answer waiting for a person
(``manual``) is counted apart as pending, not as 0.
"""
from __future__ import annotations

import csv
import math
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

from .results import Row

NOT_HANDED_IN = {"missing"}
QUESTIONS_COLUMNS = ["part", "notebook", "grade_id", "max_score", "students", "mean", "mean_percent",
                     "full_marks_share", "discrimination", "pending"]


@dataclass
class QuestionStat:
    part: str
    notebook: str
    grade_id: str
    max_score: float
    n: int                        # students whose answer is graded (handed in, not pending)
    mean: float | None            # mean score of those n
    full_share: float | None      # share of the n at full marks, 0..1
    discrimination: float | None  # Pearson r of score vs. rest of the part; None: undefined
    pending: int                  # answers waiting for hand grading


def pearson(xs: list[float], ys: list[float]) -> float | None:
    """Pearson's correlation; None with fewer than 3 pairs or when either side is constant."""
    n = len(xs)
    if n != len(ys) or n < 3:
        return None
    mx, my = sum(xs) / n, sum(ys) / n
    sxx = sum((x - mx) ** 2 for x in xs)
    syy = sum((y - my) ** 2 for y in ys)
    if sxx <= 1e-12 or syy <= 1e-12:
        return None
    sxy = sum((x - mx) * (y - my) for x, y in zip(xs, ys))
    return max(-1.0, min(1.0, sxy / math.sqrt(sxx * syy)))


def question_stats(rows: list[Row]) -> list[QuestionStat]:
    """One entry per question, in the order the rows first name them."""
    part_total: dict = defaultdict(float)          # (student, part) -> graded points
    for r in rows:
        if r.status not in NOT_HANDED_IN and r.score is not None:
            part_total[(r.student, r.part)] += r.score
    order, by_q = [], defaultdict(list)
    for r in rows:
        key = (r.part, r.notebook, r.grade_id)
        if key not in by_q:
            order.append(key)
        by_q[key].append(r)
    out = []
    for key in order:
        qrows = [r for r in by_q[key] if r.status not in NOT_HANDED_IN]
        graded = [r for r in qrows if r.score is not None]
        top = max((r.max_score for r in by_q[key]), default=0.0)
        xs = [r.score for r in graded]
        rest = [part_total[(r.student, r.part)] - r.score for r in graded]
        out.append(QuestionStat(
            *key, top, len(graded),
            sum(xs) / len(xs) if xs else None,
            sum(x >= top - 1e-9 for x in xs) / len(xs) if xs and top > 0 else None,
            pearson(xs, rest),
            sum(r.score is None for r in qrows)))
    return out


def scores_by(rows: list[Row], level: str) -> dict[str, dict[str, tuple[float, float]]]:
    """``{notebook or part: {student: (score, maximum)}}`` (``level`` is "notebook" or
    "part"), for the students who handed in that notebook (or any notebook of the part).
    Pending answers count 0 in the score until graded."""
    got: dict = defaultdict(lambda: defaultdict(float))
    top: dict = defaultdict(lambda: defaultdict(float))
    handed: dict = defaultdict(set)
    for r in rows:
        group = getattr(r, level)
        got[group][r.student] += r.score or 0.0
        top[group][r.student] += r.max_score
        if r.status not in NOT_HANDED_IN:
            handed[group].add(r.student)
    return {g: {s: (got[g][s], top[g][s]) for s in sorted(handed[g])} for g in got if handed[g]}


def _num(x: float | None, digits: int = 3) -> str:
    return "" if x is None else f"{round(x, digits):g}"


def write_questions_csv(stats: list[QuestionStat], path: Path) -> None:
    """``questions.csv``: the per-question figures, one row per question."""
    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(QUESTIONS_COLUMNS)
        for q in stats:
            pct = None if q.mean is None or not q.max_score else 100 * q.mean / q.max_score
            w.writerow([q.part, q.notebook, q.grade_id, _num(q.max_score), q.n, _num(q.mean), _num(pct, 1),
                        _num(q.full_share), _num(q.discrimination), q.pending])
