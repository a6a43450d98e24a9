"""The fine-tuning loop: a pre-trained (or random) encoder plus a new classification
head, trained on labelled definitions (or word-in-context pairs), stopped early on the
dev set.

    from encoder_lib.finetune import FinetuneConfig, WicConfig, finetune
    result = finetune(FinetuneConfig(init="course", train_size=2000, epochs=5))
    result.test["accuracy"], result.test["macro_f1"]
    finetune(WicConfig(init="minilm", train_size=2000))       # a TokenPairHead on two targets

One loop, top to bottom: data, model, optimiser (AdamW, one learning rate for the
encoder theta and a larger one for the new head), a linear warm-up then linear decay,
mixed precision by :func:`encoder_lib.device.precision_policy`, an evaluation on dev
after every epoch, the best epoch's weights kept. With ``freeze_encoder`` only the head
trains (a linear probe): H cannot change then, so the pooled vectors are computed once
and the probe trains on them (same result, many times faster).

The task decides only the data and the model (``task_parts``). Both models offer
``features(batch)`` (everything below the head: the pooled h_0 or mean, or the two
pooled targets [u; v]) and ``classify(features)`` (the head), and both data sets
(``Encoded``, ``EncodedPairs``) cut batch dicts with "labels"; the loop needs no more.
"""
from __future__ import annotations

import copy
import json
import math
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, NamedTuple

import torch
import torch.nn.functional as F
from tqdm.auto import tqdm

from ..data import supersense, wic
from ..device import precision_policy, seed_everything
from ..model.token_pair import WordInContextModel
from .config import WIC, FinetuneConfig
from .data import Encoded, check_dataset, load_datasets
from .metrics import accuracy, macro_f1
from .model import SequenceClassifier, load_start
from .pairs import EncodedPairs, check_pairs, load_pairs

#: Settings that may differ when a run is resumed (they do not change what it learns).
RESUMABLE_CHANGES = ("resume", "progress", "device", "out_dir")


@dataclass
class FinetuneResult:
    model: SequenceClassifier | WordInContextModel   # the best epoch's model, in eval mode
    tokenizer: object                      # the tokenizer of its encoder
    label_names: tuple[str, ...]           # label index -> class name
    history: list[dict] = field(default_factory=list)  # per epoch: train loss, dev accuracy/macro-F1, lr
    best_epoch: int = 0                    # the epoch whose weights were kept (1-based)
    dev: dict = field(default_factory=dict)    # dev metrics of the kept model
    test: dict | None = None               # test metrics of the kept model (None: no test set)
    seconds: float = 0.0                   # wall-clock time of the run
    step_losses: list[float] = field(default_factory=list)  # the training loss of every step, in order


class TaskParts(NamedTuple):
    """What the task decides; the rest of the loop is shared."""

    label_names: tuple[str, ...]   # label index -> name
    load: Callable                 # config -> (train, dev, test or None)
    check: Callable                # (data, set name) -> None, or a clear error for bad data
    encode: Callable               # (data, tokenizer, set name) -> Encoded or EncodedPairs
    build_model: Callable          # encoder -> the model (features + classify)


def task_parts(config: FinetuneConfig) -> TaskParts:
    """Sentence tasks: a SequenceClassifier on h_0 (or the mean); "wic": a
    WordInContextModel, a TokenPairHead on the two targets' mean-pooled pieces."""
    if config.task == WIC:
        names = wic.LABEL_NAMES
        return TaskParts(names, load_pairs, check_pairs,
                         lambda data, tokenizer, name: EncodedPairs(data, tokenizer, config.max_length, name),
                         lambda encoder: WordInContextModel(encoder, len(names), config.head_dropout))
    names = supersense.label_names(config.task)
    return TaskParts(names, load_datasets, lambda data, name: check_dataset(data, name, names),
                     lambda data, tokenizer, _name: Encoded(data, tokenizer, config.max_length),
                     lambda encoder: SequenceClassifier(encoder, len(names), config.pooling, config.head_dropout))


def lr_factor(step: int, total: int, warmup: int) -> float:
    """Linear warm-up from 0 over ``warmup`` steps, then linear decay to 0 at ``total``."""
    if step < warmup:
        return (step + 1) / warmup
    return max(0.0, (total - step) / max(1, total - warmup))


def param_groups(model: SequenceClassifier | WordInContextModel, config: FinetuneConfig) -> list[dict]:
    """AdamW groups: encoder and head at their own learning rates; no weight decay on
    biases and LayerNorm weights (1-D tensors). Frozen parameters are left out."""
    groups = []
    for part, lr in ((model.encoder, config.lr_encoder), (model.head, config.lr_head)):
        params = [p for p in part.parameters() if p.requires_grad]
        decay = [p for p in params if p.dim() >= 2]
        no_decay = [p for p in params if p.dim() < 2]
        groups += [{"params": decay, "lr": lr, "weight_decay": config.weight_decay},
                   {"params": no_decay, "lr": lr, "weight_decay": 0.0}]
    return [g for g in groups if g["params"] and g["lr"] > 0]


@torch.no_grad()
def pooled_features(model, data: Encoded | EncodedPairs, batch_size: int, policy) -> torch.Tensor:
    """What the head reads for every item, (n, f), with the encoder in eval mode: the
    pooled vector (f = d), or the two pooled targets of a pair (f = 2 d)."""
    model.eval()
    out = []
    for start in range(0, len(data), batch_size * 2):
        b = data.batch(list(range(start, min(start + batch_size * 2, len(data)))), policy.device)
        with policy.autocast():
            out.append(model.features(b).float())
    return torch.cat(out)


@torch.no_grad()
def evaluate(model, data: Encoded | EncodedPairs, batch_size: int, policy,
             features: torch.Tensor | None = None) -> dict:
    """Loss, accuracy and macro-F1 of ``model`` on ``data`` (or on its pooled ``features``)."""
    model.eval()
    if features is None:
        logits = []
        order = sorted(range(len(data)), key=lambda i: data.lengths[i])   # less padding
        for start in range(0, len(data), batch_size * 2):
            b = data.batch(order[start:start + batch_size * 2], policy.device)
            with policy.autocast():
                logits.append(model.classify(model.features(b)).float())
        logits = torch.cat(logits)[torch.argsort(torch.tensor(order))]  # back to item order
    else:
        logits = model.classify(features).float()
    labels = data.labels.to(logits.device)
    predictions = logits.argmax(dim=-1)
    num_labels = logits.shape[-1]
    return {"loss": F.cross_entropy(logits, labels).item(), "accuracy": accuracy(predictions, labels),
            "macro_f1": macro_f1(predictions, labels, num_labels), "items": len(labels)}


def _check_resumable(saved: dict, config: FinetuneConfig) -> None:
    now = {k: v for k, v in config.to_dict().items() if k not in RESUMABLE_CHANGES}
    before = {k: v for k, v in saved.items() if k not in RESUMABLE_CHANGES}
    changed = [f"{k}: {before.get(k)!r} -> {now.get(k)!r}" for k in sorted(set(now) | set(before))
               if before.get(k) != now.get(k)]
    if changed:
        raise ValueError("out_dir holds a run with another configuration, so it cannot be resumed ("
                         + "; ".join(changed) + "); use another out_dir or the same settings")


def finetune(config: FinetuneConfig, *, encoder=None, tokenizer=None, train=None, dev=None,
             test=None) -> FinetuneResult:
    """Fine-tune as ``config`` says. ``encoder``/``tokenizer`` replace the starting point
    (the encoder is trained in place) and ``train``/``dev``/``test`` the data, e.g. for a
    notebook: LabelledSets for a sentence task, lists of WicPair for task "wic"."""
    t0 = time.time()
    policy = precision_policy(config.device)
    device = policy.device
    task = task_parts(config)
    label_names = task.label_names

    # --- data: checked before anything slow happens ---
    if train is None or dev is None:
        train, dev, test = task.load(config)
    task.check(train, "training")
    task.check(dev, "dev")
    if test is not None:
        task.check(test, "test")

    # --- model: the starting point, a new head, and what trains ---
    if encoder is None:
        seed_everything(config.seed)                   # a random start's weights depend on the seed
        encoder, tokenizer = load_start(config.init, config.random_like)
    elif tokenizer is None:
        raise ValueError("an encoder was given without its tokenizer")
    if config.max_length > encoder.config.max_position:
        raise ValueError(f"max_length={config.max_length} is longer than the encoder's position table "
                         f"({encoder.config.max_position})")
    seed_everything(config.seed)                       # the head's initial weights and dropout
    model = task.build_model(encoder).to(device)
    model.encoder.requires_grad_(not config.freeze_encoder)
    groups = param_groups(model, config)
    if not groups:
        why = ("the encoder is frozen (freeze_encoder=True)" if config.freeze_encoder
               else f"lr_encoder is {config.lr_encoder}")
        raise ValueError(f"nothing to train: {why} and lr_head is {config.lr_head}; "
                         "give the head (or the encoder) a learning rate above 0")
    optimizer = torch.optim.AdamW(groups)
    steps_per_epoch = math.ceil(len(train) / config.batch_size)   # (the last batch may be short)
    total_steps = config.epochs * steps_per_epoch
    warmup = int(config.warmup_fraction * total_steps)
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda s: lr_factor(s, total_steps, warmup))
    scaler = policy.grad_scaler()

    train_enc, dev_enc = task.encode(train, tokenizer, "training"), task.encode(dev, tokenizer, "dev")
    test_enc = task.encode(test, tokenizer, "test") if test is not None else None
    features = {}                                      # split -> pooled vectors, linear probe only
    if config.freeze_encoder:
        for name, d in (("train", train_enc), ("dev", dev_enc), ("test", test_enc)):
            if d is not None:
                features[name] = pooled_features(model, d, config.batch_size, policy)   # (n, d)

    # --- resume an interrupted run ---
    out_dir = Path(config.out_dir) if config.out_dir else None
    start_epoch, history, best_acc, best_state, bad_epochs, step_losses = 0, [], -1.0, None, 0, []
    best_dev = None                                    # the kept epoch's dev metrics
    if out_dir is not None:
        out_dir.mkdir(parents=True, exist_ok=True)
        last = out_dir / "last.pt"
        if config.resume and last.is_file():
            state = torch.load(last, map_location=device, weights_only=False)
            _check_resumable(state["config"], config)
            model.load_state_dict(state["model"])
            optimizer.load_state_dict(state["optimizer"])
            scheduler.load_state_dict(state["scheduler"])
            scaler.load_state_dict(state["scaler"])
            torch.set_rng_state(state["rng"])
            start_epoch, history = state["epoch"], state["history"]
            step_losses, best_dev = state.get("step_losses", []), state.get("best_dev")
            best_acc, best_state, bad_epochs = state["best_acc"], state["best_state"], state["bad_epochs"]

    # --- the loop ---
    stopped = bad_epochs >= config.patience
    for epoch in range(start_epoch, 0 if stopped else config.epochs):
        model.train()
        if config.freeze_encoder:
            model.encoder.eval()                       # frozen: no dropout inside H either
        batches = train_enc.shuffled_batches(config.batch_size,
                                             torch.Generator().manual_seed(config.seed * 1000 + epoch))
        losses = []
        bar = tqdm(batches, desc=f"epoch {epoch + 1}/{config.epochs}", disable=not config.progress, leave=False)
        for index in bar:
            with policy.autocast():
                if config.freeze_encoder:
                    labels = train_enc.labels[index].to(device)
                    logits = model.classify(features["train"][index])               # (batch, labels)
                else:
                    b = train_enc.batch(index, device)
                    labels = b["labels"]
                    logits = model.classify(model.features(b))                       # (batch, labels)
            loss = F.cross_entropy(logits.float(), labels)
            scaler.scale(loss).backward()
            if config.grad_clip > 0:
                scaler.unscale_(optimizer)
                torch.nn.utils.clip_grad_norm_(model.parameters(), config.grad_clip)
            scaler.step(optimizer)
            scaler.update()
            optimizer.zero_grad(set_to_none=True)
            scheduler.step()
            losses.append(loss.item())
            step_losses.append(losses[-1])
            bar.set_postfix(loss=f"{loss.item():.3f}")

        dev_metrics = evaluate(model, dev_enc, config.batch_size, policy, features.get("dev"))
        history.append({"epoch": epoch + 1, "train_loss": sum(losses) / len(losses),
                        "dev_loss": dev_metrics["loss"], "dev_accuracy": dev_metrics["accuracy"],
                        "dev_macro_f1": dev_metrics["macro_f1"], "lr_head": scheduler.get_last_lr()[-1]})
        if config.progress:
            tqdm.write(f"epoch {epoch + 1}: train loss {history[-1]['train_loss']:.3f}, "
                       f"dev accuracy {dev_metrics['accuracy']:.3f}, macro-F1 {dev_metrics['macro_f1']:.3f}")
        if dev_metrics["accuracy"] > best_acc:             # early stopping on dev accuracy
            best_acc, bad_epochs = dev_metrics["accuracy"], 0
            best_state = {k: v.detach().to("cpu", copy=True) for k, v in model.state_dict().items()}
            best_dev = dev_metrics
        else:
            bad_epochs += 1
        if out_dir is not None:
            torch.save({"config": config.to_dict(), "model": model.state_dict(), "optimizer": optimizer.state_dict(),
                        "scheduler": scheduler.state_dict(), "scaler": scaler.state_dict(),
                        "rng": torch.get_rng_state(), "epoch": epoch + 1, "history": history,
                        "best_acc": best_acc, "best_state": best_state, "bad_epochs": bad_epochs,
                        "step_losses": step_losses, "best_dev": best_dev},
                       out_dir / "last.pt.tmp")
            (out_dir / "last.pt.tmp").replace(out_dir / "last.pt")   # never a half-written file
        if bad_epochs >= config.patience:
            break

    # --- the best epoch's model, scored ---
    model.load_state_dict(best_state)
    best_epoch = 1 + max(range(len(history)), key=lambda i: (history[i]["dev_accuracy"], -i))
    # the kept weights were scored on dev when they were kept; evaluating is deterministic,
    # so that score stands (a run saved before best_dev was kept is scored again)
    dev_metrics = best_dev if best_dev is not None else evaluate(model, dev_enc, config.batch_size, policy,
                                                                 features.get("dev"))
    test_metrics = (evaluate(model, test_enc, config.batch_size, policy, features.get("test"))
                    if test_enc is not None else None)
    model.eval()
    result = FinetuneResult(model, tokenizer, label_names, history, best_epoch, dev_metrics,
                            test_metrics, time.time() - t0, step_losses)
    if out_dir is not None:
        torch.save(best_state, out_dir / "best_model.pt")
        summary = {"config": config.to_dict(), "label_names": list(label_names), "best_epoch": best_epoch,
                   "dev": dev_metrics, "test": test_metrics, "history": history,
                   "encoder_config": model.encoder.config.to_dict(), "seconds": result.seconds}
        (out_dir / "result.json").write_text(json.dumps(summary, indent=2) + "\n")
    return result
