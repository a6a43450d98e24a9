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


# ---------------------------------------------------------------- CPU threads

from encoder_lib import device as device_mod  # noqa: E402
from encoder_lib.device import apply_thread_policy, choose_threads, physical_cores  # noqa: E402


def test_a_quiet_machine_gets_one_thread_per_core():
    choice = choose_threads(4, busy=0.1, env={})
    assert choice.threads == 4 and "quiet" in choice.describe()


def test_a_busy_two_core_machine_gets_one_thread_and_says_why():
    choice = choose_threads(2, busy=2.0, env={})          # two busy processes beside the notebook
    assert choice.threads == 1
    line = choice.describe()
    assert line.startswith("CPU threads: 1 of 2 cores") and "busy" in line and "\n" not in line


def test_threads_follow_the_idle_cores_never_above_the_physical_ones():
    assert choose_threads(8, busy=3.0, env={}).threads == 5
    assert choose_threads(8, busy=9.0, env={}).threads == 1
    assert choose_threads(4, busy=0.0, cpus=8, env={}).threads == 4   # hyper-threads count once
    assert choose_threads(1, busy=0.0, env={}).threads == 1


def test_unknown_load_leaves_one_core_free():
    assert choose_threads(4, busy=None, env={}).threads == 3
    assert choose_threads(2, busy=None, env={}).threads == 1


def test_omp_num_threads_wins():
    choice = choose_threads(8, busy=0.0, env={"OMP_NUM_THREADS": "1"})
    assert choice.threads == 1 and "OMP_NUM_THREADS=1" in choice.describe()


def test_physical_cores_counts_hyper_threads_once():
    info = "".join(f"processor\t: {p}\nphysical id\t: 0\ncore id\t\t: {p // 2}\n\n" for p in range(4))
    assert physical_cores([0, 1, 2, 3], info) == 2
    assert physical_cores([0, 2], info) == 2
    assert physical_cores([0, 1], info) == 1
    assert physical_cores([0, 1, 2], "") == 3                 # nothing known: the logical CPUs


def test_apply_thread_policy_sets_torch_threads_from_what_it_saw(monkeypatch):
    before = torch.get_num_threads()
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    monkeypatch.setattr(device_mod, "usable_cpus", lambda: [0, 1])
    monkeypatch.setattr(device_mod, "physical_cores", lambda cpus: 2)
    samples = iter([{0: (100, 200), 1: (100, 200)}, {0: (200, 300), 1: (195, 300)}])   # both cores busy
    monkeypatch.setattr(device_mod, "_cpu_times", lambda cpus: next(samples))
    try:
        choice = apply_thread_policy(interval=0.0)
        assert choice.threads == 1 == torch.get_num_threads()
        assert 1.9 < choice.busy_cores <= 2.0
    finally:
        torch.set_num_threads(before)


def test_apply_thread_policy_does_not_sample_when_omp_num_threads_is_set(monkeypatch):
    before = torch.get_num_threads()
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    monkeypatch.setattr(device_mod, "busy_cores", lambda *a, **k: pytest.fail("sampled the load"))
    try:
        assert apply_thread_policy().threads == 1
    finally:
        torch.set_num_threads(before)


def test_setup_notebook_reports_the_thread_choice_in_one_line(monkeypatch, capsys):
    from encoder_lib.notebook import setup_notebook

    before = torch.get_num_threads()
    monkeypatch.delenv("NBGRADER_EXECUTION", raising=False)
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    try:
        setup_notebook(seed=0)
    finally:
        torch.set_num_threads(before)
    lines = capsys.readouterr().out.splitlines()
    assert [line for line in lines if line.startswith("CPU threads: 1 of ")], lines


def test_grading_mode_uses_one_thread_without_looking_at_the_machine(monkeypatch, capsys):
    from encoder_lib.notebook import setup_notebook

    before = torch.get_num_threads()
    monkeypatch.setenv("NBGRADER_EXECUTION", "autograde")
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    monkeypatch.setattr(device_mod, "busy_cores", lambda *a, **k: pytest.fail("sampled the load"))
    try:
        setup_notebook(seed=0)
        assert torch.get_num_threads() == 1
    finally:
        torch.set_num_threads(before)
    assert "CPU threads: 1 of" in capsys.readouterr().out
