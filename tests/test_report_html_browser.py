"""``report.html`` of a real grading run (the demo cohort's part 2, graded once per session
by conftest's ``demo_part2``) opened in headless Chromium (Debian's ``/usr/bin/chromium``
via Playwright): every section is there, every plot decodes, nothing is fetched from
elsewhere, and a screenshot is saved (its path printed)."""
from __future__ import annotations

import csv
import re
from pathlib import Path

import pytest

from autograder.course.course import SOLUTIONS_DIR
from autograder.reporting.quiz_answers import quizzes

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
SECTIONS = ["flags", "distributions", "questions", "quizzes", "problems", "students"]
PART2, NB04 = "part2_pretraining", "04_masked_lm_pretraining"


@pytest.mark.slow
def test_questions_csv_of_the_demo_cohort_has_every_question_of_notebook_04(demo_part2):
    assert demo_part2.proc.returncode == 0, demo_part2.proc.stderr[-3000:]
    with open(demo_part2.out / "questions.csv", newline="") as f:
        qs = {r["grade_id"]: r for r in csv.DictReader(f) if r["notebook"] == NB04}
    with open(demo_part2.out / "grades.csv", newline="") as f:
        ids = {r["grade_id"] for r in csv.DictReader(f) if r["notebook"] == NB04}
    assert set(qs) == ids and len(ids) >= 8
    # four students handed in 04: ada and eve all right, dan all but quiz 2, ben the release
    assert all(r["students"] == "4" for r in qs.values())
    assert qs["test_quiz_2"]["mean"] == "0.5" and qs["test_quiz_1"]["full_marks_share"] == "0.75"


@pytest.mark.slow
def test_report_html_of_the_demo_cohort_renders_in_chromium(demo_part2, tmp_path):
    if not CHROMIUM.is_file():
        pytest.skip(f"{CHROMIUM} is missing: install Debian's chromium (`make system-deps` as root)")
    pytest.importorskip("playwright.sync_api", reason="the playwright python package is not installed")
    from playwright.sync_api import sync_playwright

    assert demo_part2.proc.returncode == 0, demo_part2.proc.stderr[-3000:]
    page_path = demo_part2.out / "report.html"
    assert page_path.is_file()
    url = page_path.resolve().as_uri()
    shot = tmp_path / "report_html.png"
    elsewhere = []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1300, "height": 900})
            page.on("request", lambda r: r.url == url or r.url.startswith("data:") or elsewhere.append(r.url))
            page.goto(url, wait_until="load", timeout=60_000)
            for section in SECTIONS:
                el = page.locator(f"section#{section}")
                assert el.count() == 1, f"section {section} is missing"
                assert el.locator("h2").is_visible()
            widths = page.eval_on_selector_all(
                "img", "imgs => imgs.map(i => [i.complete, i.naturalWidth, i.alt])")
            assert len(widths) >= 6, widths          # part + notebook histograms, questions, 3 quizzes
            assert all(done and w > 0 for done, w, _alt in widths), widths
            flags = page.locator("section#flags").inner_text()
            assert "Untouched release handed in: ben" in flags
            # dan's one wrong quiz (2): found by its test, whatever its answer variable is called
            quiz = next(q for q in quizzes(SOLUTIONS_DIR / PART2 / f"{NB04}.ipynb", PART2, NB04)
                        if "test_quiz_2" in q.questions)
            (var, right), = quiz.correct.items()
            text = page.locator("div.quiz", has_text=var).first.inner_text()
            assert f"right answer: {right}" in text, text
            wrong = re.search(r"most common wrong answer: (\S+) \(1 of 4\)", text)
            assert wrong and wrong.group(1) != right, text
            problems = page.locator("section#problems").inner_text()
            assert "untouched_release" in problems and "Not handed in, 04_masked_lm_pretraining (18)" in problems
            page.screenshot(path=str(shot), full_page=True)
        finally:
            browser.close()
    assert not elsewhere, f"the page fetched {elsewhere}"
    assert shot.stat().st_size > 10_000
    print(f"report.html screenshot: {shot}")
