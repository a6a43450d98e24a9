"""Install the PyTorch build that suits this machine into the venv (``make setup``).

    .venv/bin/python scripts/install_torch.py --version 2.13.0 [--torch SPEC]

- torch already importable (a venv set up before; Colab, whose venv sees the
  preinstalled torch): nothing is installed, Colab's torch is never replaced;
- ``--torch SPEC`` given (``make setup TORCH=torch``): exactly that, from PyPI;
- Linux without an NVIDIA GPU: the CPU build from PyTorch's CPU wheel index (about
  200 MB instead of several GB of CUDA libraries), or, when that index cannot be
  reached, PyPI's default build;
- anywhere else (an NVIDIA GPU, macOS): PyPI's default build (CUDA on Linux).

It prints which build it chose and why, then the build that was installed.
"""
from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

CPU_INDEX = "https://download.pytorch.org/whl/cpu"


@dataclass
class Choice:
    """How to install torch here."""
    spec: str | None          # the requirement to install; None: install nothing
    index: str | None         # the index to take it from; None: PyPI (pip's default)
    why: str                  # one line for the person running the set-up


def on_colab(env: dict) -> bool:
    return "COLAB_RELEASE_TAG" in env or "COLAB_GPU" in env


def has_nvidia_gpu() -> bool:
    """An NVIDIA GPU with its driver loaded (what the CUDA build needs to be of use)."""
    gpus = Path("/proc/driver/nvidia/gpus")
    if gpus.is_dir() and any(gpus.iterdir()):
        return True
    try:
        return subprocess.run(["nvidia-smi", "-L"], capture_output=True, timeout=30).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


def index_reachable(index: str, timeout: float = 10) -> bool:
    """Whether ``index`` answers for torch within ``timeout`` seconds."""
    try:
        with urllib.request.urlopen(f"{index.rstrip('/')}/torch/", timeout=timeout) as r:
            return r.status == 200
    except (OSError, ValueError, urllib.error.URLError):
        return False


def choose(version: str, torch: str, env: dict, system: str, nvidia: bool, reachable) -> Choice:
    """The decision, from what was asked and what this machine is (``reachable`` is
    called only when the CPU index would be used)."""
    if on_colab(env):
        return Choice(None, None, "Colab: its preinstalled torch is used and never reinstalled")
    if torch:
        return Choice(torch, None, f"TORCH={torch} was given: that, from PyPI")
    spec = f"torch=={version}"
    if system != "Linux":
        return Choice(spec, None, f"{system}: PyPI's build for this system")
    if nvidia:
        return Choice(spec, None, "an NVIDIA GPU is present: PyPI's default (CUDA) build")
    if reachable(CPU_INDEX):
        return Choice(spec, CPU_INDEX, f"no NVIDIA GPU: the CPU build from {CPU_INDEX}")
    return Choice(spec, None, f"no NVIDIA GPU, but {CPU_INDEX} could not be reached: "
                              "PyPI's default build instead (on Linux the CUDA one, several GB)")


def pip_install(choice: Choice) -> bool:
    cmd = [sys.executable, "-m", "pip", "install", "--quiet", choice.spec]
    if choice.index:
        # only torch and its own dependencies come from there (the index mirrors them)
        cmd += ["--index-url", choice.index]
    return subprocess.run(cmd).returncode == 0


def installed_build() -> str | None:
    """``torch 2.13.0+cpu, CPU build``, or None where torch does not import."""
    out = subprocess.run([sys.executable, "-c",
                          "import torch; print(torch.__version__, torch.version.cuda or '')"],
                         capture_output=True, text=True)
    if out.returncode != 0:
        return None
    version, _, cuda = out.stdout.strip().partition(" ")
    return f"torch {version}, " + (f"CUDA {cuda} build" if cuda else "CPU build")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--version", required=True, help="the torch version the course is tested with")
    ap.add_argument("--torch", default="", help="a requirement to install instead (TORCH=...)")
    args = ap.parse_args(argv)
    current = installed_build()
    if current:
        print(f"torch: already installed ({current}), kept")
        return 0
    choice = choose(args.version, args.torch, dict(os.environ), platform.system(), has_nvidia_gpu(),
                    index_reachable)
    print(f"torch: {choice.why}")
    if choice.spec is None:
        return 0
    ok = pip_install(choice)
    if not ok and choice.index:
        print(f"torch: installing from {choice.index} failed; PyPI's default build instead")
        ok = pip_install(Choice(choice.spec, None, ""))
    if not ok:
        print(f"torch: pip could not install {choice.spec}", file=sys.stderr)
        return 1
    build = installed_build()
    if build is None:
        print(f"torch: pip installed {choice.spec} but it does not import", file=sys.stderr)
        return 1
    print(f"torch: installed {build}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
