"""Grading speed: plain sequential ``nbgrader autograde`` against ``autograder.grade``.

    python bench/grade_speed.py [--students 20] [--workers N] [--notebooks 01,02,03] [--skip-plain]

Both grade the same class: ``--students`` students (default 20) who each hand in the
Part 1 notebooks with a seeded random share of the exercises answered (clean files, so
plain nbgrader can grade every one of them). Timed:

- **plain**: one ``nbgrader autograde part1_representations --force`` over a scratch
  course holding every submission (nbgrader's defaults: one notebook after another, the
  kernel unconfined, no feedback);
- **ours**: ``python -m autograder.grade`` with its defaults (one worker per core, every
  kernel in the sandbox, nbgrader feedback written too), the master course already
  built, as it is after the first run;
- **ours without the kernel guard** (``--no-kernel-guard``): the same, with course and
  test cells sent as they are instead of sealed through the guard; the ratio to ours is
  what the guard costs.

Prints seconds per notebook, notebooks per minute, the ratios plain / ours and
ours / ours-without-guard, and which sandbox mode ours ran in. Numbers, not tests:
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

PART = "part1_representations"
ALL = ["01_tokens_to_vectors", "02_self_attention", "03_sequence_representations"]


def make_class(folder: Path, students: int, notebooks: list[str], seed: int = 7) -> int:
    rng = random.Random(seed)
    n = 0
    for i in range(students):
        d = folder / f"student{i + 1:02d}"
        d.mkdir(parents=True)
        share = rng.uniform(0.3, 1.0)
        for nb in notebooks:
            solved = {e for e in exercises(PART, nb) if rng.random() < share}
            (d / f"{nb}.ipynb").write_bytes(to_bytes(submission(PART, nb, solved)))
            n += 1
    return n


def time_plain(folder: Path, work: Path) -> tuple[float, float]:
    course = make_scratch_course(work / "plain", assignment_ids=[PART], env=jupyter_env(work / "jupyter"))
    for student in sorted(p.name for p in folder.iterdir()):
        course.submit(student, PART, sorted((folder / student).glob("*.ipynb")))
    start = time.perf_counter()
    course.nbgrader("autograde", PART, "--force", timeout=24 * 3600)
    return time.perf_counter() - start, os.getloadavg()[0]


def time_ours(folder: Path, work: Path, workers: int, *extra: str) -> tuple[float, float, str]:
    env = dict(os.environ, PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}")
    out = work / ("ours" + "".join(extra).replace("-", "_"))
    cmd = [sys.executable, "-m", "autograder.grade", str(folder), "--out", str(out),
           "--no-progress", "--quiet", *extra] + (["--workers", str(workers)] if workers else [])
    # the master course is built (and cached) once, like after any first run
    subprocess.run(cmd[:3] + [str(folder), "--out", str(work / "warm"), "--no-progress", "--quiet",
                              "--shard", "1/100000"], cwd=REPO, env=env, check=True)
    start = time.perf_counter()
    subprocess.run(cmd, cwd=REPO, env=env, check=True)
    elapsed = time.perf_counter() - start
    report = (out / "report.txt").read_text()
    workers_line = next((l.split(":", 1)[1].strip() for l in report.splitlines() if l.startswith("workers:")), "?")
    return elapsed, os.getloadavg()[0], workers_line


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--students", type=int, default=20)
    p.add_argument("--workers", type=int, default=0, help="workers for ours (default: one per core)")
    p.add_argument("--notebooks", default="01,02,03", help="which Part 1 notebooks, by number")
    p.add_argument("--keep", action="store_true", help="keep the scratch folder")
    p.add_argument("--skip-plain", action="store_true",
                   help="leave out plain nbgrader (the slow baseline): only ours with and without the guard")
    args = p.parse_args(argv)
    notebooks = [nb for nb in ALL if nb[:2] in args.notebooks.split(",")]
    work = Path(tempfile.mkdtemp(prefix="grade-speed-"))
    try:
        n = make_class(work / "class", args.students, notebooks)
        print(f"class: {args.students} students, {n} notebooks ({', '.join(notebooks)}); "
              f"{os.cpu_count()} CPU cores")
        plain, plain_load = (None, None) if args.skip_plain else time_plain(work / "class", work)
        bare, bare_load, _ = time_ours(work / "class", work, args.workers, "--no-kernel-guard")
        ours, ours_load, how = time_ours(work / "class", work, args.workers)
        print(f"{'grader':<46} {'wall s':>8} {'s/notebook':>11} {'notebooks/min':>14} {'load':>5}")
        for name, wall, load in (("plain nbgrader autograde, sequential", plain, plain_load),
                                 ("autograder.grade, sandboxed, no kernel guard", bare, bare_load),
                                 ("autograder.grade, sandboxed (default)", ours, ours_load)):
            if wall is not None:
                print(f"{name:<46} {wall:8.1f} {wall / n:11.2f} {60 * n / wall:14.1f} {load:5.1f}")
        print(f"ours: {how}")
        if plain is not None:
            print(f"speed-up plain / ours (wall clock): {plain / ours:.2f}x")
        print(f"cost of the kernel guard, ours / ours without it: {ours / bare:.3f}x "
              f"({(ours - bare) / n:+.2f} s per notebook)")
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
