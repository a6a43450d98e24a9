"""Intake: finding each student's notebooks in folders, flat LMS exports and zips,
through browser/Colab renamings, without ever touching the input."""
from __future__ import annotations

import hashlib
import zipfile
from pathlib import Path

import pytest

from autograder.intake.intake import collect, identify, safe_student

NOTEBOOKS = {"01_tokens_to_vectors": "part1_representations",
             "02_self_attention": "part1_representations",
             "03_sequence_representations": "part1_representations"}


def tree_digest(root: Path) -> dict[str, str]:
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.mark.parametrize("name, expected, version", [
    ("03_sequence_representations.ipynb", "03_sequence_representations", 0),
    ("Copy of 03_sequence_representations.ipynb", "03_sequence_representations", 0),
    ("03_sequence_representations (1).ipynb", "03_sequence_representations", 1),
    ("Copy of 02_self_attention (3).ipynb", "02_self_attention", 3),
    ("02-self-attention.ipynb", "02_self_attention", 0),
    ("12345_678_02_Self_Attention.ipynb", "02_self_attention", 0),
    ("notebook_01.ipynb", "01_tokens_to_vectors", 0),
    ("homework.ipynb", None, 0),
])
def test_identify_recognises_renamed_notebooks(name, expected, version):
    nb, v, _ = identify(name, NOTEBOOKS)
    assert nb == expected
    if expected:
        assert v == version


def test_safe_student_keeps_ids_path_safe():
    assert safe_student("Jane Smith") == "Jane_Smith"
    assert safe_student("../../etc") == "etc"
    assert safe_student("ok-id.1") == "ok-id.1"


def test_folder_per_student_with_renamings_duplicates_and_extra_files(tmp_path):
    root = tmp_path / "subs"
    (root / "alice").mkdir(parents=True)
    (root / "alice" / "Copy of 01_tokens_to_vectors.ipynb").write_text("{}")
    (root / "alice" / "02_self_attention.ipynb").write_text('{"old": 1}')
    (root / "alice" / "02_self_attention (1).ipynb").write_text('{"new": 1}')
    (root / "alice" / "torch.py").write_text("raise SystemExit")
    (root / "alice" / "00_setup.ipynb").write_text("{}")
    (root / "bob" / "nested").mkdir(parents=True)
    (root / "bob" / "nested" / "03_sequence_representations.ipynb").write_text("{}")
    (root / ".DS_Store").write_text("x")
    before = tree_digest(root)
    intake = collect(root, NOTEBOOKS, ungraded={"00_setup"})
    assert sorted(intake.students) == ["alice", "bob"]
    assert sorted(intake.students["alice"]) == ["01_tokens_to_vectors", "02_self_attention"]
    assert intake.students["alice"]["02_self_attention"].raw == b'{"new": 1}'
    assert list(intake.students["bob"]) == ["03_sequence_representations"]
    kinds = {(n.student, n.kind) for n in intake.notes}
    assert ("alice", "renamed") in kinds
    assert ("alice", "duplicate_file") in kinds
    assert ("alice", "ignored_file") in kinds
    assert tree_digest(root) == before


def test_flat_lms_export_takes_the_student_from_the_file_name(tmp_path):
    root = tmp_path / "flat"
    root.mkdir()
    (root / "smithj_12345_67_02_self_attention.ipynb").write_text("{}")
    (root / "doe_03_sequence_representations (2).ipynb").write_text("{}")
    (root / "03_sequence_representations.ipynb").write_text("{}")   # whose?
    intake = collect(root, NOTEBOOKS)
    assert sorted(intake.students) == ["doe", "smithj"]
    assert "02_self_attention" in intake.students["smithj"]
    assert any(n.kind == "no_student" for n in intake.notes)


def test_custom_pattern_picks_the_student_group(tmp_path):
    root = tmp_path / "moodle"
    root.mkdir()
    (root / "Jane Smith_4711_assignsubmission_file_01_tokens_to_vectors.ipynb").write_text("{}")
    intake = collect(root, NOTEBOOKS, pattern=r"^[^_]+_(?P<student>\d+)_")
    assert list(intake.students) == ["4711"]


def test_zip_export_skips_entries_that_escape_and_unwraps_one_folder(tmp_path):
    zpath = tmp_path / "export.zip"
    with zipfile.ZipFile(zpath, "w") as z:
        z.writestr("export/alice/01_tokens_to_vectors.ipynb", "{}")
        z.writestr("export/bob/Copy of 02_self_attention.ipynb", "{}")
        z.writestr("export/../../evil.ipynb", "{}")
        z.writestr("/abs/03_sequence_representations.ipynb", "{}")
    before = hashlib.sha256(zpath.read_bytes()).hexdigest()
    intake = collect(zpath, NOTEBOOKS)
    assert sorted(intake.students) == ["alice", "bob"]
    unsafe = [n for n in intake.notes if n.kind == "unsafe_zip_entry"]
    assert len(unsafe) == 2
    assert not (tmp_path.parent / "evil.ipynb").exists()
    assert hashlib.sha256(zpath.read_bytes()).hexdigest() == before


def test_names_that_differ_only_in_accents_stay_two_students(tmp_path):
    root = tmp_path / "moodle"
    root.mkdir()
    for name in ("Zoë Müller", "Zoé Müller", "Jürgen", "Jörgen"):
        (root / f"{name}_01_tokens_to_vectors.ipynb").write_text(f'{{"who": "{name}"}}')
    intake = collect(root, NOTEBOOKS, pattern=r"^(?P<student>[^_]+)_")
    assert len(intake.students) == 4 and not any(n.kind == "duplicate_file" for n in intake.notes)
    assert {"Jurgen", "Jorgen", "Zoe_Muller"} <= set(intake.students)
    raws = {c.raw for nbs in intake.students.values() for c in nbs.values()}
    assert len(raws) == 4


def test_a_damaged_zip_entry_costs_that_file_only(tmp_path):
    zpath = tmp_path / "export.zip"
    good = b'{"cells": []}' * 50
    with zipfile.ZipFile(zpath, "w", compression=zipfile.ZIP_DEFLATED) as z:
        z.writestr("alice/01_tokens_to_vectors.ipynb", good)
        z.writestr("bob/01_tokens_to_vectors.ipynb", good)
    data = bytearray(zpath.read_bytes())
    with zipfile.ZipFile(zpath) as z:
        bob = z.getinfo("bob/01_tokens_to_vectors.ipynb")
    start = bob.header_offset + 30 + len(bob.filename)          # bob's compressed bytes
    data[start:start + 8] = b"\xff" * 8
    zpath.write_bytes(bytes(data))
    intake = collect(zpath, NOTEBOOKS)
    assert intake.students["alice"]["01_tokens_to_vectors"].raw == good
    assert intake.students["bob"] == {}
    assert [n.student for n in intake.notes if n.kind == "unreadable_file"] == ["bob"]


def test_links_are_never_followed(tmp_path):
    root = tmp_path / "subs"
    (root / "alice").mkdir(parents=True)
    secret = tmp_path / "secret.ipynb"
    secret.write_text("{}")
    (root / "alice" / "01_tokens_to_vectors.ipynb").symlink_to(secret)
    intake = collect(root, NOTEBOOKS)
    assert intake.students.get("alice", {}) == {}
    assert any(n.kind == "skipped_link" for n in intake.notes)


def test_bad_input_path_gives_a_clear_error(tmp_path):
    with pytest.raises(ValueError, match="neither a folder nor a .zip"):
        collect(tmp_path / "nope", NOTEBOOKS)
