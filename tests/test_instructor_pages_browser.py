"""What the instructor and the students open, in headless Chromium (Debian's
``/usr/bin/chromium`` via Playwright) with the network off, on one small real grading
run: a zip export of three students' notebook 01 (all right, the release untouched, one
test failing) with an empty notebook, a zip entry pointing outside the folder, a
notebook of no course and a file naming no student.

- ``report.html`` opens with three boxes: files not graded, students who need help,
  hardest questions; clicking a column header sorts the students table (screenshot of
  the top of the page saved, its path printed);
- a feedback page shows its math rendered (MathML written with the page), fetching
  nothing (screenshot saved).
"""
from __future__ import annotations

import os
import re
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from autograder.course.course import REPO_ROOT

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
PART, NB = "part1_representations", "01_tokens_to_vectors"
VIEWPORT = {"width": 1300, "height": 900}


@pytest.fixture(scope="module")
def chromium():
    if not CHROMIUM.is_file():
        pytest.skip(f"{CHROMIUM} is missing: install Debian's chromium (`make system-deps` as root)")
    pytest.importorskip("playwright.sync_api", reason="the playwright python package is not installed")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture(scope="module")
def graded(chromium, tmp_path_factory) -> Path:
    """The small class graded once; its OUT."""
    root = tmp_path_factory.mktemp("small_class")
    cohort = REPO_ROOT / "autograder" / "demo_cohort"
    export = root / "export.zip"
    with zipfile.ZipFile(export, "w") as z:
        for student in ("ada", "ben", "dan"):
            z.write(cohort / student / f"{NB}.ipynb", f"{student}_{NB}.ipynb")
        z.writestr(f"eve_{NB}.ipynb", b"")                          # unreadable
        z.writestr(f"../../etc/mallory_{NB}.ipynb", b"{}")          # outside the folder
        z.writestr("cleo_07_bonus_round.ipynb", b"{}")               # no notebook of this course
        z.writestr("README.ipynb", b"{}")                            # no student
    out = root / "out"
    env = dict(os.environ, PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}")
    proc = subprocess.run([sys.executable, "-m", "autograder.grade", str(export), "--out", str(out),
                           "--workers", "2", "--no-progress", "--quiet"],
                          cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=1200)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-3000:]
    return out


def _offline_page(browser, url: str):
    """A page in a context with the network off; every request other than ``url`` and
    ``data:`` URLs is refused and listed in the returned list."""
    context = browser.new_context(viewport=VIEWPORT, offline=True)
    page = context.new_page()
    elsewhere, errors = [], []
    page.route("**/*", lambda route: route.continue_() if route.request.url == url
               else (elsewhere.append(route.request.url), route.abort()))
    page.on("pageerror", lambda err: errors.append(str(err)))
    return context, page, elsewhere, errors


def _column(page, name: str) -> list[str]:
    heads = page.locator("#students-table thead th").all_inner_texts()
    col = [h.strip() for h in heads].index(name)
    return [r.strip() for r in page.locator(f"#students-table tbody tr td:nth-child({col + 1})").all_inner_texts()]


@pytest.mark.slow
def test_report_html_opens_with_what_needs_the_instructor_and_sorts_the_students_table(graded, chromium, tmp_path):
    url = (graded / "report.html").resolve().as_uri()
    context, page, elsewhere, errors = _offline_page(chromium, url)
    try:
        page.goto(url, wait_until="load", timeout=60_000)
        boxes = {}
        for box in ("files-not-graded", "needs-help", "hardest"):
            el = page.locator(f"#at-a-glance #{box}")
            assert el.is_visible(), box
            top = el.bounding_box()
            assert top["y"] < VIEWPORT["height"] / 2, (box, top)       # at the top, on the first screen
            boxes[box] = el.inner_text()
        assert page.locator("#at-a-glance").bounding_box()["y"] < page.locator("#needs-review").bounding_box()["y"]
        shot = tmp_path / "report_top.png"
        page.screenshot(path=str(shot))                                  # what the instructor sees first

        files = boxes["files-not-graded"]
        assert files.startswith("Files not graded (4)"), files
        for words in ("eve", "could not be read", "outside the folder", f"mallory_{NB}",
                      "not a notebook of this course", "cleo_07_bonus_round", "no student in the file name"):
            assert words in files, (words, files)
        lowest = page.locator("#needs-help ol.lowest li").all_inner_texts()
        assert lowest and {"ben", "eve"} <= {li.split(":")[0] for li in lowest}, lowest
        assert any("release untouched" in li for li in lowest if li.startswith("ben")), lowest
        assert "cleo: 01_tokens_to_vectors" in boxes["needs-help"]       # handed in nothing of 01
        hardest = page.locator("#hardest ol.hardest li").all_inner_texts()
        means = [int(re.search(r"mean (\d+) %", li).group(1)) for li in hardest]
        assert len(means) >= 3 and means == sorted(means), hardest     # hardest first

        assert _column(page, "student") == sorted(_column(page, "student"))   # by name until sorted
        page.locator("#students-table th", has_text=re.compile(r"^%$")).click()
        cells = _column(page, "%")       # blank: nothing of theirs counts (cleo), sorted last
        percents = [float(v) for v in cells if v]
        assert percents == sorted(percents) and percents[0] < percents[-1], percents
        assert cells[len(percents):] == [""] * (len(cells) - len(percents)), cells
        assert page.locator("#students-table th[aria-sort=ascending]").inner_text().strip() == "%"
        shot_sorted = tmp_path / "students_sorted.png"
        page.locator("#students").screenshot(path=str(shot_sorted))
        page.locator("#students-table th", has_text=re.compile(r"^%$")).click()    # again: the other way
        assert [float(v) for v in _column(page, "%") if v] == sorted(percents, reverse=True)
        page.locator("#students-table th", has_text="student").press("Enter")       # by keyboard too
        assert _column(page, "student") == sorted(_column(page, "student"))
    finally:
        context.close()
    assert not elsewhere and not errors, (elsewhere, errors)
    assert shot.stat().st_size > 10_000
    print(f"report.html screenshots: {shot}, {shot_sorted}")


@pytest.mark.slow
def test_a_feedback_page_shows_its_math_rendered_with_the_network_off(graded, chromium, tmp_path):
    path = graded / "feedback" / "ada" / PART / f"{NB}.html"
    url = path.resolve().as_uri()
    context, page, elsewhere, errors = _offline_page(chromium, url)
    try:
        page.goto(url, wait_until="load", timeout=60_000)
        maths = page.eval_on_selector_all("math", """ms => ms.map(m => {
            const r = m.getBoundingClientRect();
            return [getComputedStyle(m).display, r.width, r.height, m.getAttribute('display')]; })""")
        assert len(maths) >= 20, len(maths)
        assert all("math" in display and w > 0 and h > 0 for display, w, h, _ in maths), maths   # drawn as math
        assert sum(kind == "block" for *_, kind in maths) >= 2
        # a subscript sits lower than its base: the formula is laid out, not printed as text
        base, script = page.eval_on_selector("msub", "s => [s.children[0].getBoundingClientRect().bottom, "
                                                     "s.children[1].getBoundingClientRect().bottom]")
        assert script > base, (base, script)
        text = page.locator("body").inner_text()
        assert not re.search(r"\$[^$\n]*\\[A-Za-z]+", text), re.search(r"\$[^$\n]*\\[A-Za-z]+", text).group(0)
        assert "$x = " not in text and "$d = 384$" not in text
        cell = page.locator("div.text_cell_render", has=page.locator('math[display="block"]')).first
        cell.scroll_into_view_if_needed()
        shot = tmp_path / "feedback_math.png"
        cell.screenshot(path=str(shot))
    finally:
        context.close()
    assert not elsewhere and not errors, (elsewhere, errors)     # MathJax's CDN is not even asked
    print(f"feedback screenshot: {shot}")
