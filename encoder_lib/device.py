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
