"""What a broken cell really cost, and whether a notebook was handed in untouched.

A cell that fails (a syntax error, say) leaves undefined what it was meant to define,
so later cells that use those names fail with ``NameError`` (or a test reports that the
function it called raised one). nbgrader scores those
later questions 0 as if they were separate mistakes; :func:`blame` traces each such
failure back to the earlier broken cell that should have defined the name (through
chains: a cell that failed only because of an earlier one passes the blame on), so the
report can charge the whole loss to the cell the student has to fix.

:func:`untouched` says whether every answer cell of a submission is still as released
(a student who handed in the blank download by mistake).
"""
from __future__ import annotations

import ast
import re
from pathlib import Path

import nbformat

NAME_ERROR = re.compile(r"name '([A-Za-z_][A-Za-z0-9_]*)' is not defined")


def _meta(cell) -> dict:
    return cell.get("metadata", {}).get("nbgrader", {})


def defined_names(source: str) -> set[str]:
    """Names a cell binds at its top level (functions, classes, assignments, imports,
    loop variables). Source that does not parse is read line by line instead."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return _defined_by_lines(source)
    names: set[str] = set()
    for node in tree.body:
        for sub in ast.walk(node):
            if isinstance(sub, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                names.add(sub.name)
            elif isinstance(sub, ast.Name) and isinstance(sub.ctx, ast.Store):
                names.add(sub.id)
            elif isinstance(sub, (ast.Import, ast.ImportFrom)):
                names |= {(a.asname or a.name).split(".")[0] for a in sub.names}
        # names bound inside a function body are not the cell's
        for fn in (n for n in ast.walk(node) if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))):
            for sub in ast.walk(fn):
                if isinstance(sub, ast.Name) and isinstance(sub.ctx, ast.Store):
                    names.discard(sub.id)
    return names


def _defined_by_lines(source: str) -> set[str]:
    names = set()
    for line in source.splitlines():
        if line[:1].isspace():
            continue
        m = re.match(r"(?:async\s+)?(?:def|class)\s+([A-Za-z_]\w*)", line) or \
            re.match(r"([A-Za-z_]\w*)\s*(?::[^=]*)?=(?!=)", line)
        if m:
            names.add(m.group(1))
    return names


def _error(cell) -> tuple[str, str] | None:
    for o in cell.get("outputs", []):
        if o.get("output_type") == "error":
            return o.get("ename", ""), str(o.get("evalue", ""))
    return None


def blame(autograded: Path, release: Path | None = None) -> dict[int, int]:
    """``{cell index: index of the earlier broken cell it failed because of}`` for every
    code cell of an autograded notebook whose error is a ``NameError`` for a name that an
    earlier failed cell (at the root of the chain) should have defined. A name is taken as
    meant to be defined by a cell when the student's source or the released cell with the
    same grade id binds it."""
    nb = nbformat.read(autograded, as_version=4)
    released: dict[str, str] = {}
    if release is not None and Path(release).is_file():
        rel = nbformat.read(release, as_version=4)
        released = {_meta(c)["grade_id"]: c.source for c in rel.cells
                    if c.cell_type == "code" and _meta(c).get("grade_id")}
    out: dict[int, int] = {}
    failed: list[tuple[int, set[str]]] = []    # earlier failed cells and the names they bind
    for i, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            continue
        err = _error(cell)
        names = defined_names(cell.source) | defined_names(released.get(_meta(cell).get("grade_id"), ""))
        if err is None:
            failed = [(j, n - names) for j, n in failed]    # rebound since: no longer missing
            continue
        ename, evalue = err
        m = NAME_ERROR.search(evalue)   # also when a test reports it ("f(x) raised NameError: ...")
        if m:
            culprit = next((j for j, n in reversed(failed) if m.group(1) in n), None)
            if culprit is not None:
                out[i] = out.get(culprit, culprit)
        failed.append((i, names))
    return out


def untouched(submitted: Path, release: Path) -> bool:
    """Whether every answer cell of the (repaired) submission is exactly as released."""
    sub = nbformat.read(submitted, as_version=4)
    rel = nbformat.read(release, as_version=4)
    answers = {_meta(c)["grade_id"]: c.source.strip() for c in sub.cells if _meta(c).get("solution")}
    released = {_meta(c)["grade_id"]: c.source.strip() for c in rel.cells if _meta(c).get("solution")}
    return bool(released) and all(answers.get(g, s) == s for g, s in released.items())
