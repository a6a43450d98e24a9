"""Grades for an LMS import: a Canvas gradebook CSV or a Moodle grade-import CSV.

    python -m autograder.reporting.lms_export canvas --out OUT [--roster CANVAS_EXPORT.csv] [--match-on COLUMN]
    python -m autograder.reporting.lms_export moodle --out OUT --key-column COLUMN [--roster MOODLE_EXPORT.csv]
                                           [--match-on COLUMN]

Both read ``OUT/grades.csv`` (hand grades included once ``make grade`` ran after
formgrader) and write one column of points per part. When the class has due dates
(``OUT/late.csv``, written by ``make grade``), the points are those after the late
penalty; ``--raw`` exports the points before it.

- **Canvas** (``OUT/canvas_import.csv``): the columns Canvas imports, ``Student``, ``ID``,
  ``SIS User ID``, ``SIS Login ID``, ``Section``, one column per part, and the
  ``Points Possible`` row. With ``--roster`` (the class's gradebook exported from Canvas)
  each graded student is matched to a roster row, on ``--match-on`` or, by default, on any
  of ``SIS Login ID``, ``SIS User ID``, ``ID`` or the name as Canvas writes it in
  submission file names ("Smith, Jane" -> ``smithjane``); a part whose name is already a
  roster column keeps that column's heading (with Canvas's assignment id), so the import
  updates that assignment. Without a roster the student key fills ``Student`` and
  ``SIS Login ID``.
- **Moodle** (``OUT/moodle_import.csv``): the column ``--key-column`` (the identifier
  mapped in Moodle's "Import grades > CSV file", e.g. ``Email address`` or ``ID number``)
  then one column per part. With ``--roster`` (Moodle's grade export) the key is taken
  from the matched roster row; without, the student key is the key.

Graded students the roster does not know are listed (and written to
``OUT/lms_unmatched.csv``), never dropped silently; roster students with nothing graded
keep empty cells (an import leaves those grades alone).
"""
from __future__ import annotations

import argparse
import csv
import re
import sys
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

CANVAS_FIXED = ["Student", "ID", "SIS User ID", "SIS Login ID", "Section"]
CANVAS_MATCH = ["SIS Login ID", "SIS User ID", "ID", "Student"]
POINTS_POSSIBLE = "Points Possible"


@dataclass
class Scores:
    """Points per student and part, from ``grades.csv``."""
    parts: list[str]
    points: dict[str, dict[str, float]]        # student -> part -> points
    max_points: dict[str, float]               # part -> points possible
    pending: dict[str, int] = field(default_factory=dict)   # student -> answers not graded yet


def read_scores(grades_csv: Path) -> Scores:
    if not Path(grades_csv).is_file():
        raise ValueError(f"{grades_csv} not found: run `make grade OUT=...` first")
    points: dict = defaultdict(lambda: defaultdict(float))
    top: dict = defaultdict(dict)               # part -> (notebook, grade_id) -> max
    pending: dict = defaultdict(int)
    with open(grades_csv, newline="", encoding="utf-8") as f:
        for r in csv.DictReader(f):
            points[r["student"]][r["part"]] += float(r["score"] or 0)
            top[r["part"]][(r["notebook"], r["grade_id"])] = float(r["max_score"])
            pending[r["student"]] += r["status"] == "manual"
    parts = sorted(top)
    return Scores(parts, {s: dict(p) for s, p in points.items()},
                  {p: sum(top[p].values()) for p in parts}, dict(pending))


def apply_late(scores: Scores, late_csv: Path) -> int:
    """Replace each (student, part)'s points by those after the late penalty in ``late.csv``;
    returns how many were lowered."""
    lowered = 0
    with open(late_csv, newline="", encoding="utf-8") as f:
        for r in csv.DictReader(f):
            got = scores.points.get(r["student"], {})
            if r["part"] in got and float(r["penalty_percent"] or 0) > 0:
                got[r["part"]] = float(r["after_penalty"])
                lowered += 1
    return lowered


def canvas_file_name(student: str) -> str:
    """The name as Canvas writes it in a submission file name: "Smith, Jane" -> smithjane."""
    return re.sub(r"[^a-z0-9]", "", student.lower())


def _key(value: str) -> str:
    return value.strip().lower()


def read_roster(path: Path) -> tuple[list[str], list[dict]]:
    """Header and student rows of an LMS export (Canvas's "Points Possible" and "Muted"
    rows, and its "Test Student", left out)."""
    with open(path, newline="", encoding="utf-8-sig") as f:
        reader = csv.DictReader(f)
        header = list(reader.fieldnames or [])
        rows = [r for r in reader
                if (r.get(header[0]) or "").strip() not in (POINTS_POSSIBLE, "Muted", "Test Student", "Student, Test")]
    return header, rows


def match(students: list[str], roster: list[dict], columns: list[str]) -> tuple[dict[str, dict], list[str]]:
    """Roster row per graded student (first of ``columns`` that matches), and the unmatched."""
    index: dict[str, dict] = {}
    for col in reversed(columns):               # earlier columns win
        for row in roster:
            value = row.get(col) or ""
            if not value.strip():
                continue
            index[_key(value)] = row
            if col == "Student":
                index[canvas_file_name(value)] = row
    found, unmatched = {}, []
    for s in students:
        row = index.get(_key(s)) or index.get(canvas_file_name(s))
        if row is None:
            unmatched.append(s)
        else:
            found[s] = row
    return found, unmatched


def _num(x: float | None) -> str:
    return "" if x is None else f"{x:g}"


def _part_headers(parts: list[str], header: list[str]) -> dict[str, str]:
    """A roster column named after a part ("part1_representations (1234)") keeps its heading."""
    out = {}
    for p in parts:
        out[p] = next((h for h in header if h == p or h.startswith(p + " (")), p)
    return out


def write_canvas(scores: Scores, dest: Path, roster: Path | None = None,
                 match_on: str | None = None) -> list[str]:
    """Write the Canvas CSV; returns the graded students the roster does not know."""
    students = sorted(scores.points)
    if roster is None:
        heads = {p: p for p in scores.parts}
        rows = [{"Student": s, "SIS Login ID": s, **{heads[p]: _num(scores.points[s].get(p)) for p in scores.parts}}
                for s in students]
        unmatched = []
    else:
        header, roster_rows = read_roster(roster)
        missing = [c for c in CANVAS_FIXED if c not in header]
        if missing:
            raise ValueError(f"{roster} is not a Canvas gradebook export (no column {', '.join(missing)})")
        columns = [match_on] if match_on else CANVAS_MATCH
        found, unmatched = match(students, roster_rows, columns)
        by_row = {id(r): s for s, r in found.items()}
        heads = _part_headers(scores.parts, header)
        rows = []
        for r in roster_rows:
            s = by_row.get(id(r))
            rows.append({**{c: r.get(c, "") for c in CANVAS_FIXED},
                         **{heads[p]: _num(scores.points[s].get(p)) if s else "" for p in scores.parts}})
    cols = CANVAS_FIXED + [heads[p] for p in scores.parts]
    with open(dest, "w", newline="", encoding="utf-8") as f:
        w = csv.DictWriter(f, fieldnames=cols)
        w.writeheader()
        w.writerow({"Student": POINTS_POSSIBLE, **{heads[p]: _num(scores.max_points[p]) for p in scores.parts}})
        w.writerows(rows)
    return unmatched


def write_moodle(scores: Scores, dest: Path, key_column: str, roster: Path | None = None,
                 match_on: str | None = None) -> list[str]:
    """Write the Moodle CSV keyed on ``key_column``; returns the unmatched graded students."""
    students = sorted(scores.points)
    if roster is None:
        keyed, unmatched = {s: s for s in students}, []
    else:
        header, roster_rows = read_roster(roster)
        if key_column not in header:
            raise ValueError(f"{roster} has no column {key_column!r} (it has: {', '.join(header)})")
        columns = [match_on] if match_on else [key_column, "ID number", "Username", "Email address"]
        found, unmatched = match(students, roster_rows, [c for c in columns if c in header])
        keyed = {s: row[key_column] for s, row in found.items()}
    with open(dest, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow([key_column, *scores.parts])
        for s in students:
            if s in keyed:
                w.writerow([keyed[s], *[_num(scores.points[s].get(p)) for p in scores.parts]])
    return unmatched


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m autograder.reporting.lms_export", description=__doc__.splitlines()[0])
    p.add_argument("lms", choices=["canvas", "moodle"])
    p.add_argument("--out", type=Path, default=Path("grading_out"), help="the grading output (make grade's OUT)")
    p.add_argument("--roster", type=Path, help="the class's gradebook exported from the LMS (CSV)")
    p.add_argument("--match-on", help="roster column holding the student key make grade used "
                                      "(default: try the usual identifier columns)")
    p.add_argument("--key-column", help="moodle: the identifier column of the import, e.g. 'Email address'")
    p.add_argument("--raw", action="store_true", help="points before late penalties (default: after, "
                                                      "when OUT/late.csv exists)")
    p.add_argument("--file", type=Path, help="where to write (default: OUT/canvas_import.csv or OUT/moodle_import.csv)")
    args = p.parse_args(argv)
    if args.lms == "moodle" and not args.key_column:
        p.error("moodle needs --key-column (the column Moodle's import maps to a user field)")
    if args.roster is not None and not args.roster.is_file():
        p.error(f"--roster {args.roster} does not exist")
    try:
        scores = read_scores(args.out / "grades.csv")
        if not args.raw and (args.out / "late.csv").is_file():
            n = apply_late(scores, args.out / "late.csv")
            print(f"late penalties applied ({args.out / 'late.csv'}): {n} part(s) lowered; --raw for the points before")
        dest = args.file or args.out / f"{args.lms}_import.csv"
        if args.lms == "canvas":
            unmatched = write_canvas(scores, dest, args.roster, args.match_on)
        else:
            unmatched = write_moodle(scores, dest, args.key_column, args.roster, args.match_on)
    except (ValueError, KeyError, csv.Error, UnicodeDecodeError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    print(f"wrote {dest} ({len(scores.points) - len(unmatched)} graded student(s), parts: {', '.join(scores.parts)})")
    pending = sorted(s for s, n in scores.pending.items() if n)
    if pending:
        print(f"note: {len(pending)} student(s) have answers not graded by hand yet (counted as 0): "
              f"{', '.join(pending)}")
    listing = args.out / "lms_unmatched.csv"
    if unmatched:
        with open(listing, "w", newline="", encoding="utf-8") as f:
            csv.writer(f).writerows([["student", "total"],
                                     *[[s, _num(sum(scores.points[s].values()))] for s in unmatched]])
        print(f"WARNING: {len(unmatched)} graded student(s) not found in the roster, NOT in the import "
              f"(listed in {listing}): {', '.join(unmatched)}")
        return 1
    listing.unlink(missing_ok=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
