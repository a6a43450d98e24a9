"""The autograded quizzes of notebook 03 (all but quiz 4, the written answer) mean it: every
wrong option fails its test cell (hidden part included), and with real nbgrader a submission
with one wrong quiz answer loses exactly that question's points and keeps all the others."""
from __future__ import annotations

import ast

import nbformat
import pytest

from autograder.course.course import SOLUTIONS_DIR
from tests.nbgrader_harness import autograde, cell_by_grade_id, solution_as_submission, with_cell_source

ASSIGNMENT = "part1_representations"
NOTEBOOK = "03_sequence_representations"
SOURCE = SOLUTIONS_DIR / ASSIGNMENT / f"{NOTEBOOK}.ipynb"

# test cell -> (answer variable, the options of its check_choice, the right one)
CHOICE_QUIZZES = {
    "test_quiz_1": ("QUIZ_1", ["a", "b", "c", "d", "e"], "a"),
    "test_quiz_2": ("QUIZ_2", [True, False], False),
    "test_quiz_5": ("QUIZ_5", ["a", "b", "c", "d"], "a"),
    "test_quiz_6": ("QUIZ_6", ["a", "b", "c", "d", "e"], "b"),
}
WRONG_H_FOX = {
    "with the batch dimension": "H_fox = torch.zeros(1, 5, 384)",
    "without [CLS]/[SEP]": "H_fox = torch.zeros(3, 384)",
    "the right shape, wrong values": "H_fox = torch.zeros(5, 384)",
    "the embeddings H^0, not H": ("_fox = tok('The quick fox')\n"
                                  "H_fox = ref_model.embeddings(_fox['input_ids'])[0]"),
}


def _notebook() -> nbformat.NotebookNode:
    return nbformat.read(SOURCE, as_version=4)


def _test_source(grade_id: str) -> str:
    return cell_by_grade_id(_notebook(), grade_id).source


def _run_test_cell(grade_id: str, namespace: dict) -> None:
    """Execute a test cell, hidden tests included; raises what the cell raises."""
    exec(compile(_test_source(grade_id), f"<{grade_id}>", "exec"), namespace)


def _check_namespace() -> dict:
    from encoder_lib import checks

    return {name: getattr(checks, name) for name in ("check_choice", "check_type", "check_shape", "check_close")}


# ------------------------------------------------------------ cheap, no nbgrader

def _checked_options(source: str, variable: str) -> list:
    """The options list that the cell's check_choice call for ``variable`` accepts."""
    for node in ast.walk(ast.parse(source)):
        if (isinstance(node, ast.Call) and getattr(node.func, "id", None) == "check_choice"
                and isinstance(node.args[1], ast.Name) and node.args[1].id == variable):
            return ast.literal_eval(node.args[2])
    raise AssertionError(f"no check_choice call for {variable} in:\n{source}")


class _EqualsEverything:
    """An answer that claims to equal anything: it must not fool a hidden test."""

    def __eq__(self, other):
        return True

    __hash__ = object.__hash__


class _SneakyInt(int):
    def __eq__(self, other):
        return True

    __hash__ = int.__hash__


def _wrong_answers(options: list, right) -> list:
    """Every other option, near misses a student might type, and an object equal to all."""
    near = [None, 0, 1, "False"] if isinstance(right, bool) else [None, right.upper(), f" {right}"]
    return [o for o in options if o != right] + near + [_EqualsEverything()]


@pytest.mark.parametrize("grade_id", sorted(CHOICE_QUIZZES))
def test_choice_quiz_options_are_the_ones_the_cell_checks(grade_id):
    variable, options, _right = CHOICE_QUIZZES[grade_id]
    source = _test_source(grade_id)
    assert _checked_options(source, variable) == options
    assert "### BEGIN HIDDEN TESTS" in source and source.rstrip().splitlines()[-1].startswith("print(")


@pytest.mark.parametrize("grade_id", sorted(CHOICE_QUIZZES))
def test_every_wrong_choice_fails_and_the_right_one_passes(grade_id, capsys):
    variable, options, right = CHOICE_QUIZZES[grade_id]
    _run_test_cell(grade_id, {**_check_namespace(), variable: right})
    assert "answer recorded" in capsys.readouterr().out
    for wrong in _wrong_answers(options, right):
        with pytest.raises(AssertionError):
            _run_test_cell(grade_id, {**_check_namespace(), variable: wrong})
            pytest.fail(f"{variable} = {wrong!r} passed {grade_id}")


@pytest.fixture(scope="module")
def reference_namespace():
    """What the notebook defines before its quiz 1 code and quiz 3 test cells, built from
    the notebook's own locked cells (setup, imports, sentences, reference_encode)."""
    import matplotlib

    matplotlib.use("Agg")
    import torch

    namespace: dict = {}
    nb = _notebook()
    for grade_id in ("imports", "bank_sentences"):
        exec(cell_by_grade_id(nb, grade_id).source, namespace)
    yield namespace
    torch.set_grad_enabled(True)   # the imports cell switches gradients off for the notebook


def test_quiz3_measurement_accepts_only_the_layer_of_largest_separation(reference_namespace, capsys):
    num_layers = reference_namespace["config"].num_layers
    passed = []
    for layer in range(num_layers + 1):
        try:
            _run_test_cell("test_quiz_3", {**reference_namespace, "QUIZ_3": layer})
            passed.append(layer)
        except AssertionError:
            pass
    assert len(passed) == 1, f"exactly one layer must pass quiz 3, these did: {passed}"
    import numpy as np

    _run_test_cell("test_quiz_3", {**reference_namespace, "QUIZ_3": np.int64(passed[0])})   # np.argmax(...)
    for bad in (None, float(passed[0]), num_layers + 1, -1, _SneakyInt(passed[0] + 1)):
        with pytest.raises(AssertionError):
            _run_test_cell("test_quiz_3", {**reference_namespace, "QUIZ_3": bad})


def test_quiz1_code_variant_needs_the_5_by_d_matrix_H(reference_namespace, capsys):
    ns = reference_namespace
    fox = ns["tok"]("The quick fox")
    right = ns["ref_model"](fox["input_ids"]).last_hidden_state[0]
    _run_test_cell("test_quiz_1_code", {**ns, "H_fox": right})
    for label, source in WRONG_H_FOX.items():
        attempt = dict(ns)
        exec(source, attempt)
        with pytest.raises(AssertionError):
            _run_test_cell("test_quiz_1_code", attempt)
            pytest.fail(f"a wrong H_fox ({label}) passed test_quiz_1_code")


# --------------------------------------------------------- real nbgrader, one run

WRONG_SUBMISSIONS = {
    # student: (answer cell, what replaces it, the test cell that must lose its points)
    "wrong_quiz_1": ("quiz_1", 'QUIZ_1 = "c"', "test_quiz_1"),
    "wrong_quiz_1_code": ("quiz_1_code", "_fox = tok('The quick fox')\n"
                                         "H_fox = my_encoder(_fox['input_ids'], _fox['attention_mask'])[-1]",
                          "test_quiz_1_code"),
    "wrong_quiz_2": ("quiz_2", "QUIZ_2 = True", "test_quiz_2"),
    "wrong_quiz_3": ("quiz_3", "separation = sense_separation(river_sentences, money_sentences, 'bank')\n"
                               "QUIZ_3 = int(separation.argmin())", "test_quiz_3"),
    "wrong_quiz_5": ("quiz_5", 'QUIZ_5 = "d"', "test_quiz_5"),
    "wrong_quiz_6": ("quiz_6", 'QUIZ_6 = "a"', "test_quiz_6"),
}


@pytest.mark.slow
def test_a_wrong_quiz_answer_loses_exactly_that_questions_points(tmp_path):
    solution = solution_as_submission(ASSIGNMENT, NOTEBOOK)
    rel = f"{ASSIGNMENT}/{NOTEBOOK}.ipynb"
    # The solution itself gets full marks in test_autograde_solutions; here every student
    # differs from it in one answer, and all of them are graded in one nbgrader run.
    submissions = {student: {rel: with_cell_source(solution, cell, source)}
                   for student, (cell, source, _lost) in WRONG_SUBMISSIONS.items()}
    scores = autograde(submissions, tmp_path)

    for student, (_cell, _source, lost) in WRONG_SUBMISSIONS.items():
        got = scores[student][NOTEBOOK]
        autograded = {gid: top for gid, (_score, top) in got.items() if gid.startswith("test_")}
        assert lost in autograded and len(autograded) >= 10, got
        expected = {gid: (0.0 if gid == lost else top) for gid, top in autograded.items()}
        assert {gid: got[gid][0] for gid in autograded} == expected, (
            f"{student} should lose only {lost}: {got}")
