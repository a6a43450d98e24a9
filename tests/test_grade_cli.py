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
from autograder.grade import in_shard, parse_args
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


def test_a_job_arrays_task_grades_its_share(monkeypatch):
    for var in ("SLURM_ARRAY_TASK_ID", "SLURM_ARRAY_TASK_MIN", "SLURM_ARRAY_TASK_COUNT", "JOB_COMPLETION_INDEX",
                "AUTOGRADER_SHARDS"):
        monkeypatch.delenv(var, raising=False)
    with pytest.raises(SystemExit):                       # no job array: a clear error
        parse_args(["--shard", "env"])
    monkeypatch.setenv("SLURM_ARRAY_TASK_ID", "2")        # sbatch --array=0-2: tasks 0, 1, 2
    monkeypatch.setenv("SLURM_ARRAY_TASK_MIN", "0")
    monkeypatch.setenv("SLURM_ARRAY_TASK_COUNT", "3")
    args = parse_args(["--shard", "env"])
    assert (args.shard_i, args.shard_n) == (3, 3)
    for var in ("SLURM_ARRAY_TASK_ID", "SLURM_ARRAY_TASK_MIN", "SLURM_ARRAY_TASK_COUNT"):
        monkeypatch.delenv(var)
    monkeypatch.setenv("JOB_COMPLETION_INDEX", "0")       # a Kubernetes indexed Job of 4 completions
    monkeypatch.setenv("AUTOGRADER_SHARDS", "4")
    args = parse_args(["--shard", "env"])
    assert (args.shard_i, args.shard_n) == (1, 4)


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
    # one assignment per notebook (the default): the part's other notebooks are not charged
    others = [r for r in rows if r["notebook"] != NB]
    assert others and all(r["status"] == "missing" and float(r["max_score"]) == 0 for r in others)
    with open(out / "totals.csv", newline="") as f:
        table = list(csv.DictReader(f))
    totals = {r["student"]: r for r in table}
    points = sum(float(r["max_score"]) for r in ada)
    assert list(table[0])[:2] == ["student", NB]           # a column per notebook handed in
    assert float(totals["ada"]["total"]) == points and totals["ben"]["total"] == "0"
    assert float(totals["ada"]["max_total"]) == points and totals["ada"]["percent"] == "100.0"
    assert "was not handed in" not in (out / "report.txt").read_text()   # nobody handed the others in
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
    # the same bytes under other names (a new export, browser renamings) are up to date too
    renamed = root / "renamed"
    for student, name in (("ada", f"Copy of {NB}.ipynb"), ("ben", f"{NB} (1).ipynb")):
        (renamed / student).mkdir(parents=True)
        (renamed / student / name).write_bytes((subs / student / f"{NB}.ipynb").read_bytes())
    moved = grade(renamed, out, "--quiet")
    assert moved.returncode == 0, moved.stderr[-3000:]
    assert "0 notebook(s) in 0 job(s); 2 job(s) up to date" in (out / "report.txt").read_text()
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


def _grading_processes(marker: str) -> dict[int, str]:
    """pid -> command line of the live processes that belong to a grading run whose paths
    hold ``marker`` (workers) or that run a grading kernel."""
    out = {}
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            cmd = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        ours = str(Path(sys.executable).parent) in cmd          # run by this test's Python
        if state != "Z" and (marker in cmd or ("kernel_boot.py" in cmd and ours)):
            out[int(pid)] = cmd
    return out


@pytest.mark.slow
@pytest.mark.parametrize("how", ["SIGINT", "SIGTERM"])
def test_stopping_a_run_says_how_to_resume_and_leaves_no_process(tmp_path, how):
    import signal
    import time

    nb = submission(PART, NB)
    cell = next(c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") == "quiz_2")
    cell.source = "while True:\n    pass"             # keeps its kernel busy until stopped
    (tmp_path / "subs" / "ada").mkdir(parents=True)
    (tmp_path / "subs" / "ada" / f"{NB}.ipynb").write_bytes(to_bytes(nb))
    env = dict(os.environ, PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}")
    marker = str(tmp_path / "out")
    before = set(_grading_processes(marker))          # other grading runs' kernels are not ours
    proc = subprocess.Popen([sys.executable, "-m", "autograder.grade", str(tmp_path / "subs"), "--out",
                             str(tmp_path / "out"), "--no-progress", "--quiet", "--timeout", "600"],
                            cwd=REPO_ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 600
    while not any("kernel_boot.py" in c for p, c in _grading_processes(marker).items() if p not in before) or \
            not (tmp_path / "out" / ".state" / "workers").is_dir():
        assert proc.poll() is None and time.monotonic() < deadline, proc.communicate()
        time.sleep(0.5)
    time.sleep(3)                                         # well inside the busy cell
    proc.send_signal(getattr(signal, how))
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err[-3000:]
    assert "Traceback" not in err and "run the same command again" in err.lower().replace("\n", " ")
    for _ in range(20):
        left = [c for p, c in _grading_processes(marker).items() if p not in before]
        if not left:
            break
        time.sleep(0.5)
    assert not left, left


@pytest.mark.slow
def test_one_assignment_per_part_charges_the_notebooks_of_the_part_not_handed_in(graded, tmp_path):
    """class.toml says each part is one assignment: the same grading, combined again, charges
    the part's other notebooks (0 of their points) and has one column per part."""
    root, subs, out, first, before = graded
    part_mode = tmp_path / "class.toml"
    part_mode.write_text('assignments = "part"\n', encoding="utf-8")
    env = dict(os.environ, PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}")
    proc = subprocess.run([sys.executable, "-m", "autograder.reporting.combine", "--out", str(tmp_path / "c"),
                           "--class-config", str(part_mode), "--quiet", str(out)],
                          cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    with open(tmp_path / "c" / "grades.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    others = [r for r in rows if r["notebook"] != NB and r["student"] == "ada"]
    assert others and all(r["status"] == "missing" and float(r["max_score"]) > 0 for r in others)
    with open(tmp_path / "c" / "totals.csv", newline="") as f:
        table = list(csv.DictReader(f))
    ada = {r["student"]: r for r in table}["ada"]
    assert list(table[0])[:2] == ["student", PART] and float(ada["percent"]) < 100
    report = (tmp_path / "c" / "report.txt").read_text()
    assert "one per part" in report and "this notebook was not handed in" in report
