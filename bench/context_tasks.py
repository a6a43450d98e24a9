"""Notebook 06's numbers: layer-wise probes and word-in-context fine-tuning per starting point.

    python bench/context_tasks.py [--starts course,random,minilm] [--probe-pairs 3000]
                                  [--train-pairs 4000] [--epochs 2] [--out bench/results/...]
    make bench-context

For each starting point (the course checkpoint, the same architecture at random
initialisation, the real pre-trained all-MiniLM-L6-v2):

1. a linear probe per layer H^0 .. H^L on the frozen encoder, for word-in-context
   (pair features of the two targets) and for the target's supersense, trained on the
   first ``--probe-pairs`` train pairs' sentences, tested on every test pair (lemmas
   never seen in training);
2. word-in-context fine-tuning (encoder + TokenPairHead, part 3's loop with the
   defaults of ``WicConfig``: early stopping on 256 dev pairs) on the first
   ``--train-pairs`` train pairs, test accuracy on every test pair;

with the chance (majority-class) baselines. Writes a JSON file and a text table with
the machine; a starting point that cannot be loaded (the course checkpoint before it
is shipped) is reported as skipped. The results are saved after each starting point.
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
from encoder_lib.device import describe_device, get_device  # noqa: E402
from encoder_lib.pretrained import course_checkpoint_dir, weights_digest  # noqa: E402


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    return (f"{describe_device()}; {os.cpu_count()} CPU cores ({cpu}); torch {torch.__version__} "
            f"with {torch.get_num_threads()} threads; Python {platform.python_version()}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--starts", default=",".join(ct.STARTING_POINTS))
    parser.add_argument("--probe-pairs", type=int, default=3000)
    parser.add_argument("--train-pairs", type=int, default=4000)
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default=str(REPO / "bench" / "results" / f"context_tasks_{time.strftime('%Y-%m-%d')}"))
    args = parser.parse_args(argv)

    t0 = time.perf_counter()
    data = ct.probe_data(train_pairs=args.probe_pairs)
    chance = ct.chance_levels(data)
    sizes = wic.sizes()
    config = ct.WicConfig(train_pairs=args.train_pairs, epochs=args.epochs, seed=args.seed)
    report = {"machine": machine(), "course_weights_sha256": weights_digest(course_checkpoint_dir()),
              "wic_sizes": sizes, "chance": chance,
              "probe": {"train_pairs": len(data.train_pairs), "test_pairs": len(data.test_pairs),
                        "train_sentences": len(data.train_sentences),
                        "test_sentences": len(data.test_sentences)},
              "finetune_config": vars(config), "starts": {}}
    print(report["machine"])
    print(f"word-in-context pairs: {sizes}")
    print(f"chance (majority class): word-in-context {chance['wic']:.3f}, supersense {chance['supersense']:.3f}")
    for name in args.starts.split(","):
        try:
            encoder, tokenizer = ct.starting_point(name, seed=args.seed, device=get_device())
        except Exception as e:                                     # noqa: BLE001 - reported, not fatal
            print(f"{name}: skipped ({type(e).__name__}: {e})")
            report["starts"][name] = {"skipped": f"{type(e).__name__}: {e}"}
            continue
        torch.manual_seed(args.seed)
        layers, probe_s = ct.timed(ct.probe_encoder, encoder, tokenizer, data)
        (model, losses), tune_s = ct.timed(ct.finetune_wic, encoder, tokenizer, config)
        acc, eval_s = ct.timed(ct.evaluate_wic, model, tokenizer, "test")
        entry = {"probe_wic": layers["wic"], "probe_supersense": layers["supersense"],
                 "finetuned_wic_test": acc, "first_loss": losses[0], "last_loss": sum(losses[-10:]) / len(losses[-10:]),
                 "seconds": {"probe": probe_s, "finetune": tune_s, "evaluate": eval_s}}
        report["starts"][name] = entry
        print(f"{name}: probe word-in-context per layer {[round(a, 3) for a in layers['wic']]}")
        print(f"{name}: probe supersense per layer      {[round(a, 3) for a in layers['supersense']]}")
        print(f"{name}: fine-tuned word-in-context test accuracy {acc:.3f} "
              f"(loss {entry['first_loss']:.3f} -> {entry['last_loss']:.3f}; "
              f"{probe_s:.0f} s probes, {tune_s:.0f} s fine-tuning, {eval_s:.0f} s evaluation)")
        save(report, args.out)                                     # after each start: nothing is lost
    report["total_seconds"] = time.perf_counter() - t0
    print(f"total {report['total_seconds']:.0f} s")
    print(f"wrote {save(report, args.out)}")
    return 0


def save(report: dict, out: str) -> Path:
    path = Path(out).with_suffix(".json")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(report, indent=1) + "\n")
    return path


if __name__ == "__main__":
    raise SystemExit(main())
