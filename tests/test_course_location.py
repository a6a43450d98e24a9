"""Where the course lives (``course.toml``): one setting that ``make release`` stamps into
every notebook's setup cell, README.md and pyproject.toml; the setup cell installs the
library at the release's tag on Colab and, when it cannot, says in one line what to do."""
from __future__ import annotations

import http.server
import shutil
import subprocess
import sys
import threading
from pathlib import Path

import nbformat
import pytest

from autograder.course.course import (
    COURSE, REPO_ROOT, SETUP_CELL, SETUP_GRADE_ID, CourseLocation, course_notebooks,
    parse_location, read_location, setup_cell,
)
from autograder.course.release import ref_note, release, stamp

if sys.version_info >= (3, 11):
    import tomllib
else:   # the test extra installs tomli there
    import tomli as tomllib

FORK = CourseLocation("https://github.com/ada-teaches/encoders-2027", "spring-2027")


def fork_toml(location: CourseLocation) -> str:
    return f'[repository]\nurl = "{location.url}"\nref = "{location.ref}"\n'


def setup_source(path: Path) -> str:
    nb = nbformat.read(path, as_version=4)
    return next(c.source for c in nb.cells if c.cell_type == "code"
                and c.metadata.get("nbgrader", {}).get("grade_id") == SETUP_GRADE_ID)


def course_copy(dest: Path, *, nbgrader: bool = False) -> Path:
    """The files ``make release`` reads and stamps, copied to ``dest``."""
    shutil.copytree(REPO_ROOT / "solutions", dest / "solutions",
                    ignore=shutil.ignore_patterns(".ipynb_checkpoints", "__pycache__"))
    for name in ("course.toml", "README.md", "pyproject.toml"):
        shutil.copy(REPO_ROOT / name, dest / name)
    if nbgrader:   # what the root nbgrader_config.py imports
        (dest / "autograder" / "course").mkdir(parents=True)
        for name in ("__init__.py", "course/__init__.py", "course/nbgrader_config.py"):
            shutil.copy(REPO_ROOT / "autograder" / name, dest / "autograder" / name)
        shutil.copy(REPO_ROOT / "nbgrader_config.py", dest)
    return dest


# ------------------------------------------------------------ the one setting

def test_course_toml_names_a_github_repository_and_a_release():
    assert read_location(REPO_ROOT) == COURSE
    assert COURSE.url.startswith("https://github.com/") and COURSE.ref
    meta = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    assert meta["urls"]["Repository"] == COURSE.url, "pyproject.toml: run `make release`"


def test_setup_cell_installs_the_library_at_the_release_not_the_default_branch():
    assert f'COURSE_REPO, COURSE_RELEASE = "{COURSE.url}", "{COURSE.ref}"' in SETUP_CELL
    assert 'f"encoder-lib @ git+{COURSE_REPO}@{COURSE_RELEASE}"' in SETUP_CELL
    assert COURSE.requirement == f"encoder-lib @ git+{COURSE.url}@{COURSE.ref}"
    assert "check_call" not in SETUP_CELL   # a failed install must not end in pip's traceback


@pytest.mark.parametrize("url, ref, wrong", [
    ("https://gitlab.com/ada/encoders", "v1", "repository.url"),
    ("git@github.com:ada/encoders.git", "v1", "repository.url"),
    ("https://github.com/ada", "v1", "repository.url"),
    ('https://github.com/ada/enc"oders', "v1", "repository.url"),
    ("https://github.com/ada/encoders", "", "repository.ref"),
    ("https://github.com/ada/encoders", "spring 2027", "repository.ref"),
    ("https://github.com/ada/encoders", "v1..v2", "repository.ref"),
    ("https://github.com/ada/encoders", '-v1"', "repository.ref"),
])
def test_a_bad_setting_is_refused_naming_the_setting(url, ref, wrong):
    with pytest.raises(ValueError, match=wrong):
        parse_location(url, ref)


def test_a_trailing_slash_or_dot_git_is_dropped_from_the_url():
    assert parse_location("https://github.com/ada/encoders.git/", "v1").url == "https://github.com/ada/encoders"


def test_a_course_toml_without_ref_is_refused(tmp_path):
    (tmp_path / "course.toml").write_text('[repository]\nurl = "https://github.com/ada/encoders"\n')
    with pytest.raises(ValueError, match="no ref"):
        read_location(tmp_path)


def test_stamping_the_committed_course_changes_nothing(tmp_path):
    copy = course_copy(tmp_path / "course")
    assert stamp(copy) == [], "README.md, pyproject.toml or a setup cell lags course.toml: run `make release`"


@pytest.mark.slow
def test_a_fork_url_and_tag_in_course_toml_reach_every_place_after_make_release(tmp_path):
    copy = course_copy(tmp_path / "course", nbgrader=True)
    (copy / "course.toml").write_text(fork_toml(FORK), encoding="utf-8")
    release(copy)

    expected = setup_cell(FORK)
    for nb in course_notebooks():
        for path in (nb.source(copy / "solutions"), nb.release(copy / "notebooks")):
            assert setup_source(path) == expected, f"{path.relative_to(copy)}: setup cell not stamped"
    readme = (copy / "README.md").read_text(encoding="utf-8")
    assert f"Repository: {FORK.url} (release `{FORK.ref}`)" in readme
    for nb in course_notebooks():
        link = FORK.colab_link(f"notebooks/{nb.assignment}/{nb.filename}")
        assert link in readme, f"README.md lacks {link}"
    pyproject = tomllib.loads((copy / "pyproject.toml").read_text(encoding="utf-8"))
    assert pyproject["project"]["urls"]["Repository"] == FORK.url
    stale = [str(p.relative_to(copy)) for p in copy.rglob("*")
             if p.is_file() and p.suffix in {".md", ".toml", ".ipynb"}
             and COURSE.github_repo in p.read_text(encoding="utf-8")]
    assert not stale, f"still naming {COURSE.github_repo}: {stale}"


def git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(repo), "-c", "user.name=t", "-c", "user.email=t@t",
                           *args], check=True, capture_output=True, text=True).stdout.strip()


def test_release_says_what_to_do_with_the_releases_tag(tmp_path):
    repo = tmp_path / "course"
    repo.mkdir()
    git(repo, "init", "-q")
    git(repo, "commit", "-q", "--allow-empty", "-m", "one")
    note = lambda ref: ref_note(repo, CourseLocation(FORK.url, ref))   # noqa: E731
    assert "git tag spring-2027 && git push origin spring-2027" in note("spring-2027")
    git(repo, "tag", "spring-2027")
    assert "is this commit" in note("spring-2027")
    git(repo, "commit", "-q", "--allow-empty", "-m", "two")
    assert "already names commit" in note("spring-2027")
    git(repo, "branch", "term")
    assert "is a branch" in note("term")
    outside = tmp_path / "not-a-repo"
    outside.mkdir()
    assert ref_note(outside, FORK) == ""


# ------------------------------------------------------ the setup cell on Colab

#: A kernel as on a fresh Colab runtime: google.colab imported, no encoder_lib anywhere
#: (this checkout's, on PYTHONPATH or installed editable, is hidden), no proxy settings.
FRESH_COLAB = """\
import importlib.util, os, sys, types
sys.modules["google.colab"] = types.ModuleType("google.colab")
sys.path[:] = [p for p in sys.path if not os.path.isdir(os.path.join(p or ".", "encoder_lib"))]
sys.meta_path[:] = [f for f in sys.meta_path if not f.__module__.startswith("__editable__")]
for var in ("no_proxy", "NO_PROXY", "http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY"):
    os.environ.pop(var, None)
assert importlib.util.find_spec("encoder_lib") is None
"""


def run_cells(cells: list[str], path: Path) -> nbformat.NotebookNode:
    from nbclient import NotebookClient

    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in cells])
    NotebookClient(nb, timeout=240, kernel_name="python3", allow_errors=True,
                   resources={"metadata": {"path": str(path)}}).execute()
    return nb


def library_repo(path: Path) -> Path:
    """A git repository of a stand-in encoder_lib: tag spring-2027, then a later commit on
    the branch that says it is not the release."""
    (path / "encoder_lib").mkdir(parents=True)
    (path / "pyproject.toml").write_text(
        '[build-system]\nrequires = ["setuptools>=61"]\nbuild-backend = "setuptools.build_meta"\n'
        '[project]\nname = "encoder-lib"\nversion = "0.0.1"\n'
        '[tool.setuptools]\npackages = ["encoder_lib"]\n')
    (path / "encoder_lib" / "notebook.py").write_text(
        "from . import RELEASE\n\ndef setup_notebook(seed):\n"
        "    print(f'library of {RELEASE}')\n    return 'cpu'\n")
    (path / "encoder_lib" / "__init__.py").write_text('RELEASE = "the spring-2027 release"\n')
    git(path, "init", "-q")
    git(path, "add", ".")
    git(path, "commit", "-q", "-m", "release")
    git(path, "tag", "spring-2027")
    (path / "encoder_lib" / "__init__.py").write_text('RELEASE = "the branch after the tag"\n')
    git(path, "commit", "-q", "-am", "later work")
    return path


@pytest.mark.slow
def test_setup_cell_on_colab_installs_the_library_at_the_release_tag(hermetic_jupyter, tmp_path):
    repo = library_repo(tmp_path / "course")
    target = tmp_path / "site"   # pip installs here, not into this environment
    prepare = FRESH_COLAB + f"os.environ['PIP_TARGET'] = {str(target)!r}\nsys.path.insert(0, {str(target)!r})"
    nb = run_cells([prepare, setup_cell(CourseLocation(repo.as_uri(), "spring-2027")), "print(DEVICE)"],
                   tmp_path)
    outputs = [o for c in nb.cells for o in c.outputs]
    assert not [o for o in outputs if o.output_type == "error"], outputs
    printed = "".join(o.get("text", "") for o in outputs)
    assert "library of the spring-2027 release" in printed and "after the tag" not in printed
    assert printed.rstrip().endswith("cpu")


# --------------------------------------------- the setup cell when it cannot install

class _AskForPassword(http.server.BaseHTTPRequestHandler):
    """A git host that answers every request as a private repository does."""
    def do_GET(self):
        self.send_response(401)
        self.send_header("WWW-Authenticate", 'Basic realm="private"')
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture
def private_host():
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _AskForPassword)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    server.server_close()


@pytest.mark.slow
def test_setup_cell_that_cannot_install_says_what_to_do_in_one_line(hermetic_jupyter, tmp_path, private_host):
    repo = tmp_path / "course-without-the-tag"
    repo.mkdir()
    git(repo, "init", "-q")
    git(repo, "commit", "-q", "--allow-empty", "-m", "library")
    cases = {   # name: (cell run first, location, what the line must say)
        "local JupyterLab": ('sys.modules.pop("google.colab")', COURSE, "make lab"),
        "tag not pushed": ('sys.modules["google.colab"] = types.ModuleType("google.colab")',
                           CourseLocation(repo.as_uri(), "spring-2027"),
                           "has no release spring-2027: tell your instructor (git push origin spring-2027)"),
        "private repository": ("", CourseLocation(f"{private_host}/ada/encoders", "spring-2027"),
                               "is private or does not exist: tell your instructor"),
        "no network": ('os.environ["https_proxy"] = os.environ["HTTPS_PROXY"] = "http://127.0.0.1:9"',
                       COURSE, "this runtime has no internet"),
    }
    cells = [FRESH_COLAB]
    for before, location, _ in cases.values():
        cells += [before or "pass", setup_cell(location)]
    nb = run_cells(cells, tmp_path)

    assert not nb.cells[0].outputs, nb.cells[0].outputs
    for i, (name, (_, _, says)) in enumerate(cases.items()):
        assert not [o for o in nb.cells[1 + 2 * i].outputs if o.output_type == "error"], name
        outputs = nb.cells[2 + 2 * i].outputs
        errors = [o for o in outputs if o.output_type == "error"]
        assert len(errors) == 1 and errors[0].ename == "SetupError", f"{name}: {outputs}"
        shown = errors[0].traceback
        assert len(shown) == 1 and "\n" not in shown[0], f"{name}: more than one line: {shown}"
        assert shown[0].startswith("Setup stopped: ") and says in shown[0], f"{name}: {shown[0]}"
        assert not [o for o in outputs if o.output_type == "stream"], f"{name}: pip's output shown: {outputs}"
