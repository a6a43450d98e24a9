"""What students get back: nbgrader's feedback with the hidden tests taken out.

nbgrader 0.9 makes feedback from the autograded notebook, whose test cells hold the
hidden tests again (autograde restores them from the gradebook). :class:`HideHiddenTests`
runs in the feedback step and, in every graded cell, replaces each
``### BEGIN HIDDEN TESTS`` ... ``### END HIDDEN TESTS`` region with one comment line and
cuts error tracebacks down to their last line (a traceback quotes the failing source
line, which may be a hidden test). The message of the failed check stays: that is the
feedback. Test cells reach the kernel sealed (see cell_seal.py), so student code never
sees their source; as a second line of defence, any output in the notebook that quotes a
line of a hidden test (whatever printed it) is replaced by a note.
"""
from __future__ import annotations

import re

import json

from nbformat.v4 import new_markdown_cell, new_output
from nbgrader.preprocessors import NbGraderPreprocessor
from traitlets import Unicode

BEGIN = re.compile(r"^\s*#+\s*BEGIN HIDDEN TESTS", re.IGNORECASE)
END = re.compile(r"^\s*#+\s*END HIDDEN TESTS", re.IGNORECASE)
PLACEHOLDER = "# (hidden tests: not shown)"
QUOTED = "[grader: this output quoted hidden test code and was removed]\n"
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


def _texts(out) -> list[str]:
    if "text" in out:
        return [out["text"] if isinstance(out["text"], str) else "".join(out["text"])]
    texts = [v if isinstance(v, str) else "".join(v) if isinstance(v, list) else str(v)
             for v in out.get("data", {}).values()]
    if out.get("output_type") == "error":
        texts += [str(out.get("evalue", "")), *map(str, out.get("traceback", []))]
    return texts


class HideHiddenTests(NbGraderPreprocessor):
    """Feedback preprocessor: no hidden test source in sources, tracebacks or outputs."""

    def preprocess(self, nb, resources):
        quoted = [line for c in nb.cells for line in hidden_lines(c.source)]
        nb, resources = super().preprocess(nb, resources)
        if quoted:
            for cell in nb.cells:
                outs = cell.get("outputs", [])
                for i, out in enumerate(outs):
                    if any(line in text for text in _texts(out) for line in quoted):
                        outs[i] = new_output("stream", name="stdout", text=QUOTED)
        return nb, resources

    def preprocess_cell(self, cell, resources, index):
        meta = cell.get("metadata", {}).get("nbgrader", {})
        if meta.get("grade") or meta.get("locked"):
            if BEGIN.search(cell.source) or any(BEGIN.match(l) for l in cell.source.splitlines()):
                cell.source = strip_hidden(cell.source)
            for out in cell.get("outputs", []):
                if out.get("output_type") == "error":
                    out.traceback = [f"\x1b[0;31m{out.ename}\x1b[0m: {out.evalue}"]
        return cell, resources


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
