"""Grade a class's notebooks safely, in parallel, and report (``make grade``).

    python -m autograder.grade [SUBMISSIONS] --out OUT [--workers N] [--shard i/n]
                               [--redo] [--pattern REGEX] [--timeout S]

SUBMISSIONS is a folder (one sub-folder per student, or files named with the student)
or an LMS ``.zip`` export; the default is the bundled demo cohort. The input is only
read. OUT receives:

- ``grades.csv``   one row per student x question: score, maximum, status;
- ``totals.csv``   one row per student: points per part, total, percent (for an LMS);
- ``report.txt``   the class table and every problem in plain words with its cost
  (also printed);
- ``report.html``  class analytics: score distributions, per-question statistics, the
  answers chosen in every quiz, problems with their true cost, flags (offline page);
- ``questions.csv`` per question: mean, share at full marks, discrimination;
- ``late.csv``     with due dates (``OUT/deadlines.toml`` or ``--deadlines``): every
  submission time, days late and penalty;
- ``feedback/<student>/<part>/<notebook>.html``  nbgrader feedback without hidden tests;
- ``autograded/...`` the executed notebooks, ``gradebook.db`` the merged gradebook
  (for manual grading in formgrader), ``.state/`` what a re-run reuses.

Each (student, part) is a job: intake finds the files (renamed, zipped, duplicated),
:mod:`autograder.intake.repair` makes them gradable, and worker processes (one per core by
default) grade them with nbgrader, the kernel confined by :mod:`autograder.sandbox.sandbox`.
A re-run grades only what changed, unless ``--redo``.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import signal
import sys
import time
from pathlib import Path

from .course.course import GRADING_DIR, REPO_ROOT, SOLUTIONS_DIR
from .course.nbgrader_config import CELL_TIMEOUT_S

GRADER_VERSION = "3"   # 3: every test judged in the grader against the reference run
DEFAULT_SUBMISSIONS = REPO_ROOT / "autograder" / "demo_cohort"


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m autograder.grade",
                                description="Grade submitted notebooks with nbgrader, safely and in parallel.")
    p.add_argument("submissions", nargs="?", type=Path, default=DEFAULT_SUBMISSIONS,
                   help="folder or .zip of submissions (default: the bundled demo cohort)")
    p.add_argument("--out", type=Path, default=Path("grading_out"), help="output folder")
    p.add_argument("--workers", type=int, default=0, help="parallel workers (default: one per core)")
    p.add_argument("--shard", default="1/1",
                   help="grade only share i of n of the students, e.g. 2/3; 'env' takes it from a scheduler's "
                        "job array (Slurm's SLURM_ARRAY_TASK_ID and SLURM_ARRAY_TASK_COUNT, or a Kubernetes "
                        "indexed Job's JOB_COMPLETION_INDEX with AUTOGRADER_SHARDS)")
    p.add_argument("--redo", action="store_true", help="grade again what is already graded")
    p.add_argument("--pattern", default=None,
                   help="regex whose 'student' group finds the student in a flat file name "
                        r"(default: everything before the first underscore, '^(?P<student>[^_]+)_')")
    p.add_argument("--timeout", type=int, default=CELL_TIMEOUT_S, help="seconds one cell may run")
    p.add_argument("--notebook-timeout", type=int, default=0,
                   help="seconds a whole notebook may run (default: 4 x --timeout, at least 300)")
    p.add_argument("--memory-mb", type=int, default=0,
                   help="memory student code may use in a notebook's kernel, on top of what the "
                        "kernel takes to start (default: 4096, less on a small machine so that every "
                        "worker's kernel fits)")
    p.add_argument("--assignments", default="",
                   help="comma-separated parts to grade (default: every part anyone handed in)")
    p.add_argument("--solutions", type=Path, default=SOLUTIONS_DIR, help=argparse.SUPPRESS)
    p.add_argument("--no-isolation", action="store_true",
                   help="run kernels without the sandbox (only for debugging the grader)")
    p.add_argument("--no-zygote", action="store_true",
                   help="start every kernel in a fresh sandbox instead of forking it from the worker's "
                        "pre-imported one (slower; the same grades)")
    p.add_argument("--deadlines", type=Path, default=None,
                   help="due dates and late policy (TOML; default: OUT/deadlines.toml when it exists; "
                        "see autograder/GRADING.md)")
    p.add_argument("--class-config", type=Path, default=None,
                   help="one LMS assignment per notebook or per part, and the LMS's gradebook columns "
                        "(TOML; default: OUT/class.toml when it exists, else one assignment per notebook)")
    p.add_argument("--times", type=Path, default=None,
                   help="CSV of submission times (student, part, submitted_at); default: the times of "
                        "the zip's entries")
    p.add_argument("--quiet", action="store_true", help="do not print the report")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    args = p.parse_args(argv)
    if args.shard == "env":
        try:
            args.shard = shard_from_env(os.environ)
        except ValueError as err:
            p.error(str(err))
    try:
        i, n = (int(x) for x in args.shard.split("/"))
        if not 1 <= i <= n:
            raise ValueError
    except ValueError:
        p.error(f"--shard must look like i/n with 1 <= i <= n, not {args.shard!r}")
    args.shard_i, args.shard_n = i, n
    if args.notebook_timeout <= 0:
        args.notebook_timeout = max(300, 4 * args.timeout)
    return args


def shard_from_env(env) -> str:
    """``i/n`` from a scheduler's job array: a Slurm array task (``SLURM_ARRAY_TASK_ID``, counted
    from ``SLURM_ARRAY_TASK_MIN``, of ``SLURM_ARRAY_TASK_COUNT``) or a Kubernetes indexed Job
    (``JOB_COMPLETION_INDEX`` from 0, of ``AUTOGRADER_SHARDS``, which the Job sets to its
    completions)."""
    try:
        if "SLURM_ARRAY_TASK_ID" in env:
            first = int(env.get("SLURM_ARRAY_TASK_MIN", "0"))
            return f"{int(env['SLURM_ARRAY_TASK_ID']) - first + 1}/{int(env['SLURM_ARRAY_TASK_COUNT'])}"
        if "JOB_COMPLETION_INDEX" in env:
            return f"{int(env['JOB_COMPLETION_INDEX']) + 1}/{int(env['AUTOGRADER_SHARDS'])}"
    except (KeyError, ValueError):
        pass
    raise ValueError("--shard env needs a job array's variables: SLURM_ARRAY_TASK_ID and SLURM_ARRAY_TASK_COUNT "
                     "(Slurm, sbatch --array), or JOB_COMPLETION_INDEX and AUTOGRADER_SHARDS (a Kubernetes "
                     "indexed Job)")


def in_shard(student: str, i: int, n: int) -> bool:
    """Deterministic: the same student always lands in the same share."""
    return int(hashlib.sha256(student.encode()).hexdigest(), 16) % n == i - 1


def master_cache(state: Path) -> Path:
    """Where master courses are kept: the course's git-ignored ``.grading/masters`` (shared by
    every grading run), else the output's own state folder."""
    shared = GRADING_DIR / "masters"
    try:
        shared.mkdir(parents=True, exist_ok=True)
        if os.access(shared, os.W_OK):
            return shared
    except OSError:
        pass
    return state / "masters"


def default_memory_mb(workers: int) -> int:
    """4 GB per kernel, or less so that all workers' kernels fit in 80 % of the memory."""
    try:
        with open("/proc/meminfo", encoding="utf-8") as f:
            total_kb = int(next(l for l in f if l.startswith("MemTotal")).split()[1])
    except (OSError, StopIteration, ValueError):
        return 4096
    return max(1024, min(4096, int(0.8 * total_kb / 1024 / max(1, workers))))


def cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:
        return os.cpu_count() or 1


def _prepare_jobs(intake, master, state: Path, out: Path, args, parts: list[str]) -> list[dict]:
    """Repair every notebook, write the copies the workers grade, describe each job."""
    from dataclasses import asdict

    import nbformat

    from .intake.repair import Note, repair
    from .intake.scan import scan_notebook

    layout = master.layout
    jobs = []
    for student in sorted(intake.students):
        if not in_shard(student, args.shard_i, args.shard_n):
            continue
        for part in parts:
            expected = master.notebooks(part)
            cands = {nb: c for nb, c in intake.students[student].items() if c.assignment == part}
            sub_dir = state / "submitted" / student / part
            shutil.rmtree(sub_dir, ignore_errors=True)
            sub_dir.mkdir(parents=True)
            notes, unreadable, ok, review, answers = {}, [], [], {}, {}
            for nb, cand in sorted(cands.items()):
                release = master.release_notebook(part, nb)
                try:
                    fixed, found = repair(cand.raw, release)
                    if fixed is not None:
                        nbformat.write(fixed, sub_dir / f"{nb}.ipynb")
                except Exception as err:                # noqa: BLE001 - one odd file never stops the class
                    fixed, found = None, [Note("unreadable", "the notebook could not be read ("
                                               f"{type(err).__name__}: {str(err)[:120]})", fatal=True)]
                notes[nb] = [{"kind": f.kind, "detail": f.detail, "fatal": f.fatal,
                              "grade_ids": list(f.grade_ids)} for f in found]
                if fixed is None:
                    (sub_dir / f"{nb}.ipynb").unlink(missing_ok=True)
                    unreadable.append(nb)
                    continue
                ok.append(nb)
                # code only cheating needs, read here in the grader, never run (report: NEEDS REVIEW)
                review[nb] = [asdict(f) for f in scan_notebook(fixed, release)]
                answers[nb] = {c.metadata["nbgrader"]["grade_id"]: hashlib.sha256(c.source.encode()).hexdigest()[:16]
                               for c in fixed.cells if c.get("metadata", {}).get("nbgrader", {}).get("solution")}
            files = {nb: {"origin": c.origin, "sha256": c.sha256} for nb, c in sorted(cands.items())}
            # by content: the same bytes under another file or export name are up to date
            contents = {nb: f["sha256"] for nb, f in files.items()}
            fingerprint = hashlib.sha256(json.dumps(
                [GRADER_VERSION, master.hash, args.timeout, args.notebook_timeout, args.memory_mb,
                 args.no_isolation, contents], sort_keys=True).encode()).hexdigest()[:20]
            key = f"{student}/{part}"
            jobs.append({
                "key": key, "student": student, "assignment": part, "notebooks": ok,
                "expected": expected, "unreadable": unreadable, "repair": notes, "needs_review": review, "answers": answers,
                "files": files,
                "submitted_dir": str(sub_dir), "release_dir": str(master.release_dir(part)),
                "fingerprint": fingerprint,
                "result_path": str(state / "results" / student / f"{part}.json"),
                "gradebook_path": str(state / "gradebooks" / student / f"{part}.db"),
                "feedback_dir": str(out / "feedback" / student / part),
                "autograded_dir": str(out / "autograded" / student / part),
                "points": sum(layout[part][nb]["points"] for nb in expected),
            })
    return jobs


def _up_to_date(job: dict) -> bool:
    path = Path(job["result_path"])
    if not path.is_file():
        return False
    try:
        r = json.loads(path.read_text(encoding="utf-8"))
    except ValueError:
        return False
    if r.get("fingerprint") != job["fingerprint"] or not r.get("ok"):
        return False
    # a notebook the grader could not finish, or whose kernel did not start, is tried again
    for name in job["notebooks"]:
        nb = r.get("notebooks", {}).get(name, {})
        if not nb.get("graded") or any(e.get("kind") in ("kernel_start_failed", "grader_error")
                                       for e in nb.get("events", [])):
            return False
    return True


def _load_result(job: dict) -> dict | None:
    path = Path(job["result_path"])
    if not job["notebooks"]:
        return {"ok": True, "notebooks": {}}
    if not path.is_file():
        return None
    r = json.loads(path.read_text(encoding="utf-8"))
    return r if r.get("fingerprint") == job["fingerprint"] else None


def _intake_problems(intake, students: set[str]) -> list:
    from .reporting.results import Problem

    unknown_cost = {"unsafe_zip_entry", "no_student", "unknown_notebook", "file_too_large",
                    "zip_too_large", "skipped_link"}
    out = []
    for n in intake.notes:
        if n.student is not None and n.student not in students:
            continue
        out.append(Problem(n.student, n.notebook, n.kind, f"{n.detail} ({n.origin})",
                           None if n.kind in unknown_cost else 0.0))
    return out


def grade(args: argparse.Namespace) -> int:
    from .intake.intake import DEFAULT_PATTERN, collect
    from .master import build_master
    from .reporting.hand_grades import apply_hand_grades, stale_hand_grades
    from .reporting.merge import merge_gradebooks, write_grades_csv, write_totals_csv
    from .sandbox.pool import run_jobs
    from .reporting.report import build
    from .reporting.report_html import write_analytics
    from .reporting.results import job_rows
    from .sandbox.reference import ReferenceError, reference_jobs, reference_root, store_reference
    from .sandbox.sandbox import Limits, SandboxPlan
    from .intake.unreadable import write_skipped_feedback, write_unreadable_feedback

    t0 = time.monotonic()
    os.environ["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")])
    out = args.out.resolve()
    state = out / ".state"
    state.mkdir(parents=True, exist_ok=True)
    submissions = args.submissions.resolve()
    if not submissions.exists():
        print(f"error: {submissions} does not exist", file=sys.stderr)
        return 2
    if submissions == out or out in submissions.parents or submissions in out.parents and submissions.is_dir():
        print("error: --out must be a folder outside SUBMISSIONS (the input is never written to)",
              file=sys.stderr)
        return 2

    master = build_master(master_cache(state), solutions=args.solutions)
    graded_parts = master.graded_assignments()
    nb_part = {nb: a for a in graded_parts for nb in master.notebooks(a)}
    ungraded = {nb for a in master.assignments() if a not in graded_parts for nb in master.notebooks(a)}
    from .course.deadlines import DeadlineError
    from .reporting.late import load_deadlines
    from .reporting import class_config
    try:
        deadlines, csv_stamps = load_deadlines(args.deadlines, out, graded_parts, args.times)
        klass = class_config.load(out, [*nb_part, *graded_parts], args.class_config)
    except (DeadlineError, class_config.ClassConfigError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    intake = collect(submissions, nb_part, args.pattern or DEFAULT_PATTERN, ungraded)
    from .intake.submission_times import from_entries, zip_entries
    entries = zip_entries(intake)                 # kept in .state/run.json for combine
    stamps = csv_stamps if csv_stamps is not None else from_entries(entries, deadlines.tz) if deadlines else {}
    if args.assignments:
        parts = [a.strip() for a in args.assignments.split(",") if a.strip()]
        unknown = [a for a in parts if a not in graded_parts]
        if unknown:
            print(f"error: unknown or ungraded part(s): {', '.join(unknown)}; graded parts are "
                  f"{', '.join(graded_parts)}", file=sys.stderr)
            return 2
    else:
        parts = sorted({c.assignment for s in intake.students.values() for c in s.values()})
    jobs = _prepare_jobs(intake, master, state, out, args, parts)
    t_intake = time.monotonic()
    todo = [j for j in jobs if j["notebooks"] and (args.redo or not _up_to_date(j))]

    workers = max(1, min(args.workers or cores(), len(todo) or 1))
    if not args.memory_mb:
        args.memory_mb = default_memory_mb(workers)
    limits = Limits(memory_mb=args.memory_mb, cpu_s=max(900, 2 * args.notebook_timeout))
    secrets = [args.solutions, master.root, submissions, out, REPO_ROOT / ".grading"]
    plan = SandboxPlan.detect(limits, isolate=not args.no_isolation,
                              secrets=[s for s in secrets if Path(s).exists()])
    ctx = {"plan": plan.to_json(), "master": str(master.root), "workdir": str(state / "work"),
           "cell_timeout": args.timeout, "notebook_timeout": args.notebook_timeout,
           "threads": max(1, cores() // workers), "reference": str(reference_root(master.root)),
           "zygote": not args.no_zygote}
    n_notebooks = sum(len(j["notebooks"]) for j in todo)
    t_grade = time.monotonic()
    bar = None
    if not args.no_progress and todo:
        from tqdm import tqdm
        bar = tqdm(total=n_notebooks, unit="notebook", desc="grading", file=sys.stderr,
                   dynamic_ncols=True)

    def done(job, ok):
        if bar is not None:
            bar.update(len(job["notebooks"]))
            bar.set_postfix_str(job["key"][:30])

    job_limit = args.notebook_timeout * max([len(master.notebooks(a)) for a in parts] or [1]) + 600
    ref_jobs = reference_jobs(master, parts, args.solutions, state) if todo else []
    if ref_jobs:
        print(f"reference run: grading the instructor's solution of {', '.join(j['assignment'] for j in ref_jobs)} "
              "once for this version of the course", file=sys.stderr)
        run_jobs(ref_jobs, ctx, min(workers, len(ref_jobs)), state, job_limit)
        try:
            for j in ref_jobs:
                store_reference(master, j)
        except ReferenceError as err:
            print(f"error: {err}", file=sys.stderr)
            return 2
    t_reference = time.monotonic()
    run_jobs(sorted(todo, key=lambda j: -len(j["notebooks"])), ctx, workers, state, job_limit, done)
    if bar is not None:
        bar.close()
    grade_s = time.monotonic() - t_grade
    t_graded = time.monotonic()

    rows, problems = [], []
    for job in jobs:
        r, p = job_rows(job, _load_result(job), master.layout)
        rows += r
        problems += p
    students = {j["student"] for j in jobs}
    rows, problems = class_config.settle_missing(rows, problems, klass)
    job_problems = problems
    problems = _intake_problems(intake, students) + problems
    merge_gradebooks(master.gradebook, master.hash, jobs, out / "gradebook.db", state)
    rows = apply_hand_grades(rows, out / "gradebook.db")   # what formgrader saved there
    answers = {(j["student"], j["assignment"], nb, gid): digest for j in jobs
               for nb, cells in j.get("answers", {}).items() for gid, digest in cells.items()}
    problems += stale_hand_grades(out / "gradebook.db", answers, state / "hand_grades_seen.json")
    write_grades_csv(rows, out / "grades.csv")
    from .reporting.late import apply_deadlines
    late, late_lines = apply_deadlines(out, deadlines, stamps, rows)
    units, notebooks = class_config.assignment_units(klass, parts, {a: master.notebooks(a) for a in parts}, rows)
    write_totals_csv(rows, units, out / "totals.csv", late, klass)
    write_unreadable_feedback(jobs, master.layout)
    write_skipped_feedback(intake, nb_part, out, {(j["student"], nb) for j in jobs for nb in j["notebooks"]},
                           master.layout)

    header = {
        "submissions": str(submissions),
        "students": f"{len(students)}" + (f" (shard {args.shard})" if args.shard_n > 1 else ""),
        "parts": ", ".join(parts) or "(none handed in)",
        "assignments": class_config.describe(klass),
        "graded now": f"{n_notebooks} notebook(s) in {len(todo)} job(s); "
                      f"{len([j for j in jobs if j['notebooks']]) - len(todo)} job(s) up to date, skipped",
        "workers": f"{workers} (kernel threads {ctx['threads']}), sandbox mode {plan.mode!r}, "
                   + ("kernels forked from each worker's pre-imported zygote"
                      if plan.forks_kernels and ctx["zygote"] else "a fresh sandbox per kernel"),
        "time": f"{time.monotonic() - t0:.1f} s in all, {grade_s:.1f} s grading"
                + (f" ({grade_s / n_notebooks:.1f} s per notebook)" if n_notebooks else ""),
        "limits": f"{args.timeout} s per cell, {args.notebook_timeout} s per notebook, "
                  f"{args.memory_mb} MB memory for student code (+{plan.baseline_mb} MB the kernel takes)",
    }
    files = {"grades": str(out / "grades.csv"), "totals": str(out / "totals.csv"),
             "feedback": str(out / "feedback"), "autograded": str(out / "autograded"),
             "gradebook": str(out / "gradebook.db"), "logs": str(state / "logs")}
    files["report.html"] = str(out / "report.html")
    files["questions"] = str(out / "questions.csv")
    if late is not None:
        files["late"] = str(out / "late.csv")
    text = build(rows, problems, notebooks, header=header, protections=plan.protections,
                 files=files, late_lines=late_lines)
    (out / "report.txt").write_text(text, encoding="utf-8")
    write_analytics(out, rows, problems, parts, notebooks, jobs, args.solutions, late, deadlines,
                    {"students": header["students"], "parts": header["parts"]})
    save_run(state, master, parts, jobs, plan, problems[:len(problems) - len(job_problems)],
             [e for e in entries if e["student"] in students])
    # where the time went (bench/grade_speed.py prints it per notebook)
    (state / "timing.json").write_text(json.dumps({
        "intake_s": round(t_intake - t0, 2), "reference_s": round(t_reference - t_grade, 2),
        "grading_s": round(t_graded - t_reference, 2),
        "results_and_reports_s": round(time.monotonic() - t_graded, 2),
        "notebooks": n_notebooks, "workers": workers}), encoding="utf-8")
    if not args.quiet:
        print(text)
    return 0


def save_run(state: Path, master, parts: list[str], jobs: list[dict], plan, intake_problems: list,
             zip_times: list[dict]) -> None:
    """What ``python -m autograder.reporting.combine`` needs to fold this output with other shards'."""
    from dataclasses import asdict

    shutil.copyfile(master.gradebook, state / "master.db")
    (state / "run.json").write_text(json.dumps({
        "master_hash": master.hash, "layout": master.layout, "parts": parts,
        "protections": [asdict(p) for p in plan.protections], "mode": plan.mode,
        "jobs": jobs, "intake_problems": [asdict(p) for p in intake_problems],
        "zip_times": zip_times,
    }), encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)

    def terminate(signum, frame):                  # SIGTERM stops like Ctrl-C
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, terminate)
    # Ctrl-C stops the run even where the shell started it with SIGINT ignored (a
    # background job of a script), which Python would otherwise keep
    previous_int = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        return grade(args)
    except KeyboardInterrupt:
        print("\nstopped: no worker or kernel is left running; what was graded is kept. Run the same "
              "command again to grade the rest.", file=sys.stderr)
        return 130
    finally:
        signal.signal(signal.SIGTERM, previous)
        signal.signal(signal.SIGINT, previous_int)


if __name__ == "__main__":
    sys.exit(main())
