"""Shared fixtures: hermetic Jupyter environments and one real nbgrader grading run.

``graded_course`` builds a scratch nbgrader course from ``solutions/`` and grades, with
one real ``nbgrader autograde`` run, two students: ``solution`` (hands in the solution
notebooks) and ``release`` (hands in the committed release untouched). The notebook
tests and the autograde tests both read it, so each notebook runs once per session.

``demo_part2`` is ``make grade`` on the bundled demo cohort restricted to part 2 (four
notebook-04 submissions: perfect, the untouched release, one wrong quiz, a broken
training-loop cell), run once per session: the demo-cohort test checks its scores and
the analytics test opens its ``report.html`` in Chromium.
"""
from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from autograder.course.course import (  # noqa: E402
    RELEASE_DIR, CourseNotebook, NbgraderError, ScratchCourse, course_notebooks,
    jupyter_env, make_scratch_course,
)

SOLUTION_STUDENT = "solution"
RELEASE_STUDENT = "release"
#: Upper bound for the whole grading run (every notebook, both students).
AUTOGRADE_TIMEOUT_S = 1800


@pytest.fixture
def hermetic_jupyter(tmp_path, monkeypatch) -> dict:
    """Point this process (and the kernels it starts) at fresh Jupyter/IPython dirs;
    returns the environment, for subprocesses."""
    env = jupyter_env(tmp_path / "jupyter")
    for var in ("JUPYTER_CONFIG_DIR", "JUPYTER_DATA_DIR", "JUPYTER_RUNTIME_DIR", "IPYTHONDIR",
                "PATH", "PYTHONPATH", "JUPYTER_PLATFORM_DIRS"):
        monkeypatch.setenv(var, env[var])
    monkeypatch.delenv("NBGRADER_EXECUTION", raising=False)
    monkeypatch.delenv("NBGRADER_VALIDATING", raising=False)
    return env


@dataclass
class GradedCourse:
    course: ScratchCourse
    scores: dict                       # ScratchCourse.scores() after the run
    log: str                           # nbgrader's output (stdout + stderr)
    missing_release: list = field(default_factory=list)   # notebooks with no committed release

    def autograded(self, student: str, nb: CourseNotebook) -> Path:
        return self.course.path("autograded", nb.assignment, student) / nb.filename


@pytest.fixture(scope="session")
def graded_course(tmp_path_factory) -> GradedCourse:
    """The course graded once: solutions and the unmodified release, every notebook,
    both students in one nbgrader run (measured faster on two cores than two parallel
    runs: 47 s against 55 s for notebooks 00-03)."""
    root = tmp_path_factory.mktemp("graded_course")
    course = make_scratch_course(root / "course", env=jupyter_env(root / "jupyter"))
    missing = []
    for nb in course_notebooks():
        course.submit(SOLUTION_STUDENT, nb.assignment, [nb.source()])
        released = nb.release(RELEASE_DIR)
        if released.is_file():
            course.submit(RELEASE_STUDENT, nb.assignment, [released])
        else:
            missing.append(nb)
    try:
        proc = course.autograde(timeout=AUTOGRADE_TIMEOUT_S)
        log = proc.stdout + proc.stderr
    except NbgraderError as err:   # some notebook failed: the tests say which, with this log
        log = str(err)
    return GradedCourse(course, course.scores(), log, missing)


@dataclass
class DemoRun:
    proc: subprocess.CompletedProcess   # the grading command's outcome
    out: Path                           # its OUT folder
    input_unchanged: bool               # the demo cohort's files are byte for byte as before


@pytest.fixture(scope="session")
def demo_part2(tmp_path_factory) -> DemoRun:
    """``python -m autograder.grade`` on the demo cohort, part 2 only, once per session."""
    cohort = REPO_ROOT / "autograder" / "demo_cohort"
    out = tmp_path_factory.mktemp("demo_part2") / "out"
    before = {p: p.read_bytes() for p in cohort.rglob("*") if p.is_file()}
    env = dict(os.environ, PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}")
    proc = subprocess.run([sys.executable, "-m", "autograder.grade", str(cohort), "--out", str(out),
                           "--assignments", "part2_pretraining", "--workers", "2", "--no-progress"],
                          cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=1200)
    after = {p: p.read_bytes() for p in cohort.rglob("*") if p.is_file()}
    return DemoRun(proc, out, before == after)
