"""Regenerate the student release ``notebooks/`` from ``solutions/`` (``make release``).

First it stamps where the course lives (``course.toml``: the repository and the
release's tag) into every solution notebook's setup cell, README.md's Open-in-Colab
links and ``Repository:`` line, and pyproject.toml's ``[project.urls] Repository``, so
an instructor's copy of the course changes that one file. Then it runs real ``nbgrader generate_assignment`` over every assignment in one go, at the
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
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import nbformat

from .course import (REPO_ROOT, SETUP_GRADE_ID, CourseLocation, assignments, jupyter_env,
                     read_location, run_nbgrader, setup_cell)

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


# ------------------------------------------------ stamping where the course lives

#: An Open-in-Colab link to a release notebook, up to ``notebooks/``.
_COLAB_LINK = re.compile(r"https://colab\.research\.google\.com/github/[^\s)\]]+?/blob/[^\s)\]]+?/"
                         r"(?=notebooks/)")
#: README's sentence naming the repository and the release.
_README_REPOSITORY = re.compile(r"Repository: \S+ \(release `[^`]*`\)")
#: pyproject.toml's ``Repository = "..."`` line (in [project.urls]).
_PYPROJECT_REPOSITORY = re.compile(r'^(Repository\s*=\s*)"[^"]*"', re.MULTILINE)


def stamp_readme(text: str, location: CourseLocation) -> str:
    """README.md with every Open-in-Colab link and the repository line at ``location``."""
    text = _COLAB_LINK.sub(location.colab_link(""), text)
    return _README_REPOSITORY.sub(f"Repository: {location.url} (release `{location.ref}`)", text)


def stamp_pyproject(text: str, location: CourseLocation) -> str:
    """pyproject.toml with ``[project.urls] Repository`` set to the course's repository."""
    if not _PYPROJECT_REPOSITORY.search(text):
        raise ValueError('pyproject.toml has no `Repository = "..."` line in [project.urls]')
    return _PYPROJECT_REPOSITORY.sub(f'\\g<1>"{location.url}"', text, count=1)


def stamp_notebook(nb: nbformat.NotebookNode, location: CourseLocation) -> bool:
    """Give ``nb``'s setup cell the setup cell of a course at ``location``; True if it changed."""
    cell = next((c for c in nb.cells if c.cell_type == "code"
                 and c.metadata.get("nbgrader", {}).get("grade_id") == SETUP_GRADE_ID), None)
    source = setup_cell(location)
    if cell is None or cell.source == source:
        return False
    cell.source = source
    return True


def stamp(root: Path = REPO_ROOT) -> list[Path]:
    """Stamp ``root/course.toml`` into the solutions' setup cells, README.md and
    pyproject.toml under ``root``; return the files that changed."""
    root = Path(root).resolve()
    location = read_location(root)
    changed = []
    for path in sorted((root / "solutions").glob("*/*.ipynb")):
        nb = nbformat.read(path, as_version=4)
        if stamp_notebook(nb, location):
            write_notebook(nb, path)
            changed.append(path)
    for name, fix in (("README.md", stamp_readme), ("pyproject.toml", stamp_pyproject)):
        path = root / name
        if path.is_file():
            text = path.read_text(encoding="utf-8")
            new = fix(text, location)
            if new != text:
                path.write_text(new, encoding="utf-8")
                changed.append(path)
    return changed


def ref_note(root: Path, location: CourseLocation) -> str:
    """One line on the release's ref in ``root``'s git repository: whether students'
    setup cells will find it, and what to do next ("" outside a git repository)."""
    def git(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run(["git", "-C", str(root), *args], capture_output=True, text=True)

    ref = location.ref
    try:
        if git("rev-parse", "--git-dir").returncode != 0:
            return ""
    except OSError:   # no git
        return ""
    tagged = git("rev-parse", "--verify", "--quiet", f"refs/tags/{ref}^{{commit}}")
    if tagged.returncode == 0:
        commit, head = tagged.stdout.strip(), git("rev-parse", "HEAD").stdout.strip()
        if commit == head:
            return f"tag {ref} is this commit: `git push origin {ref}` if you have not yet"
        return (f"note: tag {ref} already names commit {commit[:12]}, not this one: the setup "
                f"cells install the library as it was there; for a new release set a new tag "
                f"in course.toml")
    if any(git("rev-parse", "--verify", "--quiet", branch).returncode == 0
           for branch in (f"refs/heads/{ref}", f"refs/remotes/origin/{ref}")):
        return (f"note: {ref} is a branch: students install whatever it holds on the day they "
                f"run the setup cell; set a tag in course.toml to pin a term")
    if re.fullmatch(r"[0-9a-f]{40}", ref):
        return f"the setup cells install the library at commit {ref[:12]}"
    return (f"next: commit this release, then `git tag {ref} && git push origin {ref}` "
            f"(until the tag is pushed, the setup cell cannot install the library on Colab)")


# ------------------------------------------------------------------ the release

def release(root: Path = REPO_ROOT) -> list[Path]:
    """Regenerate ``root/notebooks`` from ``root/solutions``; return the notebooks written.

    Every assignment folder in ``notebooks/`` is replaced, so notebooks or parts removed
    from ``solutions/`` disappear from the release too. Files at the top of
    ``notebooks/`` are left alone. :func:`stamp` runs first, so the release carries
    ``course.toml``'s repository and tag.
    """
    root = Path(root).resolve()
    solutions, notebooks = root / "solutions", root / "notebooks"
    if not (root / "nbgrader_config.py").is_file():
        raise FileNotFoundError(f"{root} has no nbgrader_config.py: is it the course root?")
    if not assignments(solutions):
        raise ValueError(f"no assignments (folders with notebooks) in {solutions}")
    stamp(root)
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
    root = args.root.resolve()
    location = read_location(root)
    for path in stamp(root):
        print(f"stamped {path.relative_to(root)} with {location.url} at {location.ref}")
    for path in release(root):
        print(f"released {path.relative_to(root)}")
    print(f"setup cells install {location.requirement}")
    note = ref_note(root, location)
    if note:
        print(note)
    return 0


if __name__ == "__main__":
    sys.exit(main())
