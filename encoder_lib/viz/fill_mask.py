"""Fill in the blank with a masked language model: type a sentence with ``[MASK]`` and
see the model's top-k words for each blank, with their probabilities.

    fill_mask(model, tokenizer, "The cat sat on the [MASK].")   # [MaskPrediction(...)]
    fill_mask_widget({"before training": untrained, "after training": model}, tokenizer)

``model`` is any masked LM called as ``model(input_ids, attention_mask=...)`` that
returns the scores Pr(. | x) before the softmax, (batch, seq, vocab), either directly
or as the ``.logits`` of its output (``EncoderForMaskedLM`` does). The widget shows one
column per model, so the same sentence can be compared before and after training.

Every control has a stable ``description`` and CSS class (``fill-mask-sentence``,
``fill-mask-top-k``, ``fill-mask-status``, ``fill-mask-output``; the whole box
``fill-mask``) so that a browser test can find it. The result is plain HTML (no
figure), so it renders the same in JupyterLab, on Colab and under nbgrader.
"""
from __future__ import annotations

import html
import re
from dataclasses import dataclass
from typing import Mapping

import torch

from .widget_display import WidgetDisplay

DEFAULT_SENTENCE = "a [MASK] is a domestic animal that barks."
MASK_PATTERN = re.compile(r"\[mask\]", re.IGNORECASE)   # "[mask]" typed in lower case counts too


@dataclass
class MaskPrediction:
    position: int                 # index of the [MASK] token in the tokenized input ([CLS] is 0)
    tokens: list[str]             # the top-k words, most probable first
    probabilities: list[float]    # their probabilities under Softmax(h_i W_o)


def _logits(model, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
    out = model(input_ids, attention_mask=attention_mask)
    logits = out if isinstance(out, torch.Tensor) else getattr(out, "logits", None)
    if not isinstance(logits, torch.Tensor) or logits.dim() != 3:
        raise TypeError("the model should return the masked-LM scores (batch, seq, vocab), or an output "
                        "with .logits of that shape; call it without labels")
    return logits


@torch.no_grad()
def fill_mask(model, tokenizer, text: str, top_k: int = 5, max_length: int = 64) -> list[MaskPrediction]:
    """The ``top_k`` most probable words at each ``[MASK]`` of ``text`` (in order).
    Returns an empty list when ``text`` has no ``[MASK]``."""
    if not isinstance(text, str):
        raise TypeError(f"text must be a str, got {type(text).__name__}")
    if not isinstance(top_k, int) or top_k < 1:
        raise ValueError(f"top_k must be a positive integer, got {top_k!r}")
    text = MASK_PATTERN.sub(tokenizer.convert_ids_to_tokens(tokenizer.mask_token_id), text)
    batch = tokenizer(text, max_length=max_length, truncation=True)
    ids = batch["input_ids"]                                                # (1, seq)
    positions = (ids[0] == tokenizer.mask_token_id).nonzero().flatten().tolist()
    if not positions:
        return []
    device = next(model.parameters()).device
    was_training = model.training
    model.eval()
    try:
        logits = _logits(model, ids.to(device), batch["attention_mask"].to(device))   # (1, seq, vocab)
    finally:
        model.train(was_training)
    probs = logits[0, positions].float().softmax(dim=-1)                   # (n_masks, vocab)
    top = probs.topk(min(top_k, probs.shape[-1]), dim=-1)
    return [MaskPrediction(pos, tokenizer.convert_ids_to_tokens(idx.tolist()), p.tolist())
            for pos, p, idx in zip(positions, top.values.cpu(), top.indices.cpu())]


def predictions_html(predictions: list[MaskPrediction], title: str = "") -> str:
    """An HTML table of one model's predictions: a column per [MASK], a row per rank,
    each word with its probability as a number and a bar."""
    head = f"<div style='font-weight:bold;margin-bottom:4px'>{html.escape(title)}</div>" if title else ""
    if not predictions:
        return head + "<i>no [MASK] in the sentence</i>"
    cols = "".join(f"<th style='text-align:left;padding:2px 8px'>[MASK] #{i + 1}</th>"
                   for i in range(len(predictions)))
    rows = []
    for rank in range(max(len(p.tokens) for p in predictions)):
        cells = []
        for p in predictions:
            if rank >= len(p.tokens):
                cells.append("<td></td>")
                continue
            prob = p.probabilities[rank]
            bar = (f"<div style='background:#4c72b0;height:8px;width:{max(prob * 120, 1):.0f}px;"
                   "display:inline-block;margin-left:6px'></div>")
            cells.append(f"<td style='padding:2px 8px;font-family:monospace'>{html.escape(p.tokens[rank])} "
                         f"<span style='color:#555'>{prob:6.1%}</span>{bar}</td>")
        rows.append("<tr>" + "".join(cells) + "</tr>")
    return head + f"<table class='fill-mask-table'><tr>{cols}</tr>{''.join(rows)}</table>"


class FillMaskWidget(WidgetDisplay):
    """The fill-in-the-blank widget. ``.widget`` is the ipywidgets box (the object
    displays as it); ``.sentence`` and ``.top_k`` are the controls, ``.status`` a
    one-line summary and ``.output`` the tables (one per model); ``.predictions``
    maps each model's name to its latest predictions."""

    def __init__(self, models, tokenizer, sentence: str = DEFAULT_SENTENCE, top_k: int = 5,
                 max_length: int = 64):
        import ipywidgets as widgets

        if not isinstance(models, Mapping):
            models = {"model": models}
        if not models:
            raise ValueError("give at least one model")
        if not isinstance(sentence, str):
            raise TypeError(f"sentence must be a str, got {type(sentence).__name__}")
        if not isinstance(top_k, int) or not 1 <= top_k <= 20:
            raise ValueError(f"top_k must be an integer from 1 to 20, got {top_k!r}")
        self.models, self.tokenizer, self.max_length = dict(models), tokenizer, max_length
        self.predictions: dict[str, list[MaskPrediction]] = {}
        self.renders = 0   # how many times the tables were computed (tests watch it)

        self.sentence = widgets.Text(value=sentence, description="Sentence", continuous_update=False,
                                     placeholder="type a sentence with [MASK] and press Enter",
                                     layout=widgets.Layout(width="90%"))
        self.top_k = widgets.IntSlider(value=top_k, min=1, max=20, description="Top k")
        self.status = widgets.HTML()
        self.output = widgets.HTML()
        for control, css in ((self.sentence, "fill-mask-sentence"), (self.top_k, "fill-mask-top-k"),
                             (self.status, "fill-mask-status"), (self.output, "fill-mask-output")):
            control.add_class(css)
        self.widget = widgets.VBox([self.sentence, self.top_k, self.status, self.output])
        self.widget.add_class("fill-mask")
        for control in (self.sentence, self.top_k):
            control.observe(self._on_change, names="value")
        self.update()

    def update(self) -> None:
        """Recompute every model's predictions for the current sentence and top k."""
        text = self.sentence.value
        if not MASK_PATTERN.search(text):
            self.predictions = {}
            self.status.value = "<i>Put [MASK] where a word should be guessed, then press Enter.</i>"
            self.output.value = ""
            return
        self.predictions = {name: fill_mask(model, self.tokenizer, text, self.top_k.value, self.max_length)
                            for name, model in self.models.items()}
        self.renders += 1
        first = next(iter(self.predictions.values()))
        tokens = self.tokenizer.convert_ids_to_tokens(
            self.tokenizer(MASK_PATTERN.sub("[MASK]", text), max_length=self.max_length,
                           truncation=True)["input_ids"][0].tolist())
        self.status.value = (f"<b>{len(first)} [MASK]</b> in {len(tokens)} tokens: "
                             f"{html.escape(' '.join(tokens))}")
        columns = "".join(f"<div style='margin-right:24px'>{predictions_html(p, name)}</div>"
                          for name, p in self.predictions.items())
        self.output.value = f"<div style='display:flex;flex-wrap:wrap'>{columns}</div>"


def fill_mask_widget(models, tokenizer, sentence: str = DEFAULT_SENTENCE, top_k: int = 5) -> FillMaskWidget:
    """A :class:`FillMaskWidget`: ``models`` is one masked LM or ``{name: model}`` to
    compare several side by side."""
    return FillMaskWidget(models, tokenizer, sentence=sentence, top_k=top_k)
