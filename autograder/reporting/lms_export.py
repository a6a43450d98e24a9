"""Grades for an LMS import: a Canvas gradebook CSV or a Moodle grade-import CSV.

    python -m autograder.reporting.lms_export canvas --out OUT [--roster CANVAS_EXPORT.csv] [--match-on COLUMN]
    python -m autograder.reporting.lms_export moodle --out OUT --key-column COLUMN [--roster MOODLE_EXPORT.csv]
                                           [--match-on COLUMN]

Both read ``OUT/grades.csv`` (hand grades included once ``make grade`` ran after
formgrader) and write one column of points per assignment: per notebook (the default,
Canvas's usual set-up) or per part, as ``OUT/class.toml`` says
(:mod:`autograder.reporting.class_config`). A notebook a student did not hand in is an
empty cell, which an import leaves alone. When the class has due dates (``OUT/late.csv``,
written by ``make grade``), the points are those after the late penalty of the notebook's
part; ``--raw`` exports the points before it.

- **Canvas** (``OUT/canvas_import.csv``): the columns Canvas imports, ``Student``, ``ID``,
  ``SIS User ID``, ``SIS Login ID``, ``Section``, one column per assignment, and the
  ``Points Possible`` row. With ``--roster`` (the class's gradebook exported from Canvas)
  each graded student is matched to a roster row, on ``--match-on`` or, by default, on any
  of ``SIS Login ID``, ``SIS User ID``, ``ID`` or the name as Canvas writes it in
  submission file names ("Smith, Jane" -> ``smithjane``). Each assignment goes to the
  roster column ``class.toml``'s ``[lms.columns]`` names, else to the one named after it or
  carrying its number ("Notebook 03 (88001)"), keeping that heading with Canvas's
  assignment id so the import updates that assignment; what maps onto no column is said.
  Without a roster the student key fills ``Student`` and ``SIS Login ID``.
- **Moodle** (``OUT/moodle_import.csv``): the column ``--key-column`` (the identifier
  mapped in Moodle's "Import grades > CSV file", e.g. ``Email address`` or ``ID number``)
  then one column per assignment. With ``--roster`` (Moodle's grade export) the key is taken
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

from ..course.deadlines import Late, after_penalty
from .class_config import ClassConfig, ClassConfigError, column_number, number_of
from .class_config import load as load_class

CANVAS_FIXED = ["Student", "ID", "SIS User ID", "SIS Login ID", "Section"]
CANVAS_MATCH = ["SIS Login ID", "SIS User ID", "ID", "Student"]
POINTS_POSSIBLE = "Points Possible"


@dataclass
class Scores:
    """Points per student and assignment (a notebook or a part: ``OUT/class.toml``), from ``grades.csv``."""
    parts: list[str]                           # the assignments, in course order
    points: dict[str, dict[str, float]]        # student -> assignment -> points (absent: nothing handed in)
    max_points: dict[str, float]               # assignment -> points possible
    pending: dict[str, int] = field(default_factory=dict)   # student -> answers not graded yet
    part_of: dict[str, str] = field(default_factory=dict)   # assignment -> its part (for late penalties)


def read_scores(grades_csv: Path, config: ClassConfig | None = None) -> Scores:
    """Points per assignment. With one assignment per notebook (the default), a notebook a
    student did not hand in has no points (an empty cell: the import leaves it alone)."""
    config = config or ClassConfig()
    if not Path(grades_csv).is_file():
        raise ValueError(f"{grades_csv} not found: run `make grade OUT=...` first")
    points: dict = defaultdict(lambda: defaultdict(float))
    top: dict = defaultdict(dict)               # assignment -> (notebook, grade_id) -> max
    pending: dict = defaultdict(int)
    part_of, order = {}, {}
    with open(grades_csv, newline="", encoding="utf-8") as f:
        for r in csv.DictReader(f):
            unit = r["notebook"] if config.assignments == "notebook" else r["part"]
            part_of[unit] = r["part"]
            order.setdefault(unit, (r["part"], r["notebook"]))
            key = (r["notebook"], r["grade_id"])
            top[unit][key] = max(top[unit].get(key, 0.0), float(r["max_score"] or 0))
            pending[r["student"]] += r["status"] == "manual"
            if r["status"] == "missing" and not config.charges_missing:
                points[r["student"]]                # known, nothing handed in for this one
                continue
            points[r["student"]][unit] += float(r["score"] or 0)
    handed = {u for p in points.values() for u in p}
    parts = sorted((u for u in top if u in handed), key=lambda u: (order[u], u))   # one nobody handed in: no column
    return Scores(parts, {s: dict(p) for s, p in points.items()},
                  {p: sum(top[p].values()) for p in parts}, dict(pending), part_of)


def apply_late(scores: Scores, late_csv: Path) -> int:
    """Lower each (student, assignment)'s points by the late penalty of its part in
    ``late.csv``; returns how many were lowered."""
    lowered = 0
    with open(late_csv, newline="", encoding="utf-8") as f:
        for r in csv.DictReader(f):
            percent = float(r["penalty_percent"] or 0)
            got = scores.points.get(r["student"], {})
            for unit in [u for u in got if scores.part_of.get(u, u) == r["part"]]:
                if percent > 0:
                    got[unit] = after_penalty(got[unit], Late(None, None, 0.0, 0, percent))
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


def points_possible(path: Path) -> dict[str, float]:
    """Canvas's "Points Possible" row of a roster: column -> points (numbers only)."""
    with open(path, newline="", encoding="utf-8-sig") as f:
        for r in csv.DictReader(f):
            if (next(iter(r.values()), "") or "").strip() == POINTS_POSSIBLE:
                out = {}
                for col, value in r.items():
                    try:
                        out[col] = float(value)
                    except (TypeError, ValueError):
                        pass
                return out
    return {}


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


def columns_for(units: list[str], header: list[str] | None, config: ClassConfig) -> tuple[dict[str, str], list[str]]:
    """The gradebook column each assignment's points go to, and what could not be mapped
    (said in words). In order: the column ``[lms.columns]`` names; a roster column named
    after the assignment ("part1_representations (4711)"); the one roster column carrying
    its number ("Notebook 03 (88001)", "03 Sequences (88001)"; "Part 1 (4711)" for a part).
    Otherwise the assignment's own name: the LMS creates a new assignment for it."""
    out, notes = {}, []
    header = header or []
    free = [h for h in header if h not in CANVAS_FIXED]
    for u in units:
        named = config.columns.get(u)
        if named:
            if header and named not in header:
                raise ValueError(f"{config.path}: lms.columns.{u} = {named!r} is not a column of the roster "
                                 f"(its columns: {', '.join(free)})")
            out[u] = named
            continue
        same = [h for h in free if h == u or h.startswith(u + " (")]
        if same:
            out[u] = same[0]
            continue
        n, kinds = number_of(u), ("part",) if u.startswith("part") else ("notebook",)
        numbered = [h for h in free if (c := column_number(h)) and c[1] == n and c[0] in kinds]
        if len(numbered) == 1 and n is not None:
            out[u] = numbered[0]
            continue
        out[u] = u
        if header:
            why = (f"several roster columns could be it ({', '.join(numbered)})" if numbered else
                   "no roster column names it or its number")
            notes.append(f"not mapped onto the roster: {u}: {why}; exported as a new column {u!r} (the LMS would create a new "
                         f"assignment); name its column in class.toml [lms.columns]")
    return out, notes


def write_canvas(scores: Scores, dest: Path, roster: Path | None = None,
                 match_on: str | None = None, config: ClassConfig | None = None,
                 notes: list[str] | None = None) -> list[str]:
    """Write the Canvas CSV; returns the graded students the roster does not know. The
    assignments that map onto no column of the roster are added to ``notes``."""
    config = config or ClassConfig()
    notes = notes if notes is not None else []
    students = sorted(scores.points)
    if roster is None:
        heads, _ = columns_for(scores.parts, None, config)
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
        heads, unmapped = columns_for(scores.parts, header, config)
        notes += unmapped
        possible = points_possible(roster)
        for p in scores.parts:
            theirs = possible.get(heads[p])
            if theirs is not None and abs(theirs - scores.max_points[p]) > 1e-9:
                notes.append(f"{heads[p]}: worth {theirs:g} points in the roster, {scores.max_points[p]:g} here; "
                             f"Canvas keeps its own points possible, so set the assignment to "
                             f"{scores.max_points[p]:g} points (or scale the scores) before importing")
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
                 match_on: str | None = None, config: ClassConfig | None = None) -> list[str]:
    """Write the Moodle CSV keyed on ``key_column``; returns the unmatched graded students.
    The columns are the assignments' names, or those ``[lms.columns]`` gives (Moodle's
    import maps each column onto a grade item when it is read)."""
    config = config or ClassConfig()
    heads = {u: config.columns.get(u, u) for u in scores.parts}
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
        w.writerow([key_column, *[heads[u] for u in scores.parts]])
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
    p.add_argument("--class-config", type=Path, default=None,
                   help="one assignment per notebook or per part, and their gradebook columns (TOML; "
                        "default: OUT/class.toml when it exists, else one assignment per notebook)")
    p.add_argument("--file", type=Path, help="where to write (default: OUT/canvas_import.csv or OUT/moodle_import.csv)")
    args = p.parse_args(argv)
    if args.lms == "moodle" and not args.key_column:
        p.error("moodle needs --key-column (the column Moodle's import maps to a user field)")
    if args.roster is not None and not args.roster.is_file():
        p.error(f"--roster {args.roster} does not exist")
    notes: list[str] = []
    try:
        config = load_class(args.out, path=args.class_config)
        scores = read_scores(args.out / "grades.csv", config)
        if not args.raw and (args.out / "late.csv").is_file():
            n = apply_late(scores, args.out / "late.csv")
            print(f"late penalties applied ({args.out / 'late.csv'}): {n} assignment(s) lowered; "
                  "--raw for the points before")
        dest = args.file or args.out / f"{args.lms}_import.csv"
        if args.lms == "canvas":
            unmatched = write_canvas(scores, dest, args.roster, args.match_on, config, notes)
        else:
            unmatched = write_moodle(scores, dest, args.key_column, args.roster, args.match_on, config)
    except (ValueError, KeyError, csv.Error, UnicodeDecodeError, ClassConfigError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    unit = "notebook" if config.assignments == "notebook" else "part"
    print(f"wrote {dest} ({len(scores.points) - len(unmatched)} graded student(s); one assignment per {unit}"
          f"{' (class.toml)' if config.path else ''}: {', '.join(scores.parts)})")
    for note in notes:
        print(f"WARNING: {note}")
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
