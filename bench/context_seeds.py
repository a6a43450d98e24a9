"""Notebook 06's word-in-context fine-tuning over several seeds: the spread a student's
single run is read against.

    python bench/context_seeds.py [--starts course,random] [--seeds 1,2] [--train-pairs 4000]
                                  [--epochs 2] [--from-bench bench/results/context_tasks_<date>.json]

Each (starting point, seed) fine-tunes a fresh copy of the encoder with a TokenPairHead
(``encoder_lib.context_tasks.finetune_wic``, ``WicConfig(train_pairs, epochs, seed)``; the
random starting point is initialised with that seed too) and scores every test pair.
``--from-bench`` adds the runs of a ``bench/context_tasks.py`` report made with the same
settings (its seed). Writes bench/results/context_seeds_<date>.json and the copy that
encoder_lib ships (encoder_lib/results/context_tasks.json), which notebook 06 shows beside
the student's run.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

import torch  # noqa: E402

from encoder_lib import context_tasks as ct  # noqa: E402
from encoder_lib.data import wic  # noqa: E402
from encoder_lib.device import cpu_name, get_device  # noqa: E402
from encoder_lib.pretrained import course_checkpoint_dir, weights_digest  # noqa: E402
from encoder_lib.results import path as shipped_path  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--starts", default="course,random")
    parser.add_argument("--seeds", default="1,2")
    parser.add_argument("--train-pairs", type=int, default=4000)
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--from-bench", type=Path, help="a bench/context_tasks.py report with the same settings")
    parser.add_argument("--out", type=Path,
                        default=REPO / "bench" / "results" / f"context_seeds_{time.strftime('%Y-%m-%d')}.json")
    args = parser.parse_args(argv)
    t0 = time.perf_counter()
    report = {"machine": f"{cpu_name()}, {os.cpu_count()} CPU cores, torch {torch.__version__} with "
                         f"{torch.get_num_threads()} threads, Python {platform.python_version()}; "
                         f"load average at the start {os.getloadavg()[0]:.2f}",
              "command": "python bench/context_seeds.py " + " ".join(argv if argv is not None else sys.argv[1:]),
              "course_weights_sha256": weights_digest(course_checkpoint_dir()),
              "finetune": {"train_pairs": args.train_pairs, "epochs": args.epochs},
              "test_pairs": wic.sizes()["test"]["pairs"], "seeds": {}, "finetuned_wic_test": {}, "seconds": {}}
    if args.from_bench:
        bench = json.loads(args.from_bench.read_text())
        cfg = bench["finetune_config"]
        if (cfg["train_size"], cfg["epochs"]) != (args.train_pairs, args.epochs):
            raise SystemExit(f"{args.from_bench} used {cfg['train_size']} pairs x {cfg['epochs']} epochs, "
                             f"not {args.train_pairs} x {args.epochs}")
        if bench["course_weights_sha256"] != report["course_weights_sha256"]:
            raise SystemExit(f"{args.from_bench} used other course-checkpoint weights")
        for name, entry in bench["starts"].items():
            if "finetuned_wic_test" in entry:
                report["seeds"].setdefault(name, []).append(cfg["seed"])
                report["finetuned_wic_test"].setdefault(name, []).append(entry["finetuned_wic_test"])
        report["from_bench"] = str(args.from_bench.relative_to(REPO) if args.from_bench.is_absolute()
                                   else args.from_bench)
    for seed in [int(s) for s in args.seeds.split(",") if s]:
        for name in args.starts.split(","):
            encoder, tokenizer = ct.starting_point(name, seed=seed, device=get_device())
            torch.manual_seed(seed)
            config = ct.WicConfig(train_pairs=args.train_pairs, epochs=args.epochs, seed=seed, progress=False)
            (model, _), seconds = ct.timed(ct.finetune_wic, encoder, tokenizer, config)
            accuracy = ct.evaluate_wic(model, tokenizer, "test")
            report["seeds"].setdefault(name, []).append(seed)
            report["finetuned_wic_test"].setdefault(name, []).append(accuracy)
            report["seconds"][f"{name}/{seed}"] = round(seconds, 1)
            print(f"{name} seed {seed}: test accuracy {accuracy:.3f} ({seconds:.0f} s)", flush=True)
    report["total_seconds"] = round(time.perf_counter() - t0, 1)
    for name, (mean, sd, n) in ct.committed_finetune_summary(report).items():
        print(f"{name:7s} mean {100 * mean:.1f} %, sd {100 * sd:.1f} over {n} seeds")
    text = json.dumps(report, indent=1) + "\n"
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text)
    shipped_path("context_tasks").write_text(text)
    print(f"wrote {args.out} and {shipped_path('context_tasks')}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
