"""Visible tests say it first: planted bugs fail a visible test before grading takes points.

``tests/planted/*.json`` (made by ``scripts/make_planted_bugs.py`` from the solutions)
holds, per notebook with code exercises (01-06), realistic buggy answers, each breaking
one rule the notebook's text states, and correct answers written in another style. The
runner (``tests/planted/runner.py``) runs each in the student's view (the release's
visible tests) and the grader's (hidden tests too), every notebook in its own process,
all at once; a variant re-runs only the cells its answer affects on the way to a test,
so the training cells of notebooks 04-06 stay out of it (about 45 s of CPU in all for
the 250 variants, 205 of them bugs). Then:

- every bug fails the visible test of its own exercise (the student is told), and where the
  corpus gives a bug a ``message``, that test's message contains it (it names the rule);
- every code-exercise test cell the grader fails, and so every code point it takes off,
  was failed by the visible test of that cell too: no point is lost silently (quiz
  answers are checked by hidden tests alone);
- every alternative keeps full marks, and the solution passes both views;
- the corpus covers every code exercise with a bug and an alternative, and is in sync
  with the solutions.
"""
from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from autograder.course.course import REPO_ROOT, SOLUTIONS_DIR

pytestmark = pytest.mark.slow

PLANTED = REPO_ROOT / "tests" / "planted"
CORPORA = sorted(PLANTED.glob("*.json"))
_spec = importlib.util.spec_from_file_location("planted_runner", PLANTED / "runner.py")
runner = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(runner)


def _corpus(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def outcomes() -> dict:
    """{notebook: {variant: {"student": {test: error}, "grading": {...}}}}, every
    notebook's corpus run in its own process, the processes side by side."""
    procs = [subprocess.Popen([sys.executable, str(PLANTED / "runner.py"), str(path)], cwd=REPO_ROOT,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for path in CORPORA]
    results = {}
    for path, proc in zip(CORPORA, procs):
        out, err = proc.communicate(timeout=1200)
        assert proc.returncode == 0, f"the runner failed on {path.name}:\n{err[-3000:]}"
        results.update(json.loads(out))
    return results


def _variants(kind: str) -> list[tuple[str, dict]]:
    return [(c["notebook"], v) for path in CORPORA for c in [_corpus(path)] for v in c["variants"]
            if v["kind"] == kind]


def _failed(outcome: dict, view: str) -> set[str]:
    return {test for test, error in outcome[view].items() if error}


def _own_test(notebook: str, answer_id: str) -> str:
    """The test cell that follows an answer cell: the test of that exercise."""
    nb = nbformat.read(SOLUTIONS_DIR / _corpus(PLANTED / f"{notebook}.json")["assignment"]
                       / f"{notebook}.ipynb", as_version=4)
    ids = [c.metadata.get("nbgrader", {}) for c in nb.cells]
    start = next(i for i, m in enumerate(ids) if m.get("grade_id") == answer_id)
    return next(m["grade_id"] for m in ids[start + 1:] if m.get("grade") and not m.get("solution"))


def _code_exercises(notebook: str) -> set[str]:
    """Answer cells of code exercises (not quiz answers) of a notebook."""
    corpus = _corpus(PLANTED / f"{notebook}.json")
    nb = nbformat.read(SOLUTIONS_DIR / corpus["assignment"] / f"{notebook}.ipynb", as_version=4)
    return {c.metadata["nbgrader"]["grade_id"] for c in nb.cells
            if c.cell_type == "code" and c.metadata.get("nbgrader", {}).get("solution")
            and not runner.QUIZ_ANSWER.search(c.source)}


def test_planted_corpus_is_in_sync_with_the_solutions():
    proc = subprocess.run([sys.executable, "scripts/make_planted_bugs.py", "--check"], cwd=REPO_ROOT,
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_every_code_exercise_has_a_planted_bug_and_an_alternative():
    assert CORPORA, "no planted-bug corpus: run python scripts/make_planted_bugs.py"
    for path in CORPORA:
        corpus = _corpus(path)
        exercises = _code_exercises(corpus["notebook"])
        for kind in ("bug", "alternative"):
            covered = {v["grade_id"] for v in corpus["variants"] if v["kind"] == kind}
            assert exercises <= covered, f"{corpus['notebook']}: no {kind} for {sorted(exercises - covered)}"


def test_the_solution_passes_every_test_in_both_views(outcomes):
    for notebook, variants in outcomes.items():
        for view in ("student", "grading"):
            failed = {t: e for t, e in variants["solution"][view].items() if e}
            assert not failed, f"{notebook}: the solution fails in the {view} view: {failed}"


@pytest.mark.parametrize("notebook,variant", _variants("bug"), ids=lambda x: x if isinstance(x, str) else x["id"])
def test_planted_bug_fails_the_visible_test_of_its_exercise(outcomes, notebook, variant):
    outcome = outcomes[notebook][variant["id"]]
    own = _own_test(notebook, variant["grade_id"])
    assert outcome["student"][own], (f"{variant['id']} breaks the rule '{variant['rule']}', but the visible "
                                     f"test {own} passes it")


@pytest.mark.parametrize("notebook,variant", [(n, v) for n, v in _variants("bug") if v.get("message")],
                         ids=lambda x: x if isinstance(x, str) else x["id"])
def test_planted_bug_is_told_the_rule_it_breaks(outcomes, notebook, variant):
    """Where the corpus says what the message must contain (a mistake whose message once
    named another rule, or surfaced the student's own error raw), the visible test says it."""
    own = _own_test(notebook, variant["grade_id"])
    said = outcomes[notebook][variant["id"]]["student"][own] or ""
    assert variant["message"] in said, (f"{variant['id']} ('{variant['rule']}'): the visible test {own} should say "
                                        f"{variant['message']!r}, it says: {said[:600]}")


@pytest.mark.parametrize("notebook,variant", _variants("bug"), ids=lambda x: x if isinstance(x, str) else x["id"])
def test_planted_bug_loses_no_point_a_visible_test_did_not_show(outcomes, notebook, variant):
    outcome = outcomes[notebook][variant["id"]]
    quizzes = runner.quiz_tests(_corpus(PLANTED / f"{notebook}.json")["assignment"], notebook)
    # a quiz answer computed with the buggy code (notebook 03's Quiz 3, a layer) may be
    # wrong: quizzes are checked by hidden tests alone; code exercises must not lose points
    # silently
    silent = _failed(outcome, "grading") - _failed(outcome, "student") - quizzes
    assert not silent, (f"{variant['id']} ('{variant['rule']}') passes the visible tests of {sorted(silent)} "
                        "but fails them when grading: " + "; ".join(
                            f"{t}: {outcome['grading'][t][:300]}" for t in sorted(silent)))


@pytest.mark.parametrize("notebook,variant", _variants("alternative"),
                         ids=lambda x: x if isinstance(x, str) else x["id"])
def test_correct_alternative_answer_keeps_full_marks(outcomes, notebook, variant):
    outcome = outcomes[notebook][variant["id"]]
    failed = {t: outcome["grading"][t] for t in _failed(outcome, "grading")}
    assert not failed, f"{variant['id']} is a correct answer but loses points: {failed}"
