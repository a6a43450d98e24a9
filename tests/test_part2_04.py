"""Notebook 04 (masked-LM pre-training) means what it says: every wrong quiz answer fails
its test cell (hidden part included) and, with real nbgrader, loses exactly that
question's points; answers that break a rule the text states fail the *visible* test
with a message naming the rule; a broken training-loop cell costs no points."""
from __future__ import annotations

import ast
import re

import nbformat
import pytest

from autograder.course.course import SOLUTIONS_DIR
from tests.nbgrader_harness import autograde, cell_by_grade_id, solution_as_submission, with_cell_source

ASSIGNMENT = "part2_pretraining"
NOTEBOOK = "04_masked_lm_pretraining"
SOURCE = SOLUTIONS_DIR / ASSIGNMENT / f"{NOTEBOOK}.ipynb"

# test cell -> (answer variable, the options of its check_choice, the right one)
CHOICE_QUIZZES = {
    "test_quiz_1": ("QUIZ_1", ["a", "b", "c", "d"], "d"),
    "test_quiz_2": ("QUIZ_2", ["a", "b", "c", "d"], "a"),
    "test_quiz_3": ("QUIZ_3", ["a", "b", "c", "d"], "b"),
}
# Quiz 4 (Softmax(H W_o) for "the cat sat on the mat"): wrong answers and whether the
# visible test already rejects them (a rule the text states) or only the hidden one can.
WRONG_QUIZ_4 = {
    "with the batch dimension": ("QUIZ_4 = torch.softmax(lm.eval()(cat['input_ids']).logits, dim=-1)", True),
    "H itself, (m + 1) x d": ("QUIZ_4 = lm.eval().encoder(cat['input_ids']).last_hidden_state[0]", True),
    "the transpose, V x (m + 1)": ("QUIZ_4 = torch.softmax(lm.eval()(cat['input_ids']).logits[0], dim=-1).T", True),
    "without [CLS] and [SEP]": ("QUIZ_4 = torch.softmax(lm.eval()(cat['input_ids']).logits[0, 1:-1], dim=-1)", False),
    "softmax over positions": ("QUIZ_4 = torch.softmax(lm.eval()(cat['input_ids']).logits[0], dim=0)", True),
    "dropout left on": ("QUIZ_4 = torch.softmax(lm.train()(cat['input_ids']).logits[0], dim=-1)", False),
}


def _notebook() -> nbformat.NotebookNode:
    return nbformat.read(SOURCE, as_version=4)


def _test_source(grade_id: str, hidden: bool = True) -> str:
    source = cell_by_grade_id(_notebook(), grade_id).source
    if not hidden:   # what the student sees: the release drops the hidden region
        source = re.sub(r"### BEGIN HIDDEN TESTS.*?### END HIDDEN TESTS\n?", "", source, flags=re.S)
    return source


def _run_test_cell(grade_id: str, namespace: dict, hidden: bool = True) -> None:
    exec(compile(_test_source(grade_id, hidden), f"<{grade_id}>", "exec"), namespace)


def _check_namespace() -> dict:
    from encoder_lib import checks

    return {name: getattr(checks, name) for name in checks.__all__}


class _EqualsEverything:
    """An answer that claims to equal anything: it must not fool a hidden test."""

    def __eq__(self, other):
        return True

    __hash__ = object.__hash__


def _checked_options(source: str, variable: str) -> list:
    for node in ast.walk(ast.parse(source)):
        if (isinstance(node, ast.Call) and getattr(node.func, "id", None) == "check_choice"
                and isinstance(node.args[1], ast.Name) and node.args[1].id == variable):
            return ast.literal_eval(node.args[2])
    raise AssertionError(f"no check_choice call for {variable} in:\n{source}")


# ------------------------------------------------------------ cheap, no nbgrader

@pytest.mark.parametrize("grade_id", sorted(CHOICE_QUIZZES))
def test_choice_quiz_options_are_the_ones_the_cell_checks(grade_id):
    variable, options, _right = CHOICE_QUIZZES[grade_id]
    source = _test_source(grade_id)
    assert _checked_options(source, variable) == options
    assert "### BEGIN HIDDEN TESTS" in source and source.rstrip().splitlines()[-2].startswith("print(")


@pytest.mark.parametrize("grade_id", sorted(CHOICE_QUIZZES))
def test_every_wrong_choice_fails_and_the_right_one_passes(grade_id, capsys):
    variable, options, right = CHOICE_QUIZZES[grade_id]
    _run_test_cell(grade_id, {**_check_namespace(), variable: right})
    assert "is right" in capsys.readouterr().out
    for wrong in [o for o in options if o != right] + [None, right.upper(), f" {right}", _EqualsEverything()]:
        with pytest.raises(AssertionError):
            _run_test_cell(grade_id, {**_check_namespace(), variable: wrong})
            pytest.fail(f"{variable} = {wrong!r} passed {grade_id}")


@pytest.fixture(scope="module")
def notebook_namespace():
    """What the notebook defines before quiz 4: its imports and the untrained model ``lm``,
    built from the notebook's own locked cells."""
    import torch

    torch.manual_seed(0)
    namespace: dict = {}
    nb = _notebook()
    for grade_id in ("imports", "show_head"):
        exec(cell_by_grade_id(nb, grade_id).source, namespace)
    namespace["cat"] = namespace["tok"]("the cat sat on the mat")
    return namespace


def _quiz_4_namespace(namespace: dict, source: str) -> dict:
    import torch

    attempt = dict(namespace)
    with torch.no_grad():
        exec(source, attempt)
    return attempt


def test_quiz_4_accepts_softmax_of_the_logits_for_every_token(notebook_namespace, capsys):
    right = cell_by_grade_id(_notebook(), "quiz_4").source
    _run_test_cell("test_quiz_4", _quiz_4_namespace(notebook_namespace, right))
    assert "Quiz 4 is right" in capsys.readouterr().out


@pytest.mark.parametrize("label", sorted(WRONG_QUIZ_4))
def test_quiz_4_rejects_each_wrong_matrix_visibly_where_the_text_states_the_rule(notebook_namespace, label):
    source, visible = WRONG_QUIZ_4[label]
    attempt = _quiz_4_namespace(notebook_namespace, source)
    with pytest.raises(AssertionError) as err:
        _run_test_cell("test_quiz_4", dict(attempt))
    if visible:
        with pytest.raises(AssertionError, match="Rule:") as err:
            _run_test_cell("test_quiz_4", dict(attempt), hidden=False)
    else:
        _run_test_cell("test_quiz_4", dict(attempt), hidden=False)   # only the answer itself is wrong
    assert str(err.value)


# Answers that break one rule the exercise text states; the visible test must fail with a
# message naming that rule (student sees why), checked in-process on the release's tests.
BROKEN_RULES = {   # exercise -> {label: ([(text of the solution, replacement), ...], words of the message)}
    "ex_mask_tokens": {
        "special tokens chosen": ([("chosen &= ~special_tokens_mask.bool()", "chosen = chosen")], "never chosen"),
        "input modified": ([("masked = input_ids.clone()", "masked = input_ids")], "must not modify"),
        "no generator": ([("torch.rand(shape, generator=generator) < mlm_probability",
                           "torch.rand(shape) < mlm_probability")], "generator"),
        "always [MASK]": ([("(kind < 0.8)", "(kind < 1.0)")], "80 %"),
        "fixed 15 %": ([("< mlm_probability", "< 0.15")], "mlm_probability"),
    },
    "ex_head": {
        "projects every row": ([("h = H[rows]", "h = H"),
                                ("return logits, labels[rows]", "return logits[rows], labels[rows]")],
                               "before the projection"),
        "calls the head": ([("h = head.layer_norm(head.act(head.dense(h)))", "pass"),
                            ("logits = h @ head.word_embeddings.weight.T + head.bias", "logits = head(h)")],
                           "do not call head"),
    },
    "ex_loss": {
        "counts -100 positions": ([("logits, labels = logits[keep], labels[keep]", "labels = labels.clamp_min(0)")],
                                  "no influence"),
        "library cross-entropy": ([("return (torch.logsumexp(logits, dim=-1) - picked).mean()",
                                    "return F.cross_entropy(logits, labels)")], "do not call"),
        "sum instead of mean": ([("- picked).mean()", "- picked).sum()")], None),
    },
    "ex_step": {
        "no autocast": ([("with policy.autocast():", "if True:")], "autocast"),
        "unscaled backward": ([("scaler.scale(loss).backward()", "loss.backward()")], "scaler.scale"),
        "clip before unscale": ([("    scaler.unscale_(optimizer)\n", ""),
                                 ("    scaler.step(optimizer)", "    scaler.unscale_(optimizer)\n    scaler.step(optimizer)")],
                                "then clip"),
        "no zero_grad": ([("    optimizer.zero_grad(set_to_none=True)\n", "")], "clear the old gradients"),
        "returns a tensor": ([("return loss.item()", "return loss")], "float"),
    },
}
TEST_OF = {"ex_mask_tokens": "test_mask_tokens", "ex_head": "test_head", "ex_loss": "test_loss",
           "ex_step": "test_step"}


@pytest.fixture(scope="module")
def exercise_namespace(notebook_namespace):
    import torch

    nb = _notebook()
    namespace = {**notebook_namespace, "DEVICE": torch.device("cpu")}
    exec(cell_by_grade_id(nb, "show_policy").source, namespace)
    return namespace


def _solution_source(grade_id: str) -> str:
    from autograder.course.cohort import solution_code

    return solution_code(cell_by_grade_id(_notebook(), grade_id).source)


@pytest.mark.parametrize("grade_id", sorted(TEST_OF))
def test_the_solution_passes_the_visible_and_hidden_tests(exercise_namespace, grade_id, capsys):
    namespace = dict(exercise_namespace)
    exec(_solution_source(grade_id), namespace)
    _run_test_cell(TEST_OF[grade_id], namespace)
    assert "also passes the hidden checks" in capsys.readouterr().out


@pytest.mark.parametrize("grade_id, label", [(g, label) for g, cases in sorted(BROKEN_RULES.items())
                                             for label in sorted(cases)])
def test_an_answer_breaking_a_stated_rule_fails_the_visible_test_naming_the_rule(exercise_namespace, grade_id, label):
    replacements, words = BROKEN_RULES[grade_id][label]
    source = _solution_source(grade_id)
    for old, new in replacements:
        assert old in source, f"{label}: the solution of {grade_id} no longer contains {old!r}"
        source = source.replace(old, new)
    namespace = dict(exercise_namespace)
    exec(source, namespace)
    with pytest.raises(AssertionError) as err:
        _run_test_cell(TEST_OF[grade_id], namespace, hidden=False)
    if words:
        assert words in str(err.value), f"{label}: the message should name the rule ({words!r}):\n{err.value}"


# --------------------------------------------------------- real nbgrader, one run

TRAINING_LOOP = "loss = training_step(model, batch, optimizer, scaler, policy, run.grad_clip)"


def _students() -> tuple[dict, dict]:
    """Three students with one wrong answer to every quiz (a different option each), the
    first also with a training-loop cell that crashes; what each must lose."""
    solution = solution_as_submission(ASSIGNMENT, NOTEBOOK)
    rel = f"{ASSIGNMENT}/{NOTEBOOK}.ipynb"
    wrong_quiz_4 = ["QUIZ_4 = torch.softmax(lm.eval()(cat['input_ids']).logits[0, 1:-1], dim=-1)",
                   "QUIZ_4 = torch.softmax(lm.eval()(cat['input_ids']).logits, dim=-1)",
                   "QUIZ_4 = torch.softmax(lm.train()(cat['input_ids']).logits[0], dim=-1)"]
    students, lost = {}, {}
    for i in range(3):
        nb = solution
        for test_id, (variable, options, right) in CHOICE_QUIZZES.items():
            wrong = [o for o in options if o != right][i]
            nb = with_cell_source(nb, test_id.replace("test_", ""), f'{variable} = "{wrong}"')
        nb = with_cell_source(nb, "quiz_4", "cat = tok('the cat sat on the mat')\nwith torch.no_grad():\n"
                                               f"    {wrong_quiz_4[i]}")
        if i == 0:
            nb = nbformat.from_dict(nb)
            loop = next(c for c in nb.cells if TRAINING_LOOP in c.source)
            loop.source = loop.source.replace(TRAINING_LOOP, TRAINING_LOOP.replace("training_step", "trainig_step"))
        students[f"wrong{i}"] = {rel: nb}
        lost[f"wrong{i}"] = {"test_quiz_1", "test_quiz_2", "test_quiz_3", "test_quiz_4"}
    return students, lost


@pytest.mark.slow
def test_each_wrong_quiz_answer_loses_exactly_that_questions_points(tmp_path):
    students, lost = _students()
    scores = autograde(students, tmp_path)
    for student, expected_lost in lost.items():
        got = scores[student][NOTEBOOK]
        autograded = {gid: top for gid, (_score, top) in got.items() if gid.startswith("test_")}
        assert expected_lost <= set(autograded) and len(autograded) == 8, got
        expected = {gid: (0.0 if gid in expected_lost else top) for gid, top in autograded.items()}
        assert {gid: got[gid][0] for gid in autograded} == expected, (
            f"{student} should lose only {sorted(expected_lost)}: {got}")
