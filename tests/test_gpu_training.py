"""Training on a real CUDA GPU: the paths a CPU run never takes.

Pre-training in bf16 autocast and in fp16 with the gradient scaler (what a T4 gets:
forced here by reporting no bf16 support), fused AdamW, ``compile=True``, checkpoints
holding GPU state and a resumed run; fine-tuning the course checkpoint on the GPU.
Every run is real and tiny. Skipped without a GPU; ``bench/gpu_check.sh`` runs them.
"""
from __future__ import annotations

import json
from unittest import mock

import pytest
import torch
from safetensors.torch import load_file

from encoder_lib.data import splits
from encoder_lib.finetune import FinetuneConfig, finetune
from encoder_lib.pretrain import PretrainConfig, train

pytestmark = [pytest.mark.gpu, pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")]

TINY = dict(hidden_size=64, num_layers=2, num_heads=2, intermediate_size=128, max_position=32, max_length=32,
            batch_size=32, max_steps=40, warmup_steps=4, lr=3e-3, heldout_sentences=64, eval_every=20,
            checkpoint_every=20, dropout=0.0, seed=3, device="cuda")


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    path = tmp_path_factory.mktemp("corpus") / "sentences.txt"
    path.write_text("\n".join(splits.pretraining_sentences("train")[:800]) + "\n", encoding="utf-8")
    return path


def tiny(corpus, out_dir, **overrides) -> PretrainConfig:
    return PretrainConfig(**{**TINY, "corpus": str(corpus), "out_dir": str(out_dir), **overrides})


def _learned(history) -> tuple[float, float]:
    losses = [r["loss"] for r in history["train"]]
    assert all(torch.isfinite(torch.tensor(losses))), "a training loss is not finite"
    return losses[0], sum(losses[-5:]) / 5


def test_bf16_pretraining_on_the_gpu_learns_and_records_its_precision(corpus, tmp_path):
    summary = train(tiny(corpus, tmp_path / "bf16"), progress=False)
    first, last = _learned(summary["history"])
    assert last < first - 1.5, f"the loss did not fall: {first:.2f} -> {last:.2f}"
    run = json.loads((tmp_path / "bf16" / "history.json").read_text())["run"]
    assert run["precision"] == "bf16" and run["device"].startswith("cuda")


def test_fp16_with_the_gradient_scaler_learns_and_checkpoints_the_scale(corpus, tmp_path):
    with mock.patch("torch.cuda.is_bf16_supported", return_value=False):    # a T4's policy
        summary = train(tiny(corpus, tmp_path / "fp16"), progress=False)
    first, last = _learned(summary["history"])
    assert last < first - 1.5, f"the loss did not fall in fp16: {first:.2f} -> {last:.2f}"
    assert json.loads((tmp_path / "fp16" / "history.json").read_text())["run"]["precision"] == "fp16"
    state = torch.load(tmp_path / "fp16" / "step_000040" / "trainer_state.pt", weights_only=False)
    assert state["scaler"] and state["scaler"]["scale"] > 0, "the gradient scaler's state was not saved"


def test_an_interrupted_gpu_run_resumes_to_nearly_the_same_parameters(corpus, tmp_path):
    whole = tiny(corpus, tmp_path / "whole")
    train(whole, progress=False)
    cut = tiny(corpus, tmp_path / "cut")
    assert train(cut, progress=False, stop_at_step=30)["interrupted"]      # steps 21-30 are lost
    train(cut, resume=True, progress=False)                               # continues from step 20
    a = load_file(str(tmp_path / "whole" / "final" / "model.safetensors"))
    b = load_file(str(tmp_path / "cut" / "final" / "model.safetensors"))
    for name in a:   # GPU kernels (atomic adds in the embedding's backward) are not bit-reproducible
        diff = (a[name].float() - b[name].float()).norm() / a[name].float().norm().clamp_min(1e-6)
        assert diff < 1e-2, f"{name} differs by {diff:.2e} (relative) after resuming on the GPU"


def test_a_compiled_pretraining_run_trains(corpus, tmp_path):
    summary = train(tiny(corpus, tmp_path / "compiled", max_steps=20, eval_every=20, compile=True),
                    progress=False)
    first, last = _learned(summary["history"])
    assert last < first, f"the compiled run's loss did not fall: {first:.2f} -> {last:.2f}"


def test_fine_tuning_the_course_checkpoint_on_the_gpu_beats_chance():
    config = FinetuneConfig(task="coarse", train_size=400, dev_size=200, test_size=200, init="course",
                            pooling="mean", epochs=3, lr_encoder=3e-4, lr_head=3e-3, device="cuda",
                            progress=False)
    result = finetune(config)
    assert next(result.model.parameters()).is_cuda
    chance = 1 / len(result.label_names)
    assert result.test["accuracy"] > chance + 0.1, f"test accuracy {result.test['accuracy']:.3f}"
