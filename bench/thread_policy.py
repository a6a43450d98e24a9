"""Seconds per training step of the notebooks' models (04's masked LM at the CPU preset, the course
checkpoint's and MiniLM's shape fine-tuned as in 05/06) with 1 and with 2 torch threads: the
measurement behind encoder_lib.device's thread policy. Run it on a quiet machine, then with busy
processes beside it:

    python bench/thread_policy.py [STEPS]
    python -c "while True: pass" & python -c "while True: pass" & python bench/thread_policy.py
"""
from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from encoder_lib import EncoderConfig  # noqa: E402
from encoder_lib.model.masked_lm import EncoderForMaskedLM  # noqa: E402
from encoder_lib.pretrain import preset  # noqa: E402

def mlm_case():
    run = preset("cpu")
    torch.manual_seed(0)
    m = EncoderForMaskedLM(run.encoder_config(30522))
    ids = torch.randint(1000, 30522, (run.batch_size, 40))
    labels = torch.where(torch.rand(ids.shape) < 0.15, ids, torch.full_like(ids, -100))
    opt = torch.optim.AdamW(m.parameters(), lr=1e-4)
    mask = torch.ones_like(ids)
    def step():
        opt.zero_grad()
        m(ids, mask, labels=labels).loss.backward()
        opt.step()
    return step

def cls_case(d, layers, heads, ff, batch, seq):
    from encoder_lib import Encoder
    torch.manual_seed(0)
    enc = Encoder(EncoderConfig(vocab_size=30522, hidden_size=d, num_layers=layers, num_heads=heads,
                                intermediate_size=ff, max_position=64))
    head = torch.nn.Linear(d, 10)
    params = list(enc.parameters()) + list(head.parameters())
    opt = torch.optim.AdamW(params, lr=1e-4)
    ids = torch.randint(1000, 30522, (batch, seq))
    mask = torch.ones_like(ids)
    y = torch.randint(0, 10, (batch,))
    def step():
        opt.zero_grad()
        h = enc(ids, mask).last_hidden_state[:, 0]
        torch.nn.functional.cross_entropy(head(h), y).backward()
        opt.step()
    return step

cases = {"04 MLM cpu preset (d128 L4 b128 s40)": mlm_case,
         "05/06 course ckpt shape (d128 L4 b16 s48)": lambda: cls_case(128, 4, 4, 512, 16, 48),
         "05/06 MiniLM shape (d384 L6 b32 s48)": lambda: cls_case(384, 6, 12, 1536, 32, 48)}
n = int(sys.argv[1]) if len(sys.argv) > 1 else 10
for name, make in cases.items():
    for threads in (1, 2):
        torch.set_num_threads(threads)
        step = make()
        for _ in range(2):
            step()
        ts = []
        for _ in range(n):
            t = time.perf_counter()
            step()
            ts.append(time.perf_counter() - t)
        print(f"{name:45s} threads={threads}: median {statistics.median(ts):.3f} s/step "
              f"(min {min(ts):.3f}, max {max(ts):.3f})", flush=True)
