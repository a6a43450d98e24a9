"""An ipywidgets explorer of a pre-trained encoder: type a sentence, pick a layer and a
head, and see that head's attention map beside the token-by-token cosine similarity of
the layer's hidden states H^l.

    from encoder_lib.viz import attention_explorer
    attention_explorer(model, tokenizer)      # the last expression of a cell shows it

Every control has a stable ``description`` and CSS class (``explorer-sentence``,
``explorer-layer``, ``explorer-head``, ``explorer-status``, ``explorer-output``; the whole
box ``encoder-explorer``) so that a browser test can find it. The figure is rendered
to PNG here and put into the Output widget's outputs directly, so it works the same
in JupyterLab, on Colab and while nbgrader executes the notebook (no pyplot state).
"""
from __future__ import annotations

import base64
import html
import io

import torch

from .similarity import SIMILARITY_LABEL, cosine_similarity_matrix, draw_heatmap
from .widget_display import WidgetDisplay

DEFAULT_SENTENCE = "he sat on the bank of the river and watched the currents"
MEAN_OF_HEADS = -1


class EncoderExplorer(WidgetDisplay):
    """The explorer's widgets and state. ``.widget`` is the ipywidgets box; the object
    displays as that box. ``.sentence``, ``.layer``, ``.head`` are the controls,
    ``.output`` holds the figure and ``.status`` a one-line summary."""

    def __init__(self, model, tokenizer, sentence: str = DEFAULT_SENTENCE, layer: int | None = None,
                 head: int = MEAN_OF_HEADS, max_tokens: int = 32, dpi: int = 72):
        import ipywidgets as widgets

        if not isinstance(sentence, str):
            raise TypeError(f"sentence must be a str, got {type(sentence).__name__}")
        num_layers, num_heads = model.config.num_layers, model.config.num_heads
        layer = num_layers if layer is None else layer
        if not 1 <= layer <= num_layers:
            raise ValueError(f"layer={layer} is out of range: the encoder has layers 1 .. {num_layers}")
        if head != MEAN_OF_HEADS and not 0 <= head < num_heads:
            raise ValueError(f"head={head} is out of range: each layer has heads 0 .. {num_heads - 1} "
                             f"(or {MEAN_OF_HEADS} for the mean of all heads)")
        if max_tokens < 3:
            raise ValueError(f"max_tokens must be at least 3 ([CLS], a word, [SEP]), got {max_tokens}")
        self.model, self.tokenizer = model, tokenizer
        self.max_tokens, self.dpi = max_tokens, dpi
        self._cache: tuple[str, list[str], torch.Tensor, torch.Tensor] | None = None
        self.renders = 0   # how many figures have been drawn (tests watch it)

        self.sentence = widgets.Text(value=sentence, description="Sentence", continuous_update=False,
                                     placeholder="type a sentence and press Enter",
                                     layout=widgets.Layout(width="90%"))
        self.layer = widgets.Dropdown(options=[(str(i), i) for i in range(1, num_layers + 1)],
                                      value=layer, description="Layer")
        self.head = widgets.Dropdown(options=[("mean of heads", MEAN_OF_HEADS)]
                                     + [(str(h), h) for h in range(num_heads)],
                                     value=head, description="Head")
        self.status = widgets.HTML()
        self.output = widgets.Output()
        for control, css in ((self.sentence, "explorer-sentence"), (self.layer, "explorer-layer"),
                             (self.head, "explorer-head"), (self.status, "explorer-status"),
                             (self.output, "explorer-output")):
            control.add_class(css)
        self.widget = widgets.VBox([self.sentence, widgets.HBox([self.layer, self.head]),
                                    self.status, self.output])
        self.widget.add_class("encoder-explorer")
        for control in (self.sentence, self.layer, self.head):
            control.observe(self._on_change, names="value")
        self.update()

    # ----------------------------------------------------------------- compute
    @torch.no_grad()
    def _encode(self, sentence: str) -> tuple[list[str], torch.Tensor, torch.Tensor]:
        """(tokens, attentions (L, heads, seq, seq), hidden states (L+1, seq, d)) on the CPU."""
        if self._cache is not None and self._cache[0] == sentence:
            return self._cache[1:]
        batch = self.tokenizer(sentence, max_length=self.max_tokens, truncation=True)
        device = next(self.model.parameters()).device
        out = self.model(batch["input_ids"].to(device), attention_mask=batch["attention_mask"].to(device),
                         output_hidden_states=True, output_attentions=True)
        tokens = self.tokenizer.convert_ids_to_tokens(batch["input_ids"][0].tolist())
        attentions = torch.stack([a[0] for a in out.attentions]).float().cpu()      # (L, heads, seq, seq)
        hidden = torch.stack([h[0] for h in out.hidden_states]).float().cpu()       # (L+1, seq, d)
        self._cache = (sentence, tokens, attentions, hidden)
        return tokens, attentions, hidden

    def figure(self):
        """The current picture as a matplotlib Figure (None when the sentence is empty)."""
        from matplotlib.figure import Figure

        text = self.sentence.value.strip()
        if not text:
            return None
        tokens, attentions, hidden = self._encode(text)
        layer, head = self.layer.value, self.head.value
        attn = attentions[layer - 1]                                        # (heads, seq, seq)
        attn = attn.mean(0) if head == MEAN_OF_HEADS else attn[head]        # (seq, seq)
        sim = cosine_similarity_matrix(hidden[layer])                       # (seq, seq)
        n = len(tokens)
        side = min(6.0, 2.6 + 0.22 * n)
        fig = Figure(figsize=(2 * side + 2.2, side + 0.6), dpi=self.dpi, layout="constrained")
        ax_attn, ax_sim = fig.subplots(1, 2)
        which = "mean of heads" if head == MEAN_OF_HEADS else f"head {head}"
        draw_heatmap(ax_attn, attn.numpy(), tokens, tokens, title=f"Attention, layer {layer}, {which}",
                     xlabel="attended-to token", ylabel="query token", colorbar_label="attention weight",
                     vmin=0.0, vmax=max(float(attn.max()), 1e-12), cmap="viridis")
        draw_heatmap(ax_sim, sim.numpy(), tokens, tokens, title=f"Cosine similarity of the rows of $H^{{{layer}}}$",
                     xlabel="token", ylabel="token", colorbar_label=SIMILARITY_LABEL,
                     vmin=float(sim.min()), vmax=1.0)
        return fig

    def update(self) -> None:
        """Redraw the figure and the status line from the controls' current values."""
        fig = self.figure()
        if fig is None:
            self.status.value = "<i>Type a sentence and press Enter.</i>"
            self.output.outputs = ()
            return
        buffer = io.BytesIO()
        fig.savefig(buffer, format="png")
        png = base64.b64encode(buffer.getvalue()).decode("ascii")
        tokens = self._cache[1]
        head = "mean of heads" if self.head.value == MEAN_OF_HEADS else f"head {self.head.value}"
        self.renders += 1
        self.status.value = (f"<b>{len(tokens)} tokens</b> (at most {self.max_tokens}): "
                             f"layer {self.layer.value}, {head} &mdash; "
                             f"{html.escape(' '.join(tokens))}")
        self.output.outputs = ({"output_type": "display_data",
                                "data": {"image/png": png,
                                         "text/plain": f"<attention and similarity, layer {self.layer.value}>"},
                                "metadata": {}},)


def attention_explorer(model=None, tokenizer=None, sentence: str = DEFAULT_SENTENCE,
                       layer: int | None = None, head: int = MEAN_OF_HEADS,
                       max_tokens: int = 32) -> EncoderExplorer:
    """An :class:`EncoderExplorer` for ``model`` and ``tokenizer`` (by default the
    pre-trained all-MiniLM-L6-v2 on the CPU). ``layer`` counts from 1 (default: the
    last); ``head`` counts from 0, -1 shows the mean over heads."""
    if model is None or tokenizer is None:
        from ..pretrained import load_pretrained

        loaded_model, loaded_tokenizer = load_pretrained(device="cpu")
        model = model if model is not None else loaded_model
        tokenizer = tokenizer if tokenizer is not None else loaded_tokenizer
    return EncoderExplorer(model, tokenizer, sentence=sentence, layer=layer, head=head,
                           max_tokens=max_tokens)
