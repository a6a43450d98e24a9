"""The intake scan names code only cheating needs, and nothing in honest work.

:func:`autograder.intake.scan.scan_notebook` reads the cells a student may write, without
running them. Honest work of every kind (the instructor's solutions, every planted
alternative and bug, the demo class, a student using magics) gives no finding; each kind
of cheat gives its construct on its line; the findings reach report.txt and report.html
as "needs review" and cost nothing. No grading run: notebooks are made or read here.
"""
from __future__ import annotations

import copy
import json
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from autograder.course.course import RELEASE_DIR, SOLUTIONS_DIR
from autograder.intake.repair import repair
from autograder.intake.scan import Finding, scan_notebook
from autograder.intake.scan_rules import RULES
from autograder.reporting import report, report_html
from autograder.reporting.results import job_rows

REPO = Path(__file__).resolve().parent.parent
PLANTED = sorted((REPO / "tests" / "planted").glob("*.json"))
COHORT = REPO / "autograder" / "demo_cohort"

#: A read-only course cell as these notebooks have one: imports and a course object.
SETUP = """import math
import torch
import torch.nn.functional as F
from torch import nn
from encoder_lib import load_pretrained
from encoder_lib.checks import LIBRARY_SOFTMAX, check_close, check_shape
model, tok = load_pretrained()

def reference_softmax(x):
    return torch.softmax(x, dim=-1)
"""


def _meta(grade_id: str, *, solution=False, locked=False, grade=False) -> dict:
    return {"nbgrader": {"grade_id": grade_id, "solution": solution, "locked": locked, "grade": grade,
                         "schema_version": 3}}


def notebook(answer: str, *extra) -> nbformat.NotebookNode:
    """Course setup, one answer cell (grade id ``ex_answer``), a test cell, then ``extra`` cells."""
    return new_notebook(cells=[
        new_code_cell(SETUP, metadata=_meta("setup", locked=True)),
        new_markdown_cell("Write `softmax`.", metadata=_meta("intro", locked=True)),
        new_code_cell(answer, metadata=_meta("ex_answer", solution=True)),
        new_code_cell("check_close('softmax', softmax(torch.zeros(2)), torch.full((2,), 0.5))",
                      metadata=_meta("test_answer", grade=True, locked=True)),
        *extra])


def found(nb, release=None) -> list[tuple[str, int, str]]:
    return [(f.where, f.line, f.construct) for f in scan_notebook(nb, release)]


def _student_source(source: str) -> str:
    return "\n".join(line for line in source.splitlines()
                     if line.strip() not in ("### BEGIN SOLUTION", "### END SOLUTION"))


# ----------------------------------------------------------------------------- honest work
@pytest.mark.parametrize("path", sorted(SOLUTIONS_DIR.glob("*/*.ipynb")), ids=lambda p: p.stem)
def test_the_instructors_solutions_need_no_review(path):
    nb = nbformat.read(path, as_version=4)
    release = RELEASE_DIR / path.parent.name / path.name
    assert found(nb) == []
    if release.is_file():
        assert found(nb, nbformat.read(release, as_version=4)) == []


@pytest.mark.parametrize("corpus", PLANTED, ids=lambda p: p.stem)
def test_every_planted_alternative_and_bug_needs_no_review(corpus):
    """Alternatives are correct answers in another style; bugs are honest mistakes: neither is cheating."""
    data = json.loads(corpus.read_text(encoding="utf-8"))
    solution = nbformat.read(SOLUTIONS_DIR / data["assignment"] / f"{data['notebook']}.ipynb", as_version=4)
    release = nbformat.read(RELEASE_DIR / data["assignment"] / f"{data['notebook']}.ipynb", as_version=4)
    flagged = {}
    for variant in data["variants"]:
        nb = copy.deepcopy(solution)
        cell = next(c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") == variant["grade_id"])
        cell.source = _student_source(variant["source"])
        hits = found(nb, release)
        if hits:
            flagged[f"{variant['kind']} {variant['id']}"] = hits
    assert not flagged, f"honest answers flagged: {flagged}"


@pytest.mark.parametrize("student", sorted(p.name for p in COHORT.iterdir() if p.is_dir()))
def test_the_demo_class_needs_no_review(student):
    """Every demo student is honest (right, wrong, unanswered, broken, Colab copies): no finding,
    on the notebook as the grader repairs it."""
    from autograder.intake.intake import collect

    parts = {p.stem: p.parent.name for p in RELEASE_DIR.glob("*/*.ipynb")}
    intake = collect(COHORT / student, {nb: part for nb, part in parts.items()}, ungraded={"00_setup"})
    flagged = {}
    for submissions in intake.students.values():
        for nb, cand in submissions.items():
            release = nbformat.read(RELEASE_DIR / cand.assignment / f"{nb}.ipynb", as_version=4)
            fixed, _ = repair(cand.raw, release)
            if fixed is not None and found(fixed, release):
                flagged[nb] = found(fixed, release)
    assert not flagged, f"{student}: {flagged}"


def test_magics_shell_commands_strings_and_comments_are_not_findings():
    added = new_code_cell("%matplotlib inline\n"
                          "%timeit softmax(torch.zeros(3))\n"
                          "!ls -la\n"
                          "files = !ls\n"
                          "!pip list | head\n"
                          "print('print(globals())', \"sys._getframe(1)\")\n"
                          "# a comment about sys._getframe and gc.get_objects\n"
                          "%time x = softmax(torch.zeros(3))\n")
    magic_cell = new_code_cell("%%time\ny = softmax(torch.ones(4))\n")
    answer = ("def softmax(x, dim=-1):\n"
              "    '''Not exec(...), not getattr(torch, name).'''\n"
              "    e = torch.exp(x - x.amax(dim=dim, keepdim=True))\n"
              "    return e / e.sum(dim=dim, keepdim=True)\n")
    assert found(notebook(answer, added, magic_cell)) == []


def test_a_students_own_objects_and_modules_are_theirs_to_change():
    answer = ("class Head(nn.Module):\n"
              "    def __init__(self, d):\n"
              "        super().__init__()\n"
              "        self.proj = nn.Linear(d, 2)\n"
              "    def forward(self, h):\n"
              "        return self.proj(h)\n"
              "    def extra_repr(self):\n"
              "        return 'head'\n"
              "head = Head(4)\n"
              "head.scale = 2.0\n"
              "model.eval()\n"
              "for kind in ('weight', 'bias'):\n"
              "    getattr(head.proj, kind).data.zero_()\n"
              "with open('notes.txt', 'w') as f:\n"
              "    f.write('ok')\n"
              "torch.backends.cudnn.deterministic = True\n"
              "if 'W_o' not in globals():\n"
              "    W_o = torch.zeros(2)\n")
    assert found(notebook(answer)) == []


def test_a_course_object_rebound_by_the_student_becomes_theirs():
    answer = "tok = make_my_tokenizer()\ntok.lowercase = False\n"
    assert found(notebook(answer)) == []



def test_everyday_habits_of_honest_students_are_not_findings():
    """What students do on Colab and laptops: free memory, fetch and unpack data, keep notes in
    Colab's working folder, name a variable input, reach attributes by names written out."""
    habits = new_code_cell("del head\n"
                           "import gc\n"
                           "gc.collect()\n"
                           "!mkdir -p data && wget -q https://example.com/d.zip && unzip -q d.zip -d data\n"
                           "with open('/content/notes.txt', 'w') as f:\n"
                           "    f.write('run 3')\n"
                           "input = 'The bank by the river'\n"
                           "name = 'weight'\n"
                           "print(getattr(model.pooler, name).shape)\n"
                           "for key, value in {'lr': 1e-3, 'epochs': 2}.items():\n"
                           "    setattr(cfg, key, value)\n"
                           "import os\n"
                           "with open(os.path.join('out', 'log.txt'), 'w') as f:\n"
                           "    f.write('epoch 1')\n"
                           "lr = globals().get('LR', 1e-3)\n"
                           "%load_ext tensorboard\n"
                           "!git clone -q https://example.com/notes.git\n")
    assert found(notebook("head = nn.Linear(4, 2)\ncfg = SimpleConfig()\n", habits)) == []


def test_a_copy_of_a_course_or_test_cell_is_read_as_the_course_cell():
    """Running the set-up again, or pasting a visible test to debug it, runs nothing the course
    does not: with the release at hand it is not scanned as the student's code."""
    nb = notebook("y = 1\n")
    release = notebook("raise NotImplementedError()\n")
    for copied in (nb.cells[0], nb.cells[3]):
        again = new_code_cell(copied.source + "\n")          # as pasted: no grading metadata
        assert found(notebook("y = 1\n", again), release) == [], copied.metadata["nbgrader"]["grade_id"]
    edited = new_code_cell(SETUP + "import ctypes\n")
    assert ("cell 5", len(SETUP.splitlines()) + 1, "native_memory") in found(notebook("y = 1\n", edited), release)


def test_names_written_out_still_name_what_they_reach():
    """A name bound to a string, or a loop over a dict's keys, is read as the literal it holds."""
    assert found(notebook("import sys\nf = sys._getframe(0)\nname = 'f_locals'\nv = getattr(f, name)\n"))[-1] \
        == ("ex_answer", 4, "frame_access")
    assert found(notebook("for k, v in {'softmax': None}.items():\n    setattr(F, k, v)\n")) \
        == [("ex_answer", 2, "patches_module")]
    assert found(notebook("import gc\nobjects = __import__('gc').get_objects()\n")) == [("ex_answer", 2, "gc")]

# ----------------------------------------------------------------------------- cheats found
CHEATS = [
    # (what, answer cell source, construct, line)
    ("finalizer on a class named NotImplementedError",
     "class NotImplementedError(Exception):\n    def __del__(self):\n        print('gone')\n",
     "finalizer", 2),
    ("a class named like a builtin exception",
     "class NotImplementedError(Exception):\n    pass\n", "rebinds_builtin", 1),
    ("frame locals of the caller", "import sys\nseen = sys._getframe(1).f_locals\n", "frame_access", 2),
    ("walking the stack", "import traceback\nframes = list(traceback.walk_stack(None))\n", "frame_access", 2),
    ("a Tensor subclass whose __torch_function__ lies",
     "class Always(torch.Tensor):\n    @classmethod\n    def __torch_function__(cls, func, types, args=(), kwargs=None):\n"
     "        return True\n", "lying_dunder", 3),
    ("a quiz answer whose __eq__ raises",
     "class Answer:\n    def __eq__(self, other):\n        raise AssertionError('no')\nQUIZ_1 = Answer()\n",
     "lying_dunder", 2),
    ("type rebound", "type = lambda x: str\n", "rebinds_builtin", 1),
    ("isinstance rebound inside a function, declared global",
     "def f():\n    global isinstance\n    isinstance = lambda *a: True\n", "rebinds_builtin", 3),
    ("Tensor.any patched", "torch.Tensor.any = lambda self: True\n", "patches_module", 1),
    ("torch.allclose patched through an alias", "T = torch\nT.allclose = lambda *a, **k: True\n",
     "patches_module", 2),
    ("setattr on an imported module", "setattr(F, 'layer_norm', None)\n", "patches_module", 1),
    ("the checks' call lists emptied",
     "import encoder_lib.checks.calls as c\nc.LIBRARY_SOFTMAX.clear()\n", "grader_internals", 2),
    ("the checks' call list imported in the course, used by the student", "LIBRARY_SOFTMAX.clear()\n",
     "grader_internals", 1),
    ("a course object patched", "tok.encode = lambda t: []\n", "patches_course_object", 1),
    ("a course helper rebound", "check_close = lambda *a, **k: None\n", "rebinds_course_name", 1),
    ("the course's reference function rebound", "def reference_softmax(x):\n    return softmax(x)\n",
     "rebinds_course_name", 1),
    ("the IPython shell's display publisher", "get_ipython().display_pub.publish({'text/plain': 'ok'})\n",
     "ipython_shell", 1),
    ("an IPython event hook", "ip = get_ipython()\nip.events.register('post_run_cell', print)\n",
     "ipython_shell", 1),
    ("raw display messages", "from IPython.display import publish_display_data\n", "output_hook", 1),
    ("the grader's MIME type", "display({'application/vnd.autograder.result': 1}, raw=True)\n", "output_hook", 1),
    ("sys.displayhook replaced", "import sys\nsys.displayhook = print\n", "output_hook", 2),
    ("gc walks every object", "import gc\nobjects = gc.get_objects()\n", "gc", 2),
    ("the notebook's own module holds every name", "import __main__\nns = __main__.__dict__\n", "namespace_access", 1),
    ("a module's dict reaches what its names hide", "import sys\nf = sys.__dict__['_getframe']\n",
     "namespace_access", 2),
    ("a match pattern captures a course name", "match softmax_impl:\n    case F:\n        pass\n",
     "rebinds_course_name", 2),
    ("a walrus in a comprehension binds for the notebook", "y = [(F := 1) for _ in 'a']\n",
     "rebinds_course_name", 1),
    ("an except clause binds a course name", "try:\n    pass\nexcept ValueError as F:\n    pass\n",
     "rebinds_course_name", 3),
    ("a function imports over a course name", "def f():\n    global F\n    import numpy as F\n",
     "rebinds_course_name", 3),
    ("a course name deleted", "del F\n", "rebinds_course_name", 1),
    ("a course object's class patched through type()", "type(tok).encode = lambda self, text: []\n",
     "patches_course_object", 1),
    ("a course object's class named, then patched", "cls = type(model)\ncls.forward = lambda self, *a: None\n",
     "patches_course_object", 2),
    ("a logging listener is a thread", "import logging.handlers\nl = logging.handlers.QueueListener(q)\n",
     "background", 2),
    ("runpy runs code named at run time", "import runpy\n", "dynamic_code", 1),
    ("a debugger is a tracer", "import bdb\nclass Tidy(bdb.Bdb):\n    pass\n", "tracing", 1),
    ("a frame's arguments", "import inspect\nargs = inspect.getargvalues(frame)\n", "frame_access", 2),
    ("a module the notebook writes runs unread code", "with open('helpers.py', 'w') as f:\n    f.write(code)\n",
     "file_write", 1),
    ("imports from where the notebook says", "import sys\nsys.path.insert(0, '.')\n", "import_path", 2),
    ("posix is os without the name", "import posix\nposix.fork()\n", "process_control", 1),
    ("the input history holds the test being run", "def f(x):\n    raise ValueError(In[-1])\n", "cell_sources", 2),
    ("the line cache holds every cell run", "import linecache\n", "cell_sources", 1),
    ("the test's probe is the grader's", "def f(x):\n    __probe__.truth(0, lambda: True)\n", "grader_internals", 2),
    ("raw memory", "import ctypes\nsecret = ctypes.string_at(0x1000, 32)\n", "native_memory", 2),
    ("exec of decoded bytes", "import base64\nexec(base64.b64decode(s))\n", "dynamic_code", 2),
    ("eval of a computed string", "f = eval('soft' + 'max')\n", "dynamic_code", 1),
    ("a computed import", "m = __import__('g' + 'c')\n", "dynamic_code", 1),
    ("a computed attribute of torch", "f = getattr(torch, 'native_' + 'layer_norm')\n", "computed_attribute", 1),
    ("a thread left running", "import threading\nthreading.Thread(target=print).start()\n", "background", 2),
    ("a tracer", "import sys\nsys.settrace(lambda *a: None)\n", "tracing", 2),
    ("the notebook's namespace written", "globals()['check_close'] = print\n", "namespace_access", 1),
    ("the module table", "import sys\nsys.modules['torch'] = None\n", "patches_module", 2),
    ("torch's private dispatch", "from torch.utils._python_dispatch import TorchDispatchMode\n",
     "torch_internals", 1),
    ("the grader's own module", "guard = __autograder_guard__\n", "grader_internals", 1),
    ("a process killed", "import os\nos.kill(os.getppid(), 9)\n", "process_control", 2),
    ("a file written outside the folder", "open('/tmp/answers.txt', 'w').write('x')\n", "file_write", 1),
    ("__dict__ written", "model.__dict__['training'] = False\n", "dict_write", 1),
    ("an object's class changed", "x = torch.zeros(1)\nx.__class__ = int\n", "lying_dunder", 2),
    ("a function's code replaced", "softmax.__code__ = reference_softmax.__code__\n", "code_object", 1),
    ("a cheat inside %timeit", "x = 1\n%timeit -n 1 __import__('gc').get_objects()\n", "gc", 2),
    ("a cheat inside %%time", "%%time\nimport gc\nobjects = gc.get_objects()\n", "gc", 3),
    ("a shell command that runs Python", "!python -c 'print(1)'\n", "magic", 1),
    ("a magic that runs a file", "%run helper.py\n", "magic", 1),
    ("a cell magic that writes a file", "%%writefile torch.py\nallclose = lambda *a: True\n", "magic", 1),
    ("exec of a literal is read too", "exec('import ctypes')\n", "native_memory", 1),
    ("a module patched as a for target", "for F.softmax in [print]:\n    pass\n", "patches_module", 1),
    ("a dunder set on a class after it is made", "class A:\n    pass\nA.__eq__ = lambda s, o: True\n",
     "lying_dunder", 3),
    ("code IPython evaluates inside a shell command", "!echo {__import__('os').getpid()}\n", "magic", 1),
]


@pytest.mark.parametrize("what,source,construct,line", CHEATS, ids=[c[0] for c in CHEATS])
def test_each_cheat_is_found_with_its_construct_and_line(what, source, construct, line):
    hits = found(notebook(source))
    assert ("ex_answer", line, construct) in hits, f"{what}: {hits}"


def test_line_numbers_stay_right_after_magics_that_span_lines():
    source = "!ls \\\n  -la\n%matplotlib inline\nx = 1\nimport ctypes\n"
    assert found(notebook(source)) == [("ex_answer", 5, "native_memory")]


def test_a_finding_names_its_cell_line_and_code():
    added = new_code_cell("x = 1\n\n    \nimport ctypes  # for speed\n")
    nb = notebook("softmax = torch.softmax\n", added)
    [f] = scan_notebook(nb)
    assert f == Finding(cell=4, grade_id=None, line=4, construct="native_memory", detail=f.detail,
                        snippet="import ctypes  # for speed")
    assert f.where == "cell 5" and "ctypes" in f.detail


def test_course_and_test_cells_are_not_scanned_but_added_and_answer_cells_are():
    course_gc = new_code_cell("import ctypes\ngc.get_objects()\n", metadata=_meta("course_gc", locked=True))
    test_gc = new_code_cell("import ctypes\n", metadata=_meta("test_gc", grade=True, locked=True))
    prose = new_markdown_cell("We never use `gc.get_objects()`.")
    broken = new_code_cell("import ctypes\ndef oops(:\n")
    assert found(notebook("y = 1\n", course_gc, test_gc, prose, broken)) == []
    added = new_code_cell("import ctypes\n")
    assert found(notebook("y = 1\n", added)) == [("cell 5", 1, "native_memory")]


def test_with_the_release_a_cell_the_student_marked_read_only_is_still_scanned():
    disguised = new_code_cell("import ctypes\n", metadata=_meta("my_locked", locked=True))
    nb = notebook("y = 1\n", disguised)
    release = notebook("raise NotImplementedError()\n")
    assert found(nb) == []                                     # trusted metadata: looks like a course cell
    assert found(nb, release) == [("my_locked", 1, "native_memory")]   # the release has no such cell
    nb.cells[0].source = "import ctypes\n" + SETUP      # an edited course cell is put back: not scanned
    assert found(nb, release) == [("my_locked", 1, "native_memory")]


def test_code_too_deep_for_the_scanner_is_a_finding_not_a_crash():
    deep = "x = " + " + ".join(["1"] * 5000) + "\n"
    assert found(notebook(deep)) == [("ex_answer", 1, "scan_error")]


def test_every_rule_says_why_and_every_construct_is_documented():
    grading = (REPO / "autograder" / "GRADING.md").read_text(encoding="utf-8")
    section = grading.split("### Needs review: what the scan flags", 1)[1].split("\n## ", 1)[0]
    for rule in RULES:
        assert rule.detail.strip() and rule.patterns, rule.construct
        assert f"`{rule.construct}`" in section, f"GRADING.md does not explain {rule.construct}"


# ------------------------------------------------------------------------------ the report
def test_a_finding_reaches_report_txt_and_report_html_and_costs_nothing():
    nb = notebook("import sys\nseen = sys._getframe(1).f_locals\n")
    findings = [f.__dict__ for f in scan_notebook(nb)]
    layout = {"part1": {"02_self_attention": {"points": 2.0, "cells": [("test_answer", 2.0, "code")]}}}
    job = {"key": "mallory/part1", "student": "mallory", "assignment": "part1", "expected": ["02_self_attention"],
           "notebooks": ["02_self_attention"], "unreadable": [], "repair": {},
           "needs_review": {"02_self_attention": findings}}
    grade = {"grade_id": "test_answer", "kind": "code", "score": 2.0, "max_score": 2.0, "auto_score": 2.0,
             "needs_manual_grade": False, "output": {}}
    result = {"ok": True, "notebooks": {"02_self_attention": {"graded": True, "grades": [grade], "events": []}}}
    rows, problems = job_rows(job, result, layout)
    assert [r.score for r in rows] == [2.0]
    [p] = problems
    assert p.kind == "needs_review" and p.cost == 0.0

    text = report.build(rows, problems, ["02_self_attention"], header={}, protections=[], files={})
    section = text.split("NEEDS REVIEW", 1)[1].split("PROBLEMS", 1)[0]
    assert "mallory / 02_self_attention, cell 'ex_answer', line 2: frame_access: " \
           "seen = sys._getframe(1).f_locals" in section
    assert "they reach the local values of the test" in section   # what frame_access means
    todo = text.split("TO DO BY HAND", 1)[1]
    assert "read mallory / 02_self_attention: needs review (1 finding(s)" in todo
    assert "nothing" not in todo.split("FILES", 1)[0]

    page = report_html.build(rows, problems, parts=["part1"], notebooks=["02_self_attention"], header={})
    box = page.split('<section id="needs-review">', 1)[1].split("</section>", 1)[0]
    assert page.index('id="needs-review"') < page.index('id="flags"')
    assert "mallory" in box and "cell &#x27;ex_answer&#x27;" in box and "frame_access" in box
    assert "seen = sys._getframe(1).f_locals" in box
    assert "frame_access" not in page.split('<section id="problems">', 1)[1]   # listed once, in the box


def test_without_findings_both_reports_say_nothing_needs_review():
    text = report.build([], [], [], header={}, protections=[], files={})
    assert "NEEDS REVIEW (0 finding(s) in 0 notebook(s)" in text and "  nothing found" in text
    page = report_html.build([], [], parts=[], notebooks=[], header={})
    assert "Nothing found" in page.split('<section id="needs-review">', 1)[1]
