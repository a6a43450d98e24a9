"""PretrainConfig: every setting of a masked-LM pre-training run, and its presets.

Settable in three layers, each overriding the one before: a preset (``--preset``),
a JSON file (``--config run.json``, the same field names), then command-line flags
(``--hidden-size 256``). ``python -m encoder_lib.pretrain --help`` lists them all.
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import math
from dataclasses import asdict, dataclass, fields
from pathlib import Path

from ..data.masking import check_mlm_probability
from ..model import EncoderConfig


@dataclass
class PretrainConfig:
    # --- model (a BERT-style encoder with the BERT uncased vocabulary) ---
    hidden_size: int = 128            # width d of every h_i
    num_layers: int = 4               # encoder layers L
    num_heads: int = 4                # attention heads per layer (divides hidden_size)
    intermediate_size: int = 512      # inner width of the feed-forward network
    max_position: int = 64            # rows of the position table (longest sequence the model can take)
    dropout: float = 0.1              # dropout on embeddings, residual branches and attention (0: none, as Cramming)
    # --- data ---
    corpus: str | None = None         # plain-text file, one sentence per line; None = WordNet train split
    max_length: int = 64              # tokens per sentence, [CLS] and [SEP] included (longer ones are cut)
    mlm_probability: float = 0.15     # share of real tokens selected for prediction
    heldout_sentences: int = 2000     # dev-split sentences in the fixed held-out set
    heldout_seed: int = 1234          # seed of the held-out sample and its masks
    group_window: int = 50            # batches per window sorted by length (less padding); 1 = plain shuffled batches
    # --- optimisation ---
    batch_size: int = 128             # sentences per optimizer step, over all processes together
    max_steps: int = 1200             # optimizer steps in the whole run
    lr: float = 1e-3                  # peak learning rate of AdamW
    warmup_steps: int = 100           # linear warm-up from 0 to lr
    min_lr_ratio: float = 0.05        # cosine decay from lr down to lr * min_lr_ratio at max_steps
    weight_decay: float = 0.01        # AdamW decoupled weight decay (not on biases and LayerNorms)
    beta2: float = 0.98               # AdamW's second-moment decay (beta1 is 0.9)
    grad_clip: float = 1.0            # clip the gradient's global norm to this (0 = no clipping)
    seed: int = 0                     # seeds initialisation, batch order, masks and dropout
    # --- speed (off by default: the model and loop as the course shows them; see pretrain/speed.py) ---
    fixed_mlm_rows: float = 0.0       # 0 = predict the selected rows; x > 0 = a fixed ceil(x * batch * seq) rows
    vocab_multiple: int = 1           # pad the embedding table to a multiple of this (64: 30,528 rows)
    linear_bias: bool = True          # biases in the Linear layers and the MLM decoder (--no-linear-bias: none)
    compile: bool = False             # torch.compile the whole model, forward and backward (GPU runs)
    compile_mode: str = "default"     # torch.compile mode: default, reduce-overhead (CUDA graphs), max-autotune, ...
    adamw: str = "auto"               # AdamW implementation: auto (fused on a GPU), fused, foreach or loop
    sdpa_backend: str = "auto"        # attention kernel: auto (PyTorch picks), flash, cudnn, efficient or math
    # --- run ---
    out_dir: str = "runs/pretrain"    # checkpoints, history.json, loss_curve.png and final/ go here
    eval_every: int = 100             # steps between held-out evaluations (and at the end)
    checkpoint_every: int = 200       # steps between checkpoints (and at the end)
    keep_checkpoints: int = 2         # newest checkpoints kept on disk
    device: str | None = None         # "cpu", "cuda", "cuda:1"; None = the GPU if there is one
    save_dtype: str = "float32"       # dtype of final/model.safetensors: float32, float16 or bfloat16

    # Fields that may differ between a run and its resumption (they do not change the result).
    RESUMABLE_CHANGES = ("out_dir", "eval_every", "checkpoint_every", "keep_checkpoints", "device",
                         "compile", "compile_mode", "adamw", "sdpa_backend", "save_dtype")
    COMPILE_MODES = ("default", "reduce-overhead", "max-autotune", "max-autotune-no-cudagraphs")
    ADAMW = ("auto", "fused", "foreach", "loop")
    SDPA_BACKENDS = ("auto", "flash", "cudnn", "efficient", "math")

    def __post_init__(self) -> None:
        for name in ("hidden_size", "num_layers", "num_heads", "intermediate_size", "max_position",
                     "max_length", "heldout_sentences", "group_window", "batch_size", "max_steps", "eval_every",
                     "checkpoint_every", "keep_checkpoints", "vocab_multiple"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
                raise ValueError(f"{name} must be a positive integer, got {value!r}")
        if self.max_length > self.max_position:
            raise ValueError(f"max_length={self.max_length} is above the position table's "
                             f"{self.max_position} rows (max_position); lower max_length or raise max_position")
        if self.max_length < 3:
            raise ValueError("max_length must be at least 3: [CLS], one token, [SEP]")
        check_mlm_probability(self.mlm_probability)
        if not 0 <= self.warmup_steps < self.max_steps:
            raise ValueError(f"warmup_steps must be in [0, max_steps), got {self.warmup_steps}")
        for name, lo, hi in (("lr", 0, 1), ("min_lr_ratio", 0, 1), ("weight_decay", 0, 1), ("beta2", 0, 1),
                             ("dropout", 0, 1)):
            value = getattr(self, name)
            if not lo <= value < hi or (name == "lr" and value == 0):
                raise ValueError(f"{name} must be in [{lo}, {hi}), got {value!r}")
        if self.grad_clip < 0:
            raise ValueError(f"grad_clip must be >= 0 (0 turns clipping off), got {self.grad_clip}")
        if self.save_dtype not in ("float32", "float16", "bfloat16"):
            raise ValueError(f"save_dtype must be float32, float16 or bfloat16, got {self.save_dtype!r}")
        if self.fixed_mlm_rows != 0 and not self.mlm_probability <= self.fixed_mlm_rows <= 1:
            raise ValueError(f"fixed_mlm_rows must be 0 (off) or between mlm_probability ({self.mlm_probability}) "
                             f"and 1, with a margin for batches above the average (0.2 for 0.15), "
                             f"got {self.fixed_mlm_rows!r}")
        for name, allowed in (("compile_mode", self.COMPILE_MODES), ("adamw", self.ADAMW),
                              ("sdpa_backend", self.SDPA_BACKENDS)):
            if getattr(self, name) not in allowed:
                raise ValueError(f"{name} must be one of {', '.join(allowed)}, got {getattr(self, name)!r}")
        if self.compile_mode != "default" and not self.compile:
            raise ValueError(f"compile_mode={self.compile_mode!r} needs compile on (--compile)")
        self.encoder_config()                               # heads divide d, etc.

    def encoder_config(self, vocab_size: int = 30522) -> EncoderConfig:
        return EncoderConfig(vocab_size=vocab_size, hidden_size=self.hidden_size, num_layers=self.num_layers,
                             num_heads=self.num_heads, intermediate_size=self.intermediate_size,
                             max_position=self.max_position, dropout=self.dropout,
                             attention_dropout=self.dropout, vocab_multiple=self.vocab_multiple,
                             linear_bias=self.linear_bias)

    def predicted_rows(self, positions: int) -> int | None:
        """Rows the MLM head predicts in a batch of ``positions`` (batch x seq) positions:
        None (exactly the selected ones) unless fixed_mlm_rows is set."""
        return math.ceil(self.fixed_mlm_rows * positions) if self.fixed_mlm_rows else None

    def to_dict(self) -> dict:
        return asdict(self)

    def differences(self, other: "PretrainConfig") -> list[str]:
        """'field: ours vs theirs' for every field that changes the run's result."""
        a, b = self.to_dict(), other.to_dict()
        return [f"{k}: {b[k]!r} (checkpoint) vs {a[k]!r} (now)" for k in a
                if k not in self.RESUMABLE_CHANGES and a[k] != b[k]]

    @classmethod
    def from_dict(cls, values: dict) -> "PretrainConfig":
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise ValueError(f"unknown pre-training setting(s): {', '.join(unknown)}; "
                             f"the settings are: {', '.join(sorted(known))}")
        return cls(**values)

    @classmethod
    def from_json(cls, path: str | Path) -> "PretrainConfig":
        return cls.from_dict(read_json_settings(path))


def read_json_settings(path: str | Path) -> dict:
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"config file {path} does not exist")
    try:
        values = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise ValueError(f"config file {path} is not valid JSON: {err}") from None
    if not isinstance(values, dict):
        raise ValueError(f"config file {path} must hold a JSON object of settings")
    return values


PRESETS: dict[str, dict] = {
    # The shipped course checkpoint: ~4.8 M parameters (fp16: ~10 MB; the tied 30,522 x 128
    # table is 80 % of them), WordNet's short sentences fit in 64 tokens (99.96 % of them).
    # 5,800 steps of 512 shuffled sentences: about 22 passes over the 132 k training
    # sentences, 2 minutes on an H200 (bf16; a re-run there gave the same loss at all 5,800 steps:
    # bench/results/make_checkpoint_h200_2026-12-04.txt), about 4 hours on a 2-core CPU. Chosen on an H200
    # between two candidates trained side by side in the same 3 minutes (bench/results/
    # checkpoint_candidates_h200_2026-12-04.txt): this one reached held-out loss 3.66 and
    # 65.9 % dev accuracy at 2,000 labelled items; the other, 1,500 steps of 1,024 at lr 2e-3
    # (half the sentences: its timed steps were slower), 4.17 and 63.7 %. The previous
    # checkpoint, 10,000 steps of 128 on a CPU (1.3 M sentences), reached 4.48 and 61.4 % dev;
    # length-grouped batches, twice as fast on a CPU, reached only 4.61 (batches.py).
    "course": dict(batch_size=512, lr=1.5e-3, max_steps=5800, warmup_steps=250, eval_every=580,
                   checkpoint_every=1450, save_dtype="float16", group_window=1),
    # A laptop CPU in about 10 minutes: the course model's shape (so a student's run compares
    # with the shipped checkpoint), 3,000 steps, about 4.8 M tokens at ~10 k tokens/s.
    "cpu": dict(max_steps=3000, warmup_steps=200, eval_every=250, checkpoint_every=500),
    # BERT-base's shape (110 M parameters) for GPUs: sequence 128, BERT's learning rate.
    "bert-base": dict(hidden_size=768, num_layers=12, num_heads=12, intermediate_size=3072,
                      max_position=512, max_length=128, batch_size=256, max_steps=100_000, lr=1e-4,
                      warmup_steps=10_000, min_lr_ratio=0.0, beta2=0.999, eval_every=2000,
                      checkpoint_every=2000),
}


def preset(name: str, **overrides) -> PretrainConfig:
    if name not in PRESETS:
        raise ValueError(f"unknown preset {name!r}; choose one of {', '.join(PRESETS)}")
    return PretrainConfig(**{**PRESETS[name], **overrides})


def _field_type(f: dataclasses.Field):
    t = str(f.type)
    if t.startswith("int"):
        return int
    if t.startswith("float"):
        return float
    return str


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m encoder_lib.pretrain",
        description="Masked-LM pre-training of a BERT-style encoder (single process or under torchrun).")
    parser.add_argument("--preset", default="course", choices=sorted(PRESETS),
                        help="starting values for every setting (default: course)")
    parser.add_argument("--config", metavar="JSON", help="a JSON file of settings (overrides the preset)")
    parser.add_argument("--resume", action="store_true",
                        help="continue from the newest checkpoint in --out-dir (same settings required)")
    group = parser.add_argument_group("settings (override the preset and the JSON file)")
    comments = _field_comments()
    for f in fields(PretrainConfig):
        flag = "--" + f.name.replace("_", "-")
        if f.type in (bool, "bool"):
            group.add_argument(flag, dest=f.name, action=argparse.BooleanOptionalAction, default=None,
                               help=comments.get(f.name))
        else:
            group.add_argument(flag, dest=f.name, type=_field_type(f), default=None,
                               help=comments.get(f.name))
    return parser


def _field_comments() -> dict[str, str]:
    """Each field's '# comment' from this file's source, for --help."""
    import inspect
    import re
    out = {}
    for line in inspect.getsource(PretrainConfig).splitlines():
        m = re.match(r"\s+(\w+): [^=]+= .*?#\s*(.*)$", line)
        if m:
            out[m.group(1)] = m.group(2).replace("%", "%%")
    return out


def config_from_args(argv: list[str] | None = None) -> tuple[PretrainConfig, argparse.Namespace]:
    """(config, parsed arguments) from command-line arguments."""
    args = build_parser().parse_args(argv)
    values = dict(PRESETS[args.preset])
    if args.config:
        values.update(read_json_settings(args.config))
    for f in fields(PretrainConfig):
        given = getattr(args, f.name)
        if given is not None:
            values[f.name] = None if (f.name in ("corpus", "device") and given in ("", "none")) else given
    return PretrainConfig.from_dict(values), args
