"""Every solution notebook runs top to bottom on the CPU with no error and nothing on
stderr (nbgrader zeroes a test cell that writes to stderr).

In grading mode (``NBGRADER_EXECUTION`` set) the notebooks are the ones nbgrader
executed with nbclient in the session's grading run (``graded_course``), so each runs
once per session; the set-up notebook also runs here directly, outside grading mode.
"""
from __future__ import annotations

import nbformat
import pytest
from nbclient import NotebookClient

from autograder.course.course import course_notebooks
from conftest import SOLUTION_STUDENT

NOTEBOOKS = course_notebooks()
pytestmark = pytest.mark.slow


def problems(nb: nbformat.NotebookNode) -> list[str]:
    """Each cell's error or stderr output, with the start of the cell's source."""
    found = []
    for index, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            continue
        where = cell.metadata.get("nbgrader", {}).get("grade_id") or f"cell {index}"
        head = cell.source.strip().splitlines()[0][:70] if cell.source.strip() else ""
        for out in cell.get("outputs", []):
            if out.output_type == "error":
                found.append(f"[{where}] {head!r}: {out.ename}: {out.evalue}\n"
                             + "\n".join(out.traceback)[-1500:])
            elif out.output_type == "stream" and out.name == "stderr":
                found.append(f"[{where}] {head!r} wrote to stderr:\n{out.text[:1500]}")
    return found


@pytest.mark.parametrize("nb", NOTEBOOKS, ids=str)
def test_solution_notebook_runs_in_grading_mode_without_errors_or_stderr(graded_course, nb):
    path = graded_course.autograded(SOLUTION_STUDENT, nb)
    assert path.is_file(), f"nbgrader did not execute {nb}; its log:\n{graded_course.log[-4000:]}"
    executed = nbformat.read(path, as_version=4)
    code_cells = [c for c in executed.cells if c.cell_type == "code" and c.source.strip()]
    assert all(c.execution_count is not None for c in code_cells), f"{nb}: not every cell ran"
    found = problems(executed)
    assert not found, f"{nb} in grading mode:\n" + "\n\n".join(found)
    setup_output = "".join(o.get("text", "") for o in code_cells[0].outputs)
    assert "Grading mode" in setup_output, "the setup cell should have seen NBGRADER_EXECUTION"


def test_setup_notebook_runs_outside_grading_mode(hermetic_jupyter, tmp_path):
    setup = next(nb for nb in NOTEBOOKS if nb.name.startswith("00_"))
    nb = nbformat.read(setup.source(), as_version=4)
    NotebookClient(nb, timeout=300, kernel_name="python3",
                   resources={"metadata": {"path": str(tmp_path)}}).execute()
    found = problems(nb)
    assert not found, f"{setup} outside grading mode:\n" + "\n\n".join(found)
    printed = "".join(o.get("text", "") for c in nb.cells if c.cell_type == "code" for o in c.outputs)
    assert "Grading mode" not in printed
    assert "H has shape (1, " in printed, "the hello-encoder cell should print H's shape"
