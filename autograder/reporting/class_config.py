"""How a class's gradebook is organised: ``OUT/class.toml`` (optional). Example::

    assignments = "notebook"        # one LMS assignment per notebook (the default), or "part"

    [lms.columns]                   # the gradebook column each assignment goes to (optional)
    "03_sequence_representations" = "Notebook 03 (88001)"
    "04_masked_lm_pretraining" = "Pre-training (88002)"

- ``assignments = "notebook"``: each notebook is graded as an assignment of its own. A
  student who hands in some notebooks of a part is not charged for the others: a notebook
  not handed in has no grade (an empty cell in ``totals.csv`` and the LMS export), and is
  listed as missing work only when someone else in the run handed it in.
- ``assignments = "part"``: each part is one assignment; a notebook of a part handed in
  without the others scores 0 for those (the part's maximum counts them).
- ``[lms.columns]``: for the LMS export (:mod:`autograder.reporting.lms_export`), the column
  of the roster (the gradebook exported from the LMS, with Canvas's assignment ids) that
  an assignment's points go to. Assignments not named here are matched to a roster column
  by name or number (a column named ``Notebook 03 (88001)`` or ``03 Sequences (88001)`` takes
  notebook 03; ``Part 1 (4711)`` takes part 1); what cannot be matched is listed.

A malformed file stops grading with :class:`ClassConfigError`, naming the file and field.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from .results import Row

try:
    import tomllib
except ModuleNotFoundError:             # Python 3.10
    import tomli as tomllib

UNITS = ("notebook", "part")
FILE_NAME = "class.toml"


class ClassConfigError(ValueError):
    """A class file that cannot be used, with the file and the field."""


@dataclass
class ClassConfig:
    path: Path | None = None
    assignments: str = "notebook"                            # "notebook" or "part": one LMS assignment each
    columns: dict[str, str] = field(default_factory=dict)    # notebook or part -> LMS gradebook column

    def unit(self, row: Row) -> str:
        """The assignment a row's points count towards."""
        return row.notebook if self.assignments == "notebook" else row.part

    @property
    def charges_missing(self) -> bool:
        return self.assignments == "part"


def load(out: Path, known: list[str] | None = None, path: Path | None = None) -> ClassConfig:
    """``path`` or else ``OUT/class.toml``; the defaults when neither exists. ``known``: the
    course's notebooks and parts, to refuse a column mapping for a name that is neither."""
    path = Path(path) if path else Path(out) / FILE_NAME
    if not path.is_file():
        return ClassConfig()
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as err:
        raise ClassConfigError(f"{path}: cannot be read ({err})") from None
    except tomllib.TOMLDecodeError as err:
        raise ClassConfigError(f"{path}: not valid TOML ({err})") from None
    unknown = sorted(set(data) - {"assignments", "lms"})
    if unknown:
        raise ClassConfigError(f"{path}: unknown setting(s) {', '.join(unknown)}; expected assignments, [lms]")
    unit = data.get("assignments", "notebook")
    if unit not in UNITS:
        raise ClassConfigError(f'{path}: assignments: {unit!r} is not one of "notebook", "part"')
    lms = data.get("lms", {})
    if not isinstance(lms, dict) or set(lms) - {"columns"}:
        raise ClassConfigError(f"{path}: lms: expected only a table [lms.columns] of assignment = \"column\" lines")
    columns = lms.get("columns", {})
    if not isinstance(columns, dict) or not all(isinstance(v, str) and v.strip() for v in columns.values()):
        raise ClassConfigError(f"{path}: lms.columns: expected lines like "
                               f'"03_sequence_representations" = "Notebook 03 (88001)"')
    if known is not None:
        bad = [k for k in columns if k not in known]
        if bad:
            raise ClassConfigError(f"{path}: lms.columns.{bad[0]}: not a notebook or part of this course "
                                   f"(those are: {', '.join(known)})")
    return ClassConfig(path, unit, {k: v.strip() for k, v in columns.items()})


def settle_missing(rows: list[Row], problems: list, config: ClassConfig) -> tuple[list[Row], list]:
    """Apply the class's unit to the notebooks not handed in. One assignment per part:
    unchanged (they cost their points). One per notebook: their questions are worth
    nothing for that student (``max_score`` 0, so no total or percentage counts them), and
    the "missing" problem costs nothing and is dropped where nobody in the run handed
    that notebook in (an export of some of the class's assignments)."""
    if config.charges_missing:
        return rows, problems
    handed = {r.notebook for r in rows if r.status != "missing"}
    rows = [Row(r.student, r.part, r.notebook, r.grade_id, r.score, 0.0, r.status, r.detail, r.comment)
            if r.status == "missing" else r for r in rows]
    kept = []
    for p in problems:
        if p.kind == "missing":
            if p.notebook not in handed:
                continue
            p.cost, p.questions = 0.0, ()
            p.what = ("not handed in: no grade for this notebook's assignment (each notebook is an "
                      "assignment of its own; class.toml)")
        kept.append(p)
    return rows, kept


def handed_in_units(rows: list[Row], config: ClassConfig) -> dict[str, set[str]]:
    """``{student: the assignments that count for them}``: those with something handed in,
    and with one assignment per part also those with nothing (they cost their points). The
    others get an empty cell."""
    out: dict = {}
    for r in rows:
        out.setdefault(r.student, set())
        if r.status != "missing" or config.charges_missing:
            out[r.student].add(config.unit(r))
    return out


def number_of(name: str) -> int | None:
    """The number a notebook or part name carries: 03_sequence_representations -> 3,
    part1_representations -> 1."""
    m = re.match(r"(?:part)?(\d+)", name)
    return int(m.group(1)) if m else None


def column_number(column: str) -> tuple[str, int] | None:
    """(what, number) a gradebook column names, its id in brackets left out: "Notebook 03
    (88001)" -> ("notebook", 3), "03 Sequences (88001)" -> ("notebook", 3) (a leading
    number), "Part 1 (4711)" -> ("part", 1), "Quiz 1 (1201)" -> ("", 1): something else.
    None without exactly one number."""
    text = re.sub(r"\(\s*\d+\s*\)\s*$", "", column).strip().lower()
    numbers = re.findall(r"\d+", text)
    if len(numbers) != 1:
        return None
    kind = ("notebook" if re.search(r"\b(notebook|nb|lab)s?\b", text) or re.match(r"\d", text) else
            "part" if re.search(r"\b(part|unit|module)s?\b", text) else "")
    return kind, int(numbers[0])


def assignment_units(config: ClassConfig, parts: list[str], notebooks: dict[str, list[str]],
                     rows: list[Row]) -> tuple[list[str], list[str]]:
    """(the assignments of this run, the notebooks its report shows), in course order: with
    one assignment per part, the parts and all their notebooks; with one per notebook, the
    notebooks someone in the run handed in."""
    every = [nb for a in parts for nb in notebooks[a]]
    if config.charges_missing:
        return parts, every
    handed = {r.notebook for r in rows if r.status != "missing"}
    shown = [nb for nb in every if nb in handed]
    return shown, shown


def describe(config: ClassConfig) -> str:
    """One line for the report's header."""
    where = f" ({config.path.name})" if config.path else " (the default; class.toml sets it)"
    return ("one per notebook: a notebook not handed in is not charged" if config.assignments == "notebook"
            else "one per part: a notebook of a part not handed in scores 0") + where
