"""Kernels forked from a worker's pre-imported zygote: isolated from each other, and
graded exactly as kernels started in a fresh sandbox each."""
from __future__ import annotations

import csv
import os
import re
import shutil
import signal
import tempfile
from pathlib import Path

import pytest

from autograder.course.course import REPO_ROOT
from autograder.sandbox.sandbox import KERNEL_UID_BASE, SandboxPlan
from autograder.sandbox.zygote import Zygote
from nbgrader_harness import make_grade
from sandbox_kernels import run_in_kernel

pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(os.geteuid() != 0 or shutil.which("bwrap") is None,
                                 reason="kernels are forked from a zygote only under bubblewrap run as root")]

COHORT = REPO_ROOT / "autograder" / "demo_cohort"


class Box:
    """A zygote and the kernels it forks, started exactly as a grading worker does
    (kernelspec, per-notebook policy file, ipc sockets in the runtime folder)."""

    def __init__(self, tmp: Path):
        from autograder.sandbox.sandbox import acquire_uid_slot

        self.plan = SandboxPlan.detect()
        self.slot = acquire_uid_slot()
        self.tmp = tmp
        self.runtime = Path(tempfile.mkdtemp(prefix="agzt-"))   # short: ipc socket paths
        self.releases = tmp / "releases"
        (self.releases / "part_x").mkdir(parents=True)
        (self.releases / "part_x" / "data.txt").write_text("release material\n")
        self.plan.prepare_dirs(self.slot, self.runtime, tmp / "box")
        self.zygote = Zygote(self.plan, self.slot, release_root=self.releases, runtime_dir=self.runtime,
                             mpl_dir=None, threads=1, log_path=tmp / "zygote.log")
        assert self.zygote.start(), (tmp / "zygote.log").read_text()

    def run(self, code: str, use_zygote: bool = True) -> str:
        """Start a kernel, run ``code``, shut the kernel down the way the grader does (a
        kill); what the code printed."""
        from autograder.sandbox.sandbox import write_kernelspec, write_policy

        for entry in self.runtime.iterdir():
            entry.unlink()
        data = self.tmp / "data"
        write_kernelspec(data, self.plan.python)
        argv, env = self.plan.kernel_argv(self.slot, release_dir=self.releases / "part_x",
                                          runtime_dir=self.runtime, workdir=self.tmp / "box", mpl_dir=None,
                                          threads=1)
        policy = write_policy(self.tmp / "policy.json", argv, env, self.plan.kernel_uid(self.slot),
                              self.runtime, self.zygote.policy("part_x") if use_zygote else None)
        return run_in_kernel(policy, self.runtime, data / "kernels", code)

    def close(self) -> None:
        self.zygote.stop()
        shutil.rmtree(self.runtime, ignore_errors=True)


@pytest.fixture
def box(tmp_path):
    b = Box(tmp_path)
    yield b
    b.close()


HOSTILE = r'''
import ctypes, os, subprocess, sys, time
import torch, torch.nn.functional as F
import encoder_lib.data.wordnet as wordnet
# a process that outlives the kernel: double-forked, in its own session, deaf to SIGTERM and SIGHUP
subprocess.Popen([sys.executable, "-c",
                  "import os, signal, time\n"
                  "signal.signal(signal.SIGTERM, signal.SIG_IGN); signal.signal(signal.SIGHUP, signal.SIG_IGN)\n"
                  "os.setsid()\n"
                  "if os.fork(): os._exit(0)\n"
                  "open('/tmp/lurker.pid', 'w').write(str(os.getpid()))\n"
                  "while True: time.sleep(1)\n"])
for _ in range(100):
    if os.path.exists("/tmp/lurker.pid"):
        break
    time.sleep(0.05)
# files for the next student: in /tmp, in the home folder, as a module the notebook folder would import
open("/tmp/planted.txt", "w").write("left by the last student")
open("torch_helpers.py", "w").write("POISONED = True")
open(os.path.expanduser("~/.bashrc"), "w").write("echo poisoned")
os.makedirs("/tmp/.mpl", exist_ok=True)
open("/tmp/.mpl/matplotlibrc", "w").write("backend: Agg")
# shared memory that outlives processes (SysV IPC)
libc = ctypes.CDLL(None, use_errno=True)
shm = libc.shmget(0x5eed, 4096, 0o1000 | 0o666)
# poisoned modules in memory
F.softmax = lambda *a, **k: "poisoned"
wordnet._glosses.cache_clear()
os.environ["POISONED"] = "1"
# a megabyte straight to file descriptor 1, past ipykernel (a C library's printf, os.system): never blocks
for _ in range(16):
    os.write(1, b"." * 65536)
print("planted", shm >= 0, open("/tmp/lurker.pid").read() if os.path.exists("/tmp/lurker.pid") else "no-lurker")
'''

VICTIM = r'''
import ctypes, os, signal
import torch, torch.nn.functional as F
import encoder_lib.data.wordnet as wordnet
me, zygote = os.getpid(), os.getppid()
others = []
for pid in os.listdir("/proc"):
    if pid.isdigit() and int(pid) not in (1, me, zygote):
        try:
            others.append(open(f"/proc/{pid}/cmdline").read().replace("\0", " ")[:80])
        except OSError:
            pass
print("others", others)
print("tmp", sorted(os.listdir("/tmp")))
print("home", sorted(os.listdir(".")))
print("bashrc", os.path.exists(os.path.expanduser("~/.bashrc")))
print("softmax", F.softmax(torch.tensor([0.0, 0.0]), dim=0).tolist())
print("glosses_cached", wordnet._glosses.cache_info().currsize)
print("env", os.environ.get("POISONED"))
libc = ctypes.CDLL(None, use_errno=True)
print("shm", libc.shmget(0x5eed, 0, 0))
print("uid", os.getuid())
try:
    os.kill(zygote, 0)
    print("signal_zygote", "allowed")
except PermissionError:
    print("signal_zygote", "refused")
# a cheat: read the zygote's command line for its control folder, and ask it for a kernel
import json, socket
control = json.loads(open(f"/proc/{zygote}/cmdline").read().split("\0")[3])["control"]
try:
    s = socket.socket(socket.AF_UNIX)
    s.connect(control + "/zygote.sock")
    s.sendall(b'{"assignment": "part_x", "connection_file": "/tmp/x"}\n')
    print("control_socket", "reached")
except OSError:
    print("control_socket", "refused")
try:
    open(f"/proc/{zygote}/environ").read()
    print("zygote_environ", "readable")
except OSError:
    print("zygote_environ", "refused")
'''


def _fields(text: str) -> dict[str, str]:
    lines = [line.lstrip(".") for line in text.splitlines()]   # the hostile cell's dots come in between
    return {line.split(" ", 1)[0]: line.split(" ", 1)[1] for line in lines if " " in line}


def test_a_kernel_forked_after_a_hostile_one_finds_nothing_it_left(box):
    planted = _fields(box.run(HOSTILE))
    assert planted["planted"].split()[0] == "True" and "no-lurker" not in planted["planted"]
    seen = _fields(box.run(VICTIM))
    assert seen["others"] == "[]", f"a process of the last kernel is still running: {seen['others']}"
    assert "planted.txt" not in seen["tmp"] and "lurker.pid" not in seen["tmp"]
    assert seen["home"] == "['data.txt']", "the home folder holds more than the release material"
    assert seen["bashrc"] == "False"
    assert seen["softmax"] == "[0.5, 0.5]"
    assert int(seen["glosses_cached"]) == 1, "the course's tables are not preloaded in the forked kernel"
    assert seen["env"] == "None"
    assert seen["shm"] == "-1", "a SysV shared memory segment survived into the next kernel"
    assert int(seen["uid"]) >= KERNEL_UID_BASE
    assert seen["signal_zygote"] == "refused" and seen["zygote_environ"] == "refused"
    assert seen["control_socket"] == "refused", "a kernel reached the zygote's control socket"


def test_the_zygote_forks_nothing_for_a_request_without_its_token(box):
    import json
    import socket

    with socket.socket(socket.AF_UNIX) as s:
        s.settimeout(15)
        s.connect(box.zygote.socket_path)
        s.sendall((json.dumps({"token": "guess", "assignment": "part_x",
                               "connection_file": str(box.runtime / "x.json")}) + "\n").encode())
        assert s.recv(4096) == b"", "the zygote answered a request without its token"
    assert box.zygote.alive()


def test_a_kernel_starts_in_a_fresh_sandbox_when_the_zygote_is_gone(box):
    forked = _fields(box.run("import os; print('parent', open(f'/proc/{os.getppid()}/cmdline').read()[:300])"))
    assert "zygote_boot.py" in forked["parent"]
    os.killpg(box.zygote.proc.pid, signal.SIGKILL)      # the zygote dies between two notebooks
    box.zygote.proc.wait()
    assert not box.zygote.alive()
    fresh = _fields(box.run("import os, torch; print('uid', os.getuid()); print('ls', sorted(os.listdir('.'))); "
                            "print('parent', open(f'/proc/{os.getppid()}/cmdline').read()[:300])"))
    assert "zygote_boot.py" not in fresh["parent"]
    assert int(fresh["uid"]) >= KERNEL_UID_BASE and fresh["ls"] == "['data.txt']"
    assert box.zygote.ready(), "the worker did not start a new zygote before the next job"
    again = _fields(box.run("import os; print('parent', open(f'/proc/{os.getppid()}/cmdline').read()[:300])"))
    assert "zygote_boot.py" in again["parent"]


#: Students of the demo cohort graded both ways: between them every graded notebook (01-06),
#: right and wrong answers, wrong quizzes, an upload that broke off, a syntax error, a broken
#: training loop. COMPARE_STUDENTS=all compares the whole cohort (about 15 minutes).
STUDENTS = ["dan", "eve", "kai"]


def _comparable(html: str) -> str:
    return re.sub(r'cell-id=[0-9a-f]+', "cell-id", html)   # nbformat gives cells without an id a random one


def test_forked_and_fresh_kernels_grade_the_demo_cohort_alike(tmp_path):
    chosen = sorted(p.name for p in COHORT.iterdir()) if os.environ.get("COMPARE_STUDENTS") == "all" else STUDENTS
    subs = tmp_path / "subs"
    for name in chosen:
        shutil.copytree(COHORT / name, subs / name)
    outs = {}
    for way, extra in (("forked", []), ("fresh", ["--no-zygote"])):
        outs[way] = tmp_path / way
        make_grade(subs, outs[way], "--workers", "2", *extra)
        report = (outs[way] / "report.txt").read_text()
        assert ("forked from each worker's pre-imported zygote" in report) == (way == "forked"), report[:2000]
    with open(outs["forked"] / "grades.csv", newline="") as f:
        forked = list(csv.DictReader(f))
    with open(outs["fresh"] / "grades.csv", newline="") as f:
        fresh = list(csv.DictReader(f))
    assert len(forked) > 100 and forked == fresh
    pages = sorted(p.relative_to(outs["fresh"]) for p in (outs["fresh"] / "feedback").rglob("*.html"))
    assert len(pages) >= 5 * len(chosen)
    for page in pages:
        assert _comparable((outs["forked"] / page).read_text()) == _comparable((outs["fresh"] / page).read_text()), page
    for name in ("totals.csv", "questions.csv"):
        assert (outs["forked"] / name).read_text() == (outs["fresh"] / name).read_text(), name
