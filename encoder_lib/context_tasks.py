"""Notebook 06's experiments in one place: the starting points, word-in-context
fine-tuning and evaluation, and the layer-wise probes of the three encoders.

Used by the notebook and by ``bench/context_tasks.py`` (which writes the committed
numbers), so both measure the same thing.

Starting points (all with the BERT uncased vocabulary):

- ``"course"``: the course checkpoint (``load_pretrained("course")``);
- ``"random"``: the same architecture, freshly initialised (seeded);
- ``"minilm"``: the real pre-trained encoder all-MiniLM-L6-v2.
"""
from __future__ import annotations

import copy
import math
import random
import time
from dataclasses import dataclass, field

import torch
from torch import nn

from . import probe
from .data import wic, wordnet
from .device import get_device, precision_policy
from .model import Encoder, WordInContextModel
from .pretrained import load_pretrained

STARTING_POINTS = ("course", "random", "minilm")


def course_config():
    """The architecture of the course checkpoint (its preset, if the checkpoint is absent)."""
    try:
        return load_pretrained("course")[0].config
    except Exception:                    # noqa: BLE001 - fall back to the preset's shape
        from .pretrain.config import preset
        return preset("course").encoder_config()


def starting_point(name: str, seed: int = 0, device=None):
    """(encoder, tokenizer) for one of STARTING_POINTS, in eval mode on ``device``."""
    if name not in STARTING_POINTS:
        raise ValueError(f"starting point must be one of {STARTING_POINTS}, got {name!r}")
    if name == "minilm":
        return load_pretrained(device=device)
    if name == "course":
        return load_pretrained("course", device=device)
    _, tokenizer = load_pretrained(device="cpu")
    torch.manual_seed(seed)
    return Encoder(course_config()).to(get_device(device)).eval(), tokenizer


# ---------------------------------------------------------------------------
# Word-in-context fine-tuning
# ---------------------------------------------------------------------------

@dataclass
class WicConfig:
    train_pairs: int = 2000        # pairs of wic.pairs("train") used (the first n, a fixed order)
    epochs: int = 1                # passes over them
    batch_size: int = 32           # pairs per step (64 sentences through the encoder)
    lr: float = 5e-5               # AdamW peak learning rate for the encoder
    head_lr: float = 1e-3          # learning rate of the new head
    weight_decay: float = 0.01     # AdamW weight decay
    warmup: float = 0.1            # share of the steps with a linear warm-up, then linear decay
    seed: int = 0                  # shuffling, dropout and the head's initialisation
    max_length: int = 64           # longest sentence in tokens (longer ones are cut)


@dataclass
class WicResult:
    start: str                     # the starting point's name
    accuracy: float                # test accuracy after fine-tuning
    losses: list[float] = field(default_factory=list)   # training loss per step
    seconds: float = 0.0           # wall-clock time of fine-tuning and evaluation


def finetune_wic(encoder: nn.Module, tokenizer, config: WicConfig | None = None,
                 log_every: int = 0) -> tuple[WordInContextModel, list[float]]:
    """Fine-tune the encoder and a new TokenPairHead on word-in-context pairs.

    The encoder is copied, so the caller's stays unchanged. Returns the model and the
    training loss of every step."""
    config = config or WicConfig()
    device = next(encoder.parameters()).device
    torch.manual_seed(config.seed)
    model = WordInContextModel(copy.deepcopy(encoder)).to(device).train()
    pairs = wic.pairs("train")[:config.train_pairs]
    if not pairs:
        raise ValueError("train_pairs must be at least 1")
    max_length = min(config.max_length, model.encoder.config.max_position)
    steps = config.epochs * math.ceil(len(pairs) / config.batch_size)
    opt = torch.optim.AdamW([
        {"params": model.encoder.parameters(), "lr": config.lr},
        {"params": model.head.parameters(), "lr": config.head_lr},
    ], weight_decay=config.weight_decay)
    warm = max(1, int(config.warmup * steps))
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: min((s + 1) / warm, max(0.0, (steps - s) / max(1, steps - warm))))
    precision = precision_policy(device)
    scaler = precision.grad_scaler()
    rng = random.Random(config.seed)
    losses: list[float] = []
    for _ in range(config.epochs):
        order = list(range(len(pairs)))
        rng.shuffle(order)
        for i in range(0, len(order), config.batch_size):
            batch = wic.collate_pairs([pairs[j] for j in order[i:i + config.batch_size]], tokenizer,
                                      max_length).to(device)
            with precision.autocast():
                loss = nn.functional.cross_entropy(model(batch).float(), batch.labels)
            opt.zero_grad(set_to_none=True)
            scaler.scale(loss).backward()
            scaler.unscale_(opt)
            nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            scaler.step(opt)
            scaler.update()
            sched.step()
            losses.append(loss.item())
            if log_every and len(losses) % log_every == 0:
                print(f"step {len(losses)}/{steps}  loss {sum(losses[-log_every:]) / log_every:.3f}")
    return model.eval(), losses


@torch.no_grad()
def evaluate_wic(model: WordInContextModel, tokenizer, split: str = "test", limit: int | None = None,
                 batch_size: int = 64) -> float:
    """Accuracy of a word-in-context model on one split (the first ``limit`` pairs)."""
    model.eval()
    device = next(model.parameters()).device
    pairs = wic.pairs(split)[:limit]
    max_length = model.encoder.config.max_position
    correct = 0
    for i in range(0, len(pairs), batch_size):
        batch = wic.collate_pairs(pairs[i:i + batch_size], tokenizer, max_length).to(device)
        correct += int((model(batch).argmax(-1) == batch.labels).sum())
    return correct / len(pairs)


# ---------------------------------------------------------------------------
# Layer-wise probes
# ---------------------------------------------------------------------------

@dataclass
class ProbeData:
    """The probes' examples: sentences and pairs of the train and test splits."""

    train_sentences: list        # tagged Example records (each sentence once)
    test_sentences: list
    train_pairs: list            # (row of sentence A, row of sentence B, label)
    test_pairs: list


def probe_data(train_pairs: int | None = 3000, test_pairs: int | None = None) -> ProbeData:
    """Sentences and pair indices for the probes (the first n pairs of each split)."""
    def index(pairs):
        rows: dict[tuple, int] = {}
        sentences, out = [], []
        for p in pairs:
            ab = []
            for e in (p.first, p.second):
                key = (e.synset, e.text, e.start)
                if key not in rows:
                    rows[key] = len(sentences)
                    sentences.append(e)
                ab.append(rows[key])
            out.append((ab[0], ab[1], p.label))
        return sentences, out

    tr_s, tr_p = index(wic.pairs("train")[:train_pairs])
    te_s, te_p = index(wic.pairs("test")[:test_pairs])
    return ProbeData(tr_s, te_s, tr_p, te_p)


def probe_encoder(encoder: nn.Module, tokenizer, data: ProbeData,
                  config: probe.ProbeConfig | None = None) -> dict[str, list[float]]:
    """Per-layer test accuracy of linear probes on the frozen encoder:
    {"wic": [H^0 .. H^L], "supersense": [H^0 .. H^L]}."""
    max_length = encoder.config.max_position
    train_v = probe.target_vectors(encoder, tokenizer, data.train_sentences, max_length=max_length)
    test_v = probe.target_vectors(encoder, tokenizer, data.test_sentences, max_length=max_length)
    out = {}
    x_tr = probe.wic_features(train_v, [a for a, _, _ in data.train_pairs], [b for _, b, _ in data.train_pairs])
    x_te = probe.wic_features(test_v, [a for a, _, _ in data.test_pairs], [b for _, b, _ in data.test_pairs])
    y_tr = torch.tensor([y for _, _, y in data.train_pairs])
    y_te = torch.tensor([y for _, _, y in data.test_pairs])
    out["wic"] = probe.probe_layers(x_tr, y_tr, x_te, y_te, 2, config)
    y_tr, y_te = supersense_labels(data.train_sentences), supersense_labels(data.test_sentences)
    out["supersense"] = probe.probe_layers(train_v, y_tr, test_v, y_te, len(wordnet.SUPERSENSES), config)
    return out


def supersense_labels(examples) -> torch.Tensor:
    """The supersense index (position in wordnet.SUPERSENSES) of each example: (n,) long."""
    return torch.tensor([wordnet.SUPERSENSES.index(e.supersense) for e in examples], dtype=torch.long)


def chance_levels(data: ProbeData) -> dict[str, float]:
    """Majority-class test accuracy for each probe task (what a probe must beat)."""
    wic_tr = torch.tensor([y for _, _, y in data.train_pairs])
    wic_te = torch.tensor([y for _, _, y in data.test_pairs])
    return {"wic": probe.majority_baseline(wic_tr, wic_te),
            "supersense": probe.majority_baseline(supersense_labels(data.train_sentences),
                                                  supersense_labels(data.test_sentences))}


def timed(fn, *args, **kwargs):
    """(result, seconds) of one call."""
    t = time.perf_counter()
    out = fn(*args, **kwargs)
    return out, time.perf_counter() - t
