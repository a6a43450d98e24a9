"""The verdict of a test cell, decided in the grader from plain data.

The student's kernel ran the test's *student probe* and reported, for each check, the
value under test (and an expected value only where it depends on the student's own
results); the reference run reported the same checks of the instructor's solution with
their expected values, tolerances, names, rules and hints (``autograder/course/probes.py``).
:func:`judge` pairs the two reports check by check and applies the same rules the
visible tests use (:mod:`encoder_lib.checks.rules`). Nothing the student's process
computed about pass or fail is used: a test passes when every check the reference run
made was reported and holds, and the cell raised no error.

Messages for a student never quote the hidden tests: a failing hidden check says only
which rule it tries (the ``rule=`` text written for students, or a constant assertion
message such as "Quiz 1: not the right answer."), and an error in a hidden check only
the exception's class.
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import Any

from encoder_lib.checks import rules
from encoder_lib.checks.plain import Raised, TensorData, from_json, to_json

from ..course.probes import Probes, Site
from .recorded import RunRecords

#: Exception classes whose names a hidden-test message may show.
KNOWN_ERRORS = re.compile(r"^[A-Z][A-Za-z]*(Error|Exception|Interrupt|Exit|Stopped|Iteration)$")
HIDDEN = "a hidden check (more inputs of the rules the visible test states)"
#: The longest error message of a visible check shown to a student (characters).
MAX_ERROR = 2000


@dataclass
class Verdict:
    passed: bool
    message: str = ""                               # what the student reads
    detail: str = ""                                # for the instructor (may quote hidden tests)
    flags: list[str] = field(default_factory=list)  # what a person should look at
    ename: str = "AssertionError"                   # the error a failing test shows (the cell's own if it raised)
    notes: list[str] = field(default_factory=list)  # said to the student whether it passed or not


def _decode(obj: Any) -> Any:
    return from_json(obj)


def _param(ref: dict | None, name: str, default: Any = None) -> Any:
    if not ref or "params" not in ref or name not in ref["params"]:
        return default
    try:
        return _decode(ref["params"][name])
    except ValueError:
        return default


def _inputs_match(ref: dict, got: dict) -> bool:
    a, b = ref.get("inputs"), got.get("inputs")
    if a is None or b is None:
        return True
    return all(_fp_close(a.get(k), b.get(k)) for k in set(a) & set(b))


def _fp_close(a: Any, b: Any) -> bool:
    if a is None or b is None or a == ["missing"] or b == ["missing"]:
        return True
    if a == b:
        return True
    if isinstance(a, list) and isinstance(b, list) and a and b and a[0] == b[0]:
        if a[0] == "tensor":
            if a[1:3] != b[1:3]:
                return False
            return all(math.isclose(x, y, rel_tol=1e-4, abs_tol=1e-4 * max(1.0, abs(a[4])))
                       for x, y in zip(a[3:], b[3:]))
        if a[0] in ("seq",):
            return len(a[1]) == len(b[1]) and all(_fp_close(x, y) for x, y in zip(a[1], b[1]))
        if a[0] == "dict":
            return len(a[1]) == len(b[1]) and all(x[0] == y[0] and _fp_close(x[1], y[1])
                                                  for x, y in zip(a[1], b[1]))
    return False


def _one(site: Site, ref: dict, got: dict) -> str | None:
    """The failure message of one check (None when it holds)."""
    if site.stripped:
        # the expected side comes from the reference run only: a report that brings its own
        # expected value, right-hand side or tolerance for such a check is not listened to
        got = {k: v for k, v in got.items() if k not in ("expected", "right", "tolerance")}
    kind = site.kind
    if kind in ("compare", "truth"):
        left = got.get("left", {})
        if "error" in left:
            err = _decode(left["error"])
            return f"the check raised {err.type_name if isinstance(err, Raised) else 'an error'}"
        value = _decode(left.get("value"))
        if kind == "truth":
            return None if value is True else "not true"
        right_rec = got.get("right") if "right" in got else ref.get("right")
        if right_rec is None or "error" in right_rec:
            return "the comparison could not be made"
        right = _decode(right_rec.get("value"))
        if site.op.startswith("near"):
            tol_rec = got.get("tolerance") if "tolerance" in got else ref.get("tolerance")
            if tol_rec is None or "error" in tol_rec:
                return "the comparison could not be made"
            tol = _decode(tol_rec.get("value"))
            if rules.near(value, right, tol, site.op[4:]):
                return None
            return f"{rules.show(value)} is not within {rules.show(tol)} of the expected value"
        return None if rules.compare(site.op, value, right) else f"{rules.show(value)} {site.op} {rules.show(right)} does not hold"
    value = _decode(got.get("got"))
    expected = _decode(got["expected"]) if "expected" in got else (
        _decode(ref["expected"]) if "expected" in ref else None)
    name = _param(ref, "name", "the value")
    hint, rule = _param(ref, "hint"), _param(ref, "rule")
    if kind == "check_raises":
        return rules.check_raises(_param(ref, "call", "the call"), value, _param(ref, "exception"), hint, rule)
    if kind == "check_type":
        return rules.check_type(name, value, expected, hint)
    if kind == "check_shape":
        return rules.check_shape(name, value, expected, hint)
    if kind == "check_dtype":
        return rules.check_dtype(name, value, expected, hint)
    if kind == "check_finite":
        return rules.check_finite(name, value, hint, rule)
    if kind == "check_close":
        return rules.check_close(name, value, expected, _param(ref, "atol", 1e-5), _param(ref, "rtol", 1e-4),
                                 hint, rule)
    if kind == "check_sequence":
        return rules.check_sequence(name, value, expected, hint, rule)
    if kind == "check_choice":
        return rules.check_choice(name, value, expected, hint)
    if kind == "check_argmax":
        return rules.check_argmax(name, value, expected, _param(ref, "atol", 0.0), hint, rule)
    return f"unknown check {kind}"


def _student_message(site: Site, got: dict, failure: str, ref: dict, in_hidden: bool = False) -> str:
    """What the student reads about a failing check (``in_hidden``: reported while the hidden
    part ran, whatever site it names: nothing the kernel said then is shown)."""
    hidden = site.hidden or in_hidden
    if site.kind in ("compare", "truth"):
        if hidden:
            return site.message or f"{HIDDEN} failed."
        return got.get("message") or site.message or f"An assertion of the test failed: {failure}."
    if hidden:
        rule = _param(ref, "rule")
        return f"{HIDDEN} failed." + (f"\nRule: {rule}" if rule else "")
    return failure


def quotes_hidden(message: str, hidden_literals: list[str]) -> bool:
    """Whether ``message`` (built from what the student's kernel reported) quotes a
    constant of the hidden tests."""
    return any(lit in message for lit in hidden_literals)


def _error_message(error: dict, hidden: bool) -> str:
    ename, evalue = str(error.get("ename", "Exception")), str(error.get("evalue", ""))
    if ename == "NotImplementedError" and error.get("exercise"):
        return (f"{error['exercise']} is not answered yet: this test calls it, and it still raises "
                "NotImplementedError. Answer that exercise first.")
    if not hidden:
        if len(evalue) > MAX_ERROR:
            evalue = evalue[:MAX_ERROR] + " [...]"
        return f"{ename}: {evalue}" if evalue else ename
    inner = re.search(r" raised ([A-Za-z_][A-Za-z0-9_]*): ", evalue)
    name = inner.group(1) if inner else ename
    if not KNOWN_ERRORS.match(name):
        name = "an exception"
    return (f"Your code raised {name} in {HIDDEN}. Try your function on more inputs of your own, "
            "like the ones the visible test uses.")


def _from_the_students_run(site: Site, ref: dict, rec: dict,
                           records: RunRecords | None) -> tuple[dict, dict, str]:
    """A check of a run-dependent answer (``check_argmax(..., record=...)``) compares it with
    what the student's own run recorded in the submitted notebook, read by the grader
    (:mod:`autograder.sandbox.recorded`), not with the run made while grading. Returns the
    reference and student reports to judge, and a note for the student ("" when the recorded
    run was used)."""
    record = _param(ref, "record") if site.kind == "check_argmax" else None
    if not record or records is None:                # the reference run: its own run is the one
        return ref, rec, ""
    name = str(_param(ref, "name", "the answer"))
    key = str(record).split("/")[0]
    if name in records.computed.get(key, set()):
        return ref, rec, (f"{name} is computed from {key} in your notebook, so it was compared with the run "
                          "made while grading (with smaller settings than yours).")
    found, value = records.lookup(str(record))
    if not found:
        return ref, rec, (f"Your notebook holds no recorded {key} (a course cell records it when it runs), so "
                          f"{name} was compared with the run made while grading, with smaller settings than yours: "
                          "run the whole notebook before you hand it in.")
    recorded = to_json(value)
    return {**ref, "expected": recorded}, {**rec, "expected": recorded}, ""


def judge(probes: Probes, reference: list[dict], student: list[dict], error: dict | None,
          token: str, records: RunRecords | None = None, hidden_literals: list[str] | None = None) -> Verdict:
    """The verdict of one test cell: ``reference`` and ``student`` are the cells' reports
    in order, ``error`` the error the student's cell ended with (ename, evalue) or None,
    ``records`` what the student's own run recorded in the submitted notebook (None in the
    reference run), ``hidden_literals`` the constants no message may quote (the whole
    notebook's hidden tests; by default this cell's)."""
    flags: list[str] = []
    notes: list[str] = []
    literals = probes.hidden_literals if hidden_literals is None else hidden_literals
    ref_by: dict[int, list[dict]] = {}
    for r in reference:
        if "site" in r:
            ref_by.setdefault(int(r["site"]), []).append(r)
    seen: dict[int, int] = {}
    hidden_phase = False
    forged = 0
    for rec in student:
        if rec.get("token") != token:
            forged += 1
            continue
        if "phase" in rec:
            hidden_phase = rec["phase"] == "hidden"
            continue
        try:
            k = int(rec["site"])
            site = probes.sites[k]
        except (KeyError, ValueError, TypeError):
            forged += 1
            continue
        j = seen.get(k, 0)
        seen[k] = j + 1
        refs = ref_by.get(k, [])
        if j >= len(refs):
            # more reports of this check than the instructor's solution made: code run during the
            # test reported for it (forged reports come first, so none of them can be trusted)
            flags.append(f"check {k} (line {site.line}) reported {j + 1} times or more, the reference run "
                         f"{len(refs)} times: reports added by the code the test called?")
            return Verdict(False, "This test made more checks than it does with the instructor's solution (did "
                                  "your function return more items than asked for, or run a check itself?). "
                                  "Your instructor will look at it.", f"extra reports at site {k}", flags)
        ref = refs[j]
        if site.stripped and not _inputs_match(ref, rec):
            flags.append(f"check {k} (line {site.line}) was given other inputs than in the reference run, so it "
                         "could not be judged")
            return Verdict(False, "This check could not be judged: your notebook gave it other inputs than the "
                                  "instructor's solution did (for example a random draw made in another order). "
                                  "Your instructor will look at it.", f"inputs differ at site {k}", flags)
        ref, rec, note = _from_the_students_run(site, ref, rec, records)
        if note and note not in notes:
            notes.append(note)
        try:
            failure = _one(site, ref, rec)
        except (ValueError, KeyError, TypeError) as err:
            failure = f"the value reported for this check could not be read ({type(err).__name__})"
            flags.append(f"check {k}: an unreadable report ({err})")
        if failure is not None:
            if forged:
                flags.append(f"{forged} report(s) that the grader did not ask for")
            message = _student_message(site, rec, failure, ref, hidden_phase)
            if quotes_hidden(message, literals):
                message = f"The check on line {site.line} of the test failed (the values are not shown: " \
                          "they would quote the hidden tests)."
            return Verdict(False, message, f"site {k} (line {site.line}): {failure}", flags, notes=notes)
    if forged:
        flags.append(f"{forged} report(s) that the grader did not ask for (forged or replayed)")
    missing = [(k, len(refs) - seen.get(k, 0)) for k, refs in ref_by.items() if seen.get(k, 0) < len(refs)]
    if error is not None:
        message = _error_message(error, hidden_phase)
        if quotes_hidden(message, literals):
            message = (f"Your code raised {error.get('ename') or 'an exception'} in this test (its message is not "
                       "shown: it quotes the hidden tests).")
            flags.append("the error message of the student's code quotes the hidden tests")
        return Verdict(False, message, f"{error.get('ename')}: {error.get('evalue')}",
                       flags, str(error.get("ename") or "Exception"), notes)
    if missing:
        k = min(k for k, _ in missing)
        site = probes.sites.get(k)
        where = HIDDEN if site is None or site.hidden else f"the check on line {site.line} of the test"
        return Verdict(False, f"The test did not reach every check: {where} never ran (did a loop over your "
                              "results run fewer times than expected, or was a check replaced?).",
                       f"missing reports: {missing}", flags, notes=notes)
    return Verdict(True, "", "", flags, notes=notes)
