"""Pre-train candidate course checkpoints side by side on one GPU within a time budget,
then fine-tune each on the supersense task and report dev accuracy.

A GPU lease is short, so the candidates (settings that differ from the ``course``
preset, e.g. batch size and learning rate) train at the same time, one process each,
and each sizes its run to the budget: it first times its own training step while the
others time theirs (so the rate includes the sharing of the GPU), then asks
``encoder_lib.pretrain.train`` for as many steps as fit. The run that results is an
ordinary pre-training run; its ``final/config.json`` holds every setting, so the
winner is reproduced by ``python -m encoder_lib.pretrain`` with those settings. The
choice between candidates is made on *dev* accuracy (the test split plays no part).

    python bench/checkpoint_candidates.py --budget 330 --out runs/candidates \\
        --candidate b512:batch_size=512,lr=1.5e-3 --candidate b1024:batch_size=1024,lr=2e-3

Writes ``<out>/<name>/`` (the pre-training run) and ``<out>/<name>/finetune/`` (the
dev check), and prints one summary line per candidate.
"""
from __future__ import annotations

import argparse
import json
import multiprocessing
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

REPO = Path(__file__).resolve().parents[1]


def parse_candidate(text: str) -> tuple[str, dict]:
    """'name:key=value,key=value' -> (name, {key: number}), checked against PretrainConfig
    here, so a typo is an argparse error, not a failed process minutes later."""
    from encoder_lib.pretrain.config import PRESETS, PretrainConfig

    name, colon, settings = text.partition(":")
    if not name or not colon:
        raise argparse.ArgumentTypeError(f"{text!r}: write NAME:KEY=VALUE,... (e.g. b512:batch_size=512)")
    values = {}
    try:
        for item in filter(None, settings.split(",")):
            key, _, value = item.partition("=")
            values[key.strip()] = float(value) if any(c in value for c in ".e") else int(value)
        PretrainConfig.from_dict({**PRESETS["course"], **values})
    except (TypeError, ValueError) as err:
        raise argparse.ArgumentTypeError(f"candidate {name!r}: {err}") from None
    return name, values


def time_steps(config, rows, steps: int = 120, skip: int = 20) -> float:
    """Steps per second of the training step ``train`` runs (same batch plan, model,
    optimizer, precision and per-step sync), measured over ``steps - skip`` steps. On an
    H200 it came out low, the safe side (20 steps/s timed, 33 in the run that followed)."""
    import torch
    from encoder_lib.device import get_device, precision_policy
    from encoder_lib.model import EncoderForMaskedLM
    from encoder_lib.pretrain.batches import BatchPlan
    from encoder_lib.pretrain.train import param_groups
    from encoder_lib.tokenizer import WordPieceTokenizer

    tokenizer = WordPieceTokenizer.from_pretrained()
    device = get_device(config.device)
    policy = precision_policy(device)
    plan = BatchPlan(rows, config.batch_size, config.seed + 7, config.group_window)
    model = EncoderForMaskedLM(config.encoder_config(tokenizer.vocab_size)).to(device).train()
    opt = torch.optim.AdamW(param_groups(model, 0.01), lr=1e-4, fused=device.type == "cuda")
    scaler = policy.grad_scaler()
    for step in range(steps):
        if step == skip:
            t0 = time.perf_counter()
        batch = {k: v.to(device) for k, v in plan.batch(step, tokenizer, config.mlm_probability).items()}
        with policy.autocast():
            out = model(batch["input_ids"], batch["attention_mask"], labels=batch["labels"])
        scaler.scale(out.loss).backward()
        scaler.unscale_(opt)
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        scaler.step(opt)
        scaler.update()
        opt.zero_grad(set_to_none=True)
        out.loss.item()
    return (steps - skip) / (time.perf_counter() - t0)


def pretrain_candidate(name: str, overrides: dict, out: Path, deadline: float, n_candidates: int,
                       device: str | None) -> None:
    """One candidate: wait for the others, time the step, train as many steps as fit."""
    from encoder_lib.data.corpus import pretraining_corpus
    from encoder_lib.pretrain import preset, train
    from encoder_lib.tokenizer import WordPieceTokenizer

    config = preset("course", **overrides, device=device, out_dir=str(out / name))
    tokenizer = WordPieceTokenizer.from_pretrained()
    rows = [tokenizer.encode(s, max_length=config.max_length) for s in pretraining_corpus(config.corpus)]
    (out / f".ready_{name}").touch()
    while len(list(out.glob(".ready_*"))) < n_candidates and time.time() < deadline - 60:
        time.sleep(0.2)
    rate = time_steps(config, rows)
    # what train() adds around its steps: tokenizing again, the held-out set and baseline,
    # 10 held-out evaluations, checkpoints and the final save (measured: about 25 s)
    left = deadline - time.time() - 30
    steps = max(500, int(rate * left * 0.92) // 100 * 100)
    run = preset("course", **overrides, device=device, out_dir=str(out / name), max_steps=steps,
                 warmup_steps=max(100, steps // 20 // 50 * 50), eval_every=max(100, steps // 10),
                 checkpoint_every=max(100, steps // 4))
    print(f"[{name}] {rate:.1f} steps/s measured with {n_candidates} candidate(s) sharing the device; "
          f"training {steps} steps of {run.batch_size} (lr {run.lr:g}, warm-up {run.warmup_steps})", flush=True)
    summary = train(run, progress=False)
    ev = summary["history"]["eval"][-1]
    print(f"[{name}] done in {summary['seconds']:.0f} s: held-out loss {ev['loss']:.3f}, "
          f"accuracy {ev['accuracy']:.3f}", flush=True)


def finetune_check(name: str, out: Path, sizes: list[int], seeds: list[int], workers: int) -> dict:
    """bench/compare_finetune.py with this candidate as the course checkpoint: dev and test accuracy."""
    folder = out / name / "final"
    cmd = [sys.executable, str(REPO / "bench" / "compare_finetune.py"), "--course", str(folder),
           "--starts", "fine-tuned course checkpoint", "--sizes", *map(str, sizes), "--seeds", *map(str, seeds),
           "--workers", str(workers), "--out", str(out / name / "finetune")]
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
    results = json.loads((out / name / "finetune" / "finetune_compare.json").read_text())
    by_size = {}
    for size in sizes:
        rows = [r for r in results["runs"] if r["size"] == size]
        by_size[size] = {"dev": sum(r["dev_accuracy"] for r in rows) / len(rows),
                         "test": sum(r["test_accuracy"] for r in rows) / len(rows)}
    return by_size


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--candidate", action="append", required=True, type=parse_candidate,
                        metavar="NAME:KEY=VALUE,...",
                        help="settings that differ from the course preset, e.g. b512:batch_size=512,lr=1.5e-3")
    parser.add_argument("--budget", type=float, required=True, help="seconds from now until pre-training ends")
    parser.add_argument("--out", type=Path, default=Path("runs/candidates"))
    parser.add_argument("--device", default=None, help="'cpu' for a trial; default: the GPU")
    parser.add_argument("--sizes", type=int, nargs="+", default=[500, 2000])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--workers", type=int, default=6)
    args = parser.parse_args(argv)
    deadline = time.time() + args.budget
    candidates = args.candidate
    args.out.mkdir(parents=True, exist_ok=True)
    for ready in args.out.glob(".ready_*"):
        ready.unlink()
    context = multiprocessing.get_context("spawn")
    procs = [context.Process(target=pretrain_candidate,
                             args=(name, values, args.out, deadline, len(candidates), args.device))
             for name, values in candidates]
    for p in procs:
        p.start()
    for p in procs:
        p.join()
    for (name, values), p in zip(candidates, procs):
        if p.exitcode != 0:
            print(f"[{name}] pre-training failed (exit {p.exitcode})")
            continue
        history = json.loads((args.out / name / "history.json").read_text())
        ev = history["eval"][-1]
        check = finetune_check(name, args.out, args.sizes, args.seeds, args.workers)
        line = {"candidate": name, "settings": values, "steps": ev["step"], "seconds": history["run"]["seconds"],
                "heldout_loss": ev["loss"], "heldout_accuracy": ev["accuracy"],
                **{f"dev_{s}": round(100 * v["dev"], 1) for s, v in check.items()},
                **{f"test_{s}": round(100 * v["test"], 1) for s, v in check.items()}}
        (args.out / name / "candidate.json").write_text(json.dumps(line, indent=1) + "\n")
        print(json.dumps(line), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
