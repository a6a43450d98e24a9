"""The masked-LM pre-training loop: one function, top to bottom.

    python -m encoder_lib.pretrain --preset course --out-dir runs/course
    torchrun --nproc_per_node 2 -m encoder_lib.pretrain --preset cpu

Each step takes the global batch of that step (``BatchPlan``: a pure function of the
seed and the step), keeps this process's share of its rows, runs the model under the
precision policy (bf16 / fp16 with a scaler / fp32), scales the loss so that averaged
gradients equal those of the whole batch's mean loss, clips, steps AdamW and the
warm-up-then-cosine schedule. Rank 0 evaluates on the fixed held-out set, logs, and
writes checkpoints; ``resume=True`` continues from the newest one exactly where it
stopped (bit for bit on the CPU).
"""
from __future__ import annotations

import math
import os
import platform
import subprocess
import time
from pathlib import Path

import torch
import torch.distributed as dist
from torch.nn.parallel import DistributedDataParallel
from tqdm.auto import tqdm

from ..data.corpus import pretraining_corpus
from ..data.heldout import heldout_batches, unigram_baseline
from ..data.masking import IGNORE_INDEX
from ..device import cpu_name, get_device, precision_policy
from ..model import EncoderForMaskedLM, masked_lm_metrics
from ..tokenizer import WordPieceTokenizer
from .batches import BatchPlan
from .checkpoint import (latest_checkpoint, load_checkpoint, run_config_json, save_checkpoint,
                         save_weights, write_json)
from .config import PretrainConfig
from .plot import save_loss_curve
from .speed import adamw_options, attention_kernels, compile_model

DTYPES = {"float32": torch.float32, "float16": torch.float16, "bfloat16": torch.bfloat16}


def code_version() -> str:
    """The git commit of the code (with '+dirty' when it has uncommitted changes), or the
    package version outside a git checkout."""
    from .. import __version__
    root = Path(__file__).resolve().parents[2]
    try:
        commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True,
                                timeout=10, check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no", "--", "encoder_lib"],
                               cwd=root, capture_output=True, text=True, timeout=10).stdout.strip()
        return commit + ("+dirty" if dirty else "")
    except (OSError, subprocess.SubprocessError):
        return f"encoder_lib {__version__}"


def machine() -> str:
    """One line naming the machine a run used (for the model card)."""
    cpu = cpu_name()
    gpu = f", GPU {torch.cuda.get_device_name()}" if torch.cuda.is_available() else ""
    return f"{platform.system()} {platform.machine()}, {os.cpu_count()} CPU cores ({cpu}){gpu}"


def lr_factor(step: int, config: PretrainConfig, progress: float | None = None) -> float:
    """Multiplier of the peak lr after ``step`` optimizer steps: linear warm-up, then
    cosine decay to ``min_lr_ratio``.

    ``progress`` (0 to 1), when given, is how far the run is in place of
    ``step / max_steps``: a time-capped run passes max(step / max_steps, elapsed / time
    limit) (``encoder_lib.notebook.TimeBudget``), so warm-up and decay fit in the time it
    has; warm-up takes the share ``warmup_steps / max_steps`` of the run either way."""
    if progress is not None:
        step = min(max(float(progress), 0.0), 1.0) * config.max_steps     # the step that far along
    if step < config.warmup_steps:
        return (step + 1) / (config.warmup_steps + 1)
    progress = (step - config.warmup_steps) / max(1, config.max_steps - config.warmup_steps)
    return config.min_lr_ratio + (1 - config.min_lr_ratio) * 0.5 * (1 + math.cos(math.pi * min(progress, 1.0)))


def param_groups(model: torch.nn.Module, weight_decay: float) -> list[dict]:
    """Weight decay on matrices and embeddings, none on biases and LayerNorm weights."""
    decay = [p for p in model.parameters() if p.dim() >= 2]
    no_decay = [p for p in model.parameters() if p.dim() < 2]
    return [{"params": decay, "weight_decay": weight_decay}, {"params": no_decay, "weight_decay": 0.0}]


def setup_processes(config: PretrainConfig) -> tuple[int, int, torch.device]:
    """(rank, world size, device); starts the process group under torchrun."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world == 1:
        return 0, 1, get_device(config.device)
    rank, local_rank = int(os.environ["RANK"]), int(os.environ.get("LOCAL_RANK", "0"))
    if config.batch_size % world:
        raise ValueError(f"batch_size {config.batch_size} must be divisible by the {world} processes")
    wanted = get_device(config.device)
    if wanted.type == "cuda":
        device = torch.device("cuda", local_rank)
        torch.cuda.set_device(device)
        backend = "nccl"
    else:
        device, backend = torch.device("cpu"), "gloo"
    if not dist.is_initialized():
        dist.init_process_group(backend)
    return rank, world, device


def train(config: PretrainConfig, resume: bool = False, progress: bool = True,
          stop_at_step: int | None = None) -> dict:
    """Run (or continue) pre-training; returns a summary. ``stop_at_step`` ends the loop
    after that many steps without writing anything more (an interruption, for tests)."""
    started = time.perf_counter()
    load_at_start = round(os.getloadavg()[0], 2) if hasattr(os, "getloadavg") else None
    rank, world, device = setup_processes(config)
    is_main = rank == 0
    policy = precision_policy(device)
    out_dir = Path(config.out_dir)
    version = code_version()                                    # the code this run starts with
    say = tqdm.write if is_main else (lambda *a, **k: None)

    # --- data: tokenized corpus, the batch plan, the held-out set (rank 0) ---
    tokenizer = WordPieceTokenizer.from_pretrained()
    rows = [tokenizer.encode(s, max_length=config.max_length) for s in pretraining_corpus(config.corpus)]
    plan = BatchPlan(rows, config.batch_size, config.seed, config.group_window)
    heldout, baseline = None, None
    if is_main:
        heldout = heldout_batches(tokenizer, config.max_length, config.heldout_sentences,
                                  config.heldout_seed, config.mlm_probability)
        baseline = unigram_baseline(rows, heldout, tokenizer.vocab_size, tokenizer.all_special_ids)
    per_rank = config.batch_size // world

    # --- model, optimizer, schedule, scaler ---
    torch.manual_seed(config.seed)
    model = EncoderForMaskedLM(config.encoder_config(tokenizer.vocab_size)).to(device)
    optimizer = torch.optim.AdamW(param_groups(model, config.weight_decay), lr=config.lr,
                                  betas=(0.9, config.beta2), **adamw_options(config, device))
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda s: lr_factor(s, config))
    scaler = policy.grad_scaler()
    history = {"train": [], "eval": [], "baseline": baseline}
    start, prior_seconds = 0, 0.0
    torch.manual_seed(config.seed + 1 + rank)                  # dropout stream of this process
    if resume:
        folder = latest_checkpoint(out_dir)
        state, history = load_checkpoint(folder, model, config)
        optimizer.load_state_dict(state["optimizer"])
        scheduler.load_state_dict(state["scheduler"])
        scaler.load_state_dict(state["scaler"])
        rng = state["rng"][rank] if rank < len(state["rng"]) else state["rng"][0]
        torch.set_rng_state(rng["cpu"])
        if device.type == "cuda" and rng.get("cuda") is not None:
            torch.cuda.set_rng_state(rng["cuda"], device)
        start = state["step"]
        prior_seconds = history.get("run", {}).get("seconds", 0.0)
        say(f"resuming from {folder} at step {start}")
    step_model = DistributedDataParallel(model) if world > 1 else model
    step_model = compile_model(step_model, config)
    n_params = model.num_parameters
    say(f"pre-training {n_params / 1e6:.1f} M parameters on {device} ({policy.name}), {world} process(es), "
        f"{len(rows)} sentences, {plan.steps_per_epoch} steps per epoch; unigram baseline on the held-out "
        f"set: loss {baseline['loss']:.3f}, accuracy {baseline['accuracy']:.3f}" if is_main else "")

    def evaluate(step: int) -> None:
        with policy.autocast():
            m = masked_lm_metrics(model, heldout)
        history["eval"].append({"step": step, **{k: round(v, 5) for k, v in m.items()}})
        say(f"step {step}: held-out loss {m['loss']:.3f} (perplexity {m['perplexity']:.1f}), "
            f"masked-token accuracy {m['accuracy']:.3f}")

    def note_run() -> None:
        history["run"] = {"seconds": round(prior_seconds + time.perf_counter() - started, 1),
                          "machine": machine(), "device": str(device), "precision": policy.name,
                          "processes": world, "threads_per_process": torch.get_num_threads(),
                          "load_average_at_start": history.get("run", {}).get("load_average_at_start", load_at_start),
                          "torch": torch.__version__}

    def checkpoint(step: int) -> None:
        note_run()
        rng = {"cpu": torch.get_rng_state(),
               "cuda": torch.cuda.get_rng_state(device) if device.type == "cuda" else None}
        rngs = [rng]
        if world > 1:
            rngs = [None] * world
            dist.all_gather_object(rngs, rng)
        if is_main:
            state = {"step": step, "optimizer": optimizer.state_dict(), "scheduler": scheduler.state_dict(),
                     "scaler": scaler.state_dict(), "rng": rngs}
            save_checkpoint(out_dir, step, model, config, history, state, version,
                            keep=config.keep_checkpoints)

    # --- the loop ---
    model.train()
    bar = tqdm(total=config.max_steps, initial=start, disable=not (is_main and progress),
               desc="pre-training", unit="step", dynamic_ncols=True)
    for step in range(start, config.max_steps):
        t0 = time.perf_counter()
        batch = plan.batch(step, tokenizer, config.mlm_probability)        # global batch, each (batch, seq)
        rows_k = config.predicted_rows(per_rank * batch["labels"].shape[1])  # None: every selected row
        selected = (batch["labels"] != IGNORE_INDEX).reshape(world, -1).sum(1)  # per process
        n_masked = int(selected.clamp(max=rows_k).sum() if rows_k else selected.sum())  # rows in the loss
        n_tokens = int(batch["attention_mask"].sum())
        mine = slice(rank * per_rank, (rank + 1) * per_rank)
        ids, mask, labels = (batch[k][mine].to(device) for k in ("input_ids", "attention_mask", "labels"))

        with policy.autocast(), attention_kernels(config):
            out = step_model(ids, mask, labels=labels, num_predictions=rows_k)
        # sum over this process's masked tokens / all masked tokens; DDP averages gradients
        # over the processes, hence the factor world: the result is the global mean's gradient
        loss_sum = out.loss * (out.labels != IGNORE_INDEX).sum()
        scaler.scale(loss_sum * (world / max(n_masked, 1))).backward()
        if config.grad_clip > 0:
            scaler.unscale_(optimizer)
            torch.nn.utils.clip_grad_norm_(model.parameters(), config.grad_clip)
        scaler.step(optimizer)
        scaler.update()
        optimizer.zero_grad(set_to_none=True)
        lr = scheduler.get_last_lr()[0]
        scheduler.step()

        total = loss_sum.detach().float()
        if world > 1:
            dist.all_reduce(total)
        loss = total.item() / max(n_masked, 1)
        tokens_per_s = n_tokens / (time.perf_counter() - t0)
        history["train"].append({"step": step + 1, "loss": round(loss, 5), "lr": float(f"{lr:.5g}"),
                                 "tokens_per_s": round(tokens_per_s, 1)})
        bar.update(1)
        bar.set_postfix(loss=f"{loss:.3f}", tok_s=f"{tokens_per_s:,.0f}")
        if not math.isfinite(loss):
            raise FloatingPointError(f"the loss became {loss} at step {step + 1}; lower --lr or check the data")
        done = step + 1
        if stop_at_step is not None and done >= stop_at_step:
            bar.close()
            return {"step": done, "history": history, "interrupted": True}
        if is_main and (done % config.eval_every == 0 or done == config.max_steps):
            evaluate(done)
        if done % config.checkpoint_every == 0 or done == config.max_steps:
            checkpoint(done)
    bar.close()

    # --- the finished model, its history and plot (rank 0) ---
    note_run()
    summary = {"step": config.max_steps, "history": history, "interrupted": False,
               "seconds": history["run"]["seconds"]}
    if is_main:
        final = out_dir / "final"
        save_weights(model, final, DTYPES[config.save_dtype])
        write_json(final / "config.json", run_config_json(model.config, config, version, config.max_steps))
        write_json(final / "history.json", history)
        write_json(out_dir / "history.json", history)
        save_loss_curve(history, out_dir / "loss_curve.png")
        summary["final_dir"] = str(final)
        say(f"done in {summary['seconds'] / 60:.1f} min; weights, config and history in {final}, "
            f"loss curve in {out_dir / 'loss_curve.png'}")
    if world > 1:
        dist.barrier()
    return summary
