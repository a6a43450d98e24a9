"""What a student's own run recorded in the notebook they handed in.

Some quiz answers depend on the student's run ("the layer where *your* probe peaks"), and
grading reruns the notebook with smaller settings, whose numbers differ. So the notebook
records those numbers when it runs (``encoder_lib.checks.record_run``: a display output of
its own MIME type in a read-only course cell), and the grader reads them here, as plain
JSON from the submitted file, in its own process and before the notebook runs again:
nothing that runs while grading can change them. The judge compares such an answer with
them (``check_argmax(..., record=...)``, :mod:`autograder.sandbox.judge`).

Two exceptions, both said in the student's feedback:

- no recorded value (the cell never ran, or ran before the course recorded anything):
  the answer is judged against the run made while grading;
- an answer the student's own cells *compute* from the recorded variable
  (``QUIZ_1 = max(range(...), key=probe_results[...].__getitem__)``): it takes its value
  from the run made while grading, so it is judged against that run.

A forged record (an edited notebook file) can gain at most the quiz that reads it.
"""
from __future__ import annotations

import ast
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from encoder_lib.checks.plain import from_json
from encoder_lib.checks.record import MIME

from ..course.probes import loaded_names, parse_cell


@dataclass
class RunRecords:
    """The recorded values of one submitted notebook."""
    values: dict[str, Any] = field(default_factory=dict)     # key -> plain value, as recorded
    computed: dict[str, set[str]] = field(default_factory=dict)   # key -> names the student's cells compute from it

    def lookup(self, record: str) -> tuple[bool, Any]:
        """``"probe_results/minilm/wic"``: (found, the recorded value at that path)."""
        key, *path = str(record).split("/")
        if key not in self.values:
            return False, None
        value = self.values[key]
        for part in path:
            if not isinstance(value, dict) or part not in value:
                return False, None
            value = value[part]
        return True, value


def _source(cell: dict) -> str:
    src = cell.get("source", "")
    return "".join(src) if isinstance(src, list) else str(src)


def _course_cell(cell: dict) -> bool:
    meta = (cell.get("metadata") or {}).get("nbgrader") or {}
    return bool(meta.get("locked")) and not meta.get("solution") and not meta.get("grade")


def run_records(path: str | Path | None) -> RunRecords:
    """The values recorded in the submitted notebook at ``path`` (none when it is missing or
    unreadable), and which of them the student's own cells compute answers from."""
    out = RunRecords()
    if not path:
        return out
    try:
        nb = json.loads(Path(path).read_text(encoding="utf-8"))
        cells = [c for c in nb.get("cells", []) if isinstance(c, dict)]
    except (OSError, ValueError, AttributeError):
        return out
    for cell in cells:
        if cell.get("cell_type") != "code" or not _course_cell(cell):
            continue
        for output in cell.get("outputs") or []:
            data = output.get("data") if isinstance(output, dict) else None
            record = data.get(MIME) if isinstance(data, dict) else None
            if not isinstance(record, dict) or not isinstance(record.get("key"), str):
                continue
            try:
                out.values[record["key"]] = from_json(record.get("value"))
            except (ValueError, TypeError, KeyError):
                continue
    if not out.values:
        return out
    student_cells = []
    for cell in cells:
        if cell.get("cell_type") != "code" or _course_cell(cell):
            continue
        meta = (cell.get("metadata") or {}).get("nbgrader") or {}
        if meta.get("grade") and not meta.get("solution"):
            continue                                     # a test cell: the course's own
        try:
            tree = parse_cell(_source(cell))
        except (SyntaxError, ValueError):
            continue
        student_cells.extend(_bindings(tree))
    for key in out.values:                               # what the student's cells make from it, at any remove
        made, grown = {key}, True
        while grown:
            grown = False
            for reads, binds in student_cells:
                if reads & made and not binds <= made:
                    made |= binds
                    grown = True
        if made - {key}:
            out.computed[key] = made - {key}
    return out


def _bindings(tree: ast.AST) -> list[tuple[set[str], set[str]]]:
    """(names a binding's value reads, names it binds) for each assignment, loop target and
    function of a cell: ``print(probe_results)`` beside ``QUIZ_1 = 3`` binds nothing from it."""
    out = []
    for node in ast.walk(tree):
        if isinstance(node, (ast.Assign, ast.AnnAssign, ast.AugAssign, ast.NamedExpr)) and node.value is not None:
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            names = {n.id for t in targets for n in ast.walk(t) if isinstance(n, ast.Name)}
            out.append((loaded_names(node.value), names))
        elif isinstance(node, (ast.For, ast.AsyncFor, ast.comprehension)):
            out.append((loaded_names(node.iter), {n.id for n in ast.walk(node.target) if isinstance(n, ast.Name)}))
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            out.append((set().union(*(loaded_names(b) for b in node.body)), {node.name}))
    return out
