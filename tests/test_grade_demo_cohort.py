"""The bundled demo class: in sync with its generator, and what ``make grade`` grades by default."""
from __future__ import annotations

import importlib.util
from pathlib import Path

from autograder.course import REPO_ROOT
from autograder.grade import DEFAULT_SUBMISSIONS, parse_args
from autograder.intake import collect

COHORT = REPO_ROOT / "autograder" / "demo_cohort"


def _generator():
    spec = importlib.util.spec_from_file_location("make_demo_cohort", REPO_ROOT / "scripts" / "make_demo_cohort.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_committed_cohort_matches_its_generator():
    expected = _generator().cohort()
    committed = {p.relative_to(COHORT).as_posix(): p.read_bytes() for p in COHORT.rglob("*") if p.is_file()}
    generated = {f"{s}/{name}": data for s, files in expected.items() for name, data in files.items()}
    stale = sorted(k for k in generated if committed.get(k) != generated[k])
    extra = sorted(set(committed) - set(generated))
    assert not stale and not extra, (
        f"autograder/demo_cohort is out of date (changed: {stale[:5]}, extra: {extra[:5]}); "
        "run `python scripts/make_demo_cohort.py`")


def test_make_grade_grades_the_demo_cohort_by_default():
    assert DEFAULT_SUBMISSIONS == COHORT
    assert parse_args([]).submissions == COHORT
    makefile = (REPO_ROOT / "Makefile").read_text()
    assert "SUBMISSIONS ?= autograder/demo_cohort" in makefile


def test_cohort_has_every_kind_of_submission():
    nbs = {"01_tokens_to_vectors": "part1_representations", "02_self_attention": "part1_representations",
           "03_sequence_representations": "part1_representations"}
    intake = collect(COHORT, nbs)
    assert len(intake.students) >= 20
    kinds = {(n.student, n.kind) for n in intake.notes}
    assert ("finn", "renamed") in kinds            # Colab's "Copy of ..."
    assert ("gia", "duplicate_file") in kinds      # downloaded twice
    assert all(len(files) == 3 for files in intake.students.values())
    assert intake.students["eve"]["01_tokens_to_vectors"].raw.strip()[-1:] != b"}"   # cut off
    assert b'"colab"' in intake.students["finn"]["02_self_attention"].raw
