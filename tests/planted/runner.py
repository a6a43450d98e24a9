"""Run planted student submissions in the student's view and in the grader's, fast.

    python tests/planted/runner.py tests/planted/01_tokens_to_vectors.json  > results.json
    python tests/planted/runner.py --summary tests/planted/*.json           # the figures

A corpus file (made by ``scripts/make_planted_bugs.py``) names a notebook and holds
*variants*: one answer cell of the solution notebook replaced by a buggy or an
alternative answer. For each variant this runs the notebook's code cells in order in
one Python process and records, for every test cell, two outcomes:

- **student view**: the cell as the release has it (its visible tests);
- **grading view**: the cell as the solutions have it, which nbgrader runs when it
  grades. The whole cell is its visible part with the hidden part inserted, so it
  passes exactly when the visible part passes and then the hidden part does; the
  runner runs the release cell, then the hidden part, in one pass.

A cell *fails* when it raises or writes to stderr (nbgrader gives such a cell no
points). To stay cheap (notebooks 04-06 have training cells), the runner

- runs the solution once, up to the last test cell (later cells change no outcome),
  keeping the names each cell binds;
- runs the cells before a variant's answer cell once per notebook (with the correct
  answers); each variant starts from a copy of that namespace, with the random
  generators and torch's grad mode as they were there, and runs its own cell and, of the ones after it, only
  the cells that read a name its cell (or a cell run after it) binds *and* lead to a
  test: a test cell, or a cell that binds a name such a cell reads. The others would
  do what they did for the solution, so their names are taken from the solution's run
  and their tests, which pass as they did for the solution, are left out;
- for a bug, leaves out the test cells of quizzes: the checks ignore them (a quiz
  answer computed with buggy code may be wrong), and in notebook 06 they would pull the
  probes of three encoders into every bug's run.

The output is JSON:
``{notebook: {variant_id: {"student": {test_id: error or null}, "grading": {...}}}}``,
with the unchanged solution as variant ``"solution"``; a test left out is absent.
"""
from __future__ import annotations

import contextlib
import io
import json
import os
import re
import signal
import sys
import traceback
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO_ROOT))

import nbformat  # noqa: E402

#: Seconds one cell may run before it counts as failed (a planted bug may loop).
CELL_TIMEOUT_S = 120


def _grade_id(cell) -> str | None:
    return cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")


def _is_test(cell) -> bool:
    meta = cell.get("metadata", {}).get("nbgrader", {})
    return cell.cell_type == "code" and bool(meta.get("grade")) and not meta.get("solution")


def student_source(source: str) -> str:
    """An answer cell as a student who solved it hands it in: no solution markers."""
    return "\n".join(line for line in source.splitlines()
                     if line.strip() not in ("### BEGIN SOLUTION", "### END SOLUTION"))


class _CellTimeout(Exception):
    pass


def _on_alarm(signum, frame):
    raise _CellTimeout(f"the cell ran longer than {CELL_TIMEOUT_S} s")


def run_cell(source: str, ns: dict, name: str) -> str | None:
    """Execute one cell in ``ns``; None if it ran cleanly, else what went wrong."""
    import matplotlib.pyplot as plt
    err = io.StringIO()
    signal.signal(signal.SIGALRM, _on_alarm)
    signal.alarm(CELL_TIMEOUT_S)
    try:
        with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
            exec(compile(source, f"<cell {name}>", "exec"), ns)
    except BaseException as exc:   # noqa: BLE001 - a failing cell is a result here
        if isinstance(exc, KeyboardInterrupt):
            raise
        return "".join(traceback.format_exception_only(type(exc), exc)).strip()[-2000:]
    finally:
        signal.alarm(0)
        plt.close("all")
    return f"wrote to stderr: {err.getvalue().strip()[:500]}" if err.getvalue().strip() else None


#: An answer cell of quiz N sets ``QUIZ_N = None`` in the release.
QUIZ_ANSWER = re.compile(r"^\s*QUIZ_\d+\s*=\s*None", re.MULTILINE)


def quiz_tests(assignment: str, notebook: str) -> set[str]:
    """Test cells of quizzes: those whose nearest answer cell above sets a quiz answer.
    Their hidden tests check the answer itself, so they may take points that no visible
    test shows; the rule "no point lost silently" is about code exercises."""
    solution = nbformat.read(REPO_ROOT / "solutions" / assignment / f"{notebook}.ipynb", as_version=4)
    quiz, out = False, set()
    for cell in solution.cells:
        meta = cell.get("metadata", {}).get("nbgrader", {})
        if meta.get("solution") and cell.cell_type == "code":
            quiz = bool(QUIZ_ANSWER.search(cell.source))
        elif _is_test(cell) and quiz:
            out.add(meta["grade_id"])
    return out


def hidden_part(source: str) -> str:
    """The lines of a test cell between its hidden-test markers (markers excluded)."""
    out, hidden = [], False
    for line in source.splitlines():
        if line.strip() == "### BEGIN HIDDEN TESTS":
            hidden = True
        elif line.strip() == "### END HIDDEN TESTS":
            hidden = False
        elif hidden:
            out.append(line)
    return "\n".join(out)


def notebook_cells(assignment: str, notebook: str) -> list[dict]:
    """The code cells in order: grade id, whether it is a test, the source the student
    runs and, for tests, the hidden part the grader adds."""
    solution = nbformat.read(REPO_ROOT / "solutions" / assignment / f"{notebook}.ipynb", as_version=4)
    release = nbformat.read(REPO_ROOT / "notebooks" / assignment / f"{notebook}.ipynb", as_version=4)
    released = {_grade_id(c): c.source for c in release.cells if _grade_id(c)}
    cells = []
    for index, cell in enumerate(solution.cells):
        if cell.cell_type != "code":
            continue
        gid = _grade_id(cell) or f"cell{index}"
        test = _is_test(cell)
        cells.append({"id": gid, "test": test,
                      "source": released[gid] if test else student_source(cell.source),
                      "hidden": hidden_part(cell.source) if test else ""})
    return cells


def names(source: str) -> tuple[set[str], set[str]]:
    """(names of the notebook's namespace a cell reads, names it binds there), by scope:
    a function's parameters and locals are not the namespace's, the globals its body
    reads are."""
    import symtable
    try:
        top = symtable.symtable(source, "<cell>", "exec")
    except SyntaxError:
        return set(), set()
    reads = {s.get_name() for s in top.get_symbols() if s.is_referenced()}
    binds = {s.get_name() for s in top.get_symbols() if s.is_assigned() or s.is_imported() or s.is_namespace()}
    scopes = list(top.get_children())
    while scopes:                                      # functions, classes, comprehensions, at any depth
        scope = scopes.pop()
        scopes.extend(scope.get_children())
        for symbol in scope.get_symbols():
            if symbol.is_global() and symbol.is_referenced():
                reads.add(symbol.get_name())
            if symbol.is_declared_global() and symbol.is_assigned():
                binds.add(symbol.get_name())
    return reads, binds


def run_cells(cells: list[dict], ns: dict, replace: dict | None = None, saved: dict | None = None,
              needed: set[str] | None = None) -> dict:
    """Run ``cells`` in ``ns`` (``replace``: grade id -> source); outcome of each test.

    With ``needed`` (see :func:`needed_cells`), a cell neither replaced nor needed is not
    run: its names are taken from ``saved`` (cell id -> the names that cell bound in the
    solution's run)."""
    outcome = {}
    for cell in cells:
        source = (replace or {}).get(cell["id"], cell["source"])
        if needed is not None and cell["id"] not in (replace or {}) and cell["id"] not in needed:
            ns.update((saved or {}).get(cell["id"], {}))
            continue
        student = run_cell(source, ns, cell["id"])
        grading = student
        if cell["test"] and student is None and cell["hidden"].strip():
            grading = run_cell(cell["hidden"], ns, cell["id"] + " (hidden tests)")
        if cell["test"]:
            outcome[cell["id"]] = (student, grading)
    return outcome


def needed_cells(later: list[dict], changed: set[str], left_out: set[str]) -> set[str]:
    """Ids of the cells of ``later`` (the cells after a replaced one, in order) that a
    variant must run: forward, those that read a changed name (``changed``: the names
    the replaced cell binds, in the solution or the variant) or one that such a cell
    binds; backward, of those, the tests not in ``left_out`` and the cells that bind a
    name a needed cell after them reads."""
    affected = []
    for cell in later:
        if cell["reads"] & changed:
            affected.append(cell)
            changed = changed | cell["binds"]
    needed, live = set(), set()
    for cell in reversed(affected):
        if (cell["test"] and cell["id"] not in left_out) or cell["binds"] & live:
            needed.add(cell["id"])
            live |= cell["reads"]
    return needed


def _global_state() -> tuple:
    """What a cell may change outside its namespace: the random generators, torch's
    grad mode (notebook 03 turns it off) and default dtype."""
    import random

    import numpy as np
    import torch
    return (torch.get_rng_state(), random.getstate(), np.random.get_state(), torch.is_grad_enabled(),
            torch.get_default_dtype())


def _set_global_state(state: tuple) -> None:
    import random

    import numpy as np
    import torch
    torch.set_rng_state(state[0])
    random.setstate(state[1])
    np.random.set_state(state[2])
    torch.set_grad_enabled(state[3])
    torch.set_default_dtype(state[4])


def run_corpus(corpus: dict) -> dict:
    import torch
    torch.set_num_threads(1)        # small tensors; the notebooks' runners share the cores
    torch.set_grad_enabled(True)    # as in a fresh kernel, whatever the notebook run before did
    torch.set_default_dtype(torch.float32)
    cells = notebook_cells(corpus["assignment"], corpus["notebook"])
    last_test = max(i for i, c in enumerate(cells) if c["test"])
    cells = cells[:last_test + 1]                     # later cells change no test's outcome
    for cell in cells:
        cell["reads"], cell["binds"] = names(cell["source"])
        if cell["test"]:                              # the grader runs the hidden part too
            hidden_reads, hidden_binds = names(cell["hidden"])
            cell["reads"], cell["binds"] = cell["reads"] | hidden_reads, cell["binds"] | hidden_binds
    position = {c["id"]: i for i, c in enumerate(cells)}
    quizzes = quiz_tests(corpus["assignment"], corpus["notebook"])
    # the solution first: every cell, keeping what each cell bound for the variants
    ns: dict = {"__name__": "__main__"}
    saved: dict = {}
    outcome = {}
    for cell in cells:
        outcome.update(run_cells([cell], ns))
        saved[cell["id"]] = {n: ns[n] for n in cell["binds"] if n in ns}
    results: dict = {"solution": {"student": {k: s for k, (s, _) in outcome.items()},
                                  "grading": {k: g for k, (_, g) in outcome.items()}}}
    variants = sorted(corpus["variants"], key=lambda v: position[v["grade_id"]])
    base: dict = {"__name__": "__main__"}
    done = 0                                          # cells [0, done) have run in `base`
    state = _global_state()
    for variant in variants:
        start = position[variant["grade_id"]]
        _set_global_state(state)
        run_cells(cells[done:start], base)
        done, state = start, _global_state()
        changed = names(variant["source"])[1] | cells[start]["binds"]
        own = next(c["id"] for c in cells[start + 1:] if c["test"])     # the exercise's test
        left_out = quizzes - {own} if variant["kind"] == "bug" else set()
        needed = needed_cells(cells[start + 1:], changed, left_out) | {own}
        outcome = run_cells(cells[start:], dict(base), {variant["grade_id"]: variant["source"]}, saved, needed)
        _set_global_state(state)
        results[variant["id"]] = {"student": {k: s for k, (s, _) in outcome.items()},
                                  "grading": {k: g for k, (_, g) in outcome.items()}}
    return results


def summary(corpora: list[dict], results: dict) -> str:
    """The figures: bugs the visible tests catch, points lost silently, alternatives at
    full marks, per notebook and in all."""
    lines, totals = [], [0, 0, 0, 0, 0]
    for corpus in corpora:
        outcome = results[corpus["notebook"]]
        bugs = [v for v in corpus["variants"] if v["kind"] == "bug"]
        alts = [v for v in corpus["variants"] if v["kind"] == "alternative"]
        quizzes = quiz_tests(corpus["assignment"], corpus["notebook"])
        fails = {v["id"]: ({t for t, e in outcome[v["id"]]["student"].items() if e},
                           {t for t, e in outcome[v["id"]]["grading"].items() if e and t not in quizzes})
                 for v in bugs + alts}
        caught = sum(bool(fails[v["id"]][0]) for v in bugs)
        silent = sum(bool(fails[v["id"]][1] - fails[v["id"]][0]) for v in bugs)
        full = sum(not fails[v["id"]][1] for v in alts)
        figures = [caught, len(bugs), silent, full, len(alts)]
        totals = [a + b for a, b in zip(totals, figures)]
        lines.append(f"{corpus['notebook']}: bugs caught by a visible test {caught}/{len(bugs)}, "
                     f"bugs losing code points silently {silent}, alternatives at full marks {full}/{len(alts)}")
    lines.append(f"all: bugs caught by a visible test {totals[0]}/{totals[1]}, bugs losing code points silently "
                 f"{totals[2]}, alternatives at full marks {totals[3]}/{totals[4]}")
    return "\n".join(lines)


def main(argv: list[str]) -> int:
    os.environ.setdefault("MPLBACKEND", "Agg")
    os.environ["NBGRADER_EXECUTION"] = "autograde"      # grading mode, as under nbgrader
    show_summary = "--summary" in argv
    paths = [a for a in argv if a != "--summary"]
    corpora = [json.loads(Path(path).read_text(encoding="utf-8")) for path in paths]
    out = {corpus["notebook"]: run_corpus(corpus) for corpus in corpora}
    if show_summary:
        print(summary(corpora, out))
    else:
        json.dump(out, sys.stdout, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
