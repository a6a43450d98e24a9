"""Which answer each student chose in every quiz, read from the notebooks handed in.

A quiz is found in the instructor's solution notebook, not by its variable names: an
answer cell (``solution: true``) whose solution lines only set variables to plain values
(``"b"``, ``True``, ``3``) is a quiz; the variables it sets are its answer variables and
the values the right answers. The cell's heading (``### Quiz 1 · ...``) names it and the
graded cells after it, up to the next answer cell, are its questions. A student's answer
is the value their copy of the same cell (same grade id) sets, read without running it.
"""
from __future__ import annotations

import ast
import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

MARKER = re.compile(r"^\s*#+\s*(BEGIN|END) SOLUTION\s*$", re.IGNORECASE)
NO_ANSWER = "(no answer)"     # still None, as released
OTHER = "(not a plain value)"  # something the quiz does not offer: code, a typo
MISSING = "(cell missing)"


@dataclass
class Quiz:
    part: str
    notebook: str
    cell: str                    # grade id of the answer cell
    title: str                   # "Quiz 1", from the heading above it
    correct: dict[str, str]      # answer variable -> the right value, as Python writes it
    questions: list[str] = field(default_factory=list)   # graded cells that check it


def _meta(cell) -> dict:
    return cell.get("metadata", {}).get("nbgrader", {})


def _literal_assignments(source: str) -> dict[str, object] | None:
    """``{name: value}`` when every statement sets a name to a plain value, else None."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return None
    out = {}
    for stmt in tree.body:
        if not (isinstance(stmt, ast.Assign) and len(stmt.targets) == 1 and isinstance(stmt.targets[0], ast.Name)):
            return None
        try:
            out[stmt.targets[0].id] = ast.literal_eval(stmt.value)
        except ValueError:
            return None
    return out


def _solution_lines(source: str) -> str | None:
    lines, inside, seen = [], False, False
    for line in source.splitlines():
        m = MARKER.match(line)
        if m:
            inside, seen = m.group(1).upper() == "BEGIN", True
            continue
        if inside:
            lines.append(line)
    return "\n".join(lines) if seen else None


def _title(text: str) -> str:
    """"Quiz 1" when the text before the cell names a quiz, else ""."""
    found = re.findall(r"\bQuiz\s+([A-Z0-9]{1,3})\b", text)
    return f"Quiz {found[-1]}" if found else ""


def _plain(value) -> bool:
    if isinstance(value, (list, tuple)):
        return all(_plain(v) for v in value)
    return isinstance(value, (str, bool, int, float))


def quizzes(solution: Path, part: str, notebook: str) -> list[Quiz]:
    """The quizzes of one solution notebook, in order."""
    nb = nbformat.read(solution, as_version=4)
    out: list[Quiz] = []
    text, current = "", None     # text: the markdown since the previous answer cell
    for cell in nb.cells:
        meta = _meta(cell)
        if cell.cell_type == "markdown" and not meta.get("solution"):
            text += "\n" + cell.source
        if not meta.get("grade_id"):
            continue
        if meta.get("solution"):
            current = None
            body = _solution_lines(cell.source) if cell.cell_type == "code" else None
            values = _literal_assignments(body) if body else None
            if values and all(_plain(v) for v in values.values()):
                current = Quiz(part, notebook, meta["grade_id"], _title(text) or ", ".join(values),
                               {k: repr(v) for k, v in values.items()})
                out.append(current)
            text = ""
        elif meta.get("grade") and current is not None:
            current.questions.append(meta["grade_id"])
    return out


def answers(submitted: Path, quiz: Quiz) -> dict[str, str]:
    """What the student's copy of the quiz cell sets each answer variable to (the value as
    Python writes it, or :data:`NO_ANSWER`, :data:`OTHER`, :data:`MISSING`)."""
    nb = nbformat.read(submitted, as_version=4)
    cell = next((c for c in nb.cells if _meta(c).get("grade_id") == quiz.cell), None)
    if cell is None:
        return {v: MISSING for v in quiz.correct}
    try:
        tree = ast.parse(cell.source)
    except SyntaxError:
        return {v: OTHER for v in quiz.correct}
    found: dict[str, str] = {}
    for stmt in tree.body:   # the last assignment wins, as when the cell runs
        if isinstance(stmt, ast.Assign):
            for target in stmt.targets:
                if isinstance(target, ast.Name) and target.id in quiz.correct:
                    try:
                        value = ast.literal_eval(stmt.value)
                        found[target.id] = NO_ANSWER if value is None else repr(value)
                    except ValueError:
                        found[target.id] = OTHER
    return {v: found.get(v, OTHER) for v in quiz.correct}


@dataclass
class Choice:
    quiz: Quiz
    variable: str
    counts: Counter               # value -> students who chose it
    most_common_wrong: str | None  # the wrong value chosen most often (ties: alphabetical)

    @property
    def n(self) -> int:
        return sum(self.counts.values())


def distribution(quiz: Quiz, chosen: dict[str, dict[str, str]]) -> list[Choice]:
    """Per answer variable, how many students chose each value; ``chosen`` maps student ->
    :func:`answers`. A non-answer is not counted as the most common wrong answer."""
    out = []
    for var, right in quiz.correct.items():
        counts = Counter(a[var] for a in chosen.values() if var in a)
        wrong = [(n, v) for v, n in counts.items()
                 if v != right and v not in (NO_ANSWER, MISSING, OTHER)]
        top = min(wrong, key=lambda t: (-t[0], t[1]))[1] if wrong else None   # ties: alphabetical
        out.append(Choice(quiz, var, counts, top))
    return out
