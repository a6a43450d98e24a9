"""One set of conventions across the notebooks: every exercise and quiz heading shows its
points, and they add up to the points of the test cells that follow it; every quiz follows
one naming scheme (see solutions/README.md, "Quizzes"); notebook 00's example answers are
in a format the quizzes accept."""
from __future__ import annotations

import ast
import re

import nbformat
import pytest

from autograder.course.course import course_notebooks

HEADING = re.compile(r"^#{2,3} (Exercise|Quiz)\b.*$", re.MULTILINE)
POINTS = re.compile(r"\((\d+) points?\b")


@pytest.mark.parametrize("nb", course_notebooks(), ids=str)
def test_every_exercise_and_quiz_heading_shows_its_points(nb):
    notebook = nbformat.read(nb.source(), as_version=4)
    for cell in notebook.cells:
        if cell.cell_type != "markdown":
            continue
        for heading in HEADING.finditer(cell.source):
            line = heading.group(0)
            if line.startswith("##") and not line.startswith("###") and "Quiz" not in line:
                continue
            assert POINTS.search(line), f"{nb}: the heading {line!r} does not show its points"


@pytest.mark.parametrize("nb", course_notebooks(), ids=str)
def test_exercise_points_in_the_heading_are_those_of_its_test(nb):
    notebook = nbformat.read(nb.source(), as_version=4)
    heading_points, tests = None, 0
    checked = 0
    for cell in notebook.cells + [nbformat.v4.new_markdown_cell("### Exercise end (0 points)")]:
        meta = cell.get("metadata", {}).get("nbgrader", {})
        match = re.search(r"^### Exercise \d+ .*\((\d+) points?\)\s*$", cell.source, re.MULTILINE) \
            if cell.cell_type == "markdown" else None
        if match or (cell.cell_type == "markdown" and re.search(r"^### Quiz", cell.source, re.MULTILINE)):
            if heading_points is not None:
                assert tests == heading_points, (f"{nb}: an exercise heading says {heading_points} points, "
                                                 f"its test cells give {tests}")
                checked += 1
            heading_points, tests = (int(match.group(1)) if match else None), 0
        elif meta.get("grade") and not meta.get("solution") and heading_points is not None and tests == 0:
            tests += meta.get("points", 0)
    if nb.name != "00_setup":
        assert checked, f"{nb}: no exercise heading with points found"


# ------------------------------------------------------------------ quiz naming

#: The one scheme: "### Quiz N · what (P points[, more])", numbered 1, 2, ... per notebook.
QUIZ_SCHEME = re.compile(r"^### Quiz (?P<n>\d+) · \S.*? \((?P<points>\d+) points?(?P<more>[,;] .*)?\)$")
QUIZ_HEADING_LIKE = re.compile(r"^#+ .*\bQuiz\b.*$", re.MULTILINE)
ANY_HEADING = re.compile(r"^#+ ", re.MULTILINE)
#: Grade ids of quiz N's cells: md_quiz_N, quiz_N, quiz_N_code, test_quiz_N, test_quiz_N_pair1, written_quiz_N.
QUIZ_CELL = re.compile(r"^(?:md_|test_|written_)?quiz_(?P<n>\d+)(?:_[a-z0-9]+)?$")
QUIZ_VARIABLE = re.compile(r"\bQUIZ_(\d+)\b")
#: Answer variables of the schemes the notebooks used before (Q3_ANSWER, QA_PEAK_LAYER, QUIZ_A_ANSWER, ...).
OTHER_SCHEME = re.compile(r"^\s*(Q\d\w*|Q[A-Z]_\w+|QUIZ_[A-Za-z]\w*|\w+_ANSWER)\s*=", re.MULTILINE)
MENTION = re.compile(r"\bQuiz (\w+)")


def _quizzes(nb, notebook) -> dict[int, dict]:
    """``{N: {"heading", "cell", "cells": [cells of its section]}}`` of ``notebook`` (the
    source of ``nb``): a quiz's section runs from its heading to the next heading."""
    quizzes: dict[int, dict] = {}
    order: list[int] = []
    current = None
    for cell in notebook.cells:
        if cell.cell_type == "markdown" and not _meta(cell).get("solution"):   # not a written answer
            headings = ANY_HEADING.findall(cell.source)
            for line in QUIZ_HEADING_LIKE.findall(cell.source):
                match = QUIZ_SCHEME.match(line)
                assert match, (f"{nb}: rule 'a quiz heading reads ### Quiz N · what (P points)', "
                               f"broken by {line!r}")
                n = int(match["n"])
                order.append(n)
                quizzes[n] = {"heading": match, "cell": cell, "cells": []}
            if headings:
                last = [l for l in cell.source.splitlines() if ANY_HEADING.match(l)][-1]
                current = int(QUIZ_SCHEME.match(last)["n"]) if QUIZ_SCHEME.match(last) else None
                if current is not None:
                    continue
        if current is not None:
            quizzes[current]["cells"].append(cell)
    assert order == list(range(1, len(order) + 1)), (
        f"{nb}: rule 'quizzes are numbered 1, 2, ... in notebook order', the headings say {order}")
    return quizzes


def _meta(cell) -> dict:
    return cell.get("metadata", {}).get("nbgrader", {})


@pytest.mark.parametrize("nb", course_notebooks(), ids=str)
def test_every_quiz_follows_the_one_naming_scheme(nb):
    notebook = nbformat.read(nb.source(), as_version=4)
    quizzes = _quizzes(nb, notebook)
    release = {_meta(c).get("grade_id"): c for c in nbformat.read(nb.release(), as_version=4).cells}
    for n, quiz in quizzes.items():
        where = f"{nb}, Quiz {n}"
        assert _meta(quiz["cell"]).get("grade_id") == f"md_quiz_{n}", (
            f"{where}: rule 'the heading of quiz N is in the markdown cell md_quiz_N', "
            f"it is in {_meta(quiz['cell']).get('grade_id')!r}")
        graded = [c for c in quiz["cells"] if _meta(c).get("grade") or _meta(c).get("solution")]
        for cell in graded:
            gid = _meta(cell).get("grade_id", "")
            match = QUIZ_CELL.match(gid)
            assert match and int(match["n"]) == n, (
                f"{where}: rule 'the cells of quiz N are quiz_N, test_quiz_N..., written_quiz_N', "
                f"broken by {gid!r}")
        ids = {_meta(c)["grade_id"]: c for c in graded}
        written = f"written_quiz_{n}" in ids
        if written:
            assert ids[f"written_quiz_{n}"].cell_type == "markdown" and f"quiz_{n}" not in ids, (
                f"{where}: rule 'a written quiz has one markdown answer cell written_quiz_N and no variable'")
        else:
            answer = ids.get(f"quiz_{n}")
            assert answer is not None and re.search(rf"^\s*QUIZ_{n}\s*=", answer.source, re.MULTILINE), (
                f"{where}: rule 'quiz N is answered by setting QUIZ_N in the answer cell quiz_N'")
            assert re.search(rf"^QUIZ_{n} = None\b", release[f"quiz_{n}"].source, re.MULTILINE), (
                f"{where}: rule 'the release's answer cell starts from QUIZ_N = None'")
            assert f"`QUIZ_{n}`" in quiz["cell"].source, (
                f"{where}: rule 'the text of quiz N says which variable to set (`QUIZ_N`)'")
        tests = {gid: c for gid, c in ids.items() if gid.startswith("test_") or gid.startswith("written_")}
        own = sum(_meta(c).get("points", 0) for gid, c in tests.items() if not gid.endswith("_code"))
        heading = quiz["heading"]
        assert own == int(heading["points"]), (
            f"{where}: rule 'the heading shows the quiz's points': it says {heading['points']}, "
            f"its test cells give {own}")
        code = sum(_meta(c).get("points", 0) for gid, c in tests.items() if gid.endswith("_code"))
        if code:
            assert heading["more"] and f"and {code} for the code" in heading["more"], (
                f"{where}: rule 'a quiz's code part shows its points in the heading "
                f"(and P for the code)'")
        for cell in quiz["cells"]:
            if cell.cell_type == "code":
                others = {int(v) for v in QUIZ_VARIABLE.findall(cell.source)} - {n}
                assert not others, f"{where}: rule 'quiz N's cells use only QUIZ_N', they use QUIZ_{others}"
                said = {m for m in MENTION.findall(cell.source)} - {str(n)}
                assert not said, f"{where}: rule 'quiz N's test messages say Quiz N', they say Quiz {said}"
    in_sections = {id(c) for q in quizzes.values() for c in q["cells"]} | {id(q["cell"]) for q in quizzes.values()}
    for cell in notebook.cells:
        gid = _meta(cell).get("grade_id", "")
        assert not (QUIZ_CELL.match(gid) and id(cell) not in in_sections), (
            f"{nb}: rule 'the cells of quiz N follow its heading', {gid!r} is outside every quiz")
        if cell.cell_type == "code":
            stray = OTHER_SCHEME.findall(cell.source)
            assert not stray, f"{nb}: rule 'quiz answer variables are QUIZ_N', found {stray}"
            outside = set(QUIZ_VARIABLE.findall(cell.source)) if id(cell) not in in_sections else set()
            assert not outside, f"{nb}: rule 'QUIZ_N is used only in the cells of quiz N', found in {gid!r}"
        if quizzes:
            unknown = {m for m in MENTION.findall(cell.source) if not m.isdigit() or int(m) not in quizzes}
            assert not unknown, (f"{nb}: rule 'the text calls a quiz by its number, Quiz N', "
                                 f"found Quiz {sorted(unknown)} in {gid or cell.cell_type!r}")


def _answer_kind(value) -> str | None:
    """The format of a quiz answer: a letter, a bool, an int or an ordering of letters."""
    if type(value) is str and re.fullmatch(r"[a-z]", value):
        return "letter"
    if type(value) in (bool, int):
        return type(value).__name__
    if type(value) is list and value and all(type(v) is str and re.fullmatch(r"[a-z]", v) for v in value):
        return "ordering"
    return None


def _kinds_the_quizzes_accept() -> set[str]:
    """The formats the visible tests of the course's quizzes check for."""
    kinds = set()
    for nb in course_notebooks():
        for n, quiz in _quizzes(nb, nbformat.read(nb.source(), as_version=4)).items():
            text = "\n".join(c.source for c in quiz["cells"] if _meta(c).get("grade"))
            choice = re.search(rf"check_choice\(\"QUIZ_{n}\", QUIZ_{n}, (\[[^\]]*\])", text)
            if choice:
                kinds |= {_answer_kind(v) for v in ast.literal_eval(choice[1])}
            for name in re.findall(rf"check_type\(\"QUIZ_{n}\", QUIZ_{n}, (\w+)", text):
                kinds.add({"list": "ordering"}.get(name, name))
    return kinds


def test_notebook_00_example_answers_are_in_a_format_the_quizzes_accept():
    setup = next(nb for nb in course_notebooks() if nb.name == "00_setup")
    text = "\n".join(c.source for c in nbformat.read(setup.source(), as_version=4).cells)
    examples = re.findall(r"`(QUIZ_\d+) = ([^`]+)`", text)
    assert examples, "notebook 00 shows no example quiz answer (`QUIZ_N = ...`)"
    accepted = _kinds_the_quizzes_accept()
    for name, value in examples:
        kind = _answer_kind(ast.literal_eval(value))
        assert kind in accepted, (f"rule 'notebook 00's examples are in a format the quizzes accept': "
                                  f"{name} = {value} is not one of {sorted(k for k in accepted if k)}")


# ------------------------------------------------------------------ test cells leave the notebook's names alone

_SCOPES = (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef)


def _module_names(stmt: ast.stmt) -> tuple[set[str], set[str]]:
    """(names read, names bound) by one top-level statement when it runs; the bodies of
    functions and classes it defines run later and are left out (their names are bound)."""
    reads, binds = set(), set()
    if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        binds.add(stmt.name)
        parts = stmt.decorator_list + (stmt.args.defaults + stmt.args.kw_defaults
                                       if not isinstance(stmt, ast.ClassDef) else stmt.bases)
    else:
        parts = [stmt]
    todo = [p for p in parts if p is not None]
    while todo:
        node = todo.pop()
        if isinstance(node, ast.Name):
            (reads if isinstance(node.ctx, ast.Load) else binds).add(node.id)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            binds.update((a.asname or a.name).split(".")[0] for a in node.names)
        elif isinstance(node, _SCOPES) and node is not stmt:
            if not isinstance(node, ast.Lambda):
                binds.add(node.name)
            continue
        todo.extend(ast.iter_child_nodes(node))
    return reads, binds


def _cell_statements(source: str) -> list[tuple[set[str], set[str]]]:
    code = "\n".join("" if line.lstrip().startswith(("%", "!")) else line for line in source.splitlines())
    return [_module_names(stmt) for stmt in ast.parse(code).body]


@pytest.mark.parametrize("nb", course_notebooks(), ids=str)
def test_test_cells_do_not_rebind_names_the_notebook_reads_later(nb):
    """A test cell that rebinds one of the notebook's own names (a loop over CPU precision
    policies named ``policy``, say) changes what the cells after it see: notebook 04's
    training loop once ran on the CPU policy's device with the model on the GPU."""
    cells = []
    for cell in nbformat.read(nb.source(), as_version=4).cells:
        if cell.cell_type == "code":
            meta = cell.get("metadata", {}).get("nbgrader", {})
            is_test = bool(meta.get("grade")) and not meta.get("solution")
            cells.append((meta.get("grade_id") or f"code cell {len(cells) + 1}", is_test,
                          _cell_statements(cell.source)))
    problems = []
    for i, (grade_id, is_test, statements) in enumerate(cells):
        if not is_test:
            continue
        rebound = set().union(*(b for _, b in statements)) if statements else set()
        defined_before = set()
        for _, test, stmts in cells[:i]:
            if not test:
                defined_before.update(*(b for _, b in stmts))
        for name in sorted(rebound & defined_before):
            for later_id, test, stmts in cells[i + 1:]:
                if test:
                    continue
                touched = [(name in r, name in b) for r, b in stmts if name in r or name in b]
                if touched:
                    if touched[0][0]:           # read before the cell binds it again
                        problems.append(f"test cell {grade_id!r} rebinds {name!r}, which cell "
                                        f"{later_id!r} reads afterwards")
                    break
    assert not problems, f"{nb}: " + "; ".join(problems) + " (give the test's variable another name)"
