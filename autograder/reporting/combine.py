"""Fold the outputs of several shards into one (``--shard i/n`` on n machines).

    python -m autograder.reporting.combine --out OUT SHARD_OUT [SHARD_OUT ...]
        [--deadlines FILE] [--times CSV]

Each shard's OUT keeps, in ``.state/``, what it graded (``run.json``: the jobs, the
intake notes, the protections), the jobs' results and gradebooks and a copy of the
master gradebook. This reads them (the shard folders may have been copied from other
machines: paths are found by convention, not taken from the shards), copies the
feedback and autograded notebooks, and writes ``grades.csv``, ``totals.csv``, the
merged ``gradebook.db`` and ``report.txt`` for the whole class. The shards must have
graded the same version of the course.

Due dates apply here as in ``make grade``: ``--deadlines FILE`` or ``OUT/deadlines.toml``,
with the submission times of ``--times CSV`` or else those of the zip entries each shard
read (kept in its ``run.json``), so shards graded without due dates can be judged late
once they are combined. ``late.csv``, the penalty columns of ``totals.csv``, the
gradebook's due dates and the report's LATE SUBMISSIONS section follow.
"""
from __future__ import annotations

import argparse
import json
import shutil
import sys
from pathlib import Path

from ..course.deadlines import DeadlineError
from ..intake.submission_times import from_entries
from . import class_config
from .hand_grades import apply_hand_grades
from .late import apply_deadlines, load_deadlines
from .merge import merge_gradebooks, write_grades_csv, write_totals_csv
from .report import build
from .results import Problem, job_rows
from ..sandbox.sandbox import Protection


def _relocate(job: dict, shard: Path) -> dict:
    s, part = job["student"], job["assignment"]
    state = shard / ".state"
    return {**job, "result_path": str(state / "results" / s / f"{part}.json"),
            "gradebook_path": str(state / "gradebooks" / s / f"{part}.db"),
            "submitted_dir": str(state / "submitted" / s / part),
            "autograded_dir": str(shard / "autograded" / s / part)}


def combine(out: Path, shards: list[Path], deadlines_file: Path | None = None, times: Path | None = None,
            class_file: Path | None = None) -> str:
    out = Path(out).resolve()
    state = out / ".state"
    state.mkdir(parents=True, exist_ok=True)
    runs = []
    for shard in shards:
        path = Path(shard) / ".state" / "run.json"
        if not path.is_file():
            raise ValueError(f"{shard} is not a grading output (no .state/run.json): grade it first")
        runs.append((Path(shard).resolve(), json.loads(path.read_text(encoding="utf-8"))))
    hashes = {r["master_hash"] for _, r in runs}
    if len(hashes) != 1:
        raise ValueError(f"the shards graded different versions of the course ({sorted(hashes)}); "
                         "grade them again with the same solutions/")
    layout = runs[0][1]["layout"]
    parts = sorted({p for _, r in runs for p in r["parts"]})
    deadlines, csv_stamps = load_deadlines(deadlines_file, out, parts, times)   # a bad file stops us here
    klass = class_config.load(out, [*[nb for p in parts for nb in layout.get(p, {})], *parts], class_file)
    jobs, rows, problems, seen = [], [], [], set()
    for shard, run in runs:
        for p in run["intake_problems"]:
            problems.append(Problem(**{**p, "questions": tuple(p.get("questions", ()))}))
        for job in run["jobs"]:
            if job["key"] in seen:
                continue
            seen.add(job["key"])
            job = _relocate(job, shard)
            result = None
            if not job["notebooks"]:
                result = {"ok": True, "notebooks": {}}
            elif Path(job["result_path"]).is_file():
                result = json.loads(Path(job["result_path"]).read_text(encoding="utf-8"))
                if result.get("fingerprint") != job["fingerprint"]:
                    result = None
            r, p = job_rows(job, result, layout)
            rows += r
            problems += p
            jobs.append(job)
            for step in ("feedback", "autograded"):
                src = shard / step / job["student"] / job["assignment"]
                if src.is_dir() and shard != out:
                    dest = out / step / job["student"] / job["assignment"]
                    shutil.rmtree(dest, ignore_errors=True)
                    shutil.copytree(src, dest)
    rows, problems = class_config.settle_missing(rows, problems, klass)
    master_db = runs[0][0] / ".state" / "master.db"
    merge_gradebooks(master_db, runs[0][1]["master_hash"], jobs, out / "gradebook.db", state)
    rows = apply_hand_grades(rows, out / "gradebook.db")
    write_grades_csv(rows, out / "grades.csv")
    stamps = csv_stamps if csv_stamps is not None else \
        from_entries([e for _, r in runs for e in r.get("zip_times", [])], deadlines.tz) if deadlines else {}
    late, late_lines = apply_deadlines(out, deadlines, stamps, rows)
    units, notebooks = class_config.assignment_units(klass, parts, {a: sorted(layout.get(a, {})) for a in parts},
                                                     rows)
    write_totals_csv(rows, units, out / "totals.csv", late, klass)
    protections = [Protection(**p) for p in runs[0][1]["protections"]]
    modes = sorted({r["mode"] for _, r in runs})
    header = {"combined from": ", ".join(str(s) for s, _ in runs),
              "students": str(len({j["student"] for j in jobs})),
              "parts": ", ".join(parts), "assignments": class_config.describe(klass),
              "sandbox modes": ", ".join(modes)}
    files = {"grades": str(out / "grades.csv"), "totals": str(out / "totals.csv"),
             "feedback": str(out / "feedback"), "gradebook": str(out / "gradebook.db")}
    files["report.html"] = str(out / "report.html")
    if late is not None:
        files["late"] = str(out / "late.csv")
    text = build(rows, problems, notebooks, header=header, protections=protections, files=files,
                 late_lines=late_lines)
    (out / "report.txt").write_text(text, encoding="utf-8")
    from .report_html import write_analytics
    from ..course.course import SOLUTIONS_DIR
    write_analytics(out, rows, problems, parts, notebooks, jobs, SOLUTIONS_DIR, late, deadlines,
                    {"students": header["students"], "parts": header["parts"]})
    return text


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m autograder.reporting.combine", description=__doc__.splitlines()[0])
    p.add_argument("--out", type=Path, required=True, help="folder for the combined output")
    p.add_argument("shards", nargs="+", type=Path, help="the shards' output folders")
    p.add_argument("--deadlines", type=Path, default=None,
                   help="due dates and late policy (TOML; default: OUT/deadlines.toml when it exists)")
    p.add_argument("--times", type=Path, default=None,
                   help="CSV of submission times (student, part, submitted_at); default: the shards' zip times")
    p.add_argument("--class-config", type=Path, default=None,
                   help="one LMS assignment per notebook or per part (TOML; default: OUT/class.toml when it exists)")
    p.add_argument("--quiet", action="store_true")
    args = p.parse_args(argv)
    try:
        text = combine(args.out, args.shards, args.deadlines, args.times, args.class_config)
    except (ValueError, DeadlineError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    if not args.quiet:
        print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
