"""The committed numbers of notebook 06's bench (bench/results/context_tasks_<date>.json,
written by `make bench-context`) were measured with the course checkpoint shipped now."""
from __future__ import annotations

import json
from pathlib import Path

from encoder_lib.pretrained import course_checkpoint_dir, weights_digest

RESULTS = Path(__file__).resolve().parent.parent / "bench" / "results"


def test_the_newest_context_results_used_the_shipped_course_checkpoint():
    files = sorted(RESULTS.glob("context_tasks_????-??-??.json"))      # dated names: the last is the newest
    assert files, "no bench/results/context_tasks_<date>.json: run make bench-context"
    report = json.loads(files[-1].read_text())
    assert report.get("course_weights_sha256") == weights_digest(course_checkpoint_dir()), (
        f"{files[-1].name} was measured with other course-checkpoint weights than the ones shipped in "
        "encoder_lib/checkpoints/course: run make bench-context")
    assert set(report["starts"]) == {"course", "random", "minilm"}
    for name, entry in report["starts"].items():
        assert "skipped" not in entry, f"{name} was skipped: {entry.get('skipped')}"
        assert len(entry["probe_wic"]) == len(entry["probe_supersense"]) >= 2
