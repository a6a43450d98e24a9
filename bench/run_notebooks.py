"""Run every solution notebook top to bottom in an IPython shell (no Jupyter server),
as a student would on Colab, and print the device each saw and its wall time.

Meant for a GPU machine that has torch but no Jupyter: IPython alone runs the cells
(magics, display and widgets work; widgets just have no front end to draw on).
Outside grading mode, so the notebooks run at full size.

    python bench/run_notebooks.py [--grading] [NOTEBOOK ...]
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def run_notebook(path: Path) -> tuple[float, list[str]]:
    """Wall seconds and the errors (one line each) of running ``path``'s code cells."""
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
        result = shell.run_cell(source, silent=False, store_history=False)
        if not result.success:
            err = result.error_in_exec or result.error_before_exec
            grade_id = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id", f"cell {i}")
            errors.append(f"{grade_id}: {type(err).__name__}: {err}")
    return time.perf_counter() - start, errors


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("notebooks", nargs="*", type=Path)
    parser.add_argument("--grading", action="store_true", help="set NBGRADER_EXECUTION (shortened cells)")
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
        seconds, errors = run_notebook(nb)
        failed += bool(errors)
        print(f"{nb.name:<40} {seconds:>8.1f}  {'ok' if not errors else 'FAILED'}", flush=True)
        for e in errors:
            print(f"    {e[:300]}", flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
