"""Due dates per part and the late policy: one TOML file, ``OUT/deadlines.toml`` by default
(``--deadlines FILE`` names another). Example::

    timezone = "Europe/Berlin"      # dates below, CSV times and zip times without an offset

    [due]                           # one line per part; parts not listed have no due date
    part1_representations = 2026-10-12T23:59:00
    part2_pretraining = "2026-10-26 23:59"

    [late]
    policy = "per_day"              # "none" (times recorded, no penalty) or "per_day"
    grace_minutes = 15              # up to this late counts as on time
    percent_per_day = 10            # % of the part's score taken per day late, days rounded up
    cutoff_days = 7                 # later than this many days after the due date: 0 points

The arithmetic (:func:`assess`): a submission at most ``grace_minutes`` after the due date
is on time; a later one is late by ``ceil(seconds late / 86400)`` days counted from the due
date itself (one second over the grace is one day), and loses ``days x percent_per_day``
percent of the points it earned in that part (at most 100); after ``cutoff_days`` it keeps
nothing. A malformed file is refused with :class:`DeadlineError`, naming the file and the
field.
"""
from __future__ import annotations

import math
import sys
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

if sys.version_info >= (3, 11):
    import tomllib
else:   # the lab extra installs tomli there
    import tomli as tomllib

POLICIES = ("none", "per_day")
DAY_S = 86400


class DeadlineError(ValueError):
    """A deadlines file or submission-times CSV that cannot be used, with the file and field."""


@dataclass
class LatePolicy:
    kind: str = "none"                # "none" or "per_day"
    grace_minutes: float = 0.0        # this late or less is on time
    percent_per_day: float = 0.0      # % of the earned points lost per day late (days rounded up)
    cutoff_days: float | None = None  # later than this many days after the due date: 0 points


@dataclass
class Deadlines:
    path: Path                                              # the file they came from
    due: dict[str, datetime] = field(default_factory=dict)  # part -> due date (aware, UTC)
    policy: LatePolicy = field(default_factory=LatePolicy)
    tz: ZoneInfo | timezone = timezone.utc                  # for times written without an offset


@dataclass
class Late:
    """How late one student's part came in, and what that costs."""
    submitted: datetime | None   # None: no time known (counted as on time)
    due: datetime | None
    seconds_late: float          # 0 when on time or unknown
    days: int                    # days late, rounded up (0: on time or within the grace period)
    percent: float               # % of the earned points taken off (0..100)
    note: str = ""               # why, in words, when not plain arithmetic
    source: str = ""             # where the time came from: "zip", "csv" or ""


def parse_time(value, tz, where: str) -> datetime:
    """An aware UTC datetime from a TOML datetime or an ISO 8601 string ("2026-10-12 23:59",
    "2026-10-12T23:59:00+02:00"); times without an offset are in ``tz``."""
    if isinstance(value, datetime):
        dt = value
    elif isinstance(value, str):
        try:
            dt = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
        except ValueError:
            raise DeadlineError(f"{where}: {value!r} is not a date and time "
                                "(write it as 2026-10-12T23:59:00, optionally with an offset like +02:00)") from None
    else:
        raise DeadlineError(f"{where}: expected a date and time like 2026-10-12T23:59:00, not {value!r}")
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=tz)
    return dt.astimezone(timezone.utc)


def _number(table: dict, key: str, where: str, default, *, top: float | None = None):
    value = table.get(key, default)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise DeadlineError(f"{where}{key}: expected a number, not {value!r}")
    if value < 0:
        raise DeadlineError(f"{where}{key}: must not be negative (it is {value})")
    if top is not None and value > top:
        raise DeadlineError(f"{where}{key}: must be at most {top:g} (it is {value})")
    return float(value)


def load(path: Path, parts: list[str]) -> Deadlines:
    """Read and check a deadlines file; ``parts`` are the course's graded parts."""
    path = Path(path)
    try:
        doc = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as err:
        raise DeadlineError(f"{path}: cannot be read ({err.strerror or err})") from None
    except tomllib.TOMLDecodeError as err:
        raise DeadlineError(f"{path}: not valid TOML ({err})") from None
    where = f"{path}: "
    unknown = sorted(set(doc) - {"timezone", "due", "late"})
    if unknown:
        raise DeadlineError(f"{where}unknown setting(s) {', '.join(unknown)}; expected timezone, [due], [late]")
    tz_name = doc.get("timezone", "UTC")
    try:
        tz = ZoneInfo(tz_name) if isinstance(tz_name, str) else None
    except (ZoneInfoNotFoundError, ValueError):
        tz = None
    if tz is None:
        raise DeadlineError(f"{where}timezone: {tz_name!r} is not a time zone name (e.g. \"UTC\", \"Europe/Berlin\")")
    due_table = doc.get("due", {})
    if not isinstance(due_table, dict):
        raise DeadlineError(f"{where}due: expected a table [due] of part = date lines")
    due = {}
    for part, value in due_table.items():
        if part not in parts:
            raise DeadlineError(f"{where}due.{part}: unknown part; the graded parts are {', '.join(parts)}")
        due[part] = parse_time(value, tz, f"{where}due.{part}")
    late = doc.get("late", {})
    if not isinstance(late, dict):
        raise DeadlineError(f"{where}late: expected a table [late]")
    bad = sorted(set(late) - {"policy", "grace_minutes", "percent_per_day", "cutoff_days"})
    if bad:
        raise DeadlineError(f"{where}late.{bad[0]}: unknown setting; expected policy, grace_minutes, "
                            "percent_per_day, cutoff_days")
    kind = late.get("policy", "none")
    if kind not in POLICIES:
        raise DeadlineError(f"{where}late.policy: {kind!r} is not a policy; expected one of {', '.join(POLICIES)}")
    policy = LatePolicy(kind, _number(late, "grace_minutes", f"{where}late.", 0.0),
                        _number(late, "percent_per_day", f"{where}late.", 0.0, top=100.0),
                        _number(late, "cutoff_days", f"{where}late.", None))
    return Deadlines(path, due, policy, tz)


def assess(policy: LatePolicy, due: datetime | None, submitted: datetime | None, *,
           marked_late: bool = False) -> Late:
    """How late, and the penalty in percent. ``marked_late``: the LMS says late (Canvas's
    ``_LATE_``) though the time known is not after the due date; counted as one day late."""
    if due is None:
        return Late(submitted, None, 0.0, 0, 0.0, "no due date for this part")
    if submitted is None:
        return Late(None, due, 0.0, 0, 0.0, "no submission time known: counted as on time")
    seconds = max(0.0, (submitted - due).total_seconds())
    note = ""
    if marked_late and seconds <= policy.grace_minutes * 60:
        seconds, note = policy.grace_minutes * 60 + 1, "the LMS marks it late; its time is not after the due date"
    if seconds <= policy.grace_minutes * 60:
        return Late(submitted, due, seconds, 0, 0.0, note or ("within the grace period" if seconds else ""))
    days = math.ceil(seconds / DAY_S)
    if policy.kind == "none":
        return Late(submitted, due, seconds, days, 0.0, note or "late; the policy takes no points")
    if policy.cutoff_days is not None and seconds > policy.cutoff_days * DAY_S:
        return Late(submitted, due, seconds, days, 100.0,
                    (note + "; " if note else "") + f"after the cut-off ({policy.cutoff_days:g} days): 0 points")
    return Late(submitted, due, seconds, days, min(100.0, days * policy.percent_per_day), note)


def after_penalty(score: float, late: Late) -> float:
    return score * (1.0 - late.percent / 100.0)


def utc(dt: datetime) -> str:
    return dt.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")


def days_words(late: Late) -> str:
    if late.submitted is None or late.due is None:
        return "-"
    if not late.days:
        return "on time"
    return f"{late.days} day{'s' if late.days != 1 else ''} late ({timedelta(seconds=round(late.seconds_late))})"
