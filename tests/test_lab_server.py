"""`make lab` starts a JupyterLab server on the course: headless, on a free port, with
hermetic Jupyter dirs. The test waits for ``/lab`` to answer, checks the release is
what it serves, stops the server's whole process group and checks nothing is left."""
from __future__ import annotations

import http.client
import json
import os
import secrets
import signal
import socket
import subprocess
import time

import pytest

from autograder.course.course import REPO_ROOT

pytestmark = pytest.mark.slow
#: `make lab` may first have to install the course into .venv (its setup step).
START_TIMEOUT_S = 600
STOP_TIMEOUT_S = 30


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def get(port: int, path: str, token: str) -> tuple[int, bytes]:
    """One GET (redirects not followed), authenticated with the server's token."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.request("GET", path, headers={"Authorization": f"token {token}"})
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


def group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    return True


def port_open(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) == 0


def test_make_lab_serves_the_course_and_stops_cleanly(hermetic_jupyter, tmp_path):
    port, token = free_port(), secrets.token_hex(16)
    lab_args = (f"--no-browser --ip=127.0.0.1 --port={port} --ServerApp.port_retries=0 "
                f"--ServerApp.token={token} --ServerApp.open_browser=False")
    log_path = tmp_path / "lab.log"
    with open(log_path, "w") as log:
        proc = subprocess.Popen(["make", "--no-print-directory", "lab", f"LAB_ARGS={lab_args}"],
                                cwd=REPO_ROOT, env=hermetic_jupyter, stdout=log,
                                stderr=subprocess.STDOUT, start_new_session=True)
    pgid = proc.pid   # the session leader's pid is the process group id
    try:
        deadline, status = time.monotonic() + START_TIMEOUT_S, None
        while time.monotonic() < deadline and proc.poll() is None:
            try:
                status, body = get(port, "/lab", token)
                if status == 200:
                    break
            except OSError:   # not listening yet
                pass
            time.sleep(0.5)
        output = log_path.read_text(errors="replace")[-3000:]
        assert proc.poll() is None, f"`make lab` exited with {proc.returncode}:\n{output}"
        assert status == 200, f"/lab did not answer 200 within {START_TIMEOUT_S} s (last: {status}):\n{output}"
        assert b"JupyterLab" in body

        status, body = get(port, "/api/contents", token)   # the server's root is notebooks/
        assert status == 200
        served = {item["name"] for item in json.loads(body)["content"]}
        assert "part0_setup" in served, f"lab should serve notebooks/, it serves {sorted(served)}"
    finally:
        if group_alive(pgid):
            os.killpg(pgid, signal.SIGTERM)
        try:
            proc.wait(timeout=STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            pass
        deadline = time.monotonic() + STOP_TIMEOUT_S
        while group_alive(pgid) and time.monotonic() < deadline:
            time.sleep(0.2)
        survivors = group_alive(pgid)
        if survivors:
            os.killpg(pgid, signal.SIGKILL)
    assert not survivors, f"processes of `make lab` outlived SIGTERM by {STOP_TIMEOUT_S} s"
    assert proc.returncode is not None
    assert not port_open(port), f"port {port} still accepts connections after the server stopped"
