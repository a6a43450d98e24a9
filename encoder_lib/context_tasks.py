"""Notebook 06's experiments in one place: the starting points, word-in-context
fine-tuning (part 3's loop with a TokenPairHead; settings: ``WicConfig``) and
evaluation, and the layer-wise probes of the three encoders.

Used by the notebook and by ``bench/context_tasks.py`` (which writes the committed
numbers), so both measure the same thing.

Starting points (all with the BERT uncased vocabulary):

- ``"course"``: the course checkpoint (``load_pretrained("course")``);
- ``"random"``: the same architecture, freshly initialised (seeded);
- ``"minilm"``: the real pre-trained encoder all-MiniLM-L6-v2.
"""
from __future__ import annotations

import copy
import time
from dataclasses import dataclass, replace

import torch
from torch import nn

from . import probe
from .data import wic, wordnet
from .device import get_device, precision_policy
from .finetune import FinetuneConfig, WicConfig, evaluate, finetune
from .finetune.pairs import EncodedPairs
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
# Word-in-context fine-tuning (through part 3's loop, encoder_lib.finetune)
# ---------------------------------------------------------------------------

def finetune_wic(encoder: nn.Module, tokenizer, config: WicConfig | None = None
                 ) -> tuple[WordInContextModel, list[float]]:
    """Fine-tune a copy of ``encoder`` and a new TokenPairHead on word-in-context pairs,
    with the fine-tuning loop of part 3 (``encoder_lib.finetune.finetune``: AdamW with
    separate learning rates for encoder and head, warm-up, mixed precision, early
    stopping on ``config.dev_size`` dev pairs, seeded).

    A target of several word pieces ("acknowledgment" -> "acknowledge", "##ment") is
    represented by the **mean** of its pieces' vectors in the last layer, for sentence A
    (u) and sentence B (v); the head classifies [u; v; |u - v|; u * v].

    The caller's encoder stays unchanged and no test set is scored here (``evaluate_wic``
    does that). Runs on the encoder's device unless ``config.device`` says otherwise.
    Returns the best epoch's model (eval mode) and the training loss of every step."""
    config = config or WicConfig()
    if not isinstance(config, FinetuneConfig) or config.task != "wic":
        raise ValueError(f"config must be a WicConfig (task 'wic'), got {config!r:.80}")
    device = next(encoder.parameters()).device
    config = replace(config, test_size=0, device=config.device or str(device))
    result = finetune(config, encoder=copy.deepcopy(encoder), tokenizer=tokenizer)
    return result.model, result.step_losses


@torch.no_grad()
def evaluate_wic(model: WordInContextModel, tokenizer, split: str = "test", limit: int | None = None,
                 batch_size: int = 64) -> float:
    """Accuracy of a word-in-context model on one split (the first ``limit`` pairs)."""
    device = next(model.parameters()).device
    data = EncodedPairs(wic.pairs(split)[:limit], tokenizer, model.encoder.config.max_position, split)
    return evaluate(model, data, batch_size, precision_policy(device))["accuracy"]


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


# ---------------------------------------------------------------------------
# Reading the numbers: chance lines, noise, the committed runs
# ---------------------------------------------------------------------------

def frequency_guess_levels(data: ProbeData) -> dict[str, float]:
    """Test accuracy of guessing each label at random with the training labels' frequencies
    (sum over classes of p_train * p_test), per probe task.

    With the majority class (``chance_levels``) it brackets what a probe that learnt nothing
    that carries over to new words scores: it does not always answer the majority class (it
    fits the training words' vectors), so its guesses on the test split's unseen lemmas are
    spread over the classes and land between the two lines."""
    def level(train: torch.Tensor, test: torch.Tensor) -> float:
        classes = int(max(train.max(), test.max())) + 1
        p = torch.bincount(train, minlength=classes).double() / len(train)
        q = torch.bincount(test, minlength=classes).double() / len(test)
        return float((p * q).sum())

    return {"wic": level(torch.tensor([y for _, _, y in data.train_pairs]),
                         torch.tensor([y for _, _, y in data.test_pairs])),
            "supersense": level(supersense_labels(data.train_sentences), supersense_labels(data.test_sentences))}


def interval95(accuracy: float, n: int) -> float:
    """Half-width of a 95 % interval of an accuracy measured on ``n`` test items (normal
    approximation, 1.96 standard errors): two runs closer than about this are not told apart
    by the test set."""
    if n <= 0:
        raise ValueError(f"n must be a positive number of test items, got {n}")
    p = min(max(float(accuracy), 0.0), 1.0)
    return 1.96 * (p * (1 - p) / n) ** 0.5


def committed() -> dict | None:
    """The course's committed word-in-context fine-tuning runs (several seeds per starting
    point, ``bench/context_seeds.py``), shipped with encoder_lib; None when absent."""
    from . import results

    return results.load("context_tasks")


def committed_finetune_summary(report: dict | None = None) -> dict[str, tuple[float, float, int]]:
    """{start: (mean test accuracy, standard deviation over seeds, seeds)} of the committed runs."""
    report = committed() if report is None else report
    out = {}
    for name, accs in (report or {}).get("finetuned_wic_test", {}).items():
        t = torch.tensor(accs, dtype=torch.float64)
        out[name] = (float(t.mean()), float(t.std(unbiased=False)), len(accs))
    return out
