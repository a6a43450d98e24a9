"""Feedback and grades say what is true (one real ``python -m autograder.grade`` run):

- a written answer that waits for a person shows as pending, not 0, in the feedback page
  and in the report;
- an exercise that was answered is not reported "not answered" because the test reached
  an earlier exercise that was not;
- a crash in a hidden test names the call that failed (the tests call the student's
  functions through ``encoder_lib.checks.checked_call``).
"""
from __future__ import annotations

import csv
import os
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from autograder.course.cohort import submission, to_bytes
from autograder.course.course import REPO_ROOT

pytestmark = pytest.mark.slow
PART = "part1_representations"
NB1, NB3 = "01_tokens_to_vectors", "03_sequence_representations"
#: every answer of notebook 01 but wordpiece, which encode calls
ALL_BUT_WORDPIECE = {"ex_encode", "quiz_1", "ex_pad_batch", "quiz_2", "ex_layer_norm", "ex_embed"}
#: a wordpiece that crashes on a word only the hidden tests try
CRASH = ('    if len(word) > max_chars:', '    if word == "wrods":\n        1 / 0\n    if len(word) > max_chars:')


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    root = tmp_path_factory.mktemp("truthful")
    subs = root / "subs"
    (subs / "cara").mkdir(parents=True)
    (subs / "cara" / f"{NB1}.ipynb").write_bytes(to_bytes(submission(PART, NB1, ALL_BUT_WORDPIECE)))
    (subs / "cara" / f"{NB3}.ipynb").write_bytes(to_bytes(submission(PART, NB3)))
    dan = submission(PART, NB1)
    for cell in dan.cells:
        if cell.get("metadata", {}).get("nbgrader", {}).get("grade_id") == "ex_wordpiece":
            assert CRASH[0] in cell.source
            cell.source = cell.source.replace(*CRASH)
    (subs / "dan").mkdir()
    (subs / "dan" / f"{NB1}.ipynb").write_bytes(to_bytes(dan))
    out = root / "out"
    env = dict(os.environ, PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}")
    proc = subprocess.run([sys.executable, "-m", "autograder.grade", str(subs), "--out", str(out),
                           "--no-progress", "--workers", "2"], cwd=REPO_ROOT, env=env, capture_output=True,
                          text=True, timeout=1500)
    assert proc.returncode == 0, proc.stderr[-3000:]
    with open(out / "grades.csv", newline="") as f:
        rows = {(r["student"], r["notebook"], r["grade_id"]): r for r in csv.DictReader(f)}
    return out, rows


def test_a_written_answer_not_yet_graded_shows_as_pending_not_zero(graded):
    out, rows = graded
    row = rows[("cara", NB3, "written_quiz_4")]
    assert row["status"] == "manual" and row["score"] == "", row
    page = (out / "feedback" / "cara" / PART / f"{NB3}.html").read_text(encoding="utf-8")
    assert page.count("pending (graded by hand)") == 2, "the table of contents and the cell both say pending"
    assert "3 of these points are still to be graded by hand" in page
    report = (out / "report.txt").read_text(encoding="utf-8")
    assert "3 pt" in report and "pending: points of written answers" in report


def test_an_answered_exercise_is_not_reported_unanswered_because_of_an_earlier_one(graded):
    _, rows = graded
    assert rows[("cara", NB1, "test_wordpiece")]["status"] == "not answered"
    encode = rows[("cara", NB1, "test_encode")]
    assert encode["status"] == "failed" and float(encode["score"]) == 0, encode


def test_a_failing_hidden_check_names_the_error_but_not_the_hidden_input(graded):
    out, _ = graded
    graded_nb = nbformat.read(out / "autograded" / "dan" / PART / f"{NB1}.ipynb", as_version=4)
    cell = next(c for c in graded_nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") == "test_wordpiece")
    errors = [o for o in cell.outputs if o.output_type == "error"]
    assert errors and "raised ZeroDivisionError in a hidden check" in errors[0].evalue, errors
    assert "wordpiece(" not in errors[0].evalue
    page = (out / "feedback" / "dan" / PART / f"{NB1}.html").read_text(encoding="utf-8")
    assert "raised ZeroDivisionError in a hidden check" in page and "BEGIN HIDDEN TESTS" not in page
