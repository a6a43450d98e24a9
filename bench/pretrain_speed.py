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

``--settings`` instead times the pre-training speed settings of ``PretrainConfig``
(encoder_lib/pretrain/speed.py), one configuration and batch, a row per setting:
today's step (eager), the layers compiled, the whole model compiled with the fixed-size
head (one graph), then each setting on top of that (no dropout, vocabulary padded to 64,
no biases, AdamW foreach instead of fused, max-autotune, CUDA graphs), all of them
together, and BertForMaskedLM compiled the same way. Each row says how many graphs and
graph breaks torch.compile made. Then the attention kernels (flash, cuDNN,
memory-efficient, math) on the same shape, forward + backward, and for the fastest row
the profile's split of a step (matrix products, attention, the rest: elementwise and
reductions, optimizer) with the FLOP count and the peak used for MFU:

    python bench/pretrain_speed.py --settings --configs bert-base --batch 256
    python bench/pretrain_speed.py --settings --configs course --batch 8 --seq 64 --threads 2   # a CPU
"""
from __future__ import annotations

import argparse
import math
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
from encoder_lib.pretrain.speed import adamw_options, attention_kernels, compile_model  # noqa: E402
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


# --- --settings: one row per pre-training speed setting --------------------------------

FIXED_ROWS = 0.2        # fixed-size head's share of the positions; settings_step sets it from the batch's size
WHOLE = dict(compile=True, fixed_mlm_rows=FIXED_ROWS)
FAST = dict(WHOLE, dropout=0.0, vocab_multiple=64, linear_bias=False)
# (label, PretrainConfig overrides, compile scope: None, "layers" or "model", needs CUDA)
SETTINGS = [
    ("today: eager (course defaults)", {}, None, False),
    ("layers compiled (--compile)", {}, "layers", False),
    ("whole model, fixed-size head", WHOLE, "model", False),
    ("  + no dropout", dict(WHOLE, dropout=0.0), "model", False),
    ("  + vocabulary padded to 64", dict(WHOLE, vocab_multiple=64), "model", False),
    ("  + no biases", dict(WHOLE, linear_bias=False), "model", False),
    ("  - fused AdamW (foreach)", dict(WHOLE, adamw="foreach"), "model", False),
    ("  + CUDA graphs", dict(WHOLE, compile_mode="reduce-overhead"), "model", True),
    ("all on: no dropout, vocab 64, no biases", FAST, "model", False),
    ("all on + CUDA graphs", dict(FAST, compile_mode="reduce-overhead"), "model", True),
    ("all on + max-autotune", dict(FAST, compile_mode="max-autotune-no-cudagraphs"), "model", True),
]


def fixed_share(positions: int, p: float = 0.15) -> float:
    """The fixed-size head's share of ``positions``: the mean number of selected rows plus six
    standard deviations, rounded up to a hundredth (0.17 at 256 x 128, 0.25 at 8 x 64), so a
    batch practically never has more selected rows than the head takes."""
    return min(1.0, math.ceil(100 * (p + 6 * math.sqrt(p * (1 - p) / positions))) / 100)


def settings_step(name: str, overrides: dict, scope: str | None, batch_size: int, seq: int, policy):
    """(step function, model, config) for one row: our model built from the preset with
    ``overrides``, its optimizer, and a masked full-length batch (no padding, so no
    attention mask: the flash kernel applies)."""
    device = policy.device
    if overrides.get("fixed_mlm_rows"):
        overrides = dict(overrides, fixed_mlm_rows=fixed_share(batch_size * seq))
    config = preset(name, max_position=max(seq, preset(name).max_position), max_length=seq, **overrides)
    torch.manual_seed(0)
    model = EncoderForMaskedLM(config.encoder_config()).to(device).train()
    optimizer = torch.optim.AdamW(param_groups(model, 0.01), lr=1e-4, **adamw_options(config, device))
    if scope == "layers":
        for layer in model.encoder.layers:
            layer.compile(mode=config.compile_mode)
        model.mlm_head.compile(mode=config.compile_mode)
    step_model = compile_model(model, config) if scope == "model" else model
    ids, labels = _masked_batch(batch_size, seq, model.config.vocab_size)
    ids, labels = ids.to(device), labels.to(device)
    k = config.predicted_rows(ids.numel())

    def step():
        with policy.autocast(), attention_kernels(config):
            loss = step_model(ids, None, labels=labels, num_predictions=k).loss
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)

    return step, model, config


def _masked_batch(batch_size: int, seq: int, vocab_size: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Full-length rows [CLS] ... [SEP] with BERT's masking: (masked ids, labels), (batch, seq)."""
    ids = torch.randint(1000, vocab_size, (batch_size, seq), generator=torch.Generator().manual_seed(1))
    ids[:, 0], ids[:, -1] = 101, 102
    return mask_tokens(ids, (ids == 101) | (ids == 102), mask_token_id=103, vocab_size=vocab_size,
                       generator=torch.Generator().manual_seed(0))


def hf_compiled_step(name: str, batch_size: int, seq: int, policy, mode: str):
    """BertForMaskedLM (same config, dropout 0.1 as BERT) through torch.compile in ``mode``."""
    device = policy.device
    cfg = preset(name, max_position=max(seq, preset(name).max_position), max_length=seq).encoder_config()
    torch.manual_seed(0)
    theirs = hf_twin(EncoderForMaskedLM(cfg)).to(device).train()
    optimizer = torch.optim.AdamW(param_groups(theirs, 0.01), lr=1e-4, fused=device.type == "cuda")
    compiled = torch.compile(theirs, mode=mode)
    ids, labels = _masked_batch(batch_size, seq, cfg.vocab_size)
    ids, labels, mask = ids.to(device), labels.to(device), torch.ones_like(ids).to(device)

    def step():
        with policy.autocast():
            loss = compiled(input_ids=ids, attention_mask=mask, labels=labels).loss
        loss.backward()
        torch.nn.utils.clip_grad_norm_(theirs.parameters(), 1.0)
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)

    return step, cfg


def time_row(step, device, steps: int, warmup: int) -> dict:
    """Median step seconds after ``warmup`` steps (the first compiles), compile counts and peak memory."""
    from torch._dynamo.utils import counters

    counters.clear()
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)
    start = time.perf_counter()
    for _ in range(warmup):
        step()
    if device.type == "cuda":
        torch.cuda.synchronize()
    first = time.perf_counter() - start
    times = [timed(step, device) for _ in range(steps)]
    peak_mem = torch.cuda.max_memory_allocated(device) / 2**30 if device.type == "cuda" else None
    return {"seconds": statistics.median(times), "warmup_s": first, "peak_mem_gib": peak_mem,
            "graphs": counters["stats"]["unique_graphs"], "breaks": sum(counters["graph_break"].values())}


def attention_kernels_table(cfg, batch_size: int, seq: int, policy, steps: int) -> None:
    """Forward + backward of scaled_dot_product_attention alone at the model's shape, per kernel."""
    from encoder_lib.model.attention import sdpa_backend

    device = policy.device
    dtype = policy.autocast_dtype or torch.float32
    shape = (batch_size, cfg.num_heads, seq, cfg.head_dim)
    q, k, v = (torch.randn(shape, device=device, dtype=dtype, requires_grad=True) for _ in range(3))
    grad = torch.randn(shape, device=device, dtype=dtype)
    print(f"\nattention alone, forward + backward, {tuple(shape)} {str(dtype)[6:]}, no mask, dropout 0:")
    for backend in ("flash", "cudnn", "efficient", "math"):
        def run():
            with sdpa_backend(backend):
                out = torch.nn.functional.scaled_dot_product_attention(q, k, v)
            out.backward(grad)
        try:
            run()
            ms = statistics.median(timed(run, device) for _ in range(steps)) * 1e3
            print(f"  {backend:<10} {ms:8.3f} ms")
        except RuntimeError as err:
            print(f"  {backend:<10} not available here ({str(err).splitlines()[0][:90]})")


def run_settings(name: str, batch_size: int, seq: int, policy, steps: int, warmup: int,
                 only: list[str] | None, skip: list[str] | None = None, extras: bool = True) -> None:
    device = policy.device
    peak = peak_flops(device)
    cfg0 = preset(name, max_position=max(seq, preset(name).max_position), max_length=seq).encoder_config()
    fpt = flops_per_token(cfg0, seq)
    tokens = batch_size * seq
    d, L, V, ffn = cfg0.hidden_size, cfg0.num_layers, cfg0.vocab_size, cfg0.intermediate_size
    print(f"{name} at {batch_size}x{seq}: FLOPs per token = 6 x (L(4d^2 + 2 d ffn) + d^2 + 0.15 d V) + 12 L s d "
          f"= {fpt / 1e6:.1f} MFLOP (L={L}, d={d}, ffn={ffn}, V={V}, s={seq}; forward + backward; the "
          f"vocabulary projection counted at the 15 % selected rows only, so the fixed head's extra rows "
          f"and the padded vocabulary columns count as waste)")
    share = fixed_share(tokens)
    print(f"fixed-size head: {math.ceil(share * tokens)} rows a batch (fixed_mlm_rows={share}; about "
          f"{0.15 * (seq - 2) / seq * tokens:.0f} are selected on average)")
    print(f"peak for MFU: {peak / 1e12:.0f} TFLOP/s (dense bf16)" if peak else
          "peak for MFU: none (no known peak for this device; MFU is printed on NVIDIA GPUs)")
    print(f"{'setting':<42} {'tok/s':>11} {'ms/step':>9} {'vs row 1':>9} {'MFU':>6} {'graphs':>6} "
          f"{'breaks':>6} {'compile s':>9} {'peak GiB':>8}")
    results = []
    rows = [r for r in SETTINGS if (not only or any(o in r[0] for o in only))
            and not (skip and any(o in r[0] for o in skip))]
    for label, overrides, scope, cuda_only in rows:
        if cuda_only and device.type != "cuda":
            print(f"{label:<42} skipped: needs CUDA")
            continue
        torch._dynamo.reset()
        try:
            step, model, config = settings_step(name, overrides, scope, batch_size, seq, policy)
            r = time_row(step, device, steps, warmup if scope else 1)
        except Exception as err:    # a setting this machine cannot run: say so, go on
            print(f"{label:<42} failed: {type(err).__name__}: {str(err).splitlines()[0][:100]}")
            continue
        results.append((label, r, overrides, scope))
        _print_row(label, r, tokens, fpt, peak, results[0][1]["seconds"])
        del step, model                         # one row's model and optimizer on the device at a time
    if not extras:
        return
    if device.type == "cuda":
        torch._dynamo.reset()
        try:
            step, _ = hf_compiled_step(name, batch_size, seq, policy, "default")
            r = time_row(step, device, steps, warmup)
            _print_row("BertForMaskedLM, whole model compiled", r, tokens, fpt, peak,
                       results[0][1]["seconds"] if results else r["seconds"])
        except Exception as err:
            print(f"{'BertForMaskedLM, whole model compiled':<42} failed: {str(err).splitlines()[0][:100]}")
    attention_kernels_table(cfg0, batch_size, seq, policy, steps)
    if results:
        label, r, overrides, scope = min(results, key=lambda x: x[1]["seconds"])
        print(f"\nfastest: {label} (built again for the profile)")
        torch._dynamo.reset()
        step, _, _ = settings_step(name, overrides, scope, batch_size, seq, policy)
        profile_split(step, device, tokens, fpt, peak)


def _print_row(label, r, tokens, fpt, peak, first_s) -> None:
    mfu = f"{100 * fpt * tokens / r['seconds'] / peak:5.1f}%" if peak else "     -"
    mem = f"{r['peak_mem_gib']:8.2f}" if r["peak_mem_gib"] is not None else "       -"
    print(f"{label:<42} {tokens / r['seconds']:>11,.0f} {r['seconds'] * 1e3:>9.1f} "
          f"{first_s / r['seconds']:>8.2f}x {mfu} {r['graphs']:>6} {r['breaks']:>6} {r['warmup_s']:>9.1f} {mem}",
          flush=True)


# kernel or operator name -> part of the step (first match wins)
SPLIT = [("attention", ("flash", "fmha", "attention", "sdpa", "sdp_", "_efficient_attention")),
         ("optimizer, clipping", ("adam", "multi_tensor", "foreach", "_fused_adamw", "clip_grad")),
         ("matrix products", ("gemm", "xmma", "nvjet", "cutlass", "aten::mm", "aten::addmm", "aten::bmm",
                              "triton_tem_fused", "sm80_", "sm90_", "ampere_", "cublas"))]


def profile_split(step, device, tokens: int, fpt: float, peak: float | None, n: int = 5) -> None:
    """Where a step's time goes: matrix products, attention, optimizer, the rest (elementwise
    work and reductions: GELU, LayerNorm, dropout, residuals, softmax, their backward passes)."""
    from torch.profiler import ProfilerActivity, profile

    for _ in range(3):
        step()
    cuda = device.type == "cuda"
    activities = [ProfilerActivity.CPU] + ([ProfilerActivity.CUDA] if cuda else [])
    if cuda:
        torch.cuda.synchronize()
    start = time.perf_counter()
    with profile(activities=activities) as prof:
        for _ in range(n):
            step()
        if cuda:
            torch.cuda.synchronize()
    wall = time.perf_counter() - start
    parts = {name: 0.0 for name, _ in SPLIT}
    total, rest_items = 0.0, {}
    # GPU: every kernel's time on the device, by its name. CPU: every operator's self time;
    # those under the optimizer's step count as optimizer (its for-loop form runs plain
    # aten::sqrt, aten::div, ...), and code Inductor generated lands in the rest.
    events = prof.key_averages() if cuda else prof.events()
    for evt in events:
        if cuda:
            if evt.device_type != torch.autograd.DeviceType.CUDA:
                continue
            t = getattr(evt, "self_device_time_total", None) or getattr(evt, "self_cuda_time_total", 0)
        else:
            t = evt.self_cpu_time_total
        name = evt.key.lower()
        total += t
        if not cuda and _under(evt, "Optimizer.step"):
            name = "adam " + name
        for part, keys in SPLIT:
            if any(k in name for k in keys):
                parts[part] += t
                break
        else:
            rest_items[evt.key] = rest_items.get(evt.key, 0.0) + t
    busy = total / 1e6 if cuda else wall          # seconds of device work (GPU) or wall time (CPU)
    rest = max(busy - sum(parts.values()) / 1e6, 0.0)
    where = "GPU kernel time" if cuda else "wall time (1 process)"
    print(f"profile of {n} steps: {busy / n * 1e3:.1f} ms of {where} a step "
          f"({tokens * n / wall:,.0f} tok/s under the profiler)")
    for part in ("matrix products", "attention", "optimizer, clipping"):
        print(f"  {part:<30} {parts[part] / 1e6 / n * 1e3:8.2f} ms  {100 * parts[part] / 1e6 / busy:5.1f} %")
    print(f"  {'elementwise, reductions, rest':<30} {rest / n * 1e3:8.2f} ms  {100 * rest / busy:5.1f} %")
    for key, t in sorted(rest_items.items(), key=lambda kv: -kv[1])[:6]:   # the largest items of the rest
        print(f"      {t / 1e6 / n * 1e3:8.2f} ms  {key[:90]}")
    if peak:
        print(f"  matrix products alone would give {100 * fpt * tokens * n / peak / busy:.1f} % MFU at "
              f"100 % of the step; the step's MFU under the profiler {100 * fpt * tokens * n / wall / peak:.1f} %")


def _under(evt, prefix: str) -> bool:
    """Whether a profiler event runs inside one whose name starts with ``prefix``."""
    parent = evt.cpu_parent
    while parent is not None:
        if parent.name.startswith(prefix):
            return True
        parent = parent.cpu_parent
    return False


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
    parser.add_argument("--settings", action="store_true",
                        help="a row per pre-training speed setting (first config, first batch size), "
                             "the attention kernels, and the fastest row's profile split")
    parser.add_argument("--only", default=None,
                        help="with --settings: comma-separated substrings of the rows to run (e.g. 'today,all on')")
    parser.add_argument("--skip", default=None, help="with --settings: comma-separated substrings of rows to leave out")
    parser.add_argument("--rows-only", action="store_true",
                        help="with --settings: only the rows (no BertForMaskedLM row, attention table or profile)")
    parser.add_argument("--seq", type=int, default=SEQ, help=f"sequence length with --settings (default {SEQ})")
    parser.add_argument("--threads", type=int, default=None, help="torch.set_num_threads on the CPU")
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    seed_everything(0)
    policy = precision_policy(args.device)
    device = policy.device
    torch.backends.cuda.matmul.allow_tf32 = True
    steps = args.steps or (20 if device.type == "cuda" else 5)
    where = (torch.cuda.get_device_name(device) if device.type == "cuda"
             else f"CPU, {torch.get_num_threads()} threads")
    peak = peak_flops(device)
    if args.settings:
        name = args.configs.split(",")[0]
        batch = int(args.batch.split(",")[0]) if args.batch else BATCH[device.type][name]
        print(f"pre-training speed settings | {where} | {policy.name} | torch {torch.__version__} | "
              f"median of {steps} steps")
        run_settings(name, batch, args.seq, policy, steps, warmup=3, only=args.only.split(",") if args.only else None,
                     skip=args.skip.split(",") if args.skip else None, extras=not args.rows_only)
        return 0
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
