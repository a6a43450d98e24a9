"""The student release in ``notebooks/``: in sync with ``solutions/``, built to the
authoring conventions, and leaking no solution, hidden test or answer key."""
from __future__ import annotations

import ast
import json
import re
import shutil
from pathlib import Path

import nbformat
import pytest

from autograder.course.course import (
    COURSE, REPO_ROOT, SETUP_CELL, SETUP_GRADE_ID, SOLUTIONS_DIR, RELEASE_DIR, course_notebooks,
)
from autograder.course.nbgrader_config import CODE_STUB
from autograder.course.release import normalise_notebook, release

NOTEBOOKS = course_notebooks()
SECRET_REGIONS = [("### BEGIN SOLUTION", "### END SOLUTION"),
                  ("### BEGIN HIDDEN TESTS", "### END HIDDEN TESTS"),
                  ("=== BEGIN MARK SCHEME ===", "=== END MARK SCHEME ===")]


def nbg(cell) -> dict:
    return cell.get("metadata", {}).get("nbgrader", {})


def read(path: Path) -> nbformat.NotebookNode:
    if not path.is_file() and path.is_relative_to(RELEASE_DIR):
        pytest.fail(f"{path.relative_to(REPO_ROOT)} does not exist: run `make release`")
    return nbformat.read(path, as_version=4)


def both_versions():
    """(label, path) of every solution and every release notebook."""
    return ([pytest.param(nb.source(), id=f"solutions/{nb}") for nb in NOTEBOOKS]
            + [pytest.param(nb.release(), id=f"notebooks/{nb}") for nb in NOTEBOOKS])


# ------------------------------------------------------------------ in sync

def release_tree(notebooks: Path) -> dict[str, object]:
    """Every generated file under ``notebooks/<assignment>/``: notebooks as normalised
    JSON (only what the release rewrites is dropped), other files as bytes."""
    tree = {}
    for path in sorted(notebooks.glob("*/**/*")):
        if path.is_file() and ".ipynb_checkpoints" not in path.parts:
            rel = path.relative_to(notebooks).as_posix()
            tree[rel] = (normalise_notebook(read(path)) if path.suffix == ".ipynb"
                         else path.read_bytes())
    return tree


@pytest.mark.slow
def test_committed_release_equals_a_fresh_make_release(tmp_path):
    copy = tmp_path / "course"
    shutil.copytree(SOLUTIONS_DIR, copy / "solutions",
                    ignore=shutil.ignore_patterns(".ipynb_checkpoints", "__pycache__"))
    (copy / "autograder" / "course").mkdir(parents=True)
    for name in ("__init__.py", "course/__init__.py", "course/nbgrader_config.py"):   # what the root config imports
        shutil.copy(REPO_ROOT / "autograder" / name, copy / "autograder" / name)
    for name in ("nbgrader_config.py", "course.toml"):   # course.toml: the repository and tag
        shutil.copy(REPO_ROOT / name, copy)
    release(copy)
    fresh, committed = release_tree(copy / "notebooks"), release_tree(RELEASE_DIR)
    assert sorted(committed) == sorted(fresh), \
        "notebooks/ holds other files than `make release` makes: run `make release` and commit"
    stale = [name for name in fresh if fresh[name] != committed[name]]
    assert not stale, f"out of date in notebooks/: {stale}: run `make release` and commit"


def test_every_solution_notebook_has_a_release():
    missing = [str(nb) for nb in NOTEBOOKS if not nb.release().is_file()]
    assert not missing, f"no release for {missing}: run `make release`"


# ------------------------------------------------------ authoring conventions

@pytest.mark.parametrize("path", both_versions())
def test_notebook_is_valid_nbformat(path):
    nbformat.validate(read(path))


@pytest.mark.parametrize("path", both_versions())
def test_first_code_cell_is_the_locked_setup_cell(path):
    first = next(c for c in read(path).cells if c.cell_type == "code")
    assert first.source == SETUP_CELL, "the first code cell must be autograder.course.course.SETUP_CELL verbatim"
    meta = nbg(first)
    assert meta.get("grade_id") == SETUP_GRADE_ID and meta.get("locked") is True
    assert not meta.get("grade") and not meta.get("solution")
    if path.is_relative_to(RELEASE_DIR):
        assert first.metadata.get("editable") is False and first.metadata.get("deletable") is False


@pytest.mark.parametrize("path", both_versions())
def test_grade_ids_are_unique_within_the_notebook(path):
    ids = [nbg(c)["grade_id"] for c in read(path).cells if "grade_id" in nbg(c)]
    dupes = sorted({i for i in ids if ids.count(i) > 1})
    assert not dupes, f"duplicated grade_id: {dupes}"


@pytest.mark.parametrize("path", both_versions())
def test_every_nbgrader_cell_has_a_schema_version(path):
    bad = [nbg(c).get("grade_id", f"cell {i}") for i, c in enumerate(read(path).cells)
           if nbg(c) and "schema_version" not in nbg(c)]
    assert not bad, f"nbgrader cells without schema_version (nbgrader aborts the batch): {bad}"


def last_statement_problem(source: str) -> str | None:
    """Why a test cell's last statement could hand out credit, or None when it cannot."""
    body = ast.parse(source).body
    if not body:
        return "the cell has no statement"
    last = body[-1]
    if not isinstance(last, ast.Expr):
        return None   # assert, assignment, if/for/with blocks, ...
    call = last.value
    if isinstance(call, ast.Call) and isinstance(call.func, ast.Name) and call.func.id == "print":
        return None
    return f"it ends in the bare expression `{ast.unparse(last)}` (nbgrader reads its value as a score)"


@pytest.mark.parametrize("path", both_versions())
def test_no_test_cell_ends_in_a_bare_expression(path):
    bad = {}
    for cell in read(path).cells:
        meta = nbg(cell)
        if cell.cell_type == "code" and meta.get("grade") and not meta.get("solution"):
            problem = last_statement_problem(cell.source)
            if problem:
                bad[meta["grade_id"]] = problem
    assert not bad, f"test cells must end in an assert or a print(...): {bad}"


@pytest.mark.parametrize("path", both_versions())
def test_notebook_is_committed_without_outputs(path):
    dirty = [i for i, c in enumerate(read(path).cells)
             if c.cell_type == "code" and (c.outputs or c.execution_count is not None)]
    assert not dirty, f"cells {dirty} have outputs or execution counts: clear them before committing"


# ---------------------------------------------------------------- no leaks

def classify_lines(cell) -> list[tuple[str, bool]]:
    """Each line of ``cell`` with whether only graders may see it: solution, hidden-test
    and mark-scheme regions (markers excluded), and the whole of a solution cell that
    has no solution markers."""
    lines = cell.source.splitlines()
    if nbg(cell).get("solution") and not any("BEGIN SOLUTION" in line for line in lines):
        return [(line, True) for line in lines]
    out, inside = [], None
    for line in lines:
        stripped = line.strip()
        if inside is None:
            inside = next((end for begin, end in SECRET_REGIONS if stripped.startswith(begin)), None)
            if inside is None:
                out.append((line, False))
        elif stripped.startswith(inside):
            inside = None
        else:
            out.append((line, True))
    return out


def secret_lines(cell) -> list[str]:
    return [line for line, secret in classify_lines(cell) if secret]


def is_telling(line: str) -> bool:
    """Long enough to identify an answer; not a comment, an import or a lone keyword."""
    s = line.strip()
    return (len(s) >= 8 and re.search(r"[A-Za-z0-9]", s) is not None and not s.startswith("#")
            and not re.match(r"(import|from)\s", s))


def source_text(path: Path, secret: bool) -> list[str]:
    """The stripped lines of a source notebook that are (or are not) grader-only."""
    return [line.strip() for cell in read(path).cells
            for line, is_secret in classify_lines(cell) if is_secret == secret]


def test_release_contains_no_solution_hidden_test_or_answer_key():
    public = {line for nb in NOTEBOOKS for line in source_text(nb.source(), secret=False)}
    secrets = {line for nb in NOTEBOOKS for line in source_text(nb.source(), secret=True)
               if is_telling(line) and line not in public}
    release_files = [p for p in RELEASE_DIR.rglob("*") if p.is_file()]
    leaks = {}
    for path in release_files:
        text = path.read_text(encoding="utf-8", errors="replace")
        if path.suffix == ".ipynb":   # search the cells' text, not its JSON escaping
            text = "\n".join(c.source for c in read(path).cells)
        found = sorted(secrets & {line.strip() for line in text.splitlines()})
        if found:
            leaks[str(path.relative_to(REPO_ROOT))] = found[:5]
    assert not leaks, f"the release shows grader-only lines: {leaks}"
    for path in release_files:
        text = path.read_text(encoding="utf-8", errors="replace")
        for begin, _ in SECRET_REGIONS:
            assert begin not in text, f"{path.relative_to(REPO_ROOT)} still holds a `{begin}` region"


@pytest.mark.parametrize("nb", NOTEBOOKS, ids=str)
def test_release_solution_cells_raise_not_implemented(nb):
    source_cells = {nbg(c)["grade_id"]: c for c in read(nb.source()).cells if nbg(c).get("solution")}
    release_cells = {nbg(c)["grade_id"]: c for c in read(nb.release()).cells if nbg(c).get("solution")}
    assert sorted(release_cells) == sorted(source_cells)
    for grade_id, cell in release_cells.items():
        if cell.cell_type == "code":
            stub, lines = CODE_STUB.splitlines(), [line.strip() for line in cell.source.splitlines()]
            assert any(lines[i:i + len(stub)] == stub for i in range(len(lines))), \
                f"{grade_id}: the release should hold the stub {CODE_STUB!r}"
            tree = ast.parse(cell.source)
            assert any(isinstance(n, ast.Raise) and "NotImplementedError" in ast.unparse(n)
                       for n in ast.walk(tree)), grade_id


# ------------------------------------------------------------- Colab links

def colab_link(nb) -> str:
    """The README's "Open in Colab" URL of a release notebook, at the release's tag."""
    return COURSE.colab_link(f"notebooks/{nb.assignment}/{nb.filename}")


def test_readme_names_the_repository_and_links_every_notebook_in_colab_at_the_release():
    readme = (REPO_ROOT / "README.md").read_text(encoding="utf-8")
    assert f"Repository: {COURSE.url} (release `{COURSE.ref}`)" in readme, \
        "README.md should name the repository and release of course.toml: run `make release`"
    missing = [colab_link(nb) for nb in NOTEBOOKS if colab_link(nb) not in readme]
    assert not missing, f"README.md lacks these Open in Colab links: {missing}: run `make release`"
    links = re.findall(r"https://colab\.research\.google\.com/\S+?\.ipynb", readme)
    assert sorted(links) == sorted(map(colab_link, NOTEBOOKS)), "README.md links notebooks elsewhere"


# ------------------------------------------------- the checks above, checked

def test_secret_lines_cover_solution_hidden_test_and_mark_scheme_regions():
    code = nbformat.v4.new_code_cell(
        "def f(x):\n    ### BEGIN SOLUTION\n    return x + 1\n    ### END SOLUTION\n"
        "assert f(1) == 2\n### BEGIN HIDDEN TESTS\nassert f(5) == 6\n### END HIDDEN TESTS\nprint('ok')",
        metadata={"nbgrader": {"solution": True}})
    assert secret_lines(code) == ["    return x + 1", "assert f(5) == 6"]
    written = nbformat.v4.new_markdown_cell("Layer 4, because ...",
                                            metadata={"nbgrader": {"solution": True, "grade": True}})
    assert secret_lines(written) == ["Layer 4, because ..."]
    assert is_telling("return scores.softmax(-1)") and not is_telling("# a comment here")
    assert not is_telling("import torch.nn as nn") and not is_telling("pass")


@pytest.mark.parametrize("source, ok", [
    ("assert x == 1", True),
    ("assert x == 1\nprint('x is right')", True),
    ("check_shape('H', H, (1, 5, 384))\nresult = 1", True),
    ("assert x == 1\nx", False),
    ("assert x == 1\n0.5", False),
    ("check_close('H', H, ref)", False),   # a call may return a number: nbgrader's partial credit
])
def test_last_statement_rule_rejects_bare_expressions(source, ok):
    assert (last_statement_problem(source) is None) == ok
