"""The kernel sandbox: what it confines here, and that it says what it could not."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from autograder.course.course import REPO_ROOT, SOLUTIONS_DIR
from autograder.sandbox.sandbox import KERNEL_UID_BASE, SandboxPlan, python_roots
from sandbox_kernels import run_in_kernel

pytestmark = pytest.mark.slow

FULL = os.geteuid() == 0 and shutil.which("bwrap") is not None


def test_python_roots_never_expose_the_repository():
    roots = python_roots()
    assert str(REPO_ROOT) not in roots
    assert not any(str(REPO_ROOT).startswith(r + "/") for r in roots)


@pytest.mark.skipif(not FULL, reason="needs root and bubblewrap (scripts/install_system_deps.sh)")
def test_full_sandbox_hides_secrets_blocks_network_and_drops_privileges(tmp_path):
    secret = tmp_path / "gradebook.db"
    secret.write_text("hidden tests")
    plan = SandboxPlan.detect(secrets=[str(secret), str(SOLUTIONS_DIR)])
    assert plan.mode == "bwrap"
    on = {p.name: p.on for p in plan.protections}
    assert all(on.values()), plan.protections


def test_without_isolation_every_missing_protection_is_named(tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("x")
    plan = SandboxPlan.detect(isolate=False, secrets=[str(secret)])
    assert plan.mode == "plain"
    off = {p.name: p.how for p in plan.off}
    assert "no network" in off and "private filesystem view" in off
    assert str(secret) in off["private filesystem view"]
    assert all("switched off" in how for how in off.values() if "see" not in how)
    assert any(p.name == "resource limits" and p.on for p in plan.protections)


# Python run under the sandbox's limits: reserve 16 GB of address space as the CUDA
# runtime does (PROT_NONE, never touched), then fill memory past the limit.
RESERVE_THEN_FILL = """
import ctypes, mmap
libc = ctypes.CDLL(None, use_errno=True)
libc.mmap.restype = ctypes.c_void_p
libc.mmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int, ctypes.c_int, ctypes.c_int, ctypes.c_long]
MAP_NORESERVE = 0x4000
p = libc.mmap(None, 16 * 2**30, 0, mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS | MAP_NORESERVE, -1, 0)
print("reserved", p not in (None, ctypes.c_void_p(-1).value), flush=True)
import numpy, torch
print("torch", torch.zeros(16 * 2**20).add_(1).mean().item() == 1.0, flush=True)
hog = []
try:
    while True:
        hog.append(bytearray(64 * 2**20))
except MemoryError:
    print("stopped at", len(hog) * 64, "MB", flush=True)
"""


def test_memory_limit_counts_memory_used_not_address_space_reserved():
    from autograder.sandbox.sandbox import KERNEL_MARGIN_MB, Limits, kernel_baseline_mb

    plan = SandboxPlan(mode="plain", root=False, limits=Limits(memory_mb=512),
                       baseline_mb=kernel_baseline_mb())
    proc = subprocess.run([*plan.limit_argv(), sys.executable, "-c", RESERVE_THEN_FILL],
                          capture_output=True, text=True, timeout=300)
    out = proc.stdout.splitlines()
    assert out[:2] == ["reserved True", "torch True"], proc.stdout + proc.stderr[-2000:]
    stopped_at = int(out[2].split()[2])
    # the student's 512 MB come on top of what the kernel takes (torch's CUDA build
    # takes ~0.55 GB more than the CPU build), so the room is the same with either
    assert 0.9 * 512 <= stopped_at <= 512 + KERNEL_MARGIN_MB + 128, out


def _python_in_locked_folder(tmp_path) -> str:
    """A venv whose interpreter lies under a folder only its owner may enter (mode 700,
    like /root holding pyenv's Pythons), seeing this venv's packages."""
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o700)
    venv = locked / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", "--copies", str(venv)], check=True)
    python = venv / "bin" / "python"
    site = subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
                          capture_output=True, text=True, check=True).stdout.strip()
    import sysconfig
    (Path(site) / "course_venv.pth").write_text(
        f"import site; site.addsitedir({sysconfig.get_path('purelib')!r})\n")
    os.chmod(locked, 0o700)
    return str(python)


def _run_kernel(plan: SandboxPlan, tmp_path, code: str) -> str:
    """Start a kernel exactly as the grading worker does (kernelspec, policy file, ipc
    sockets in the runtime folder), run ``code`` in it and return what it printed."""
    from autograder.sandbox.sandbox import acquire_uid_slot, write_kernelspec, write_policy

    slot = acquire_uid_slot() if plan.root else 0
    runtime = Path(tempfile.mkdtemp(prefix="agtest-"))   # short: ipc socket paths
    work, release, data = tmp_path / "box", tmp_path / "release", tmp_path / "data"
    release.mkdir()
    try:
        plan.prepare_dirs(slot, runtime, work)
        write_kernelspec(data, plan.python)
        argv, env = plan.kernel_argv(slot, release_dir=release, runtime_dir=runtime, workdir=work,
                                     mpl_dir=None, threads=1)
        policy = write_policy(tmp_path / "policy.json", argv, env, plan.kernel_uid(slot), runtime)
        return run_in_kernel(policy, runtime, data / "kernels", code)
    finally:
        shutil.rmtree(runtime, ignore_errors=True)


MODES = ["plain", "unshare", "bwrap"]


@pytest.mark.parametrize("mode", MODES)
def test_every_sandbox_mode_starts_a_kernel_from_a_python_under_a_locked_folder(mode, tmp_path):
    if mode != "plain" and os.geteuid() != 0:
        pytest.skip(f"the {mode!r} sandbox gives the kernel its own uid, which needs root")
    if not shutil.which("bwrap" if mode == "bwrap" else "unshare"):
        pytest.skip(f"{mode} is not installed")
    python = _python_in_locked_folder(tmp_path)
    plan = SandboxPlan(mode=mode, root=os.geteuid() == 0, python=python,
                       roots=python_roots(python), hidden=[str(SOLUTIONS_DIR)])
    code = ("import os, sys, sysconfig, torch, encoder_lib\n"
            "print(os.getuid(), sys.executable, bool(sysconfig.get_config_var('Py_ENABLE_SHARED')))")
    uid, executable, shared = _run_kernel(plan, tmp_path, code).split()
    assert executable == python
    if mode == "plain":
        assert int(uid) == os.geteuid()
    else:
        assert int(uid) >= KERNEL_UID_BASE   # its own unprivileged uid, not the grader's
