"""Robustness of ``python -m autograder.grade`` against broken and hostile submissions.

One grading run (one zip, as an LMS exports it) holds a reference student and one
student per kind of trouble, all built here from the real release notebooks of Part 1.
For each kind we check that the batch completes, that every *other* question of the
student scores exactly what the reference student scores, that the affected question
gets 0 (or is flagged), that the report says why in plain words, and that the input
is byte for byte unchanged and nothing escaped the sandbox.
"""
from __future__ import annotations

import copy
import functools
import csv
import hashlib
import json
import os
import re
import subprocess
import sys
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
import pytest

from autograder.course.cohort import colab_bytes, submission, to_bytes
from autograder.course.course import RELEASE_DIR, REPO_ROOT, SOLUTIONS_DIR
from autograder.grade import master_cache
from autograder.master import solutions_hash

pytestmark = [pytest.mark.slow,
              pytest.mark.filterwarnings("ignore::nbformat.warnings.DuplicateCellId")]

PART = "part1_representations"
NB1, NB2 = "01_tokens_to_vectors", "02_self_attention"
QUIZ = "quiz_2"            # a quiz answer nothing else depends on: runtime attacks go here
QUIZ_TEST = "test_quiz_2"
ANSWER = 'QUIZ_2 = "b"'


def perfect(nb: str = NB1) -> nbformat.NotebookNode:
    return submission(PART, nb)


def cell(nb, gid):
    return next(c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") == gid)


def with_quiz(code: str, answer: bool = True) -> bytes:
    """Perfect 01 whose quiz-2 answer cell runs ``code`` first (then answers, if it gets there)."""
    nb = perfect()
    cell(nb, QUIZ).source = code + ("\n" + ANSWER if answer else "")
    return to_bytes(nb)


@dataclass
class Case:
    files: dict[str, bytes]                      # file name (inside the student's folder) -> bytes
    zero: set[str] = field(default_factory=set)  # grade ids of 01 that must score 0
    says: str = ""                               # words the report must use for this student
    full02: bool = False                         # 02 handed in too and must score like the reference
    sandbox: bool = False                        # only safe (and only passes) inside the full sandbox
    clean: bool = False                          # must not be flagged at all (harmless IPython use)


def build_cases(out: Path) -> dict[str, Case]:
    p1 = to_bytes(perfect())
    p2 = to_bytes(perfect(NB2))
    all01 = {c.metadata["nbgrader"]["grade_id"] for c in perfect().cells
             if c.metadata.get("nbgrader", {}).get("grade") and c.cell_type == "code"}
    f1, f2 = f"{NB1}.ipynb", f"{NB2}.ipynb"
    cases: dict[str, Case] = {}

    # ---- files that are not (quite) notebooks
    cases["invalid_json"] = Case({f1: p1[: len(p1) // 2], f2: p2}, all01, "invalid JSON", True)
    cases["empty_file"] = Case({f1: b"", f2: p2}, all01, "the file is empty", True)
    v3 = nbformat.convert(copy.deepcopy(perfect()), 3)
    cases["nbformat3"] = Case({f1: nbformat.writes(v3, version=3).encode()}, set(), "format 3")
    latin = p1.replace(b'QUIZ_1 = \\"b\\"', b'QUIZ_1 = \\"b\\"  # r\xe9ponse', 1)
    assert latin != p1
    cases["non_utf8"] = Case({f1: latin}, set(), "not UTF-8")
    # hand-edited JSON that broke the whole batch before: points that are not a number, a grade id
    # that is a list, a lone surrogate written as an escape (cannot be written back as UTF-8)
    crafted = json.loads(p1)
    for c in crafted["cells"]:
        meta = c.get("metadata", {}).get("nbgrader", {})
        if meta.get("grade_id") == "test_encode":
            meta["points"] = "two"
        elif meta.get("grade_id") == "ex_wordpiece":
            meta["grade_id"] = ["ex_wordpiece"]
    crafted["cells"][0]["source"] = ["# \ud83d\n", *crafted["cells"][0]["source"]]
    cases["crafted_metadata"] = Case({f1: json.dumps(crafted).encode()}, set(), "lone surrogate")

    # ---- notebooks whose structure was damaged
    nb = perfect()
    nb.cells = [c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id")
                not in (QUIZ, QUIZ_TEST, "test_quiz_1")]
    cases["deleted_cells"] = Case({f1: to_bytes(nb)}, {QUIZ_TEST}, "deleted")
    nb = perfect()
    ids = [c.metadata.get("nbgrader", {}).get("grade_id") for c in nb.cells]
    stub = nbformat.read(RELEASE_DIR / PART / f1, as_version=4)
    nb.cells.insert(ids.index("ex_wordpiece"), copy.deepcopy(cell(stub, "ex_wordpiece")))
    ids = [c.metadata.get("nbgrader", {}).get("grade_id") for c in nb.cells]
    nb.cells.insert(ids.index("test_encode"), copy.deepcopy(cell(nb, "test_encode")))
    cases["duplicate_ids"] = Case({f1: to_bytes(nb)}, set(), "more than once")
    nb = perfect()
    for c in nb.cells:
        c.metadata.get("nbgrader", {}).pop("schema_version", None)
    cases["no_schema_version"] = Case({f1: to_bytes(nb)}, set(), "schema_version")
    nb = perfect()
    i = [c.metadata.get("nbgrader", {}).get("grade_id") for c in nb.cells].index("ex_pad_batch")
    nb.cells[i] = nbformat.v4.new_markdown_cell(nb.cells[i].source, metadata=nb.cells[i].metadata)
    cases["code_to_markdown"] = Case({f1: to_bytes(nb)}, set(), "type had been changed")
    nb = perfect()
    for gid in ("ex_layer_norm", "test_layer_norm"):
        del cell(nb, gid).metadata["nbgrader"]
    cases["metadata_lost"] = Case({f1: to_bytes(nb)}, set(), "dropped the grading metadata")

    # ---- saved or named by Colab and browsers
    cases["colab_saved"] = Case({f"Copy of {f1}": colab_bytes(perfect(), seed=7)}, set(), "Copy of")
    cases["renamed_browser"] = Case({f"{NB1} (2).ipynb": p1}, set(), "was taken as")
    cases["torch_py_beside"] = Case({f1: p1, "torch.py": b"raise SystemExit('hijacked torch')\n"},
                                    set(), "torch.py")

    # ---- code that misbehaves while it runs
    cases["infinite_loop"] = Case({f1: with_quiz("while True:\n    pass")}, {QUIZ_TEST}, "time limit")
    cases["ignores_sigint"] = Case({f1: with_quiz(
        "import signal\nsignal.signal(signal.SIGINT, signal.SIG_IGN)\nwhile True:\n    pass")},
        {QUIZ_TEST}, "time limit")
    cases["os_exit"] = Case({f1: with_quiz("import os\nos._exit(3)")}, {QUIZ_TEST}, "kernel died")
    cases["sys_exit"] = Case({f1: with_quiz("import sys\nsys.exit(2)")}, {QUIZ_TEST}, "sys.exit")
    cases["memory_bomb"] = Case({f1: with_quiz(
        "hog = []\nwhile True:\n    hog.append(bytearray(256 * 2**20))")}, {QUIZ_TEST}, "memory")
    cases["fork_bomb"] = Case({f1: with_quiz("import os\nwhile True:\n    os.fork()")}, {QUIZ_TEST},
                              "process", sandbox=True)
    cases["huge_output"] = Case({f1: with_quiz(
        "import sys\nfor _ in range(100):\n    sys.stdout.write('x' * 1_000_000)")}, set(), "printed more than")
    cases["write_outside"] = Case({f1: with_quiz(
        f"open('../escape.txt', 'w').write('x')\nopen({str(out / 'pwned.txt')!r}, 'w').write('x')")},
        {QUIZ_TEST}, "may not", sandbox=True)
    secrets = [str(master_cache(out / ".state") / f"master-{solutions_hash(SOLUTIONS_DIR)}" / "gradebook.db"),
               str(SOLUTIONS_DIR / PART / f1),
               str(out / ".state" / "submitted" / "ref" / PART / f1)]
    cases["read_secrets"] = Case({f1: with_quiz(
        "import os\nSECRETS = " + repr(secrets) + "\nfor p in SECRETS:\n    print('visible', p, os.path.exists(p))\n"
        "open(SECRETS[0], 'rb').read(100)")}, {QUIZ_TEST}, "not visible", sandbox=True)
    cases["network"] = Case({f1: with_quiz(
        "import socket\nsocket.create_connection(('1.1.1.1', 80), timeout=5).close()")}, {QUIZ_TEST},
        "network", sandbox=True)
    nb = perfect()
    cell(nb, "ex_embed").source = (
        "import builtins, torch, encoder_lib.checks as C\n"
        "def embed(*args, **kwargs):\n    return torch.zeros(1)\n"
        "torch.allclose = lambda *a, **k: True\n"
        "torch.isclose = lambda a, b, **k: torch.ones_like(torch.as_tensor(a), dtype=torch.bool)\n"
        "C.check_close = lambda *a, **k: None\n"
        "check_close = lambda *a, **k: None\n"
        "builtins.print = lambda *a, **k: None\n")
    cases["monkeypatch"] = Case({f1: to_bytes(nb)}, {"test_embed"}, "patches_module")
    nb = perfect()
    cell(nb, "ex_embed").source += (
        "\nimport sys as _sys, logging as _logging\n_embed = embed\n"
        "def embed(*args, **kwargs):\n"
        "    print('debug: embed called', file=_sys.stderr)\n"
        "    _logging.getLogger('student').warning('just a warning')\n"
        "    return _embed(*args, **kwargs)\n")
    cases["stderr_warnings"] = Case({f1: to_bytes(nb)}, set(), "stderr")

    # ---- address space reserved but never touched, as the CUDA build of torch does on
    # import: the memory limit counts memory used, so this student gets full marks
    cases["reserves_16gb"] = Case({f1: with_quiz(RESERVE_16GB)}, set(), "")
    cases.update(tamper_cases())
    return cases


# ---- tampering with the kernel's execution path (issue 13). Each student answers quiz 2
# wrongly and bends IPython or the kernel so that later cells that look like tests turn
# into `pass`: the test must still fail (0 points: the verdict needs the reports the
# grader asked for) and the report must list the student for review.
LOOKS_LIKE_A_TEST = "any(w in {src} for w in ('check_', 'assert', 'audit'))"
WRONG = 'QUIZ_2 = "c"'
SPY_MARK = "SPY SAW:"


def tamper_cases() -> dict[str, Case]:
    test = LOOKS_LIKE_A_TEST
    codes = {
        "tamper_input_cleanup": ("ipython_shell", f"""
def blank(lines):
    return ["pass\\n"] if {test.format(src='"".join(lines)')} else lines
get_ipython().input_transformers_cleanup.append(blank)"""),
        "tamper_input_post": ("ipython_shell", f"""
def blank(lines):
    return ["pass\\n"] if {test.format(src='"".join(lines)')} else lines
get_ipython().input_transformers_post.append(blank)"""),
        "tamper_ast": ("ipython_shell", f"""
import ast
class Blank(ast.NodeTransformer):
    def visit_Module(self, node):
        src = ast.unparse(node)
        return ast.fix_missing_locations(ast.parse("pass")) if {test.format(src='src')} else node
get_ipython().ast_transformers.append(Blank())"""),
        "tamper_transform_cell": ("ipython_shell", f"""
ip = get_ipython()
def transform_cell(raw_cell, _orig=ip.transform_cell):
    return "pass\\n" if {test.format(src='raw_cell')} else _orig(raw_cell)
ip.transform_cell = transform_cell"""),
        "tamper_run_cell": ("patches_module", f"""
from IPython.core.interactiveshell import InteractiveShell
_orig_run = InteractiveShell.run_cell_async
async def run_cell_async(self, raw_cell, *args, **kwargs):
    if {test.format(src='raw_cell')}:
        raw_cell = "pass"
        kwargs.pop("transformed_cell", None)
        kwargs.pop("preprocessing_exc_tuple", None)
    return await _orig_run(self, raw_cell, *args, **kwargs)
InteractiveShell.run_cell_async = run_cell_async"""),
        "tamper_execute_handler": ("ipython_shell", f"""
kernel = get_ipython().kernel
async def execute_request(stream, ident, parent, _orig=kernel.shell_handlers["execute_request"]):
    code = parent["content"].get("code", "")
    if {test.format(src='code')}:
        parent["content"]["code"] = "pass"
    return await _orig(stream, ident, parent)
kernel.shell_handlers["execute_request"] = execute_request"""),
        "tamper_do_execute": ("ipython_shell", f"""
kernel = get_ipython().kernel
async def do_execute(code, *args, _orig=kernel.do_execute, **kwargs):
    if {test.format(src='code')}:
        code = "pass"
    return await _orig(code, *args, **kwargs)
kernel.do_execute = do_execute"""),
        "tamper_forged_reports": ("grader_internals", """
import sys, types
class Forger:
    def begin(self, token):
        self.token = token
        return self
    def __getattr__(self, name):          # every check reports "what the reference said"
        real = sys.modules["__autograder_real_probe__"].begin(self.token)
        def report(site, *args, **kwargs):
            kwargs.pop("left", None)
            return real.compare(site, left=lambda: "a", right=lambda: "a") if name == "compare" else None
        return report
sys.modules["__autograder_real_probe__"] = sys.modules["__autograder_probe__"]
sys.modules["__autograder_probe__"] = Forger()"""),
    }
    cases = {name: Case({f"{NB1}.ipynb": with_quiz(code + "\n" + WRONG, answer=False)}, {QUIZ_TEST}, says)
             for name, (says, code) in codes.items()}
    # the probes' reporting replaced by a forger: the tests of notebook 01 after it get no
    # report they can be judged by (quiz 2's forged answer is the wrong one's)
    cases["tamper_forged_reports"].zero |= {"test_layer_norm", "test_embed"}

    # replaced what the test relies on *while* the test ran (from inside the answer it calls)
    nb = perfect()
    cell(nb, "ex_embed").source = (
        "import torch, encoder_lib.checks as C\n"
        "def embed(*args, **kwargs):\n"
        "    C.check_close = lambda *a, **k: None\n"
        "    globals()['check_close'] = lambda *a, **k: None\n"
        "    torch.allclose = lambda *a, **k: True\n"
        "    return torch.zeros(1)\n")
    cases["tamper_during_test"] = Case({f"{NB1}.ipynb": to_bytes(nb)}, {"test_embed"}, "patches_module")

    # a spy with correct answers: prints every cell it sees, by every hook it can find, and
    # once more from a later answer cell; no hidden test may reach the feedback
    nb = perfect()
    cell(nb, QUIZ).source = f"""
import ast, builtins, sys
SEEN = []
def spy(where, text):
    SEEN.append(text)
    print({SPY_MARK!r}, where, text)
def cleanup(lines):
    spy("cleanup", "".join(lines)); return lines
def post(lines):
    spy("post", "".join(lines)); return lines
class Tree(ast.NodeTransformer):
    def visit_Module(self, node):
        spy("ast", ast.unparse(node)); return node
ip = get_ipython()
ip.input_transformers_cleanup.append(cleanup)
ip.input_transformers_post.append(post)
ip.ast_transformers.append(Tree())
ip.events.register("pre_run_cell", lambda info: spy("event", info.raw_cell))
_compile = builtins.compile
def compile(source, *args, **kwargs):
    spy("compile", source if isinstance(source, str) else ast.unparse(source))
    return _compile(source, *args, **kwargs)
builtins.compile = compile
from jupyter_client.session import Session   # below IPython: every message the kernel receives
_deserialize = Session.deserialize
def deserialize(self, *args, **kwargs):
    msg = _deserialize(self, *args, **kwargs)
    if isinstance(msg.get("content"), dict) and msg["content"].get("code"):
        spy("message", msg["content"]["code"])
    return msg
Session.deserialize = deserialize
for attempt in (lambda: sys.addaudithook(lambda event, args: spy("audit", repr(args)[:2000])),
                lambda: sys.settrace(lambda frame, event, arg: spy("trace", repr(frame.f_code.co_consts)))):
    try:
        attempt()
    except Exception as err:
        print("spy refused:", err)
{ANSWER}"""
    cell(nb, "ex_embed").source += "\nprint('SPY LATER:', SEEN)\n"
    cases["tamper_printing_spy"] = Case({f"{NB1}.ipynb": to_bytes(nb)}, set(), "ipython_shell")

    # correct work with harmless IPython use keeps full marks and is not flagged
    cases["harmless_ipython"] = Case({f"{NB1}.ipynb": with_quiz("""%matplotlib inline
%time _ = sum(range(10))
import torch
import matplotlib.pyplot as plt
get_ipython().display_formatter.formatters["text/html"].for_type(
    torch.Tensor, lambda t: f"<b>tensor of shape {tuple(t.shape)}</b>")
plt.plot([1, 2, 3]); plt.show()""")}, set(), "", clean=True)

    # reading the interpreter's memory: nothing a verdict depends on, flagged for a look
    cases["ctypes_memory"] = Case({f"{NB1}.ipynb": with_quiz(
        "import ctypes\nctypes.string_at(id(ctypes), 16)")}, set(), "native_memory")
    return cases


RESERVE_16GB = """\
import ctypes, mmap
libc = ctypes.CDLL(None, use_errno=True)
libc.mmap.restype = ctypes.c_void_p
libc.mmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int, ctypes.c_int, ctypes.c_int, ctypes.c_long]
MAP_NORESERVE = 0x4000
RESERVED = libc.mmap(None, 16 * 2**30, 0, mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS | MAP_NORESERVE, -1, 0)
assert RESERVED not in (None, ctypes.c_void_p(-1).value), f"reserving 16 GB failed: errno {ctypes.get_errno()}"
"""


def write_zip(path: Path, ref: dict[str, bytes], cases: dict[str, Case]) -> None:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in ref.items():
            z.writestr(f"ref/{name}", data)
        for student, case in cases.items():
            for name, data in case.files.items():
                z.writestr(f"{student}/{name}", data)
        # an LMS-style flat file, and entries that try to leave the folder
        z.writestr(f"zoe_{NB1}.ipynb", ref[f"{NB1}.ipynb"])
        z.writestr(f"../evil/{NB1}.ipynb", ref[f"{NB1}.ipynb"])
        z.writestr(f"mallory/../../{NB1}.ipynb", ref[f"{NB1}.ipynb"])


@functools.lru_cache(maxsize=1)
def full_sandbox() -> bool:
    """True where every protection is on (root, bubblewrap, namespaces)."""
    from autograder.sandbox.sandbox import SandboxPlan

    return not SandboxPlan.detect().off


@dataclass
class Run:
    out: Path
    proc: subprocess.CompletedProcess
    grades: dict
    report: str
    cases: dict
    zip_before: str
    zip_after: str
    root: Path


@pytest.fixture(scope="module")
def run(tmp_path_factory) -> Run:
    root = tmp_path_factory.mktemp("hostile")
    out = root / "out"
    cases = build_cases(out)
    if not full_sandbox():
        # a fork bomb without its own uid would hit the test runner's own process limit
        cases = {k: c for k, c in cases.items() if not c.sandbox}
    ref = {f"{NB1}.ipynb": to_bytes(perfect()), f"{NB2}.ipynb": to_bytes(perfect(NB2))}
    zpath = root / "export.zip"
    write_zip(zpath, ref, cases)
    before = hashlib.sha256(zpath.read_bytes()).hexdigest()
    env = dict(os.environ, PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}")
    proc = subprocess.run([sys.executable, "-m", "autograder.grade", str(zpath), "--out", str(out),
                           "--timeout", "30", "--memory-mb", "2048", "--workers", "2",
                           "--no-progress", "--quiet"],
                          cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=1500)
    grades = {}
    if (out / "grades.csv").is_file():
        with open(out / "grades.csv", newline="") as f:
            for row in csv.DictReader(f):
                grades[(row["student"], row["notebook"], row["grade_id"])] = row
    report = (out / "report.txt").read_text() if (out / "report.txt").is_file() else ""
    return Run(out, proc, grades, report, cases, before, hashlib.sha256(zpath.read_bytes()).hexdigest(), root)


def scores(run: Run, student: str, notebook: str = NB1) -> dict[str, float]:
    return {gid: float(r["score"] or 0) for (s, nb, gid), r in run.grades.items()
            if s == student and nb == notebook}


def report_block(report: str, student: str) -> str:
    """The student's lines in PROBLEMS and in NEEDS REVIEW."""
    review = [line for line in report.split("PROBLEMS", 1)[0].splitlines()
              if line.strip().startswith(f"{student} / ")]
    return "\n".join([_problem_block(report, student), *review])


def _problem_block(report: str, student: str) -> str:
    lines, inside = [], False
    for line in report.splitlines():
        if line == f"{student}:":
            inside = True
            continue
        if inside and line and not line.startswith(" "):
            break
        if inside:
            lines.append(line)
    return "\n".join(lines)


def test_the_batch_completes_and_the_input_is_unchanged(run):
    assert run.proc.returncode == 0, run.proc.stderr[-3000:]
    assert run.zip_before == run.zip_after
    students = {s for s, _, _ in run.grades}
    assert set(run.cases) | {"ref", "zoe"} <= students


def test_every_kind_of_trouble_was_graded(run):
    if not full_sandbox():
        pytest.skip("the fork bomb, network, secret-reading and write-outside cases need the full "
                    "sandbox (root and bubblewrap: scripts/install_system_deps.sh); they were left out")
    assert len(run.cases) >= 36   # plus, in the same zip, entries with ../ and an LMS-named file


def test_the_reference_student_gets_full_marks(run):
    for nb in (NB1, NB2):
        got = run.grades
        rows = [r for (s, n, _), r in got.items() if s == "ref" and n == nb]
        assert rows and all(r["status"] == "passed" for r in rows), rows


def test_each_case_scores_right_on_its_other_questions(run):
    ref1, ref2 = scores(run, "ref"), scores(run, "ref", NB2)
    wrong = {}
    for student, case in run.cases.items():
        got = scores(run, student)
        expected = {gid: (0.0 if gid in case.zero else pts) for gid, pts in ref1.items()}
        if got != expected:
            wrong[student] = {g: (got.get(g), expected[g]) for g in expected if got.get(g) != expected[g]}
        if case.full02 and scores(run, student, NB2) != ref2:
            wrong[student + "/02"] = scores(run, student, NB2)
    assert not wrong, wrong


def test_the_report_says_why_for_each_case(run):
    missing = {}
    for student, case in run.cases.items():
        block = report_block(run.report, student)
        if case.says.lower() not in block.lower():
            missing[student] = block or "(no problem listed)"
    assert not missing, missing


def test_zip_entries_that_escape_are_skipped_and_reported(run):
    assert "unsafe" not in {s for s, _, _ in run.grades}
    assert run.report.count("outside the folder") == 2
    assert not (run.root.parent / "evil").exists()
    assert scores(run, "zoe") == scores(run, "ref")


def test_nothing_escaped_the_sandbox(run):
    if "read_secrets" not in run.cases:
        pytest.skip("needs the full sandbox (root and bubblewrap)")
    assert not list(run.root.rglob("escape.txt"))
    assert not (run.out / "pwned.txt").exists()
    nb = nbformat.read(run.out / "autograded" / "read_secrets" / PART / f"{NB1}.ipynb", as_version=4)
    text = json.dumps(cell(nb, QUIZ).get("outputs", []))
    assert "visible" in text and " True" not in text
    assert "FileNotFoundError" in text


def test_protections_are_reported(run):
    assert "Protections while student code ran" in run.report
    if os.geteuid() == 0 and subprocess.run(["which", "bwrap"], capture_output=True).returncode == 0:
        assert "[OFF]" not in run.report


def test_feedback_hides_hidden_tests(run):
    html = (run.out / "feedback" / "ref" / PART / f"{NB1}.html").read_text()
    assert "Quiz 2: not the right answer" not in html
    assert "BEGIN HIDDEN TESTS" not in html
    assert "hidden tests: not shown" in html


def hidden_test_lines(notebook: str = NB1) -> list[str]:
    """The lines of every hidden-test region of the instructor's notebook."""
    from autograder.course.feedback import BEGIN, END

    nb = nbformat.read(SOLUTIONS_DIR / PART / f"{notebook}.ipynb", as_version=4)
    lines, hidden = [], False
    for c in nb.cells:
        for line in c.source.splitlines():
            if BEGIN.match(line):
                hidden = True
            elif END.match(line):
                hidden = False
            elif hidden and line.strip():
                lines.append(line.strip())
    return lines


def test_harmless_ipython_use_is_not_flagged(run):
    for student, case in run.cases.items():
        if case.clean:
            block = _problem_block(run.report, student)
            assert f"! {NB1}" not in block, block


def test_tampering_with_the_execution_path_is_listed_for_review(run):
    for student in [s for s in run.cases if s.startswith("tamper_")]:
        assert f"  {student} / {NB1}" in run.report.split("PROBLEMS", 1)[0], student
    assert f"tamper_input_cleanup / {NB1}: needs review" in run.report


def test_no_test_source_reaches_a_students_feedback(run):
    import html as html_lib

    hidden = hidden_test_lines()
    assert len(hidden) >= 4
    autograded = nbformat.read(run.out / "autograded" / "tamper_printing_spy" / PART / f"{NB1}.ipynb",
                               as_version=4)
    printed = "\n".join(str(v) for c in autograded.cells for o in c.get("outputs", [])
                        for v in [o.get("text", ""), o.get("evalue", ""), *o.get("data", {}).values()])
    # the spy ran and printed every cell it saw, the tests' probes included (the
    # instructor's copy keeps what fits in a cell's output limit) ...
    assert SPY_MARK in printed and "SPY LATER:" in printed
    # ... but what the student's kernel got holds no expected value: not quiz 2's answer
    # check, not its message
    assert "not the right answer" not in printed and "QUIZ_2 == 'b'" not in printed
    for student in run.cases:
        path = run.out / "feedback" / student / PART / f"{NB1}.html"
        if not path.is_file():
            continue
        text = html_lib.unescape(path.read_text())
        leaked = [line for line in hidden if line in text]
        assert not leaked, (student, leaked)
        # what ran while hidden tests were loaded stays out (the spy's own source may show)
        assert not re.search(SPY_MARK + r" (cleanup|post|ast|event|compile|message|audit|trace)", text), student
