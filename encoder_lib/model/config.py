"""EncoderConfig: the hyper-parameters of a BERT-style encoder, and reading them from
a Hugging Face ``config.json``."""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path


@dataclass
class EncoderConfig:
    vocab_size: int = 30522            # rows of the token embedding table (V)
    hidden_size: int = 384             # width d of every h_i
    num_layers: int = 6                # number of encoder layers L
    num_heads: int = 12                # attention heads per layer; must divide hidden_size
    intermediate_size: int = 1536      # width of the feed-forward network's inner layer
    max_position: int = 512            # longest sequence the position table covers
    type_vocab_size: int = 2           # segment ids (sentence A / sentence B)
    dropout: float = 0.1               # dropout on embeddings and residual branches
    attention_dropout: float = 0.1     # dropout on the attention probabilities
    layer_norm_eps: float = 1e-12      # LayerNorm epsilon (BERT's value)
    pad_token_id: int = 0              # id of [PAD]
    vocab_multiple: int = 1            # embedding rows padded to a multiple of this (64: 30,528); never predicted
    linear_bias: bool = True           # biases in the Linear layers and the MLM decoder (False: none, as Cramming)

    def __post_init__(self) -> None:
        for name in ("vocab_size", "hidden_size", "num_layers", "num_heads",
                     "intermediate_size", "max_position", "type_vocab_size", "vocab_multiple"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
                raise ValueError(f"EncoderConfig.{name} must be a positive integer, got {value!r}")
        if self.hidden_size % self.num_heads:
            raise ValueError(
                f"hidden_size ({self.hidden_size}) must be divisible by num_heads ({self.num_heads})")
        for name in ("dropout", "attention_dropout"):
            if not 0.0 <= getattr(self, name) < 1.0:
                raise ValueError(f"EncoderConfig.{name} must be in [0, 1), got {getattr(self, name)!r}")
        if not isinstance(self.linear_bias, bool):
            raise ValueError(f"EncoderConfig.linear_bias must be True or False, got {self.linear_bias!r}")

    @property
    def head_dim(self) -> int:
        return self.hidden_size // self.num_heads

    @property
    def padded_vocab_size(self) -> int:
        """Rows of the token-embedding table: vocab_size rounded up to a multiple of vocab_multiple
        (a matrix product whose sizes are multiples of 64 runs faster on tensor cores)."""
        return -(-self.vocab_size // self.vocab_multiple) * self.vocab_multiple

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_bert_config(cls, source: str | Path | dict) -> "EncoderConfig":
        """Build from a Hugging Face BERT ``config.json`` (a path or the parsed dict)."""
        cfg = source if isinstance(source, dict) else json.loads(Path(source).read_text())
        model_type = cfg.get("model_type", "bert")
        if model_type != "bert":
            raise ValueError(f"expected a BERT config (model_type 'bert'), got model_type {model_type!r}")
        if cfg.get("hidden_act", "gelu") != "gelu":
            raise ValueError(f"only hidden_act 'gelu' is supported, got {cfg['hidden_act']!r}")
        if cfg.get("position_embedding_type", "absolute") != "absolute":
            raise ValueError("only absolute position embeddings are supported")
        return cls(
            vocab_size=cfg["vocab_size"],
            hidden_size=cfg["hidden_size"],
            num_layers=cfg["num_hidden_layers"],
            num_heads=cfg["num_attention_heads"],
            intermediate_size=cfg["intermediate_size"],
            max_position=cfg["max_position_embeddings"],
            type_vocab_size=cfg.get("type_vocab_size", 2),
            dropout=cfg.get("hidden_dropout_prob", 0.1),
            attention_dropout=cfg.get("attention_probs_dropout_prob", 0.1),
            layer_norm_eps=cfg.get("layer_norm_eps", 1e-12),
            pad_token_id=cfg.get("pad_token_id", 0) or 0,
        )

    def to_bert_config(self) -> dict:
        """The same hyper-parameters in Hugging Face's ``BertConfig`` field names."""
        return {
            "model_type": "bert", "architectures": ["BertModel"],
            "vocab_size": self.vocab_size, "hidden_size": self.hidden_size,
            "num_hidden_layers": self.num_layers, "num_attention_heads": self.num_heads,
            "intermediate_size": self.intermediate_size, "hidden_act": "gelu",
            "max_position_embeddings": self.max_position, "type_vocab_size": self.type_vocab_size,
            "hidden_dropout_prob": self.dropout, "attention_probs_dropout_prob": self.attention_dropout,
            "layer_norm_eps": self.layer_norm_eps, "pad_token_id": self.pad_token_id,
            "position_embedding_type": "absolute",
        }
