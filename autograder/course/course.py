"""The course layout and the plumbing every grading job shares.

- what the course is: its assignments (one folder per part under ``solutions/``), its
  notebooks, where it lives (``course.toml``: the repository and the release's tag) and
  the exact setup cell every notebook starts with;
- how to run nbgrader: a hermetic Jupyter environment (own config, data, runtime and
  IPython dirs; the venv's ``bin/`` on PATH because nbgrader shells out to alembic)
  and scratch nbgrader courses in a temporary folder, used by the release, the tests
  and the grader.
"""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Mapping, Sequence

REPO_ROOT = Path(__file__).resolve().parents[2]
SOLUTIONS_DIR = REPO_ROOT / "solutions"
RELEASE_DIR = REPO_ROOT / "notebooks"
#: Git-ignored home of the instructor's grading workspaces and gradebook.
GRADING_DIR = REPO_ROOT / ".grading"
#: The nbgrader metadata schema every nbgrader cell carries.
NBGRADER_SCHEMA_VERSION = 3
#: The one setting for where the course lives (repository and release); ``make release``
#: stamps it into the notebooks, README.md and pyproject.toml.
COURSE_CONFIG_NAME = "course.toml"


# ------------------------------------------------------ where the course lives

_GITHUB_URL = re.compile(r"https://github\.com/(?P<owner>[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)"
                         r"/(?P<repo>[A-Za-z0-9._-]+)")
# what git allows in a tag or branch name, less what would need quoting anywhere we write it
_GIT_REF = re.compile(r"[A-Za-z0-9_][A-Za-z0-9._/+-]*")


@dataclass(frozen=True)
class CourseLocation:
    """Where students get the course: a public GitHub repository and the release in it."""
    url: str   # https://github.com/OWNER/REPO
    ref: str   # the release's tag (or a commit, or a branch: then it moves)

    @property
    def github_repo(self) -> str:
        """``OWNER/REPO``."""
        return self.url.removeprefix("https://github.com/")

    @property
    def requirement(self) -> str:
        """What the setup cell hands pip on Colab: the library at this release."""
        return f"encoder-lib @ git+{self.url}@{self.ref}"

    def colab_link(self, path: str) -> str:
        """The Open-in-Colab address of ``path`` (e.g. ``notebooks/part0_setup/00_setup.ipynb``)
        at this release."""
        return f"https://colab.research.google.com/github/{self.github_repo}/blob/{self.ref}/{path}"


def parse_location(url: str, ref: str, where: str = COURSE_CONFIG_NAME) -> CourseLocation:
    """A checked :class:`CourseLocation`; ValueError naming the setting that is wrong."""
    url = str(url).strip().removesuffix("/").removesuffix(".git")
    if not _GITHUB_URL.fullmatch(url):
        raise ValueError(f"{where}: repository.url must be https://github.com/OWNER/REPO "
                         f"(Colab opens notebooks only from GitHub), not {url!r}")
    ref = str(ref).strip()
    if (not _GIT_REF.fullmatch(ref) or ".." in ref or ref.endswith((".", "/", ".lock"))
            or "//" in ref):
        raise ValueError(f"{where}: repository.ref must be a git tag, commit or branch name "
                         f"(letters, digits, . _ - + /), not {ref!r}")
    return CourseLocation(url, ref)


def _read_toml(path: Path) -> dict:
    text = path.read_text(encoding="utf-8")
    try:
        import tomllib
    except ModuleNotFoundError:   # Python 3.10
        try:
            import tomli as tomllib
        except ModuleNotFoundError:   # only `key = "value"` lines, which is all course.toml has
            return {"repository": dict(re.findall(r'^\s*(\w+)\s*=\s*"([^"]*)"', text, re.MULTILINE))}
    return tomllib.loads(text)


def read_location(root: str | os.PathLike = REPO_ROOT) -> CourseLocation:
    """The course's location from ``root/course.toml`` ([repository] url and ref)."""
    path = Path(root) / COURSE_CONFIG_NAME
    if not path.is_file():
        raise FileNotFoundError(f"{path} does not exist: it says where the course lives "
                                "([repository] url and ref)")
    table = _read_toml(path).get("repository", {})
    missing = [key for key in ("url", "ref") if not table.get(key)]
    if missing:
        raise ValueError(f"{path}: [repository] has no {' or '.join(missing)}")
    return parse_location(table["url"], table["ref"], where=str(path))


#: Where this course lives, and the repository URL alone.
COURSE = read_location()
REPO_URL = COURSE.url


def setup_cell(location: CourseLocation) -> str:
    """The first code cell of every notebook, for a course at ``location``.

    On Colab it pip-installs the library at the release's tag when it is missing; when
    that cannot work (no network, a private repository, a tag not pushed) it stops with
    one line saying what to do, not pip's output. Elsewhere it installs nothing.
    """
    return f'''\
# @title Setup: run this cell first {{ display-mode: "form" }}
# On Colab this installs the course library when it is missing, at the release these
# notebooks belong to (torch and Jupyter are already there and stay as they are); in a
# local JupyterLab it installs nothing. Then it seeds the random generators and reports
# the device. When it cannot go on, it says in one line what to do.
import importlib, importlib.util, os, subprocess, sys
COURSE_REPO, COURSE_RELEASE = "{location.url}", "{location.ref}"

class SetupError(Exception):
    def _render_traceback_(self):   # Jupyter shows this one line, not a traceback
        return [f"Setup stopped: {{self}}"]

if importlib.util.find_spec("encoder_lib") is None:
    if "google.colab" not in sys.modules:
        raise SetupError("the course library is not installed for this kernel: "
                         "start JupyterLab with `make lab` in the course folder")
    pip = subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-input",
                          f"encoder-lib @ git+{{COURSE_REPO}}@{{COURSE_RELEASE}}"],
                         capture_output=True, text=True,
                         env=dict(os.environ, GIT_TERMINAL_PROMPT="0"))   # never ask for a password
    if pip.returncode != 0:
        log = pip.stdout + pip.stderr
        hints = {{
            "this runtime has no internet: reconnect it (Runtime > Disconnect and delete "
            "runtime), then run this cell again":
                ("resolve host", "Failed to connect", "Network is unreachable"),
            f"{{COURSE_REPO}} is private or does not exist: tell your instructor (students "
            "can only install the course from a public repository)":
                ("could not read Username", "Repository not found", "Authentication failed"),
            f"{{COURSE_REPO}} has no release {{COURSE_RELEASE}}: tell your instructor "
            f"(git push origin {{COURSE_RELEASE}})":
                ("did not match any", "unknown revision"),
        }}
        last = (log.strip().splitlines() or ["no output"])[-1]
        raise SetupError(next((hint for hint, clues in hints.items() if any(c in log for c in clues)),
                              f"pip could not install the course library ({{last}}): run this "
                              "cell again, and if it fails again send this line to your instructor"))
    importlib.invalidate_caches()
from encoder_lib.notebook import setup_notebook
DEVICE = setup_notebook(seed=0)'''


#: The setup cell of this course, character for character (a locked nbgrader cell with
#: grade_id ``setup``). Colab folds it under its title.
SETUP_CELL = setup_cell(COURSE)

SETUP_GRADE_ID = "setup"


def setup_cell_metadata() -> dict:
    """The nbgrader metadata of the setup cell (read-only, not graded)."""
    return {"nbgrader": {"grade": False, "grade_id": SETUP_GRADE_ID, "locked": True,
                         "schema_version": NBGRADER_SCHEMA_VERSION, "solution": False,
                         "task": False}}


def new_setup_cell():
    """A fresh setup cell (an nbformat code cell) for authoring a notebook."""
    import nbformat

    return nbformat.v4.new_code_cell(SETUP_CELL, metadata=setup_cell_metadata())


# ---------------------------------------------------------------- course layout

@dataclass(frozen=True)
class CourseNotebook:
    assignment: str   # the part's folder name, e.g. "part1_representations"
    name: str         # the notebook's file stem, e.g. "02_self_attention"

    @property
    def filename(self) -> str:
        return f"{self.name}.ipynb"

    def source(self, solutions: Path = SOLUTIONS_DIR) -> Path:
        return Path(solutions) / self.assignment / self.filename

    def release(self, notebooks: Path = RELEASE_DIR) -> Path:
        return Path(notebooks) / self.assignment / self.filename

    def __str__(self) -> str:
        return f"{self.assignment}/{self.filename}"


def assignments(solutions: Path = SOLUTIONS_DIR) -> list[str]:
    """The course's assignments: every folder of ``solutions`` holding a notebook."""
    return sorted(p.name for p in Path(solutions).iterdir()
                  if p.is_dir() and not p.name.startswith(".") and any(p.glob("*.ipynb")))


def course_notebooks(solutions: Path = SOLUTIONS_DIR) -> list[CourseNotebook]:
    """Every notebook of every assignment, in course order."""
    return [CourseNotebook(a, nb.stem)
            for a in assignments(solutions)
            for nb in sorted((Path(solutions) / a).glob("*.ipynb"))]


# ------------------------------------------------------------ running nbgrader

def jupyter_env(base: str | os.PathLike, extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """Environment variables for a hermetic Jupyter/nbgrader run under ``base``.

    Jupyter's config, data and runtime dirs and IPython's dir are fresh folders, the
    running interpreter's ``bin/`` leads PATH (nbgrader runs ``alembic`` from there),
    the repository is importable, and grading mode is off unless ``extra`` sets it.
    """
    base = Path(base)
    env = dict(os.environ)
    for var, sub in (("JUPYTER_CONFIG_DIR", "jupyter_config"), ("JUPYTER_DATA_DIR", "jupyter_data"),
                     ("JUPYTER_RUNTIME_DIR", "jupyter_runtime"), ("IPYTHONDIR", "ipython")):
        path = base / sub
        path.mkdir(parents=True, exist_ok=True)
        env[var] = str(path)
    env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])
    env["PYTHONPATH"] = os.pathsep.join(p for p in [str(REPO_ROOT), env.get("PYTHONPATH", "")] if p)
    env["JUPYTER_PLATFORM_DIRS"] = "1"   # no deprecation notice on stderr
    env.pop("NBGRADER_EXECUTION", None)
    env.pop("NBGRADER_VALIDATING", None)
    env.update(extra or {})
    return env


class NbgraderError(RuntimeError):
    """nbgrader exited with an error; the message carries its log."""


def run_nbgrader(args: Sequence[str], root: str | os.PathLike, env: Mapping[str, str],
                 timeout: float | None = None) -> subprocess.CompletedProcess:
    """Run ``nbgrader <args>`` in the course at ``root``; raise NbgraderError on failure."""
    cmd = [sys.executable, "-m", "nbgrader", *args]
    proc = subprocess.run(cmd, cwd=root, env=dict(env), capture_output=True, text=True,
                          timeout=timeout)
    if proc.returncode != 0:
        raise NbgraderError(f"`nbgrader {' '.join(args)}` in {root} exited with {proc.returncode}:\n"
                            f"{proc.stdout}\n{proc.stderr}")
    return proc


def write_course_config(root: str | os.PathLike, **settings) -> Path:
    """Write ``root/nbgrader_config.py`` calling :func:`autograder.course.nbgrader_config.configure`
    with ``settings`` (source, release, workspace, db_url)."""
    root = Path(root).resolve()
    args = "".join(f", {k}={v!r}" for k, v in settings.items())
    path = root / "nbgrader_config.py"
    path.write_text(
        '"""Scratch nbgrader course written by autograder.course.course."""\n'
        "import sys\n"
        f"sys.path.insert(0, {str(REPO_ROOT)!r})\n"
        "from autograder.course.nbgrader_config import configure\n"
        f"configure(get_config(), root={str(root)!r}{args})\n",
        encoding="utf-8")
    return path


@dataclass(frozen=True)
class ScratchCourse:
    """An nbgrader course in a scratch folder: ``source/`` (when kept), ``release/``,
    ``submitted/``, ``autograded/``, ``feedback/`` and ``gradebook.db`` under ``root``."""
    root: Path
    env: dict

    @property
    def db_url(self) -> str:
        return f"sqlite:///{self.root / 'gradebook.db'}"

    def path(self, step: str, assignment: str, student: str | None = None) -> Path:
        """Folder of ``assignment`` in step ``source``/``release`` (no student) or
        ``submitted``/``autograded``/``feedback`` (for ``student``)."""
        return self.root / step / student / assignment if student else self.root / step / assignment

    def nbgrader(self, *args: str, timeout: float | None = None) -> subprocess.CompletedProcess:
        return run_nbgrader(args, self.root, self.env, timeout=timeout)

    def submit(self, student: str, assignment: str, notebooks: Iterable[str | os.PathLike]) -> Path:
        """Copy ``notebooks`` into ``submitted/<student>/<assignment>/``."""
        dest = self.path("submitted", assignment, student)
        dest.mkdir(parents=True, exist_ok=True)
        for nb in notebooks:
            shutil.copyfile(nb, dest / Path(nb).name)
        return dest

    def autograde(self, assignment: str = "*", student: str = "*",
                  timeout: float | None = None) -> subprocess.CompletedProcess:
        """``nbgrader autograde`` (all assignments and students by default), in one run."""
        return self.nbgrader("autograde", assignment, f"--student={student}", "--force",
                             timeout=timeout)

    def clone(self, dest: str | os.PathLike, env: Mapping[str, str] | None = None) -> "ScratchCourse":
        """A copy of this course (gradebook included) at ``dest``, e.g. for a parallel
        grading run with its own gradebook."""
        dest = Path(dest).resolve()
        shutil.copytree(self.root, dest)
        write_course_config(dest, source="source", release="release", workspace=None)
        return ScratchCourse(dest, dict(env) if env is not None else dict(self.env))

    def scores(self) -> dict[tuple[str, str, str], dict[str, tuple[float | None, float]]]:
        """``{(student, assignment, notebook): {grade_id: (auto_score, max_score)}}``
        for every graded notebook in the gradebook."""
        from nbgrader.api import Gradebook

        out: dict = {}
        with Gradebook(self.db_url) as gb:
            for assignment in gb.assignments:
                for submission in assignment.submissions:
                    for nb in submission.notebooks:
                        key = (submission.student.id, assignment.name, nb.name)
                        out[key] = {g.name: (g.auto_score, g.max_score) for g in nb.grades}
        return out


def make_scratch_course(root: str | os.PathLike, *, solutions: Path = SOLUTIONS_DIR,
                        assignment_ids: Iterable[str] | None = None, keep_source: bool = True,
                        env: Mapping[str, str] | None = None, timeout: float | None = 600) -> ScratchCourse:
    """Build an nbgrader course in ``root`` from the course's solutions.

    Copies the assignments into ``root/source``, runs one ``nbgrader generate_assignment``
    over all of them (filling ``root/gradebook.db`` with the cells, hidden tests
    included, that autograde restores) and leaves the student release in
    ``root/release``. With ``keep_source=False`` the source is deleted afterwards, so the
    course holds only release material plus the gradebook.
    """
    root = Path(root).resolve()
    root.mkdir(parents=True, exist_ok=True)
    ids = list(assignment_ids) if assignment_ids is not None else assignments(solutions)
    if not ids:
        raise ValueError(f"no assignments (folders with notebooks) found in {solutions}")
    for a in ids:
        src = Path(solutions) / a
        if not src.is_dir():
            raise ValueError(f"unknown assignment {a!r}: {src} does not exist")
        shutil.copytree(src, root / "source" / a, dirs_exist_ok=True,
                        ignore=shutil.ignore_patterns(".ipynb_checkpoints", "__pycache__"))
    write_course_config(root, source="source", release="release", workspace=None)
    course = ScratchCourse(root, dict(env) if env is not None else jupyter_env(root / ".jupyter"))
    course.nbgrader("generate_assignment", "*", "--force", timeout=timeout)
    if not keep_source:
        shutil.rmtree(root / "source")
    return course
