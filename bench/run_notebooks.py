"""Run every solution notebook top to bottom in an IPython shell (no Jupyter server),
as a student would on Colab, and print the device each saw and its wall time.

Meant for a GPU machine that has torch but no Jupyter: IPython alone runs the cells
(magics, display and widgets work; widgets just have no front end to draw on).
Outside grading mode, so the notebooks run at full size.

    python bench/run_notebooks.py [--grading] [--cells SECONDS] [NOTEBOOK ...]

``--cells S`` also prints every code cell that took longer than S seconds (which cells a
notebook's time goes to); the load average is printed before and after each notebook.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def run_notebook(path: Path, slow_cell: float | None = None) -> tuple[float, list[str]]:
    """Wall seconds and the errors (one line each) of running ``path``'s code cells;
    prints each cell slower than ``slow_cell`` seconds."""
    from IPython.core.interactiveshell import InteractiveShell

    InteractiveShell.clear_instance()
    shell = InteractiveShell.instance()
    cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
    errors = []
    start = time.perf_counter()
    for i, cell in enumerate(cells):
        if cell["cell_type"] != "code":
            continue
        source = "".join(cell["source"])
        grade_id = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id", f"cell {i}")
        t0 = time.perf_counter()
        result = shell.run_cell(source, silent=False, store_history=False)
        took = time.perf_counter() - t0
        if slow_cell is not None and took > slow_cell:
            print(f"[cell time] {grade_id}: {took:.1f} s", flush=True)
        if not result.success:
            err = result.error_in_exec or result.error_before_exec
            errors.append(f"{grade_id}: {type(err).__name__}: {err}")
    return time.perf_counter() - start, errors


def _load() -> str:
    """The 1, 5 and 15-minute load averages (as uptime prints them)."""
    return ", ".join(f"{x:.2f}" for x in os.getloadavg()) if hasattr(os, "getloadavg") else "unknown"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("notebooks", nargs="*", type=Path)
    parser.add_argument("--grading", action="store_true", help="set NBGRADER_EXECUTION (shortened cells)")
    parser.add_argument("--cells", type=float, metavar="SECONDS", help="print the cells slower than this")
    args = parser.parse_args(argv)
    os.environ.setdefault("MPLBACKEND", "Agg")
    if args.grading:
        os.environ["NBGRADER_EXECUTION"] = "autograde"
    sys.path.insert(0, str(ROOT))
    notebooks = [nb.resolve() for nb in args.notebooks] or sorted((ROOT / "solutions").glob("*/*.ipynb"))
    failed = 0
    print("\nnotebook                                  seconds  result", flush=True)
    for nb in notebooks:                          # each row as it finishes, so a cut-off run still reports
        os.chdir(nb.parent)
        print(f"[load] before {nb.name}: {_load()}", flush=True)
        seconds, errors = run_notebook(nb, args.cells)
        print(f"[load] after {nb.name}: {_load()}", flush=True)
        failed += bool(errors)
        print(f"{nb.name:<40} {seconds:>8.1f}  {'ok' if not errors else 'FAILED'}", flush=True)
        for e in errors:
            print(f"    {e[:300]}", flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
