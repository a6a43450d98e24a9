"""How much is pre-training worth? The four-way comparison of part 3, reproducibly.

Four starting points, the same labelled data, the same loop (encoder_lib.finetune):

* from scratch: the course checkpoint's architecture and vocabulary, random weights;
* linear probe: the course checkpoint frozen, only a linear head trained (mean pooling);
* course checkpoint: part 2's pre-trained encoder, fine-tuned;
* MiniLM: the real pre-trained encoder (all-MiniLM-L6-v2), fine-tuned.

Each is trained on nested labelled subsets of the train split (a learning curve) with
several seeds, early-stopped on a fixed dev subset, and scored on a fixed stratified
subset of the test split. Every run at a size has the same number of optimiser steps
(about ``--steps`` of them, at least two epochs). Writes under ``bench/results/``:
``finetune_compare.json`` (every run, the machine, the settings), ``finetune_compare.md``
(mean and standard deviation over seeds), ``finetune_compare_bar.png`` (bars with the
seed spread) and ``finetune_compare_curve.png`` (test accuracy against labelled items).

    make compare                                   # the committed results (~25 min, 2 CPU cores)
    python bench/compare_finetune.py --quick       # a 2-minute trial of the whole pipeline
    python bench/compare_finetune.py --render      # only remake table and plots from the JSON
"""
from __future__ import annotations

import argparse
import copy
import json
import math
import os
import platform
import statistics
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from encoder_lib.data import supersense                                    # noqa: E402
from encoder_lib.finetune import FinetuneConfig, finetune, load_start     # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results"
NAME = "finetune_compare"

# Settings shared by every run, then what differs per starting point. Each starting
# point gets the learning rates that suit it (a fair comparison tunes the baseline too):
# a random encoder needs larger steps than one that is only being adjusted.
COMMON = dict(task="supersense", max_length=48, batch_size=32, warmup_fraction=0.1, patience=3,
              weight_decay=0.01, progress=False)
STARTS = {
    "from scratch": dict(init="random", random_like="course", pooling="mean", lr_encoder=5e-4, lr_head=5e-4),
    "linear probe (course, frozen)": dict(init="course", freeze_encoder=True, pooling="mean", lr_head=5e-3),
    "fine-tuned course checkpoint": dict(init="course", pooling="mean", lr_encoder=2e-4, lr_head=2e-3),
    "fine-tuned MiniLM": dict(init="minilm", pooling="mean", lr_encoder=1e-4, lr_head=2e-3),
}


def machine() -> dict:
    """What the numbers ran on."""
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    gpu = torch.cuda.get_device_name(0) if torch.cuda.is_available() else None
    return {"cpu": cpu, "cores": os.cpu_count(), "torch_threads": torch.get_num_threads(), "gpu": gpu,
            "torch": torch.__version__, "python": platform.python_version(), "platform": platform.platform(),
            "load_average_at_start": os.getloadavg()[0] if hasattr(os, "getloadavg") else None}


def epochs_for(size: int, batch_size: int, steps: int, max_epochs: int) -> int:
    """Enough epochs for about ``steps`` optimiser steps (at least 2, at most max_epochs)."""
    return max(2, min(max_epochs, math.ceil(steps / math.ceil(size / batch_size))))


def run_all(args) -> dict:
    common = dict(COMMON, task=args.task, max_length=args.max_length)
    dev = supersense.load("dev", args.task, size=args.dev_size, seed=0)
    test = supersense.load("test", args.task, size=args.test_size, seed=0)
    course = args.course                                  # "course", or a stand-in while it is missing
    loaded = {name: load_start(name) for name in {course, "minilm"}}
    runs = []
    t_start = time.time()
    for size in args.sizes:
        epochs = epochs_for(size, common["batch_size"], args.steps, args.max_epochs)
        for seed in args.seeds:
            train = supersense.load("train", args.task, size=size, seed=seed)   # nested per seed
            for start, settings in STARTS.items():
                settings = dict(settings)
                if settings["init"] == "course":
                    settings["init"] = course
                settings["random_like"] = course
                probe = settings.get("freeze_encoder", False)
                config = FinetuneConfig(**common, **settings, seed=seed,
                                        epochs=epochs * (args.probe_epoch_factor if probe else 1))
                encoder = tokenizer = None
                if config.init != "random":                    # reuse the loaded weights, copied
                    encoder, tokenizer = loaded[config.init]
                    encoder = copy.deepcopy(encoder)
                t0 = time.time()
                result = finetune(config, encoder=encoder, tokenizer=tokenizer, train=train, dev=dev, test=test)
                runs.append({"start": start, "size": size, "seed": seed, "epochs": config.epochs,
                             "best_epoch": result.best_epoch, "test_accuracy": result.test["accuracy"],
                             "test_macro_f1": result.test["macro_f1"], "dev_accuracy": result.dev["accuracy"],
                             "seconds": round(time.time() - t0, 1), "config": config.to_dict()})
                print(f"[{time.time() - t_start:6.0f}s] n={size:5d} seed={seed} {start:32s} "
                      f"test acc {result.test['accuracy']:.3f} macro-F1 {result.test['macro_f1']:.3f} "
                      f"(best epoch {result.best_epoch}/{config.epochs}, {time.time() - t0:.0f}s)", flush=True)
    return {"task": args.task, "num_labels": len(supersense.label_names(args.task)),
            "sizes": args.sizes, "seeds": args.seeds, "dev_items": len(dev), "test_items": len(test),
            "steps_per_size": args.steps, "course_checkpoint": course, "machine": machine(),
            "total_seconds": round(time.time() - t_start), "starts": STARTS, "common": COMMON, "runs": runs}


def summarise(results: dict) -> dict:
    """(start, size) -> mean and standard deviation over seeds of accuracy and macro-F1."""
    table = {}
    for start in STARTS:
        for size in results["sizes"]:
            rows = [r for r in results["runs"] if r["start"] == start and r["size"] == size]
            if not rows:
                continue
            acc = [100 * r["test_accuracy"] for r in rows]
            f1 = [100 * r["test_macro_f1"] for r in rows]
            table[start, size] = {"acc": statistics.mean(acc), "acc_sd": statistics.pstdev(acc),
                                  "f1": statistics.mean(f1), "f1_sd": statistics.pstdev(f1), "n": len(rows)}
    return table


def render_markdown(results: dict) -> str:
    table = summarise(results)
    sizes = results["sizes"]
    m = results["machine"]
    lines = [f"# Fine-tuning comparison: {results['task']} ({results['num_labels']} classes)", "",
             f"Test accuracy in % (mean ± standard deviation over seeds {results['seeds']}) on "
             f"{results['test_items']} test definitions never seen in pre-training; early stopping on "
             f"{results['dev_items']} dev definitions. Made by `make compare` "
             f"(`python bench/compare_finetune.py`).", "",
             "| starting point | " + " | ".join(f"{s:,} labelled" for s in sizes) + " |",
             "|---|" + "---:|" * len(sizes)]
    for start in STARTS:
        cells = [f"{table[start, s]['acc']:.1f} ± {table[start, s]['acc_sd']:.1f}" if (start, s) in table else "-"
                 for s in sizes]
        lines.append(f"| {start} | " + " | ".join(cells) + " |")
    lines += ["", "Macro-F1 in % (mean ± standard deviation):", "",
              "| starting point | " + " | ".join(f"{s:,}" for s in sizes) + " |", "|---|" + "---:|" * len(sizes)]
    for start in STARTS:
        cells = [f"{table[start, s]['f1']:.1f} ± {table[start, s]['f1_sd']:.1f}" if (start, s) in table else "-"
                 for s in sizes]
        lines.append(f"| {start} | " + " | ".join(cells) + " |")
    scratch, course = "from scratch", "fine-tuned course checkpoint"
    gains = [f"{s:,}: {table[course, s]['acc'] - table[scratch, s]['acc']:+.1f}" for s in sizes
             if (course, s) in table and (scratch, s) in table]
    lines += ["", "Course checkpoint minus from scratch (accuracy points): " + ", ".join(gains) + ".", "",
              f"Machine: {m['cpu']}, {m['cores']} cores, torch {m['torch']} ({m['torch_threads']} threads), "
              f"GPU: {m['gpu'] or 'none'}; load average at start {m['load_average_at_start']}; "
              f"whole run {results['total_seconds'] / 60:.1f} min. Course checkpoint: "
              f"`{results['course_checkpoint']}`.", ""]
    return "\n".join(lines)


def plot(results: dict, out: Path) -> list[Path]:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    table = summarise(results)
    sizes = results["sizes"]
    starts = [s for s in STARTS if any((s, n) in table for n in sizes)]
    title = f"WordNet supersense classification ({results['num_labels']} classes), test set"

    fig, ax = plt.subplots(figsize=(9, 4.5))
    width = 0.8 / len(starts)
    for i, start in enumerate(starts):
        xs = [j + (i - (len(starts) - 1) / 2) * width for j in range(len(sizes))]
        ys = [table[start, n]["acc"] if (start, n) in table else float("nan") for n in sizes]
        err = [table[start, n]["acc_sd"] if (start, n) in table else 0 for n in sizes]
        ax.bar(xs, ys, width, yerr=err, capsize=3, label=start)
        for n, x in zip(sizes, xs):                          # every seed as a dot: the spread
            seeds = [100 * r["test_accuracy"] for r in results["runs"] if r["start"] == start and r["size"] == n]
            ax.scatter([x] * len(seeds), seeds, s=8, color="black", zorder=3)
    ax.set_xticks(range(len(sizes)), [f"{n:,}" for n in sizes])
    ax.set_xlabel("labelled training definitions")
    ax.set_ylabel("test accuracy (%)")
    ax.set_title(f"{title}: mean ± sd over {len(results['seeds'])} seeds (dots: seeds)")
    ax.legend(fontsize=8)
    fig.tight_layout()
    bar = out / f"{NAME}_bar.png"
    fig.savefig(bar, dpi=110)
    plt.close(fig)

    fig, ax = plt.subplots(figsize=(7, 4.5))
    for start in starts:
        ns = [n for n in sizes if (start, n) in table]
        ys = [table[start, n]["acc"] for n in ns]
        sd = [table[start, n]["acc_sd"] for n in ns]
        ax.errorbar(ns, ys, yerr=sd, marker="o", capsize=3, label=start)
    ax.set_xscale("log")
    ax.set_xticks(sizes, [f"{n:,}" for n in sizes])
    ax.set_xlabel("labelled training definitions (log scale)")
    ax.set_ylabel("test accuracy (%)")
    ax.set_title("Learning curve: " + title, fontsize=9)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    curve = out / f"{NAME}_curve.png"
    fig.savefig(curve, dpi=110)
    plt.close(fig)
    return [bar, curve]


def write_outputs(results: dict, out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    (out / f"{NAME}.json").write_text(json.dumps(results, indent=1) + "\n")
    (out / f"{NAME}.md").write_text(render_markdown(results))
    for path in plot(results, out):
        print(f"wrote {path}")
    print(f"wrote {out / (NAME + '.json')} and {out / (NAME + '.md')}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--task", default="supersense", choices=supersense.TASKS)
    parser.add_argument("--sizes", type=int, nargs="+", default=[500, 2000, 8000])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--steps", type=int, default=250, help="optimiser steps per run (about)")
    parser.add_argument("--max-epochs", type=int, default=20)
    parser.add_argument("--probe-epoch-factor", type=int, default=3,
                        help="the linear probe trains this many times more epochs (it is cheap)")
    parser.add_argument("--max-length", type=int, default=48)
    parser.add_argument("--dev-size", type=int, default=500)
    parser.add_argument("--test-size", type=int, default=2000)
    parser.add_argument("--course", default="course",
                        help="the course checkpoint: 'course' (shipped) or a model folder")
    parser.add_argument("--out", type=Path, default=RESULTS)
    parser.add_argument("--quick", action="store_true", help="tiny sizes, one seed: a trial of the pipeline")
    parser.add_argument("--render", action="store_true", help="only remake the table and plots from the JSON")
    args = parser.parse_args(argv)
    if args.render:
        results = json.loads((args.out / f"{NAME}.json").read_text())
        (args.out / f"{NAME}.md").write_text(render_markdown(results))
        plot(results, args.out)
        return 0
    if args.quick:
        args.sizes, args.seeds, args.steps, args.dev_size, args.test_size = [100, 200], [0, 1], 20, 100, 200
    results = run_all(args)
    write_outputs(results, args.out)
    print(render_markdown(results))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
