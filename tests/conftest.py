"""Shared fixtures: hermetic Jupyter environments and one real nbgrader grading run.

``graded_course`` builds a scratch nbgrader course from ``solutions/`` and grades, with
real ``nbgrader autograde``, two students: ``solution`` (hands in the solution
notebooks) and ``release`` (hands in the committed release untouched). The notebook
tests and the autograde tests both read it, so each notebook runs once per session.
"""
from __future__ import annotations

import sys
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from autograder.course import (  # noqa: E402
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
    course: ScratchCourse              # where the solutions were graded
    release_course: ScratchCourse      # where the release was graded
    scores: dict                       # ScratchCourse.scores() after the run
    log: str                           # nbgrader's output (stdout + stderr)
    missing_release: list = field(default_factory=list)   # notebooks with no committed release

    def autograded(self, student: str, nb: CourseNotebook) -> Path:
        course = self.release_course if student == RELEASE_STUDENT else self.course
        return course.path("autograded", nb.assignment, student) / nb.filename


@pytest.fixture(scope="session")
def graded_course(tmp_path_factory) -> GradedCourse:
    """The course graded once: solutions and the unmodified release, every notebook.

    The two students grade in two nbgrader runs at the same time (CI has two cores),
    each in its own copy of the scratch course; their gradebooks are read together.
    """
    root = tmp_path_factory.mktemp("graded_course")
    course = make_scratch_course(root / "course", env=jupyter_env(root / "jupyter"))
    release_course = course.clone(root / "course_release", env=jupyter_env(root / "jupyter_release"))
    missing = []
    for nb in course_notebooks():
        course.submit(SOLUTION_STUDENT, nb.assignment, [nb.source()])
        released = nb.release(RELEASE_DIR)
        if released.is_file():
            release_course.submit(RELEASE_STUDENT, nb.assignment, [released])
        else:
            missing.append(nb)

    def grade(c: ScratchCourse) -> str:
        try:
            proc = c.autograde(timeout=AUTOGRADE_TIMEOUT_S)
            return proc.stdout + proc.stderr
        except NbgraderError as err:   # some notebook failed: the tests say which, with this log
            return str(err)

    runs = [c for c in (course, release_course) if any(c.root.glob("submitted/*/*/*.ipynb"))]
    with ThreadPoolExecutor(max_workers=2) as pool:
        logs = list(pool.map(grade, runs))
    scores = {k: v for c in runs for k, v in c.scores().items()}
    return GradedCourse(course, release_course, scores, "\n".join(logs), missing)
