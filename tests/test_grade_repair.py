"""Repair: malformed submissions become gradable notebooks, and every change is noted.
Fixtures are made here from the real release notebook of 01."""
from __future__ import annotations

import copy
import json

import nbformat
import pytest

from autograder.course.cohort import colab_bytes, submission, to_bytes
from autograder.course.course import RELEASE_DIR
from autograder.intake.repair import repair

pytestmark = pytest.mark.filterwarnings("ignore::nbformat.warnings.DuplicateCellId")

PART, NB = "part1_representations", "01_tokens_to_vectors"


@pytest.fixture(scope="module")
def release():
    return nbformat.read(RELEASE_DIR / PART / f"{NB}.ipynb", as_version=4)


@pytest.fixture(scope="module")
def perfect():
    return submission(PART, NB)


def ids(nb):
    return [c.metadata.get("nbgrader", {}).get("grade_id") for c in nb.cells]


def cell(nb, gid):
    return next(c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") == gid)


def kinds(notes):
    return {n.kind for n in notes}


def test_a_clean_submission_passes_unchanged(release, perfect):
    nb, notes = repair(to_bytes(perfect), release)
    assert notes == []
    assert ids(nb) == ids(perfect)
    assert [c.source for c in nb.cells] == [c.source for c in perfect.cells]


@pytest.mark.parametrize("raw, kind", [(b"", "empty_file"), (b"  \n", "empty_file"),
                                       (b'{"cells": [', "invalid_json"), (b"[1, 2]", "not_a_notebook")])
def test_unreadable_files_are_reported_not_raised(release, raw, kind):
    nb, notes = repair(raw, release)
    assert nb is None
    assert kind in kinds(notes) and all(n.fatal for n in notes if n.kind == kind)


@pytest.mark.parametrize("what, edit", [
    ("points that are not a number", lambda meta, c: meta.update(points="two")),
    ("points that are a list", lambda meta, c: meta.update(points=[2])),
    ("a grade id that is a list", lambda meta, c: meta.update(grade_id=[meta["grade_id"]])),
    ("a grade id that is a dict", lambda meta, c: meta.update(grade_id={"id": 1})),
    ("a source that is a number", lambda meta, c: c.update(source=5)),
    ("a lone surrogate in the source", lambda meta, c: c.update(source="x = '\ud83d'\n")),
    ("a lone surrogate in the metadata", lambda meta, c: meta.update(note="\udc00")),
])
def test_hand_edited_cells_are_repaired_and_can_be_written(release, perfect, what, edit):
    data = json.loads(to_bytes(perfect))
    test = next(c for c in data["cells"] if c.get("metadata", {}).get("nbgrader", {}).get("grade_id") == "test_encode")
    edit(test["metadata"]["nbgrader"], test)
    nb, notes = repair(json.dumps(data).encode(), release)         # json.dumps escapes the surrogate
    assert nb is not None, what
    nbformat.writes(nb).encode("utf-8")                             # what the grader writes for nbgrader
    assert "test_encode" in ids(nb), what                           # the test is graded (restored if need be)


def test_a_notebook_of_too_many_cells_is_reported_not_run(release, perfect):
    from nbformat.v4 import new_code_cell

    from autograder.intake.repair import MAX_CELLS

    nb = copy.deepcopy(perfect)
    nb.cells += [new_code_cell("x = 1") for _ in range(MAX_CELLS + 1 - len(nb.cells))]
    fixed, notes = repair(to_bytes(nb), release)
    assert fixed is None and "too_many_cells" in kinds(notes) and all(n.fatal for n in notes)
    nb.cells.pop()
    assert repair(to_bytes(nb), release)[0] is not None


def test_non_utf8_bytes_are_replaced_and_the_rest_graded(release, perfect):
    raw = to_bytes(perfect).replace(b"QUIZ_1 = None", "QUIZ_1 = None  # caf\u00e9".encode("latin-1"), 1)
    with pytest.raises(UnicodeDecodeError):
        raw.decode("utf-8")
    nb, notes = repair(raw, release)
    assert nb is not None and "not_utf8" in kinds(notes)
    assert "caf\ufffd" in cell(nb, "quiz_1").source


def test_nbformat3_is_converted(release, perfect):
    v3 = nbformat.convert(copy.deepcopy(perfect), 3)
    nb, notes = repair(nbformat.writes(v3, version=3).encode(), release)
    assert "nbformat3" in kinds(notes)
    assert cell(nb, "ex_embed").source == cell(perfect, "ex_embed").source


def test_missing_schema_version_is_added(release, perfect):
    doc = copy.deepcopy(perfect)
    for c in doc.cells:
        c.metadata.get("nbgrader", {}).pop("schema_version", None)
    nb, notes = repair(to_bytes(doc), release)
    assert "schema_version" in kinds(notes)
    assert all(c.metadata["nbgrader"]["schema_version"] == 3 for c in nb.cells if "nbgrader" in c.metadata)


def test_deleted_cells_come_back_in_place(release, perfect):
    doc = copy.deepcopy(perfect)
    doc.cells = [c for c in doc.cells
                 if c.metadata.get("nbgrader", {}).get("grade_id") not in ("ex_encode", "test_encode", "test_quiz_1")]
    nb, notes = repair(to_bytes(doc), release)
    assert ids(nb) == ids(release)
    assert "raise NotImplementedError" in cell(nb, "ex_encode").source   # a deleted answer: not answered
    note = next(n for n in notes if n.kind == "deleted_cells")
    assert set(note.grade_ids) == {"ex_encode", "test_encode", "test_quiz_1"}


def test_duplicated_ids_keep_the_answered_copy(release, perfect):
    doc = copy.deepcopy(perfect)
    i = ids(doc).index("ex_wordpiece")
    stub = copy.deepcopy(cell(release, "ex_wordpiece"))
    doc.cells.insert(i, stub)                               # the old stub above the answer
    j = ids(doc).index("test_encode")
    doc.cells.insert(j, copy.deepcopy(doc.cells[j]))         # a pasted copy of a test
    nb, notes = repair(to_bytes(doc), release)
    assert "duplicate_ids" in kinds(notes)
    assert ids(nb).count("ex_wordpiece") == 1 and ids(nb).count("test_encode") == 1
    assert cell(nb, "ex_wordpiece").source == cell(perfect, "ex_wordpiece").source


def test_a_retyped_cell_is_changed_back(release, perfect):
    doc = copy.deepcopy(perfect)
    c = cell(doc, "ex_pad_batch")
    doc.cells[ids(doc).index("ex_pad_batch")] = nbformat.v4.new_markdown_cell(c.source, metadata=c.metadata)
    nb, notes = repair(to_bytes(doc), release)
    assert "cell_type_changed" in kinds(notes)
    assert cell(nb, "ex_pad_batch").cell_type == "code"


def test_metadata_an_editor_dropped_is_reattached(release, perfect):
    doc = copy.deepcopy(perfect)
    for gid in ("ex_layer_norm", "test_layer_norm"):
        del cell(doc, gid).metadata["nbgrader"]
    nb, notes = repair(to_bytes(doc), release)
    assert "metadata_restored" in kinds(notes)
    assert cell(nb, "ex_layer_norm").source == cell(perfect, "ex_layer_norm").source
    assert ids(nb) == ids(release)


def test_colab_saved_notebook_is_read_with_its_answers(release, perfect):
    raw = colab_bytes(perfect, seed=1)
    doc = json.loads(raw)
    assert doc["nbformat_minor"] == 0 and "id" in doc["cells"][0]["metadata"]
    nb, notes = repair(raw, release)
    assert not [n for n in notes if n.fatal]
    assert ids(nb) == ids(release)
    assert cell(nb, "ex_embed").source == cell(perfect, "ex_embed").source
    nbformat.validate(nb)


def test_another_courses_notebook_under_this_name_is_reported_not_graded(release):
    other = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_markdown_cell("# Week 3: linear regression"),
        nbformat.v4.new_code_cell("import numpy as np\nX = np.random.rand(10, 2)"),
        nbformat.v4.new_code_cell("def fit(X, y):\n    return np.linalg.lstsq(X, y, rcond=None)[0]")])
    fixed, notes = repair(to_bytes(other), release)
    assert fixed is None and "other_notebook" in kinds(notes)
    assert any("not this course's notebook" in n.detail and n.fatal for n in notes)


def test_a_heavily_edited_notebook_of_this_course_is_still_graded(release, perfect):
    nb = copy.deepcopy(perfect)
    nb.cells = [c for c in nb.cells if c.cell_type == "code"][:4]      # most cells deleted
    fixed, notes = repair(to_bytes(nb), release)
    assert fixed is not None and "deleted_cells" in kinds(notes) and "other_notebook" not in kinds(notes)


def test_flipped_test_flags_are_set_back_and_named(release, perfect):
    nb = copy.deepcopy(perfect)
    meta = cell(nb, "test_quiz_1").metadata["nbgrader"]
    meta.update(solution=True, locked=False, points=50)
    fixed, notes = repair(to_bytes(nb), release)
    assert cell(fixed, "test_quiz_1").metadata["nbgrader"] == cell(release, "test_quiz_1").metadata["nbgrader"]
    assert "metadata_changed" in kinds(notes)


def test_a_skipped_oversized_file_gets_a_feedback_page(tmp_path):
    from autograder.intake.intake import IntakeNote
    from autograder.intake.unreadable import write_skipped_feedback

    class Intake:
        notes = [IntakeNote("zoe", "zoe/01_tokens_to_vectors.ipynb", "file_too_large",
                            "'01_tokens_to_vectors.ipynb' is larger than 50 MB; skipped", NB),
                 IntakeNote("ada", "ada/01_tokens_to_vectors.ipynb", "file_too_large", "too large", NB)]

    pages = write_skipped_feedback(Intake(), {NB: PART}, tmp_path, graded={("ada", NB)})
    assert [p.relative_to(tmp_path).as_posix() for p in pages] == [f"feedback/zoe/{PART}/{NB}.html"]
    text = pages[0].read_text()
    assert "larger than 50 MB" in text and "Clear Outputs" in text
