"""Part 2's pictures: the fill-in-the-blank predictions and widget (``viz.fill_mask``) and
the training-loss curves, static and live (``viz.loss_curve``): what they show, that the
widget recomputes when a control changes, that the live curve redraws in place, and the
errors they give for bad input."""
from __future__ import annotations

import math

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402

from encoder_lib import EncoderConfig  # noqa: E402
from encoder_lib.model.masked_lm import EncoderForMaskedLM  # noqa: E402
from encoder_lib.viz.fill_mask import fill_mask, fill_mask_widget  # noqa: E402
from encoder_lib.viz.loss_curve import LOSS_LABEL, STEP_LABEL, LiveLossCurve, plot_loss_curve, smooth  # noqa: E402


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


@pytest.fixture(scope="module")
def tok():
    from encoder_lib.tokenizer import WordPieceTokenizer

    return WordPieceTokenizer.from_pretrained()


@pytest.fixture(scope="module")
def dog_lover(tok):
    """A small random masked LM whose output bias makes 'dog' by far the likeliest word
    everywhere, 'cat' the second: what a working fill-mask must show."""
    torch.manual_seed(0)
    model = EncoderForMaskedLM(EncoderConfig(hidden_size=32, num_layers=1, num_heads=2, intermediate_size=64,
                                             max_position=64))
    with torch.no_grad():
        model.mlm_head.bias[tok.convert_tokens_to_ids("dog")] = 30.0
        model.mlm_head.bias[tok.convert_tokens_to_ids("cat")] = 25.0
    return model.eval()


def _displayed_mime_types(obj) -> set:
    """What IPython's display(obj) sends to the front end, through a real IPython shell."""
    from IPython.core.interactiveshell import InteractiveShell
    from IPython.display import display
    from IPython.utils.capture import capture_output

    InteractiveShell.instance()
    try:
        with capture_output() as captured:
            display(obj)
    finally:
        InteractiveShell.clear_instance()
    return {mime for output in captured.outputs for mime in output.data}


# ------------------------------------------------------------------ fill_mask

def test_fill_mask_gives_the_top_words_and_their_softmax_probabilities(dog_lover, tok):
    (pred,) = fill_mask(dog_lover, tok, "the [MASK] barked.", top_k=3)
    assert pred.position == 2                                   # [CLS] the [MASK]
    assert pred.tokens[:2] == ["dog", "cat"] and len(pred.tokens) == 3
    batch = tok("the [MASK] barked.")
    with torch.no_grad():
        probs = dog_lover(batch["input_ids"], batch["attention_mask"]).logits[0, 2].softmax(-1)
    expected = probs.topk(3)
    assert pred.probabilities == pytest.approx(expected.values.tolist(), rel=1e-5)
    assert pred.tokens == tok.convert_ids_to_tokens(expected.indices.tolist())
    assert pred.probabilities == sorted(pred.probabilities, reverse=True) and sum(pred.probabilities) <= 1 + 1e-6


def test_fill_mask_predicts_every_mask_in_order_and_accepts_lower_case(dog_lover, tok):
    preds = fill_mask(dog_lover, tok, "a [mask] and a [MASK] met.", top_k=2)
    assert [p.position for p in preds] == [2, 5]
    assert all(p.tokens == ["dog", "cat"] for p in preds)
    assert fill_mask(dog_lover, tok, "no blank in this sentence") == []


def test_fill_mask_leaves_the_models_mode_as_it_was(dog_lover, tok):
    dog_lover.train()
    try:
        first = fill_mask(dog_lover, tok, "the [MASK] barked.")[0]
        second = fill_mask(dog_lover, tok, "the [MASK] barked.")[0]
        assert dog_lover.training, "fill_mask must put a training model back in training mode"
        assert first.probabilities == second.probabilities, "predictions are made without dropout"
    finally:
        dog_lover.eval()


@pytest.mark.parametrize("text, top_k, error", [
    (["the [MASK]"], 5, TypeError), ("the [MASK]", 0, ValueError), ("the [MASK]", 2.5, ValueError),
])
def test_fill_mask_rejects_bad_input_with_a_clear_error(dog_lover, tok, text, top_k, error):
    with pytest.raises(error, match="text|top_k"):
        fill_mask(dog_lover, tok, text, top_k=top_k)


def test_fill_mask_explains_a_model_that_returns_no_scores(tok):
    class NotALanguageModel(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.w = torch.nn.Parameter(torch.zeros(1))

        def forward(self, input_ids, attention_mask=None):
            return input_ids.float()

    with pytest.raises(TypeError, match=r"\(batch, seq, vocab\)"):
        fill_mask(NotALanguageModel(), tok, "the [MASK]")


# ------------------------------------------------------------------ widget

def test_fill_mask_widget_has_findable_controls_and_shows_every_model(dog_lover, tok):
    untrained = EncoderForMaskedLM(EncoderConfig(hidden_size=32, num_layers=1, num_heads=2, intermediate_size=64,
                                                 max_position=64)).eval()
    widget = fill_mask_widget({"before training": untrained, "after training": dog_lover}, tok,
                              sentence="the [MASK] barked.", top_k=4)
    for control, css in ((widget.sentence, "fill-mask-sentence"), (widget.top_k, "fill-mask-top-k"),
                         (widget.status, "fill-mask-status"), (widget.output, "fill-mask-output"),
                         (widget.widget, "fill-mask")):
        assert css in control._dom_classes
    assert widget.sentence.description == "Sentence" and widget.top_k.description == "Top k"
    assert "1 [MASK]" in widget.status.value and "[CLS] the [MASK] barked . [SEP]" in widget.status.value
    html = widget.output.value
    assert "before training" in html and "after training" in html
    assert html.count("<tr>") == 2 * (1 + 4)                    # a header row and 4 ranks per model
    assert widget.predictions["after training"][0].tokens[0] == "dog"
    assert _displayed_mime_types(widget) >= {"application/vnd.jupyter.widget-view+json"}


def test_fill_mask_widget_recomputes_when_the_sentence_or_top_k_changes(dog_lover, tok):
    widget = fill_mask_widget(dog_lover, tok, sentence="the [MASK] barked.", top_k=3)
    assert widget.renders == 1 and list(widget.predictions) == ["model"]
    widget.top_k.value = 6
    assert widget.renders == 2 and len(widget.predictions["model"][0].tokens) == 6
    widget.sentence.value = "a [MASK] chased a [MASK]."
    assert widget.renders == 3 and "2 [MASK]" in widget.status.value
    assert len(widget.predictions["model"]) == 2
    widget.sentence.value = "nothing to guess here"
    assert widget.predictions == {} and widget.output.value == "" and "[MASK]" in widget.status.value


@pytest.mark.parametrize("kwargs, error", [
    (dict(models={}), ValueError), (dict(top_k=0), ValueError), (dict(top_k=21), ValueError),
    (dict(sentence=3), TypeError),
])
def test_fill_mask_widget_rejects_bad_settings(dog_lover, tok, kwargs, error):
    args = {"models": dog_lover, "sentence": "the [MASK]", "top_k": 5, **kwargs}
    with pytest.raises(error):
        fill_mask_widget(args.pop("models"), tok, **args)


# ------------------------------------------------------------------ loss curves

def test_smooth_is_a_bias_corrected_moving_average():
    assert smooth([4.0, 4.0, 4.0]) == pytest.approx([4.0, 4.0, 4.0])
    values = smooth([10.0, 0.0], weight=0.5)
    assert values == pytest.approx([10.0, (0.25 * 10.0) / 0.75])
    with pytest.raises(ValueError, match="smoothing weight"):
        smooth([1.0], weight=1.0)


def test_plot_loss_curve_has_title_labels_baseline_and_held_out_points():
    ax = plot_loss_curve([1, 2, 3, 4], [9.0, 8.0, 7.5, 7.0], held_out=([2, 4], [8.5, 7.2]), baseline=7.4,
                         title="My run")
    assert ax.get_title() == "My run" and ax.get_xlabel() == STEP_LABEL and ax.get_ylabel() == LOSS_LABEL
    labels = ax.get_legend_handles_labels()[1]
    assert "held-out loss" in labels and any(label.startswith("unigram baseline (7.40") for label in labels)
    held = next(line for line in ax.lines if line.get_label() == "held-out loss")
    assert list(held.get_xdata()) == [2, 4] and list(held.get_ydata()) == [8.5, 7.2]
    baseline = next(line for line in ax.lines if line.get_label().startswith("unigram"))
    assert list(baseline.get_ydata()) == [7.4, 7.4]


@pytest.mark.parametrize("steps, losses, message", [
    ([1, 2], [9.0], "2 steps but 1 losses"),
    ([1, 2, 3], [9.0, float("nan"), 8.0], "NaN or infinite at step 2"),
])
def test_plot_loss_curve_rejects_bad_curves_with_a_clear_message(steps, losses, message):
    with pytest.raises(ValueError, match=message):
        plot_loss_curve(steps, losses)


def test_live_curve_outside_ipython_records_without_drawing():
    curve = LiveLossCurve(baseline=7.0, every=2)
    for step in range(1, 6):
        curve.update(step, 10.0 - step, held_out=9.5 if step == 3 else None)
    curve.finish()
    assert curve.steps == [1, 2, 3, 4, 5] and curve.losses == [9.0, 8.0, 7.0, 6.0, 5.0]
    assert curve.held_out_steps == [3] and curve.held_out_losses == [9.5]
    assert curve.renders == 0
    ax = curve.figure().axes[0]
    assert "step 5" in ax.get_title() and ax.get_xlabel() == STEP_LABEL
    with pytest.raises(ValueError, match="diverged"):
        curve.update(6, math.inf)


def test_live_curve_in_ipython_redraws_one_output_in_place():
    from IPython.core.interactiveshell import InteractiveShell
    from IPython.utils.capture import capture_output

    InteractiveShell.instance()
    try:
        with capture_output() as captured:
            curve = LiveLossCurve(baseline=7.0, every=3)
            for step in range(1, 7):
                curve.update(step, 10.0 - 0.1 * step, held_out=9.0 if step == 4 else None)
            curve.finish()
    finally:
        InteractiveShell.clear_instance()
    # the first picture, redraws at steps 3, 4 (held-out) and 6, and the final one
    assert curve.renders == 5
    shown = [o for o in captured.outputs if "image/png" in o.data]
    assert len(shown) == 5 and all(o.data["image/png"] for o in shown)
    assert [o.update for o in shown] == [False, True, True, True, True], \
        "the curve is displayed once and then updated in place"
    assert len({o.transient["display_id"] for o in shown}) == 1
    with pytest.raises(ValueError, match="every"):
        LiveLossCurve(every=0, show=False)
