"""From graded jobs to what the instructor reads: one row per question, and problems.

A *row* is one student x question: its score, maximum and a one-word status. A
*problem* is anything about a submission that is not simply a right or wrong answer
(an unreadable file, a crash, a timeout, tampering, a repaired notebook, a missing
notebook, code the intake scan flags for review ...), said in plain words with what it
cost: the points lost on the questions it affected.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import nbformat

#: Plain words for the notable errors of answer cells.
ERROR_WORDS = {
    "MemoryError": "ran out of memory (the kernel's memory limit); the kernel was restarted "
                   "without it to free the memory",
    "SystemExit": "called sys.exit()/exit(); the kernel was kept running",
    "KeyboardInterrupt": "was interrupted",
    "PermissionError": "tried to write or read where it may not (only its scratch folder is writable)",
    "FileNotFoundError": "tried to open a file that is not there while grading (course files, the "
                         "gradebook and other students' work are not visible)",
    "BlockingIOError": "tried to start too many processes (fork bomb); the process limit stopped it",
    "RecursionError": "recursed without end",
    "OSError": "tried something the sandbox blocks (the network, most likely)",
    "ConnectionError": "tried to reach the network, which grading blocks",
    "ConnectionRefusedError": "tried to reach the network, which grading blocks",
    "gaierror": "tried to reach the network, which grading blocks",
    "TimeoutError": "waited for the network, which grading blocks",
    "ChildProcessError": "failed to manage child processes",
    "SyntaxError": "has a syntax error, so none of it ran",
    "IndentationError": "has an indentation error, so none of it ran",
    "TabError": "mixes tabs and spaces, so none of it ran",
}

#: Problem kinds and how serious they are: "error" costs points or needs a look,
#: "note" was handled and cost nothing by itself.
SEVERITY = {
    "missing": "error", "unreadable": "error", "grader_error": "error", "kernel_died": "error",
    "cell_timeout": "error", "notebook_time_limit": "error", "gave_up": "error", "tampering": "error",
    "answer_error": "error", "unsafe_zip_entry": "error", "no_student": "error",
    "unknown_notebook": "error", "file_too_large": "error", "zip_too_large": "error",
    "deleted_cells": "error", "other_notebook": "error", "hand_grade_stale": "error", "manual_review": "error", "cell_type_changed": "error", "metadata_changed": "error",
    "kernel_start_failed": "error", "needs_review": "error",
    "stray_processes": "error", "broken_cell": "error", "untouched_release": "error", "unreadable_file": "error",
    "too_many_cells": "error",
    "output_truncated": "note", "stderr_in_test": "note", "renamed": "note", "ignored_file": "note",
    "duplicate_file": "note", "not_utf8": "note", "nbformat3": "note", "format_version": "note",
    "schema_version": "note", "duplicate_ids": "note",
    "metadata_restored": "note", "student_id_changed": "note", "skipped_link": "note",
}


@dataclass
class Row:
    student: str
    part: str
    notebook: str
    grade_id: str
    score: float | None      # None: waits for manual grading
    max_score: float
    status: str
    detail: str = ""
    comment: str = ""        # written by hand in formgrader (autograder.reporting.hand_grades)


@dataclass
class Problem:
    student: str | None
    notebook: str | None
    kind: str
    what: str
    cost: float | None = 0.0   # points lost on the affected questions; None: unknown
    questions: tuple = ()
    finding: dict | None = None   # needs_review: the scan's finding (autograder.intake.scan.Finding as a dict)

    @property
    def severity(self) -> str:
        return SEVERITY.get(self.kind, "error")


def _status(grade: dict) -> tuple[str, str]:
    out = grade.get("output") or {}
    ename, evalue = out.get("ename", ""), out.get("evalue", "")
    if grade["kind"] == "written" or grade["kind"] == "answer":
        if grade["needs_manual_grade"]:
            return "manual", "waits for manual grading"
        if not grade["score"]:
            return "not answered", "the answer was left as released"
        return "graded", ""
    score, top = grade["score"] or 0.0, grade["max_score"]
    if grade["needs_manual_grade"] and grade["auto_score"] is None:
        return "manual", "flagged for manual grading"
    if ename == "KernelStopped":
        return ("timeout" if "time limit" in evalue else "crashed"), evalue
    if ename == "NotRun":
        return "not run", evalue
    if score >= top:
        return "passed", ""
    if score > 0:
        return "partial", f"{ename}: {evalue}" if ename else ""
    if out.get("answer_error") == "NotImplementedError" or (
            ename == "NotImplementedError" and out.get("answered") is not True):
        return "not answered", "the exercise still raises NotImplementedError"
    if ename == "NotImplementedError":
        return "failed", ("the test reached an exercise that is not answered yet (NotImplementedError); "
                          "this one was answered")
    return "failed", f"{ename}: {evalue}".strip(": ") if ename else "the test gave no credit"


def job_rows(job: dict, result: dict | None, layout: dict) -> tuple[list[Row], list[Problem]]:
    """Rows and problems of one (student, assignment) job."""
    student, part = job["student"], job["assignment"]
    rows: list[Row] = []
    problems: list[Problem] = []
    for name in job["expected"]:
        cells = layout[part][name]["cells"]
        total = layout[part][name]["points"]
        nbres = (result or {}).get("notebooks", {}).get(name) if result and result.get("ok") else None
        unreadable = name in job.get("unreadable", [])
        for note in job.get("repair", {}).get(name, []):
            if not note.get("fatal"):
                problems.append(Problem(student, name, note["kind"], note["detail"], 0.0,
                                        tuple(note.get("grade_ids", ()))))
        problems += [review_problem(student, name, f) for f in job.get("needs_review", {}).get(name, [])]
        if unreadable:
            detail = "; ".join(n["detail"] for n in job["repair"].get(name, []) if n.get("fatal"))
            problems.append(Problem(student, name, "unreadable", f"{detail}; all questions score 0", total,
                                    (f"all {len(cells)} questions",)))
            rows += [Row(student, part, name, gid, 0.0, pts, "unreadable", detail) for gid, pts, _ in cells]
            continue
        if name not in job["notebooks"]:
            problems.append(Problem(student, name, "missing", "this notebook was not handed in", total,
                                    (f"all {len(cells)} questions",)))
            rows += [Row(student, part, name, gid, 0.0, pts, "missing", "not handed in") for gid, pts, _ in cells]
            continue
        if nbres is None or not nbres.get("graded"):
            why = (result or {}).get("error") or "the grader could not finish this notebook"
            events = (nbres or {}).get("events", [])
            why = next((e["detail"] for e in events if e["kind"] == "grader_error"), why)
            problems.append(Problem(student, name, "grader_error",
                                    f"grading failed ({why.strip().splitlines()[-1][:200]}); scored 0 - "
                                    "please look at this submission and re-run with --redo", total,
                                    (f"all {len(cells)} questions",)))
            rows += [Row(student, part, name, gid, 0.0, pts, "grader error", "") for gid, pts, _ in cells]
            continue
        by_id = {g["grade_id"]: g for g in nbres["grades"]}
        lost = {}
        for gid, pts, kind in cells:
            g = by_id.get(gid)
            if g is None:
                rows.append(Row(student, part, name, gid, 0.0, pts, "failed", "no grade recorded"))
                lost[gid] = pts
                continue
            status, detail = _status(g)
            score = None if status == "manual" else float(g["score"] or 0.0)
            rows.append(Row(student, part, name, gid, score, float(g["max_score"]), status, detail))
            lost[gid] = 0.0 if score is None else float(g["max_score"]) - score
        at_cell: dict[int, Problem] = {}
        for e in nbres.get("events", []):
            if e["kind"] == "grader_error":
                continue
            affects = tuple(e.get("affects") or ())
            cost = sum(lost.get(q, 0.0) for q in affects)
            problems.append(Problem(student, name, e["kind"], _event_words(e), cost, affects))
            if e.get("cell") is not None and (e["kind"] == "answer_error" or e["cell"] not in at_cell):
                at_cell[e["cell"]] = problems[-1]
        problems += _knock_on(job, name, lost, at_cell)
        problems += _untouched(job, name, sum(lost.values()))
    return rows, problems


def review_problem(student: str, notebook: str, finding: dict) -> Problem:
    """A finding of the scan (:mod:`autograder.intake.scan`) as a problem: needs a look, costs nothing."""
    where = f"cell {finding['grade_id']!r}" if finding.get("grade_id") else f"cell {finding['cell'] + 1}"
    return Problem(student, notebook, "needs_review",
                   f"{where}, line {finding['line']}: {finding['construct']} ({finding['snippet']})",
                   0.0, (), finding={**finding, "where": where})


def _knock_on(job: dict, name: str, lost: dict[str, float], at_cell: dict[int, "Problem"]) -> list["Problem"]:
    """Charge later ``NameError`` failures to the broken cell that left the name undefined
    (:mod:`autograder.reporting.true_cost`): added to that cell's problem, or a new ``broken_cell``
    problem when the cell's own failure was not one already. Returns the new problems."""
    from .true_cost import blame

    path = Path(job.get("autograded_dir", "")) / f"{name}.ipynb"
    if not job.get("autograded_dir") or not path.is_file():
        return []
    release = Path(job["release_dir"]) / f"{name}.ipynb" if job.get("release_dir") else None
    try:
        blamed = blame(path, release)
        cells = nbformat.read(path, as_version=4).cells
    except Exception:   # a notebook nbgrader wrote but this cannot read: no knock-on costs
        return []
    gid = {i: c.get("metadata", {}).get("nbgrader", {}).get("grade_id") for i, c in enumerate(cells)}
    roots: dict[int, list[str]] = {}
    for i, root in sorted(blamed.items()):
        q = gid.get(i)
        if q in lost and lost[q] > 0:
            roots.setdefault(root, []).append(q)
    new = []
    for root, qs in roots.items():
        p = at_cell.get(root)
        if p is None:
            err = next((o for o in cells[root].get("outputs", []) if o.get("output_type") == "error"), {})
            if err.get("ename") == "NotImplementedError":   # not answered: its rows say so already
                continue
            where = f"cell {gid[root]!r}" if gid.get(root) else f"cell {root + 1}"
            p = Problem(job["student"], name, "broken_cell",
                        f"{where} failed ({err.get('ename', 'error')}: {str(err.get('evalue', ''))[:120]})", 0.0, ())
            new.append(p)
        extra = [q for q in qs if q not in p.questions]
        if not extra:
            continue
        points = sum(lost[q] for q in extra)
        p.what += (f"; later cells that use what it defines failed with NameError, "
                   f"{_pts(points)} more, counted here")
        p.cost = (p.cost or 0.0) + points
        p.questions = tuple(p.questions) + tuple(extra)
    return new


def _untouched(job: dict, name: str, cost: float) -> list["Problem"]:
    """A flag when the notebook handed in is the release, no answer cell changed."""
    from .true_cost import untouched

    sub = Path(job.get("submitted_dir", "")) / f"{name}.ipynb"
    rel = Path(job.get("release_dir", "")) / f"{name}.ipynb"
    if not (job.get("submitted_dir") and job.get("release_dir") and sub.is_file() and rel.is_file()):
        return []
    try:
        same = untouched(sub, rel)
    except Exception:
        return []
    if not same:
        return []
    return [Problem(job["student"], name, "untouched_release",
                    "handed in the release as downloaded: no answer cell was changed "
                    "(the wrong file? ask the student)", cost, ("all questions",))]


def _pts(x: float) -> str:
    x = float(x)
    n = f"{x:g}"
    return f"{n} point{'s' if x != 1 else ''}"


def _event_words(e: dict) -> str:
    where = f"cell {e['grade_id']!r}" if e.get("grade_id") else f"cell {e['cell'] + 1}" if e.get(
        "cell") is not None else "the notebook"
    if e["kind"] == "answer_error":
        ename = e["detail"].split(":", 1)[0]
        words = ERROR_WORDS.get(ename, "raised an error")
        return f"{where} {words} [{e['detail']}]"
    if e["kind"] == "tampering":
        return f"at {where}: tampering: {e['detail']}"
    return f"{where}: {e['detail']}"
