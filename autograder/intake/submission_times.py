"""When each student handed in each part: from an LMS zip or from a CSV the instructor gives.

- **A zip export** (Canvas, Moodle): every entry carries the time it was written, which
  an LMS sets to the upload time. Zip times have no time zone; they are read in the
  deadlines file's ``timezone``. Canvas also puts ``LATE`` into the names of files handed
  in after the due date (``smithjane_LATE_12345_678_03_....ipynb``); such a file counts
  as late even if its time says otherwise.
- **A CSV** (``--times FILE``): columns ``student``, ``part``, ``submitted_at`` (ISO 8601,
  ``2026-10-12 23:59`` or with an offset); it takes precedence over the zip.

A folder of files gives no times (file modification times are those of the download or
copy, not of the hand-in), so without a CSV nobody is late there. A part's time is the
latest of its notebooks'.
"""
from __future__ import annotations

import csv
import re
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from ..course.deadlines import DeadlineError, parse_time

CANVAS_LATE = re.compile(r"(?:^|_)LATE_")
CSV_COLUMNS = ("student", "part", "submitted_at")


@dataclass
class Stamp:
    time: datetime | None     # aware, UTC
    source: str               # "zip", "csv"
    marked_late: bool = False  # the LMS named the file late


def zip_entries(intake) -> list[dict]:
    """The zip entries' times as the LMS wrote them (local, no zone), one record per
    notebook: ``{"student", "part", "local", "marked_late"}``. Kept with a grading run's
    state so that shards graded apart can be judged against due dates later."""
    out = []
    for student, files in intake.students.items():
        for cand in files.values():
            if ".zip:" not in cand.origin.lower() or not cand.mtime:
                continue
            # intake read the zip's local time as if UTC: this is that local time
            naive = datetime.fromtimestamp(cand.mtime, timezone.utc).replace(tzinfo=None)
            name = cand.origin.split(":", 1)[-1].rsplit("/", 1)[-1]
            out.append({"student": student, "part": cand.assignment, "local": naive.isoformat(),
                        "marked_late": bool(CANVAS_LATE.search(name))})
    return out


def from_entries(entries: list[dict], tz) -> dict[tuple[str, str], Stamp]:
    """``{(student, part): Stamp}`` from :func:`zip_entries` records, read in the zone ``tz``."""
    out: dict[tuple[str, str], Stamp] = {}
    for e in entries:
        when = datetime.fromisoformat(e["local"]).replace(tzinfo=tz).astimezone(timezone.utc)
        key, late = (e["student"], e["part"]), e["marked_late"]
        old = out.get(key)
        if old is None or when > old.time:
            out[key] = Stamp(when, "zip", late or (old.marked_late if old else False))
        elif late:
            old.marked_late = True
    return out


def from_intake(intake, tz) -> dict[tuple[str, str], Stamp]:
    """``{(student, part): Stamp}`` from the zip entries the intake read (none for a folder)."""
    return from_entries(zip_entries(intake), tz)


def from_csv(path: Path, parts: list[str], tz) -> dict[tuple[str, str], Stamp]:
    """``{(student, part): Stamp}`` from the instructor's CSV; the latest row of a pair wins."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except OSError as err:
        raise DeadlineError(f"{path}: cannot be read ({err.strerror or err})") from None
    reader = csv.DictReader(text.splitlines())
    missing = [c for c in CSV_COLUMNS if c not in (reader.fieldnames or [])]
    if missing:
        raise DeadlineError(f"{path}: missing column(s) {', '.join(missing)}; the columns are "
                            f"{', '.join(CSV_COLUMNS)}")
    out: dict[tuple[str, str], Stamp] = {}
    for line, row in enumerate(reader, start=2):
        student, part = (row["student"] or "").strip(), (row["part"] or "").strip()
        if not student:
            raise DeadlineError(f"{path}, line {line}, student: empty")
        if part not in parts:
            raise DeadlineError(f"{path}, line {line}, part: {part!r} is not a graded part "
                                f"({', '.join(parts)})")
        when = parse_time(row["submitted_at"] or "", tz, f"{path}, line {line}, submitted_at")
        old = out.get((student, part))
        if old is None or when > old.time:
            out[(student, part)] = Stamp(when, "csv")
    return out
