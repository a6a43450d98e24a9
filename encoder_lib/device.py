"""Device, precision and seeding policy, in one place.

CUDA when present; bf16 autocast on Ampere or newer (compute capability >= 8.0),
fp16 autocast with a gradient scaler on older GPUs such as Colab's T4, fp32 on the CPU.
"""
from __future__ import annotations

import contextlib
import os
import platform
import random
from dataclasses import dataclass

import numpy as np
import torch


@dataclass(frozen=True)
class Precision:
    device: torch.device           # where tensors live
    autocast_dtype: torch.dtype | None  # dtype for torch.autocast; None means plain fp32
    use_grad_scaler: bool          # fp16 needs loss scaling; bf16 and fp32 do not

    @property
    def name(self) -> str:
        return {None: "fp32", torch.bfloat16: "bf16", torch.float16: "fp16"}[self.autocast_dtype]

    def autocast(self):
        """Context manager: autocast to the policy's dtype, or nothing in fp32."""
        if self.autocast_dtype is None:
            return contextlib.nullcontext()
        return torch.autocast(device_type=self.device.type, dtype=self.autocast_dtype)

    def grad_scaler(self) -> torch.amp.GradScaler:
        """A GradScaler that is active only where the policy needs one (fp16)."""
        return torch.amp.GradScaler(self.device.type, enabled=self.use_grad_scaler)


def get_device(prefer: str | torch.device | None = None) -> torch.device:
    """CUDA if available (or ``prefer`` when given), else the CPU."""
    if prefer is not None:
        device = torch.device(prefer)
        if device.type == "cuda" and not torch.cuda.is_available():
            raise ValueError("CUDA was requested but no CUDA GPU is available; use device='cpu'")
        return device
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def precision_policy(device: str | torch.device | None = None) -> Precision:
    """The mixed-precision policy for ``device`` (default: :func:`get_device`)."""
    device = get_device(device)
    if device.type != "cuda":
        return Precision(device, None, False)
    major, _ = torch.cuda.get_device_capability(device)
    if major >= 8 and torch.cuda.is_bf16_supported():
        return Precision(device, torch.bfloat16, False)
    return Precision(device, torch.float16, True)


def describe_device(device: str | torch.device | None = None) -> str:
    """One line for a student: which device, which GPU, which precision."""
    policy = precision_policy(device)
    if policy.device.type == "cuda":
        name = torch.cuda.get_device_name(policy.device)
        return f"GPU: {name} (precision: {policy.name} autocast)"
    return "No GPU found: running on the CPU in fp32 (slower, but every exercise works)"


def seed_everything(seed: int = 0) -> None:
    """Seed Python, NumPy and torch (all devices) for repeatable runs."""
    if not isinstance(seed, int) or isinstance(seed, bool):
        raise TypeError(f"seed must be an int, got {type(seed).__name__}")
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)
    os.environ["PYTHONHASHSEED"] = str(seed)


def cpu_name() -> str:
    """The processor's model name (from /proc/cpuinfo on Linux), for benchmark and model-card lines."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


# ---------------------------------------------------------------------------
# CPU threads
# ---------------------------------------------------------------------------
#
# torch starts one intra-op thread per core, and every operation waits for all of its
# threads. When other programs keep cores busy, one of those threads is often not
# running, and the others wait for it: on a 2-core machine with two busy processes
# beside it, a fine-tuning step of the course model took 1.39 s with 2 threads and
# 0.13 s with 1, a MiniLM step 11.3 s against 2.6 s (bench/results/threads_2core_*.txt).
# On the same machine idle, 2 threads were 1.5x faster than 1. So: one thread per core
# that is idle now, never more than the physical cores, at least one.

@dataclass(frozen=True)
class ThreadChoice:
    threads: int                   # torch intra-op threads chosen
    cores: int                     # physical cores this process may use
    busy_cores: float | None       # cores other programs kept busy while we looked (None: unknown)
    reason: str                    # one phrase: why this many

    def describe(self) -> str:
        """One line for a student."""
        return f"CPU threads: {self.threads} of {self.cores} core{'s' * (self.cores != 1)} ({self.reason})"


def usable_cpus() -> list[int]:
    """The logical CPUs this process may run on (its affinity mask, else all of them)."""
    try:
        return sorted(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return list(range(os.cpu_count() or 1))


def physical_cores(cpus: list[int] | None = None, cpuinfo: str | None = None) -> int:
    """Physical cores among ``cpus`` (hyper-threads of one core count once), from
    /proc/cpuinfo on Linux; elsewhere the number of logical CPUs."""
    cpus = usable_cpus() if cpus is None else cpus
    if cpuinfo is None:
        try:
            with open("/proc/cpuinfo", encoding="utf-8") as f:
                cpuinfo = f.read()
        except OSError:
            return max(1, len(cpus))
    cores, processor, fields = set(), None, {}
    for line in cpuinfo.splitlines() + [""]:
        if not line.strip():                                    # the end of one processor's block
            if processor in cpus and "core id" in fields:
                cores.add((fields.get("physical id"), fields["core id"]))
            processor, fields = None, {}
            continue
        key, _, value = line.partition(":")
        key, value = key.strip(), value.strip()
        if key == "processor":
            processor = int(value) if value.isdigit() else None
        else:
            fields[key] = value
    return max(1, len(cores) or len(cpus))


def _cpu_times(cpus: list[int]) -> dict[int, tuple[int, int]] | None:
    """{cpu: (busy jiffies, total jiffies)} from /proc/stat, or None where there is none."""
    try:
        with open("/proc/stat", encoding="utf-8") as f:
            lines = f.read().splitlines()
    except OSError:
        return None
    out = {}
    for line in lines:
        name, *values = line.split()
        if name.startswith("cpu") and name[3:].isdigit() and int(name[3:]) in cpus:
            v = [int(x) for x in values[:8]]
            idle = v[3] + (v[4] if len(v) > 4 else 0)           # idle + iowait
            out[int(name[3:])] = (sum(v) - idle, sum(v))
    return out or None


def busy_cores(cpus: list[int] | None = None, interval: float = 0.3) -> float | None:
    """How many of ``cpus`` other programs keep busy, looked at for ``interval`` seconds
    while this process sleeps (Linux: /proc/stat); elsewhere the 1-minute load average;
    None when neither is known."""
    import time

    cpus = usable_cpus() if cpus is None else cpus
    first = _cpu_times(cpus)
    if first is not None:
        time.sleep(interval)
        second = _cpu_times(cpus) or {}
        busy = total = 0
        for cpu, (b0, t0) in first.items():
            if cpu in second:
                busy += second[cpu][0] - b0
                total += second[cpu][1] - t0
        if total > 0:
            return len(first) * busy / total
    if hasattr(os, "getloadavg"):
        try:
            return min(float(len(cpus)), os.getloadavg()[0])
        except OSError:
            pass
    return None


def choose_threads(cores: int, busy: float | None, cpus: int | None = None,
                   env: dict | None = None) -> ThreadChoice:
    """The thread policy, a pure function of what was measured.

    ``cores``: physical cores usable; ``busy``: cores other programs keep busy (None:
    unknown); ``cpus``: logical CPUs usable (default ``cores``); ``env``: the environment
    (an ``OMP_NUM_THREADS`` there wins: the grader and benches set it)."""
    env = os.environ if env is None else env
    cpus = cores if cpus is None else cpus
    if str(env.get("OMP_NUM_THREADS", "")).strip().isdigit() and int(env["OMP_NUM_THREADS"]) > 0:
        n = int(env["OMP_NUM_THREADS"])
        return ThreadChoice(n, cores, busy, f"OMP_NUM_THREADS={n} is set")
    if cores <= 1:
        return ThreadChoice(1, cores, busy, "one core")
    if busy is None:
        return ThreadChoice(cores - 1, cores, None, "the machine's load is unknown: one core left free")
    idle = max(0.0, cpus - busy) * cores / cpus                 # idle cores, in physical cores
    threads = max(1, min(cores, int(idle + 0.25)))              # a core ~75 % idle counts as free
    if threads == cores:
        reason = "the machine is quiet"
    else:
        reason = (f"other programs keep about {busy:.1f} of them busy; more threads would wait on each "
                  "other and run slower")
    return ThreadChoice(threads, cores, busy, reason)


def apply_thread_policy(interval: float = 0.3) -> ThreadChoice:
    """Look at the machine, choose the CPU threads for torch (``choose_threads``) and set them.
    Call it again to re-decide when the machine's load has changed."""
    cpus = usable_cpus()
    cores = physical_cores(cpus)
    preset = str(os.environ.get("OMP_NUM_THREADS", "")).strip()
    busy = None if preset.isdigit() and int(preset) > 0 else busy_cores(cpus, interval)   # no need to look
    choice = choose_threads(cores, busy, len(cpus))
    torch.set_num_threads(choice.threads)
    return choice
