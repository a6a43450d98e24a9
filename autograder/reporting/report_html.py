"""Class analytics as one self-contained page: ``OUT/report.html``, beside ``report.txt``.

Sections: what needs review (code that only cheating needs, found by reading the submissions:
:mod:`autograder.intake.scan`), flags (untouched releases handed in, answers pending by hand, late work), score
distributions per part and per notebook, per-question statistics
(:mod:`autograder.reporting.analytics`), the answers chosen in every quiz with the most common
wrong one (:mod:`autograder.reporting.quiz_answers`), every problem with its true cost, and the
class table (after late penalties, when there are due dates). The plots are Matplotlib
PNGs embedded as base64 ``data:`` URLs and the style is inline: the page reads offline,
with no file or network access beside it.
"""
from __future__ import annotations

import base64
import io
from html import escape
from pathlib import Path

from .analytics import QuestionStat, question_stats, scores_by, write_questions_csv
from .results import Problem, Row

STYLE = """
body{font-family:system-ui,-apple-system,"Segoe UI",sans-serif;margin:2rem auto;max-width:70rem;color:#222;padding:0 1rem}
h1{font-size:1.6rem} h2{border-bottom:2px solid #ddd;padding-bottom:.2rem;margin-top:2.2rem}
table{border-collapse:collapse;margin:.6rem 0;font-size:.9rem}
th,td{border:1px solid #ccc;padding:.25rem .5rem;text-align:left;vertical-align:top}
th{background:#f3f3f3} td.n{text-align:right;font-variant-numeric:tabular-nums}
.flag{background:#fff4e5;border-left:4px solid #e8a33d;padding:.4rem .8rem;margin:.3rem 0}
.review{background:#fdecea;border-left:4px solid #c0392b;padding:.4rem .8rem;margin:.3rem 0}
.low{background:#fde8e8} .muted{color:#777} figure{display:inline-block;margin:.4rem}
figcaption{font-size:.85rem;color:#555;text-align:center} img{max-width:100%}
"""


def _png(fig) -> str:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=96, bbox_inches="tight")
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def _figure(w: float = 4.2, h: float = 2.6):
    from matplotlib.figure import Figure   # no pyplot: no GUI backend, no global state
    fig = Figure(figsize=(w, h))
    return fig, fig.add_subplot()


def histogram(title: str, percents: list[float]) -> str:
    """A data URL: the distribution of students' percentages, in 10-point bins."""
    fig, ax = _figure()
    ax.hist(percents, bins=[i * 10 for i in range(11)], color="#4878a8", edgecolor="white")
    ax.set_xlim(0, 100)
    ax.set_xlabel("% of the points")
    ax.set_ylabel("students")
    ax.set_title(f"{title} (n = {len(percents)})", fontsize=10)
    ax.yaxis.get_major_locator().set_params(integer=True)
    return _png(fig)


def bars(title: str, labels: list[str], counts: list[int], good: list[bool]) -> str:
    """A data URL: a bar per answer value, the right one(s) green."""
    fig, ax = _figure(3.6, 0.5 + 0.35 * max(3, len(labels)))
    ax.barh(range(len(labels)), counts, color=["#3a9a5b" if g else "#c0504d" for g in good])
    ax.set_yticks(range(len(labels)), labels)
    ax.invert_yaxis()
    ax.set_xlabel("students")
    ax.set_title(title, fontsize=10)
    ax.xaxis.get_major_locator().set_params(integer=True)
    return _png(fig)


def question_chart(stats: list[QuestionStat]) -> str:
    """A data URL: mean score per question, in % of its points, in course order."""
    shown = [q for q in stats if q.mean is not None and q.max_score]
    fig, ax = _figure(9, 0.6 + 0.22 * max(4, len(shown)))
    ax.barh(range(len(shown)), [100 * q.mean / q.max_score for q in shown], color="#4878a8")
    ax.set_yticks(range(len(shown)), [f"{q.notebook[:2]} {q.grade_id}" for q in shown], fontsize=7)
    ax.invert_yaxis()
    ax.set_xlim(0, 100)
    ax.set_xlabel("mean score, % of the question's points")
    return _png(fig)


def _fmt(x: float | None, pattern: str = "{:.2f}") -> str:
    return "–" if x is None else pattern.format(x)


def _table(head: list[str], body: list[list[str]], numeric: set[int] = frozenset(), cls=None) -> str:
    out = ["<table><thead><tr>" + "".join(f"<th>{escape(h)}</th>" for h in head) + "</tr></thead><tbody>"]
    for i, row in enumerate(body):
        c = f' class="{cls(i)}"' if cls and cls(i) else ""
        out.append(f"<tr{c}>" + "".join(f'<td class="n">{v}</td>' if j in numeric else f"<td>{v}</td>"
                                        for j, v in enumerate(row)) + "</tr>")
    return "\n".join(out) + "</tbody></table>"


def _img(src: str, caption: str) -> str:
    return f'<figure><img src="{src}" alt="{escape(caption)}"><figcaption>{escape(caption)}</figcaption></figure>'


def build(rows: list[Row], problems: list[Problem], *, parts: list[str], notebooks: list[str],
          header: dict, choices: list | None = None, late: dict | None = None,
          deadlines=None) -> str:
    """The whole page as a string."""
    choices = choices or []
    stats = question_stats(rows)
    html = ["<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8">',
            "<title>Class analytics</title>", f"<style>{STYLE}</style></head><body>",
            "<h1>Class analytics</h1>",
            "<p class=muted>" + " · ".join(f"{escape(k)}: {escape(str(v))}" for k, v in header.items()) + "</p>"]
    review = [p for p in problems if p.kind == "needs_review" and p.finding]
    problems = [p for p in problems if not (p.kind == "needs_review" and p.finding)]
    html.append(review_box(review))

    # ------------------------------------------------------------------ flags
    html.append('<section id="flags"><h2>Flags</h2>')
    untouched = sorted((p for p in problems if p.kind == "untouched_release"), key=lambda p: (p.student, p.notebook))
    pending = sorted((r for r in rows if r.status == "manual"), key=lambda r: (r.student, r.notebook, r.grade_id))
    for p in untouched:
        html.append(f'<div class="flag untouched">Untouched release handed in: <b>{escape(p.student)}</b> / '
                    f"{escape(p.notebook)} (no answer cell changed: the wrong file?)</div>")
    if pending:
        html.append(f'<div class="flag pending">{len(pending)} answer(s) pending by hand grading '
                    "(formgrader, then <code>make grade</code> again):<ul>"
                    + "".join(f"<li>{escape(r.student)} / {escape(r.notebook)} / {escape(r.grade_id)} "
                              f"({r.max_score:g} pt)</li>" for r in pending) + "</ul></div>")
    late_ones = sorted((k, l) for k, l in (late or {}).items() if l.days or l.percent)
    for (s, p), l in late_ones:
        html.append(f'<div class="flag late">Late: <b>{escape(s)}</b> / {escape(p)}: {l.days} day(s), '
                    f"−{l.percent:g} %</div>")
    if not (untouched or pending or late_ones):
        html.append("<p>Nothing flagged.</p>")
    html.append("</section>")

    # ---------------------------------------------------------- distributions
    html.append('<section id="distributions"><h2>Score distributions</h2>')
    for level, groups in (("part", parts), ("notebook", notebooks)):
        by = scores_by(rows, level)
        html.append(f"<h3>Per {level}</h3><div>")
        for g in groups:
            if g in by:
                pct = [100 * s / m for s, m in by[g].values() if m]
                html.append(_img(histogram(g, pct), f"{g}: students' % of the points"))
        html.append("</div>")
    html.append("</section>")

    # -------------------------------------------------------------- questions
    html.append('<section id="questions"><h2>Questions</h2>'
                "<p>Mean score, share of students at full marks, and discrimination: the correlation of "
                "the question's score with the rest of the student's score in the same part (near 0 or "
                "negative: the question does not tell strong and weak work apart; worth a look). Only "
                "notebooks handed in count; pending answers are counted apart. Also in "
                "<code>questions.csv</code>.</p>")
    html.append(_img(question_chart(stats), "mean score per question, % of its points"))
    body = [[escape(q.part), escape(q.notebook), escape(q.grade_id), f"{q.max_score:g}", str(q.n),
             _fmt(q.mean), _fmt(None if q.full_share is None else 100 * q.full_share, "{:.0f} %"),
             _fmt(q.discrimination), str(q.pending or "")] for q in stats]
    html.append(_table(["part", "notebook", "question", "points", "graded", "mean", "at full marks",
                        "discrimination", "pending"], body, {3, 4, 5, 6, 7, 8},
                       cls=lambda i: "low" if stats[i].discrimination is not None and stats[i].discrimination < 0.1
                       else ""))
    html.append("</section>")

    # ---------------------------------------------------------------- quizzes
    html.append('<section id="quizzes"><h2>Quiz answers</h2>')
    if not choices:
        html.append("<p>No quiz was handed in.</p>")
    for c in choices:
        right = c.quiz.correct[c.variable]
        labels = sorted(c.counts, key=lambda v: (v.startswith("("), v))
        name = f"{c.quiz.notebook} · {c.quiz.title} · {c.variable}"
        wrong = (f"most common wrong answer: <b>{escape(c.most_common_wrong)}</b> "
                 f"({c.counts[c.most_common_wrong]} of {c.n})" if c.most_common_wrong else "no wrong answer given")
        html.append(f'<div class="quiz"><h3>{escape(name)}</h3><p>right answer: <b>{escape(right)}</b>; {wrong}</p>')
        if labels:
            html.append(_img(bars(c.variable, labels, [c.counts[v] for v in labels], [v == right for v in labels]),
                             f"answers chosen for {c.variable}"))
        html.append("</div>")
    html.append("</section>")

    # --------------------------------------------------------------- problems
    html.append('<section id="problems"><h2>Problems and their true cost</h2>'
                "<p>What each problem cost, counting the later cells that failed only because a broken "
                "cell left a name undefined (charged to the broken cell).</p>")
    missing: dict = {}
    for p in problems:
        if p.kind == "missing":
            missing.setdefault(p.notebook, []).append(p.student)
    for nb, who in sorted(missing.items()):
        html.append(f"<p class=missing>Not handed in, {escape(nb)} ({len(who)}): {escape(', '.join(sorted(who)))}</p>")
    shown = sorted((p for p in problems if p.severity == "error" and p.kind != "missing"),
                   key=lambda p: (-(p.cost or 0), p.student or "", p.notebook or ""))
    body = [[escape(p.student or "–"), escape(p.notebook or "–"), escape(p.kind), escape(p.what),
             "unknown" if p.cost is None else f"{p.cost:g}", escape(", ".join(p.questions))] for p in shown]
    html.append(_table(["student", "notebook", "kind", "what", "cost (points)", "questions"], body, {4})
                if body else "<p>None.</p>")
    html.append("</section>")

    # ------------------------------------------------------------ class table
    html.append('<section id="students"><h2>Students</h2>')
    raw = {}
    top = {}
    for r in rows:
        raw[(r.student, r.part)] = raw.get((r.student, r.part), 0.0) + (r.score or 0.0)
        top[(r.student, r.part)] = top.get((r.student, r.part), 0.0) + r.max_score
    students = sorted({r.student for r in rows})
    head = ["student", *parts, "total", "%"]
    if late is not None:
        head = ["student", *[f"{p} (late)" for p in parts], "total", "after late penalty", "% after"]
    body = []
    for s in students:
        total = sum(raw.get((s, p), 0.0) for p in parts)
        most = sum(top.get((s, p), 0.0) for p in parts)
        if late is None:
            body.append([escape(s), *[f"{raw.get((s, p), 0.0):g}" for p in parts], f"{total:g}",
                         f"{100 * total / most:.1f}" if most else ""])
            continue
        from ..course.deadlines import after_penalty
        cells, kept = [], 0.0
        for p in parts:
            l = late.get((s, p))
            v = raw.get((s, p), 0.0)
            after = after_penalty(v, l) if l else v
            kept += after
            cells.append(f"{v:g}" + (f" → {after:.4g} ({l.days} d, −{l.percent:g} %)" if l and l.percent else
                                     f" ({l.days} d)" if l and l.days else ""))
        body.append([escape(s), *cells, f"{total:g}", f"{kept:.4g}", f"{100 * kept / most:.1f}" if most else ""])
    html.append(_table(head, body, set(range(1, len(head)))))
    if deadlines is not None:
        due = ", ".join(f"{escape(p)} {d.strftime('%Y-%m-%d %H:%M UTC')}" for p, d in sorted(deadlines.due.items()))
        html.append(f"<p class=muted>Due: {due or 'none'}; policy from {escape(str(deadlines.path))}.</p>")
    html.append("</section></body></html>")
    return "\n".join(html) + "\n"


def review_box(review: list[Problem]) -> str:
    """The "Needs review" box: every finding of the scan with its cell, line and code."""
    out = ['<section id="needs-review"><h2>Needs review</h2>']
    if not review:
        out.append("<p>Nothing found: no submission has code that only cheating needs.</p></section>")
        return "\n".join(out)
    notebooks = {(p.student, p.notebook) for p in review}
    out.append(f'<div class="review"><p>{len(review)} finding(s) in {len(notebooks)} notebook(s): code that only '
               "cheating needs, found by reading the submissions (never run). A finding costs nothing by "
               "itself: read the cell, then decide.</p>")
    rows, meaning = [], {}
    for p in sorted(review, key=lambda p: (p.student or "", p.notebook or "", p.finding["cell"], p.finding["line"])):
        f = p.finding
        meaning.setdefault(f["construct"], f["detail"])
        rows.append([f"<b>{escape(p.student or '–')}</b>", escape(p.notebook or "–"), escape(f["where"]),
                     str(f["line"]), f'<span title="{escape(f["detail"])}">{escape(f["construct"])}</span>',
                     f"<code>{escape(f['snippet'])}</code>"])
    out.append(_table(["student", "notebook", "cell", "line", "construct", "code"], rows, {3}))
    out.append("<dl>" + "".join(f"<dt>{escape(c)}</dt><dd>{escape(d)}</dd>" for c, d in sorted(meaning.items()))
               + "</dl></div></section>")
    return "\n".join(out)


def quiz_choices(jobs: list[dict], solutions: Path) -> list:
    """Every quiz of the graded notebooks with the answers the students handed in (read from
    the repaired copies the grader kept), via :mod:`autograder.reporting.quiz_answers`."""
    from .quiz_answers import answers, distribution, quizzes

    out = []
    by_nb: dict = {}
    for job in jobs:
        for nb in job["notebooks"]:
            by_nb.setdefault((job["assignment"], nb), []).append(job)
    for (part, nb), nb_jobs in sorted(by_nb.items()):
        src = Path(solutions) / part / f"{nb}.ipynb"
        if not src.is_file():
            continue
        for quiz in quizzes(src, part, nb):
            chosen = {}
            for job in nb_jobs:
                path = Path(job["submitted_dir"]) / f"{nb}.ipynb"
                if path.is_file():
                    try:
                        chosen[job["student"]] = answers(path, quiz)
                    except Exception:   # a copy that cannot be read again: left out
                        continue
            out += distribution(quiz, chosen)
    return out


def write(path: Path, *args, **kwargs) -> None:
    Path(path).write_text(build(*args, **kwargs), encoding="utf-8")


def write_analytics(out: Path, rows, problems, parts, notebooks, jobs, solutions, late, deadlines,
                    header: dict) -> None:
    """``questions.csv`` and ``report.html`` (class analytics)."""
    write_questions_csv(question_stats(rows), out / "questions.csv")
    write(out / "report.html", rows, problems, parts=parts, notebooks=notebooks, header=header,
          choices=quiz_choices(jobs, solutions), late=late, deadlines=deadlines)
