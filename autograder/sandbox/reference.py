"""The reference run: the instructor's solution, graded once per course version.

Every test cell's verdict is decided against what the same checks reported when they
ran on the instructor's solution (``autograder/course/probes.py``). This module makes
those reports: each part's solution notebooks are graded like a submission, through
the same workers and sandbox, with the test cells run as *reference probes*; the probes
and the reports of every test are kept per notebook as JSON under the master course
(``<master>/reference/<part>/<notebook>.json``), so a course version is run once,
whatever the number of students. The solution must pass its own tests; a test it fails
stops grading with the instructor's problem named.
"""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import nbformat

from ..course.probes import Probes, notebook_probes

#: Bump when what the probes report changes: older reference runs are made again.
REFERENCE_FORMAT = 1


class ReferenceError(RuntimeError):
    """The instructor's solution could not be run or fails its own tests."""


def probes_for(nb: nbformat.NotebookNode) -> dict[str, Probes]:
    return notebook_probes(nb)


def grader_hash() -> str:
    """Hash of the code that makes and reads the reports: a change runs the reference again."""
    import hashlib

    from encoder_lib.checks import plain, rules

    from ..course import probes
    from . import kernel_probe

    h = hashlib.sha256(str(REFERENCE_FORMAT).encode())
    for module in (probes, kernel_probe, plain, rules):
        h.update(Path(module.__file__).read_bytes())
    return h.hexdigest()[:12]


def reference_root(master_root: Path) -> Path:
    return Path(master_root) / f"reference-{grader_hash()}"


def reference_path(root: Path, assignment: str, notebook: str) -> Path:
    return Path(root) / assignment / f"{notebook}.json"


def _complete(root: Path, assignment: str, notebooks: list[str]) -> bool:
    return all(reference_path(root, assignment, nb).is_file() for nb in notebooks)


def reference_jobs(master, parts: list[str], solutions: Path, state: Path) -> list[dict]:
    """Grading jobs that run each part's solution as the reference (parts already
    recorded are left out)."""
    root = reference_root(master.root)
    jobs = []
    for part in parts:
        names = [nb for nb in master.notebooks(part) if (Path(solutions) / part / f"{nb}.ipynb").is_file()]
        graded = [nb for nb in names if master.layout[part][nb]["graded"]]
        if not graded or _complete(root, part, graded):
            continue
        work = state / "reference" / part
        shutil.rmtree(work, ignore_errors=True)
        (work / "submitted").mkdir(parents=True)
        (work / "records").mkdir()
        for nb in graded:
            shutil.copyfile(Path(solutions) / part / f"{nb}.ipynb", work / "submitted" / f"{nb}.ipynb")
        jobs.append({
            "key": f"(reference)/{part}", "student": "reference", "assignment": part, "mode": "reference",
            "notebooks": graded, "expected": graded, "unreadable": [], "repair": {}, "files": {},
            "submitted_dir": str(work / "submitted"), "release_dir": str(master.release_dir(part)),
            "reference_dir": str(work / "records"), "fingerprint": "reference",
            "result_path": str(work / "result.json"), "gradebook_path": str(work / "gradebook.db"),
            "feedback_dir": str(work / "feedback"), "autograded_dir": str(work / "autograded"),
            "points": 0,
        })
    return jobs


def store_reference(master, job: dict) -> None:
    """Keep what a finished reference job recorded; raise :class:`ReferenceError` when the
    solution failed a test or a notebook did not run."""
    root = reference_root(master.root)
    part = job["assignment"]
    result = json.loads(Path(job["result_path"]).read_text(encoding="utf-8")) \
        if Path(job["result_path"]).is_file() else {"ok": False, "error": "no result"}
    if not result.get("ok"):
        raise ReferenceError(f"the reference run of {part} failed: {result.get('error')}")
    problems = []
    for nb in job["notebooks"]:
        entry = result["notebooks"].get(nb, {})
        for e in entry.get("events", []):
            if e.get("kind") in ("reference_failed", "cell_timeout", "kernel_died", "gave_up",
                                 "notebook_time_limit", "kernel_start_failed"):
                problems.append(f"{nb} {e.get('grade_id') or ''}: {e.get('detail')}")
        for g in entry.get("grades", []):
            if g["kind"] == "test" and (g["score"] or 0) < g["max_score"]:
                problems.append(f"{nb} {g['grade_id']}: the solution scores {g['score']} of {g['max_score']}")
    if problems:
        raise ReferenceError(f"the instructor's solution of {part} does not pass its own tests:\n  "
                             + "\n  ".join(problems))
    solutions = Path(job["submitted_dir"])
    for nb in job["notebooks"]:
        records = json.loads((Path(job["reference_dir"]) / f"{nb}.records.json").read_text(encoding="utf-8"))
        probes = probes_for(nbformat.read(solutions / f"{nb}.ipynb", as_version=4))
        path = reference_path(root, part, nb)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps({"probes": {g: p.to_json() for g, p in probes.items()},
                                   "reference": records}), encoding="utf-8")
        tmp.replace(path)
