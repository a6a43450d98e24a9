"""The student bundle (``make student-bundle``): what students get, and nothing else.

    python -m autograder.course.bundle [--out dist]

Writes ``dist/student-bundle/`` and ``dist/encoder-course-student.zip`` holding

- ``notebooks/``       the student release of every part (``make release`` output);
- ``encoder_lib/``     the course library (no caches);
- ``pyproject.toml``, ``environment.yml``   to install it;
- ``README.md``        the student guide (Colab links, local set-up, handing in).

Only those paths are copied (an allow-list), so solutions, tests, the grader, the demo
class and gradebooks cannot slip in. Before writing, every release notebook is checked
for solution and hidden-test markers; ``tests/test_student_bundle.py`` checks the result
against the solution notebooks line by line.
"""
from __future__ import annotations

import argparse
import re
import shutil
import sys
import zipfile
from pathlib import Path

from .course import COURSE, RELEASE_DIR, REPO_ROOT, course_notebooks

BUNDLE_NAME = "student-bundle"
ZIP_NAME = "encoder-course-student.zip"
TOP_FILES = ("pyproject.toml", "environment.yml")
MARKERS = re.compile(r"(BEGIN|END) (SOLUTION|HIDDEN TESTS)", re.IGNORECASE)
SKIP = shutil.ignore_patterns("__pycache__", "*.pyc", ".ipynb_checkpoints", "*.egg-info", ".DS_Store")


def colab_link(path: str) -> str:
    """Open-in-Colab address of a notebook at the course's release (``course.toml``)."""
    return COURSE.colab_link(path)


def student_readme() -> str:
    rows = []
    for nb in course_notebooks():
        rel = f"notebooks/{nb.assignment}/{nb.filename}"
        if (REPO_ROOT / rel).is_file():
            link = colab_link(rel)
            rows.append(f"| {nb.assignment} | `{nb.filename}` | " + (f"[Open in Colab]({link})" if link else "") + " |")
    table = "\n".join(rows)
    return f"""# Pre-trained encoders, step by step: student bundle

You build a Transformer encoder piece by piece, load real pre-trained weights into it,
pre-train and fine-tune, and answer quiz questions along the way. Each notebook tells you
at once whether your code is right: run its test cells.

## The notebooks

| part | notebook | |
|---|---|---|
{table}

## Working on Google Colab

Open a notebook with its link, or upload it (File > Upload notebook). Run the first
cell (*Setup*): on Colab it installs the course library `encoder_lib` when it is missing
and reports whether you have a GPU (Runtime > Change runtime type > T4 GPU). Everything
also runs without a GPU, only slower.

## Working on your own computer

With Python 3.10 to 3.13 (the versions the course is tested on):

```bash
python -m venv .venv
source .venv/bin/activate          # Windows: .venv\\Scripts\\activate
pip install -e . jupyterlab
jupyter lab notebooks/
```

or, with conda: `conda env create -f environment.yml`. If you already have PyTorch,
pip keeps it.

## Doing the exercises

- Write your code where it says `# YOUR CODE HERE` and remove the
  `raise NotImplementedError()` line; write quiz answers in the answer variable
  (quiz 3 of a notebook: `QUIZ_3 = ...`, in the form its question asks for).
- Run the test cell under each exercise: a failure says what was expected, what your code
  gave, where the first difference is, and a hint. More tests run when your notebook is
  graded, so make your code right in general, not just for the visible examples.
- Do not delete, copy or change the read-only cells (setup, instructions, tests); the
  grader restores them anyway.
- Later notebooks never need your earlier answers: they import the reference pieces
  from `encoder_lib`.

## Handing in

Download each notebook as `.ipynb` (on Colab: File > Download > Download .ipynb) and
hand in the file. The name may stay as it is (`Copy of ...` or `... (1)` are fine); only
notebooks are graded, so extra files are ignored. Before you do, use
*Restart and run all* once and check that every cell runs.

When your notebook is graded, its cells run in a fresh kernel without network access and
with time and memory limits; slow cells (training) run a shortened version then. You get
back a feedback page with your score per question.
"""


def check_release(notebooks_dir: Path) -> None:
    """Refuse to bundle a release that still holds solution or hidden-test markers."""
    bad = [str(p.relative_to(notebooks_dir)) for p in notebooks_dir.rglob("*.ipynb")
           if MARKERS.search(p.read_text(encoding="utf-8"))]
    if bad:
        raise ValueError(f"release notebooks still hold solution or hidden-test markers: {bad}; "
                         "run `make release`")


def build(out: Path, repo: Path = REPO_ROOT) -> tuple[Path, Path]:
    """Write the bundle folder and zip under ``out``; returns both paths."""
    notebooks = repo / RELEASE_DIR.relative_to(REPO_ROOT)
    if not any(notebooks.rglob("*.ipynb")):
        raise ValueError(f"no release notebooks in {notebooks}; run `make release` first")
    check_release(notebooks)
    folder = Path(out) / BUNDLE_NAME
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    shutil.copytree(notebooks, folder / "notebooks", ignore=SKIP)
    shutil.copytree(repo / "encoder_lib", folder / "encoder_lib", ignore=SKIP)
    for name in TOP_FILES:
        shutil.copyfile(repo / name, folder / name)
    (folder / "README.md").write_text(student_readme(), encoding="utf-8")
    zpath = Path(out) / ZIP_NAME
    with zipfile.ZipFile(zpath, "w", zipfile.ZIP_DEFLATED) as z:
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                z.write(path, f"encoder-course/{path.relative_to(folder).as_posix()}")
    return folder, zpath


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=REPO_ROOT / "dist", help="output folder (default: dist/)")
    args = parser.parse_args(argv)
    folder, zpath = build(args.out)
    n = sum(1 for p in folder.rglob("*") if p.is_file())
    print(f"student bundle: {folder} ({n} files) and {zpath}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
