"""A grading worker's zygote: one sandboxed, pre-imported process that forks its kernels.

Starting a kernel the slow way (a fresh bubblewrap, a fresh Python importing torch,
numpy, matplotlib, ipykernel and ``encoder_lib``) costs about 1.7 s of CPU per notebook,
more than most notebooks' own cells in grading mode. A worker instead starts one
:class:`Zygote` (``zygote_boot.py`` inside bubblewrap) that imports all of that once;
``sandbox_launch.py`` asks it for each kernel, which it forks in a few milliseconds,
with its own fresh scratch filesystems, limits and uid (``zygote_boot.py`` says how).

A zygote that does not start, stops answering, or dies costs speed, never a grade:
the worker starts a new one before the next job, and the launcher falls back to the
per-notebook sandbox when the zygote does not answer.
"""
from __future__ import annotations

import json
import os
import secrets
import select
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path

from .sandbox import SandboxPlan

START_TIMEOUT_S = 120


class Zygote:
    """Starts, checks and stops one worker's zygote."""

    def __init__(self, plan: SandboxPlan, slot: int, *, release_root: Path, runtime_dir: Path,
                 mpl_dir: Path | None, threads: int, log_path: Path):
        self.plan, self.slot, self.threads = plan, slot, threads
        self.release_root, self.runtime_dir, self.mpl_dir = release_root, runtime_dir, mpl_dir
        self.log_path = log_path
        self.proc: subprocess.Popen | None = None
        self.control: Path | None = None
        self.token = ""
        self.starts = 0

    @property
    def socket_path(self) -> str:
        return str(self.control / "zygote.sock")

    def policy(self, assignment: str) -> dict:
        """What ``sandbox_launch.py`` needs to ask for a kernel (see ``write_policy``)."""
        return {"socket": self.socket_path, "token": self.token, "assignment": assignment}

    def start(self) -> bool:
        """Start the zygote and wait until it has imported everything; False (and a line
        in the worker's log) when it could not."""
        self.stop()
        self.starts += 1
        self.control = Path(tempfile.mkdtemp(prefix="agz"))
        os.chmod(self.control, 0o700)          # root only: the kernels never get in
        self.token = secrets.token_hex(16)
        argv, env = self.plan.zygote_argv(self.slot, release_root=self.release_root,
                                          runtime_dir=self.runtime_dir, control_dir=self.control,
                                          mpl_dir=self.mpl_dir, threads=self.threads)
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen(argv, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                         stderr=log, start_new_session=True, cwd="/")
        try:
            self.proc.stdin.write((self.token + "\n").encode())
            self.proc.stdin.close()
        except OSError:
            pass
        end = time.monotonic() + START_TIMEOUT_S
        line = b""
        while time.monotonic() < end and self.proc.poll() is None:
            ready, _, _ = select.select([self.proc.stdout], [], [], 0.5)
            if ready:
                line = self.proc.stdout.readline()
                break
        if line.strip() != b"ready":
            self._log(f"the zygote did not start (exit status {self.proc.poll()}); "
                      "kernels start the per-notebook way")
            self.stop()
            return False
        self.proc.stdout.close()   # it writes to its log from now on
        return True

    def alive(self) -> bool:
        """Running and answering a ping within 2 s."""
        if self.proc is None or self.proc.poll() is not None:
            return False
        try:
            with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
                s.settimeout(2)
                s.connect(self.socket_path)
                s.sendall((json.dumps({"token": self.token, "ping": True}) + "\n").encode())
                return b"pong" in s.recv(4096)
        except OSError:
            return False

    def ready(self) -> bool:
        """Alive, or started afresh (at most 3 starts in the worker's life)."""
        if self.alive():
            return True
        if self.starts >= 3:
            return False
        if self.starts:
            self._log("the zygote stopped answering; starting a new one")
        return self.start()

    def stop(self) -> None:
        if self.proc is not None:
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except OSError:
                pass
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                pass
            self.proc.stdout.close()
            self.proc = None
        if self.control is not None:
            shutil.rmtree(self.control, ignore_errors=True)
            self.control = None

    def _log(self, line: str) -> None:
        with open(self.log_path, "a", encoding="utf-8") as f:
            f.write(f"worker {self.slot}: {line}\n")
