"""Notebook 06 (context tasks): its quizzes mean it and its exercises' tests check their
rules. Every wrong choice fails quiz 2, quiz 1 accepts only the student's own peak layer,
the exercises' tests reject broken answers, and with real nbgrader a submission with one
wrong answer loses exactly that question's points and keeps all the others."""
from __future__ import annotations

import nbformat
import pytest
import torch

from autograder.course.course import SOLUTIONS_DIR
from tests.nbgrader_harness import autograde, cell_by_grade_id, make_grade, solution_as_submission, with_cell_source

ASSIGNMENT = "part3_adaptation"
NOTEBOOK = "06_context_tasks"
SOURCE = SOLUTIONS_DIR / ASSIGNMENT / f"{NOTEBOOK}.ipynb"


def _notebook() -> nbformat.NotebookNode:
    return nbformat.read(SOURCE, as_version=4)


def _run_cell(grade_id: str, namespace: dict) -> dict:
    exec(compile(cell_by_grade_id(_notebook(), grade_id).source, f"<{grade_id}>", "exec"), namespace)
    return namespace


@pytest.fixture(scope="module")
def base_namespace():
    """The notebook's imports, without loading any encoder (tests supply what they need)."""
    from encoder_lib import checks, context_tasks, probe
    from encoder_lib.data import wic, wordnet
    from encoder_lib.tokenizer import WordPieceTokenizer

    ns = {name: getattr(checks, name) for name in
          ("check_choice", "check_close", "check_raises", "check_shape", "check_type",
           "checked_call")}
    ns.update(torch=torch, probe=probe, wic=wic, wordnet=wordnet, ct=context_tasks,
              tok=WordPieceTokenizer.from_pretrained())
    return ns


def _with_solution(ns: dict, grade_id: str) -> dict:
    return _run_cell(grade_id, dict(ns))


# ------------------------------------------------------------ quizzes, no nbgrader

@pytest.mark.parametrize("wrong", ["a", "c", "d", "e", "B", " b", None, 2])
def test_every_wrong_quiz_2_answer_fails_and_b_passes(base_namespace, wrong, capsys):
    _run_cell("test_quiz_2", {**base_namespace, "QUIZ_2": "b"})
    assert "Quiz 2: answer recorded" in capsys.readouterr().out
    with pytest.raises(AssertionError):
        _run_cell("test_quiz_2", {**base_namespace, "QUIZ_2": wrong})


def test_quiz_1_accepts_only_the_peak_of_the_students_own_measurement(base_namespace):
    for accs, peaks in (([0.5, 0.6, 0.7, 0.65], {2}), ([0.55, 0.9, 0.6, 0.9], {1, 3})):
        ns = {**base_namespace, "probe_results": {"minilm": {"wic": accs}}}
        for layer in range(len(accs)):
            if layer in peaks:
                _run_cell("test_quiz_1", {**ns, "QUIZ_1": layer})
            else:
                with pytest.raises(AssertionError):
                    _run_cell("test_quiz_1", {**ns, "QUIZ_1": layer})
        for bad in (None, float(min(peaks)), len(accs), -1, True):
            with pytest.raises(AssertionError):
                _run_cell("test_quiz_1", {**ns, "QUIZ_1": bad})


# ------------------------------------------------- exercises: solutions pass, mistakes fail

BROKEN = {
    "ex_span": {
        "keeps (0, 0) entries": "def span_to_token_positions(offsets, start, end):\n"
                                "    offsets = offsets.tolist() if hasattr(offsets, 'tolist') else offsets\n"
                                "    p = [i for i, (a, b) in enumerate(offsets) if a < end and b >= start]\n"
                                "    if not p: raise ValueError('none')\n    return p",
        "only the first piece": "def span_to_token_positions(offsets, start, end):\n"
                                "    offsets = offsets.tolist() if hasattr(offsets, 'tolist') else offsets\n"
                                "    p = [i for i, (a, b) in enumerate(offsets) if b > a and a < end and b > start]\n"
                                "    if not p: raise ValueError('none')\n    return p[:1]",
        "a <= end": "def span_to_token_positions(offsets, start, end):\n"
                    "    offsets = offsets.tolist() if hasattr(offsets, 'tolist') else offsets\n"
                    "    p = [i for i, (a, b) in enumerate(offsets) if b > a and a <= end and b > start]\n"
                    "    if not p: raise ValueError('none')\n    return p",
        "returns [] instead of raising": "def span_to_token_positions(offsets, start, end):\n"
                                "    offsets = offsets.tolist() if hasattr(offsets, 'tolist') else offsets\n"
                                "    return [i for i, (a, b) in enumerate(offsets) if b > a and a < end and b > start]",
    },
    "ex_pair": {
        "wrong order": "def my_pair_features(u, v):\n    return torch.cat([u, v, u * v, (u - v).abs()], -1)",
        "signed difference": "def my_pair_features(u, v):\n"
                             "    if u.shape != v.shape or not len(u): raise ValueError('x')\n"
                             "    return torch.cat([u, v, u - v, u * v], -1)",
        "no check of an empty batch": "def my_pair_features(u, v):\n"
                                      "    if u.shape != v.shape: raise ValueError('x')\n"
                                      "    return torch.cat([u, v, (u - v).abs(), u * v], -1)",
    },
    "ex_probe": {
        "every layer's features at once": "def probe_per_layer(tx, ty, sx, sy, k):\n"
            "    m = probe.fit_linear_probe(tx.flatten(1), ty, k)\n"
            "    a = float((m(sx.flatten(1)).argmax(-1) == sy).float().mean())\n    return [a] * tx.shape[1]",
        "training accuracy": "def probe_per_layer(tx, ty, sx, sy, k):\n"
            "    out = []\n    for l in range(tx.shape[1]):\n"
            "        m = probe.fit_linear_probe(tx[:, l], ty, k)\n"
            "        out.append(float((m(tx[:, l]).argmax(-1) == ty).float().mean()))\n    return out",
        "a tensor, not a list": "def probe_per_layer(tx, ty, sx, sy, k):\n"
            "    return torch.tensor(probe.probe_layers(tx, ty, sx, sy, k))",
    },
}
TEST_OF = {"ex_span": "test_span", "ex_pair": "test_pair", "ex_probe": "test_probe"}


@pytest.mark.parametrize("exercise", sorted(BROKEN))
def test_exercise_tests_pass_the_solution_and_fail_each_broken_answer(base_namespace, exercise, capsys):
    _run_cell(TEST_OF[exercise], _with_solution(base_namespace, exercise))
    assert "all checks passed" in capsys.readouterr().out
    for label, source in BROKEN[exercise].items():
        ns = dict(base_namespace)
        exec(source, ns)
        with pytest.raises(AssertionError):
            _run_cell(TEST_OF[exercise], ns)
            pytest.fail(f"a broken {exercise} ({label}) passed {TEST_OF[exercise]}")


def test_a_token_that_starts_at_the_span_end_fails_the_visible_test(base_namespace):
    visible = cell_by_grade_id(_notebook(), "test_span").source.split("### BEGIN HIDDEN TESTS")[0]
    ns = dict(base_namespace)
    exec(BROKEN["ex_span"]["a <= end"], ns)
    with pytest.raises(AssertionError, match="Rule 1: overlap means a < end"):
        exec(compile(visible, "<test_span visible>", "exec"), ns)


def test_every_visible_assert_names_its_rule():
    nb = _notebook()
    for grade_id in TEST_OF.values():
        visible = cell_by_grade_id(nb, grade_id).source.split("### BEGIN HIDDEN TESTS")[0]
        for line in visible.splitlines():
            if line.lstrip().startswith("assert "):
                block = visible[visible.index(line):].split("\n\n")[0]
                assert "Rule" in block, f"{grade_id}: this assert does not name its rule:\n{line}"


# --------------------------------------------------------- real nbgrader, one run

WRONG_SUBMISSIONS = {
    # student: (answer cell, what replaces it, the test cell that must lose its points)
    "wrong_quiz_1": ("quiz_1", "_a = probe_results['minilm']['wic']\n"
                                "QUIZ_1 = min(range(len(_a)), key=lambda l: _a[l])", "test_quiz_1"),
    "wrong_quiz_2": ("quiz_2", 'QUIZ_2 = "a"', "test_quiz_2"),
    "wrong_span": ("ex_span", BROKEN["ex_span"]["only the first piece"], "test_span"),
}


@pytest.mark.slow
def test_a_wrong_answer_loses_exactly_that_questions_points(tmp_path):
    solution = solution_as_submission(ASSIGNMENT, NOTEBOOK)
    rel = f"{ASSIGNMENT}/{NOTEBOOK}.ipynb"
    submissions = {student: {rel: with_cell_source(solution, cell, source)}
                   for student, (cell, source, _lost) in WRONG_SUBMISSIONS.items()}
    scores = autograde(submissions, tmp_path)
    for student, (_cell, _source, lost) in WRONG_SUBMISSIONS.items():
        got = scores[student][NOTEBOOK]
        autograded = {gid: top for gid, (_score, top) in got.items() if gid.startswith("test_")}
        assert lost in autograded and len(autograded) == 5, got
        expected = {gid: (0.0 if gid == lost else top) for gid, top in autograded.items()}
        assert {gid: got[gid][0] for gid in autograded} == expected, f"{student} should lose only {lost}: {got}"


# ------------------------------------------- Quiz 1 under make grade: the student's own run decides

def _grading_run_accuracies() -> list[float]:
    """The word-in-context accuracies per layer that the grader's rerun of the notebook gets (the
    notebook's cells run in grading mode, as tests/planted/runner.py runs them)."""
    import importlib.util
    import os

    from autograder.course.course import REPO_ROOT

    spec = importlib.util.spec_from_file_location("planted_runner", REPO_ROOT / "tests" / "planted" / "runner.py")
    runner = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(runner)
    old = os.environ.get("NBGRADER_EXECUTION")
    os.environ["NBGRADER_EXECUTION"] = "autograde"
    try:
        torch.set_num_threads(1)
        cells = runner.notebook_cells(ASSIGNMENT, NOTEBOOK)
        upto = next(i for i, c in enumerate(cells) if c["id"] == "run_probes")
        ns: dict = {"__name__": "__main__"}
        runner.run_cells(cells[:upto + 1], ns)
        return list(ns["probe_results"]["minilm"]["wic"])
    finally:
        if old is None:
            os.environ.pop("NBGRADER_EXECUTION", None)
        else:
            os.environ["NBGRADER_EXECUTION"] = old


@pytest.mark.slow
def test_a_student_whose_run_peaks_elsewhere_than_the_graders_keeps_the_quiz_point(tmp_path):
    """Issue 20: the grader reruns notebook 06 with 200/100 pairs; a student's own run peaked at
    another layer, and QUIZ_1 names that layer. With the run recorded in the notebook handed in,
    the answer keeps its point under make grade; the same answer without the record is judged
    against the rerun, loses it, and the feedback says why."""
    import csv
    import html

    from autograder.course.cohort import submission, to_bytes
    from encoder_lib.checks.plain import describe, to_json
    from encoder_lib.checks.record import MIME

    rerun = _grading_run_accuracies()
    layer = min(range(len(rerun)), key=rerun.__getitem__)          # the grader's run is lowest here
    assert rerun[layer] < max(rerun) - 0.01
    own = [0.5] * len(rerun)
    own[layer] = 0.75                                                # the student's run peaked there
    for student, recorded in (("recorded", True), ("not_recorded", False)):
        nb = submission(ASSIGNMENT, NOTEBOOK)
        record = cell_by_grade_id(nb, "record_probes")
        record.outputs = [nbformat.v4.new_output("display_data", data={
            "text/plain": "Recorded in this notebook for grading: ...",
            MIME: {"key": "probe_results", "value": to_json(describe({"minilm": {"wic": own}}))}})] if recorded else []
        cell_by_grade_id(nb, "quiz_1").source = f"QUIZ_1 = {layer}"
        (tmp_path / "in" / student).mkdir(parents=True)
        (tmp_path / "in" / student / f"{NOTEBOOK}.ipynb").write_bytes(to_bytes(nb))
    make_grade(tmp_path / "in", tmp_path / "out")
    with open(tmp_path / "out" / "grades.csv", newline="") as f:
        quiz = {r["student"]: float(r["score"] or 0) for r in csv.DictReader(f)
                if r["notebook"] == NOTEBOOK and r["grade_id"] == "test_quiz_1"}
    assert quiz == {"recorded": 1.0, "not_recorded": 0.0}, quiz
    page = html.unescape((tmp_path / "out" / "feedback" / "not_recorded" / ASSIGNMENT / f"{NOTEBOOK}.html").read_text())
    assert "holds no recorded probe_results" in page
