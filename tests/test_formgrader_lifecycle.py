"""``make formgrader`` starts cleanly and stops cleanly, on a small grading output (an empty
gradebook and a run record: all formgrader needs to start):

- its page has no "exchange directory does not exist" warning (the output has an exchange
  folder of its own);
- SIGTERM to ``make formgrader``, or Ctrl-C (SIGINT to the terminal's process group), stops
  JupyterLab and the kernels it started: one line saying so, no traceback, no process left.
"""
from __future__ import annotations

import http.client
import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
import warnings
from pathlib import Path

import pytest

from autograder.course.course import REPO_ROOT

psutil = pytest.importorskip("psutil")

START_S = 180   # JupyterLab up and answering (slow on shared CI cores)
STOP_S = 60


@pytest.fixture
def small_out(tmp_path, hermetic_jupyter) -> Path:
    from nbgrader.api import Gradebook

    out = tmp_path / "out"
    (out / ".state").mkdir(parents=True)
    (out / ".state" / "run.json").write_text(json.dumps({"parts": [], "jobs": []}))
    with warnings.catch_warnings(), Gradebook(f"sqlite:///{out / 'gradebook.db'}"):   # nbgrader's schema
        warnings.simplefilter("ignore")
    return out


def _get(url: str, path: str) -> tuple[int, str]:
    m = re.match(r"http://127\.0\.0\.1:(\d+)/formgrader\?token=(\w+)", url)
    conn = http.client.HTTPConnection("127.0.0.1", int(m.group(1)), timeout=60)
    try:
        conn.request("GET", path, headers={"Authorization": f"token {m.group(2)}"})
        r = conn.getresponse()
        return r.status, r.read().decode("utf-8", "replace")
    finally:
        conn.close()


def _post(url: str, path: str, body: dict) -> dict:
    m = re.match(r"http://127\.0\.0\.1:(\d+)/formgrader\?token=(\w+)", url)
    conn = http.client.HTTPConnection("127.0.0.1", int(m.group(1)), timeout=120)
    try:
        conn.request("POST", path, body=json.dumps(body),
                     headers={"Authorization": f"token {m.group(2)}", "Content-Type": "application/json"})
        r = conn.getresponse()
        assert r.status in (200, 201), (r.status, r.read()[:500])
        return json.loads(r.read())
    finally:
        conn.close()


def _lab_processes(out: Path) -> list:
    """The JupyterLab serving ``out`` and every process it started (kernels: own sessions)."""
    found = []
    for p in psutil.process_iter(["cmdline"]):
        try:
            if f"--ServerApp.root_dir={out}" in (p.info["cmdline"] or []):
                found += [p, *p.children(recursive=True)]
        except psutil.Error:
            continue
    return found


class _Output:
    """Everything a process prints, read by a thread (no pipe left full, no blocking read)."""

    def __init__(self, proc: subprocess.Popen):
        self.lines: list[str] = []
        self.thread = threading.Thread(target=lambda: self.lines.extend(iter(proc.stdout.readline, "")),
                                       daemon=True)
        self.thread.start()

    @property
    def text(self) -> str:
        return "".join(self.lines)

    def wait_for(self, pattern: str, proc: subprocess.Popen, timeout: float) -> str:
        deadline = time.monotonic() + timeout
        while not (m := re.search(pattern, self.text)):
            assert time.monotonic() < deadline and proc.poll() is None, f"no {pattern!r} in:\n{self.text}"
            time.sleep(0.2)
        return m.group(0)


def _start(argv: list[str], out: Path, env: dict) -> tuple[subprocess.Popen, _Output, str]:
    proc = subprocess.Popen(argv, cwd=REPO_ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True, start_new_session=True)   # as a terminal: its own process group
    output = _Output(proc)
    try:
        url = output.wait_for(r"http://127\.0\.0\.1:\d+/formgrader\?token=\w+", proc, START_S)
    except BaseException:
        _kill_all(proc, out)
        raise
    return proc, output, url


def _kill_all(proc: subprocess.Popen, out: Path) -> None:
    for p in _lab_processes(out):
        p.kill()
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def _stopped_cleanly(proc: subprocess.Popen, output: _Output, out: Path, left_behind: list) -> str:
    """The line saying it stopped; fails unless it stopped as it should."""
    try:
        proc.wait(timeout=STOP_S)
    except subprocess.TimeoutExpired:
        _kill_all(proc, out)
        raise
    output.thread.join(timeout=10)
    text = output.text
    assert "Traceback" not in text and "KeyboardInterrupt" not in text, text
    said = [l for l in text.splitlines() if "stopped" in l]
    assert len(said) == 1 and said[0].startswith("formgrader stopped") and "JupyterLab is shut down" in said[0], text
    assert not [l for l in text.splitlines() if l.startswith("make: ***")], text
    deadline = time.monotonic() + 10
    while any(p.is_running() and p.status() != psutil.STATUS_ZOMBIE for p in left_behind):
        assert time.monotonic() < deadline, [p.cmdline() for p in left_behind if p.is_running()]
        time.sleep(0.2)
    assert not _lab_processes(out)
    return said[0]


@pytest.mark.slow
def test_sigterm_to_make_formgrader_stops_jupyterlab_and_its_kernels(small_out, hermetic_jupyter):
    argv = ["make", "--no-print-directory", "-o", ".venv/.installed", "formgrader", f"OUT={small_out}",
            f"PY={sys.executable}"]
    proc, output, url = _start(argv, small_out, hermetic_jupyter)
    try:
        status, page = _get(url, "/formgrader/manage_assignments")
        assert status == 200 and "Manage Assignments" in page
        assert "warning-exchange" not in page and "does not exist" not in page, page
        assert (small_out / ".state" / "exchange").is_dir()
        kernel = _post(url, "/api/kernels", {"name": "python3"})
        deadline = time.monotonic() + START_S
        while not any(kernel["id"] in " ".join(p.cmdline()) for p in _lab_processes(small_out)
                      if p.is_running()):
            assert time.monotonic() < deadline, "the kernel did not start"
            time.sleep(0.5)
        running = _lab_processes(small_out)
        assert len(running) >= 2                        # JupyterLab and the kernel
    except BaseException:
        _kill_all(proc, small_out)
        raise
    proc.send_signal(signal.SIGTERM)                     # to make alone, as `kill PID` does
    assert "(SIGTERM)" in _stopped_cleanly(proc, output, small_out, running)


@pytest.mark.slow
def test_ctrl_c_stops_formgrader_and_jupyterlab_without_a_traceback(small_out, hermetic_jupyter):
    argv = [sys.executable, "-m", "autograder.reporting.formgrader", "--out", str(small_out)]
    proc, output, url = _start(argv, small_out, hermetic_jupyter)
    running = _lab_processes(small_out)
    assert running
    os.killpg(proc.pid, signal.SIGINT)                   # Ctrl-C: the whole foreground group
    assert "(Ctrl-C)" in _stopped_cleanly(proc, output, small_out, running)
    assert proc.returncode == 0
