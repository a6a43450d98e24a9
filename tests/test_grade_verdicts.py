"""Every test's verdict is decided in the grader, from plain data (issue 19).

Three levels:

- the probes (``autograder/course/probes.py``) made from the instructor's test cells:
  every check is reported, and the student's probe computes no expected value that
  does not depend on the student's own results;
- the judge (``autograder/sandbox/judge.py``) on hand-made reports: what passes, what
  fails, what a student reads about a hidden check, forged and missing reports;
- one real grading run of notebook 01 with students who cheat in every way the
  in-kernel guard was beaten (a finalizer forging outcomes, a display hook, objects that
  lie, rewired modules and course objects, a banned call under another name, reading the
  test's expected values, printing everything reachable, a test cell's flags flipped),
  next to a perfect student and one whose own output equals a hidden line.
"""
from __future__ import annotations

import ast
import copy
import csv
import html as html_lib
import os
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell

from autograder.course.cohort import submission, to_bytes
from autograder.course.course import REPO_ROOT, SOLUTIONS_DIR, course_notebooks
from autograder.course.probes import Probes, Site, make_probes, notebook_probes
from autograder.sandbox.judge import judge
from encoder_lib.checks.plain import describe, to_json
from tests.nbgrader_harness import make_grade

PART, NB1 = "part1_representations", "01_tokens_to_vectors"

#: Reference values a student probe still holds because the test also hands them to the
#: student's code (inputs, not expected values); a new entry needs a reason.
INPUTS_TOO = {
    "test_heads": {"expected"},          # split_heads' expected output is merge_heads' input
    "test_feed_forward": {"_ref_other", "_ref_small"},   # reference modules whose weights are copied in
    "test_encoder_layer": {"_ref_small"},
    "test_encoder": {"_ref_small"},
    "test_pair": {"_ref_pair_features"},
    "test_probe": {"_ref"},
}


# ------------------------------------------------------------------ probes
@pytest.fixture(scope="module")
def all_probes() -> dict[str, dict[str, Probes]]:
    return {str(nb): notebook_probes(nbformat.read(nb.source(), as_version=4))
            for nb in course_notebooks() if nb.assignment != "part0_setup"}


def _probe_calls(source: str):
    for node in ast.walk(ast.parse(source)):
        if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                and isinstance(node.func.value, ast.Name) and node.func.value.id == "__probe__"
                and node.func.attr != "phase" and node.args and isinstance(node.args[0], ast.Constant)):
            yield node.func.attr, node.args[0].value, {k.arg for k in node.keywords}


def test_every_test_cell_of_the_course_becomes_two_probes_that_parse(all_probes):
    n = 0
    for notebook, probes in all_probes.items():
        for gid, p in probes.items():
            ast.parse(p.reference)
            ast.parse(p.student)
            assert p.sites, f"{notebook} {gid}: a test with no check"
            n += 1
    assert n >= 45


def test_the_student_probe_gets_no_expected_value_that_the_reference_run_can_give(all_probes):
    for notebook, probes in all_probes.items():
        for gid, p in probes.items():
            for method, site, keywords in _probe_calls(p.student):
                if p.sites[site].stripped:
                    assert not keywords & {"expected", "right", "params"}, (notebook, gid, site, keywords)
            reference_sites = {s for _, s, kw in _probe_calls(p.reference) if "params" in kw or "right" in kw
                               or "expected" in kw}
            assert reference_sites, (notebook, gid)


def test_the_student_probe_reports_every_check_the_reference_probe_does(all_probes):
    for notebook, probes in all_probes.items():
        for gid, p in probes.items():
            student = {site for _, site, _ in _probe_calls(p.student)}
            reference = {site for _, site, _ in _probe_calls(p.reference)}
            assert student == reference == set(p.sites), (notebook, gid, sorted(reference - student))


def test_the_student_probe_reads_no_name_whose_binding_it_removed(all_probes):
    from autograder.course.probes import bound_names, loaded_names

    for notebook, probes in all_probes.items():
        for gid, p in probes.items():
            student, reference = ast.parse(p.student), ast.parse(p.reference)
            gone = bound_names(reference) - bound_names(student)
            assert not loaded_names(student) & gone, (notebook, gid, sorted(loaded_names(student) & gone))


def test_reference_values_left_in_the_student_probe_are_only_inputs_named_here(all_probes):
    left = {gid: set(p.kept_inputs) for probes in all_probes.values() for gid, p in probes.items()
            if p.kept_inputs}
    for gid, names in left.items():
        assert names <= INPUTS_TOO.get(gid, set()), (gid, names)


def test_a_statement_that_only_computes_an_expected_value_is_removed():
    source = ("x = torch.randn(3)\n"
              "expected = torch.softmax(x, -1)\n"
              "def reference(t):\n    return torch.softmax(t, 0)\n"
              "check_close('softmax(x)', softmax(x), expected, atol=1e-6)\n"
              "check_close('again', softmax(x), reference(x))\n"
              "### BEGIN HIDDEN TESTS\n"
              "assert QUIZ_1 == 'b', 'Quiz 1: not the right answer.'\n"
              "### END HIDDEN TESTS\n")
    p = make_probes("t", source, tainted={"softmax", "QUIZ_1"})
    assert "expected" not in p.student and "reference" not in p.student and "'b'" not in p.student
    assert "torch.randn" in p.student                  # the input stays
    assert "expected=expected" in p.reference and "right=lambda: 'b'" in p.reference
    assert p.sites[2].hidden and p.sites[2].message == "Quiz 1: not the right answer."


def test_an_expected_value_that_depends_on_the_students_result_is_kept():
    p = make_probes("t", "w = attend(q)\ncheck_close('rows', w.sum(-1), torch.ones(w.shape[:-1]))\n",
                    tainted={"attend"})
    assert "expected=torch.ones(w.shape[:-1])" in p.student and not p.sites[0].stripped


# ------------------------------------------------------------------ judge
def _report(site, token="t", **values):
    return {"site": site, "token": token, **{k: to_json(describe(v)) if k in ("got", "expected") else v
                                              for k, v in values.items()}}


def _probes(*sites: Site, literals=()) -> Probes:
    return Probes("t", "", "", dict(enumerate(sites)), hidden_literals=list(literals))


def test_the_judge_passes_matching_reports_and_fails_on_the_first_difference():
    import torch

    p = _probes(Site("check_close", 3, False, True), Site("check_sequence", 4, False, True))
    ref = [_report(0, got=torch.ones(2), expected=torch.ones(2), params={"name": to_json("h"),
                                                                        "atol": to_json(1e-5)}),
           _report(1, got=["a"], expected=["a"], params={"name": to_json("pieces")})]
    ok = judge(p, ref, [_report(0, got=torch.ones(2) + 1e-7), _report(1, got=["a"])], None, "t")
    assert ok.passed, ok
    bad = judge(p, ref, [_report(0, got=torch.ones(2)), _report(1, got=["b"])], None, "t")
    assert not bad.passed and "pieces first differs at position 0: got 'b', expected 'a'" in bad.message


def test_a_report_that_brings_its_own_expected_value_is_judged_against_the_reference():
    # a forger with the cell's token claims that what it returned is also what was expected
    p = _probes(Site("check_sequence", 3, True, True), Site("compare", 4, True, True, "=="))
    ref = [_report(0, got=["pqr", "##s"], expected=["pqr", "##s"]),
           {"site": 1, "token": "t", "left": {"value": "b"}, "right": {"value": "b"}}]
    forged = [_report(0, got=["x"], expected=["x"]),
              {"site": 1, "token": "t", "left": {"value": "a"}, "right": {"value": "a"}}]
    assert not judge(p, ref, forged[:1], None, "t").passed
    assert not judge(p, ref, [_report(0, got=["pqr", "##s"]), forged[1]], None, "t").passed


def test_a_hidden_check_says_which_rule_but_not_its_inputs():
    p = _probes(Site("check_sequence", 9, True, True), literals=["pqrs"])
    ref = [_report(0, got=["pqr", "##s"], expected=["pqr", "##s"],
                   params={"name": to_json("wordpiece('pqrs', toy2)"), "rule": to_json("greedy, longest match first.")})]
    v = judge(p, ref, [_report(0, got=["pqrs"])], None, "t")
    assert not v.passed and "Rule: greedy, longest match first." in v.message
    assert "pqrs" not in v.message and "toy2" not in v.message and "pqr" not in v.message


def test_reports_without_the_cells_token_count_for_nothing_and_are_flagged():
    p = _probes(Site("compare", 2, True, True, "=="))
    ref = [{"site": 0, "token": "t", "left": {"value": "b"}, "right": {"value": "b"}}]
    forged = [{"site": 0, "token": "guess", "left": {"value": "b"}}]
    v = judge(p, ref, forged, None, "t")
    assert not v.passed and any("did not ask for" in f for f in v.flags)


def test_reports_added_before_the_real_ones_fail_the_test_and_are_flagged():
    # code run by the test reports a passing check for the site first, then the test's own
    # (failing) report arrives: the reference made one, so neither can be trusted
    p = _probes(Site("truth", 2, False, True), Site("truth", 3, False, True))
    ref = [{"site": 0, "token": "t", "left": {"value": True}}, {"site": 1, "token": "t", "left": {"value": True}}]
    forged = [{"site": 0, "token": "t", "left": {"value": True}}, {"site": 1, "token": "t", "left": {"value": True}}]
    real = [{"site": 0, "token": "t", "left": {"value": False}}, {"site": 1, "token": "t", "left": {"value": False}}]
    assert judge(p, ref, forged, None, "t").passed                      # as many as the reference: judged
    v = judge(p, ref, forged + real, None, "t")
    assert not v.passed and "more checks" in v.message
    assert any("reported 2 times" in f for f in v.flags)


def test_a_list_of_the_notebooks_own_making_is_not_taken_for_a_list():
    # class Answer(list) with an .index that always says "in order": judged as what it is
    from encoder_lib.checks import rules
    from encoder_lib.checks.plain import ObjectInfo, TypeInfo

    notebook_list = ObjectInfo(("__main__.Answer", "list", "object"))
    library_dict = ObjectInfo(("collections.OrderedDict", "dict", "object"))
    assert "should be a list, but it is a Answer" in rules.check_type("QUIZ_2", notebook_list, TypeInfo(("list",)))
    assert rules.check_type("counts", library_dict, TypeInfo(("dict",))) is None
    assert rules.check_type("QUIZ_2", ["a", "b"], TypeInfo(("list",))) is None


def test_a_probe_is_cut_where_its_hidden_part_starts_and_ends():
    from autograder.sandbox.execute import split_phases

    code = "a = 1\n__probe__.phase('hidden')\nb = 2\nc = 3\n__probe__.phase('visible')\nprint(a)\n"
    assert split_phases(code) == [("visible", "a = 1\n"), ("hidden", "b = 2\nc = 3\n"), ("visible", "print(a)\n")]
    assert split_phases("a = 1\n") == [("visible", "a = 1\n")]
    assert split_phases("x = \"__probe__.phase('hidden')\"\n") == [("visible", "x = \"__probe__.phase('hidden')\"\n")]


def test_a_check_reported_while_the_hidden_part_ran_shows_nothing_the_kernel_said():
    # a report naming a visible site, with a message of its own, sent from the hidden part
    p = _probes(Site("compare", 2, False, True, "=="), Site("compare", 7, True, True, "=="))
    ref = [{"site": 0, "token": "t", "left": {"value": "b"}, "right": {"value": "b"}},
           {"site": 1, "token": "t", "left": {"value": "b"}, "right": {"value": "b"}}]
    relabelled = [{"phase": "hidden", "token": "t"},
                  {"site": 0, "token": "t", "left": {"value": "a"}, "message": "hidden input: 'wrods'"}]
    v = judge(p, ref, relabelled, None, "t")
    assert not v.passed and "wrods" not in v.message


def test_an_answer_cells_error_after_a_hidden_test_ran_shows_only_its_class():
    from nbformat.v4 import new_notebook, new_output

    from autograder.course.feedback import HideHiddenTests, SubmittedOutputs

    def answer(gid):
        cell = new_code_cell("x = f()\n", metadata={"nbgrader": {"grade_id": gid, "solution": True}})
        cell.outputs = [new_output("error", ename="ValueError", evalue=f"secret from {gid}", traceback=[])]
        return cell

    test = new_code_cell("check(1)\n### BEGIN HIDDEN TESTS\ncheck(2)\n### END HIDDEN TESTS\n",
                         metadata={"nbgrader": {"grade_id": "t", "grade": True, "locked": True, "points": 1}})
    nb = new_notebook(cells=[answer("a1"), test, answer("a2")])
    resources = {"nbgrader": {"student": "s", "assignment": "p", "notebook": "n"}}
    nb, resources = HideHiddenTests().preprocess(nb, resources)      # the order the feedback step uses
    nb, _ = SubmittedOutputs().preprocess(nb, resources)
    notes = [o.text for c in nb.cells for o in c.outputs if o.get("name") == "stdout"]
    assert notes == ["[grader] while grading, this cell raised ValueError: secret from a1\n",
                     "[grader] while grading, this cell raised ValueError\n"]


def test_a_tracer_or_timer_left_by_student_code_is_stopped_when_a_test_begins():
    # a tracer sees every report the probe sends and the source of every request; a timer's
    # handler could set one again between the parts of a test
    import signal

    from autograder.sandbox import kernel_probe

    def tracer(frame, event, arg):
        return None

    old = signal.signal(signal.SIGALRM, lambda *a: None)
    try:
        sys.settrace(tracer)
        sys.setprofile(tracer)
        signal.setitimer(signal.ITIMER_REAL, 100)
        kernel_probe.Probe().begin("t")
        assert sys.gettrace() is None and sys.getprofile() is None
        assert signal.getitimer(signal.ITIMER_REAL) == (0.0, 0.0)
    finally:
        sys.settrace(None)
        sys.setprofile(None)
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)


def test_an_error_message_that_quotes_the_hidden_tests_is_not_shown():
    p = _probes(Site("check_close", 1, False, True), literals=["a hidden input sentence"])
    ref = [_report(0, got=[1], expected=[1])]
    v = judge(p, ref, [], {"ename": "ValueError", "evalue": "debug: for s in ['a hidden input sentence']:"}, "t")
    assert not v.passed and "hidden input" not in v.message and "ValueError" in v.message
    assert any("quotes the hidden tests" in f for f in v.flags)
    long = judge(p, ref, [], {"ename": "ValueError", "evalue": "x" * 50_000}, "t")
    assert len(long.message) < 2_100


def test_a_test_that_stops_early_fails_and_its_hidden_error_shows_only_the_class():
    p = _probes(Site("check_close", 1, False, True), Site("check_close", 8, True, True))
    ref = [_report(0, got=[1], expected=[1]), _report(1, got=[1], expected=[1])]
    v = judge(p, ref, [{"phase": "hidden", "token": "t"}],
              {"ename": "AssertionError", "evalue": "wordpiece('pqrs', toy2) raised KeyError: 'pqrs'"}, "t")
    assert not v.passed and "KeyError" in v.message and "pqrs" not in v.message


def test_objects_that_pose_as_answers_are_judged_by_what_they_are():
    import torch

    class Yes(torch.Tensor):
        @classmethod
        def __torch_function__(cls, func, types, args=(), kwargs=None):
            return True

    class Answer(str):
        def __eq__(self, other):
            return True
        __hash__ = str.__hash__

    p = _probes(Site("check_close", 1, False, True), Site("compare", 2, True, True, "=="))
    ref = [_report(0, got=torch.ones(2), expected=torch.ones(2)),
           {"site": 1, "token": "t", "left": {"value": "b"}, "right": {"value": "b"}}]
    lying = torch.zeros(2).as_subclass(Yes)
    v = judge(p, ref, [_report(0, got=lying)], None, "t")
    assert not v.passed and "should be a Tensor" in v.message
    v = judge(p, ref, [_report(0, got=torch.ones(2)), {"site": 1, "token": "t",
                                                        "left": {"value": to_json(describe(Answer("a")))}}],
              None, "t")
    assert not v.passed


# ------------------------------------------------------------------ a real grading run
def _cell(nb, gid):
    return next(c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") == gid)


def _with_cell(nb, after: str, source: str):
    nb = copy.deepcopy(nb)
    i = nb.cells.index(_cell(nb, after))
    nb.cells.insert(i + 1, new_code_cell(source))
    return nb


def _answer(nb, gid: str, source: str):
    nb = copy.deepcopy(nb)
    _cell(nb, gid).source = source
    return nb


ECHO = "wordpiece also passes the hidden checks."   # a line of the hidden test, printed by the student


def cohort() -> dict[str, tuple[nbformat.NotebookNode, float]]:
    """Student -> (notebook 01, the score it must get of 14)."""
    release = nbformat.read(REPO_ROOT / "notebooks" / PART / f"{NB1}.ipynb", as_version=4)
    perfect = submission(PART, NB1)
    out = {"perfect": (perfect, 14), "blank": (release, 0)}
    out["finalizer"] = (_with_cell(release, "setup", """
import sys
class NotImplementedError(Exception):
    def __del__(self):
        f = sys._getframe(1)
        while f is not None:
            probe = f.f_globals.get("__probe__")
            if probe is not None:
                for site in range(40):
                    try:
                        probe.check(site, ["[UNK]"])
                        probe.compare(site, left=lambda: "b")
                    except Exception:
                        pass
            f = f.f_back
"""), 0)
    out["display_hook"] = (_with_cell(release, "setup", """
def wordpiece(word, vocab, unk_token="[UNK]", max_chars=100):
    get_ipython().displayhook("full marks")
    return ["?"]
encode = pad_batch = layer_norm = embed = wordpiece
"""), 0)
    out["liar"] = (_with_cell(release, "quiz_2", """
import torch
class Yes(torch.Tensor):
    @classmethod
    def __torch_function__(cls, func, types, args=(), kwargs=None):
        if func in (torch.allclose, torch.isclose, torch.equal, torch.Tensor.any, torch.Tensor.all):
            return True
        return super().__torch_function__(func, types, args, kwargs or {})
def layer_norm(x, weight, bias, eps=1e-12):
    return torch.zeros_like(x).as_subclass(Yes)
def embed(input_ids, *args, **kwargs):
    return torch.zeros(*input_ids.shape, 6).as_subclass(Yes)
class Answer(str):
    def __eq__(self, other):
        return True
    __hash__ = str.__hash__
QUIZ_1 = Answer("a"); QUIZ_2 = Answer("a")
type = lambda x: str
"""), 0)
    out["rewired"] = (_with_cell(release, "setup", """
import torch, encoder_lib.checks as C, encoder_lib.checks.rules as R
torch.Tensor.any = lambda self, *a, **k: torch.tensor(False)
R.check_close = R.check_sequence = lambda *a, **k: None
C.check_close = C.check_sequence = lambda *a, **k: None
def wordpiece(word, vocab, unk_token="[UNK]", max_chars=100):
    return ["x"]
def encode(text, vocab):
    return []
"""), 0)
    out["rewired"] = (_with_cell(out["rewired"][0], "load_reference", "tok.wordpiece = lambda w: ['x']\n"
                                                                     "tok.encode = lambda t: []"), 0)
    out["native_layer_norm"] = (_answer(perfect, "ex_layer_norm", """
def layer_norm(x, weight, bias, eps=1e-12):
    return torch.native_layer_norm(x, (x.shape[-1],), weight, bias, eps)[0]
"""), 9)
    out["reads_expected"] = (_answer(perfect, "ex_layer_norm", """
def layer_norm(x, weight, bias, eps=1e-12):
    import sys
    f = sys._getframe(1)
    while f is not None:
        for scope in (f.f_locals, f.f_globals):
            for name in ("expected", "_expected", "want"):
                if name in scope:
                    return scope[name]
        f = f.f_back
    return x
"""), 9)
    out["prints_everything"] = (_with_cell(perfect, "ex_wordpiece", """
import gc, sys
def _leak():
    f = sys._getframe(1)
    while f is not None:
        print("FRAME", f.f_code.co_consts, {k: str(v)[:300] for k, v in f.f_locals.items()})
        f = f.f_back
    print("NAMES", {k: str(v)[:300] for k, v in globals().items() if not k.startswith("_")})
    print("HISTORY", globals().get("In"))
    print("GC", [o for o in gc.get_objects() if isinstance(o, str) and "pq" in o][:50])
_wordpiece = wordpiece
def wordpiece(word, vocab, unk_token="[UNK]", max_chars=100):
    _leak()
    return _wordpiece(word, vocab, unk_token, max_chars)
"""), 14)
    out["reads_history"] = (_answer(perfect, "ex_encode", """
def encode(text, vocab):
    raise ValueError("debug: " + "\\n".join(In) + str(globals().get("_ih")))
"""), 12)
    out["drops_phases"] = (_with_cell(perfect, "ex_wordpiece", """
import __main__
_seen = []
def _hook():
    # the test's probe, reached without naming it, stops saying when the hidden part starts
    p = __main__.__dict__.get("__" + "probe__")
    if p is not None and not getattr(p, "hooked", False):
        send = p._publish
        def publish(data, metadata=None):
            if not any(isinstance(r, dict) and "phase" in r for r in data.values()):
                send(data, metadata=metadata)
        p._publish, p.hooked = publish, True
_wordpiece = wordpiece
def wordpiece(word, vocab, unk_token="[UNK]", max_chars=100):
    _hook()
    _seen.append(word)
    if word == "wr" + "ods":                          # a word only the hidden sentence has
        raise ValueError("inputs " + repr(_seen))
    return _wordpiece(word, vocab, unk_token, max_chars)
"""), 9)                                            # wordpiece's and encode's hidden parts meet the word
    out["prints_later"] = (_with_cell(perfect, "test_encode", "print(globals().get('text'), globals().get('toy'))"),
                           14)
    out["own_output_is_a_hidden_line"] = (_with_cell(perfect, "ex_wordpiece", f"print({ECHO!r})"), 14)
    flipped = copy.deepcopy(perfect)
    test = _cell(flipped, "test_quiz_1")
    test.metadata["nbgrader"].update(solution=True, locked=False, points=100)
    test.source = "print('all good')"
    out["flipped_flags"] = (flipped, 14)
    return out


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    root = tmp_path_factory.mktemp("verdicts")
    students = cohort()
    for name, (nb, _) in students.items():
        (root / "in" / name).mkdir(parents=True)
        (root / "in" / name / f"{NB1}.ipynb").write_bytes(to_bytes(nb))
    make_grade(root / "in", root / "out")
    with open(root / "out" / "grades.csv", newline="") as f:
        rows = [r for r in csv.DictReader(f) if r["notebook"] == NB1]
    return root / "out", students, rows




@pytest.mark.slow
def test_each_cheat_scores_what_its_honest_work_is_worth(graded):
    out, students, rows = graded
    got = {s: sum(float(r["score"] or 0) for r in rows if r["student"] == s) for s in students}
    want = {s: points for s, (_, points) in students.items()}
    assert got == want


@pytest.mark.slow
def test_no_feedback_page_holds_hidden_test_content(graded):
    out, students, _ = graded
    probes = notebook_probes(nbformat.read(SOLUTIONS_DIR / PART / f"{NB1}.ipynb", as_version=4))
    literals = sorted({lit for p in probes.values() for lit in p.hidden_literals})
    lines = [line.strip() for p in probes.values() for line in _hidden_source(p) if len(line.strip()) >= 12]
    assert len(literals) > 20 and lines
    for student in students:
        page = html_lib.unescape((out / "feedback" / student / PART / f"{NB1}.html").read_text())
        leaked = [x for x in literals + lines if x in page and x != ECHO]
        assert not leaked, (student, leaked[:5])
    # the words of a hidden sentence, raised by the student's code while the hidden part ran
    page = (out / "feedback" / "drops_phases" / PART / f"{NB1}.html").read_text()
    assert "wrods" not in page


def _hidden_source(p: Probes) -> list[str]:
    text = nbformat.read(SOLUTIONS_DIR / PART / f"{NB1}.ipynb", as_version=4)
    cell = _cell(text, p.grade_id)
    inside, out = False, []
    for line in cell.source.splitlines():
        if "BEGIN HIDDEN TESTS" in line:
            inside = True
        elif "END HIDDEN TESTS" in line:
            inside = False
        elif inside and "print(" not in line:
            out.append(line)
    return out


@pytest.mark.slow
def test_a_students_own_output_that_equals_a_hidden_line_is_kept(graded):
    out, _, _ = graded
    page = html_lib.unescape((out / "feedback" / "own_output_is_a_hidden_line" / PART / f"{NB1}.html").read_text())
    assert ECHO in page


@pytest.mark.slow
def test_flipped_test_flags_are_the_students_problem_not_a_grader_error(graded):
    out, _, rows = graded
    report = (out / "report.txt").read_text()
    block = report.split("flipped_flags:", 1)[1].split("\n\n", 1)[0]
    assert "grader error" not in block and "flags of some cells had been changed" in block
    assert {r["status"] for r in rows if r["student"] == "flipped_flags"} == {"passed"}


@pytest.mark.slow
def test_cheats_are_listed_for_review_and_honest_work_is_not(graded):
    out, _, _ = graded
    report = (out / "report.txt").read_text()
    review = report.split("NEEDS REVIEW", 1)[1].split("\n\n", 2)[1] if "NEEDS REVIEW" in report else ""
    for student in ("finalizer", "display_hook", "liar", "rewired", "reads_expected", "prints_everything",
                    "native_layer_norm", "reads_history", "drops_phases"):
        assert f"{student} / {NB1}" in review, (student, review[:2000])
    for student in ("perfect", "blank", "own_output_is_a_hidden_line"):
        assert f"{student} / {NB1}" not in review, (student, review[:2000])


@pytest.mark.slow
def test_every_planted_alternative_keeps_full_marks_under_make_grade(tmp_path):
    """Each correct alternative of the planted corpus (another style of answer), handed in
    as the only change to a perfect notebook and graded by ``make grade``: every autograded
    question at full marks. The planted-bug runner checks the same in one process; this
    checks the probes and the judge (an alternative that draws random numbers in another
    order must not be failed as "other inputs")."""
    import json

    students = {}
    for path in sorted((REPO_ROOT / "tests" / "planted").glob("*.json")):
        corpus = json.loads(path.read_text())
        for v in corpus["variants"]:
            if v["kind"] != "alternative":
                continue
            nb = submission(corpus["assignment"], corpus["notebook"])
            _cell(nb, v["grade_id"]).source = v["source"]
            student = f"alt{len(students):02d}-{v['id'].strip('_').replace('_', '-')}"
            folder = tmp_path / "in" / student
            folder.mkdir(parents=True)
            (folder / f"{corpus['notebook']}.ipynb").write_bytes(to_bytes(nb))
            students[student] = corpus["notebook"]
    assert len(students) >= 25
    make_grade(tmp_path / "in", tmp_path / "out", timeout=3000)
    with open(tmp_path / "out" / "grades.csv", newline="") as f:
        rows = [r for r in csv.DictReader(f) if students.get(r["student"]) == r["notebook"]
                and r["status"] != "manual"]
    assert {r["student"] for r in rows} == set(students)
    lost = [(r["student"], r["grade_id"], r["status"]) for r in rows if float(r["score"] or 0) != float(r["max_score"])]
    assert not lost, lost


@pytest.mark.slow
def test_a_solution_that_fails_its_own_test_stops_grading_and_names_the_test(tmp_path):
    import shutil

    solutions = tmp_path / "solutions"
    shutil.copytree(SOLUTIONS_DIR, solutions)
    path = solutions / PART / f"{NB1}.ipynb"
    nb = nbformat.read(path, as_version=4)
    _cell(nb, "quiz_1").source = 'QUIZ_1 = None  # "a", "b", "c" or "d"\n### BEGIN SOLUTION\nQUIZ_1 = "c"\n### END SOLUTION'
    nbformat.write(nb, path)
    (tmp_path / "in" / "ada").mkdir(parents=True)
    (tmp_path / "in" / "ada" / f"{NB1}.ipynb").write_bytes(to_bytes(submission(PART, NB1)))
    env = dict(os.environ, PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}")
    proc = subprocess.run([sys.executable, "-m", "autograder.grade", str(tmp_path / "in"), "--out", str(tmp_path / "out"),
                           "--solutions", str(solutions), "--no-progress", "--quiet"], cwd=REPO_ROOT, env=env,
                          capture_output=True, text=True, timeout=1800)
    assert proc.returncode == 2, proc.stderr[-3000:]
    assert "does not pass its own tests" in proc.stderr and f"{NB1} test_quiz_1" in proc.stderr
    assert "Traceback" not in proc.stderr


# ------------------------------------------------------------------ a quiz about the student's own run (issue 20)
def _quiz_1_of_06():
    nb = nbformat.read(SOLUTIONS_DIR / "part3_adaptation" / "06_context_tasks.ipynb", as_version=4)
    return notebook_probes(nb)["test_quiz_1"]


def _run_probe(code: str, names: dict) -> list[dict]:
    """What a probe reports when it runs with ``names``, as the grader receives it."""
    from autograder.sandbox.kernel_probe import MIME, Probe
    from encoder_lib import checks

    sent = []
    probe = Probe()
    probe._publish = lambda data, metadata: sent.append(data[MIME])
    namespace = {name: getattr(checks, name) for name in checks.__all__}
    namespace.update(names, __probe__=probe.begin("t"))
    exec(compile(code, "<probe>", "exec"), namespace)
    return sent


def _submitted(tmp_path, recorded, quiz_1_source):
    """A submitted notebook 06 whose record cell shows ``recorded`` (None: never ran)."""
    from encoder_lib.checks.record import MIME

    nb = submission("part3_adaptation", "06_context_tasks")
    record = _cell(nb, "record_probes")
    record.outputs = [] if recorded is None else [nbformat.v4.new_output(
        "display_data", data={"text/plain": "Recorded ...", MIME: {"key": "probe_results",
                                                                  "value": to_json(describe(recorded))}})]
    _cell(nb, "quiz_1").source = quiz_1_source
    path = tmp_path / "06_context_tasks.ipynb"
    path.write_bytes(to_bytes(nb))
    return path


def test_a_quiz_about_the_students_run_is_judged_against_the_run_their_notebook_recorded(tmp_path):
    """06 Quiz 1 asks for the layer where the probe peaks in the student's run. Grading reruns
    the notebook with fewer pairs (here it peaks at layer 2); the student's own run, recorded in
    the notebook handed in, peaked at layer 5: QUIZ_1 = 5 keeps the point, QUIZ_1 = 2 does not."""
    from autograder.sandbox.recorded import run_records

    probes = _quiz_1_of_06()
    rerun = {"minilm": {"wic": [0.50, 0.61, 0.66, 0.60, 0.62, 0.58, 0.57]}}   # grading's run: layer 2
    own = {"minilm": {"wic": [0.51, 0.60, 0.63, 0.64, 0.66, 0.70, 0.65]}}    # the student's run: layer 5
    reference = _run_probe(probes.reference, {"probe_results": rerun, "QUIZ_1": 2})
    for answer, passes in ((5, True), (2, False), (4, False)):
        records = run_records(_submitted(tmp_path, own, f"QUIZ_1 = {answer}"))
        assert records.lookup("probe_results/minilm/wic") == (True, own["minilm"]["wic"])
        student = _run_probe(probes.student, {"probe_results": rerun, "QUIZ_1": answer})
        verdict = judge(probes, reference, student, None, "t", records)
        assert verdict.passed is passes, (answer, verdict)
        assert not verdict.notes
        if not passes:
            assert "Quiz 1: the layer where the word-in-context probe" in verdict.message
    # a student's own code in the grading kernel reports other scores: the recorded ones count
    forged = [dict(r, expected=to_json(describe([0.0] * 5 + [1.0, 0.0]))) if "expected" in r else r
              for r in _run_probe(probes.student, {"probe_results": rerun, "QUIZ_1": 2})]
    assert not judge(probes, reference, forged, None, "t",
                     run_records(_submitted(tmp_path, own, "QUIZ_1 = 2"))).passed


def test_without_a_recorded_run_or_with_a_computed_answer_the_rerun_decides_and_feedback_says_so(tmp_path):
    from autograder.sandbox.recorded import run_records

    probes = _quiz_1_of_06()
    rerun = {"minilm": {"wic": [0.50, 0.61, 0.66, 0.60, 0.62, 0.58, 0.57]}}
    own = {"minilm": {"wic": [0.51, 0.60, 0.63, 0.64, 0.66, 0.70, 0.65]}}
    reference = _run_probe(probes.reference, {"probe_results": rerun, "QUIZ_1": 2})
    # never ran: the rerun decides, and the student reads why
    records = run_records(_submitted(tmp_path, None, "QUIZ_1 = 5"))
    verdict = judge(probes, reference, _run_probe(probes.student, {"probe_results": rerun, "QUIZ_1": 5}),
                    None, "t", records)
    assert not verdict.passed and any("holds no recorded probe_results" in n for n in verdict.notes)
    # an answer computed from probe_results takes the rerun's value, so the rerun is what it is judged by
    computed = ("QUIZ_1 = None\n_wic = probe_results['minilm']['wic']\n"
                "QUIZ_1 = max(range(len(_wic)), key=_wic.__getitem__)")
    records = run_records(_submitted(tmp_path, own, computed))
    assert "QUIZ_1" in records.computed["probe_results"]
    verdict = judge(probes, reference, _run_probe(probes.student, {"probe_results": rerun, "QUIZ_1": 2}),
                    None, "t", records)
    assert verdict.passed and any("computed from probe_results" in n for n in verdict.notes)
    # looking at the numbers beside a typed answer is not computing it
    records = run_records(_submitted(tmp_path, own, "print(probe_results['minilm']['wic'])\nQUIZ_1 = 5"))
    assert not records.computed
    # the reference run judges against its own run, with no note
    assert judge(probes, reference, reference, None, "t").notes == []


def test_a_recorded_run_counts_only_from_the_courses_own_record_cell(tmp_path):
    """A value shown by a cell the student wrote is not a record (a forged record in the file is
    worth at most the one quiz that reads it: GRADING.md's threat model)."""
    from autograder.sandbox.recorded import run_records
    from encoder_lib.checks.record import MIME

    path = _submitted(tmp_path, None, "QUIZ_1 = 5")
    nb = nbformat.read(path, as_version=4)
    _cell(nb, "quiz_1").outputs = [nbformat.v4.new_output(
        "display_data", data={MIME: {"key": "probe_results", "value": to_json(describe({"minilm": {"wic": [1.0]}}))}})]
    path.write_bytes(to_bytes(nb))
    assert run_records(path).values == {}
    assert run_records(tmp_path / "missing.ipynb").values == {} and run_records(None).values == {}
