"""Class analytics on small fixtures: per-question statistics, score distributions,
quiz answer counts read generically from notebooks, the true cost of a broken cell,
an untouched release, and the offline HTML page built from them."""
from __future__ import annotations

import csv
import re

import nbformat
import pytest

from autograder.reporting.analytics import (by_difficulty, files_not_graded, needing_help, pearson, question_stats,
                                            scores_by, student_summaries, write_questions_csv)
from autograder.reporting.quiz_answers import NO_ANSWER, OTHER, answers, distribution, quizzes
from autograder.reporting.report_html import build
from autograder.reporting.results import Problem, Row
from autograder.reporting.true_cost import blame, defined_names, untouched

P, NB = "part1", "01_nb"


def row(student, gid, score, top=2.0, status="graded", nb=NB, part=P):
    return Row(student, part, nb, gid, score, top, status)


@pytest.fixture
def rows():
    # q1 separates the class (the strong get it), q2 everyone gets, q3 the weak get only
    return [
        row("a", "q1", 2), row("a", "q2", 2), row("a", "q3", 0), row("a", "q4", 4, 4),
        row("b", "q1", 2), row("b", "q2", 2), row("b", "q3", 0), row("b", "q4", 3, 4),
        row("c", "q1", 0), row("c", "q2", 2), row("c", "q3", 2), row("c", "q4", 1, 4),
        row("d", "q1", 0), row("d", "q2", 2), row("d", "q3", 2), row("d", "q4", 0, 4),
        row("e", "q1", 0, status="missing"), row("e", "q2", 0, status="missing"),
        row("e", "q3", 0, status="missing"), row("e", "q4", 0, 4, status="missing"),
        row("a", "w", None, 3, status="manual"), row("b", "w", 2, 3, status="hand-graded"),
    ]


def test_pearson_matches_the_textbook_formula_and_is_undefined_without_spread():
    assert pearson([1, 2, 3], [2, 4, 6]) == pytest.approx(1.0)
    assert pearson([1, 2, 3], [3, 2, 1]) == pytest.approx(-1.0)
    assert pearson([1, 2, 3, 4], [1, 3, 2, 4]) == pytest.approx(0.8)
    assert pearson([1, 1, 1], [1, 2, 3]) is None
    assert pearson([1, 2], [1, 2]) is None


def test_question_stats_mean_full_marks_and_discrimination_against_the_rest_of_the_part(rows):
    stats = {q.grade_id: q for q in question_stats(rows)}
    q1 = stats["q1"]
    assert (q1.n, q1.mean, q1.full_share) == (4, 1.0, 0.5)     # e did not hand in: left out
    # rest of the part for a, b, c, d: q2 + q3 + q4 (+ w for b)
    rest = [2 + 0 + 4, 2 + 0 + 3 + 2, 2 + 2 + 1, 2 + 2 + 0]
    assert q1.discrimination == pytest.approx(pearson([2, 2, 0, 0], rest))
    assert q1.discrimination > 0.8
    assert stats["q2"].full_share == 1.0 and stats["q2"].discrimination is None   # no spread
    assert stats["q3"].discrimination < -0.8                                     # the weak get it
    assert stats["q4"].mean == 2.0 and stats["q4"].full_share == 0.25
    w = stats["w"]
    assert (w.n, w.pending, w.mean) == (1, 1, 2.0)


def test_scores_by_notebook_and_part_count_only_students_who_handed_in(rows):
    rows = rows + [row("a", "x", 1, 1, nb="02_nb"), row("c", "x", 0, 1, nb="02_nb", status="missing")]
    by_nb = scores_by(rows, "notebook")
    assert set(by_nb[NB]) == {"a", "b", "c", "d"}
    assert by_nb[NB]["a"] == (8.0, 13.0)          # pending w counts 0 of its 3 points
    assert set(by_nb["02_nb"]) == {"a"}
    assert by_nb["02_nb"]["a"] == (1.0, 1.0)
    assert scores_by(rows, "part")[P]["c"] == (5.0, 11.0)   # the notebook not handed in: 0 of 1


def test_questions_csv_has_one_row_per_question(rows, tmp_path):
    write_questions_csv(question_stats(rows), tmp_path / "questions.csv")
    with open(tmp_path / "questions.csv", newline="") as f:
        got = {r["grade_id"]: r for r in csv.DictReader(f)}
    assert list(got) == ["q1", "q2", "q3", "q4", "w"]
    assert (got["q1"]["mean"], got["q1"]["mean_percent"], got["q1"]["full_marks_share"]) == ("1", "50", "0.5")
    assert got["q2"]["discrimination"] == "" and got["w"]["pending"] == "1"


def test_questions_are_ranked_hardest_first_and_those_nobody_was_graded_on_left_out(rows):
    rows = rows + [row(s, "never", 0, nb="02_nb", status="missing") for s in "abcde"]
    # mean %: q1 50, q2 100, q3 50, q4 50, w 67; ties by fewest at full marks (q4 25 %), then course order
    assert [q.grade_id for q in by_difficulty(question_stats(rows))] == ["q4", "q1", "q3", "w", "q2"]


def test_students_needing_help_are_the_lowest_below_the_median_and_missing_work_counts_only_set_notebooks(rows):
    rows = rows + [row(s, "x", 0, 1, nb="02_nb", status="missing") for s in "abcde"]   # nobody handed 02 in
    problems = [Problem("d", NB, "untouched_release", "handed in the release", 4.0),
                Problem("e", "03_nb", "unreadable", "the file is empty; all questions score 0", 3.0),
                Problem(None, None, "unsafe_zip_entry", "outside the folder (../x.ipynb)", None),
                Problem("a", NB, "renamed", "taken as 01_nb", 0.0)]
    summaries = {s.student: s for s in student_summaries(rows, problems)}
    assert summaries["e"].missing == [NB] and summaries["a"].missing == []      # 02_nb is not missing work
    assert summaries["e"].not_graded == ["03_nb"] and summaries["d"].untouched == [NB]
    assert summaries["a"].pending == 1 and summaries["a"].score == 8.0
    # % of a..e: 57.1, 64.3, 45.5, 36.4, 0; the median is c's, so c is not listed
    assert [s.student for s in needing_help(list(summaries.values()))] == ["e", "d"]
    assert [p.kind for p in files_not_graded(problems)] == ["unreadable", "unsafe_zip_entry"]


def test_the_page_opens_with_three_boxes_and_its_tables_sort(rows):
    problems = [Problem("e", NB, "unreadable", "the file is empty; all questions score 0", 10.0),
                Problem(None, None, "no_student", "no student in README.ipynb", None)]
    page = build(rows, problems, parts=[P], notebooks=[NB], header={})
    top = page.split('<section id="at-a-glance">', 1)[1].split("</section>", 1)[0]
    assert page.index('id="at-a-glance"') < page.index('id="needs-review"') < page.index('id="students"')
    files = top.split('id="files-not-graded"', 1)[1].split('id="needs-help"', 1)[0]
    assert "Files not graded (2)" in files and "the file is empty" in files and "README.ipynb" in files
    assert '<ol class="lowest"><li><b>e</b>: 0.0 %' in top
    assert top.index("01_nb · q4") < top.index("01_nb · q1") < top.index("01_nb · q2")
    assert '<table id="students-table" class="sortable">' in page and "<script>" in page
    assert 'data-sort="' in page.split('id="questions-table"', 1)[1]


# ----------------------------------------------------------------- quizzes

def _nb(*cells):
    nb = nbformat.v4.new_notebook()
    nb.cells = list(cells)
    return nb


def _code(source, gid=None, solution=False, grade=False, points=0):
    c = nbformat.v4.new_code_cell(source)
    if gid:
        c.metadata["nbgrader"] = {"grade_id": gid, "solution": solution, "grade": grade, "locked": not solution,
                                  "points": points, "schema_version": 3}
    return c


def _md(source, gid=None):
    c = nbformat.v4.new_markdown_cell(source)
    if gid:
        c.metadata["nbgrader"] = {"grade_id": gid, "solution": False, "grade": False, "locked": True,
                                  "schema_version": 3}
    return c


def _solution_notebook():
    """A quiz with one variable under an arbitrary name, one with two, and a computed answer."""
    return _nb(
        _md("### Quiz K (1 point)\n\nPick one."),
        _code('PICK = None\n### BEGIN SOLUTION\nPICK = "c"\n### END SOLUTION', "ans_k", solution=True),
        _code('assert PICK == "c"', "test_k", grade=True, points=1),
        _md("## Section (Quiz 7, two parts)"),
        _code("FIRST = None\nSECOND = None\n### BEGIN SOLUTION\nFIRST = True\nSECOND = ['b', 'a']\n"
              "### END SOLUTION", "ans_7", solution=True),
        _code("assert FIRST", "test_7a", grade=True, points=1),
        _code("assert SECOND", "test_7b", grade=True, points=1),
        _code("def f(x):\n    ### BEGIN SOLUTION\n    return x\n    ### END SOLUTION", "ex_f", solution=True),
        _code("assert f(1) == 1", "test_f", grade=True, points=2),
    )


def test_quizzes_are_found_by_their_cells_not_by_variable_names(tmp_path):
    path = tmp_path / "sol.ipynb"
    nbformat.write(_solution_notebook(), path)
    qs = quizzes(path, P, NB)
    assert [(q.cell, q.title, q.correct, q.questions) for q in qs] == [
        ("ans_k", "Quiz K", {"PICK": "'c'"}, ["test_k"]),
        ("ans_7", "Quiz 7", {"FIRST": "True", "SECOND": "['b', 'a']"}, ["test_7a", "test_7b"]),
    ]


def test_answers_are_read_without_running_and_the_most_common_wrong_one_is_named(tmp_path):
    sol = tmp_path / "sol.ipynb"
    nbformat.write(_solution_notebook(), sol)
    quiz = quizzes(sol, P, NB)[0]
    sources = {"a": 'PICK = "c"', "b": "PICK = 'a'  # my guess", "c": 'PICK = "a"', "d": 'PICK = "b"',
               "e": "PICK = None", "f": "PICK = pick()", "g": 'PICK = "b"\nPICK = "a"', "h": "PICK = ("}
    chosen = {}
    for student, src in sources.items():
        p = tmp_path / f"{student}.ipynb"
        nbformat.write(_nb(_code(src, "ans_k", solution=True)), p)
        chosen[student] = answers(p, quiz)
    assert chosen["e"] == {"PICK": NO_ANSWER} and chosen["f"] == {"PICK": OTHER} and chosen["h"] == {"PICK": OTHER}
    assert chosen["g"] == {"PICK": "'a'"}                      # the last assignment wins
    (choice,) = distribution(quiz, chosen)
    assert choice.counts == {"'c'": 1, "'a'": 3, "'b'": 1, NO_ANSWER: 1, OTHER: 2}
    assert choice.most_common_wrong == "'a'" and choice.n == 8


def test_a_tie_between_wrong_answers_names_the_first_alphabetically(tmp_path):
    sol = tmp_path / "sol.ipynb"
    nbformat.write(_solution_notebook(), sol)
    quiz = quizzes(sol, P, NB)[0]
    (choice,) = distribution(quiz, {"x": {"PICK": "'d'"}, "y": {"PICK": "'b'"}, "z": {"PICK": NO_ANSWER}})
    assert choice.most_common_wrong == "'b'"


# ------------------------------------------------------------- true cost

def _error(cell, ename, evalue):
    cell.outputs = [nbformat.v4.new_output("error", ename=ename, evalue=evalue, traceback=[])]
    return cell


def test_name_errors_are_blamed_on_the_broken_cell_that_should_define_the_name(tmp_path):
    nb = _nb(
        _error(_code("def attention(q, k, v)\n    return q", "ex_att", solution=True), "SyntaxError", "invalid syntax"),
        _error(_code("check(attention)", "test_att", grade=True, points=2), "NameError",
               "name 'attention' is not defined"),
        _error(_code("def multi(x):\n    return attention(x, x, x)\nout = multi(1)", "ex_multi", solution=True),
               "NameError", "name 'attention' is not defined"),
        _error(_code("check(out)", "test_multi", grade=True, points=3), "NameError", "name 'out' is not defined"),
        _error(_code("check(undefined_thing)", "test_other", grade=True, points=1), "NameError",
               "name 'undefined_thing' is not defined"),
        _error(_code("check(multi)", "test_wrapped", grade=True, points=1), "AssertionError",
               "multi(x) raised NameError: name 'attention' is not defined"),
        _code("helper = 1", "ex_h", solution=True),
        _error(_code("check(helper2)", "test_h", grade=True, points=1), "NameError", "name 'helper2' is not defined"),
        _error(_code("def later():\n    raise NotImplementedError()\nlater()", "ex_l", solution=True),
               "NotImplementedError", ""),
    )
    path = tmp_path / "graded.ipynb"
    nbformat.write(nb, path)
    # the chain through ex_multi leads back to ex_att; a test may report the NameError itself
    assert blame(path) == {1: 0, 2: 0, 3: 0, 5: 0}
    assert "attention" in defined_names("def attention(q, k, v)\n    return q")   # unparseable source


def test_a_name_the_release_cell_defines_is_blamed_even_if_the_student_deleted_it(tmp_path):
    graded = _nb(_error(_code("x = (", "ex_a", solution=True), "SyntaxError", "bad"),
                 _error(_code("check(embed)", "t", grade=True), "NameError", "name 'embed' is not defined"))
    release = _nb(_code("def embed(x):\n    raise NotImplementedError()", "ex_a", solution=True),
                  _code("check(embed)", "t", grade=True))
    nbformat.write(graded, tmp_path / "g.ipynb")
    nbformat.write(release, tmp_path / "r.ipynb")
    assert blame(tmp_path / "g.ipynb") == {}
    assert blame(tmp_path / "g.ipynb", tmp_path / "r.ipynb") == {1: 0}


def test_the_report_charges_knock_on_failures_to_the_broken_cell(tmp_path):
    from autograder.reporting.results import job_rows

    release = _nb(_code("def f(x):\n    raise NotImplementedError()", "ex_f", solution=True),
                  _code("check(f)", "test_f", grade=True, points=2),
                  _code("def g(x):\n    raise NotImplementedError()", "ex_g", solution=True),
                  _code("check(g)", "test_g", grade=True, points=3))
    graded = _nb(_error(_code("def f(x)\n    return x", "ex_f", solution=True), "SyntaxError", "invalid syntax"),
                 _error(_code("check(f)", "test_f", grade=True), "NameError", "name 'f' is not defined"),
                 _error(_code("def g(x):\n    return f(x)\ny = g(1)", "ex_g", solution=True), "NameError",
                        "name 'f' is not defined"),
                 _error(_code("check(g)", "test_g", grade=True), "AssertionError", "wrong"))
    for d in ("rel", "auto", "sub"):
        (tmp_path / d).mkdir()
    nbformat.write(release, tmp_path / "rel" / f"{NB}.ipynb")
    nbformat.write(graded, tmp_path / "auto" / f"{NB}.ipynb")
    nbformat.write(graded, tmp_path / "sub" / f"{NB}.ipynb")
    layout = {P: {NB: {"points": 5, "cells": [("test_f", 2, "test"), ("test_g", 3, "test")]}}}
    job = {"student": "eve", "assignment": P, "expected": [NB], "notebooks": [NB], "repair": {},
           "release_dir": str(tmp_path / "rel"), "autograded_dir": str(tmp_path / "auto"),
           "submitted_dir": str(tmp_path / "sub")}
    grades = [{"grade_id": "test_f", "score": 0, "auto_score": 0, "max_score": 2, "needs_manual_grade": False,
               "kind": "test", "output": {"ename": "NameError", "evalue": "name 'f' is not defined"}},
              {"grade_id": "test_g", "score": 0, "auto_score": 0, "max_score": 3, "needs_manual_grade": False,
               "kind": "test", "output": {"ename": "AssertionError", "evalue": "wrong"}}]
    event = {"kind": "answer_error", "cell": 0, "grade_id": "ex_f", "test": False,
             "detail": "SyntaxError: invalid syntax", "affects": ["test_f"]}
    result = {"ok": True, "notebooks": {NB: {"graded": True, "grades": grades, "events": [event]}}}
    _rows, problems = job_rows(job, result, layout)
    (p,) = [p for p in problems if p.kind == "answer_error"]
    # test_f (2, its own test) only: test_g failed with an AssertionError, not a NameError
    assert p.cost == 2 and p.questions == ("test_f",)
    # now test_g fails because g's cell could not run (f undefined): 3 more, charged to ex_f
    grades[1]["output"] = {"ename": "NameError", "evalue": "name 'y' is not defined"}
    graded.cells[3] = _error(_code("check(y)", "test_g", grade=True), "NameError", "name 'y' is not defined")
    nbformat.write(graded, tmp_path / "auto" / f"{NB}.ipynb")
    _rows, problems = job_rows(job, result, layout)
    (p,) = [p for p in problems if p.kind == "answer_error"]
    assert p.cost == 5 and p.questions == ("test_f", "test_g")
    assert "3 points more, counted here" in p.what
    # a failing cell with no problem line of its own gets one (broken_cell) ...
    graded.cells[0] = _error(_code("f = make_f()", "ex_f", solution=True), "TypeError", "make_f() missing x")
    nbformat.write(graded, tmp_path / "auto" / f"{NB}.ipynb")
    result["notebooks"][NB]["events"] = []
    _rows, problems = job_rows(job, result, layout)
    (p,) = [p for p in problems if p.kind == "broken_cell"]
    assert p.cost == 5 and "cell 'ex_f' failed (TypeError" in p.what
    # ... but an exercise left unanswered (still raising NotImplementedError) is not "broken"
    graded.cells[0] = _error(_code("raise NotImplementedError()\nf = None", "ex_f", solution=True),
                             "NotImplementedError", "")
    nbformat.write(graded, tmp_path / "auto" / f"{NB}.ipynb")
    _rows, problems = job_rows(job, result, layout)
    assert not [p for p in problems if p.kind == "broken_cell"]


def test_an_untouched_release_is_flagged_and_an_answered_one_is_not(tmp_path):
    release = _nb(_md("# Title"), _code("x = None", "ex_x", solution=True), _code("check(x)", "t", grade=True))
    nbformat.write(release, tmp_path / "rel.ipynb")
    same = _nb(*[nbformat.from_dict(dict(c)) for c in release.cells])
    same.cells[0].source = "# Title (the student wrote here)"     # only a non-answer cell changed
    nbformat.write(same, tmp_path / "same.ipynb")
    answered = _nb(*[nbformat.from_dict(dict(c)) for c in release.cells])
    answered.cells[1].source = "x = 3"
    nbformat.write(answered, tmp_path / "answered.ipynb")
    assert untouched(tmp_path / "same.ipynb", tmp_path / "rel.ipynb")
    assert not untouched(tmp_path / "answered.ipynb", tmp_path / "rel.ipynb")


# ------------------------------------------------------------------ page

def test_the_page_has_every_section_embedded_images_and_no_external_asset(rows, tmp_path):
    sol = tmp_path / "sol.ipynb"
    nbformat.write(_solution_notebook(), sol)
    quiz = quizzes(sol, P, NB)[0]
    choices = distribution(quiz, {"a": {"PICK": "'c'"}, "b": {"PICK": "'a'"}, "c": {"PICK": "'a'"}})
    problems = [Problem("b", NB, "untouched_release", "handed in the release", 8.0, ("all questions",)),
                Problem("c", NB, "answer_error", "cell 'ex_f' has a syntax error", 5.0, ("test_f", "test_g"))]
    page = build(rows, problems, parts=[P], notebooks=[NB], header={"students": "5"}, choices=choices)
    for section in ("flags", "distributions", "questions", "quizzes", "problems", "students"):
        assert f'<section id="{section}">' in page
    assert "Untouched release handed in: <b>b</b>" in page
    assert "1 answer(s) pending by hand grading" in page and "a / 01_nb / w" in page
    assert "most common wrong answer: <b>&#x27;a&#x27;</b> (2 of 3)" in page
    images = re.findall(r'<img src="([^"]+)"', page)
    assert len(images) >= 4 and all(src.startswith("data:image/png;base64,") for src in images)
    assert not re.search(r'(src|href)="(?!data:|#)', page)          # nothing fetched from elsewhere
    # problems listed by their (true) cost, highest first
    assert page.index("has a syntax error") > page.index("handed in the release")
