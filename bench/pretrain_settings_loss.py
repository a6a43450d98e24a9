"""Does a pre-training speed setting change what the model learns? The course preset,
shortened to the same number of steps for every variant, trained once per variant and
seed; prints the held-out MLM loss at every evaluation, the masked-token accuracy, the
run's seconds and its median step time and real tokens per second.

Variants (PretrainConfig overrides on the course preset):
  today       the defaults (dropout 0.1, every row gathered, eager unless --compile)
  no-dropout  dropout 0 (Cramming and ModernBERT pre-train without it)
  fast        dropout 0, fixed-size head (0.2), vocabulary padded to 64, no biases
              (+ the whole model compiled when --compile is given)

    python bench/pretrain_settings_loss.py --max-steps 1450 --eval-every 290 --compile   # a GPU, ~40 s a run
    python bench/pretrain_settings_loss.py --variants today,no-dropout --max-steps 100 --eval-every 50
"""
from __future__ import annotations

import argparse
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from encoder_lib.pretrain import preset, train        # noqa: E402

VARIANTS = {
    "today": {},
    "no-dropout": {"dropout": 0.0},
    "fast": {"dropout": 0.0, "fixed_mlm_rows": 0.2, "vocab_multiple": 64, "linear_bias": False},
}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--variants", default="today,no-dropout,fast")
    parser.add_argument("--seeds", default="0", help="comma-separated seeds (each variant runs once per seed)")
    parser.add_argument("--max-steps", type=int, default=1450)
    parser.add_argument("--warmup-steps", type=int, default=None, help="default: the preset's share of the steps")
    parser.add_argument("--eval-every", type=int, default=290)
    parser.add_argument("--compile", action="store_true", help="torch.compile the whole model in every variant")
    parser.add_argument("--device", default=None)
    parser.add_argument("--out", default="runs/settings_loss", help="a folder of run folders")
    args = parser.parse_args(argv)
    course = preset("course")
    warmup = args.warmup_steps if args.warmup_steps is not None else round(
        course.warmup_steps * args.max_steps / course.max_steps)
    print(f"course preset, {args.max_steps} steps (warm-up {warmup}), batch {course.batch_size}, lr {course.lr}, "
          f"held-out set of {course.heldout_sentences} dev sentences (seed {course.heldout_seed})"
          + (", whole model compiled" if args.compile else ""), flush=True)
    rows = []
    for seed in (int(s) for s in args.seeds.split(",")):
        for name in args.variants.split(","):
            config = preset("course", max_steps=args.max_steps, warmup_steps=warmup, eval_every=args.eval_every,
                            checkpoint_every=args.max_steps, seed=seed, device=args.device,
                            compile=args.compile, out_dir=f"{args.out}/{name}_seed{seed}", **VARIANTS[name])
            summary = train(config, progress=False)
            history = summary["history"]
            steps = history["train"][5:] or history["train"]          # leave out the first (compiling)
            tok_s = statistics.median(r["tokens_per_s"] for r in steps)
            evals = " ".join(f"{e['step']}:{e['loss']:.3f}" for e in history["eval"])
            last = history["eval"][-1]
            rows.append((name, seed, last["loss"], last["accuracy"]))
            print(f"{name:<11} seed {seed}  held-out loss {evals}  accuracy {last['accuracy']:.3f}  "
                  f"{summary['seconds']:.0f} s  median {tok_s:,.0f} real tok/s  ({history['run']['machine']}, "
                  f"{history['run']['precision']})", flush=True)
    print("final held-out loss by variant (mean over seeds):")
    for name in args.variants.split(","):
        losses = [r[2] for r in rows if r[0] == name]
        spread = f" (min {min(losses):.3f}, max {max(losses):.3f})" if len(losses) > 1 else ""
        print(f"  {name:<11} {statistics.mean(losses):.3f}{spread}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
