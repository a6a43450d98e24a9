"""A pool of grading worker processes fed one job at a time.

Each worker is ``python -m autograder.sandbox.worker CONTEXT.json`` in its own process group,
reading jobs as JSON lines and answering when one is done (it writes the job's result
file itself). If a worker dies or a job runs past its safety limit, the pool kills that
worker's whole process group, writes a "grader error" result for the job and starts a
new worker, so the batch always completes.

Stopping: Ctrl-C or SIGTERM reaches :func:`run_jobs` in the main thread as
``KeyboardInterrupt``; it kills every worker's process group (the sandboxed kernels die
with their worker) and re-raises, so nothing is left grading. Results already written stay,
and the next run grades only what is missing.
"""
from __future__ import annotations

import json
import os
import queue
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

from .worker import RESULT_FORMAT

REPO = Path(__file__).resolve().parents[2]   # the repository root


def _failed_result(job: dict, why: str) -> None:
    path = Path(job["result_path"])
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"format": RESULT_FORMAT, "student": job["student"],
                                "assignment": job["assignment"], "fingerprint": job["fingerprint"],
                                "ok": False, "error": why, "notebooks": {}, "seconds": None}),
                    encoding="utf-8")


class _Slot:
    def __init__(self, slot: int, ctx: dict, ctx_dir: Path, log_dir: Path):
        self.slot, self.ctx, self.ctx_dir, self.log_dir = slot, ctx, ctx_dir, log_dir
        self.proc: subprocess.Popen | None = None
        self.lines: queue.Queue = queue.Queue()

    def start(self) -> None:
        path = self.ctx_dir / f"worker-{self.slot}.json"
        path.write_text(json.dumps({**self.ctx, "slot": self.slot}), encoding="utf-8")
        log = open(self.log_dir / f"worker-{self.slot}.log", "ab")
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join([str(REPO), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
        self.proc = subprocess.Popen([sys.executable, "-m", "autograder.sandbox.worker", str(path)],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=log,
                                     env=env, cwd=str(REPO), start_new_session=True, text=True, bufsize=1)
        log.close()
        self.lines = queue.Queue()
        threading.Thread(target=self._read, args=(self.proc, self.lines), daemon=True).start()

    @staticmethod
    def _read(proc, lines) -> None:
        for line in proc.stdout:
            lines.put(line)
        lines.put(None)

    def stop(self) -> None:
        """Ask the worker to stop (it kills its kernel first), then kill what is left."""
        if self.proc and self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGTERM)
                self.proc.wait(timeout=10)
            except (ProcessLookupError, subprocess.TimeoutExpired):
                pass
        self.kill()

    def kill(self) -> None:
        if self.proc and self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self.proc.wait()
        self.proc = None

    def wait_line(self, deadline: float) -> dict | None:
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            try:
                line = self.lines.get(timeout=min(left, 5))
            except queue.Empty:
                continue
            if line is None:
                return None
            try:
                return json.loads(line)
            except ValueError:
                continue


def run_jobs(jobs: list[dict], ctx: dict, workers: int, state: Path, job_limit_s: float,
             on_done=None) -> None:
    """Grade ``jobs`` with ``workers`` processes; ``on_done(job, ok)`` after each."""
    if not jobs:
        return
    ctx_dir = state / "workers"
    log_dir = state / "logs"
    ctx_dir.mkdir(parents=True, exist_ok=True)
    log_dir.mkdir(parents=True, exist_ok=True)
    todo: queue.Queue = queue.Queue()
    for j in jobs:
        todo.put(j)
    lock = threading.Lock()
    stop = threading.Event()
    slots: list[_Slot] = []

    def serve(slot: int) -> None:
        s = _Slot(slot, ctx, ctx_dir, log_dir)
        with lock:
            slots.append(s)
        try:
            while not stop.is_set():
                try:
                    job = todo.get_nowait()
                except queue.Empty:
                    return
                ok = False
                for attempt in range(2):
                    if s.proc is None:
                        s.start()
                        ready = s.wait_line(time.monotonic() + 300)
                        if not ready:
                            s.kill()
                            continue
                    try:
                        s.proc.stdin.write(json.dumps(job) + "\n")
                        s.proc.stdin.flush()
                    except (BrokenPipeError, OSError):
                        s.kill()
                        continue
                    answer = s.wait_line(time.monotonic() + job_limit_s)
                    if answer and answer.get("done") == job["key"]:
                        ok = bool(answer.get("ok"))
                        break
                    died = s.proc.poll() is not None
                    s.kill()
                    why = ("the grading worker process died while grading this" if died else
                           "the grading worker exceeded the job's safety time limit and was stopped")
                    _failed_result(job, why)
                    break
                else:
                    _failed_result(job, "no grading worker could be started")
                with lock:
                    if on_done:
                        on_done(job, ok)
        finally:
            if s.proc is not None:
                try:
                    s.proc.stdin.close()
                    s.proc.wait(timeout=30)
                except Exception:
                    s.kill()

    threads = [threading.Thread(target=serve, args=(i,), daemon=True) for i in range(workers)]
    for t in threads:
        t.start()
    try:
        for t in threads:
            while t.is_alive():
                t.join(timeout=0.5)      # a bounded join: Ctrl-C reaches the main thread
    except KeyboardInterrupt:
        stop.set()
        with lock:
            for s in slots:
                s.stop()
        raise
