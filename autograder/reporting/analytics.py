"""Class statistics from the graded rows: per question and per notebook or part.

- :func:`question_stats`: per question the mean, the share of students at full marks and
  the *discrimination*: the correlation, across students, of the question's score with
  the rest of their score in the same part (the part's total without this question). A
  question the strong students get and the weak ones miss has a high discrimination; one
  near 0 (or below) tells them apart no better than chance, and is worth a second look.
- :func:`scores_by`: every student's score and maximum per notebook or per part.
- :func:`by_difficulty`: the questions, hardest (lowest mean, in % of the points) first.
- :func:`student_summaries`: per student the points, the percentage, the notebooks not
  handed in (of those someone in the class handed in) and the files that could not be
  graded, for "who needs help".
- :func:`files_not_graded`: the problems that mean a file was not graded at all
  (unreadable, skipped by the intake, a grader error).

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

from .results import Problem, Row

NOT_HANDED_IN = {"missing"}
#: Problem kinds that mean a file handed in was not graded at all, with a short name.
FILE_KINDS = {
    "unreadable": "could not be read, or not this course's notebook",
    "unsafe_zip_entry": "zip entry pointing outside the folder",
    "no_student": "no student in the file name",
    "unknown_notebook": "not a notebook of this course",
    "file_too_large": "too large",
    "zip_too_large": "zip too large",
    "skipped_link": "symbolic link",
    "grader_error": "the grader failed",
}
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


def percent(q: QuestionStat) -> float | None:
    """The question's mean in % of its points; None when nobody's answer is graded."""
    return None if q.mean is None or not q.max_score else 100 * q.mean / q.max_score


def by_difficulty(stats: list[QuestionStat]) -> list[QuestionStat]:
    """The graded questions, hardest first: lowest mean %, then fewest at full marks, then
    course order. Questions nobody's answer was graded for are left out."""
    ranked = [(percent(q), q.full_share or 0.0, i, q) for i, q in enumerate(stats) if percent(q) is not None]
    return [q for *_key, q in sorted(ranked, key=lambda t: t[:3])]


def files_not_graded(problems: list[Problem]) -> list[Problem]:
    """The problems of :data:`FILE_KINDS`, by kind (in that order), then student and file."""
    order = list(FILE_KINDS)
    return sorted((p for p in problems if p.kind in FILE_KINDS),
                  key=lambda p: (order.index(p.kind), p.student or "", p.notebook or "", p.what))


@dataclass
class StudentSummary:
    student: str
    score: float                  # points, pending answers counted 0
    max_score: float
    missing: list[str]            # notebooks not handed in that someone in the class handed in
    not_graded: list[str]         # files of theirs that could not be graded (FILE_KINDS)
    pending: int                  # answers waiting for hand grading
    untouched: list[str]          # notebooks handed in exactly as released

    @property
    def percent(self) -> float | None:
        return 100 * self.score / self.max_score if self.max_score else None


def student_summaries(rows: list[Row], problems: list[Problem] = ()) -> list[StudentSummary]:
    """One summary per student of ``rows``, by name. A notebook nobody handed in (not set
    yet, or not in this export) is not counted as missing work."""
    handed_in = {r.notebook for r in rows if r.status not in NOT_HANDED_IN}
    score: dict = defaultdict(float)
    top: dict = defaultdict(float)
    missing: dict = defaultdict(set)
    pending: dict = defaultdict(int)
    for r in rows:
        score[r.student] += r.score or 0.0
        top[r.student] += r.max_score
        if r.status in NOT_HANDED_IN and r.notebook in handed_in:
            missing[r.student].add(r.notebook)
        pending[r.student] += r.status == "manual"
    not_graded: dict = defaultdict(list)
    for p in files_not_graded(list(problems)):
        if p.student:
            not_graded[p.student].append(p.notebook or p.what)
    untouched: dict = defaultdict(list)
    for p in problems:
        if p.kind == "untouched_release" and p.student:
            untouched[p.student].append(p.notebook)
    return [StudentSummary(s, score[s], top[s], sorted(missing[s]), not_graded[s], pending[s], sorted(untouched[s]))
            for s in sorted(top)]


def needing_help(summaries: list[StudentSummary], most: int = 10) -> list[StudentSummary]:
    """The students to look at first: the lowest percentages (the bottom tenth of the
    class, at least 3 and at most ``most``, each below the class median), lowest first."""
    scored = sorted((s for s in summaries if s.percent is not None), key=lambda s: (s.percent, s.student))
    if not scored:
        return []
    median = sorted(s.percent for s in scored)[len(scored) // 2]
    want = min(most, max(3, math.ceil(len(scored) / 10)))
    return [s for s in scored[:want] if s.percent < median or s.percent == 0]
