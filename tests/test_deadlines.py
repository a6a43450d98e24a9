"""Due dates and late penalties: the policy's arithmetic, the deadlines file's errors,
submission times from a Canvas-named zip and from the instructor's CSV, and one small
late submission graded end to end (totals, report, late.csv and nbgrader's export)."""
from __future__ import annotations

import csv
import os
import subprocess
import sys
import zipfile
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from autograder.course.cohort import submission, to_bytes
from autograder.course.course import REPO_ROOT
from autograder.course.deadlines import DeadlineError, LatePolicy, after_penalty, assess, load
from autograder.intake.intake import collect
from autograder.intake.submission_times import from_csv, from_intake

PARTS = ["part1_representations", "part2_pretraining"]
DUE = datetime(2026, 10, 12, 21, 59, tzinfo=timezone.utc)
POLICY = LatePolicy("per_day", grace_minutes=15, percent_per_day=10, cutoff_days=7)


def late_by(**kw) -> datetime:
    return DUE + timedelta(**kw)


# ---------------------------------------------------------------- the arithmetic

@pytest.mark.parametrize("delay, days, percent", [
    (dict(seconds=-3600), 0, 0),                 # early
    (dict(), 0, 0),                              # exactly at the due time
    (dict(minutes=15), 0, 0),                    # the last second of the grace period
    (dict(minutes=15, seconds=1), 1, 10),        # one second after it: a day late
    (dict(hours=24), 1, 10),                     # exactly one day
    (dict(hours=24, seconds=1), 2, 20),          # days round up
    (dict(days=6, hours=23), 7, 70),
    (dict(days=7), 7, 70),                       # the cut-off itself is still counted by days
    (dict(days=7, seconds=1), 8, 100),           # after the cut-off: nothing left
])
def test_penalty_grace_period_days_rounded_up_and_cutoff(delay, days, percent):
    late = assess(POLICY, DUE, late_by(**delay))
    assert (late.days, late.percent) == (days, percent)
    assert after_penalty(20.0, late) == pytest.approx(20.0 * (100 - percent) / 100)


def test_penalty_is_capped_at_everything_and_none_policy_takes_nothing():
    steep = LatePolicy("per_day", percent_per_day=40)
    assert assess(steep, DUE, late_by(days=3)).percent == 100
    free = assess(LatePolicy("none"), DUE, late_by(days=3))
    assert (free.days, free.percent) == (3, 0)


def test_unknown_time_or_due_date_costs_nothing_and_says_why():
    assert assess(POLICY, DUE, None).percent == 0 and "no submission time" in assess(POLICY, DUE, None).note
    assert assess(POLICY, None, late_by(days=3)).percent == 0


def test_a_file_the_lms_marks_late_is_late_even_if_its_time_is_not():
    late = assess(POLICY, DUE, late_by(minutes=-5), marked_late=True)
    assert (late.days, late.percent) == (1, 10) and "marks it late" in late.note


# ---------------------------------------------------------- the deadlines file

def write(tmp_path: Path, text: str) -> Path:
    p = tmp_path / "deadlines.toml"
    p.write_text(text, encoding="utf-8")
    return p


def test_deadlines_file_reads_dates_in_its_time_zone(tmp_path):
    d = load(write(tmp_path, 'timezone = "Europe/Berlin"\n[due]\npart1_representations = 2026-10-12T23:59:00\n'
                             'part2_pretraining = "2026-10-26 23:59+00:00"\n[late]\npolicy = "per_day"\n'
                             "grace_minutes = 15\npercent_per_day = 10\ncutoff_days = 7\n"), PARTS)
    assert d.due["part1_representations"] == DUE                # 23:59 CEST is 21:59 UTC
    assert d.due["part2_pretraining"] == datetime(2026, 10, 26, 23, 59, tzinfo=timezone.utc)
    assert d.policy == POLICY


@pytest.mark.parametrize("text, field", [
    ('[due]\npart9_nothing = 2026-10-12T23:59:00\n', "due.part9_nothing: unknown part"),
    ('[due]\npart1_representations = "next friday"\n', "due.part1_representations: 'next friday' is not a date"),
    ('[due]\npart1_representations = 12\n', "due.part1_representations: expected a date"),
    ('[late]\npolicy = "per_day"\npercent_per_day = -5\n', "late.percent_per_day: must not be negative"),
    ('[late]\npercent_per_day = 150\n', "late.percent_per_day: must be at most 100"),
    ('[late]\ngrace_minutes = "ten"\n', "late.grace_minutes: expected a number"),
    ('[late]\npolicy = "half"\n', "late.policy: 'half' is not a policy"),
    ('[late]\npenalty = 3\n', "late.penalty: unknown setting"),
    ('timezone = "Mars/Olympus"\n', "timezone: 'Mars/Olympus' is not a time zone"),
    ('[due\n', "not valid TOML"),
])
def test_malformed_deadlines_name_the_file_and_the_field(tmp_path, text, field):
    path = write(tmp_path, text)
    with pytest.raises(DeadlineError) as err:
        load(path, PARTS)
    assert str(path) in str(err.value) and field in str(err.value), str(err.value)


# ------------------------------------------------------------- submission times

NB1 = "01_tokens_to_vectors"
NOTEBOOKS = {NB1: "part1_representations", "02_self_attention": "part1_representations"}


def test_times_from_a_canvas_zip_use_entry_times_in_the_course_zone_and_the_late_mark(tmp_path):
    zpath = tmp_path / "submissions.zip"
    with zipfile.ZipFile(zpath, "w") as z:
        for prefix, nb, when in [("smithjane_LATE_12345_678_", NB1, (2026, 10, 12, 23, 50, 0)),
                                 ("doejohn_23456_679_", NB1, (2026, 10, 11, 10, 0, 0)),
                                 ("doejohn_23456_680_", "02_self_attention", (2026, 10, 13, 9, 30, 0))]:
            z.writestr(zipfile.ZipInfo(f"{prefix}{nb}.ipynb", date_time=when),
                       to_bytes(submission("part1_representations", nb, set())))
    from zoneinfo import ZoneInfo
    stamps = from_intake(collect(zpath, NOTEBOOKS), ZoneInfo("Europe/Berlin"))
    jane = stamps[("smithjane", "part1_representations")]
    assert jane.marked_late and jane.source == "zip"
    assert jane.time == datetime(2026, 10, 12, 21, 50, tzinfo=timezone.utc)
    john = stamps[("doejohn", "part1_representations")]   # the later of his two notebooks
    assert not john.marked_late and john.time == datetime(2026, 10, 13, 7, 30, tzinfo=timezone.utc)
    # jane's zip time is before the due date, but Canvas marks the file late
    assert assess(POLICY, DUE, jane.time, marked_late=jane.marked_late).days == 1


def test_a_folder_gives_no_times(tmp_path):
    (tmp_path / "ada").mkdir()
    (tmp_path / "ada" / f"{NB1}.ipynb").write_bytes(to_bytes(submission("part1_representations", NB1, set())))
    assert from_intake(collect(tmp_path, NOTEBOOKS), timezone.utc) == {}


def test_times_from_the_instructors_csv(tmp_path):
    p = tmp_path / "times.csv"
    p.write_text("student,part,submitted_at\nada,part1_representations,2026-10-13 09:00\n"
                 "ada,part1_representations,2026-10-12T20:00:00+00:00\n"
                 "ben,part2_pretraining,2026-10-20T10:00:00Z\n", encoding="utf-8")
    stamps = from_csv(p, PARTS, timezone(timedelta(hours=2)))
    assert stamps[("ada", "part1_representations")].time == datetime(2026, 10, 13, 7, 0, tzinfo=timezone.utc)
    assert stamps[("ben", "part2_pretraining")].time == datetime(2026, 10, 20, 10, 0, tzinfo=timezone.utc)
    assert stamps[("ben", "part2_pretraining")].source == "csv"


@pytest.mark.parametrize("body, field", [
    ("student,part,when\nada,part1_representations,2026-10-13\n", "missing column(s) submitted_at"),
    ("student,part,submitted_at\nada,part7,2026-10-13\n", "line 2, part: 'part7' is not a graded part"),
    ("student,part,submitted_at\nada,part1_representations,yesterday\n", "line 2, submitted_at: 'yesterday'"),
])
def test_a_malformed_times_csv_names_the_file_line_and_field(tmp_path, body, field):
    p = tmp_path / "times.csv"
    p.write_text(body, encoding="utf-8")
    with pytest.raises(DeadlineError) as err:
        from_csv(p, PARTS, timezone.utc)
    assert str(p) in str(err.value) and field in str(err.value), str(err.value)


# ------------------------------------------------------------------ end to end

def grade(*args: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}")
    return subprocess.run([sys.executable, "-m", "autograder.grade", *args, "--no-progress", "--quiet"],
                          cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=900)


def test_a_malformed_deadlines_file_stops_grading_before_it_starts(tmp_path):
    bad = write(tmp_path, '[late]\npercent_per_day = -1\n')
    (tmp_path / "subs" / "ada").mkdir(parents=True)
    proc = grade(str(tmp_path / "subs"), "--out", str(tmp_path / "out"), "--deadlines", str(bad))
    assert proc.returncode == 2 and f"{bad}: late.percent_per_day: must not be negative" in proc.stderr


@pytest.mark.slow
def test_a_late_zip_submission_is_penalised_in_totals_report_and_nbgrader_export(tmp_path):
    zpath = tmp_path / "canvas.zip"
    nb = to_bytes(submission("part1_representations", NB1))            # every answer right
    with zipfile.ZipFile(zpath, "w") as z:   # zip times: Berlin local time (the LMS's)
        z.writestr(zipfile.ZipInfo(f"ontimeann_1_1_{NB1}.ipynb", date_time=(2026, 10, 12, 22, 0, 0)), nb)
        z.writestr(zipfile.ZipInfo(f"latebob_LATE_2_2_{NB1}.ipynb", date_time=(2026, 10, 14, 9, 0, 0)), nb)
    out = tmp_path / "out"
    out.mkdir()
    (out / "deadlines.toml").write_text(
        'timezone = "Europe/Berlin"\n[due]\npart1_representations = 2026-10-12T23:59:00\n'
        '[late]\npolicy = "per_day"\ngrace_minutes = 15\npercent_per_day = 10\ncutoff_days = 7\n')
    proc = grade(str(zpath), "--out", str(out), "--workers", "2", "--assignments", "part1_representations")
    assert proc.returncode == 0, proc.stderr[-3000:]
    with open(out / "totals.csv", newline="") as f:
        totals = {r["student"]: r for r in csv.DictReader(f)}
    ann, bob = totals["ontimeann"], totals["latebob"]
    raw = float(bob["total"])
    assert raw > 0 and raw == float(ann["total"])
    # 09:00 Berlin on the 14th is 1 day 9 hours after 23:59 on the 12th: 2 days, 20 %
    # one assignment per notebook (the default): the notebook's columns, its part's lateness
    assert bob[f"{NB1}_days_late"] == "2" and ann[f"{NB1}_days_late"] == "0"
    assert float(bob["total_after_penalty"]) == pytest.approx(0.8 * raw)
    assert float(bob["late_penalty"]) == pytest.approx(0.2 * raw)
    assert float(ann["total_after_penalty"]) == raw
    report = (out / "report.txt").read_text()
    assert "LATE SUBMISSIONS" in report and "latebob / part1_representations" in report and "-20 %" in report
    with open(out / "late.csv", newline="") as f:
        late = {r["student"]: r for r in csv.DictReader(f)}
    assert late["latebob"]["submitted_at"] == "2026-10-14 07:00:00 UTC" and late["latebob"]["time_from"] == "zip"
    html = (out / "report.html").read_text()
    assert "Late: <b>latebob</b>" in html

    # nbgrader's own export reads the same times and penalty from the gradebook
    env = dict(os.environ, PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}")
    exp = subprocess.run([str(Path(sys.executable).parent / "nbgrader"), "export", "--to", str(tmp_path / "x.csv"),
                          f"--CourseDirectory.root={out}",
                          f"--CourseDirectory.db_url=sqlite:///{out / 'gradebook.db'}"],
                         cwd=out, env=env, capture_output=True, text=True, timeout=300)
    assert exp.returncode == 0, exp.stderr[-2000:]
    with open(tmp_path / "x.csv", newline="") as f:
        rows = {r["student_id"]: r for r in csv.DictReader(f) if r["assignment"] == "part1_representations"}
    assert rows["latebob"]["timestamp"].startswith("2026-10-14 07:00:00")
    assert rows["latebob"]["duedate"].startswith("2026-10-12 21:59:00")
    assert float(rows["latebob"]["score"]) == pytest.approx(float(bob["total_after_penalty"]))
    assert float(rows["latebob"]["raw_score"]) == pytest.approx(raw)
    assert float(rows["ontimeann"]["late_submission_penalty"]) == 0


def test_shards_graded_without_due_dates_are_judged_late_when_combined(tmp_path):
    """Each shard keeps the zip times it read; combine applies OUT/deadlines.toml to them."""
    zpath = tmp_path / "canvas.zip"
    nb = to_bytes(submission("part1_representations", NB1))
    with zipfile.ZipFile(zpath, "w") as z:
        z.writestr(zipfile.ZipInfo(f"ontimeann_1_1_{NB1}.ipynb", date_time=(2026, 10, 12, 22, 0, 0)), nb)
        z.writestr(zipfile.ZipInfo(f"latebob_2_2_{NB1}.ipynb", date_time=(2026, 10, 14, 9, 0, 0)), nb)
    shards = [tmp_path / "shard1", tmp_path / "shard2"]
    for i, shard in enumerate(shards, 1):
        proc = grade(str(zpath), "--out", str(shard), "--workers", "1", "--assignments", "part1_representations",
                     "--shard", f"{i}/2")
        assert proc.returncode == 0, proc.stderr[-3000:]
        assert not (shard / "late.csv").exists()           # no due dates while grading
    combined = tmp_path / "combined"
    combined.mkdir()
    (combined / "deadlines.toml").write_text(
        'timezone = "Europe/Berlin"\n[due]\npart1_representations = 2026-10-12T23:59:00\n'
        '[late]\npolicy = "per_day"\ngrace_minutes = 15\npercent_per_day = 10\ncutoff_days = 7\n')
    env = dict(os.environ, PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}")
    proc = subprocess.run([sys.executable, "-m", "autograder.reporting.combine", "--out", str(combined), "--quiet",
                           *map(str, shards)], cwd=REPO_ROOT, env=env, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr[-3000:]
    with open(combined / "totals.csv", newline="") as f:
        totals = {r["student"]: r for r in csv.DictReader(f)}
    bob, ann = totals["latebob"], totals["ontimeann"]
    assert bob[f"{NB1}_days_late"] == "2" and ann[f"{NB1}_days_late"] == "0"
    assert float(bob["total_after_penalty"]) == pytest.approx(0.8 * float(bob["total"]))
    with open(combined / "late.csv", newline="") as f:
        assert {r["student"]: r["submitted_at"] for r in csv.DictReader(f)}["latebob"] == "2026-10-14 07:00:00 UTC"
    assert "LATE SUBMISSIONS" in (combined / "report.txt").read_text()

    bad = tmp_path / "bad.toml"
    bad.write_text('timezone = "Europe/Berlin"\n[late]\npolicy = "per_day"\npercent_per_day = -5\n')
    proc = subprocess.run([sys.executable, "-m", "autograder.reporting.combine", "--out", str(tmp_path / "c2"),
                           "--deadlines", str(bad), *map(str, shards)], cwd=REPO_ROOT, env=env,
                          capture_output=True, text=True)
    assert proc.returncode == 2 and "percent_per_day" in proc.stderr and "Traceback" not in proc.stderr


def test_lms_export_sends_points_after_the_late_penalty_unless_raw(tmp_path, capsys):
    from autograder.reporting.lms_export import main as lms_export
    from autograder.reporting.merge import GRADES_COLUMNS

    (tmp_path / "grades.csv").write_text(
        ",".join(GRADES_COLUMNS) + "\n" + "ann,part1_representations,01_nb,q1,8,10,partial,\n"
        "bob,part1_representations,01_nb,q1,10,10,passed,\n", encoding="utf-8")
    from autograder.reporting.late import LATE_COLUMNS
    (tmp_path / "late.csv").write_text(
        ",".join(LATE_COLUMNS) + "\n"
        "ann,part1_representations,,,,0,0,8,0,8,\n"
        "bob,part1_representations,2026-10-14 07:00:00 UTC,2026-10-12 21:59:00 UTC,zip,2,20,10,2,8,\n",
        encoding="utf-8")

    def exported(*extra):
        assert lms_export(["canvas", "--out", str(tmp_path), *extra]) == 0
        with open(tmp_path / "canvas_import.csv", newline="") as f:
            return {r["Student"]: r["01_nb"] for r in csv.DictReader(f)}

    after = exported()      # one assignment per notebook (the default): the notebook takes its part's penalty
    assert (after["ann"], after["bob"]) == ("8", "8")
    assert "1 assignment(s) lowered" in capsys.readouterr().out
    raw = exported("--raw")
    assert (raw["ann"], raw["bob"]) == ("8", "10")


def test_totals_keep_raw_points_and_add_days_late_and_points_after_the_penalty(tmp_path):
    from autograder.course.deadlines import Deadlines
    from autograder.reporting.late import assess_all, write_late_csv, part_scores
    from autograder.reporting.merge import write_totals_csv
    from autograder.reporting.results import Row
    from autograder.intake.submission_times import Stamp

    rows = [Row("ann", PARTS[0], "01", "q", 10.0, 10.0, "passed"), Row("ann", PARTS[1], "04", "q", 6.0, 10.0, "partial"),
            Row("bob", PARTS[0], "01", "q", 8.0, 10.0, "partial"), Row("bob", PARTS[1], "04", "q", 0.0, 10.0, "missing")]
    d = Deadlines(tmp_path / "deadlines.toml", {PARTS[0]: DUE, PARTS[1]: DUE + timedelta(days=14)}, POLICY)
    stamps = {("ann", PARTS[0]): Stamp(late_by(hours=30), "csv"), ("ann", PARTS[1]): Stamp(DUE, "csv"),
              ("bob", PARTS[0]): Stamp(late_by(days=9), "csv")}
    late = assess_all(d, stamps, rows)
    assert ("bob", PARTS[1]) not in late                         # not handed in: nothing to assess
    write_totals_csv(rows, PARTS, tmp_path / "totals.csv", late)
    with open(tmp_path / "totals.csv", newline="") as f:
        t = {r["student"]: r for r in csv.DictReader(f)}
    ann, bob = t["ann"], t["bob"]
    assert (ann["total"], ann[f"{PARTS[0]}_days_late"], ann[f"{PARTS[1]}_days_late"]) == ("16", "2", "0")
    assert (ann[f"{PARTS[0]}_after_penalty"], ann["late_penalty"], ann["total_after_penalty"]) == ("8", "2", "14")
    assert ann["percent_after_penalty"] == "70.0" and ann["percent"] == "80.0"
    assert (bob["total"], bob["total_after_penalty"], bob[f"{PARTS[1]}_days_late"]) == ("8", "0", "")  # cut-off
    write_late_csv(late, part_scores(rows), tmp_path / "late.csv")
    with open(tmp_path / "late.csv", newline="") as f:
        rows_late = list(csv.DictReader(f))
    assert [(r["student"], r["part"], r["days_late"], r["penalty_percent"]) for r in rows_late] == [
        ("ann", PARTS[0], "2", "20"), ("ann", PARTS[1], "0", "0"), ("bob", PARTS[0], "9", "100")]
