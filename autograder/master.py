"""The master course every grading job starts from.

Built once per version of ``solutions/`` (cached by a hash of its files) with real
``nbgrader generate_assignment``: ``gradebook.db`` holds the assignments, notebooks and
cells (hidden tests included) that autograde restores, and ``release/`` the student
version of every notebook. Jobs copy the gradebook (each their own) and the release
material; the source itself is not kept.
"""
from __future__ import annotations

import hashlib
import json
import shutil
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import nbformat

from .course.course import SOLUTIONS_DIR, jupyter_env, make_scratch_course

MASTER_FORMAT = 2


def solutions_hash(solutions: Path) -> str:
    """Hash of every file under ``solutions`` (names and bytes) and of nbgrader's version."""
    import nbgrader

    h = hashlib.sha256(f"{MASTER_FORMAT}:{nbgrader.__version__}".encode())
    for path in sorted(Path(solutions).rglob("*")):
        rel = path.relative_to(solutions).as_posix()
        if path.is_file() and ".ipynb_checkpoints" not in rel and "__pycache__" not in rel:
            h.update(rel.encode() + b"\0" + path.read_bytes() + b"\0")
    return h.hexdigest()[:16]


@dataclass(frozen=True)
class Master:
    root: Path
    hash: str

    @property
    def gradebook(self) -> Path:
        return self.root / "gradebook.db"

    def release_dir(self, assignment: str) -> Path:
        return self.root / "release" / assignment

    @property
    def layout(self) -> dict[str, dict]:
        """``{assignment: {notebook: {"points": total, "graded": bool,
        "cells": [[grade_id, points, "test"|"answer"|"written"], ...]}}}``."""
        return json.loads((self.root / "layout.json").read_text(encoding="utf-8"))

    def assignments(self) -> list[str]:
        return sorted(self.layout)

    def graded_assignments(self) -> list[str]:
        return [a for a, nbs in sorted(self.layout.items())
                if any(n["graded"] for n in nbs.values())]

    def notebooks(self, assignment: str) -> list[str]:
        return sorted(self.layout.get(assignment, {}))

    def release_notebook(self, assignment: str, notebook: str) -> nbformat.NotebookNode:
        return nbformat.read(self.release_dir(assignment) / f"{notebook}.ipynb", as_version=4)


def _layout(root: Path) -> dict:
    out: dict = {}
    for nb_path in sorted((root / "release").glob("*/*.ipynb")):
        nb = nbformat.read(nb_path, as_version=4)
        cells = []
        for cell in nb.cells:
            meta = cell.get("metadata", {}).get("nbgrader", {})
            if meta.get("grade"):
                kind = ("written" if cell.cell_type == "markdown" else
                        "answer" if meta.get("solution") else "test")
                cells.append([meta["grade_id"], float(meta.get("points", 0) or 0), kind])
        out.setdefault(nb_path.parent.name, {})[nb_path.stem] = {
            "points": sum(c[1] for c in cells), "graded": bool(cells), "cells": cells}
    return out


def build_master(cache: Path, solutions: Path = SOLUTIONS_DIR) -> Master:
    """The master course for ``solutions`` under ``cache`` (reused when up to date)."""
    solutions = Path(solutions).resolve()
    digest = solutions_hash(solutions)
    root = Path(cache) / f"master-{digest}"
    if (root / "layout.json").is_file():
        return Master(root, digest)
    Path(cache).mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f"building-{digest}-", dir=cache))
    try:
        make_scratch_course(tmp / "course", solutions=solutions, keep_source=False,
                            env=jupyter_env(tmp / "jupyter"))
        (tmp / "course" / "layout.json").write_text(json.dumps(_layout(tmp / "course"), indent=1),
                                                    encoding="utf-8")
        try:
            (tmp / "course").rename(root)      # atomic; a concurrent run may have won
        except OSError:
            if not (root / "layout.json").is_file():
                raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    week = time.time() - 7 * 86400
    for stale in Path(cache).glob("master-*"):
        if stale != root and stale.stat().st_mtime < week:
            shutil.rmtree(stale, ignore_errors=True)
    return Master(root, digest)
