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
        "c.CourseDirectory.submitted_directory = '.state/submitted'\n",
        encoding="utf-8")
    return path


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
                            start_new_session=True)
    deadline = time.monotonic() + START_S
    while not _answers(port, token):
        if proc.poll() is not None or time.monotonic() > deadline:
            stop(proc)
            raise RuntimeError(f"JupyterLab with formgrader did not start within {START_S} s "
                               f"(exit code {proc.poll()})")
        time.sleep(0.5)
    return proc, f"http://127.0.0.1:{port}/formgrader?token={token}"


def stop(proc: subprocess.Popen) -> None:
    try:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=20)
    except ProcessLookupError:
        pass
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=20)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m autograder.reporting.formgrader", description=__doc__.splitlines()[0])
    p.add_argument("--out", type=Path, default=Path("grading_out"), help="the grading output (make grade's OUT)")
    p.add_argument("--port", type=int, default=0, help="port on 127.0.0.1 (default: a free one)")
    args = p.parse_args(argv)
    try:
        proc, url = start(args.out, args.port)
    except (ValueError, RuntimeError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    print(f"formgrader for {args.out.resolve()}:\n  {url}\n"
          "Grade under Manual Grading; then `make grade` with the same OUT puts the hand grades into "
          "grades.csv, totals.csv and the report. Ctrl-C stops the server.", flush=True)
    try:
        proc.wait()
    except KeyboardInterrupt:
        pass
    finally:
        stop(proc)
    return 0


if __name__ == "__main__":
    sys.exit(main())
