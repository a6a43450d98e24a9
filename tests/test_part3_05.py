"""Notebook 05 (fine-tuning): every rule its text states is caught by that exercise's
visible test with a message naming the rule; quiz 1 loses its points on every wrong
option; quiz 2 gives partial credit per ordered pair, each wrong pair losing exactly its
cell's point; and with real nbgrader a wrong answer costs exactly its own points."""
from __future__ import annotations

import copy
import itertools

import nbformat
import pytest

from autograder.course.course import RELEASE_DIR, SOLUTIONS_DIR
from tests.nbgrader_harness import autograde, cell_by_grade_id, solution_as_submission, with_cell_source

PART, NOTEBOOK = "part3_adaptation", "05_finetuning"
RIGHT_ORDER = ["d", "b", "e", "c", "a"]
PAIR_CELLS = [f"test_quiz_2_pair{i}" for i in range(1, 5)]    # pair i: RIGHT_ORDER[i-1] before RIGHT_ORDER[i]


def _source_cell(grade_id: str) -> str:
    return cell_by_grade_id(nbformat.read(SOLUTIONS_DIR / PART / f"{NOTEBOOK}.ipynb", as_version=4), grade_id).source


def _release_cell(grade_id: str) -> str:
    return cell_by_grade_id(nbformat.read(RELEASE_DIR / PART / f"{NOTEBOOK}.ipynb", as_version=4), grade_id).source


def _answer(source: str) -> str:
    return "\n".join(line for line in source.splitlines() if "### BEGIN SOLUTION" not in line
                     and "### END SOLUTION" not in line)


@pytest.fixture(scope="module")
def base_namespace():
    """What the notebook defines before its exercises: the imports cell, run on the CPU."""
    import matplotlib

    matplotlib.use("Agg")
    import torch

    ns: dict = {"DEVICE": torch.device("cpu")}
    exec(_source_cell("imports"), ns)
    return ns


def _run(source: str, ns: dict, name: str) -> None:
    exec(compile(source, f"<{name}>", "exec"), ns)


# ------------------------------------------------------------------ quizzes, no nbgrader

class _EqualsEverything:
    def __eq__(self, other):
        return True

    __hash__ = object.__hash__


@pytest.mark.parametrize("view", ["release", "solution"])
def test_quiz1_right_answer_passes_in_both_views(base_namespace, view, capsys):
    source = _release_cell("test_quiz_1") if view == "release" else _source_cell("test_quiz_1")
    _run(source, {**base_namespace, "QUIZ_1": "c"}, "test_quiz_1")
    assert "Quiz 1: answer recorded." in capsys.readouterr().out


@pytest.mark.parametrize("wrong", ["a", "b", "d", "e", "C", " c", None, 3, _EqualsEverything()], ids=repr)
def test_quiz1_every_wrong_answer_fails(base_namespace, wrong):
    with pytest.raises(AssertionError):
        _run(_source_cell("test_quiz_1"), {**base_namespace, "QUIZ_1": wrong}, "test_quiz_1")


def _quiz2_outcome(ns: dict, answer) -> dict[str, bool]:
    """{pair cell: passed} for one QUIZ_2, hidden tests included."""
    out = {}
    for cell in PAIR_CELLS:
        try:
            _run(_source_cell(cell), {**ns, "QUIZ_2": answer}, cell)
            out[cell] = True
        except AssertionError:
            out[cell] = False
    return out


def test_quiz2_right_order_passes_every_pair_cell(base_namespace):
    assert _quiz2_outcome(base_namespace, list(RIGHT_ORDER)) == {c: True for c in PAIR_CELLS}


@pytest.mark.parametrize("i", range(4))
def test_quiz2_swapping_one_adjacent_pair_loses_exactly_that_pair(base_namespace, i):
    answer = list(RIGHT_ORDER)
    answer[i], answer[i + 1] = answer[i + 1], answer[i]
    assert _quiz2_outcome(base_namespace, answer) == {c: c != PAIR_CELLS[i] for c in PAIR_CELLS}


def test_quiz2_credit_is_the_number_of_adjacent_pairs_kept_for_every_ordering(base_namespace):
    for perm in itertools.permutations(RIGHT_ORDER):
        kept = {PAIR_CELLS[i] for i in range(4) if perm.index(RIGHT_ORDER[i]) < perm.index(RIGHT_ORDER[i + 1])}
        assert _quiz2_outcome(base_namespace, list(perm)) == {c: c in kept for c in PAIR_CELLS}, perm


@pytest.mark.parametrize("bad", [None, "dbeca", ("d", "b", "e", "c", "a"), ["d", "b", "e", "c"],
                                 ["d", "b", "e", "c", "a", "a"], ["D", "B", "E", "C", "A"], [_EqualsEverything()] * 5],
                         ids=repr)
def test_quiz2_malformed_answers_fail_every_pair_cell(base_namespace, bad):
    assert _quiz2_outcome(base_namespace, bad) == {c: False for c in PAIR_CELLS}


def test_quiz2_release_shows_only_the_format_check(base_namespace):
    for cell in PAIR_CELLS:
        source = _release_cell(cell)
        assert "index(" not in source
        _run(source, {**base_namespace, "QUIZ_2": ["a", "b", "c", "d", "e"]}, cell)   # format only


# ------------------------------------------- exercises: the visible tests name the rules

WRONG = {
    # (exercise, label): (answer source, test cell, words the visible message must contain)
    ("ex_classifier", "mean pooling"): ('''
class SequenceClassifier(nn.Module):
    def __init__(self, encoder, num_labels):
        super().__init__()
        self.encoder = encoder
        self.head = nn.Linear(encoder.config.hidden_size, num_labels)
    def forward(self, input_ids, attention_mask=None):
        return self.head(self.encoder(input_ids, attention_mask=attention_mask).last_hidden_state.mean(1))
''', "test_classifier", "h_0"),
    ("ex_classifier", "softmax on the logits"): ('''
class SequenceClassifier(nn.Module):
    def __init__(self, encoder, num_labels):
        super().__init__()
        self.encoder = encoder
        self.head = nn.Linear(encoder.config.hidden_size, num_labels)
    def forward(self, input_ids, attention_mask=None):
        H = self.encoder(input_ids, attention_mask=attention_mask).last_hidden_state
        return self.head(H[:, 0]).softmax(-1)
''', "test_classifier", "h_0"),
    ("ex_classifier", "no attention mask"): ('''
class SequenceClassifier(nn.Module):
    def __init__(self, encoder, num_labels):
        super().__init__()
        self.encoder = encoder
        self.head = nn.Linear(encoder.config.hidden_size, num_labels)
    def forward(self, input_ids, attention_mask=None):
        return self.head(self.encoder(input_ids).last_hidden_state[:, 0])
''', "test_classifier", "padding"),
    ("ex_classifier", "a copy of the encoder"): ('''
class SequenceClassifier(nn.Module):
    def __init__(self, encoder, num_labels):
        super().__init__()
        self.encoder = copy.deepcopy(encoder)
        self.head = nn.Linear(encoder.config.hidden_size, num_labels)
    def forward(self, input_ids, attention_mask=None):
        return self.head(self.encoder(input_ids, attention_mask=attention_mask).last_hidden_state[:, 0])
''', "test_classifier", "self.encoder"),
    ("ex_classifier", "head reuses encoder parameters"): ('''
class SequenceClassifier(nn.Module):
    def __init__(self, encoder, num_labels):
        super().__init__()
        self.encoder = encoder
        self.head = nn.Linear(encoder.config.hidden_size, num_labels)
        self.head.weight = encoder.embeddings.word_embeddings.weight
    def forward(self, input_ids, attention_mask=None):
        H = self.encoder(input_ids, attention_mask=attention_mask).last_hidden_state
        return H[:, 0] @ self.head.weight[:3].T
''', "test_classifier", "new"),
    ("ex_step", "zero_grad after the step"): ('''
def fine_tuning_step(model, batch, optimizer, scaler, precision):
    model.train()
    with precision.autocast():
        loss = F.cross_entropy(model(batch["input_ids"], batch["attention_mask"]).float(), batch["labels"])
    scaler.scale(loss).backward()
    scaler.step(optimizer)
    scaler.update()
    optimizer.zero_grad()
    return loss.item()
''', "test_step", "order"),
    ("ex_step", "no zero_grad"): ('''
def fine_tuning_step(model, batch, optimizer, scaler, precision):
    model.train()
    with precision.autocast():
        loss = F.cross_entropy(model(batch["input_ids"], batch["attention_mask"]).float(), batch["labels"])
    scaler.scale(loss).backward()
    scaler.step(optimizer)
    scaler.update()
    return loss.item()
''', "test_step", "zero_grad"),
    ("ex_step", "no training mode"): ('''
def fine_tuning_step(model, batch, optimizer, scaler, precision):
    optimizer.zero_grad()
    with precision.autocast():
        loss = F.cross_entropy(model(batch["input_ids"], batch["attention_mask"]).float(), batch["labels"])
    scaler.scale(loss).backward()
    scaler.step(optimizer)
    scaler.update()
    return loss.item()
''', "test_step", "training mode"),
    ("ex_step", "forward outside autocast"): ('''
def fine_tuning_step(model, batch, optimizer, scaler, precision):
    model.train()
    optimizer.zero_grad()
    logits = model(batch["input_ids"], batch["attention_mask"])
    with precision.autocast():
        loss = F.cross_entropy(logits.float(), batch["labels"])
    scaler.scale(loss).backward()
    scaler.step(optimizer)
    scaler.update()
    return loss.item()
''', "test_step", "autocast"),
    ("ex_step", "no gradient scaler"): ('''
def fine_tuning_step(model, batch, optimizer, scaler, precision):
    model.train()
    optimizer.zero_grad()
    with precision.autocast():
        loss = F.cross_entropy(model(batch["input_ids"], batch["attention_mask"]).float(), batch["labels"])
    loss.backward()
    optimizer.step()
    return loss.item()
''', "test_step", "scaler.scale"),
    ("ex_step", "returns the tensor"): ('''
def fine_tuning_step(model, batch, optimizer, scaler, precision):
    model.train()
    optimizer.zero_grad()
    with precision.autocast():
        loss = F.cross_entropy(model(batch["input_ids"], batch["attention_mask"]).float(), batch["labels"])
    scaler.scale(loss).backward()
    scaler.step(optimizer)
    scaler.update()
    return loss
''', "test_step", "float"),
    ("ex_step", "sum instead of mean"): ('''
def fine_tuning_step(model, batch, optimizer, scaler, precision):
    model.train()
    optimizer.zero_grad()
    with precision.autocast():
        logits = model(batch["input_ids"], batch["attention_mask"])
        loss = F.cross_entropy(logits.float(), batch["labels"], reduction="sum")
    scaler.scale(loss).backward()
    scaler.step(optimizer)
    scaler.update()
    return loss.item()
''', "test_step", "mean over the batch"),
    ("ex_freeze", "freezes the head too"): ('''
def freeze_encoder(model):
    for p in model.parameters():
        p.requires_grad_(False)
    return []
''', "test_freeze", "head stays trainable"),
    ("ex_freeze", "freezes only the embeddings"): ('''
def freeze_encoder(model):
    for p in model.encoder.embeddings.parameters():
        p.requires_grad_(False)
    return [p for p in model.parameters() if p.requires_grad]
''', "test_freeze", "every encoder parameter is frozen"),
    ("ex_freeze", "returns a generator"): ('''
def freeze_encoder(model):
    for p in model.encoder.parameters():
        p.requires_grad_(False)
    return (p for p in model.parameters() if p.requires_grad)
''', "test_freeze", "list"),
    ("ex_freeze", "returns every parameter"): ('''
def freeze_encoder(model):
    for p in model.encoder.parameters():
        p.requires_grad_(False)
    return list(model.parameters())
''', "test_freeze", "exactly the parameters still trainable"),
    ("ex_freeze", "zeroes the encoder"): ('''
def freeze_encoder(model):
    with torch.no_grad():
        for p in model.encoder.parameters():
            p.zero_()
            p.requires_grad_(False)
    return [p for p in model.parameters() if p.requires_grad]
''', "test_freeze", "changes no value"),
    ("ex_relative_change", "mean of per-tensor changes"): ('''
def relative_change(before, after):
    out = {}
    for name, b in before.items():
        g = "embeddings" if name.startswith("embeddings.") else ".".join(name.split(".")[:2])
        out.setdefault(g, []).append(((after[name] - b).norm() / b.norm().clamp_min(1e-12)).item())
    return {g: sum(v) / len(v) for g, v in out.items()}
''', "test_relative_change", "one vector"),
    ("ex_relative_change", "one entry per tensor"): ('''
def relative_change(before, after):
    return {name: ((after[name] - b).norm() / b.norm()).item() for name, b in before.items()}
''', "test_relative_change", "one entry per group"),
    ("ex_relative_change", "tensors, not floats"): ('''
def relative_change(before, after):
    d, n = {}, {}
    for name, b in before.items():
        g = "embeddings" if name.startswith("embeddings.") else ".".join(name.split(".")[:2])
        d[g] = d.get(g, 0) + (after[name] - b).pow(2).sum()
        n[g] = n.get(g, 0) + b.pow(2).sum()
    return {g: (d[g] / n[g]).sqrt() for g in d}
''', "test_relative_change", "float"),
}


@pytest.mark.parametrize("exercise", ["ex_classifier", "ex_step", "ex_freeze", "ex_relative_change"])
def test_reference_answer_passes_visible_and_hidden_tests(base_namespace, exercise, capsys):
    test_cell = {"ex_classifier": "test_classifier", "ex_step": "test_step", "ex_freeze": "test_freeze",
                 "ex_relative_change": "test_relative_change"}[exercise]
    for view in (_release_cell, _source_cell):
        ns = dict(base_namespace, copy=copy)
        _run(_answer(_source_cell(exercise)), ns, exercise)
        _run(view(test_cell), ns, test_cell)
    assert capsys.readouterr().out.count(": ") >= 2


RIGHT_IN_ANOTHER_STYLE = {
    # (exercise, label): (answer source, test cell); a numpy float is a float for check_type, hidden tests alike
    ("ex_step", "a numpy float"): ('''
def fine_tuning_step(model, batch, optimizer, scaler, precision):
    import numpy as np
    model.train()
    optimizer.zero_grad()
    with precision.autocast():
        loss = F.cross_entropy(model(batch["input_ids"], batch["attention_mask"]).float(), batch["labels"])
    scaler.scale(loss).backward()
    scaler.step(optimizer)
    scaler.update()
    return np.float32(loss.item())
''', "test_step"),
    ("ex_relative_change", "np.linalg.norm (numpy floats)"): ('''
def relative_change(before, after):
    import numpy as np
    groups = {}
    for name in before:
        g = "embeddings" if name.startswith("embeddings.") else ".".join(name.split(".")[:2])
        groups.setdefault(g, []).append(name)
    out = {}
    for g, names in groups.items():
        d = np.concatenate([(after[n] - before[n]).flatten().numpy() for n in names])
        b = np.concatenate([before[n].flatten().numpy() for n in names])
        out[g] = np.linalg.norm(d) / np.linalg.norm(b)
    return out
''', "test_relative_change"),
}


@pytest.mark.parametrize("key", list(RIGHT_IN_ANOTHER_STYLE), ids=lambda k: f"{k[0]}-{k[1]}")
def test_a_right_answer_in_another_style_passes_visible_and_hidden_tests(base_namespace, key):
    source, test_cell = RIGHT_IN_ANOTHER_STYLE[key]
    for view in (_release_cell, _source_cell):
        ns = dict(base_namespace, copy=copy)
        _run(source, ns, key[0])
        _run(view(test_cell), ns, test_cell)


@pytest.mark.parametrize("key", list(WRONG), ids=lambda k: f"{k[0]}-{k[1]}")
def test_visible_test_catches_a_broken_rule_and_names_it(base_namespace, key):
    source, test_cell, words = WRONG[key]
    ns = dict(base_namespace, copy=copy)
    _run(source, ns, key[0])
    with pytest.raises(AssertionError) as err:
        _run(_release_cell(test_cell), ns, test_cell)
    assert words in str(err.value), f"{key}: the message should name the rule ({words!r}):\n{err.value}"


# --------------------------------------------------------- real nbgrader, one run

WRONG_SUBMISSIONS = {
    # student: {answer cell: what replaces it}, and the test cells that must lose all their points
    "wrong_quiz_1_and_first_pair": ({"quiz_1": 'QUIZ_1 = "b"',
                                     "quiz_2": 'QUIZ_2 = ["b", "d", "e", "c", "a"]'},
                                    {"test_quiz_1", "test_quiz_2_pair1"}),
    "wrong_last_pair": ({"quiz_2": 'QUIZ_2 = ["d", "b", "e", "a", "c"]'}, {"test_quiz_2_pair4"}),
}


@pytest.mark.slow
def test_a_wrong_quiz_answer_loses_exactly_its_points_under_nbgrader(tmp_path):
    solution = solution_as_submission(PART, NOTEBOOK)
    rel = f"{PART}/{NOTEBOOK}.ipynb"
    submissions = {}
    for student, (cells, _lost) in WRONG_SUBMISSIONS.items():
        nb = solution
        for cell, source in cells.items():
            nb = with_cell_source(nb, cell, source)
        submissions[student] = {rel: nb}
    scores = autograde(submissions, tmp_path)
    for student, (_cells, lost) in WRONG_SUBMISSIONS.items():
        got = scores[student][NOTEBOOK]
        autograded = {gid: top for gid, (_score, top) in got.items() if gid.startswith("test_")}
        assert lost <= set(autograded) and len(autograded) == 9, got   # 4 exercises, quiz 1, 4 pairs
        expected = {gid: (0.0 if gid in lost else top) for gid, top in autograded.items()}
        assert {gid: got[gid][0] for gid in autograded} == expected, f"{student} should lose only {lost}: {got}"
