"""Encoder speed: ours against Hugging Face ``transformers.BertModel`` with the same
config and weights, in one process.

For each config (the MiniLM one with the real weights, and a BERT-base-sized one with
random weights) and each batch x length shape, it times inference (no_grad forward)
and a training step (forward + backward) for both models, interleaved, and prints
throughput in tokens/s and the ratio ours/theirs (> 1 means ours is faster).
fp32 on the CPU, bf16 autocast on CUDA. Batches are padded as real ones are: a
quarter of the rows are cut to 60 % of the length.

    python bench/encoder_speed.py                 # default shapes for the device
    python bench/encoder_speed.py --compile       # ours through torch.compile, HF eager
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from encoder_lib import load_pretrained                              # noqa: E402
from encoder_lib.device import precision_policy, seed_everything      # noqa: E402
from encoder_lib.model import Encoder, EncoderConfig, ours_to_bert   # noqa: E402

BASE = EncoderConfig(hidden_size=768, num_layers=12, num_heads=12, intermediate_size=3072)
SHAPES = {"cpu": [(8, 64), (8, 128), (32, 128)],
          "cuda": [(32, 128), (64, 256), (16, 512)]}


def hf_twin(ours: Encoder):
    """A transformers BertModel holding exactly ``ours``'s weights (SDPA attention)."""
    import transformers

    cfg = ours.config.to_bert_config()
    bert_cfg = transformers.BertConfig(**{k: v for k, v in cfg.items() if k not in ("model_type", "architectures")})
    bert_cfg._attn_implementation = "sdpa"
    theirs = transformers.BertModel(bert_cfg, add_pooling_layer=False)
    missing, unexpected = theirs.load_state_dict(ours_to_bert(ours), strict=False)
    assert not [m for m in missing if "position_ids" not in m] and not unexpected, (missing, unexpected)
    return theirs


def make_batch(batch: int, seq: int, vocab: int, device) -> tuple[torch.Tensor, torch.Tensor]:
    ids = torch.randint(1000, vocab, (batch, seq), device=device)
    mask = torch.ones(batch, seq, dtype=torch.long, device=device)
    mask[: max(1, batch // 4), int(seq * 0.6):] = 0
    return ids, mask


def timed(fn, device, repeats: int) -> float:
    """Median seconds of ``fn()`` over ``repeats`` runs."""
    times = []
    for _ in range(repeats):
        if device.type == "cuda":
            torch.cuda.synchronize()
        start = time.perf_counter()
        fn()
        if device.type == "cuda":
            torch.cuda.synchronize()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def step_fns(model, ids, mask, policy, train: bool, hf: bool):
    def forward():
        with policy.autocast():
            if hf:
                return model(input_ids=ids, attention_mask=mask).last_hidden_state
            return model(ids, attention_mask=mask).last_hidden_state

    def infer():
        with torch.no_grad():
            forward()

    def train_step():
        forward().float().pow(2).mean().backward()

    return train_step if train else infer


def bench_pair(name, ours, theirs, shapes, policy, repeats, warmup):
    device = policy.device
    rows = []
    for batch, seq in shapes:
        ids, mask = make_batch(batch, seq, ours.config.vocab_size, device)
        for mode in ("inference", "train step"):
            train = mode == "train step"
            ours.train(train), theirs.train(train)
            f_ours = step_fns(ours, ids, mask, policy, train, hf=False)
            f_theirs = step_fns(theirs, ids, mask, policy, train, hf=True)
            for _ in range(warmup):
                f_ours(), f_theirs()
            t_ours, t_theirs = [], []
            for _ in range(3):   # interleave so drift hits both alike
                t_ours.append(timed(f_ours, device, repeats))
                t_theirs.append(timed(f_theirs, device, repeats))
            t_o, t_t = min(t_ours), min(t_theirs)
            tokens = batch * seq
            rows.append((name, f"{batch}x{seq}", mode, tokens / t_o, tokens / t_t, t_t / t_o))
            print(f"{name:<10} {batch:>4}x{seq:<4} {mode:<11} {tokens / t_o:>12,.0f} {tokens / t_t:>12,.0f} "
                  f"{t_t / t_o:>7.2f}x", flush=True)
            for p in list(ours.parameters()) + list(theirs.parameters()):
                p.grad = None
    return rows


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--device", default=None, help="cpu or cuda (default: cuda if present)")
    parser.add_argument("--repeats", type=int, default=None, help="timed runs per measurement")
    parser.add_argument("--compile", action="store_true",
                        help="run ours through torch.compile (the reference stays eager, as users run it)")
    parser.add_argument("--configs", default="minilm,base", help="comma-separated: minilm, base")
    parser.add_argument("--shapes", default=None, help="e.g. 8x64,32x128 (default depends on device)")
    args = parser.parse_args(argv)

    seed_everything(0)
    policy = precision_policy(args.device)
    device = policy.device
    shapes = ([tuple(int(x) for x in s.split("x")) for s in args.shapes.split(",")]
              if args.shapes else SHAPES[device.type])
    repeats = args.repeats or (10 if device.type == "cuda" else 3)
    warmup = 3 if device.type == "cuda" else 1
    torch.backends.cuda.matmul.allow_tf32 = True
    torch.backends.cudnn.allow_tf32 = True

    gpu = torch.cuda.get_device_name(device) if device.type == "cuda" else f"CPU, {torch.get_num_threads()} threads"
    print(f"encoder speed: ours vs transformers.BertModel (sdpa) | {gpu} | {policy.name} | torch {torch.__version__}"
          + (" | ours torch.compile'd, HF eager" if args.compile else ""))
    print(f"{'config':<10} {'shape':>9} {'mode':<11} {'ours tok/s':>12} {'HF tok/s':>12} {'ratio':>8}")
    all_rows = []
    for name in args.configs.split(","):
        if name == "minilm":
            ours, _ = load_pretrained(device="cpu")
        elif name == "base":
            ours = Encoder(BASE)
        else:
            parser.error(f"unknown config {name!r}")
        theirs = hf_twin(ours)
        ours, theirs = ours.to(device), theirs.to(device)
        if args.compile:
            config = ours.config
            ours = torch.compile(ours)
            ours.config = config
        all_rows += bench_pair(name, ours, theirs, shapes, policy, repeats, warmup)
        del ours, theirs
    worst = min(r[-1] for r in all_rows)
    print(f"lowest ratio: {worst:.2f}x ({'no row below 1.0' if worst >= 1.0 else 'some rows below 1.0'})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
