"""Loading (and exporting) weights in the Hugging Face BERT naming.

Loading is strict: every tensor the encoder needs must be present with the right
shape, and every tensor in the file must be one the encoder uses (or a known part of
the BERT format it does not, such as the pooler). Anything else is an error listing
the offending names.
"""
from __future__ import annotations

import re
from pathlib import Path
from typing import Mapping

import torch

from .encoder import Encoder

# Parts of a BERT-format checkpoint that this encoder does not use.
_KNOWN_UNUSED = re.compile(r"^(embeddings\.position_ids|pooler\..*|cls\..*)$")

_LAYER_MAP = {
    "attention.output.dense": "attention.out",
    "attention.output.LayerNorm": "attention_norm",
    "intermediate.dense": "ffn.up",
    "output.dense": "ffn.down",
    "output.LayerNorm": "ffn_norm",
}
_EMBEDDING_MAP = {
    "embeddings.word_embeddings.weight": "embeddings.word_embeddings.weight",
    "embeddings.position_embeddings.weight": "embeddings.position_embeddings.weight",
    "embeddings.token_type_embeddings.weight": "embeddings.token_type_embeddings.weight",
    "embeddings.LayerNorm.weight": "embeddings.layer_norm.weight",
    "embeddings.LayerNorm.bias": "embeddings.layer_norm.bias",
}


class WeightsMismatchError(ValueError):
    """The weights do not fit the encoder: lists missing, unexpected and mis-shaped tensors."""


def read_safetensors(path: str | Path) -> dict[str, torch.Tensor]:
    from safetensors.torch import load_file

    path = Path(path)
    if path.is_dir():
        path = path / "model.safetensors"
    if not path.is_file():
        raise FileNotFoundError(f"no weights file at {path}")
    try:
        return load_file(str(path))
    except Exception as err:  # safetensors raises its own error type for corrupt files
        raise ValueError(f"{path} is not a readable safetensors file: {err}") from None


def bert_to_ours(state: Mapping[str, torch.Tensor], num_layers: int) -> tuple[dict, list[str]]:
    """Rename a BERT state dict to this encoder's names, fusing q, k, v.

    Returns (our state dict, names in ``state`` that were not used)."""
    state = {(k[5:] if k.startswith("bert.") else k): v for k, v in state.items()}
    ours: dict[str, torch.Tensor] = {}
    used: set[str] = set()
    for theirs, mine in _EMBEDDING_MAP.items():
        if theirs in state:
            ours[mine] = state[theirs]
            used.add(theirs)
    for i in range(num_layers):
        src, dst = f"encoder.layer.{i}.", f"layers.{i}."
        for kind in ("weight", "bias"):
            parts = [f"{src}attention.self.{p}.{kind}" for p in ("query", "key", "value")]
            if all(p in state for p in parts):
                ours[f"{dst}attention.qkv.{kind}"] = torch.cat([state[p] for p in parts], dim=0)
                used.update(parts)
            for theirs, mine in _LAYER_MAP.items():
                name = f"{src}{theirs}.{kind}"
                if name in state:
                    ours[f"{dst}{mine}.{kind}"] = state[name]
                    used.add(name)
    unused = [k for k in state if k not in used]
    return ours, unused


def ours_to_bert(model: Encoder) -> dict[str, torch.Tensor]:
    """This encoder's weights in Hugging Face ``BertModel`` names (for export and tests).

    A padded embedding table (``vocab_multiple``) is cut to ``vocab_size`` rows, and an
    encoder without biases (``linear_bias=False``) exports zero biases: BERT's format."""
    ours = {k: v.detach().clone() for k, v in model.state_dict().items()}
    cfg = model.config
    ours["embeddings.word_embeddings.weight"] = ours["embeddings.word_embeddings.weight"][:cfg.vocab_size]
    if not cfg.linear_bias:
        for name in [k for k in ours if k.endswith(".weight") and (".attention." in k or ".ffn." in k)]:
            ours[name[:-len("weight")] + "bias"] = ours[name].new_zeros(ours[name].shape[0])
    out = {theirs: ours[mine] for theirs, mine in _EMBEDDING_MAP.items()}
    for i in range(model.config.num_layers):
        src, dst = f"encoder.layer.{i}.", f"layers.{i}."
        for kind in ("weight", "bias"):
            q, k, v = ours[f"{dst}attention.qkv.{kind}"].chunk(3, dim=0)
            for name, t in zip(("query", "key", "value"), (q, k, v)):
                out[f"{src}attention.self.{name}.{kind}"] = t.contiguous()
            for theirs, mine in _LAYER_MAP.items():
                out[f"{src}{theirs}.{kind}"] = ours[f"{dst}{mine}.{kind}"]
    return out


def load_bert_weights(model: Encoder, source: str | Path | Mapping[str, torch.Tensor]) -> list[str]:
    """Copy BERT-format weights (a safetensors file, a folder holding model.safetensors,
    or a state dict) into ``model``. Returns the known-unused names that were skipped
    (pooler, MLM head). Raises WeightsMismatchError listing every problem."""
    state = read_safetensors(source) if isinstance(source, (str, Path)) else dict(source)
    if not state:
        raise WeightsMismatchError("the weights are empty: no tensors found")
    ours, unused = bert_to_ours(state, model.config.num_layers)
    skipped = [k for k in unused if _KNOWN_UNUSED.match(k[5:] if k.startswith("bert.") else k)]
    unexpected = [k for k in unused if k not in skipped]
    expected = model.state_dict()
    # an encoder without biases takes only zero biases; a padded table gets zero rows below vocab_size
    unexpected += [f"{k} (this encoder has no biases)" for k, v in ours.items()
                   if k not in expected and v.is_floating_point() and bool(v.any())]
    table, rows = ours.get("embeddings.word_embeddings.weight"), model.config.padded_vocab_size
    if table is not None and table.dim() == 2 and table.shape[0] == model.config.vocab_size < rows:
        ours["embeddings.word_embeddings.weight"] = torch.cat([table, table.new_zeros(rows - table.shape[0],
                                                                                        table.shape[1])])
    missing = [k for k in expected if k not in ours]
    mis_shaped = [f"{k}: file {tuple(v.shape)} vs model {tuple(expected[k].shape)}"
                  for k, v in ours.items() if k in expected and v.shape != expected[k].shape]
    if missing or unexpected or mis_shaped:
        lines = ["these weights do not fit the encoder "
                 f"({model.config.num_layers} layers, d={model.config.hidden_size}, "
                 f"vocab {model.config.vocab_size})."]
        if len(missing) == len(expected) and not ours:
            lines.append("None of the encoder's tensors were found: is this a BERT-format checkpoint?")
        for title, names in (("missing", missing), ("unexpected", unexpected), ("wrong shape", mis_shaped)):
            if names:
                shown = names[:12] + ([f"... and {len(names) - 12} more"] if len(names) > 12 else [])
                lines.append(f"{title} ({len(names)}): " + ", ".join(shown))
        raise WeightsMismatchError("\n".join(lines))
    with torch.no_grad():
        for name, param in expected.items():
            value = ours[name]
            if not value.is_floating_point():
                raise WeightsMismatchError(f"{name} has dtype {value.dtype}; weights must be floating point")
            param.copy_(value.to(param.dtype))
    return skipped
