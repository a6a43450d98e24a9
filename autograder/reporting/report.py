"""The grading report (``OUT/report.txt``, also printed): plain text an instructor reads.

1. what ran: submissions, students, workers, time, and which protections were on or off;
2. the class table: every student's score per notebook, total and percentage;
3. what needs review: code that only cheating needs, found by reading the submissions
   (:mod:`autograder.intake.scan`), per student, notebook, cell and line; it costs nothing by itself;
4. every problem, per student and notebook, in plain words with what it cost;
5. late submissions and their penalties, when there are due dates (:mod:`autograder.reporting.late`);
6. what is left to do by hand (written answers, flagged submissions and those that need review,
   an untouched release handed in) and where the files are. ``report.html`` (:mod:`autograder.reporting.report_html`)
   shows the class analytics.
"""
from __future__ import annotations

from collections import defaultdict

from .results import Problem, Row


def _fmt(x: float | None) -> str:
    if x is None:
        return "-"
    return f"{x:g}" if abs(x - round(x)) > 1e-9 else str(int(round(x)))


def class_table(rows: list[Row], notebooks: list[str]) -> list[str]:
    """Score per student and notebook, total and percentage. A notebook that counts for
    nothing (not handed in, with one assignment per notebook: its questions carry no
    points) shows "-", and the student's total and percentage leave it out."""
    got: dict = defaultdict(lambda: defaultdict(float))
    mine: dict = defaultdict(lambda: defaultdict(float))   # the student's maximum per notebook
    pending: dict = defaultdict(float)     # points of written answers not graded yet
    students = sorted({r.student for r in rows})
    for r in rows:
        got[r.student][r.notebook] += r.score or 0.0
        mine[r.student][r.notebook] += r.max_score
        if r.status == "manual":
            pending[r.student] += r.max_score
    top = {nb: max([mine[s][nb] for s in students] or [0.0]) for nb in notebooks}
    counts = {s: {nb for nb in notebooks if mine[s][nb] > 0 or got[s][nb]} for s in students}
    short = {nb: nb.split("_")[0] for nb in notebooks}
    total_max = sum(top[nb] for nb in notebooks)
    name_w = max([len("student")] + [len(s) for s in students])
    head = f"{'student':<{name_w}}  " + "  ".join(f"{short[nb] + '/' + _fmt(top[nb]):>8}" for nb in notebooks)
    head += f"  {'total/' + _fmt(total_max):>11}  {'%':>5}  pending"
    lines = [head, "-" * len(head)]
    for s in students:
        total = sum(got[s][nb] for nb in notebooks)
        s_max = sum(mine[s][nb] for nb in notebooks)
        pct = 100.0 * total / s_max if s_max else 0.0
        lines.append(f"{s:<{name_w}}  " + "  ".join(f"{_fmt(got[s][nb]) if nb in counts[s] else '-':>8}"
                                                      for nb in notebooks)
                     + f"  {_fmt(total):>11}  {pct:5.1f}  {_fmt(pending[s]) + ' pt' if pending[s] else '':>7}")
    if students:
        means = []
        for nb in notebooks:
            who = [s for s in students if nb in counts[s]]
            means.append(sum(got[s][nb] for s in who) / len(who) if who else 0.0)
        total_mean = sum(means)
        lines.append("-" * len(head))
        lines.append(f"{'mean':<{name_w}}  " + "  ".join(f"{m:8.1f}" for m in means)
                     + f"  {total_mean:11.1f}  {100 * total_mean / total_max if total_max else 0:5.1f}")
    if any(pending.values()):
        lines.append("pending: points of written answers that wait for a person (not 0: not graded yet); "
                     "the totals hold only what is graded so far.")
    if any(len(counts[s]) < len(notebooks) for s in students):
        lines.append("-: not handed in and not charged (no grade for that assignment), so not in the "
                     "student's total or %; mean: of the students it counts for.")
    return lines


def problem_lines(problems: list[Problem]) -> list[str]:
    lines = []
    by_student: dict = defaultdict(list)
    for p in problems:
        by_student[p.student or "(no student)"].append(p)
    for student in sorted(by_student):
        ps = sorted(by_student[student], key=lambda p: (p.notebook or "", p.severity != "error", p.kind))
        lines.append(f"{student}:")
        for p in ps:
            cost = ("cost unknown (not graded)" if p.cost is None else
                    f"cost {_fmt(p.cost)} point{'s' if p.cost != 1 else ''}" if p.cost else "cost: nothing")
            qs = f" [{', '.join(p.questions)}]" if p.questions and p.cost else ""
            mark = "!" if p.severity == "error" else "-"
            lines.append(f"  {mark} {p.notebook or '(file)'}: {p.what} -- {cost}{qs}")
    return lines


def review_lines(review: list[Problem]) -> list[str]:
    """The NEEDS REVIEW section's lines: one per finding, then what each construct means."""
    if not review:
        return ["  nothing found"]
    lines, meaning = [], {}
    for p in sorted(review, key=lambda p: (p.student or "", p.notebook or "", p.finding["cell"], p.finding["line"])):
        f = p.finding
        lines.append(f"  {p.student} / {p.notebook}, {f['where']}, line {f['line']}: "
                     f"{f['construct']}: {f['snippet']}")
        meaning.setdefault(f["construct"], f["detail"])
    lines.append("  what each means:")
    lines += [f"    {c}: {d}" for c, d in sorted(meaning.items())]
    return lines


def build(rows: list[Row], problems: list[Problem], notebooks: list[str], *, header: dict,
          protections: list, files: dict[str, str], late_lines: list[str] | None = None) -> str:
    out = ["AUTOGRADER REPORT", "=" * 17, ""]
    for k, v in header.items():
        out.append(f"{k + ':':<22} {v}")
    out += ["", "Protections while student code ran:"]
    for p in protections:
        out.append(f"  [{'on ' if p.on else 'OFF'}] {p.name}: {p.how}")
    if any(not p.on for p in protections):
        out.append("  Some protections are OFF: student code ran with less confinement (see above).")
    out += ["", "CLASS TABLE (points per notebook)", ""]
    out += class_table(rows, notebooks) if rows else ["(no submissions graded)"]
    review = [p for p in problems if p.kind == "needs_review" and p.finding]
    problems = [p for p in problems if not (p.kind == "needs_review" and p.finding)]
    out += ["", f"NEEDS REVIEW ({len(review)} finding(s) in {len({(p.student, p.notebook) for p in review})} "
                "notebook(s): code that only cheating needs, found by reading the submissions; costs nothing "
                "by itself: read the cell)", ""]
    out += review_lines(review)
    errors = [p for p in problems if p.severity == "error"]
    notes = [p for p in problems if p.severity != "error"]
    out += ["", f"PROBLEMS ({len(errors)} that cost points or need a look, {len(notes)} handled notes)",
            "  ! = costs points or needs a look;  - = handled, noted", ""]
    out += problem_lines(problems) if problems else ["  none"]
    if late_lines is not None:
        out += ["", "LATE SUBMISSIONS (totals.csv: raw and after-penalty columns; late.csv: every time)"]
        out += late_lines
    manual = [r for r in rows if r.status == "manual"]
    out += ["", "TO DO BY HAND"]
    if manual:
        out.append(f"  {len(manual)} written answer(s) wait for manual grading "
                   f"(nbgrader formgrader on {files.get('gradebook', 'the gradebook')}).")
    flagged = sorted({(p.student, p.notebook) for p in errors
                      if p.kind in ("grader_error", "tampering", "manual_review", "hand_grade_stale")})
    for s, nb in flagged:
        out.append(f"  look at {s} / {nb} (flagged above)")
    to_read: dict = {}
    for p in review:
        to_read[(p.student, p.notebook)] = to_read.get((p.student, p.notebook), 0) + 1
    for (s, nb), n in sorted(to_read.items()):
        out.append(f"  read {s} / {nb}: needs review ({n} finding(s), NEEDS REVIEW above)")
        flagged.append((s, nb))
    for p in sorted((p for p in errors if p.kind == "untouched_release"), key=lambda p: (p.student, p.notebook)):
        out.append(f"  {p.student} / {p.notebook}: the release handed in untouched (the wrong file?)")
        flagged.append((p.student, p.notebook))
    if not manual and not flagged:
        out.append("  nothing")
    out += ["", "FILES"]
    for k, v in files.items():
        out.append(f"  {k + ':':<14} {v}")
    return "\n".join(out) + "\n"
