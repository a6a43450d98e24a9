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


# ------------------------------------------- notebook 06's chance lines and committed spread

import re  # noqa: E402

import pytest  # noqa: E402

from encoder_lib import context_tasks as ct  # noqa: E402
from encoder_lib.results import path as shipped_path  # noqa: E402

NOTEBOOK_06 = Path(__file__).resolve().parent.parent / "solutions" / "part3_adaptation" / "06_context_tasks.ipynb"


def _example(supersense: str):
    from types import SimpleNamespace

    return SimpleNamespace(supersense=supersense)


def test_guessing_by_frequency_is_below_the_majority_class_when_classes_are_uneven():
    train = [_example("noun.animal")] * 6 + [_example("verb.motion")] * 2 + [_example("adj.all")] * 2
    test = [_example("noun.animal")] * 5 + [_example("verb.motion")] * 5
    data = ct.ProbeData(train, test, [(0, 1, 1), (0, 2, 0)], [(0, 1, 1), (1, 2, 0)])
    guess = ct.frequency_guess_levels(data)
    assert guess["supersense"] == pytest.approx(0.6 * 0.5 + 0.2 * 0.5)
    assert guess["wic"] == pytest.approx(0.5)
    assert guess["supersense"] < ct.chance_levels(data)["supersense"]


def test_the_95_percent_interval_of_an_accuracy():
    assert ct.interval95(0.55, 1212) == pytest.approx(0.028, abs=0.001)
    assert ct.interval95(1.0, 10) == 0.0
    with pytest.raises(ValueError):
        ct.interval95(0.5, 0)


def test_the_shipped_wic_runs_are_their_bench_file_with_the_notebooks_cpu_setting_and_shipped_weights():
    files = sorted(RESULTS.glob("context_seeds_????-??-??.json"))
    assert files, "no bench/results/context_seeds_<date>.json: run bench/context_seeds.py"
    assert shipped_path("context_tasks").read_text() == files[-1].read_text(), (
        "encoder_lib/results/context_tasks.json differs from the newest bench/results/context_seeds_<date>.json")
    report = json.loads(files[-1].read_text())
    assert report["course_weights_sha256"] == weights_digest(course_checkpoint_dir())
    source = "".join("".join(c["source"]) for c in json.loads(NOTEBOOK_06.read_text())["cells"]
                     if c.get("metadata", {}).get("nbgrader", {}).get("grade_id") == "imports")
    setting = re.search(r"else ct\.WicConfig\(train_pairs=(\d+), epochs=(\d+)\)\)", source)
    assert setting, "06's CPU fine-tuning setting not found"
    assert (report["finetune"]["train_pairs"], report["finetune"]["epochs"]) == tuple(map(int, setting.groups()))
    summary = ct.committed_finetune_summary(report)
    for name in ("course", "random"):
        assert summary[name][2] >= 3, f"{name}: fewer than 3 seeds"
    assert "minilm" in summary
