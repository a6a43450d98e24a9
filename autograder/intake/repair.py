"""Turn whatever a student handed in into a notebook nbgrader can grade, saying what changed.

nbgrader reads the file as it is: a byte that is not UTF-8, nbformat 3, a cell without
``schema_version`` or a duplicated grade id can abort the notebook (or, for the schema,
the whole batch), and a deleted or retyped cell silently changes the grade. Before
grading, :func:`repair` reads the submitted bytes and, against the release notebook:

- decodes non-UTF-8 bytes (replaced, not guessed) and upgrades nbformat 3 to 4;
- rebuilds every cell cleanly (fresh cell ids; editor and Colab metadata dropped;
  the outputs of code cells kept as handed in, for the student's feedback: nbgrader
  clears them before running the notebook);
- adds a missing ``schema_version`` and drops malformed nbgrader metadata;
- keeps one cell per grade id (the answered copy of a duplicated answer cell, the first
  copy of anything else);
- puts a cell whose type was changed (code <-> markdown) back to its type;
- re-attaches nbgrader metadata an editor dropped, when the cell can be found (the
  same locked source, or the one unlabelled cell of the right type in the gap);
- restores deleted cells from the release at their place (a deleted test still runs
  against the student's code; a deleted answer counts as not answered).

Nothing is ever written back to the input: the caller gets a new notebook and the notes.
"""
from __future__ import annotations

import json
import warnings
from dataclasses import dataclass

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_raw_cell

SCHEMA_VERSION = 3
KEEP_CELL_METADATA = ("nbgrader", "tags", "deletable", "editable")


@dataclass
class Note:
    """One thing :func:`repair` found. ``fatal``: the notebook cannot be graded."""
    kind: str
    detail: str
    fatal: bool = False
    grade_ids: tuple = ()


def _nbg(cell) -> dict:
    meta = cell.get("metadata", {}).get("nbgrader")
    return meta if isinstance(meta, dict) else {}


def read_bytes(raw: bytes) -> tuple[dict | None, list[Note]]:
    """Parse submitted bytes into a v4 notebook dict (or None) with notes."""
    notes: list[Note] = []
    if not raw.strip():
        return None, [Note("empty_file", "the file is empty (0 bytes of notebook)", fatal=True)]
    if raw.startswith(b"\xef\xbb\xbf"):
        raw = raw[3:]
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as err:
        text = raw.decode("utf-8", errors="replace")
        notes.append(Note("not_utf8", f"the file contains bytes that are not UTF-8 text (first at byte "
                                      f"{err.start}); they were replaced by \ufffd and the rest graded"))
    try:
        data = json.loads(text)
        if _has_surrogate(json.dumps(data, ensure_ascii=False)):
            notes.append(Note("not_utf8", "the file contains characters that cannot be written as UTF-8 (a lone "
                                          "surrogate); they were replaced by \ufffd and the rest graded"))
            data = _without_surrogates(data)
    except json.JSONDecodeError as err:
        return None, notes + [Note("invalid_json", f"the file is not a readable notebook: invalid JSON "
                                                   f"at line {err.lineno}, column {err.colno} ({err.msg})",
                                   fatal=True)]
    if not isinstance(data, dict) or not ("cells" in data or "worksheets" in data):
        return None, notes + [Note("not_a_notebook", "the file is JSON but not a Jupyter notebook",
                                   fatal=True)]
    major = data.get("nbformat")
    if major not in (3, 4):
        if "cells" in data:
            notes.append(Note("format_version", f"unknown notebook format {major!r}; read as format 4"))
            data["nbformat"], data["nbformat_minor"] = 4, 5
        else:
            return None, notes + [Note("format_version", f"unknown notebook format {major!r}", fatal=True)]
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")   # duplicate cell ids etc.: the cells are rebuilt anyway
            nb = nbformat.reads(json.dumps(data), as_version=4)
    except Exception as err:   # nbformat raises several types on malformed input
        return None, notes + [Note("unreadable", f"the notebook could not be read ({type(err).__name__}: "
                                                 f"{str(err)[:120]})", fatal=True)]
    if major == 3:
        notes.append(Note("nbformat3", "saved in the old notebook format 3; converted to format 4"))
    return nb, notes


def _text(value) -> str:
    """A cell's source or metadata string as text that can be written back as UTF-8 (a lone
    surrogate, written in the JSON as an escape, becomes \ufffd; a list is joined; anything
    else that is not text is dropped)."""
    if isinstance(value, list):
        value = "".join(v for v in value if isinstance(v, str))
    if not isinstance(value, str):
        return ""
    return value.encode("utf-8", "replace").decode("utf-8") if _has_surrogate(value) else value


def _has_surrogate(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def _without_surrogates(obj):
    """``obj`` (parsed JSON) with every lone surrogate in its strings replaced."""
    if isinstance(obj, str):
        return _text(obj)
    if isinstance(obj, list):
        return [_without_surrogates(v) for v in obj]
    if isinstance(obj, dict):
        return {_text(k): _without_surrogates(v) for k, v in obj.items()}
    return obj


def _points(meta: dict) -> float | None:
    """A cell's points as a number (None when they are not one)."""
    value = meta.get("points", 0) or 0
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        return None
    try:
        return float(value)
    except ValueError:
        return None


#: Output kept per code cell for the feedback (a larger one is left out).
MAX_KEPT_OUTPUT = 1_000_000
#: Cells a notebook may have (the course's have under 150): running, scanning and rendering
#: 100,000 cells would hold a worker for the better part of an hour.
MAX_CELLS = 2_000


def _kept_outputs(outputs) -> list:
    """The outputs of a handed-in code cell that are well formed (else none)."""
    if not isinstance(outputs, list):
        return []
    kept = []
    for out in outputs:
        try:
            node = nbformat.from_dict(out)
            nbformat.validator.validate(node, ref="output", version=4)
        except Exception:                                  # noqa: BLE001 - any malformed output
            return []
        kept.append(node)
    if len(json.dumps(kept)) > MAX_KEPT_OUTPUT:
        return []
    return kept


def _clean_cell(cell):
    src = _text(cell.get("source", ""))
    meta = {k: v for k, v in dict(cell.get("metadata", {})).items() if k in KEEP_CELL_METADATA}
    kind = cell.get("cell_type")
    if kind == "code":
        new = new_code_cell(src, metadata=meta)
        new.outputs = _kept_outputs(cell.get("outputs"))
    elif kind == "raw":
        new = new_raw_cell(src, metadata=meta)
    else:
        new = new_markdown_cell(src, metadata=meta)
        if cell.get("attachments"):
            new["attachments"] = cell["attachments"]
    return new


def _answered(cell, release_cell) -> bool:
    return cell.source.strip() != release_cell.source.strip()


def repair(raw: bytes, release: nbformat.NotebookNode) -> tuple[nbformat.NotebookNode | None, list[Note]]:
    """Read ``raw`` and bring it in line with ``release``; returns (notebook or None, notes)."""
    data, notes = read_bytes(raw)
    if data is None:
        return None, notes
    if len(data.cells) > MAX_CELLS:
        return None, notes + [Note("too_many_cells", f"the notebook has {len(data.cells):,} cells; this course's "
                                                     f"has {len(release.cells)}, and one with more than "
                                                     f"{MAX_CELLS:,} is not graded", fatal=True)]
    cells = [_clean_cell(c) for c in data.cells]

    # nbgrader metadata: malformed dropped, schema_version added
    no_schema = []
    for cell in cells:
        meta = cell.metadata.get("nbgrader")
        if meta is None:
            continue
        if isinstance(meta, dict) and type(meta.get("grade_id")) is int:
            meta["grade_id"] = str(meta["grade_id"])
        if not isinstance(meta, dict) or not isinstance(meta.get("grade_id"), str) or not meta["grade_id"] \
                or _points(meta) is None:
            del cell.metadata["nbgrader"]
            continue
        if meta.get("schema_version") != SCHEMA_VERSION:
            meta["schema_version"] = SCHEMA_VERSION
            no_schema.append(meta["grade_id"])
    if no_schema:
        notes.append(Note("schema_version", "nbgrader metadata without the right schema_version (plain "
                                            "nbgrader would abort the whole batch); fixed",
                          grade_ids=tuple(no_schema)))

    rel = [c for c in release.cells]
    rel_by_id = {_nbg(c)["grade_id"]: c for c in rel if _nbg(c).get("grade_id")}
    order = [gid for gid in (_nbg(c).get("grade_id") for c in rel) if gid]
    foreign = _other_notebook(cells, release)
    if foreign:
        return None, notes + [Note("other_notebook", foreign, fatal=True)]

    # unknown grade ids (not in the release) lose their metadata
    for cell in cells:
        gid = _nbg(cell).get("grade_id")
        if gid and gid not in rel_by_id:
            del cell.metadata["nbgrader"]

    # the grading flags of a cell (test, answer, read-only, points) are the instructor's:
    # a test made editable, an answer made a test, changed points are set back
    flagged = []
    for cell in cells:
        gid = _nbg(cell).get("grade_id")
        if gid and gid in rel_by_id:
            want = _nbg(rel_by_id[gid])
            mine = _nbg(cell)
            if any(bool(mine.get(k)) != bool(want.get(k)) for k in ("grade", "solution", "locked", "task")) \
                    or _points(mine) != _points(want):
                cell.metadata["nbgrader"] = json.loads(json.dumps(want))
                flagged.append(gid)
    if flagged:
        notes.append(Note("metadata_changed", "the grading flags of some cells had been changed (a test made "
                                              "editable or an answer, its points changed); the instructor's "
                                              "flags were put back and the course's own cell graded",
                          grade_ids=tuple(flagged)))

    # duplicated grade ids: keep one copy
    dups = []
    for gid in order:
        copies = [c for c in cells if _nbg(c).get("grade_id") == gid]
        if len(copies) < 2:
            continue
        dups.append(gid)
        keep = copies[0]
        if _nbg(rel_by_id[gid]).get("solution"):
            answered = [c for c in copies if _answered(c, rel_by_id[gid])]
            keep = answered[-1] if answered else copies[0]
        for c in copies:
            if c is not keep:
                del c.metadata["nbgrader"]
    if dups:
        notes.append(Note("duplicate_ids", f"cells were copied, so {len(dups)} grade id(s) appeared more "
                                           f"than once; one copy of each was graded (the answered one)",
                          grade_ids=tuple(dups)))

    # metadata dropped by an editor: find the cell again
    restored = []
    present = {_nbg(c).get("grade_id") for c in cells}
    # read-only cells first (found by their text), then answers (by the gap they sit in)
    locked_first = sorted(range(len(order)), key=lambda p: not (
        _nbg(rel_by_id[order[p]]).get("locked") and not _nbg(rel_by_id[order[p]]).get("solution")))
    for pos in locked_first:
        gid = order[pos]
        if gid in present:
            continue
        rc = rel_by_id[gid]
        match = None
        if _nbg(rc).get("locked") and not _nbg(rc).get("solution"):
            same = [c for c in cells if not _nbg(c) and c.cell_type == rc.cell_type
                    and _visible(c.source) == _visible(rc.source) and c.source.strip()]
            match = same[0] if len(same) == 1 else None
        else:
            lo, hi = _gap(cells, order, pos)
            cands = [c for c in cells[lo:hi] if not _nbg(c) and c.cell_type == rc.cell_type
                     and not _is_release_text(c, release)]
            match = cands[0] if len(cands) == 1 else None
        if match is not None:
            match.metadata["nbgrader"] = json.loads(json.dumps(_nbg(rc)))
            present.add(gid)
            restored.append(gid)
    if restored:
        notes.append(Note("metadata_restored", "the editor had dropped the grading metadata of some cells; "
                                               "it was re-attached to the matching cells",
                          grade_ids=tuple(restored)))

    # cell type changed
    retyped = []
    for i, cell in enumerate(cells):
        gid = _nbg(cell).get("grade_id")
        if gid and cell.cell_type != rel_by_id[gid].cell_type:
            fixed = (new_code_cell if rel_by_id[gid].cell_type == "code" else new_markdown_cell)(
                cell.source, metadata=cell.metadata)
            cells[i] = fixed
            retyped.append(gid)
    if retyped:
        notes.append(Note("cell_type_changed", "a cell's type had been changed (code <-> markdown); it was "
                                               "changed back and graded", grade_ids=tuple(retyped)))

    # deleted cells come back from the release, after the previous graded cell
    missing = [gid for gid in order if gid not in {_nbg(c).get("grade_id") for c in cells}]
    for gid in missing:
        before = order[:order.index(gid)]
        at = 0
        for i, c in enumerate(cells):
            if _nbg(c).get("grade_id") in before:
                at = i + 1
        cells.insert(at, _clean_cell(rel_by_id[gid]))
    if missing:
        notes.append(Note("deleted_cells", "cells had been deleted and were restored from the release "
                                           "(a deleted answer counts as not answered)",
                          grade_ids=tuple(missing)))

    nb = new_notebook(cells=cells, metadata=dict(release.metadata))
    nbformat.validate(nb)
    return nb, notes


#: Share of the release's cells a file must hold to be taken for this notebook.
MIN_SHARED = 0.2


def _other_notebook(cells: list, release: nbformat.NotebookNode) -> str:
    """Why the file is not this course's notebook ('' when it is): it holds none of the
    release's graded cells and few of its read-only cells and texts (another course's
    notebook, or another notebook of this one, saved under this name)."""
    ids = {_nbg(c).get("grade_id") for c in release.cells if _nbg(c).get("grade_id")}
    if {_nbg(c).get("grade_id") for c in cells} & ids:
        return ""
    texts = {_visible(c.source) for c in release.cells if c.source.strip()}
    shared = sum(1 for c in cells if c.source.strip() and _visible(c.source) in texts)
    if shared >= MIN_SHARED * len(texts):
        return ""
    return (f"this is not this course's notebook: it holds none of its {len(ids)} graded cells and only "
            f"{shared} of its {len(texts)} cells (another course's notebook, or the wrong file, saved "
            "under this name?)")


def _visible(source: str) -> str:
    """A test cell's source without its hidden part (the release never has one)."""
    from ..course.feedback import BEGIN, END

    out, hidden = [], False
    for line in source.splitlines():
        if BEGIN.match(line):
            hidden = True
        elif hidden and END.match(line):
            hidden = False
        elif not hidden:
            out.append(line.rstrip())
    return "\n".join(out).strip()


def _gap(cells: list, order: list[str], pos: int) -> tuple[int, int]:
    """Slice of ``cells`` between the graded cells before and after ``order[pos]``."""
    lo, hi = 0, len(cells)
    before, after = set(order[:pos]), set(order[pos + 1:])
    for i, c in enumerate(cells):
        gid = _nbg(c).get("grade_id")
        if gid in before:
            lo = i + 1
        if gid in after and i < hi and i >= lo:
            hi = i
            break
    return lo, hi


def _is_release_text(cell, release) -> bool:
    """True for unlabelled cells that are plain course text (instructions), not answers."""
    return any(not _nbg(rc) and rc.cell_type == cell.cell_type and rc.source.strip() == cell.source.strip()
               for rc in release.cells)
