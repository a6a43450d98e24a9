"""The committed fine-tuning comparison (bench/results/finetune_compare.*) is what its
command wrote: the table is rendered from the committed runs, the plots are there, and
every (starting point, size) it reports was run with three seeds on a named machine."""
from __future__ import annotations

import importlib.util
import json
from collections import defaultdict
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parent.parent / "bench" / "compare_finetune.py"


@pytest.fixture(scope="module")
def compare():
    spec = importlib.util.spec_from_file_location("compare_finetune", BENCH)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def results(compare):
    path = compare.RESULTS / f"{compare.NAME}.json"
    assert path.is_file(), f"{path} is missing: run make compare"
    return json.loads(path.read_text())


def test_committed_table_is_rendered_from_the_committed_runs(compare, results):
    table = (compare.RESULTS / f"{compare.NAME}.md").read_text()
    assert table == compare.render_markdown(results), (
        "finetune_compare.md is out of date: python bench/compare_finetune.py --render")


def test_committed_plots_exist(compare):
    for suffix in ("bar", "curve"):
        path = compare.RESULTS / f"{compare.NAME}_{suffix}.png"
        assert path.is_file() and path.stat().st_size > 10_000, f"{path} is missing"


def test_every_reported_point_has_three_seeds_and_names_the_machine(compare, results):
    seeds = defaultdict(set)
    for run in results["runs"]:
        assert run["start"] in compare.STARTS
        assert 0.0 <= run["test_accuracy"] <= 1.0
        seeds[run["start"], run["size"]].add(run["seed"])
    assert len({start for start, _ in seeds}) >= 2, "nothing to compare"
    for key, found in seeds.items():
        assert len(found) >= 3, f"{key} has only seeds {sorted(found)}"
    assert results["machine"]["cpu"] and results["machine"]["cores"]
    assert results["test_items"] >= 500


def test_the_committed_comparison_is_complete_and_shows_what_the_course_claims(compare, results):
    """All four starting points at three sizes (a learning curve down to 500 items), and the
    claims notebook 05 and the README make from it: the fine-tuned course checkpoint is
    ahead of the same architecture from scratch at every size and at least TARGET_GAIN
    points ahead where labels are scarce (2,000 items or fewer), and the real pre-trained
    encoder does best everywhere."""
    table = compare.summarise(results)
    sizes = results["sizes"]
    assert len(sizes) >= 3 and min(sizes) <= 500, f"a learning curve needs 3 sizes from 500 up, got {sizes}"
    for start in compare.STARTS:
        for size in sizes:
            assert (start, size) in table and table[start, size]["n"] >= 3, f"{start} at {size} is missing"
    scratch, course, minilm = "from scratch", "fine-tuned course checkpoint", "fine-tuned MiniLM"
    for size in sizes:
        assert table[course, size]["acc"] > table[scratch, size]["acc"], f"the course checkpoint is behind at {size}"
        others = [table[s, size]["acc"] for s in compare.STARTS if s != minilm]
        assert table[minilm, size]["acc"] > max(others), f"MiniLM is not best at {size}"
    for size in sizes:
        if size <= 2000:                                   # where labels are scarce: the course's target
            gain = table[course, size]["acc"] - table[scratch, size]["acc"]
            assert gain >= compare.TARGET_GAIN, (
                f"the course checkpoint gains {gain:+.1f} points over scratch at {size} items, "
                f"below the {compare.TARGET_GAIN:g}-point target")


def test_the_committed_comparison_used_the_shipped_course_checkpoint(results):
    """A new checkpoint makes the committed numbers stale: they must be measured again."""
    from encoder_lib.pretrained import course_checkpoint_dir, weights_digest
    assert results["course_checkpoint"] == "course"
    assert results.get("course_weights_sha256") == weights_digest(course_checkpoint_dir()), (
        "bench/results/finetune_compare.json was measured with other course-checkpoint weights than "
        "the ones shipped in encoder_lib/checkpoints/course: run make compare")


def test_markdown_summary_matches_a_hand_computed_mean(compare):
    runs = [{"start": "from scratch", "size": 10, "seed": s, "test_accuracy": a, "test_macro_f1": 0.1}
            for s, a in ((0, 0.2), (1, 0.4), (2, 0.6))]
    table = compare.summarise({"sizes": [10], "runs": runs})
    assert table["from scratch", 10]["acc"] == pytest.approx(40.0)
    assert table["from scratch", 10]["acc_sd"] == pytest.approx((800 / 3) ** 0.5)


def test_the_package_ships_the_committed_results_for_notebook_05(compare, results):
    from encoder_lib import results as shipped
    assert shipped.load(compare.NAME) == results, (
        "encoder_lib/results/finetune_compare.json differs from bench/results/finetune_compare.json: "
        "python bench/compare_finetune.py --render")
    with pytest.raises(ValueError, match="no committed results named"):
        shipped.path("nope")


def test_readme_table_shows_the_committed_means(compare, results):
    readme = (BENCH.parent.parent / "README.md").read_text()
    table = compare.summarise(results)
    rows = {"from scratch": "from scratch", "course checkpoint, frozen + linear probe": "linear probe (course, frozen)",
            "course checkpoint, fine-tuned": "fine-tuned course checkpoint",
            "all-MiniLM-L6-v2, fine-tuned": "fine-tuned MiniLM"}
    for label, start in rows.items():
        expected = f"| {label} | " + " | ".join(f"{table[start, s]['acc']:.1f}" for s in results["sizes"]) + " |"
        assert expected in readme, f"README's comparison row is out of date; expected: {expected}"


def test_notebook_05_runs_the_starting_points_with_the_bench_settings(compare):
    """Notebook 05 says its small comparison uses the committed comparison's pooling and
    learning rates; its STARTS must say the same as the bench's."""
    import ast

    import nbformat

    notebook = nbformat.read(BENCH.parents[1] / "solutions" / "part3_adaptation" / "05_finetuning.ipynb", 4)
    cell = next(c for c in notebook.cells if c.metadata.get("nbgrader", {}).get("grade_id") == "compare_run")
    assign = next(node for node in ast.parse(cell.source).body
                  if isinstance(node, ast.Assign) and getattr(node.targets[0], "id", None) == "STARTS")
    notebook_starts = {ast.literal_eval(key): {kw.arg: ast.literal_eval(kw.value) for kw in call.keywords}
                       for key, call in zip(assign.value.keys, assign.value.values)}
    assert list(notebook_starts) == list(compare.STARTS)
    for name, settings in notebook_starts.items():
        bench = compare.STARTS[name]
        for key in ("init", "pooling", "freeze_encoder", "lr_encoder", "lr_head"):
            assert settings.get(key) == bench.get(key), (
                f"notebook 05, {name}: {key}={settings.get(key)!r} but the bench uses {bench.get(key)!r}")
