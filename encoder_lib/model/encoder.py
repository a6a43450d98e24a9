"""The encoder: H = Encode_theta(x).

Embeddings give H^0; each layer maps H^l = Layer_l(H^{l-1}); the last one is H, one
contextual row vector h_i per token. Inputs are checked first so that a mistake gives
a message naming it instead of an error from deep inside torch. Under ``torch.compile``
only the checks of types and shapes run: the checks of values need the tensors' values
on the host, which would split the compiled graph, and the padding mask is then always
applied when one is given (pass ``attention_mask=None`` for batches without padding).
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from .config import EncoderConfig
from .embeddings import Embeddings
from .layer import EncoderLayer


@dataclass
class EncoderOutput:
    last_hidden_state: torch.Tensor                        # H: (batch, seq, d)
    hidden_states: tuple[torch.Tensor, ...] | None = None  # H^0..H^L, each (batch, seq, d)
    attentions: tuple[torch.Tensor, ...] | None = None     # per layer (batch, heads, seq, seq)


class Encoder(nn.Module):
    def __init__(self, config: EncoderConfig | None = None):
        super().__init__()
        self.config = config or EncoderConfig()
        self.embeddings = Embeddings(self.config)
        self.layers = nn.ModuleList(EncoderLayer(self.config) for _ in range(self.config.num_layers))
        self.apply(self._init_weights)

    def _init_weights(self, module: nn.Module) -> None:
        """BERT's initialisation: N(0, 0.02) weights, zero biases, unit LayerNorm."""
        if isinstance(module, (nn.Linear, nn.Embedding)):
            nn.init.normal_(module.weight, std=0.02)
            if isinstance(module, nn.Linear) and module.bias is not None:
                nn.init.zeros_(module.bias)
            if isinstance(module, nn.Embedding) and module.padding_idx is not None:
                with torch.no_grad():
                    module.weight[module.padding_idx].zero_()
        elif isinstance(module, nn.LayerNorm):
            nn.init.ones_(module.weight)
            nn.init.zeros_(module.bias)

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor | None = None,
                token_type_ids: torch.Tensor | None = None, output_hidden_states: bool = False,
                output_attentions: bool = False) -> EncoderOutput:
        """input_ids: (batch, seq) integer ids; attention_mask: (batch, seq), 1 for real
        tokens and 0 for padding; token_type_ids: (batch, seq) segment ids."""
        has_padding = self._check_inputs(input_ids, attention_mask, token_type_ids)
        key_mask = attention_mask.bool()[:, None, None, :] if has_padding else None  # (batch, 1, 1, seq)
        h = self.embeddings(input_ids, token_type_ids)                  # H^0: (batch, seq, d)
        hidden_states = [h] if output_hidden_states else None
        attentions = [] if output_attentions else None
        for layer in self.layers:
            h, probs = layer(h, key_mask, output_attentions)            # H^l = Layer_l(H^{l-1})
            if hidden_states is not None:
                hidden_states.append(h)
            if attentions is not None:
                attentions.append(probs)
        return EncoderOutput(
            last_hidden_state=h,
            hidden_states=tuple(hidden_states) if hidden_states is not None else None,
            attentions=tuple(attentions) if attentions is not None else None,
        )

    def _check_inputs(self, input_ids, attention_mask, token_type_ids) -> bool:
        """Raise a clear error for bad inputs; return whether the mask has any padding.

        The value checks are gathered into one tensor so that a GPU waits only once."""
        cfg = self.config
        if not isinstance(input_ids, torch.Tensor):
            raise TypeError(f"input_ids must be a torch.Tensor of token ids, got {type(input_ids).__name__}; "
                            "use the tokenizer, or torch.tensor([[...]])")
        if input_ids.is_floating_point() or input_ids.dtype == torch.bool or input_ids.is_complex():
            raise TypeError(f"input_ids must hold integer token ids (torch.long), got dtype {input_ids.dtype}; "
                            "did you pass embeddings or a float tensor? Use .long() on ids")
        if input_ids.dim() != 2:
            raise ValueError(f"input_ids must have shape (batch, seq), got shape {tuple(input_ids.shape)}"
                             + ("; add a batch dimension with input_ids.unsqueeze(0)" if input_ids.dim() == 1 else ""))
        batch, seq = input_ids.shape
        if batch == 0 or seq == 0:
            raise ValueError(f"the input is empty (shape {tuple(input_ids.shape)}): "
                             "give at least one sequence of at least one token")
        if seq > cfg.max_position:
            raise ValueError(f"the sequence has {seq} tokens but the model's position table covers only "
                             f"{cfg.max_position}; truncate it (tokenizer max_length={cfg.max_position})")
        for name, t in (("attention_mask", attention_mask), ("token_type_ids", token_type_ids)):
            if t is None:
                continue
            if not isinstance(t, torch.Tensor):
                raise TypeError(f"{name} must be a torch.Tensor, got {type(t).__name__}")
            if tuple(t.shape) != (batch, seq):
                raise ValueError(f"{name} has shape {tuple(t.shape)} but input_ids has shape {(batch, seq)}; "
                                 "they must match")
            if t.device != input_ids.device:
                raise ValueError(f"{name} is on {t.device} but input_ids is on {input_ids.device}")
        if token_type_ids is not None and token_type_ids.is_floating_point():
            raise TypeError(f"token_type_ids must be integers, got dtype {token_type_ids.dtype}")
        if torch.compiler.is_compiling():                  # no host sync inside a compiled graph
            return attention_mask is not None

        stats = [input_ids.min(), input_ids.max()]
        if attention_mask is not None:
            m = attention_mask
            stats += [((m == 0) | (m == 1)).all(), m.bool().any(dim=1).all(), m.bool().all()]
        if token_type_ids is not None:
            stats += [token_type_ids.min(), token_type_ids.max()]
        values = torch.stack([x.to(torch.float64) for x in stats]).tolist()   # the one host sync
        low, high = int(values[0]), int(values[1])
        if low < 0 or high >= cfg.vocab_size:
            bad = low if low < 0 else high
            raise ValueError(f"token id {bad} is outside the vocabulary (valid ids are 0..{cfg.vocab_size - 1}); "
                             "was the text tokenized with this model's vocabulary?")
        has_padding = False
        if attention_mask is not None:
            binary, every_row_has_a_token, no_padding = values[2:5]
            if not binary:
                raise ValueError("attention_mask must contain only 0 (padding) and 1 (real token)")
            if not every_row_has_a_token:
                raise ValueError("a sequence in the batch has no real token (its attention_mask row is all 0)")
            has_padding = not no_padding
        if token_type_ids is not None:
            tt_low, tt_high = values[-2:]
            if tt_low < 0 or tt_high >= cfg.type_vocab_size:
                raise ValueError(f"token_type_ids must be in 0..{cfg.type_vocab_size - 1}")
        return has_padding

    @property
    def num_parameters(self) -> int:
        return sum(p.numel() for p in self.parameters())
