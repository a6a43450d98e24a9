"""Grading speed: plain sequential ``nbgrader autograde`` against ``autograder.grade``.

    python bench/grade_speed.py [--students 6] [--notebooks 01,02,03,04,05,06] [--skip-plain] [--fresh]

All three grade the same class: ``--students`` students who each hand in the graded
notebooks 01-06 (parts 1-3) with a seeded random share of the exercises answered and
the rest as released (clean files, so plain nbgrader can grade every one of them). Timed:

- **plain**: ``nbgrader autograde PART --force`` for each part over a scratch course
  holding every submission (nbgrader's defaults: one notebook after another, the kernel
  unconfined, no feedback);
- **ours, 1 worker**: ``python -m autograder.grade --workers 1``: every kernel in the
  sandbox, forked from the worker's pre-imported zygote, every test judged in the grader
  against the reference run, feedback written;
- **ours**: the same with its default workers (one per core);
- with ``--fresh``, also **ours, 1 worker, --no-zygote** (every kernel in a sandbox and a
  Python of its own, as before the zygote), whose breakdown is printed beside the forked one.

The master course and the reference run of the solutions are made before the timing (a
warm-up grading of one student), as they are after any first run of a course version.
Prints seconds per notebook, notebooks per minute, the ratios plain / ours and which
sandbox mode ours ran in, then where one notebook's time goes in ours (intake, scratch
course, kernel start, each class of cell, verdicts, feedback, merge). Numbers, not tests:
nothing here asserts a speed.
"""
from __future__ import annotations

import argparse
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from autograder.course.cohort import exercises, submission, to_bytes  # noqa: E402
from autograder.course.course import jupyter_env, make_scratch_course  # noqa: E402

PARTS = {"01_tokens_to_vectors": "part1_representations", "02_self_attention": "part1_representations",
         "03_sequence_representations": "part1_representations", "04_masked_lm_pretraining": "part2_pretraining",
         "05_finetuning": "part3_adaptation", "06_context_tasks": "part3_adaptation"}


def make_class(folder: Path, students: int, notebooks: list[str], seed: int = 7) -> int:
    rng = random.Random(seed)
    n = 0
    for i in range(students):
        d = folder / f"student{i + 1:02d}"
        d.mkdir(parents=True)
        share = rng.uniform(0.3, 1.0)
        for nb in notebooks:
            solved = {e for e in exercises(PARTS[nb], nb) if rng.random() < share}
            (d / f"{nb}.ipynb").write_bytes(to_bytes(submission(PARTS[nb], nb, solved)))
            n += 1
    return n


def time_plain(folder: Path, work: Path, notebooks: list[str]) -> tuple[float, float]:
    parts = sorted({PARTS[nb] for nb in notebooks})
    course = make_scratch_course(work / "plain", assignment_ids=parts, env=jupyter_env(work / "jupyter"))
    for student in sorted(p.name for p in folder.iterdir()):
        for part in parts:
            course.submit(student, part, sorted(f for f in (folder / student).glob("*.ipynb")
                                                if PARTS[f.stem] == part))
    start = time.perf_counter()
    for part in parts:
        course.nbgrader("autograde", part, "--force", timeout=24 * 3600)
    return time.perf_counter() - start, os.getloadavg()[0]


def warm_up(folder: Path, work: Path) -> None:
    """The master course and the reference run, made once (not timed), by grading one student."""
    first = sorted(p for p in folder.iterdir())[0]
    shutil.copytree(first, work / "warm_class" / first.name)
    env = dict(os.environ, PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}")
    subprocess.run([sys.executable, "-m", "autograder.grade", str(work / "warm_class"), "--out",
                    str(work / "warm"), "--no-progress", "--quiet"], cwd=REPO, env=env, check=True)


def time_ours(folder: Path, work: Path, workers: int, fresh: bool = False) -> tuple[float, float, str]:
    env = dict(os.environ, PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}")
    out = work / (f"fresh{workers}" if fresh else f"ours{workers}")
    cmd = [sys.executable, "-m", "autograder.grade", str(folder), "--out", str(out),
           "--no-progress", "--quiet"] + (["--workers", str(workers)] if workers else []) + \
        (["--no-zygote"] if fresh else [])
    start = time.perf_counter()
    subprocess.run(cmd, cwd=REPO, env=env, check=True)
    elapsed = time.perf_counter() - start
    report = (out / "report.txt").read_text()
    workers_line = next((l.split(":", 1)[1].strip() for l in report.splitlines() if l.startswith("workers:")), "?")
    return elapsed, os.getloadavg()[0], workers_line


def breakdown(out: Path) -> tuple[int, list[tuple[str, float]]]:
    """Where one notebook's grading time goes, on average, in a run of ours (one worker):
    the number of notebooks and (step, seconds per notebook) rows."""
    import json

    run = json.loads((out / ".state" / "timing.json").read_text())
    n = max(1, run["notebooks"])
    jobs = [json.loads(p.read_text()) for p in (out / ".state" / "results").rglob("*.json")]
    total: dict[str, float] = {}
    for job in jobs:
        for key in ("course_s", "autograde_s", "feedback_s", "collect_s"):
            total[key] = total.get(key, 0.0) + (job.get(key) or 0.0)
        for nb in job.get("notebooks_timing", []):
            for key, value in nb.items():
                if key != "notebook":
                    total[key] = total.get(key, 0.0) + value
    execute = total.get("execute_s", 0.0)
    rows = [
        ("intake: read, repair and scan the files", run["intake_s"]),
        ("scratch nbgrader course and gradebook per job", total.get("course_s", 0.0)),
        ("sandbox and kernel start (imports before the first cell)", total.get("kernel_start_s", 0.0)),
        ("setup cell (course library imports)", total.get("cells_setup_s", 0.0)),
        ("read-only course cells (data, models, training, plots)", total.get("cells_course_s", 0.0)),
        ("students' answer cells", total.get("cells_answer_s", 0.0)),
        ("test cells as probes", total.get("cells_test_s", 0.0) - total.get("judge_s", 0.0)),
        ("verdicts judged in the grader", total.get("judge_s", 0.0)),
        ("probes and reference loaded", total.get("load_probes_s", 0.0)),
        ("rest of the kernel's life (restarts, shutdown)",
         execute - sum(total.get(k, 0.0) for k in ("kernel_start_s", "cells_setup_s", "cells_course_s",
                                                     "cells_answer_s", "cells_test_s", "load_probes_s"))),
        ("rest of nbgrader autograde (its own steps, gradebook)", total.get("autograde_s", 0.0) - execute),
        ("feedback pages", total.get("feedback_s", 0.0)),
        ("results read back from the job's gradebook", total.get("collect_s", 0.0)),
        ("merge, CSVs and reports", run["results_and_reports_s"]),
    ]
    rows.append(("(the whole run, divided by the notebooks)",
                 run["intake_s"] + run["grading_s"] + run["results_and_reports_s"]))
    return n, [(name, seconds / n) for name, seconds in rows]


def breakdown_table(outs: dict[str, Path]) -> str:
    """The breakdowns of one or more runs side by side, one column per run."""
    runs = {name: breakdown(out) for name, out in outs.items()}
    n = next(iter(runs.values()))[0]
    lines = [f"breakdown of one notebook's grading with 1 worker (mean of {n} notebooks), seconds:",
             f"  {'':<58}" + "".join(f" {name:>12}" for name in runs)]
    steps = next(iter(runs.values()))[1]
    for i, (step, _) in enumerate(steps):
        lines.append(f"  {step:<58}" + "".join(f" {rows[i][1]:12.2f}" for _, rows in runs.values()))
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--students", type=int, default=6)
    p.add_argument("--notebooks", default="01,02,03,04,05,06", help="which graded notebooks, by number")
    p.add_argument("--keep", action="store_true", help="keep the scratch folder")
    p.add_argument("--skip-plain", action="store_true", help="leave out plain nbgrader (the slow baseline)")
    p.add_argument("--fresh", action="store_true",
                   help="also time ours with a fresh sandbox per kernel (--no-zygote, 1 worker), and show "
                        "its breakdown beside the forked kernels'")
    args = p.parse_args(argv)
    notebooks = [nb for nb in PARTS if nb[:2] in args.notebooks.split(",")]
    work = Path(tempfile.mkdtemp(prefix="grade-speed-"))
    try:
        n = make_class(work / "class", args.students, notebooks)
        print(f"class: {args.students} students, {n} notebooks ({', '.join(nb[:2] for nb in notebooks)}); "
              f"{os.cpu_count()} CPU cores, load before {os.getloadavg()[0]:.1f}")
        warm_up(work / "class", work)
        plain, plain_load = (None, None) if args.skip_plain else time_plain(work / "class", work, notebooks)
        fresh = time_ours(work / "class", work, 1, fresh=True) if args.fresh else None
        one, one_load, _ = time_ours(work / "class", work, 1)
        ours, ours_load, how = time_ours(work / "class", work, 0)
        print(f"{'grader':<58} {'wall s':>8} {'s/notebook':>11} {'notebooks/min':>14} {'load':>5}")
        for name, wall, load in (("plain nbgrader autograde, sequential", plain, plain_load),
                                 ("ours --workers 1 --no-zygote (a fresh sandbox per kernel)",
                                  *(fresh[:2] if fresh else (None, None))),
                                 ("ours --workers 1 (kernels forked from the zygote)", one, one_load),
                                 ("ours, default workers (kernels forked)", ours, ours_load)):
            if wall is not None:
                print(f"{name:<58} {wall:8.1f} {wall / n:11.2f} {60 * n / wall:14.1f} {load:5.1f}")
        print(f"ours: {how}")
        print()
        print(breakdown_table({**({"fresh": work / "fresh1"} if fresh else {}), "forked": work / "ours1"}))
        if plain is not None:
            print(f"speed-up plain / ours, 1 worker: {plain / one:.2f}x; default workers: {plain / ours:.2f}x")
        print("(load: the 1-minute load average at the end of each run; other work on the machine "
              "slows whichever run it overlaps)")
    finally:
        if args.keep:
            print(f"scratch kept in {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
