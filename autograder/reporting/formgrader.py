"""Hand grading: nbgrader's formgrader on a grading output (``make formgrader OUT=...``).

    python -m autograder.reporting.formgrader --out OUT [--port P]

``OUT`` is what ``make grade`` wrote. This writes ``OUT/nbgrader_config.py`` (the course's
settings, see :func:`write_output_config`: OUT is the course root, ``OUT/gradebook.db``
the gradebook, ``solutions/`` the source, ``OUT/.state/submitted`` the submissions,
``OUT/autograded`` and ``OUT/feedback``), starts JupyterLab in OUT bound to 127.0.0.1
with a fresh token, the venv's ``bin/`` first on PATH (nbgrader's formgrader runs
``alembic`` from there), and prints the formgrader's URL. Scores and comments saved
there go into ``OUT/gradebook.db``; the next ``make grade`` on the same OUT (nothing is
graded again) writes them into ``grades.csv``, ``totals.csv`` and the report, and
``python -m autograder.reporting.regenerate_feedback --out OUT`` into the students' feedback.

nbgrader's exchange (release and collect, unused here) is pointed at ``OUT/.state/exchange``,
so formgrader shows no "exchange directory does not exist" warning. JupyterLab's own log
goes to ``OUT/.state/formgrader.log``. Ctrl-C, SIGTERM or SIGHUP stop JupyterLab with it
(its kernels included) and print one line saying so.
"""
from __future__ import annotations

import argparse
import http.client
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from ..course.course import REPO_ROOT, RELEASE_DIR, SOLUTIONS_DIR

START_S = 120   # seconds JupyterLab may take to answer


def write_output_config(out: Path) -> Path:
    """``OUT/nbgrader_config.py``: nbgrader (its CLI run in OUT, and formgrader) sees the
    grading output as a course, with the project's settings (hidden tests stripped from
    feedback included)."""
    out = Path(out).resolve()
    if not (out / "gradebook.db").is_file() or not (out / ".state" / "run.json").is_file():
        raise ValueError(f"{out} is not a grading output (no gradebook.db or .state/run.json): "
                         "run `make grade OUT=...` first")
    path = out / "nbgrader_config.py"
    path.write_text(
        '"""nbgrader settings for this grading output, written by autograder.reporting.formgrader."""\n'
        "import sys\n"
        f"sys.path.insert(0, {str(REPO_ROOT)!r})\n"
        "from autograder.course.nbgrader_config import configure\n"
        "c = get_config()  # noqa: F821 (given by traitlets)\n"
        f"configure(c, root={str(out)!r}, source={str(SOLUTIONS_DIR)!r}, release={str(RELEASE_DIR)!r},\n"
        f"          workspace=None, db_url={'sqlite:///' + str(out / 'gradebook.db')!r})\n"
        "c.CourseDirectory.submitted_directory = '.state/submitted'\n"
        "# an exchange of its own: formgrader warns when the exchange folder is missing\n"
        f"c.Exchange.root = {str(exchange_dir(out))!r}\n",
        encoding="utf-8")
    exchange_dir(out).mkdir(parents=True, exist_ok=True)
    return path


def exchange_dir(out: Path) -> Path:
    """nbgrader's exchange folder for ``out`` (release and collect are not used here)."""
    return Path(out).resolve() / ".state" / "exchange"


def tool_env() -> dict:
    """The environment nbgrader needs: this Python's ``bin/`` (jupyter, alembic) on PATH."""
    bin_dir = str(Path(sys.executable).parent)
    return dict(os.environ, PATH=os.pathsep.join([bin_dir, os.environ.get("PATH", "")]))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _answers(port: int, token: str) -> bool:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    try:
        conn.request("GET", "/formgrader/manage_assignments", headers={"Authorization": f"token {token}"})
        return conn.getresponse().status == 200
    except OSError:
        return False
    finally:
        conn.close()


def _die_with_parent():
    """For the child, before JupyterLab runs (Linux): SIGTERM when the thread that started
    it ends, even by SIGKILL, so no server outlives its formgrader. The libc function is
    found here, in the parent: the child only calls it."""
    try:
        import ctypes
        prctl = ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return None
    return lambda: prctl(1, int(signal.SIGTERM))   # PR_SET_PDEATHSIG


def start(out: Path, port: int = 0, log=None) -> tuple[subprocess.Popen, str]:
    """Start JupyterLab with formgrader on ``out``; returns the process (its own session:
    kill its group to stop it and its kernels) and the formgrader URL, once it answers."""
    out = Path(out).resolve()
    write_output_config(out)
    port, token = port or _free_port(), secrets.token_hex(16)
    lab = Path(sys.executable).with_name("jupyter-lab")
    args = [str(lab) if lab.is_file() else "jupyter-lab", "--no-browser", "--ip=127.0.0.1",
            f"--port={port}", "--ServerApp.port_retries=0", f"--ServerApp.token={token}",
            f"--ServerApp.root_dir={out}", "--LabApp.news_url=None",
            "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate"]
    if os.geteuid() == 0:   # JupyterLab refuses root unless told (containers)
        args.append("--allow-root")
    proc = subprocess.Popen(args, cwd=out, env=tool_env(), stdout=log, stderr=subprocess.STDOUT if log else None,
                            start_new_session=True, preexec_fn=_die_with_parent())
    deadline = time.monotonic() + START_S
    try:
        while not _answers(port, token):
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"JupyterLab with formgrader did not start within {START_S} s "
                                   f"(exit code {proc.poll()})")
            time.sleep(0.5)
    except BaseException:          # also Ctrl-C or SIGTERM while it starts: no server left behind
        stop(proc)
        raise
    return proc, f"http://127.0.0.1:{port}/formgrader?token={token}"


def _descendants(pid: int) -> list:
    try:
        import psutil
        return psutil.Process(pid).children(recursive=True)
    except Exception:              # no psutil, or the process is gone
        return []


def stop(proc: subprocess.Popen, timeout: float = 20) -> None:
    """Stop JupyterLab: SIGTERM to its process group (it shuts its kernels down), SIGKILL
    after ``timeout`` s; then any process it started in a session of its own (kernels
    are) that is still there."""
    others = _descendants(proc.pid)
    try:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=timeout)
    except ProcessLookupError:
        pass
    except subprocess.TimeoutExpired:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        proc.wait(timeout=timeout)
    if proc.poll() is None:        # its group is gone but it is not (it left it)
        proc.kill()
        proc.wait(timeout=timeout)
    for p in others:
        try:
            p.kill()
        except Exception:          # already gone
            pass


class _Stop(Exception):
    """SIGTERM or SIGHUP arrived."""


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m autograder.reporting.formgrader", description=__doc__.splitlines()[0])
    p.add_argument("--out", type=Path, default=Path("grading_out"), help="the grading output (make grade's OUT)")
    p.add_argument("--port", type=int, default=0, help="port on 127.0.0.1 (default: a free one)")
    args = p.parse_args(argv)
    out = args.out.resolve()

    def on_signal(signum, frame):
        raise _Stop(signal.Signals(signum).name)

    previous = {s: signal.signal(s, on_signal) for s in (signal.SIGTERM, signal.SIGHUP)}
    proc, why, status = None, "", 0
    log_path = out / ".state" / "formgrader.log"
    try:
        if not log_path.parent.is_dir():
            write_output_config(out)          # says what is missing
        with open(log_path, "w") as log:
            proc, url = start(out, args.port, log=log)
        print(f"formgrader for {out} (JupyterLab's log: {log_path}):\n  {url}\n"
              "Grade under Manual Grading; then `make grade` with the same OUT puts the hand grades into "
              "grades.csv, totals.csv and the report. Ctrl-C stops the server.", flush=True)
        why, status = f"JupyterLab exited by itself with code {proc.wait()}; see {log_path}", 1
    except (ValueError, RuntimeError, OSError) as err:
        print(f"error: {err}" + (f" (JupyterLab's log: {log_path})" if log_path.is_file() else ""),
              file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        why = "Ctrl-C"
    except _Stop as sig:
        why = str(sig)
    finally:
        for s in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):   # no second signal while stopping
            signal.signal(s, signal.SIG_IGN)
        if proc is not None:
            stop(proc)
        for s, handler in previous.items():
            signal.signal(s, handler)
        signal.signal(signal.SIGINT, signal.default_int_handler)
    print(f"formgrader stopped ({why}): JupyterLab is shut down.", flush=True)
    return status


if __name__ == "__main__":
    sys.exit(main())
