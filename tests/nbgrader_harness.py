"""Grade hand-made submissions with real nbgrader, for tests that need scores.

    scores = autograde({"alice": {"part1_representations/03_sequence_representations.ipynb": nb}}, tmp_path)
    scores["alice"]["03_sequence_representations"]["test_quiz_2"]   # (score, max_score)

Every student is graded in one ``nbgrader autograde`` run of a scratch course made
from ``solutions/`` (the gradebook holds the hidden tests, as in real grading).
"""
from __future__ import annotations

import copy
import os
import subprocess
import sys
from pathlib import Path

import nbformat

from autograder.course.course import RELEASE_DIR, REPO_ROOT, SOLUTIONS_DIR, make_scratch_course


def release_notebook(assignment: str, name: str) -> nbformat.NotebookNode:
    """The student release of a notebook (``name`` with or without .ipynb)."""
    return nbformat.read(RELEASE_DIR / assignment / _filename(name), as_version=4)


def solution_as_submission(assignment: str, name: str) -> nbformat.NotebookNode:
    """The instructor's solution notebook, as a student who got everything right would
    hand it in (hidden tests are restored from the gradebook when grading anyway)."""
    return nbformat.read(SOLUTIONS_DIR / assignment / _filename(name), as_version=4)


def cell_by_grade_id(nb: nbformat.NotebookNode, grade_id: str) -> nbformat.NotebookNode:
    for cell in nb.cells:
        if cell.get("metadata", {}).get("nbgrader", {}).get("grade_id") == grade_id:
            return cell
    raise KeyError(f"no cell with grade_id {grade_id!r}")


def with_cell_source(nb: nbformat.NotebookNode, grade_id: str, source: str) -> nbformat.NotebookNode:
    """A copy of ``nb`` whose cell ``grade_id`` holds ``source`` instead."""
    nb = copy.deepcopy(nb)
    cell_by_grade_id(nb, grade_id).source = source
    return nb


def autograde(submissions: dict[str, dict[str, nbformat.NotebookNode]], workdir: Path,
              timeout: float = 900) -> dict[str, dict[str, dict[str, tuple[float, float]]]]:
    """Grade ``{student: {"<assignment>/<notebook>.ipynb": notebook}}``; returns
    ``{student: {notebook_stem: {grade_id: (score, max_score)}}}``."""
    assignment_ids = sorted({rel.split("/")[0] for nbs in submissions.values() for rel in nbs})
    course = make_scratch_course(Path(workdir) / "course", assignment_ids=assignment_ids)
    for student, notebooks in submissions.items():
        for rel, nb in notebooks.items():
            assignment, filename = rel.split("/")
            folder = course.path("submitted", assignment, student)
            folder.mkdir(parents=True, exist_ok=True)
            nbformat.write(nb, folder / filename)
    course.autograde(timeout=timeout)
    result: dict = {}
    for (student, _assignment, notebook), grades in course.scores().items():
        result.setdefault(student, {})[notebook] = {gid: (score or 0.0, top) for gid, (score, top) in grades.items()}
    return result


def _filename(name: str) -> str:
    return name if name.endswith(".ipynb") else f"{name}.ipynb"


def make_grade(submissions: Path, out: Path, *args: str, timeout: float = 1800) -> subprocess.CompletedProcess:
    """``python -m autograder.grade SUBMISSIONS --out OUT`` as ``make grade`` runs it (the
    venv's tools on PATH); the test fails, with grading's stderr, unless it exits 0."""
    env = dict(os.environ, PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}")
    proc = subprocess.run([sys.executable, "-m", "autograder.grade", str(submissions), "--out", str(out),
                           "--no-progress", "--quiet", *args], cwd=REPO_ROOT, env=env, capture_output=True,
                          text=True, timeout=timeout)
    assert proc.returncode == 0, proc.stderr[-4000:]
    return proc
