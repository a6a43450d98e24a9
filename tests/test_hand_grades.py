"""The instructor's loop after ``make grade``, on one small graded output:

- hand grades flow into every output: a score and comment saved in the merged gradebook
  reach ``grades.csv``, ``totals.csv`` and the report on the next ``python -m
  autograder.grade`` run, and survive regrading a changed submission;
- ``python -m autograder.reporting.formgrader`` serves nbgrader's formgrader on the output, driven
  here in headless Chromium (Debian's ``/usr/bin/chromium`` via Playwright): the
  needs-grading list, a written answer graded and saved, the score in the gradebook;
- nbgrader's own ``generate_feedback`` with the project's config leaves no hidden test in
  the feedback, and ``python -m autograder.reporting.regenerate_feedback`` shows hand grades,
  comments and pending answers;
- a notebook that could not be read still gets a feedback page; ``make grade`` passes
  ``PATTERN=`` and ``GRADE_ARGS=`` on.
"""
from __future__ import annotations

import csv
import time
import subprocess
import warnings
from pathlib import Path

import nbformat
import pytest

from autograder.course.cohort import submission, to_bytes
from autograder.course.course import REPO_ROOT
from tests.test_grade_cli import grade

PART, NB, WRITTEN = "part1_representations", "03_sequence_representations", "written_quiz_4"


def rows_of(path: Path) -> list[dict]:
    with open(path, newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def save_hand_grade(db: Path, student: str, score: float, comment: str) -> None:
    """What formgrader's save does: a manual score and a manual comment in the gradebook."""
    from nbgrader.api import Gradebook

    with warnings.catch_warnings(), Gradebook(f"sqlite:///{db}") as gb:
        warnings.simplefilter("ignore")
        g = gb.find_grade(WRITTEN, NB, PART, student)
        g.manual_score = score
        g.needs_manual_grade = False          # as formgrader's grade API does on a save
        c = gb.find_comment(WRITTEN, NB, PART, student)
        c.manual_comment = comment
        gb.db.commit()


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    root = tmp_path_factory.mktemp("hand")
    subs = root / "subs"
    (subs / "ada").mkdir(parents=True)
    (subs / "ada" / f"{NB}.ipynb").write_bytes(to_bytes(submission(PART, NB, {WRITTEN})))
    (subs / "cleo").mkdir(parents=True)       # graded by hand in formgrader, in a browser
    (subs / "cleo" / f"{NB}.ipynb").write_bytes(to_bytes(submission(PART, NB, {WRITTEN})))
    (subs / "dan").mkdir(parents=True)        # left waiting: "pending" in feedback
    (subs / "dan" / f"{NB}.ipynb").write_bytes(to_bytes(submission(PART, NB, {WRITTEN})))
    (subs / "ben").mkdir(parents=True)
    (subs / "ben" / f"{NB}.ipynb").write_bytes(b'{"cells": [ {"cell_type": "code", ')   # cut off
    out = root / "out"
    first = grade(subs, out, "--workers", "2", "--quiet")
    assert first.returncode == 0, first.stderr[-3000:]
    return root, subs, out


@pytest.mark.slow
def test_hand_grade_reaches_grades_totals_and_report_and_survives_a_regrade(graded):
    root, subs, out = graded
    written = next(r for r in rows_of(out / "grades.csv") if r["student"] == "ada" and r["grade_id"] == WRITTEN)
    assert written["status"] == "manual" and written["score"] == ""
    totals = {r["student"]: r for r in rows_of(out / "totals.csv")}
    auto_total = float(totals["ada"]["total"])
    assert totals["ada"]["pending_manual"] == "1"
    assert "3 written answer(s) wait for manual grading" in (out / "report.txt").read_text()   # ada, cleo, dan

    save_hand_grade(out / "gradebook.db", "ada", 2.0, "Clear, but say why the mean ignores padding.")
    again = grade(subs, out, "--quiet")
    assert again.returncode == 0, again.stderr[-3000:]
    assert "0 notebook(s) in 0 job(s)" in (out / "report.txt").read_text()
    written = next(r for r in rows_of(out / "grades.csv") if r["student"] == "ada" and r["grade_id"] == WRITTEN)
    assert (written["score"], written["status"]) == ("2", "hand-graded")
    assert written["comment"] == "Clear, but say why the mean ignores padding."
    totals = {r["student"]: r for r in rows_of(out / "totals.csv")}
    assert float(totals["ada"]["total"]) == auto_total + 2 and totals["ada"]["pending_manual"] == "0"
    report = (out / "report.txt").read_text()
    assert "2 written answer(s) wait for manual grading" in report                     # the count fell
    ada_line = next(l for l in report.splitlines() if l.startswith("ada "))          # no "pt" pending
    assert ada_line.split()[-1] == f"{100 * (auto_total + 2) / float(totals['ada']['max_total']):.1f}"

    # the student hands in a changed notebook: it is graded again, the hand grade stays
    changed = submission(PART, NB, {WRITTEN})
    changed.cells.append(nbformat.v4.new_markdown_cell("A note added after the deadline."))
    (subs / "ada" / f"{NB}.ipynb").write_bytes(to_bytes(changed))
    third = grade(subs, out, "--quiet")
    assert third.returncode == 0, third.stderr[-3000:]
    assert "1 notebook(s) in 1 job(s)" in (out / "report.txt").read_text()
    written = next(r for r in rows_of(out / "grades.csv") if r["student"] == "ada" and r["grade_id"] == WRITTEN)
    assert (written["score"], written["status"]) == ("2", "hand-graded")
    assert float({r["student"]: r for r in rows_of(out / "totals.csv")}["ada"]["total"]) == auto_total + 2
    assert "graded by hand (the hand grade" not in (out / "report.txt").read_text()   # the answer is the same

    # ... and when the graded answer itself changed, the report asks for a second look
    answer = next(c for c in changed.cells if c.metadata.get("nbgrader", {}).get("grade_id") == WRITTEN)
    answer.source += "\n\nEdit: a second thought added after the deadline."
    (subs / "ada" / f"{NB}.ipynb").write_bytes(to_bytes(changed))
    fourth = grade(subs, out, "--quiet")
    assert fourth.returncode == 0, fourth.stderr[-3000:]
    report = (out / "report.txt").read_text()
    assert f"cell '{WRITTEN}': the answer was changed after it was graded by hand" in report
    assert f"look at ada / {NB}" in report


@pytest.mark.slow
def test_an_unreadable_notebook_gets_a_feedback_page_saying_why(graded):
    root, subs, out = graded
    page = out / "feedback" / "ben" / PART / f"{NB}.html"
    assert page.is_file(), sorted(p.name for p in (out / "feedback").rglob("*"))
    text = page.read_text()
    assert "could not be read as a notebook" in text and "Score: 0 /" in text
    ben = [r for r in rows_of(out / "grades.csv") if r["student"] == "ben" and r["notebook"] == NB]
    assert ben and all(r["status"] == "unreadable" for r in ben)


def test_make_grade_passes_pattern_and_options_on():
    proc = subprocess.run(["make", "-n", "-o", ".venv/.installed", "grade", "PATTERN=^(?P<student>[^-]+)-",
                           "GRADE_ARGS=--workers 3 --redo", "OUT=/tmp/x"], cwd=REPO_ROOT,
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    line = next(l for l in proc.stdout.replace("\\\n", " ").splitlines() if "autograder.grade" in l)
    assert "--pattern '^(?P<student>[^-]+)-'" in line and line.rstrip().endswith("--workers 3 --redo")


CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
PAGE_S = 120   # a formgrader page loaded (slow, shared CI cores)


def hand_grade_in(db: Path, student: str) -> tuple[float | None, str]:
    from nbgrader.api import Gradebook

    with warnings.catch_warnings(), Gradebook(f"sqlite:///{db}") as gb:
        warnings.simplefilter("ignore")
        return (gb.find_grade(WRITTEN, NB, PART, student).manual_score,
                gb.find_comment(WRITTEN, NB, PART, student).manual_comment or "")


def _grade_in_formgrader(page, url: str, shots: Path) -> None:
    base = url.split("/formgrader")[0]
    page.goto(url, timeout=PAGE_S * 1000)                      # the token logs the browser in
    page.goto(f"{base}/formgrader/gradebook/{PART}/{NB}", timeout=PAGE_S * 1000)
    page.wait_for_function("() => document.querySelectorAll('#main-table a.name-shown').length >= 3",
                           timeout=PAGE_S * 1000)             # ada, cleo, dan (ben was unreadable)
    rows = page.locator("#main-table tr")                      # the tbody is #main-table
    listed = {}
    for i in range(rows.count()):
        row = rows.nth(i)
        link = row.locator("a.name-shown")
        needs = row.locator("td.needs-manual-grade").get_attribute("data-search") == "needs manual grade"
        listed[link.text_content().strip()] = (needs, link.get_attribute("href"))
    assert listed["cleo"][0] and listed["dan"][0], listed         # both wait for a person
    page.screenshot(path=str(shots / "formgrader_needs_grading.png"))
    page.goto(base + listed["cleo"][1], timeout=PAGE_S * 1000)
    score = page.locator(f"input.score#{WRITTEN}")
    score.wait_for(timeout=PAGE_S * 1000)
    page.wait_for_load_state("networkidle", timeout=PAGE_S * 1000)   # its models are loaded and bound
    comment = page.locator(f"textarea#{WRITTEN}-comment")
    for field, value, api in ((score, "2.5", "/api/grade/"), (comment, "Good: you named the padding.", "/api/comment/")):
        for attempt in range(3):      # on a loaded machine a field can be typed in before its handler is bound
            try:
                with page.expect_response(lambda r: api in r.url and r.request.method == "PUT", timeout=20_000):
                    field.fill("")
                    field.fill(value)
                    field.press("Tab")                          # blur: formgrader saves it
                break
            except Exception:
                if attempt == 2:
                    raise
    score.scroll_into_view_if_needed()
    page.screenshot(path=str(shots / "formgrader_graded.png"), full_page=False)


@pytest.mark.slow
def test_formgrader_grades_a_written_answer_in_the_browser(graded, hermetic_jupyter, tmp_path):
    if not CHROMIUM.is_file():
        pytest.skip(f"{CHROMIUM} is missing: install Debian's chromium (`make system-deps` as root)")
    pytest.importorskip("playwright.sync_api", reason="the playwright python package is not installed")
    from playwright.sync_api import sync_playwright

    from autograder.reporting.formgrader import start, stop

    root, subs, out = graded
    log_path = tmp_path / "formgrader.log"
    with open(log_path, "w") as log:
        proc, url = start(out, log=log)
    try:
        assert url.startswith("http://127.0.0.1:") and "/formgrader?token=" in url
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
            try:
                page = browser.new_page(viewport={"width": 1400, "height": 1000})
                page.set_default_timeout(PAGE_S * 1000)
                try:
                    _grade_in_formgrader(page, url, tmp_path)
                    deadline = time.monotonic() + 60
                    while hand_grade_in(out / "gradebook.db", "cleo") != (2.5, "Good: you named the padding."):
                        assert time.monotonic() < deadline, hand_grade_in(out / "gradebook.db", "cleo")
                        time.sleep(0.5)
                except Exception as err:
                    page.screenshot(path=str(tmp_path / "failure.png"))
                    raise AssertionError(f"{err}\n(screenshot: {tmp_path / 'failure.png'}; log:)\n"
                                         f"{log_path.read_text(errors='replace')[-3000:]}") from err
            finally:
                browser.close()
    finally:
        stop(proc)
    print(f"formgrader screenshots: {tmp_path / 'formgrader_needs_grading.png'}, "
          f"{tmp_path / 'formgrader_graded.png'}")
    assert (tmp_path / "formgrader_graded.png").stat().st_size > 10_000


def _hidden_test_lines() -> list[str]:
    import nbformat

    from autograder.course.feedback import hidden_lines

    nb = nbformat.read(REPO_ROOT / "solutions" / PART / f"{NB}.ipynb", as_version=4)
    return [line for c in nb.cells for line in hidden_lines(c.source)]


@pytest.mark.slow
def test_nbgraders_own_generate_feedback_with_the_project_config_hides_the_hidden_tests(graded):
    import html

    from autograder.reporting.formgrader import tool_env, write_output_config

    root, subs, out = graded
    hidden = _hidden_test_lines()
    autograded = (out / "autograded" / "ada" / PART / f"{NB}.ipynb").read_text()
    assert hidden and "BEGIN HIDDEN TESTS" in autograded and hidden[0] in autograded.replace('\\"', '"')
    write_output_config(out)
    page = out / "feedback" / "ada" / PART / f"{NB}.html"
    page.unlink()
    proc = subprocess.run(["nbgrader", "generate_feedback", PART, "--force"], cwd=out, env=tool_env(),
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-3000:]
    text = html.unescape(page.read_text())
    assert "BEGIN HIDDEN TESTS" not in text and "hidden tests: not shown" in text
    assert not [line for line in hidden if line in text]


@pytest.mark.slow
def test_regenerated_feedback_shows_hand_grades_comments_and_pending(graded):
    import html

    from autograder.reporting.regenerate_feedback import main

    root, subs, out = graded
    save_hand_grade(out / "gradebook.db", "cleo", 1.5, "Say which tokens the mask removes.")
    assert main(["--out", str(out)]) == 0
    cleo = html.unescape((out / "feedback" / "cleo" / PART / f"{NB}.html").read_text())
    assert "Say which tokens the mask removes." in cleo and "1.5 / 3.0" in cleo
    dan = html.unescape((out / "feedback" / "dan" / PART / f"{NB}.html").read_text())
    assert "pending (graded by hand)" in dan
    assert "BEGIN HIDDEN TESTS" not in cleo + dan and not [l for l in _hidden_test_lines() if l in cleo + dan]
    assert "could not be read as a notebook" in (out / "feedback" / "ben" / PART / f"{NB}.html").read_text()


@pytest.mark.slow
def test_hand_grades_survive_a_fresh_gradebook_when_the_course_changed(graded):
    import json

    root, subs, out = graded
    save_hand_grade(out / "gradebook.db", "dan", 1.0, "Carried over.")
    stamp = out / ".state" / "merged.json"
    stamp.write_text(json.dumps({**json.loads(stamp.read_text()), "__master__": "an older course"}))
    proc = grade(subs, out, "--quiet")                 # starts a fresh merged gradebook
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert (out / "gradebook.db.old").is_file()
    assert hand_grade_in(out / "gradebook.db", "dan") == (1.0, "Carried over.")
    dan = next(r for r in rows_of(out / "grades.csv") if r["student"] == "dan" and r["grade_id"] == WRITTEN)
    assert (dan["score"], dan["status"], dan["comment"]) == ("1", "hand-graded", "Carried over.")
