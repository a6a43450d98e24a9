"""Make submissions the way students hand them in, from the course's own notebooks.

Used by ``scripts/make_demo_cohort.py`` (the bundled demo class), the grader's tests
and the grading benchmark. Every submission starts from the *release* notebook (what
a student downloads: visible tests only) and fills some answer cells with the
solution's code, without the ``### BEGIN/END SOLUTION`` lines. On top of that:

- :func:`wrong_quizzes` picks a wrong option in every quiz answer (the reversed order for
  an ordering quiz, so that every neighbouring pair is wrong);
- :func:`colab_bytes` writes a notebook the way Colab saves it (nbformat 4.0 layout,
  Colab's notebook and cell metadata, ids in cell metadata, a Colab kernelspec);
- :func:`to_bytes` writes a notebook as Jupyter does.

Deterministic: the same call always gives the same bytes.
"""
from __future__ import annotations

import ast
import copy
import json
import random
import re
from pathlib import Path

import nbformat

from .course import RELEASE_DIR, SOLUTIONS_DIR

MARKER = re.compile(r"^\s*#+\s*(BEGIN|END) SOLUTION\s*$", re.IGNORECASE)
#: A line that sets quiz N's answer (``QUIZ_N``) to an option: a letter, True/False, or a
#: list of letters (an ordering).
QUIZ_LINE = re.compile(r"^(?P<var>QUIZ_\d+)\s*=\s*(?P<value>\"[a-z]\"|'[a-z]'|True|False"
                       r"|\[\s*(?:[\"'][a-z][\"']\s*,\s*)*[\"'][a-z][\"']\s*\])\s*$")
OPTION = re.compile(r"[\"']([a-z])[\"']")


def _meta(cell) -> dict:
    return cell.get("metadata", {}).get("nbgrader", {})


def exercises(assignment: str, notebook: str, release_dir: Path = RELEASE_DIR) -> list[str]:
    """Grade ids of the answer cells (``solution: true``) of a notebook, in order."""
    nb = nbformat.read(Path(release_dir) / assignment / f"{notebook}.ipynb", as_version=4)
    return [_meta(c)["grade_id"] for c in nb.cells if _meta(c).get("solution")]


def solution_code(source: str) -> str:
    """A solution cell's text as a student would write it: the markers removed."""
    return "\n".join(line for line in source.splitlines() if not MARKER.match(line)).strip("\n")


def submission(assignment: str, notebook: str, solved: set[str] | None = None, *,
               solutions_dir: Path = SOLUTIONS_DIR, release_dir: Path = RELEASE_DIR) -> nbformat.NotebookNode:
    """The release notebook with the answer cells in ``solved`` (all when None) answered."""
    rel = nbformat.read(Path(release_dir) / assignment / f"{notebook}.ipynb", as_version=4)
    src = nbformat.read(Path(solutions_dir) / assignment / f"{notebook}.ipynb", as_version=4)
    answers = {_meta(c)["grade_id"]: c.source for c in src.cells if _meta(c).get("solution")}
    nb = copy.deepcopy(rel)
    for cell in nb.cells:
        gid = _meta(cell).get("grade_id")
        if _meta(cell).get("solution") and gid in answers and (solved is None or gid in solved):
            cell.source = solution_code(answers[gid])
    return nb


def quiz_cells(nb: nbformat.NotebookNode) -> list[str]:
    """Answer cells that only set quiz answers to an option ("a".."e", True, False, or a
    list of letters)."""
    out = []
    for cell in nb.cells:
        if _meta(cell).get("solution") and cell.cell_type == "code":
            lines = [l for l in cell.source.splitlines() if l.strip() and not l.lstrip().startswith("#")]
            lines = [l.split("#")[0].rstrip() for l in lines]
            if lines and any(QUIZ_LINE.match(l) for l in lines) and all(
                    QUIZ_LINE.match(l) or l.endswith("= None") for l in lines):
                out.append(_meta(cell)["grade_id"])
    return out


def wrong_quizzes(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """A copy of ``nb`` with a wrong option in every answered quiz cell."""
    nb = copy.deepcopy(nb)
    quiz = set(quiz_cells(nb))
    for cell in nb.cells:
        if _meta(cell).get("grade_id") not in quiz:
            continue
        options = OPTION.findall(cell.source.splitlines()[0]) if cell.source else []
        lines = []
        for line in cell.source.splitlines():
            m = QUIZ_LINE.match(line.split("#")[0].rstrip())
            if m:
                value = m.group("value")
                if value in ("True", "False"):
                    wrong = "False" if value == "True" else "True"
                elif value.startswith("["):
                    wrong = "[" + ", ".join(f'"{o}"' for o in reversed(ast.literal_eval(value))) + "]"
                else:
                    right = value.strip("\"'")
                    choices = [o for o in (options or list("abcde")) if o != right]
                    wrong = f'"{choices[0]}"'
                line = f"{m.group('var')} = {wrong}"
            lines.append(line)
        cell.source = "\n".join(lines)
    return nb


def to_bytes(nb: nbformat.NotebookNode) -> bytes:
    """The notebook as Jupyter saves it."""
    text = nbformat.writes(nb, version=4)
    return (text if text.endswith("\n") else text + "\n").encode("utf-8")


def colab_bytes(nb: nbformat.NotebookNode, seed: int = 0) -> bytes:
    """The notebook as Colab saves it: nbformat 4.0 (no top-level cell ids; Colab keeps
    its own id in each cell's metadata), Colab's notebook metadata and kernelspec, form
    view on the setup cell, sources as lists of lines, and the indentation Colab uses."""
    rng = random.Random(seed)
    alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-"
    cells = []
    for cell in nb.cells:
        meta = {"id": "".join(rng.choice(alphabet) for _ in range(12))}
        if _meta(cell):
            meta["nbgrader"] = copy.deepcopy(dict(_meta(cell)))
        for key in ("deletable", "editable"):
            if key in cell.metadata:
                meta[key] = cell.metadata[key]
        if cell.cell_type == "code" and _meta(cell).get("grade_id") == "setup":
            meta["cellView"] = "form"
        d = {"cell_type": cell.cell_type, "source": cell.source.splitlines(keepends=True), "metadata": meta}
        if cell.cell_type == "code":
            meta["colab"] = {"base_uri": "https://localhost:8080/"}
            d["execution_count"] = None
            d["outputs"] = []
        cells.append(d)
    doc = {"nbformat": 4, "nbformat_minor": 0,
           "metadata": {"colab": {"provenance": [], "gpuType": "T4", "toc_visible": True},
                        "kernelspec": {"name": "python3", "display_name": "Python 3"},
                        "language_info": {"name": "python"}, "accelerator": "GPU"},
           "cells": cells}
    return (json.dumps(doc, indent=2, ensure_ascii=False) + "\n").encode("utf-8")
