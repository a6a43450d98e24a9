"""What students get back: nbgrader's feedback, built from what the student handed in
and the grader's own messages.

nbgrader 0.9 makes feedback from the autograded notebook, whose test cells hold the
hidden tests again (autograde restores them from the gradebook), and whose other cells
hold what they printed while the notebook was graded, when hidden tests had been in the
kernel. Two preprocessors of the feedback step take all of that out:

- :class:`HideHiddenTests` replaces each ``### BEGIN HIDDEN TESTS`` ...
  ``### END HIDDEN TESTS`` region of a test cell's source with one comment line and cuts
  error tracebacks down to their message. A test cell's outputs are already only the
  grader's verdict (``autograder/sandbox/judge.py``), never what the kernel printed.
- :class:`SubmittedOutputs` gives every other code cell the outputs it had in the
  notebook the student handed in (their own run, before any hidden test existed), plus
  the grader's note when the cell failed while grading: the error's class, and its
  message only when no hidden test had run in the kernel yet.
"""
from __future__ import annotations

import copy
import json
import re
from pathlib import Path

from nbformat.v4 import new_markdown_cell, new_output
from nbgrader.preprocessors import NbGraderPreprocessor
from traitlets import Unicode

BEGIN = re.compile(r"^\s*#+\s*BEGIN HIDDEN TESTS", re.IGNORECASE)
END = re.compile(r"^\s*#+\s*END HIDDEN TESTS", re.IGNORECASE)
PLACEHOLDER = "# (hidden tests: not shown)"
MIN_QUOTED = 12   # hidden lines shorter than this (a bracket, `else:`) are too common to match
ANSI = re.compile(r"\x1b\[[0-9;]*m")


def strip_hidden(source: str) -> str:
    """``source`` with every hidden-test region replaced by a placeholder line."""
    out, hidden = [], False
    for line in source.splitlines(keepends=True):
        if not hidden and BEGIN.match(line):
            hidden = True
            indent = line[: len(line) - len(line.lstrip())]
            out.append(indent + PLACEHOLDER + "\n")
        elif hidden:
            if END.match(line):
                hidden = False
        else:
            out.append(line)
    return "".join(out)


def hidden_lines(source: str) -> list[str]:
    """The (stripped, long enough) lines inside the hidden-test regions of ``source``."""
    out, hidden = [], False
    for line in source.splitlines():
        if not hidden and BEGIN.match(line):
            hidden = True
        elif hidden and END.match(line):
            hidden = False
        elif hidden and len(line.strip()) >= MIN_QUOTED:
            out.append(line.strip())
    return out


class HideHiddenTests(NbGraderPreprocessor):
    """Feedback preprocessor: no hidden test source in sources or tracebacks."""

    def preprocess_cell(self, cell, resources, index):
        meta = cell.get("metadata", {}).get("nbgrader", {})
        if meta.get("grade") or meta.get("locked"):
            if BEGIN.search(cell.source) or any(BEGIN.match(l) for l in cell.source.splitlines()):
                cell.source = strip_hidden(cell.source)
            for out in cell.get("outputs", []):
                if out.get("output_type") == "error":
                    out.traceback = [f"\x1b[0;31m{out.ename}\x1b[0m: {out.evalue}"]
        return cell, resources


class SubmittedOutputs(NbGraderPreprocessor):
    """Feedback preprocessor: every code cell but the tests shows the outputs it had when
    handed in (``submitted_root/<student>/<assignment>/<notebook>.ipynb``, kept by the
    intake), and a note when it failed while being graded."""

    submitted_root = Unicode("", help="folder of the submitted notebooks, by student and "
                                      "assignment").tag(config=True)

    def preprocess(self, nb, resources):
        info = resources.get("nbgrader", {})
        handed_in = self._submitted(info)
        hidden_seen = False
        for index, cell in enumerate(nb.cells):
            if cell.cell_type != "code":
                continue
            meta = cell.get("metadata", {}).get("nbgrader", {})
            if meta.get("grade") and not meta.get("solution"):
                # HideHiddenTests (run before) left its placeholder where the hidden tests were
                hidden_seen = hidden_seen or any(BEGIN.match(l) or l.strip() == PLACEHOLDER
                                                 for l in cell.source.splitlines())
                continue
            graded_error = next((o for o in cell.get("outputs", []) if o.get("output_type") == "error"), None)
            cell.outputs = [copy.deepcopy(o) for o in handed_in.get(_cell_key(cell, index), [])
                            if o.get("output_type") in ("stream", "display_data", "execute_result")]
            if graded_error is not None:
                text = f"[grader] while grading, this cell raised {graded_error.ename}"
                if not hidden_seen and graded_error.get("evalue"):
                    text += f": {str(graded_error.evalue)[:2000]}"
                cell.outputs.append(new_output("stream", name="stdout", text=text + "\n"))
        return nb, resources

    def _submitted(self, info: dict) -> dict:
        import nbformat

        if not self.submitted_root:
            return {}
        path = Path(self.submitted_root) / info.get("student", "") / info.get("assignment", "") / \
            f"{info.get('notebook', '')}.ipynb"
        try:
            nb = nbformat.read(path, as_version=4)
        except (OSError, ValueError):
            return {}
        return {_cell_key(c, i): c.get("outputs", []) for i, c in enumerate(nb.cells) if c.cell_type == "code"}


def _cell_key(cell, index: int) -> str:
    """A code cell's place: its grade id, else its source (cells added by the student)."""
    gid = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")
    return f"id:{gid}" if gid else f"src:{cell.source.strip()}"


class GraderNotes(NbGraderPreprocessor):
    """Feedback preprocessor: a note at the top saying what the grader had to do with this
    notebook (a repaired file, a cell stopped at its time limit, output cut off ...).
    ``notes_file`` is a JSON object ``{notebook: [sentence, ...]}`` written by the worker."""

    notes_file = Unicode("", help="JSON file of notes per notebook").tag(config=True)

    def preprocess(self, nb, resources):
        if not self.notes_file:
            return nb, resources
        try:
            with open(self.notes_file, encoding="utf-8") as f:
                notes = json.load(f).get(resources.get("nbgrader", {}).get("notebook"), [])
        except (OSError, ValueError):
            notes = []
        if notes:
            text = "**Notes from the grader about this notebook**\n\n" + "\n".join(f"- {n}" for n in notes)
            nb.cells.insert(0, new_markdown_cell(text))
        return nb, resources


def mark_pending(html: str, pending: dict[str, float]) -> str:
    """The feedback page with each hand-graded answer of ``pending`` (grade id -> points)
    shown as pending instead of a score of 0, and the notebook's score saying how many
    points are still to be graded by hand. nbgrader's template prints a missing score
    as 0.0, hence the rewrite of its three places: the table of contents, the cell's
    heading and the notebook's heading."""
    for gid, points in pending.items():
        gid_re = re.escape(gid)
        html = re.sub(rf'(<a href="#{gid_re}">[^<]*</a> \(Score: )[0-9.]+( / )',
                      r"\1pending (graded by hand)\2", html)
        html = re.sub(rf'(<a name="{gid_re}"></a>.*?Score: )[0-9.]+( / [0-9.]+ <a href="#top">)',
                      r"\1pending (graded by hand)\2", html, count=1, flags=re.DOTALL)
    if pending:
        total = sum(pending.values())
        html = re.sub(r"(<h4>[^<]*\(Score: [0-9.]+ / [0-9.]+)\)",
                      rf"\1; {total:g} of these points are still to be graded by hand)", html, count=1)
    return html
