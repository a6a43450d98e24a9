"""Run planted student submissions in the student's view and in the grader's, fast.

    python tests/planted/runner.py tests/planted/01_tokens_to_vectors.json  > results.json

A corpus file (made by ``scripts/make_planted_bugs.py``) names a notebook and holds
*variants*: one answer cell of the solution notebook replaced by a buggy or an
alternative answer. For each variant this runs the notebook's code cells in order in
one Python process, twice:

- **student view**: every test cell as the release has it (visible tests only);
- **grading view**: every test cell as the solutions have it (hidden tests included),
  which is what nbgrader runs when it grades.

A test cell *fails* when it raises or writes to stderr (nbgrader gives such a cell no
points). To stay cheap, the cells before a variant's answer cell run once per view and
notebook (with the correct answers); each variant starts from a copy of that namespace
and runs only its own cell and the ones after it. The output is JSON:
``{variant_id: {"student": {test_id: error or null}, "grading": {...}}}`` plus the
baseline (no variant) under ``"solution"``.
"""
from __future__ import annotations

import contextlib
import io
import json
import os
import signal
import sys
import traceback
from pathlib import Path

os.environ.setdefault("MPLBACKEND", "Agg")
os.environ["NBGRADER_EXECUTION"] = "autograde"      # grading mode, as under nbgrader

REPO_ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO_ROOT))

import nbformat  # noqa: E402

#: Seconds one cell may run before it counts as failed (a planted bug may loop).
CELL_TIMEOUT_S = 120


def _grade_id(cell) -> str | None:
    return cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")


def _is_test(cell) -> bool:
    meta = cell.get("metadata", {}).get("nbgrader", {})
    return cell.cell_type == "code" and bool(meta.get("grade")) and not meta.get("solution")


def student_source(source: str) -> str:
    """An answer cell as a student who solved it hands it in: no solution markers."""
    return "\n".join(line for line in source.splitlines()
                     if line.strip() not in ("### BEGIN SOLUTION", "### END SOLUTION"))


class _CellTimeout(Exception):
    pass


def _on_alarm(signum, frame):
    raise _CellTimeout(f"the cell ran longer than {CELL_TIMEOUT_S} s")


def run_cell(source: str, ns: dict, name: str) -> str | None:
    """Execute one cell in ``ns``; None if it ran cleanly, else what went wrong."""
    import matplotlib.pyplot as plt
    err = io.StringIO()
    signal.signal(signal.SIGALRM, _on_alarm)
    signal.alarm(CELL_TIMEOUT_S)
    try:
        with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
            exec(compile(source, f"<cell {name}>", "exec"), ns)
    except BaseException as exc:   # noqa: BLE001 - a failing cell is a result here
        if isinstance(exc, KeyboardInterrupt):
            raise
        return "".join(traceback.format_exception_only(type(exc), exc)).strip()[-2000:]
    finally:
        signal.alarm(0)
        plt.close("all")
    return f"wrote to stderr: {err.getvalue().strip()[:500]}" if err.getvalue().strip() else None


def notebook_cells(assignment: str, notebook: str) -> list[dict]:
    """The code cells in order: grade id, kind, and source in each view."""
    solution = nbformat.read(REPO_ROOT / "solutions" / assignment / f"{notebook}.ipynb", as_version=4)
    release = nbformat.read(REPO_ROOT / "notebooks" / assignment / f"{notebook}.ipynb", as_version=4)
    released = {_grade_id(c): c.source for c in release.cells if _grade_id(c)}
    cells = []
    for index, cell in enumerate(solution.cells):
        if cell.cell_type != "code":
            continue
        gid = _grade_id(cell) or f"cell{index}"
        test = _is_test(cell)
        answer = student_source(cell.source)
        cells.append({"id": gid, "test": test,
                      "student": released.get(gid, cell.source) if test else answer,
                      "grading": cell.source if test else answer})
    return cells


def run_corpus(corpus: dict) -> dict:
    cells = notebook_cells(corpus["assignment"], corpus["notebook"])
    position = {c["id"]: i for i, c in enumerate(cells)}
    variants = [{"id": "solution", "grade_id": cells[0]["id"], "source": None}] + corpus["variants"]
    variants.sort(key=lambda v: position[v["grade_id"]])
    results: dict = {v["id"]: {} for v in variants}
    for view in ("student", "grading"):
        base: dict = {"__name__": "__main__"}
        done = 0                                     # cells [0, done) have run in `base`
        for variant in variants:
            start = position[variant["grade_id"]]
            for cell in cells[done:start]:
                run_cell(cell[view], base, cell["id"])
            done = start
            ns = dict(base)
            outcome = {}
            for cell in cells[start:]:
                source = cell[view]
                if cell["id"] == variant["grade_id"] and variant["source"] is not None:
                    source = variant["source"]
                error = run_cell(source, ns, cell["id"])
                if cell["test"]:
                    outcome[cell["id"]] = error
            results[variant["id"]][view] = outcome
    return results


def main(argv: list[str]) -> int:
    out = {}
    for path in argv:
        corpus = json.loads(Path(path).read_text(encoding="utf-8"))
        out[corpus["notebook"]] = run_corpus(corpus)
    json.dump(out, sys.stdout, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
