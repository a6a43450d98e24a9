"""Regenerate the student release ``notebooks/`` from ``solutions/`` (``make release``).

Runs real ``nbgrader generate_assignment`` over every assignment in one go, at the
course root with the course's nbgrader config (solution regions become
``raise NotImplementedError()``, hidden tests and outputs go, test cells are locked and
checksummed), then normalises what would otherwise vary between runs or authors'
machines so the committed release is exactly what this command makes:

- outputs and execution counts are empty;
- notebook metadata is the same for every notebook: a plain Python 3 kernelspec and the
  Colab fields that open it on a GPU runtime;
- files are written in nbformat's canonical JSON layout.

nbgrader writes into a temporary folder first; the finished assignment folders then
replace those in ``notebooks/`` (so a half-written release is never visible). The
gradebook this writes is thrown away (a temporary file): grading builds its own.

    python -m autograder.course.release [--root DIR]
"""
from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from pathlib import Path

import nbformat

from .course import REPO_ROOT, assignments, jupyter_env, run_nbgrader

#: Notebook-level metadata of every release notebook.
RELEASE_METADATA = {
    "kernelspec": {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"},
    "language_info": {"name": "python"},
    # Colab: open on a GPU runtime (a T4 on the free tier); the notebooks also run without.
    "accelerator": "GPU",
    "colab": {"gpuType": "T4", "provenance": []},
}


def normalise_notebook(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """Drop run-dependent fields in place: outputs, execution counts, notebook metadata."""
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs = []
            cell.execution_count = None
        cell.metadata.pop("execution", None)   # timing metadata some front ends add
        cell.metadata.pop("collapsed", None)
        cell.metadata.pop("scrolled", None)
    nb.metadata = nbformat.from_dict(RELEASE_METADATA)
    return nb


def write_notebook(nb: nbformat.NotebookNode, path: Path) -> None:
    """Write ``nb`` in canonical form (sorted keys, one-space indent, final newline)."""
    text = nbformat.writes(nb, version=4)
    path.write_text(text if text.endswith("\n") else text + "\n", encoding="utf-8")


def release(root: Path = REPO_ROOT) -> list[Path]:
    """Regenerate ``root/notebooks`` from ``root/solutions``; return the notebooks written.

    Every assignment folder in ``notebooks/`` is replaced, so notebooks or parts removed
    from ``solutions/`` disappear from the release too. Files at the top of
    ``notebooks/`` are left alone.
    """
    root = Path(root).resolve()
    solutions, notebooks = root / "solutions", root / "notebooks"
    if not (root / "nbgrader_config.py").is_file():
        raise FileNotFoundError(f"{root} has no nbgrader_config.py: is it the course root?")
    if not assignments(solutions):
        raise ValueError(f"no assignments (folders with notebooks) in {solutions}")
    notebooks.mkdir(exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="release-") as tmp:
        staged = Path(tmp) / "release"   # generated and normalised here, then swapped in
        run_nbgrader(["generate_assignment", "*", "--force",
                      f"--CourseDirectory.release_directory={staged}",
                      f"--CourseDirectory.db_url=sqlite:///{Path(tmp) / 'gradebook.db'}"],
                     root, jupyter_env(tmp))
        for path in staged.glob("*/*.ipynb"):
            write_notebook(normalise_notebook(nbformat.read(path, as_version=4)), path)
        for old in notebooks.iterdir():
            if old.is_dir() and not (staged / old.name).is_dir():
                shutil.rmtree(old)
        for new in sorted(staged.iterdir()):
            if (notebooks / new.name).exists():
                shutil.rmtree(notebooks / new.name)
            shutil.move(str(new), notebooks / new.name)
    written = sorted(notebooks.glob("*/*.ipynb"))
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", type=Path, default=REPO_ROOT,
                        help="course root holding solutions/, notebooks/ and nbgrader_config.py")
    args = parser.parse_args(argv)
    written = release(args.root)
    for path in written:
        print(f"released {path.relative_to(args.root.resolve())}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
