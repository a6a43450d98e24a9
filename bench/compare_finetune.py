"""How much is pre-training worth? The four-way comparison of part 3, reproducibly.

Four starting points, the same labelled data, the same loop (encoder_lib.finetune):

* from scratch: the course checkpoint's architecture and vocabulary, random weights;
* linear probe: the course checkpoint frozen, only a linear head trained (mean pooling);
* course checkpoint: part 2's pre-trained encoder, fine-tuned;
* MiniLM: the real pre-trained encoder (all-MiniLM-L6-v2), fine-tuned.

Each is trained on nested labelled subsets of the train split (a learning curve) with
several seeds, early-stopped on a fixed dev subset, and scored on a fixed stratified
subset of the test split. Each starting point has a budget of optimiser steps per run
(STARTS; whole epochs, at most --max-epochs). Runs go to worker processes with one
thread each: on a busy 2-core machine one thread per process was measured 4x faster
per step than two (MiniLM: 1.0 s of CPU per batch-32 step against 4.8 s). Sized for
about 20-30 minutes on 2 idle cores (from the measured per-step CPU time: MiniLM 1.0 s,
the course-sized encoder about 0.1 s). Writes under ``bench/results/``:
``finetune_compare.json`` (every run, the machine, the settings), ``finetune_compare.md``
(mean and standard deviation over seeds), ``finetune_compare_bar.png`` (bars with the
seed spread) and ``finetune_compare_curve.png`` (test accuracy against labelled items).

    make compare                                   # every starting point, sizes 500/2,000/8,000, 3 seeds
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
from encoder_lib.device import cpu_name                                    # noqa: E402
from encoder_lib.finetune import FinetuneConfig, finetune, load_start     # noqa: E402
from encoder_lib import results as shipped_results                        # noqa: E402
from encoder_lib.pretrained import course_checkpoint_dir, weights_digest  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results"
TARGET_GAIN = 10.0      # accuracy points the fine-tuned course checkpoint should gain over scratch at <= 2,000 items
NAME = "finetune_compare"

# Settings shared by every run, then what differs per starting point. From scratch and
# the fine-tuned course checkpoint have the same architecture and the same budget, and
# each run picks its encoder learning rate from the same grid (``lr_grid``) by dev
# accuracy. The grid and the other learning rates come from a first grid at 500 labelled
# items, seed 0 (dev accuracy; the course checkpoint shipped before the current one, 10,000
# steps of 128 sentences; kept for the current one): from scratch 3e-4 / 1e-3 /
# 2e-3 -> 0.363 / 0.387 / 0.377; course checkpoint (encoder; head 1e-3) 1e-4 / 3e-4 /
# 1e-3 -> 0.520 / 0.543 / 0.520; linear probe (head) 2e-3 / 5e-3 / 2e-2 -> 0.423 / 0.430
# / 0.447. ``steps`` is the optimiser steps a run aims for at each size, in whole epochs
# and at least ``min_epochs`` (early stopping on dev may end it sooner): the course-sized
# encoders (4.8 M parameters) get 400 and at least 4 epochs (a first full run with 300
# steps and 3 epochs left the course checkpoint still improving in its last epoch at
# 2,000 items), MiniLM (22.7 M, about 8x the compute per step) 120 -- a handicap for
# MiniLM only, so "MiniLM does best" is not bought with a larger budget.
COMMON = dict(task="supersense", max_length=48, batch_size=32, warmup_fraction=0.1, patience=3,
              weight_decay=0.01, progress=False)
STARTS = {
    "from scratch": dict(init="random", random_like="course", pooling="mean", lr_encoder=1e-3,
                         lr_grid=(3e-4, 1e-3), lr_head=1e-3, steps=400, min_epochs=4),
    "linear probe (course, frozen)": dict(init="course", freeze_encoder=True, pooling="mean", lr_head=2e-2,
                                          steps=900, min_epochs=3),
    "fine-tuned course checkpoint": dict(init="course", pooling="mean", lr_encoder=3e-4,
                                         lr_grid=(3e-4, 1e-3), lr_head=1e-3, steps=400, min_epochs=4),
    "fine-tuned MiniLM": dict(init="minilm", pooling="mean", lr_encoder=1e-4, lr_head=3e-3, steps=120),
}


def machine() -> dict:
    """What the numbers ran on."""
    cpu = cpu_name()
    gpu = torch.cuda.get_device_name(0) if torch.cuda.is_available() else None
    return {"cpu": cpu, "cores": os.cpu_count(), "torch_threads": torch.get_num_threads(), "gpu": gpu,
            "torch": torch.__version__, "python": platform.python_version(), "platform": platform.platform(),
            "load_average_at_start": os.getloadavg()[0] if hasattr(os, "getloadavg") else None}


def epochs_for(size: int, batch_size: int, steps: int, max_epochs: int, min_epochs: int = 1) -> int:
    """Whole epochs for about ``steps`` optimiser steps (at least min_epochs, at most max_epochs)."""
    return max(min_epochs, 1, min(max_epochs, round(steps / math.ceil(size / batch_size))))


_LOADED: dict = {}     # per worker process: starting point -> (encoder, tokenizer), loaded once


def run_one(job: dict) -> dict:
    """One fine-tuning run (in a worker process with one thread: on a shared CPU, one
    thread per process wastes no time waiting for a descheduled sibling thread). With an
    ``lr_grid``, one run per encoder learning rate, and the one with the best dev accuracy
    is reported (the test set plays no part in the choice)."""
    torch.set_num_threads(1)
    base = FinetuneConfig(**job["config"])
    data = {s: supersense.load(s, base.task, size=n, seed=seed)
            for s, n, seed in (("train", job["size"], job["seed"]), ("dev", job["dev_size"], 0),
                               ("test", job["test_size"], 0))}
    best, tried, t0 = None, {}, time.time()
    for lr in job.get("lr_grid") or [base.lr_encoder]:
        config = FinetuneConfig(**{**job["config"], "lr_encoder": lr})
        encoder = tokenizer = None
        if config.init != "random":                       # reuse the loaded weights, copied
            if config.init not in _LOADED:
                _LOADED[config.init] = load_start(config.init)
            encoder, tokenizer = _LOADED[config.init]
            encoder = copy.deepcopy(encoder)
        result = finetune(config, encoder=encoder, tokenizer=tokenizer, **data)
        tried[f"{lr:g}"] = round(result.dev["accuracy"], 4)
        if best is None or result.dev["accuracy"] > best[1].dev["accuracy"]:
            best = (config, result)
    config, result = best
    out = {"start": job["start"], "size": job["size"], "seed": job["seed"], "epochs": config.epochs,
           "best_epoch": result.best_epoch, "test_accuracy": result.test["accuracy"],
           "test_macro_f1": result.test["macro_f1"], "dev_accuracy": result.dev["accuracy"],
           "seconds": round(time.time() - t0, 1), "config": config.to_dict()}
    if len(tried) > 1:
        out["dev_accuracy_by_lr_encoder"] = tried
    return out


def run_all(args) -> dict:
    from concurrent.futures import ProcessPoolExecutor, as_completed
    import multiprocessing

    jobs = []
    for size in args.sizes:
        for seed in args.seeds:                         # train subsets are nested per seed
            for start, settings in STARTS.items():
                if start not in args.starts:
                    continue
                settings = dict(settings)
                steps = max(1, round(settings.pop("steps") * args.steps_scale))
                min_epochs = settings.pop("min_epochs", 1)
                lr_grid = settings.pop("lr_grid", None)
                if settings["init"] == "course":
                    settings["init"] = args.course      # "course", or a stand-in folder for a trial
                settings["random_like"] = args.course
                epochs = epochs_for(size, COMMON["batch_size"], steps, args.max_epochs, min_epochs)
                config = dict(COMMON, **settings, task=args.task, max_length=args.max_length, seed=seed,
                              epochs=epochs)
                jobs.append({"start": start, "size": size, "seed": seed, "config": config, "lr_grid": lr_grid,
                             "dev_size": args.dev_size, "test_size": args.test_size,
                             "cost": epochs * size * (8 if settings["init"] == "minilm" else 1) * len(lr_grid or [0])})
    jobs.sort(key=lambda j: -j["cost"])                 # longest first: the workers finish together
    runs, t_start = [], time.time()
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=args.workers, mp_context=context) as pool:
        futures = [pool.submit(run_one, job) for job in jobs]
        for future in as_completed(futures):
            r = future.result()
            runs.append(r)
            print(f"[{time.time() - t_start:6.0f}s {len(runs):3d}/{len(jobs)}] n={r['size']:5d} seed={r['seed']} "
                  f"{r['start']:30s} test acc {r['test_accuracy']:.3f} macro-F1 {r['test_macro_f1']:.3f} "
                  f"(best epoch {r['best_epoch']}/{r['epochs']}, {r['seconds']:.0f}s)", flush=True)
    runs.sort(key=lambda r: (list(STARTS).index(r["start"]), r["size"], r["seed"]))
    return {"commands": ["python bench/compare_finetune.py " + " ".join(sys.argv[1:])], "task": args.task, "num_labels": len(supersense.label_names(args.task)),
            "sizes": args.sizes, "seeds": args.seeds, "dev_items": args.dev_size, "test_items": args.test_size,
            "course_checkpoint": args.course, "course_weights_sha256": course_digest(args.course),
            "workers": args.workers, "machine": machine(),
            "total_seconds": round(time.time() - t_start), "starts": STARTS, "common": COMMON, "runs": runs}


def course_digest(course: str) -> str:
    """SHA-256 of the course checkpoint's weights ('course': the shipped one, else a folder)."""
    return weights_digest(course_checkpoint_dir() if course == "course" else course)


def merge(old: dict, new: dict) -> dict:
    """Results of two invocations as one: new runs replace old ones of the same
    (start, size, seed); the machine and timing of each invocation are kept."""
    for key in ("task", "dev_items", "test_items", "course_weights_sha256"):
        if old.get(key) != new.get(key):
            raise SystemExit(f"cannot append: {key} differs ({old.get(key)!r} before, {new.get(key)!r} now); "
                             "run every starting point again without --append")
    done = {(r["start"], r["size"], r["seed"]) for r in new["runs"]}
    runs = [r for r in old["runs"] if (r["start"], r["size"], r["seed"]) not in done] + new["runs"]
    runs.sort(key=lambda r: (list(STARTS).index(r["start"]), r["size"], r["seed"]))
    merged = dict(new, runs=runs, sizes=sorted({r["size"] for r in runs}), seeds=sorted({r["seed"] for r in runs}),
                  commands=old.get("commands", []) + new["commands"],
                  machines=old.get("machines", [old["machine"]]) + [new["machine"]],
                  total_seconds=old["total_seconds"] + new["total_seconds"])
    return merged


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


def _digest_note(results: dict) -> str:
    digest = results.get("course_weights_sha256")
    return f" (model.safetensors SHA-256 {digest[:16]}...)" if digest else ""


def render_markdown(results: dict) -> str:
    table = summarise(results)
    sizes = results["sizes"]
    m = results["machine"]
    lines = [f"# Fine-tuning comparison: {results['task']} ({results['num_labels']} classes)", "",
             f"Test accuracy in % (mean ± standard deviation over seeds {results['seeds']}) on "
             f"{results['test_items']} test definitions never seen in pre-training; early stopping on "
             f"{results['dev_items']} dev definitions. Made by "
             + " then ".join(f"`{c.strip()}`" for c in results.get("commands", ["make compare"]))
             + " (`make compare` runs the default settings in one go).", "",
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
    scarce = [s for s in sizes if s <= 2000 and (course, s) in table and (scratch, s) in table]
    short = [f"{s:,}" for s in scarce if table[course, s]["acc"] - table[scratch, s]["acc"] < TARGET_GAIN]
    target = (f"The course's target, at least {TARGET_GAIN:g} points where labels are scarce (2,000 or fewer): "
              + ("met at every such size." if not short else f"not met at {', '.join(short)}."))
    lines += ["", "Course checkpoint minus from scratch (accuracy points): " + ", ".join(gains) + ". " + target, "",
              "Settings per starting point (all: AdamW, linear warm-up over 10 % of the steps then linear "
              "decay, batch 32, early stopping on dev accuracy with patience 3, best epoch kept):", ""]
    for start, settings in results["starts"].items():
        shown = ", ".join(f"{k}={v}" for k, v in settings.items() if k != "random_like")
        lines.append(f"- {start}: {shown}")
    machines = results.get("machines", [m])
    describe = lambda x: (f"{x['cpu']}, {x['cores']} cores, torch {x['torch']}, GPU: {x['gpu'] or 'none'}, "  # noqa: E731
                          f"load average at start {x['load_average_at_start']:.1f}")
    if len({describe(x).split(', load')[0] for x in machines}) == 1:
        lines += ["",
                  f"Machine: {m['cpu']}, {m['cores']} cores, torch {m['torch']}, GPU: {m['gpu'] or 'none'}; "
                  f"{results.get('workers', 1)} worker processes with one thread each; load average at start "
                  + ", ".join(f"{x['load_average_at_start']:.1f}" for x in machines)
                  + f" (the machine was shared); wall time {results['total_seconds'] / 60:.1f} min. "
                  f"Course checkpoint: `{results['course_checkpoint']}`{_digest_note(results)}.", ""]
    else:                # appended invocations on different machines: say which ran what
        lines += ["", "Machines, by invocation (a row comes from the last invocation that ran its starting "
                  "point; each worker process has one thread):", ""]
        lines += [f"- `{cmd}`: {describe(x)}" for cmd, x in zip(results.get("commands", []), machines)]
        lines += ["", f"Wall time {results['total_seconds'] / 60:.1f} min in all. "
                  f"Course checkpoint: `{results['course_checkpoint']}`{_digest_note(results)}.", ""]
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
    ax.minorticks_off()                                      # only the measured sizes are labelled
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
    if out.resolve() == RESULTS.resolve():               # the committed results: ship a copy in the package
        copy_path = shipped_results.path(NAME)
        copy_path.write_text(json.dumps(results, indent=1) + "\n")
        print(f"wrote {copy_path} (what notebook 05 shows where only encoder_lib is installed)")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--task", default="supersense", choices=supersense.TASKS)
    parser.add_argument("--sizes", type=int, nargs="+", default=[500, 2000, 8000])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--starts", nargs="+", default=list(STARTS), choices=list(STARTS), metavar="START",
                        help=f"starting points to run (default: all of {list(STARTS)})")
    parser.add_argument("--steps-scale", type=float, default=1.0, help="multiply every run's step budget")
    parser.add_argument("--max-epochs", type=int, default=30)
    parser.add_argument("--workers", type=int, default=2, help="runs in parallel, one thread each")
    parser.add_argument("--max-length", type=int, default=48)
    parser.add_argument("--dev-size", type=int, default=300, help="dev items for early stopping")
    parser.add_argument("--test-size", type=int, default=1000, help="test items scored")
    parser.add_argument("--course", default="course",
                        help="the course checkpoint: 'course' (shipped) or a model folder")
    parser.add_argument("--out", type=Path, default=None,
                        help="output folder (default: bench/results, or runs/compare_quick with --quick)")
    parser.add_argument("--append", action="store_true",
                        help="add these runs to the results already in --out (same task, dev and test sets)")
    parser.add_argument("--quick", action="store_true", help="tiny sizes, one seed: a trial of the pipeline")
    parser.add_argument("--render", action="store_true", help="only remake the table and plots from the JSON")
    args = parser.parse_args(argv)
    args.out = args.out or (Path("runs/compare_quick") if args.quick else RESULTS)
    if args.render:
        write_outputs(json.loads((args.out / f"{NAME}.json").read_text()), args.out)
        return 0
    if args.quick:
        args.sizes, args.seeds, args.steps_scale, args.dev_size, args.test_size = [100, 200], [0, 1], 0.05, 100, 200
    results = run_all(args)
    if args.append:
        results = merge(json.loads((args.out / f"{NAME}.json").read_text()), results)
    write_outputs(results, args.out)
    print(render_markdown(results))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
