"""The student bundle holds exactly what students get, and no solution, hidden test or
answer key: every solution region and hidden test of ``solutions/`` is searched for."""
from __future__ import annotations

import re
import zipfile

import nbformat
import pytest

from autograder.course.bundle import build
from autograder.course.course import SOLUTIONS_DIR, course_notebooks
from autograder.course.feedback import BEGIN as HIDDEN_BEGIN, END as HIDDEN_END

SOL_BEGIN = re.compile(r"^\s*#+\s*BEGIN SOLUTION", re.IGNORECASE)
SOL_END = re.compile(r"^\s*#+\s*END SOLUTION", re.IGNORECASE)


@pytest.fixture(scope="module")
def bundle(tmp_path_factory):
    out = tmp_path_factory.mktemp("bundle")
    folder, zpath = build(out)
    files = {}
    for p in folder.rglob("*"):
        if p.is_file():
            text = p.read_text(encoding="utf-8", errors="replace")
            if p.suffix == ".ipynb":   # search the cells' text, not its JSON escaping
                text = "\n".join(c.source for c in nbformat.reads(text, as_version=4).cells)
            files[p.relative_to(folder).as_posix()] = text
    return folder, zpath, files


def regions(source: str, begin, end) -> list[list[str]]:
    out, cur = [], None
    for line in source.splitlines():
        if cur is None and begin.match(line):
            cur = []
        elif cur is not None and end.match(line):
            out.append(cur)
            cur = None
        elif cur is not None:
            cur.append(line)
    return out


def distinctive(line: str) -> bool:
    s = line.strip()
    return len(s) >= 25 and not s.startswith(("#", "import ", "from ", "print(")) and s not in ('"""', "'''")


def public_text(source: str) -> str:
    """A cell's text without its solution and hidden-test regions (what students may see)."""
    out, hidden = [], False
    for line in source.splitlines():
        if SOL_BEGIN.match(line) or HIDDEN_BEGIN.match(line):
            hidden = True
        elif hidden and (SOL_END.match(line) or HIDDEN_END.match(line)):
            hidden = False
        elif not hidden:
            out.append(line)
    return "\n".join(out)


def secret_lines():
    """(kind, notebook, line) for every distinctive line of a solution region or a hidden
    test that is not also in the notebook's public text (prompts, visible tests), and every
    quiz answer (answer key) of the course source."""
    out = []
    for nb in course_notebooks():
        src = nbformat.read(nb.source(SOLUTIONS_DIR), as_version=4)
        public = "\n".join(public_text(c.source) for c in src.cells)
        for cell in src.cells:
            for region in regions(cell.source, HIDDEN_BEGIN, HIDDEN_END):
                out += [("hidden test", nb.name, l.strip()) for l in region
                        if distinctive(l) and l.strip() not in public]
            for region in regions(cell.source, SOL_BEGIN, SOL_END):
                for l in region:
                    if re.match(r"^\s*QUIZ_\d+\s*=", l):
                        out.append(("answer key", nb.name, l.strip()))
                    elif distinctive(l) and l.strip() not in public:
                        out.append(("solution", nb.name, l.strip()))
    return out


def test_bundle_holds_only_what_students_get(bundle):
    folder, zpath, files = bundle
    tops = {name.split("/")[0] for name in files}
    assert tops == {"notebooks", "encoder_lib", "pyproject.toml", "environment.yml", "README.md"}
    released = {f"notebooks/{nb.assignment}/{nb.filename}" for nb in course_notebooks()}
    assert {n for n in files if n.startswith("notebooks/")} == released
    assert not [n for n in files if "__pycache__" in n or n.endswith(".pyc")]
    with zipfile.ZipFile(zpath) as z:
        assert sorted(n.split("/", 1)[1] for n in z.namelist()) == sorted(files)


def test_no_markers_anywhere(bundle):
    _, _, files = bundle
    marked = [n for n, text in files.items() if re.search(r"(BEGIN|END) (SOLUTION|HIDDEN TESTS)", text)]
    assert not marked


def test_no_solution_hidden_test_or_answer_key_in_the_bundle(bundle):
    _, _, files = bundle
    secrets = secret_lines()
    assert secrets, "the course has no solution regions or hidden tests to check against"
    notebooks_text = "\n".join(t for n, t in files.items() if n.startswith("notebooks/"))
    everything = "\n".join(files.values())
    leaks = []
    for kind, nb, line in secrets:
        # the library is the course's reference implementation, so a solution line may
        # legitimately appear there; in the notebooks it must not, and hidden tests and
        # answer keys must appear nowhere
        haystack = notebooks_text if kind == "solution" else everything
        if line in haystack or (kind == "answer key" and line.replace(" ", "") in haystack.replace(" ", "")):
            leaks.append((kind, nb, line))
    assert not leaks, leaks[:10]


def test_student_readme_explains_set_up_and_handing_in(bundle):
    _, _, files = bundle
    readme = files["README.md"]
    for words in ("Colab", "pip install -e .", "Download", "YOUR CODE HERE", "environment.yml"):
        assert words in readme


def test_bundle_holds_the_whole_library_the_notebooks_import(bundle):
    """Every tracked file of encoder_lib (code, shipped data, the course checkpoint that
    notebook 04 loads) is in the bundle, and every encoder_lib module a release notebook
    imports is one of them."""
    import subprocess

    from autograder.course.course import REPO_ROOT

    _, _, files = bundle
    tracked = subprocess.run(["git", "ls-files", "encoder_lib"], cwd=REPO_ROOT, capture_output=True,
                             text=True, check=True).stdout.split()
    assert tracked, "git ls-files found no library files"
    missing = sorted(set(tracked) - set(files))
    assert not missing, f"the bundle lacks library files: {missing[:10]}"
    for nb in course_notebooks():
        text = files[f"notebooks/{nb.assignment}/{nb.filename}"]
        for module in re.findall(r"^\s*from (encoder_lib[\w.]*) import", text, re.MULTILINE):
            path = module.replace(".", "/")
            assert f"{path}.py" in files or f"{path}/__init__.py" in files, f"{nb} imports {module}: not bundled"
