"""The grader's folders follow its stages and its imports run one way.

``autograder/`` holds one sub-package per stage, in the order a submission meets them
(see ``autograder/__init__.py``). A module may import from its own stage and from
earlier ones, never from a later stage or from the orchestration on top (``grade.py``,
``master.py``). Imports are read with ``ast`` (relative and absolute ones, also inside
functions), and so are module names given as strings (``-m autograder.sandbox.worker``,
the preprocessor nbgrader's config names), which load code just the same.
"""
from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
PACKAGE = REPO / "autograder"
#: The stages, first to last.
STAGES = ("course", "intake", "sandbox", "reporting")
#: Modules on top of the stages: they drive them and may import any of them.
TOP_LEVEL = {"__init__", "grade", "master"}
#: Scripts run by path inside the kernel's sandbox (kernel_boot.py and kernel_probe.py
#: are mounted alone into /opt/autograder): they may import nothing of the package.
STANDALONE = {"sandbox/kernel_boot.py", "sandbox/kernel_probe.py", "sandbox/sandbox_launch.py",
              "sandbox/sandbox_reach.py"}
DOTTED = re.compile(r"\bautograder((?:\.\w+)+)")


def modules(package: Path) -> list[Path]:
    return sorted(p for p in package.rglob("*.py") if "demo_cohort" not in p.parts)


def module_name(package: Path, path: Path) -> str:
    parts = list(path.relative_to(package).with_suffix("").parts)
    return ".".join(["autograder", *parts])


def _docstring_nodes(tree: ast.Module) -> set[int]:
    nodes = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
                nodes.add(id(body[0].value))
    return nodes


def references(package: Path, path: Path) -> list[tuple[int, str, str]]:
    """(line, module it reaches, how) for every import of, and every module name given as
    a string (docstrings aside) for, something inside the package."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    own = module_name(package, path).split(".")
    here = own if path.name == "__init__.py" else own[:-1]   # the module's package
    found = []
    docstrings = _docstring_nodes(tree)
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = here[: len(here) - node.level + 1]
                target = ".".join([*base, node.module] if node.module else base)
                how = f"from {'.' * node.level}{node.module or ''} import ..."
            else:
                target, how = node.module or "", f"from {node.module} import ..."
            names = [target] if node.module else [f"{target}.{a.name}" for a in node.names]
            found += [(node.lineno, name, how) for name in names if name.startswith("autograder")]
        elif isinstance(node, ast.Import):
            found += [(node.lineno, a.name, f"import {a.name}") for a in node.names
                      if a.name.split(".")[0] == "autograder"]
        elif (isinstance(node, ast.Constant) and isinstance(node.value, str)
              and id(node) not in docstrings):
            for m in DOTTED.finditer(node.value):
                found.append((node.lineno, "autograder" + m.group(1), f"the string {m.group(0)!r}"))
    return found


def place(name: str) -> str | None:
    """The stage (or top-level module) a dotted name inside ``autograder`` belongs to."""
    parts = name.split(".")
    return parts[1] if len(parts) > 1 else None


def exists(package: Path, name: str) -> bool:
    """Whether the module ``name`` (``autograder.stage.module``) is in the package."""
    path = package.joinpath(*name.split(".")[1:])
    return path.with_suffix(".py").is_file() or (path / "__init__.py").is_file()


def layout_problems(package: Path = PACKAGE) -> list[str]:
    problems = []
    for path in modules(package):
        rel = path.relative_to(package).as_posix()
        parts = path.relative_to(package).parts
        if len(parts) == 1:
            if path.stem not in TOP_LEVEL:
                problems.append(f"autograder/{rel} sits at the top level: move it (git mv) into the stage "
                                f"it belongs to ({', '.join(STAGES)}), or list it in TOP_LEVEL if it drives "
                                "the stages as grade.py does")
            continue
        stage = parts[0]
        if stage not in STAGES or len(parts) > 2:
            problems.append(f"autograder/{rel} is in no known stage: the stages are {', '.join(STAGES)} "
                            "(a new one goes into STAGES, in its place in the order)")
            continue
        for line, target, how in references(package, path):
            where = place(target)
            if not how.startswith("the string") and not exists(package, target):
                problems.append(f"autograder/{rel}:{line}: {how} reaches {target}, which is no module "
                                "of the package (moved to another stage?)")
            if rel in STANDALONE and not how.startswith("the string"):
                problems.append(f"autograder/{rel}:{line}: {how} reaches {target}, but this script runs "
                                "on its own (by path, in the sandbox) and may import nothing of the package")
            elif where is None or where == stage:
                continue
            elif where in TOP_LEVEL:
                problems.append(f"autograder/{rel}:{line}: {how} reaches {target}, the orchestration on "
                                f"top; stage '{stage}' may import only from itself and earlier stages")
            elif where in STAGES and STAGES.index(where) > STAGES.index(stage):
                problems.append(f"autograder/{rel}:{line}: {how} reaches {target}: stage '{where}' comes "
                                f"after '{stage}' (order: {' < '.join(STAGES)})")
        if rel in STANDALONE:
            tree = ast.parse(path.read_text(encoding="utf-8"))
            if any(isinstance(n, ast.ImportFrom) and n.level for n in ast.walk(tree)):
                problems.append(f"autograder/{rel}: a relative import in a script that runs by path")
    return problems


def test_every_module_sits_in_a_stage_and_imports_only_earlier_stages():
    problems = layout_problems()
    assert not problems, "autograder/ layout:\n" + "\n".join(problems)


def test_every_stage_says_what_it_does():
    for stage in STAGES:
        init = PACKAGE / stage / "__init__.py"
        assert init.is_file(), f"autograder/{stage}/ has no __init__.py"
        doc = ast.get_docstring(ast.parse(init.read_text(encoding="utf-8")))
        assert doc and doc.startswith(f"Stage {STAGES.index(stage) + 1}, "), \
            f"autograder/{stage}/__init__.py must open with a docstring 'Stage {STAGES.index(stage) + 1}, ...'"


def _write(root: Path, rel: str, text: str) -> None:
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


def test_the_check_names_a_backward_import_a_stray_module_and_a_string_reference(tmp_path):
    root = tmp_path / "autograder"
    for stage in STAGES:
        _write(root, f"{stage}/__init__.py", "")
    _write(root, "__init__.py", "")
    _write(root, "grade.py", "from .reporting.report import build\n")
    _write(root, "intake/repair.py", "def f():\n    from ..reporting.results import Row\n")
    _write(root, "intake/ok.py", "from ..course.feedback import BEGIN\nfrom . import repair\n")
    _write(root, "course/feedback.py", "BEGIN = 1\n")
    _write(root, "reporting/merge.py", "from .deadlines import after_penalty\n")
    _write(root, "course/cfg.py", "'''Doc naming autograder.reporting.x is fine.'''\nX = 'autograder.sandbox.worker'\n")
    _write(root, "course/up.py", "import autograder.grade\n")
    _write(root, "sandbox/kernel_boot.py", "from autograder.course import course\n")
    _write(root, "stray.py", "")
    problems = "\n".join(layout_problems(root))
    assert "autograder/intake/repair.py:2: from ..reporting.results import ... reaches " \
           "autograder.reporting.results: stage 'reporting' comes after 'intake'" in problems
    assert "autograder/course/cfg.py:2: the string 'autograder.sandbox.worker'" in problems
    assert "autograder/course/up.py:1: import autograder.grade reaches autograder.grade, the orchestration" in problems
    assert "autograder/sandbox/kernel_boot.py:1:" in problems and "may import nothing" in problems
    assert "autograder/stray.py sits at the top level" in problems
    assert "autograder/reporting/merge.py:1: from .deadlines import ... reaches autograder.reporting.deadlines, " \
           "which is no module" in problems
    assert "ok.py" not in problems and "grade.py sits" not in problems and "Doc naming" not in problems


DOCUMENTED = ["README.md", "Makefile", "autograder/GRADING.md", "solutions/README.md",
              *sorted(p.relative_to(REPO).as_posix() for p in (REPO / "docs").rglob("*.md")),
              *sorted(p.relative_to(REPO).as_posix() for p in modules(PACKAGE)),
              *sorted(p.relative_to(REPO).as_posix() for p in (REPO / "tests").glob("*.py")
                      if p.name != Path(__file__).name),
              *sorted(p.relative_to(REPO).as_posix() for p in (REPO / "scripts").glob("*.py")),
              *sorted(p.relative_to(REPO).as_posix() for p in (REPO / "bench").glob("*.py"))]


@pytest.mark.parametrize("doc", [d for d in DOCUMENTED if (REPO / d).is_file()])
def test_documented_commands_and_paths_name_modules_that_exist(doc):
    text = (REPO / doc).read_text(encoding="utf-8")
    missing = []
    for m in re.finditer(r"-m[\"', ]+(autograder(?:\.\w+)+)", text):
        path = REPO / Path(*m.group(1).split("."))
        if not path.with_suffix(".py").is_file() and not (path / "__main__.py").is_file():
            missing.append(f"python -m {m.group(1)}")
    for m in re.finditer(r"\bautograder/[\w/]+\.py\b", text):
        if not (REPO / m.group(0)).is_file():
            missing.append(m.group(0))
    assert not missing, f"{doc} names modules that do not exist (moved?): {sorted(set(missing))}"
