"""Class analytics as one self-contained page: ``OUT/report.html``, beside ``report.txt``.

It opens with what needs the instructor, three boxes side by side: files that could not be
graded (unreadable, skipped by the intake, a grader error), students who need help (the
lowest scores, work not handed in) and the hardest questions
(:mod:`autograder.reporting.analytics`). Then what needs review (code that only cheating
needs, found by reading the submissions: :mod:`autograder.intake.scan`), flags (untouched
releases handed in, answers pending by hand, late work), the class table (sortable, after
late penalties when there are due dates), per-question statistics (the chart hardest
first), score distributions per part and per notebook, the answers chosen in every quiz
with the most common wrong one (:mod:`autograder.reporting.quiz_answers`) and every
problem with its true cost. The plots are Matplotlib PNGs embedded as base64 ``data:``
URLs, the style and the table-sorting script are inline: the page reads offline, with no
file or network access beside it (without JavaScript the tables only do not sort).
"""
from __future__ import annotations

import base64
import io
from html import escape
from pathlib import Path

from .analytics import (FILE_KINDS, QuestionStat, StudentSummary, by_difficulty, files_not_graded, needing_help,
                        percent, question_stats, scores_by, student_summaries, write_questions_csv)
from .results import Problem, Row

STYLE = """
body{font-family:system-ui,-apple-system,"Segoe UI",sans-serif;margin:2rem auto;max-width:70rem;color:#222;padding:0 1rem}
h1{font-size:1.6rem} h2{border-bottom:2px solid #ddd;padding-bottom:.2rem;margin-top:2.2rem}
nav{font-size:.9rem;margin:.4rem 0 1rem} nav a{margin-right:.8rem}
table{border-collapse:collapse;margin:.6rem 0;font-size:.9rem}
th,td{border:1px solid #ccc;padding:.25rem .5rem;text-align:left;vertical-align:top}
.scroll{overflow-x:auto} th{background:#f3f3f3} td.n{text-align:right;font-variant-numeric:tabular-nums}
table.sortable th{cursor:pointer;user-select:none;white-space:nowrap}
table.sortable th:hover,table.sortable th:focus{background:#e3e9f3}
table.sortable th::after{content:" \\2195";color:#aaa;font-size:.8em}
table.sortable th[aria-sort=ascending]::after{content:" \\25B2";color:#333}
table.sortable th[aria-sort=descending]::after{content:" \\25BC";color:#333}
.flag{background:#fff4e5;border-left:4px solid #e8a33d;padding:.4rem .8rem;margin:.3rem 0}
.review{background:#fdecea;border-left:4px solid #c0392b;padding:.4rem .8rem;margin:.3rem 0}
.low{background:#fde8e8} .muted{color:#777} figure{display:inline-block;margin:.4rem}
figcaption{font-size:.85rem;color:#555;text-align:center} img{max-width:100%}
.glance{display:grid;grid-template-columns:repeat(auto-fit,minmax(19rem,1fr));gap:1rem;margin:1rem 0}
.box{border:1px solid #ccc;border-top:5px solid #3a9a5b;border-radius:4px;padding:.3rem .9rem .6rem;font-size:.92rem;overflow-wrap:anywhere}
.box.alert{border-top-color:#c0392b} .box.warn{border-top-color:#e8a33d}
.box h2{font-size:1.1rem;border:none;margin:.5rem 0 .3rem;padding:0} .box h3{font-size:.95rem;margin:.6rem 0 .2rem}
.box ul,.box ol{margin:.2rem 0;padding-left:1.3rem} .box li{margin:.15rem 0}
"""

#: Sorts a ``table.sortable`` by the column whose header is clicked (again: the other
#: way). A cell's ``data-sort`` is its key where the text is not (numbers, "–").
SORT_SCRIPT = """
document.querySelectorAll("table.sortable").forEach(function (table) {
  var heads = table.querySelectorAll("thead th");
  heads.forEach(function (th, col) {
    th.tabIndex = 0;
    th.title = "sort by this column";
    function sort() {
      var up = th.getAttribute("aria-sort") !== "ascending";
      heads.forEach(function (h) { h.removeAttribute("aria-sort"); });
      th.setAttribute("aria-sort", up ? "ascending" : "descending");
      var body = table.tBodies[0], rows = Array.prototype.slice.call(body.rows);
      function key(row) {
        var cell = row.cells[col], v = cell ? (cell.dataset.sort !== undefined ? cell.dataset.sort
                                                                              : cell.textContent.trim()) : "";
        var n = Number(v);
        return v === "" ? [2, 0] : isNaN(n) ? [1, v.toLowerCase()] : [0, n];
      }
      rows.map(function (row, i) { return [key(row), i, row]; }).sort(function (a, b) {
        if (a[0][0] !== b[0][0]) return a[0][0] - b[0][0];        // numbers, then words, then blanks
        var c = a[0][0] === 0 ? a[0][1] - b[0][1] : a[0][1].localeCompare(b[0][1]);
        return (up ? c : -c) || a[1] - b[1];
      }).forEach(function (t) { body.appendChild(t[2]); });
    }
    th.addEventListener("click", sort);
    th.addEventListener("keydown", function (e) {
      if (e.key === "Enter" || e.key === " ") { e.preventDefault(); sort(); }
    });
  });
});
"""

SECTIONS = [("at-a-glance", "At a glance"), ("needs-review", "Needs review"), ("flags", "Flags"),
            ("students", "Students"), ("questions", "Questions"), ("distributions", "Score distributions"),
            ("quizzes", "Quiz answers"), ("problems", "Problems")]
SHOWN = 10   # entries of one list in a box at the top; the rest are in the sections below


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
    """A data URL: mean score per question, in % of its points, hardest at the top."""
    shown = by_difficulty(stats)
    fig, ax = _figure(9, 0.6 + 0.22 * max(4, len(shown)))
    ax.barh(range(len(shown)), [percent(q) for q in shown],
            color=["#c0504d" if percent(q) < 50 else "#4878a8" for q in shown])
    ax.set_yticks(range(len(shown)), [f"{q.notebook[:2]} {q.grade_id}" for q in shown], fontsize=7)
    ax.invert_yaxis()
    ax.set_xlim(0, 100)
    ax.set_xlabel("mean score, % of the question's points (hardest first)")
    return _png(fig)


def _fmt(x: float | None, pattern: str = "{:.2f}") -> str:
    return "–" if x is None else pattern.format(x)


def _td(value, numeric: bool) -> str:
    """A cell: ``value`` is its HTML, or ``(html, sort key)``."""
    html, key = value if isinstance(value, tuple) else (value, None)
    attrs = ' class="n"' if numeric else ""
    if key is not None:
        attrs += f' data-sort="{escape(str(key))}"'
    return f"<td{attrs}>{html}</td>"


def _table(head: list[str], body: list[list], numeric: set[int] = frozenset(), cls=None,
           sortable: bool = False, table_id: str | None = None) -> str:
    attrs = (f' id="{table_id}"' if table_id else "") + (' class="sortable"' if sortable else "")
    out = [f"<table{attrs}><thead><tr>" + "".join(f"<th>{escape(h)}</th>" for h in head) + "</tr></thead><tbody>"]
    for i, row in enumerate(body):
        c = f' class="{cls(i)}"' if cls and cls(i) else ""
        out.append(f"<tr{c}>" + "".join(_td(v, j in numeric) for j, v in enumerate(row)) + "</tr>")
    return '<div class="scroll">' + "\n".join(out) + "</tbody></table></div>"


def _img(src: str, caption: str) -> str:
    return f'<figure><img src="{src}" alt="{escape(caption)}"><figcaption>{escape(caption)}</figcaption></figure>'


def _more(items: list[str], shown: int, where: str) -> str:
    """``items`` as list entries, the first ``shown``, then how many more and where."""
    out = "".join(f"<li>{i}</li>" for i in items[:shown])
    if len(items) > shown:
        out += f'<li class="muted">and {len(items) - shown} more ({where})</li>'
    return out


def files_box(problems: list[Problem]) -> str:
    """Box: every file handed in that was not graded at all, by reason."""
    files = files_not_graded(problems)
    if not files:
        return ('<div class="box" id="files-not-graded"><h2>Files not graded</h2>'
                "<p>Every file handed in was graded.</p></div>")
    out = [f'<div class="box alert" id="files-not-graded"><h2>Files not graded ({len(files)})</h2>'
           "<p>These earned nothing because they were never graded: ask the students for a readable "
           "copy, or grade them by hand.</p>"]
    for kind, label in FILE_KINDS.items():
        of_kind = [p for p in files if p.kind == kind]
        if of_kind:
            items = [f"<b>{escape(p.student or '(no student)')}</b>"
                     + (f" · {escape(p.notebook)}" if p.notebook else "") + f": {escape(p.what)}" for p in of_kind]
            out.append(f'<h3 class="{kind}">{escape(label)} ({len(of_kind)})</h3><ul>'
                       + _more(items, SHOWN, "under Problems") + "</ul>")
    out.append("</div>")
    return "\n".join(out)


def help_box(summaries: list[StudentSummary]) -> str:
    """Box: the students with the lowest scores and those with work not handed in."""
    low = needing_help(summaries)
    absent = sorted((s for s in summaries if s.missing), key=lambda s: (-len(s.missing), s.student))
    cls = "alert" if low or absent else ""
    out = [f'<div class="box {cls}" id="needs-help"><h2>Students who need help</h2>']
    if not summaries:
        out.append("<p>No student was graded.</p></div>")
        return "\n".join(out)

    def why(s: StudentSummary) -> str:
        words = []
        if s.missing:
            words.append(f"{len(s.missing)} notebook(s) not handed in")
        if s.not_graded:
            words.append(f"{len(s.not_graded)} file(s) not graded")
        if s.untouched:
            words.append(f"handed in the release untouched: {', '.join(s.untouched)}")
        if s.pending:
            words.append(f"{s.pending} answer(s) pending")
        return f' <span class="muted">({escape("; ".join(words))})</span>' if words else ""

    out.append("<h3>Lowest scores</h3>")
    if low:
        out.append('<ol class="lowest">' + "".join(
            f"<li><b>{escape(s.student)}</b>: {s.percent:.1f} %{why(s)}</li>" for s in low) + "</ol>")
    else:
        out.append("<p>Nobody is below the class median.</p>")
    out.append("<h3>Work not handed in</h3>")
    if absent:
        items = [f"<b>{escape(s.student)}</b>: {escape(', '.join(s.missing))}" for s in absent]
        out.append('<ul class="missing-work">' + _more(items, SHOWN, "sort the students table by "
                                                        "&ldquo;not handed in&rdquo;") + "</ul>")
    else:
        out.append("<p>Everyone handed in every notebook the class handed in.</p>")
    out.append('<p class="muted">The whole class: <a href="#students">students table</a> '
               "(click a column header to sort).</p></div>")
    return "\n".join(out)


def hardest_box(stats: list[QuestionStat], shown: int = 6) -> str:
    """Box: the questions with the lowest mean score, hardest first."""
    ranked = by_difficulty(stats)
    if not ranked:
        return '<div class="box" id="hardest"><h2>Hardest questions</h2><p>No question was graded.</p></div>'
    cls = "warn" if percent(ranked[0]) < 50 else ""
    items = []
    for q in ranked[:shown]:
        full = "" if q.full_share is None else f", {round(q.full_share * q.n)} of {q.n} at full marks"
        items.append(f"<li><b>{escape(q.notebook)} · {escape(q.grade_id)}</b>: mean {percent(q):.0f} %"
                     f'<span class="muted">{escape(full)}</span></li>')
    return (f'<div class="box {cls}" id="hardest"><h2>Hardest questions</h2>'
            '<p class="muted">Lowest mean score (in % of the question\'s points) first.</p>'
            f'<ol class="hardest">{"".join(items)}</ol>'
            '<p class="muted">All questions: <a href="#questions">Questions</a>.</p></div>')


def build(rows: list[Row], problems: list[Problem], *, parts: list[str], notebooks: list[str],
          header: dict, choices: list | None = None, late: dict | None = None,
          deadlines=None) -> str:
    """The whole page as a string."""
    choices = choices or []
    stats = question_stats(rows)
    summaries = student_summaries(rows, problems)
    html = ["<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8">',
            "<title>Class analytics</title>", f"<style>{STYLE}</style></head><body>",
            "<h1>Class analytics</h1>",
            "<p class=muted>" + " · ".join(f"{escape(k)}: {escape(str(v))}" for k, v in header.items()) + "</p>",
            "<nav>" + "".join(f'<a href="#{i}">{escape(t)}</a>' for i, t in SECTIONS) + "</nav>"]
    review = [p for p in problems if p.kind == "needs_review" and p.finding]
    problems = [p for p in problems if not (p.kind == "needs_review" and p.finding)]

    # ------------------------------------------------------------ at a glance
    html.append('<section id="at-a-glance"><div class="glance">')
    html += [files_box(problems), help_box(summaries), hardest_box(stats)]
    html.append("</div></section>")
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

    html.append(students_section(rows, summaries, parts, late, deadlines))

    # -------------------------------------------------------------- questions
    html.append('<section id="questions"><h2>Questions</h2>'
                "<p>Mean score, share of students at full marks, and discrimination: the correlation of "
                "the question's score with the rest of the student's score in the same part (near 0 or "
                "negative: the question does not tell strong and weak work apart; worth a look). Only "
                "notebooks handed in count; pending answers are counted apart. The chart puts the "
                "hardest question first; click a column header to sort the table. Also in "
                "<code>questions.csv</code>.</p>")
    html.append(_img(question_chart(stats), "mean score per question, % of its points, hardest first"))
    body = [[escape(q.part), escape(q.notebook), escape(q.grade_id), f"{q.max_score:g}", str(q.n),
             _fmt(q.mean), (_fmt(percent(q), "{:.0f} %"), "" if percent(q) is None else f"{percent(q):.3f}"),
             (_fmt(None if q.full_share is None else 100 * q.full_share, "{:.0f} %"),
              "" if q.full_share is None else f"{q.full_share:.4f}"),
             (_fmt(q.discrimination), "" if q.discrimination is None else f"{q.discrimination:.4f}"),
             str(q.pending or "")] for q in stats]
    html.append(_table(["part", "notebook", "question", "points", "graded", "mean", "mean %", "at full marks",
                        "discrimination", "pending"], body, {3, 4, 5, 6, 7, 8, 9},
                       cls=lambda i: "low" if stats[i].discrimination is not None and stats[i].discrimination < 0.1
                       else "", sortable=True, table_id="questions-table"))
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
             ("unknown", "") if p.cost is None else f"{p.cost:g}", escape(", ".join(p.questions))] for p in shown]
    html.append(_table(["student", "notebook", "kind", "what", "cost (points)", "questions"], body, {4},
                       sortable=True, table_id="problems-table")
                if body else "<p>None.</p>")
    html.append("</section>")
    html.append(f"<script>{SORT_SCRIPT}</script></body></html>")
    return "\n".join(html) + "\n"


def students_section(rows: list[Row], summaries: list[StudentSummary], parts: list[str], late: dict | None,
                     deadlines) -> str:
    """The class table, one row per student, sortable by every column; the students who
    need help shaded."""
    out = ['<section id="students"><h2>Students</h2>'
           '<p class="muted">Click a column header to sort (again: the other way). Shaded: the lowest '
           "scores, as at the top. <i>not handed in</i> counts the notebooks someone in the class "
           "handed in and this student did not.</p>"]
    raw, top = {}, {}
    for r in rows:
        raw[(r.student, r.part)] = raw.get((r.student, r.part), 0.0) + (r.score or 0.0)
        top[(r.student, r.part)] = top.get((r.student, r.part), 0.0) + r.max_score
    extra = ["not handed in", "not graded", "pending"]
    head = ["student", *parts, "total", "%", *extra]
    if late is not None:
        head = ["student", *[f"{p} (late)" for p in parts], "total", "after late penalty", "% after", *extra]
    low = {s.student for s in needing_help(summaries)}
    body = []
    for s in summaries:
        total = sum(raw.get((s.student, p), 0.0) for p in parts)
        most = sum(top.get((s.student, p), 0.0) for p in parts)
        counts = [(str(len(s.missing)), len(s.missing)) if not s.missing else
                  (f'<span title="{escape(", ".join(s.missing))}">{len(s.missing)}</span>', len(s.missing)),
                  str(len(s.not_graded)), str(s.pending)]
        if late is None:
            body.append([f"<b>{escape(s.student)}</b>" if s.student in low else escape(s.student),
                         *[f"{raw.get((s.student, p), 0.0):g}" for p in parts], f"{total:g}",
                         f"{100 * total / most:.1f}" if most else "", *counts])
            continue
        from ..course.deadlines import after_penalty
        cells, kept = [], 0.0
        for p in parts:
            l = late.get((s.student, p))
            v = raw.get((s.student, p), 0.0)
            after = after_penalty(v, l) if l else v
            kept += after
            cells.append((f"{v:g}" + (f" → {after:.4g} ({l.days} d, −{l.percent:g} %)" if l and l.percent else
                                      f" ({l.days} d)" if l and l.days else ""), f"{after:.6g}"))
        body.append([f"<b>{escape(s.student)}</b>" if s.student in low else escape(s.student), *cells,
                     f"{total:g}", f"{kept:.4g}", f"{100 * kept / most:.1f}" if most else "", *counts])
    out.append(_table(head, body, set(range(1, len(head))), sortable=True, table_id="students-table",
                      cls=lambda i: "low" if summaries[i].student in low else ""))
    if deadlines is not None:
        due = ", ".join(f"{escape(p)} {d.strftime('%Y-%m-%d %H:%M UTC')}" for p, d in sorted(deadlines.due.items()))
        out.append(f"<p class=muted>Due: {due or 'none'}; policy from {escape(str(deadlines.path))}.</p>")
    out.append("</section>")
    return "\n".join(out)


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
