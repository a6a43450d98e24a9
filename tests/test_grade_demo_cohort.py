"""The bundled demo class: in sync with its generator, and what ``make grade`` grades by default."""
from __future__ import annotations

import csv
import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import pytest

from autograder.course.course import REPO_ROOT
from autograder.grade import DEFAULT_SUBMISSIONS, parse_args
from autograder.intake.intake import collect

COHORT = REPO_ROOT / "autograder" / "demo_cohort"


def _generator():
    spec = importlib.util.spec_from_file_location("make_demo_cohort", REPO_ROOT / "scripts" / "make_demo_cohort.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_committed_cohort_matches_its_generator():
    expected = _generator().cohort()
    committed = {p.relative_to(COHORT).as_posix(): p.read_bytes() for p in COHORT.rglob("*") if p.is_file()}
    generated = {f"{s}/{name}": data for s, files in expected.items() for name, data in files.items()}
    stale = sorted(k for k in generated if committed.get(k) != generated[k])
    extra = sorted(set(committed) - set(generated))
    assert not stale and not extra, (
        f"autograder/demo_cohort is out of date (changed: {stale[:5]}, extra: {extra[:5]}); "
        "run `python scripts/make_demo_cohort.py`")


def test_make_grade_grades_the_demo_cohort_by_default():
    assert DEFAULT_SUBMISSIONS == COHORT
    assert parse_args([]).submissions == COHORT
    makefile = (REPO_ROOT / "Makefile").read_text()
    assert "SUBMISSIONS ?= autograder/demo_cohort" in makefile


PART1 = {"01_tokens_to_vectors": "part1_representations", "02_self_attention": "part1_representations",
         "03_sequence_representations": "part1_representations"}
PART2 = {"04_masked_lm_pretraining": "part2_pretraining"}


def test_cohort_has_every_kind_of_submission():
    intake = collect(COHORT, {**PART1, **PART2})
    assert len(intake.students) >= 20
    kinds = {(n.student, n.kind) for n in intake.notes}
    assert ("finn", "renamed") in kinds            # Colab's "Copy of ..."
    assert ("gia", "duplicate_file") in kinds      # downloaded twice
    assert all(set(PART1) <= set(files) for files in intake.students.values())
    assert {s for s, files in intake.students.items() if set(PART2) <= set(files)} == {"ada", "ben", "dan", "eve"}
    assert intake.students["eve"]["01_tokens_to_vectors"].raw.strip()[-1:] != b"}"   # cut off
    assert b'"colab"' in intake.students["finn"]["02_self_attention"].raw


# ------------------------------------------------------------ part 2, graded for real

@pytest.fixture(scope="module")
def part2_graded(demo_part2):
    """The rows of notebook 04 from the session's one grading run of the demo cohort's part 2
    (``demo_part2`` in conftest.py, shared with the report.html test)."""
    with open(demo_part2.out / "grades.csv", newline="") as f:
        rows = [r for r in csv.DictReader(f) if r["notebook"] == "04_masked_lm_pretraining"]
    return demo_part2.proc, rows, demo_part2.input_unchanged


@pytest.mark.slow
def test_make_grade_grades_part2_and_each_submission_scores_what_it_should(part2_graded):
    proc, rows, unchanged = part2_graded
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert unchanged, "grading changed a file of the demo cohort"
    by_student: dict = {}
    for r in rows:
        by_student.setdefault(r["student"], {})[r["grade_id"]] = (float(r["score"]), float(r["max_score"]))
    assert {"ada", "ben", "dan", "eve"} <= set(by_student)
    perfect = by_student["ada"]
    assert len(perfect) >= 8 and all(score == top > 0 for score, top in perfect.values()), perfect
    assert all(score == 0 for score, _top in by_student["ben"].values()), by_student["ben"]
    assert by_student["dan"] == {**perfect, "test_quiz_2": (0.0, perfect["test_quiz_2"][1])}, by_student["dan"]
    assert by_student["eve"] == perfect, "a broken training-loop cell must cost no points"


@pytest.mark.slow
def test_the_perfect_student_gets_full_marks_on_every_notebook_under_make_grade(tmp_path):
    """ada's six notebooks, graded the way an instructor grades (sandbox, probes judged in
    the grader) on a machine whose CPUs are all kept busy by other processes: every
    autograded question at full marks, and no cell runs into its time limit. Catches a
    difference between the grading run and a plain notebook run (torch's per-thread grad
    mode once cost notebook 03 eleven points here while the plain runs passed), and course
    cells that hung at random under load."""
    subs = tmp_path / "subs" / "ada"
    subs.mkdir(parents=True)
    for nb in (COHORT / "ada").glob("*.ipynb"):
        (subs / nb.name).write_bytes(nb.read_bytes())
    out = tmp_path / "out"
    env = dict(os.environ, PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}")
    busy = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(os.cpu_count() or 2)]
    try:
        proc = subprocess.run([sys.executable, "-m", "autograder.grade", str(subs.parent), "--out", str(out),
                               "--workers", "2", "--no-progress"],
                              cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=2400)
    finally:
        for p in busy:
            p.kill()
            p.wait()
    assert proc.returncode == 0, proc.stderr[-3000:]
    report = (out / "report.txt").read_text()
    assert "time limit" not in report and "kernel died" not in report, report
    with open(out / "grades.csv", newline="") as f:
        rows = [r for r in csv.DictReader(f) if r["status"] != "manual"]
    assert {r["notebook"] for r in rows} == {nb.stem for nb in (COHORT / "ada").glob("*.ipynb")}
    lost = [(r["notebook"], r["grade_id"], r["score"], r["max_score"]) for r in rows
            if float(r["score"] or 0) != float(r["max_score"])]
    assert not lost, f"the perfect submission lost points: {lost}"
