"""The device, precision and seeding policy."""
from unittest import mock

import pytest
import torch

from encoder_lib.device import describe_device, get_device, precision_policy, seed_everything


def test_cpu_runs_in_fp32_without_a_scaler():
    policy = precision_policy("cpu")
    assert policy.name == "fp32" and policy.autocast_dtype is None and not policy.use_grad_scaler
    assert not policy.grad_scaler().is_enabled()


def _fake_cuda(capability, bf16):
    return [mock.patch("torch.cuda.is_available", return_value=True),
            mock.patch("torch.cuda.get_device_capability", return_value=capability),
            mock.patch("torch.cuda.is_bf16_supported", return_value=bf16)]


@pytest.mark.parametrize("capability, bf16, expected, scaler", [
    ((7, 5), False, "fp16", True),    # T4
    ((8, 0), True, "bf16", False),    # A100
    ((9, 0), True, "bf16", False),    # H100
])
def test_gpu_precision_follows_the_compute_capability(capability, bf16, expected, scaler):
    patches = _fake_cuda(capability, bf16)
    for p in patches:
        p.start()
    try:
        policy = precision_policy("cuda")
    finally:
        for p in patches:
            p.stop()
    assert policy.name == expected and policy.use_grad_scaler is scaler


def test_asking_for_cuda_without_a_gpu_is_a_clear_error():
    with mock.patch("torch.cuda.is_available", return_value=False):
        with pytest.raises(ValueError, match="no CUDA GPU"):
            get_device("cuda")


def test_seeding_makes_random_draws_repeatable():
    seed_everything(123)
    a = torch.randn(5)
    seed_everything(123)
    assert torch.equal(a, torch.randn(5))
    with pytest.raises(TypeError):
        seed_everything("123")


def test_describe_device_names_the_precision():
    text = describe_device()
    assert ("fp32" in text) if not torch.cuda.is_available() else ("GPU" in text)


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_autocast_on_the_gpu_uses_the_policy_dtype():
    policy = precision_policy()
    layer = torch.nn.Linear(8, 8).cuda()
    with policy.autocast():
        out = layer(torch.randn(2, 8, device="cuda"))
    assert out.dtype == policy.autocast_dtype
