"""FinetuneConfig: every setting of a fine-tuning run, with a short comment each;
WicConfig: the same settings with word-in-context defaults.

Read from JSON (``--config run.json``) and overridden by command-line flags, the same
way as the pre-training command; ``FinetuneConfig.from_json`` rejects unknown keys.
"""
from __future__ import annotations

from dataclasses import InitVar, asdict, dataclass, fields
from pathlib import Path

from ..pretrain.config import read_json_settings as read_json   # one JSON reader for both commands

INITS = ("random", "course", "minilm")   # or a folder with config.json, model.safetensors, vocab.txt
WIC = "wic"                              # the word-in-context task: sentence pairs, a token-pair head


@dataclass
class FinetuneConfig:
    # --- data ---
    task: str = "supersense"        # "supersense" (45 classes), "coarse" (10), or "wic" (word-in-context pairs)
    train_size: int | None = 2000   # labelled training items (nested stratified subset; wic: pairs); None = all
    dev_size: int | None = 1000     # dev items for early stopping (fixed stratified subset); None = all
    test_size: int | None = 2000    # test items for the final score; None = all, 0 = no test
    data_seed: int = 0              # seed of the subsets, kept fixed across runs so they share data (wic: unused)
    max_length: int = 48            # tokens per definition with [CLS] and [SEP]; longer ones are cut
    train_file: str | None = None   # your own data instead of WordNet's: a TSV of text<TAB>label name
    dev_file: str | None = None     # the same for dev (needed with train_file)
    test_file: str | None = None    # the same for test (optional with train_file)
    # --- model ---
    init: str = "course"            # start from "random", "course" (part 2's checkpoint), "minilm", or a folder
    random_like: str = "course"     # with init="random": whose architecture and vocabulary to copy
    pooling: str = "cls"            # "cls": classify h_0; "mean": the mean of the real tokens' h_i (wic: unused)
    head_dropout: float = 0.1       # dropout on the pooled vector before the linear head
    freeze_encoder: bool = False    # True: train only the head on frozen H (a linear probe)
    # --- optimisation ---
    epochs: int = 5                 # at most this many passes over the training set
    batch_size: int = 32            # definitions per step
    lr_encoder: float = 5e-5        # peak learning rate of the encoder's parameters theta
    lr_head: float = 1e-3           # peak learning rate of the new head (it starts from scratch)
    weight_decay: float = 0.01      # AdamW weight decay (not on biases and LayerNorm weights)
    warmup_fraction: float = 0.1    # share of the steps with linear warm-up; then linear decay to 0
    grad_clip: float = 1.0          # clip the gradient norm to this (0 = no clipping)
    patience: int = 2               # stop after this many epochs without a better dev accuracy
    seed: int = 0                   # seeds the head, dropout and batch order
    # --- run ---
    device: str | None = None       # "cuda", "cpu", or None for the best available
    out_dir: str | None = None      # where the run state, best model and results go (None: keep nothing)
    resume: bool = False            # continue an interrupted run from out_dir/last.pt
    progress: bool = True           # show tqdm progress bars

    def __post_init__(self) -> None:
        from ..data.supersense import TASKS
        from ..model.heads import ClassificationHead
        if self.task not in TASKS + (WIC,):
            raise ValueError(f"task must be one of {TASKS + (WIC,)}, got {self.task!r}")
        if self.task == WIC and (self.train_file or self.dev_file or self.test_file):
            raise ValueError("train_file, dev_file and test_file hold labelled sentences; task 'wic' reads "
                             "WordNet's word-in-context pairs (encoder_lib.data.wic) instead")
        if self.pooling not in ClassificationHead.POOLINGS:
            raise ValueError(f"pooling must be one of {ClassificationHead.POOLINGS}, got {self.pooling!r}")
        if self.random_like not in ("course", "minilm") and not Path(self.random_like).is_dir():
            raise ValueError(f"random_like must be 'course', 'minilm' or a model folder, got {self.random_like!r}")
        for name in ("train_size", "dev_size"):
            value = getattr(self, name)
            if value is not None and (not isinstance(value, int) or value <= 0):
                raise ValueError(f"{name} must be a positive integer or None, got {value!r}")
        if self.test_size is not None and (not isinstance(self.test_size, int) or self.test_size < 0):
            raise ValueError(f"test_size must be a non-negative integer or None, got {self.test_size!r}")
        for name in ("epochs", "batch_size"):
            if not isinstance(getattr(self, name), int) or getattr(self, name) <= 0:
                raise ValueError(f"{name} must be a positive integer, got {getattr(self, name)!r}")
        if not 3 <= self.max_length <= 512:
            raise ValueError(f"max_length must be between 3 and 512, got {self.max_length}")
        for name in ("lr_encoder", "lr_head", "weight_decay", "grad_clip"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must be >= 0, got {getattr(self, name)}")
        if not 0 <= self.warmup_fraction < 1:
            raise ValueError(f"warmup_fraction must be in [0, 1), got {self.warmup_fraction}")
        if not 0 <= self.head_dropout < 1:
            raise ValueError(f"head_dropout must be in [0, 1), got {self.head_dropout}")
        if self.patience < 1:
            raise ValueError(f"patience must be at least 1, got {self.patience}")
        if self.train_file and not self.dev_file:
            raise ValueError("train_file needs a dev_file too (early stopping reads the dev set)")
        if self.resume and not self.out_dir:
            raise ValueError("resume=True needs out_dir, the folder of the run to continue")

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, values: dict) -> "FinetuneConfig":
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise ValueError(f"unknown fine-tuning setting(s) {unknown}; known: {sorted(known)}")
        return cls(**values)

    @classmethod
    def from_json(cls, path: str | Path) -> "FinetuneConfig":
        return cls.from_dict(read_json(path))


@dataclass
class WicConfig(FinetuneConfig):
    """FinetuneConfig with defaults for word-in-context from a pre-trained start.

    The encoder's learning rate is 1e-4, the low end of what suits a MiniLM-size encoder
    (6 layers, d = 384; 1e-4 to 3e-4): short runs (2000 pairs are 63 steps an epoch)
    need more than supersense's 5e-5, but one epoch of 2000 pairs from MiniLM scored
    0.543 / 0.506 / 0.499 dev accuracy at 5e-5 / 2e-4 / 3e-4 (one seed each, CPU), so
    not more. The new head, which starts from scratch, gets 10x more.
    ``WicConfig(train_pairs=n)`` is a shorthand for ``train_size=n``."""

    task: str = WIC                 # the word-in-context task
    train_size: int | None = 2000   # training pairs: the first n of wic.pairs("train"); None = all 10,504
    dev_size: int | None = 256      # dev pairs for early stopping (the first n); None = all 1,176
    test_size: int | None = None    # test pairs for the final score; None = all 1,212, 0 = no test
    max_length: int = 48            # tokens per sentence (the longest example sentence has 43)
    epochs: int = 3                 # at most this many passes over the training pairs
    lr_encoder: float = 1e-4        # peak learning rate of the encoder (MiniLM size: 1e-4 to 3e-4)
    lr_head: float = 1e-3           # peak learning rate of the new TokenPairHead
    train_pairs: InitVar[int | None] = None   # shorthand for train_size (pairs are the items here)

    def __post_init__(self, train_pairs: int | None = None) -> None:
        if self.task != WIC:
            raise ValueError(f"WicConfig is the word-in-context task's config (task='wic'), got task={self.task!r}; "
                             "use FinetuneConfig for sentence tasks")
        if train_pairs is not None:
            self.train_size = train_pairs
        super().__post_init__()
