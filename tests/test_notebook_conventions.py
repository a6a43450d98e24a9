"""One set of conventions across the notebooks: every exercise and quiz heading shows its
points, and they add up to the points of the test cells that follow it."""
from __future__ import annotations

import re

import nbformat
import pytest

from autograder.course.course import course_notebooks

HEADING = re.compile(r"^#{2,3} (Exercise|Quiz)\b.*$", re.MULTILINE)
POINTS = re.compile(r"\((\d+) points?\b")


@pytest.mark.parametrize("nb", course_notebooks(), ids=str)
def test_every_exercise_and_quiz_heading_shows_its_points(nb):
    notebook = nbformat.read(nb.source(), as_version=4)
    for cell in notebook.cells:
        if cell.cell_type != "markdown":
            continue
        for heading in HEADING.finditer(cell.source):
            line = heading.group(0)
            if line.startswith("##") and not line.startswith("###") and "Quiz" not in line:
                continue
            assert POINTS.search(line), f"{nb}: the heading {line!r} does not show its points"


@pytest.mark.parametrize("nb", course_notebooks(), ids=str)
def test_exercise_points_in_the_heading_are_those_of_its_test(nb):
    notebook = nbformat.read(nb.source(), as_version=4)
    heading_points, tests = None, 0
    checked = 0
    for cell in notebook.cells + [nbformat.v4.new_markdown_cell("### Exercise end (0 points)")]:
        meta = cell.get("metadata", {}).get("nbgrader", {})
        match = re.search(r"^### Exercise \d+ .*\((\d+) points?\)\s*$", cell.source, re.MULTILINE) \
            if cell.cell_type == "markdown" else None
        if match or (cell.cell_type == "markdown" and re.search(r"^### Quiz", cell.source, re.MULTILINE)):
            if heading_points is not None:
                assert tests == heading_points, (f"{nb}: an exercise heading says {heading_points} points, "
                                                 f"its test cells give {tests}")
                checked += 1
            heading_points, tests = (int(match.group(1)) if match else None), 0
        elif meta.get("grade") and not meta.get("solution") and heading_points is not None and tests == 0:
            tests += meta.get("points", 0)
    if nb.name != "00_setup":
        assert checked, f"{nb}: no exercise heading with points found"
