"""``python -m autograder.grade`` end to end on a small folder of submissions: the files
it writes, re-runs that skip graded work, ``--redo``, and deterministic shards."""
from __future__ import annotations

import csv
import hashlib
import os
import subprocess
import sys
from pathlib import Path

import pytest

from autograder.course.cohort import submission, to_bytes
from autograder.course.course import REPO_ROOT
from autograder.grade import in_shard
from autograder.reporting.merge import GRADES_COLUMNS

PART, NB = "part1_representations", "01_tokens_to_vectors"


def grade(subs: Path, out: Path, *extra: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}")
    return subprocess.run([sys.executable, "-m", "autograder.grade", str(subs), "--out", str(out),
                           "--no-progress", *extra], cwd=REPO_ROOT, env=env, capture_output=True,
                          text=True, timeout=900)


def digest(root: Path) -> dict:
    return {str(p.relative_to(root)): (hashlib.sha256(p.read_bytes()).hexdigest(), p.stat().st_mtime_ns)
            for p in sorted(root.rglob("*")) if p.is_file()}


def test_shards_split_students_deterministically():
    students = [f"s{i:03d}" for i in range(200)]
    shares = [[s for s in students if in_shard(s, i, 3)] for i in (1, 2, 3)]
    assert sorted(sum(shares, [])) == students
    assert all(len(share) > 40 for share in shares)
    assert shares[0] == [s for s in students if in_shard(s, 1, 3)]


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    root = tmp_path_factory.mktemp("cli")
    subs = root / "subs"
    for student, solved in (("ada", None), ("ben", set())):
        (subs / student).mkdir(parents=True)
        (subs / student / f"{NB}.ipynb").write_bytes(to_bytes(submission(PART, NB, solved)))
    before = digest(subs)
    out = root / "out"
    first = grade(subs, out, "--workers", "2")
    return root, subs, out, first, before


@pytest.mark.slow
def test_grading_writes_every_output_and_leaves_the_input_alone(graded):
    root, subs, out, first, before = graded
    assert first.returncode == 0, first.stderr[-3000:]
    assert digest(subs) == before
    assert "CLASS TABLE" in first.stdout and (out / "report.txt").read_text() in first.stdout
    with open(out / "grades.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert list(rows[0]) == GRADES_COLUMNS
    ada = [r for r in rows if r["student"] == "ada" and r["notebook"] == NB]
    ben = [r for r in rows if r["student"] == "ben" and r["notebook"] == NB]
    assert ada and all(r["status"] == "passed" and r["score"] == r["max_score"] for r in ada)
    assert ben and all(float(r["score"]) == 0 and r["status"] == "not answered" for r in ben)
    others = [r for r in rows if r["notebook"] != NB]
    assert others and all(r["status"] == "missing" and float(r["score"]) == 0 for r in others)
    with open(out / "totals.csv", newline="") as f:
        totals = {r["student"]: r for r in csv.DictReader(f)}
    points = sum(float(r["max_score"]) for r in ada)
    assert float(totals["ada"]["total"]) == points and totals["ben"]["total"] == "0"
    assert float(totals["ada"]["max_total"]) == sum(float(r["max_score"]) for r in rows if r["student"] == "ada")
    assert (out / "feedback" / "ada" / PART / f"{NB}.html").is_file()
    assert (out / "autograded" / "ben" / PART / f"{NB}.ipynb").is_file()

    from nbgrader.api import Gradebook
    with Gradebook(f"sqlite:///{out / 'gradebook.db'}") as gb:
        assert {s.id for s in gb.students} == {"ada", "ben"}
        assert gb.find_submission_notebook(NB, PART, "ada").score == points


@pytest.mark.slow
def test_a_rerun_skips_graded_work_and_redo_grades_again(graded):
    root, subs, out, first, before = graded
    csv_before = (out / "grades.csv").read_text()
    again = grade(subs, out, "--quiet")
    assert again.returncode == 0, again.stderr[-3000:]
    report = (out / "report.txt").read_text()
    assert "0 notebook(s) in 0 job(s); 2 job(s) up to date" in report
    assert (out / "grades.csv").read_text() == csv_before
    shard = grade(subs, out, "--quiet", "--shard", "2/2")
    assert shard.returncode == 0
    with open(out / "grades.csv", newline="") as f:
        assert {r["student"] for r in csv.DictReader(f)} == {s for s in ("ada", "ben") if in_shard(s, 2, 2)}
    redo = grade(subs, out, "--quiet", "--redo", "--workers", "1", "--shard", "1/1")
    assert redo.returncode == 0
    assert "2 notebook(s) in 2 job(s)" in (out / "report.txt").read_text()
    assert (out / "grades.csv").read_text() == csv_before
    assert digest(subs) == before


@pytest.mark.slow
def test_shards_graded_apart_combine_into_the_whole_class(graded):
    root, subs, out, first, before = graded
    shards = [root / "shard1", root / "shard2"]
    for i, shard in enumerate(shards, 1):
        proc = grade(subs, shard, "--quiet", "--shard", f"{i}/2", "--workers", "1")
        assert proc.returncode == 0, proc.stderr[-3000:]
    combined = root / "combined"
    env = dict(os.environ, PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}")
    proc = subprocess.run([sys.executable, "-m", "autograder.reporting.combine", "--out", str(combined), "--quiet",
                           *map(str, shards)], cwd=REPO_ROOT, env=env, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr[-3000:]
    read = lambda p: sorted(csv.reader(open(p, newline="")))   # noqa: E731
    assert read(combined / "grades.csv") == read(out / "grades.csv")
    assert (combined / "feedback" / "ada" / PART / f"{NB}.html").is_file()
    assert "CLASS TABLE" in (combined / "report.txt").read_text()
