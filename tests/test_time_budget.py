"""Notebook 04's time-capped pre-training: the learning-rate schedule follows the budget
(warm-up and decay fit in whichever of the step count and the clock runs out first), the
loop says when and why it stopped early, and a run cut far short of its planned steps still
ends below the unigram baseline (a small real run of the notebook's own loop cell)."""
from __future__ import annotations

import math
import re

import nbformat
import pytest
import torch

from autograder.course.course import SOLUTIONS_DIR
from encoder_lib.notebook import TimeBudget
from encoder_lib.pretrain import preset
from encoder_lib.pretrain.train import lr_factor

NOTEBOOK = SOLUTIONS_DIR / "part2_pretraining" / "04_masked_lm_pretraining.ipynb"


class FakeClock:
    def __init__(self):
        self.now = 100.0

    def __call__(self):
        return self.now


def test_lr_factor_given_the_step_fraction_as_progress_is_the_step_schedule():
    run = preset("cpu")
    for step in (0, 1, 50, 199, 200, 201, 1000, 2999, 3000):
        assert lr_factor(step, run, progress=step / run.max_steps) == pytest.approx(lr_factor(step, run))


def test_the_schedule_warms_up_and_decays_within_the_time_limit():
    run = preset("cpu")                                     # 3,000 steps planned, 200 of warm-up
    clock = FakeClock()
    budget = TimeBudget(run.max_steps, 600, clock=clock)
    factors = []
    for second in range(0, 601, 5):                        # a slow machine: one step every 2 seconds
        clock.now = 100.0 + second
        factors.append(lr_factor(second // 2, run, progress=budget.progress(second // 2)))
    peak = factors.index(max(factors))
    assert max(factors) == pytest.approx(1.0, abs=0.01)
    warm_share = run.warmup_steps / run.max_steps
    assert peak * 5 == pytest.approx(600 * warm_share, abs=5), "warm-up takes its share of the time"
    assert all(a <= b for a, b in zip(factors[:peak], factors[1:peak + 1])), "rises during warm-up"
    assert all(a >= b for a, b in zip(factors[peak:], factors[peak + 1:])), "then only decays"
    assert factors[-1] == pytest.approx(run.min_lr_ratio), "the decay ends when the time does"
    assert budget.done(0) and budget.progress(0) == 1.0, "the time is up"


def test_the_budget_stops_at_whichever_limit_comes_first_and_says_why():
    clock = FakeClock()
    budget = TimeBudget(3000, 660, clock=clock)
    clock.now += 659.0
    assert not budget.done(340)
    clock.now += 1.0
    assert budget.done(340) and budget.progress(340) == 1.0
    line = budget.summary(340)
    assert "stopped early by the time limit" in line and "340 of the 3,000 planned steps" in line
    assert "660 s" in line and "\n" not in line
    quick = TimeBudget(50, 660, clock=clock)
    assert quick.done(50) and quick.summary(50).startswith("all 50 planned steps")
    with pytest.raises(ValueError):
        TimeBudget(0, 10)
    with pytest.raises(ValueError):
        TimeBudget(10, 0)


def _cell(nb, grade_id=None, contains=None) -> str:
    found = [c.source for c in nb.cells if c.cell_type == "code"
             and (grade_id is None or c.metadata.get("nbgrader", {}).get("grade_id") == grade_id)
             and (contains is None or contains in c.source)]
    assert len(found) == 1, (grade_id, contains)
    return found[0]


@pytest.mark.slow
def test_a_run_cut_by_a_short_time_limit_still_ends_below_the_unigram_baseline(capsys):
    """The notebook's own loop cell, with its reference answers, on a tiny model and a 60 s
    budget: it stops far short of its 3,000 planned steps (as the CPU setting does on a busy
    machine), ends at the bottom of its schedule, says so, and beats the unigram baseline."""
    nb = nbformat.read(NOTEBOOK, as_version=4)
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    namespace = {"DEVICE": torch.device("cpu")}
    try:
        for grade_id in ("imports", "ex_head", "ex_loss", "ex_step", "show_policy"):
            exec(compile(_cell(nb, grade_id), f"<{grade_id}>", "exec"), namespace)
        exec("run = preset('cpu', hidden_size=64, num_layers=2, num_heads=2, intermediate_size=128, dropout=0.0, "
             "max_position=32, max_length=32, batch_size=32, lr=3e-3, max_steps=3000, warmup_steps=200, "
             "eval_every=100_000, heldout_sentences=200)\n"
             "corpus_size = 20_000\ntime_limit_s = 60\n", namespace)
        for grade_id in ("data", "model"):
            exec(compile(_cell(nb, grade_id), f"<{grade_id}>", "exec"), namespace)
        loop = _cell(nb, contains="budget = TimeBudget(")
        exec(compile(loop, "<training loop>", "exec"), namespace)
    finally:
        torch.set_num_threads(before)
    out = capsys.readouterr().out
    step, run = namespace["step"], namespace["run"]
    assert step < run.max_steps, "the budget should have stopped the run early"
    assert re.search(rf"stopped early by the time limit: {step:,} of the 3,000 planned steps", out), out[-800:]
    last_lr = namespace["schedule"].get_last_lr()[0]
    assert last_lr == pytest.approx(run.lr * run.min_lr_ratio, rel=0.05), "the schedule should end decayed"
    final, baseline = namespace["final"], namespace["baseline"]
    assert math.isfinite(final) and final < baseline, (
        f"held-out loss {final:.3f} after {step} steps is not below the unigram baseline {baseline:.3f}")
    assert "below it, so the model uses the context" in out
