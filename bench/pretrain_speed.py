"""Pre-training step speed: ours against Hugging Face ``transformers.BertForMaskedLM``
with the same config and weights, in one process.

One step = forward with masked-LM labels, backward, gradient clipping and an AdamW
step, on a batch of full-length sequences with 15 % of the tokens selected (BERT's
80/10/10 rule). Ours gathers the selected rows before the vocabulary projection and
uses fused AdamW on CUDA; HF projects every position (its default SDPA attention,
torch's default AdamW). The two are timed interleaved, and the ratio ours/theirs is
printed (> 1: ours is faster). fp32 on the CPU, bf16 autocast on CUDA.

On CUDA it also prints model FLOPs utilisation: FLOPs per token
= 6 * (12 L d^2 + d^2 + 0.15 * d V)  (matmuls: layers, the head's transform, the
  vocabulary projection at the selected 15 % only, forward + backward)
  + 12 L s d                         (attention scores and mixing, forward + backward),
divided by the GPU's dense bf16 peak (printed). The same count is used for both
models, so HF's extra projection work counts as waste, not as useful FLOPs.

    python bench/pretrain_speed.py                      # course + bert-base at seq 128
    python bench/pretrain_speed.py --configs course --steps 5
    python bench/pretrain_speed.py --compile --configs bert-base --batch 64,128,256
    python bench/pretrain_speed.py --compile --configs bert-base --batch 256 --profile

``--compile`` compiles our encoder layers and output layer (``nn.Module.compile``; the
gather of the selected rows stays eager) and leaves HF as users run it, eager.
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from encoder_lib.data.masking import mask_tokens                     # noqa: E402
from encoder_lib.device import precision_policy, seed_everything     # noqa: E402
from encoder_lib.model import EncoderForMaskedLM, ours_to_bert       # noqa: E402
from encoder_lib.pretrain import preset                              # noqa: E402
from encoder_lib.pretrain.train import param_groups                  # noqa: E402

SEQ = 128
BATCH = {"cpu": {"course": 32, "bert-base": 8}, "cuda": {"course": 256, "bert-base": 64}}
# dense bf16 (fp16 on T4) tensor-core peaks, FLOP/s, by a substring of the device name
PEAKS = {"H200": 989e12, "H100": 989e12, "A100": 312e12, "L4": 121e12, "A10": 125e12, "T4": 65e12}


def hf_twin(ours: EncoderForMaskedLM):
    """transformers.BertForMaskedLM holding exactly ``ours``'s weights (tied decoder)."""
    import transformers

    cfg = ours.config.to_bert_config()
    bert_cfg = transformers.BertConfig(**{k: v for k, v in cfg.items() if k not in ("model_type", "architectures")})
    bert_cfg._attn_implementation = "sdpa"
    theirs = transformers.BertForMaskedLM(bert_cfg)
    state = {f"bert.{k}": v for k, v in ours_to_bert(ours.encoder).items()}
    head = ours.mlm_head
    state.update({"cls.predictions.transform.dense.weight": head.dense.weight.detach().clone(),
                  "cls.predictions.transform.dense.bias": head.dense.bias.detach().clone(),
                  "cls.predictions.transform.LayerNorm.weight": head.layer_norm.weight.detach().clone(),
                  "cls.predictions.transform.LayerNorm.bias": head.layer_norm.bias.detach().clone(),
                  "cls.predictions.bias": head.bias.detach().clone()})
    missing, unexpected = theirs.load_state_dict(state, strict=False)
    missing = [m for m in missing if "position_ids" not in m and m not in (
        "cls.predictions.decoder.weight", "cls.predictions.decoder.bias")]
    assert not missing and not unexpected, (missing, unexpected)
    theirs.tie_weights()
    return theirs


def flops_per_token(cfg, seq: int, mlm_probability: float = 0.15) -> float:
    d, L, V = cfg.hidden_size, cfg.num_layers, cfg.vocab_size
    matmul = L * (4 * d * d + 2 * d * cfg.intermediate_size) + d * d + mlm_probability * d * V
    return 6 * matmul + 12 * L * seq * d


def make_step(model, optimizer, batch, policy, hf: bool):
    ids, mask, labels = batch

    def step():
        with policy.autocast():
            if hf:
                loss = model(input_ids=ids, attention_mask=mask, labels=labels).loss
            else:
                loss = model(ids, mask, labels=labels).loss
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)

    return step


def timed(fn, device) -> float:
    if device.type == "cuda":
        torch.cuda.synchronize()
    start = time.perf_counter()
    fn()
    if device.type == "cuda":
        torch.cuda.synchronize()
    return time.perf_counter() - start


def bench(name: str, batch_size: int, policy, steps: int, warmup: int, compile: bool = False,
          profile: bool = False) -> tuple | None:
    device = policy.device
    cfg = preset(name, max_position=max(SEQ, preset(name).max_position),
                 max_length=SEQ).encoder_config()
    ours = EncoderForMaskedLM(cfg).to(device)
    theirs = hf_twin(ours).to(device)
    if compile:                                  # after the twin copied the weights
        for layer in ours.encoder.layers:
            layer.compile()
        ours.mlm_head.compile()
    ours.train(), theirs.train()
    opt_ours = torch.optim.AdamW(param_groups(ours, 0.01), lr=1e-4, fused=device.type == "cuda")
    opt_theirs = torch.optim.AdamW(param_groups(theirs, 0.01), lr=1e-4)
    ids = torch.randint(1000, cfg.vocab_size, (batch_size, SEQ))
    ids[:, 0], ids[:, -1] = 101, 102
    special = (ids == 101) | (ids == 102)
    masked, labels = mask_tokens(ids, special, mask_token_id=103, vocab_size=cfg.vocab_size,
                                 generator=torch.Generator().manual_seed(0))
    batch = tuple(t.to(device) for t in (masked, torch.ones_like(ids), labels))
    f_ours = make_step(ours, opt_ours, batch, policy, hf=False)
    f_theirs = make_step(theirs, opt_theirs, batch, policy, hf=True)
    if profile:
        return profile_steps(f_ours, device)
    for _ in range(warmup):
        f_ours(), f_theirs()
    t_ours, t_theirs = [], []
    for _ in range(steps):                       # interleaved, so load drift hits both alike
        t_ours.append(timed(f_ours, device))
        t_theirs.append(timed(f_theirs, device))
    t_o, t_t = statistics.median(t_ours), statistics.median(t_theirs)
    tokens = batch_size * SEQ
    fpt = flops_per_token(cfg, SEQ)
    row = [name, f"{batch_size}x{SEQ}", tokens / t_o, tokens / t_t, t_t / t_o, fpt]
    line = (f"{name:<10} {batch_size:>4}x{SEQ:<4} {tokens / t_o:>12,.0f} {tokens / t_t:>12,.0f} "
            f"{t_t / t_o:>7.2f}x {fpt / 1e6:>10.1f}")
    peak = peak_flops(device)
    if peak:
        line += f" {100 * fpt * tokens / t_o / peak:>8.1f}% {100 * fpt * tokens / t_t / peak:>7.1f}%"
    print(line, flush=True)
    return tuple(row)


def profile_steps(step, device, n: int = 5) -> None:
    """Print where ``n`` steps (after 5 warm-up steps) spend their time, kernel by kernel."""
    from torch.profiler import ProfilerActivity, profile

    for _ in range(5):
        step()
    activities = [ProfilerActivity.CPU] + ([ProfilerActivity.CUDA] if device.type == "cuda" else [])
    with profile(activities=activities) as prof:
        for _ in range(n):
            step()
        if device.type == "cuda":
            torch.cuda.synchronize()
    key = "cuda_time_total" if device.type == "cuda" else "cpu_time_total"
    print(prof.key_averages().table(sort_by=key, row_limit=25, max_name_column_width=60))


def peak_flops(device) -> float | None:
    if device.type != "cuda":
        return None
    name = torch.cuda.get_device_name(device)
    return next((v for k, v in PEAKS.items() if k in name), None)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--device", default=None, help="cpu or cuda (default: cuda if present)")
    parser.add_argument("--configs", default="course,bert-base", help="comma-separated presets")
    parser.add_argument("--steps", type=int, default=None, help="timed steps per model")
    parser.add_argument("--batch", default=None,
                        help="sequences per step, or a comma-separated list (default per device and model)")
    parser.add_argument("--compile", action="store_true", help="torch.compile our layers and head (HF eager)")
    parser.add_argument("--profile", action="store_true",
                        help="instead of timing: torch.profiler's table of the kernels of 5 of our steps")
    args = parser.parse_args(argv)
    seed_everything(0)
    policy = precision_policy(args.device)
    device = policy.device
    torch.backends.cuda.matmul.allow_tf32 = True
    steps = args.steps or (20 if device.type == "cuda" else 5)
    where = (torch.cuda.get_device_name(device) if device.type == "cuda"
             else f"CPU, {torch.get_num_threads()} threads")
    peak = peak_flops(device)
    print(f"pre-training step: ours (EncoderForMaskedLM) vs transformers.BertForMaskedLM (sdpa) | {where} | "
          f"{policy.name} | torch {torch.__version__}"
          + (f" | peak {peak / 1e12:.0f} TFLOP/s (dense bf16)" if peak else "")
          + (" | ours torch.compile'd, HF eager" if args.compile else ""))
    print(f"{'config':<10} {'shape':>9} {'ours tok/s':>12} {'HF tok/s':>12} {'ratio':>8} {'MFLOP/tok':>10}"
          + (f" {'MFU ours':>9} {'MFU HF':>7}" if peak else ""))
    rows = []
    for name in args.configs.split(","):
        batches = [int(b) for b in args.batch.split(",")] if args.batch else [BATCH[device.type][name]]
        for batch in batches:
            row = bench(name, batch, policy, steps, warmup=3 if device.type == "cuda" else 1,
                        compile=args.compile, profile=args.profile)
            if row:
                rows.append(row)
    course = [r for r in rows if r[0] == "course"]
    if course:
        print(f"course step ratio, lowest row: {min(r[4] for r in course):.2f}x (target >= 1.5x)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
