"""Real ``nbgrader autograde`` on the course: the solution notebooks, handed in as a
student would, get full marks on every autograded cell; the release handed in
unchanged gets zero on every one. Scores come from the gradebook."""
from __future__ import annotations

import nbformat
import pytest

from autograder.course.course import course_notebooks
from conftest import RELEASE_STUDENT, SOLUTION_STUDENT

NOTEBOOKS = course_notebooks()
pytestmark = pytest.mark.slow


def autograded_test_cells(nb: nbformat.NotebookNode) -> list[str]:
    """grade_ids of the code cells nbgrader scores by running them (tests, not answers)."""
    return [c.metadata["nbgrader"]["grade_id"] for c in nb.cells
            if c.cell_type == "code" and c.metadata.get("nbgrader", {}).get("grade")
            and not c.metadata["nbgrader"].get("solution")]


def cell_report(path, grade_id: str) -> str:
    """What the graded notebook shows in a cell: its errors and stderr, for a failure message."""
    if not path.is_file():
        return f"(no graded notebook at {path})"
    for cell in nbformat.read(path, as_version=4).cells:
        if cell.get("metadata", {}).get("nbgrader", {}).get("grade_id") == grade_id:
            parts = []
            for out in cell.get("outputs", []):
                if out.output_type == "error":
                    parts.append(f"{out.ename}: {out.evalue}")
                elif out.output_type == "stream" and out.name == "stderr":
                    parts.append("stderr: " + out.text.strip()[:500])
            return "; ".join(parts) or "(no error output)"
    return "(cell missing from the graded notebook)"


def graded_scores(graded_course, student: str, nb) -> dict:
    key = (student, nb.assignment, nb.name)
    if key not in graded_course.scores:
        pytest.fail(f"nbgrader recorded no grades for {student}'s {nb}; its log:\n"
                    f"{graded_course.log[-4000:]}")
    return graded_course.scores[key]


@pytest.mark.parametrize("nb", NOTEBOOKS, ids=str)
def test_solution_notebook_gets_full_marks_on_every_autograded_cell(graded_course, nb):
    scores = graded_scores(graded_course, SOLUTION_STUDENT, nb)
    source = nbformat.read(nb.source(), as_version=4)
    expected = autograded_test_cells(source)
    assert sorted(gid for gid in expected if gid in scores) == sorted(expected), \
        f"{nb}: test cells missing from the gradebook: {sorted(set(expected) - set(scores))}"
    path = graded_course.autograded(SOLUTION_STUDENT, nb)
    lost = {gid: scores[gid] for gid in expected if scores[gid][0] != scores[gid][1]}
    assert not lost, f"{nb}: the solution loses points in " + "; ".join(
        f"{gid} ({got}/{top}): {cell_report(path, gid)}" for gid, (got, top) in lost.items())


@pytest.mark.parametrize("nb", NOTEBOOKS, ids=str)
def test_unmodified_release_gets_zero_on_every_autograded_cell(graded_course, nb):
    if nb in graded_course.missing_release:
        pytest.fail(f"{nb} has no committed release: run `make release`")
    scores = graded_scores(graded_course, RELEASE_STUDENT, nb)
    source = nbformat.read(nb.source(), as_version=4)
    expected = autograded_test_cells(source)
    assert set(expected) <= set(scores), \
        f"{nb}: test cells missing from the gradebook: {sorted(set(expected) - set(scores))}"
    # every automatically scored cell: the tests, and answer cells left as released
    scored = {gid: s for gid, s in scores.items() if s[0] is not None}
    assert set(expected) <= set(scored)
    earned = {gid: s for gid, s in scored.items() if s[0] != 0}
    assert not earned, f"{nb}: the untouched release earns points in " + "; ".join(
        f"{gid} ({got}/{top})" for gid, (got, top) in earned.items())
