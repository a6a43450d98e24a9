"""Notebooks 01 (tokens to vectors) and 02 (self-attention): the attention plots are
labelled, every wrong quiz answer loses exactly that question's points, and the hidden
tests catch answers that pass the visible ones (library calls, masks built from ids)."""
from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402

from encoder_lib.viz.attention import plot_attention, plot_attention_grid  # noqa: E402

PART = "part1_representations"
NB01, NB02 = "01_tokens_to_vectors", "02_self_attention"


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def _weights(heads: int, seq: int, seed: int = 0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return torch.rand(heads, seq, seq, generator=g).softmax(dim=-1)       # (heads, seq, seq)


def _has_colorbar(fig) -> bool:
    return any(ax.get_ylabel() == "attention weight" or ax.get_xlabel() == "attention weight"
               for ax in fig.axes)


# ---------------------------------------------------------------- plots

@pytest.mark.parametrize("head", [None, 2])
def test_plot_attention_of_a_layer_has_title_axis_labels_and_colorbar(head):
    tokens = ["[CLS]", "the", "fox", "[SEP]"]
    ax = plot_attention(_weights(4, 4), tokens, layer=3, head=head)
    assert "layer 3" in ax.get_title()
    assert ("head 2" if head == 2 else "mean of 4 heads") in ax.get_title()
    assert ax.get_xlabel() == "attended-to token"
    assert ax.get_ylabel() == "query token"
    assert [t.get_text() for t in ax.get_xticklabels()] == tokens
    assert [t.get_text() for t in ax.get_yticklabels()] == tokens
    assert _has_colorbar(ax.figure)


def test_plot_attention_draws_the_chosen_head_on_a_given_axes():
    attn = _weights(3, 5)
    fig, ax = plt.subplots()
    returned = plot_attention(attn, list("abcde"), head=1, ax=ax)
    assert returned is ax
    shown = ax.images[0].get_array()
    assert torch.allclose(torch.as_tensor(shown.data, dtype=torch.float32), attn[1])
    assert ax.get_title() and ax.get_xlabel() and ax.get_ylabel()


def test_plot_attention_of_one_matrix_without_layer_or_head_still_has_a_title():
    ax = plot_attention(_weights(1, 3)[0].numpy(), ["a", "b", "c"])
    assert ax.get_title() == "Attention weights"
    assert ax.get_xlabel() and ax.get_ylabel()


@pytest.mark.parametrize("attn, tokens, head, message", [
    (torch.rand(2, 3, 3), ["a", "b"], None, "needs 3 tokens"),
    (torch.rand(2, 3, 3), ["a", "b", "c"], 5, "out of range"),
    (torch.rand(1, 2, 3, 3), ["a", "b", "c"], None, "out.attentions"),
    (torch.rand(3, 4), ["a", "b", "c"], None, "square"),
])
def test_plot_attention_rejects_mismatched_input_with_a_clear_message(attn, tokens, head, message):
    with pytest.raises(ValueError, match=message):
        plot_attention(attn, tokens, head=head)


def test_plot_attention_rejects_one_string_as_tokens():
    with pytest.raises(TypeError, match="list of token strings"):
        plot_attention(torch.rand(3, 3), "abc")


def test_plot_attention_grid_titles_every_head_and_labels_the_outer_axes():
    tokens = ["[CLS]", "a", "b", "c", "[SEP]"]
    attentions = tuple(_weights(6, 5, seed=s).unsqueeze(0) for s in range(3))   # 3 layers of (1, 6, 5, 5)
    fig = plot_attention_grid(attentions, tokens, layer=1, ncols=4)
    heads = [ax for ax in fig.axes if ax.images]
    assert len(heads) == 6
    assert [ax.get_title() for ax in heads] == [f"head {h}" for h in range(6)]
    assert "layer 1" in fig._suptitle.get_text()
    assert _has_colorbar(fig)
    # 2 rows of 4: column 0 carries the y label; the last head of each column the x label
    assert [ax.get_ylabel() for ax in heads] == ["query token", "", "", "", "query token", ""]
    assert [ax.get_xlabel() for ax in heads] == ["", "", "attended-to token", "attended-to token",
                                                 "attended-to token", "attended-to token"]
    hidden = [ax for ax in fig.axes if not ax.get_visible()]
    assert len(hidden) == 2


def test_plot_attention_grid_picks_the_layer_and_sentence():
    attentions = (torch.zeros(2, 2, 3, 3), torch.stack([_weights(2, 3, 1), _weights(2, 3, 2)]))
    fig = plot_attention_grid(attentions, ["x", "y", "z"], layer=2, index=1)   # layer 2: attentions[1]
    first = [ax for ax in fig.axes if ax.images][0]
    assert torch.allclose(torch.as_tensor(first.images[0].get_array().data, dtype=torch.float32),
                          _weights(2, 3, 2)[0])


def test_plot_attention_grid_rejects_a_layer_that_does_not_exist():
    for layer in (0, 3):   # layers count from 1 (layer l produces H^l)
        with pytest.raises(ValueError, match="2 layers, numbered 1 .. 2"):
            plot_attention_grid((torch.rand(1, 2, 3, 3),) * 2, ["a", "b", "c"], layer=layer)


# ---------------------------------------------------------------- grading

# An answer object that claims to equal anything must not pass a hidden test either.
EQUALS_EVERYTHING = "type('Sneaky', (), {'__eq__': lambda self, other: True, '__hash__': object.__hash__})()"

QUIZZES = [   # (notebook, grade_id of the answer cell, test grade_id, answer variable, wrong answers)
    (NB01, "quiz_1", "test_quiz_1", "QUIZ_1", ['"a"', '"c"', '"d"', EQUALS_EVERYTHING]),
    (NB01, "quiz_2", "test_quiz_2", "QUIZ_2", ['"a"', '"c"', '"d"']),
    (NB02, "quiz_1", "test_quiz_1", "QUIZ_1", ['"a"', '"c"', '"d"', EQUALS_EVERYTHING]),
    (NB02, "quiz_2", "test_quiz_2", "QUIZ_2", ["False"]),
]

# Answers that pass the visible tests but not the hidden ones, and the test cells that
# must then lose their points (later exercises build on earlier ones).
SHORTCUTS = {
    NB01: ({
        "ex_pad_batch": '''
def pad_batch(sequences, pad_id):
    longest = max(len(s) for s in sequences)
    ids = torch.tensor([s + [pad_id] * (longest - len(s)) for s in sequences])
    return ids, (ids != pad_id).long()
''',
        "ex_layer_norm": '''
def layer_norm(x, weight, bias, eps=1e-12):
    return torch.nn.functional.layer_norm(x, x.shape[-1:], weight, bias, eps)
''',
    }, {"test_pad_batch", "test_layer_norm", "test_embed"}),
    NB02: ({
        "ex_softmax": '''
def softmax(x, dim=-1):
    return torch.softmax(x, dim=dim)
''',
    }, {"test_softmax", "test_attention", "test_mha"}),
}


def _plan():
    """{student: {notebook: {answer grade_id: source}}} and what each student must lose."""
    from nbgrader_harness import solution_as_submission, with_cell_source

    solutions = {nb: solution_as_submission(PART, nb) for nb in (NB01, NB02)}
    students, expected_losses = {}, {}
    # each student gets one wrong quiz answer in 01 and one in 02, so that a single
    # grading run covers every wrong option
    per_notebook = {NB01: [], NB02: []}
    for nb, cell_id, test_id, variable, wrong in QUIZZES:
        per_notebook[nb] += [(cell_id, test_id, f"{variable} = {answer}\n") for answer in wrong]
    for i in range(max(len(v) for v in per_notebook.values())):
        student = f"quiz{i}"
        students[student], expected_losses[student] = {}, {}
        for nb, options in per_notebook.items():
            notebook = solutions[nb]
            lost = set()
            if i < len(options):
                cell_id, test_id, source = options[i]
                notebook = with_cell_source(notebook, cell_id, source)
                lost = {test_id}
            students[student][f"{PART}/{nb}.ipynb"] = notebook
            expected_losses[student][nb] = lost
    students["shortcuts"], expected_losses["shortcuts"] = {}, {}
    for nb, (replacements, lost) in SHORTCUTS.items():
        notebook = solutions[nb]
        for cell_id, source in replacements.items():
            notebook = with_cell_source(notebook, cell_id, source.strip("\n"))
        students["shortcuts"][f"{PART}/{nb}.ipynb"] = notebook
        expected_losses["shortcuts"][nb] = lost
    return students, expected_losses


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    from nbgrader_harness import autograde

    students, expected = _plan()
    return autograde(students, tmp_path_factory.mktemp("part1_01_02")), expected


@pytest.mark.slow
def test_each_wrong_quiz_answer_loses_exactly_that_questions_points(graded):
    scores, expected = graded
    for student, notebooks in expected.items():
        if not student.startswith("quiz"):
            continue
        for nb, lost in notebooks.items():
            grades = scores[student][nb]
            for grade_id, (score, top) in grades.items():
                want = 0.0 if grade_id in lost else top
                assert score == want, (f"{student} in {nb}: {grade_id} scored {score}/{top}, expected {want} "
                                       f"(wrong answer to {sorted(lost)})")


@pytest.mark.slow
def test_hidden_tests_catch_answers_that_only_pass_the_visible_tests(graded):
    scores, expected = graded
    for nb, lost in expected["shortcuts"].items():
        grades = scores["shortcuts"][nb]
        got_lost = {gid for gid, (score, top) in grades.items() if score < top}
        assert got_lost == lost, f"{nb}: the shortcut answers lost {sorted(got_lost)}, expected {sorted(lost)}"


@pytest.mark.slow
def test_visible_tests_already_fail_the_shortcut_answers(hermetic_jupyter, tmp_path):
    """The shortcuts above break rules the notebooks' text states (the mask from the
    lengths, no library LayerNorm or softmax), so the visible tests must fail them before
    grading does, with a message that names the rule: no point is lost silently."""
    from nbclient import NotebookClient

    from nbgrader_harness import release_notebook, solution_as_submission, with_cell_source

    for nb, (replacements, lost) in SHORTCUTS.items():
        source = solution_as_submission(PART, nb)
        released = release_notebook(PART, nb)
        # the release's visible test cells with the solution's answers, then the shortcuts
        for cell in released.cells:
            gid = cell.metadata.get("nbgrader", {}).get("grade_id")
            if cell.metadata.get("nbgrader", {}).get("solution"):
                cell.source = next(c.source for c in source.cells
                                   if c.metadata.get("nbgrader", {}).get("grade_id") == gid)
        for cell_id, code in replacements.items():
            released = with_cell_source(released, cell_id, code.strip("\n"))
        NotebookClient(released, timeout=300, kernel_name="python3", allow_errors=True,
                       resources={"metadata": {"path": str(tmp_path)}}).execute()
        errors = {c.metadata["nbgrader"]["grade_id"]: next(o for o in c.outputs if o.output_type == "error")
                  for c in released.cells if c.cell_type == "code"
                  and any(o.output_type == "error" for o in c.get("outputs", []))}
        assert set(errors) == lost, f"{nb}: the visible tests failed {sorted(errors)}, expected {sorted(lost)}"
        for replaced in replacements:
            own = "test_" + replaced.removeprefix("ex_")
            assert "Rule:" in errors[own].evalue, f"{nb}: {own} fails without naming the rule: {errors[own].evalue}"
