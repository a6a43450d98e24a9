"""Similarity plots and the ipywidgets explorer of encoder_lib.viz: what they draw, the
errors they give for bad input, and that the explorer redraws when a control changes."""
from __future__ import annotations

import base64

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

from encoder_lib import Encoder, EncoderConfig  # noqa: E402
from encoder_lib import viz  # noqa: E402
from encoder_lib.viz import cosine_similarity_matrix, plot_layer_similarity, plot_similarity_matrix  # noqa: E402


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


@pytest.fixture(scope="module")
def tiny_model_and_tokenizer():
    """A small random encoder (2 layers, 4 heads) with the real WordPiece tokenizer."""
    from encoder_lib.tokenizer import WordPieceTokenizer

    torch.manual_seed(0)
    config = EncoderConfig(hidden_size=32, num_layers=2, num_heads=4, intermediate_size=64, max_position=64)
    return Encoder(config).eval(), WordPieceTokenizer.from_pretrained()


# ----------------------------------------------------------------- cosine matrix

def test_cosine_similarity_matrix_matches_torch_cosine():
    a, b = torch.randn(5, 8), 3 * torch.randn(3, 8)
    expected = F.cosine_similarity(a[:, None], b[None], dim=-1)
    assert torch.allclose(cosine_similarity_matrix(a, b), expected, atol=1e-6)
    assert torch.allclose(cosine_similarity_matrix(a).diagonal(), torch.ones(5), atol=1e-6)


def test_cosine_similarity_matrix_rejects_batches_and_width_mismatch():
    with pytest.raises(ValueError, match="pick one sentence"):
        cosine_similarity_matrix(torch.randn(2, 5, 8))
    with pytest.raises(ValueError, match="different widths"):
        cosine_similarity_matrix(torch.randn(5, 8), torch.randn(5, 4))


# ------------------------------------------------------------ layer-wise curve

def test_layer_similarity_plot_has_title_labels_and_one_point_per_layer():
    ax = plot_layer_similarity(torch.tensor([0.9, 0.8, 0.7]), title="bank vs bank")
    assert ax.get_title() == "bank vs bank"
    assert ax.get_xlabel() and ax.get_ylabel() == "cosine similarity"
    (line,) = ax.get_lines()
    assert list(line.get_xdata()) == [0, 1, 2]
    assert np.allclose(line.get_ydata(), [0.9, 0.8, 0.7])


def test_layer_similarity_plot_draws_a_labelled_curve_per_dict_entry():
    ax = plot_layer_similarity({"same sense": [1.0, 0.9], "different senses": np.array([1.0, 0.5])})
    assert len(ax.get_lines()) == 2
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["same sense", "different senses"]


@pytest.mark.parametrize("bad, error", [
    (torch.zeros(2, 3), ValueError),
    ([], ValueError),
    ({}, ValueError),
    ([0.5, float("nan")], ValueError),
    ("not numbers", TypeError),
])
def test_layer_similarity_plot_rejects_bad_curves(bad, error):
    with pytest.raises(error):
        plot_layer_similarity(bad)


# --------------------------------------------------------- token-by-token matrix

def test_similarity_matrix_plot_labels_rows_and_columns_with_tokens():
    fig, ax = plt.subplots()
    out = plot_similarity_matrix(torch.rand(2, 3), ["a", "b"], ["x", "y", "z"], ax=ax, title="t")
    assert out is ax and ax.get_title() == "t"
    assert [t.get_text() for t in ax.get_xticklabels()] == ["x", "y", "z"]
    assert [t.get_text() for t in ax.get_yticklabels()] == ["a", "b"]
    assert ax.get_xlabel() and ax.get_ylabel()
    assert len(fig.axes) == 2   # the heatmap and its colour bar


def test_similarity_matrix_plot_errors_name_the_mismatch():
    with pytest.raises(ValueError, match="needs 3 tokens"):
        plot_similarity_matrix(torch.rand(3, 3), ["a", "b"])
    with pytest.raises(ValueError, match="not square"):
        plot_similarity_matrix(torch.rand(2, 3), ["a", "b"])
    with pytest.raises(TypeError, match="list of token strings"):
        plot_similarity_matrix(torch.rand(2, 2), "ab")
    with pytest.raises(ValueError, match="2-D"):
        plot_similarity_matrix(torch.rand(1, 2, 2), ["a", "b"])


# -------------------------------------------------------------------- package

def test_viz_package_exports_every_plot_and_the_explorer():
    for name in ("plot_layer_similarity", "plot_similarity_matrix", "cosine_similarity_matrix",
                 "attention_explorer", "EncoderExplorer"):
        assert callable(getattr(viz, name)), name
        assert name in dir(viz)
    with pytest.raises(AttributeError):
        viz.no_such_plot  # noqa: B018


# ------------------------------------------------------------------- explorer

def _png(explorer) -> bytes:
    (output,) = explorer.output.outputs
    return base64.b64decode(output["data"]["image/png"])


def test_explorer_has_findable_controls_and_draws_a_png(tiny_model_and_tokenizer):
    model, tok = tiny_model_and_tokenizer
    explorer = viz.attention_explorer(model, tok, sentence="the bank of the river")
    assert explorer.sentence.description == "Sentence"
    assert explorer.layer.description == "Layer" and explorer.layer.value == 2
    assert explorer.head.description == "Head"
    for control, css in ((explorer.sentence, "explorer-sentence"), (explorer.layer, "explorer-layer"),
                         (explorer.head, "explorer-head"), (explorer.output, "explorer-output"),
                         (explorer.widget, "encoder-explorer")):
        assert css in control._dom_classes
    assert _png(explorer).startswith(b"\x89PNG")
    assert "7 tokens" in explorer.status.value
    assert _displayed_mime_types(explorer) >= {"application/vnd.jupyter.widget-view+json"}


def _displayed_mime_types(obj) -> set:
    """What IPython's display(obj) sends to the front end (through a real IPython shell,
    so that both ipywidgets 8's and 7's display paths run)."""
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


def test_explorer_redraws_when_layer_head_or_sentence_change(tiny_model_and_tokenizer):
    model, tok = tiny_model_and_tokenizer
    explorer = viz.attention_explorer(model, tok, sentence="the bank of the river", layer=1, head=0)
    first = _png(explorer)
    explorer.layer.value = 2
    second = _png(explorer)
    assert second != first and "layer 2" in explorer.status.value
    explorer.head.value = 3
    assert _png(explorer) != second and "head 3" in explorer.status.value
    explorer.sentence.value = "money in the bank"
    assert "6 tokens" in explorer.status.value
    assert explorer.renders == 4


def test_explorer_shows_a_prompt_for_an_empty_sentence(tiny_model_and_tokenizer):
    model, tok = tiny_model_and_tokenizer
    explorer = viz.attention_explorer(model, tok)
    explorer.sentence.value = "   "
    assert explorer.output.outputs == ()
    assert "Type a sentence" in explorer.status.value


def test_explorer_truncates_long_sentences(tiny_model_and_tokenizer):
    model, tok = tiny_model_and_tokenizer
    explorer = viz.attention_explorer(model, tok, sentence="word " * 100, max_tokens=16)
    assert "16 tokens" in explorer.status.value


@pytest.mark.parametrize("kwargs, match", [
    ({"layer": 0}, "layers 1 .. 2"),
    ({"head": 4}, "heads 0 .. 3"),
    ({"max_tokens": 2}, "at least 3"),
])
def test_explorer_rejects_out_of_range_settings(tiny_model_and_tokenizer, kwargs, match):
    model, tok = tiny_model_and_tokenizer
    with pytest.raises(ValueError, match=match):
        viz.attention_explorer(model, tok, **kwargs)
