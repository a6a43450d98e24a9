"""A pre-imported process inside a worker's sandbox that forks one kernel per notebook.

    zygote_boot.py CONFIG_JSON        # the secret token on stdin; "ready" on stdout

Started once per grading worker by :class:`autograder.sandbox.zygote.Zygote`, as root
inside bubblewrap (the same filesystem view, network and process namespaces as a
per-notebook sandbox), with every capability dropped but the four it needs. It imports what
every notebook imports (torch, numpy, matplotlib, ipykernel, ``encoder_lib``; the list
is :data:`kernel_boot.PRELOAD`) once, then serves requests on a Unix socket in a folder
only root may enter. For each request (the token, a connection file, an assignment) it:

1. kills every other process in the sandbox's process namespace (whatever the last
   kernel left behind) and reaps them;
2. empties ``/tmp`` and forks; the child gets its own mount and IPC namespaces with a
   fresh home (tmpfs; nothing the last student wrote or left in shared memory exists
   there), the notebook's resource limits, the kernel's uid with no groups, no
   capabilities and no new privileges, then copies the release material and starts
   ipykernel (``kernel_boot.start_kernel``), exactly as a per-notebook sandbox does;
3. forwards signals from the launcher (``sandbox_launch.py``) to the kernel, reports its
   exit status, and kills it and everything else in the namespace when the launcher's
   connection closes (the grader killed it on a timeout or at shutdown).

Each kernel is a fresh fork of a process that never ran student code, so nothing one
student's code did in memory reaches another's. The zygote is not dumpable (no
``ptrace``, no reading its memory or file descriptors) and runs as a uid the kernels
cannot signal.

Standalone on purpose: inside the sandbox the course repository is not visible.
"""
import ctypes
import importlib.util
import json
import os
import resource
import select
import shutil
import signal
import socket
import sys

HERE = os.path.dirname(os.path.abspath(__file__))

CLONE_NEWNS, CLONE_NEWIPC = 0x00020000, 0x08000000
MS_REC, MS_PRIVATE, MS_NOSUID, MS_NODEV = 1 << 14, 1 << 18, 2, 4
PR_SET_PDEATHSIG, PR_SET_DUMPABLE, PR_SET_NO_NEW_PRIVS, PR_SET_CHILD_SUBREAPER = 1, 4, 38, 36
LIMITS = {"data": resource.RLIMIT_DATA, "nproc": resource.RLIMIT_NPROC, "fsize": resource.RLIMIT_FSIZE,
          "cpu": resource.RLIMIT_CPU, "core": resource.RLIMIT_CORE, "nofile": resource.RLIMIT_NOFILE}

_libc = ctypes.CDLL(None, use_errno=True)


def _check(result, what):
    if result != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"{what}: {os.strerror(err)}")


def _boot_module():
    spec = importlib.util.spec_from_file_location("kernel_boot", os.path.join(HERE, "kernel_boot.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# ---------------------------------------------------------------------- the kernel (child)
def _confine(cfg):
    """In the forked child, as root: own mount and IPC namespaces with a fresh home, the
    notebook's limits, then the kernel's uid and nothing else."""
    uid = cfg["uid"]
    _check(_libc.unshare(CLONE_NEWNS | CLONE_NEWIPC), "unshare")
    _check(_libc.mount(b"none", b"/", None, MS_REC | MS_PRIVATE, None), "mount --make-rprivate /")
    opts = f"size={cfg['scratch_bytes']},mode=0700,uid={uid},gid={uid}"
    _check(_libc.mount(b"tmpfs", cfg["home"].encode(), b"tmpfs", MS_NOSUID | MS_NODEV, opts.encode()),
           "mount tmpfs on the home folder")
    for name, value in cfg["limits"].items():
        resource.setrlimit(LIMITS[name], (value, value))
    os.setgroups([])
    os.setresgid(uid, uid, uid)
    os.setresuid(uid, uid, uid)   # from root to a non-zero uid: every capability is gone
    _check(_libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), "prctl(NO_NEW_PRIVS)")
    _check(_libc.prctl(PR_SET_DUMPABLE, 1, 0, 0, 0), "prctl(DUMPABLE)")   # as any kernel is
    # killed with the zygote (set after the uid change, which clears it)
    _check(_libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0), "prctl(PDEATHSIG)")
    if os.getppid() != cfg["zygote_pid"]:
        os._exit(1)


def _child(cfg, boot, request, conn, server):
    try:
        conn.close()
        server.close()
        os.setsid()
        _confine(cfg)
        sys.argv = [os.path.join(HERE, "kernel_boot.py")]   # as in a kernel started the plain way
        release = os.path.join(cfg["releases"], request["assignment"])
        boot.start_kernel(release=release, home=cfg["home"], mpl=cfg["mpl"],
                          argv=["-f", request["connection_file"]])
        code = 0
    except SystemExit as stop:
        code = stop.code if isinstance(stop.code, int) else 1
    except BaseException as err:   # noqa: BLE001 - said on stderr, the grader sees a dead kernel
        print(f"zygote: the kernel did not start: {type(err).__name__}: {err}", file=sys.stderr, flush=True)
        code = 1
    os._exit(code)


# ---------------------------------------------------------------------- the zygote
def _kill_others():
    """SIGKILL every process of the namespace except its init (pid 1) and this one, and
    reap them (this process is their subreaper), until none is left."""
    me = os.getpid()
    for _ in range(200):
        others = [int(p) for p in os.listdir("/proc") if p.isdigit() and int(p) not in (1, me)]
        if not others:
            return
        for pid in others:
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
        _reap()
        select.select([], [], [], 0.01)


def _mount_points():
    with open("/proc/self/mountinfo", encoding="utf-8") as f:
        return {line.split()[4].replace("\\040", " ") for line in f}


def _wipe(top="/tmp"):
    """Empty ``top`` (the sandbox's shared /tmp) but for the folders mounted inside it
    (the runtime folder, a Python under /tmp) and the folders that lead to them."""
    points = {p for p in _mount_points() if p.startswith(top + "/")}
    leads = {parent for p in points for parent in _parents(p, top)}
    stack = [top]
    while stack:
        for entry in os.scandir(stack.pop()):
            if entry.path in points:
                continue
            if entry.path in leads:
                stack.append(entry.path)
                continue
            try:
                if entry.is_dir(follow_symlinks=False):
                    shutil.rmtree(entry.path, ignore_errors=True)
                else:
                    os.unlink(entry.path)
            except OSError:
                pass


def _parents(path, top):
    out = []
    parent = os.path.dirname(path)
    while parent != top and parent.startswith(top + "/"):
        out.append(parent)
        parent = os.path.dirname(parent)
    return out


def _reap():
    """Reap dead children; returns {pid: wait status}."""
    done = {}
    while True:
        try:
            pid, status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return done
        if pid == 0:
            return done
        done[pid] = status


def _send(conn, msg):
    try:
        conn.sendall((json.dumps(msg) + "\n").encode())
    except OSError:
        pass


def _read_request(conn, token):
    """One JSON line from the launcher, within 10 s, carrying the token."""
    conn.settimeout(10)
    data = b""
    while not data.endswith(b"\n") and len(data) < 65536:
        chunk = conn.recv(4096)
        if not chunk:
            return None
        data += chunk
    conn.settimeout(None)
    req = json.loads(data)
    if not isinstance(req, dict) or req.get("token") != token:
        return None
    return req


def _serve_one(cfg, boot, conn, server, token):
    req = _read_request(conn, token)
    if req is None:
        return
    if req.get("ping"):
        _send(conn, {"pong": os.getpid()})
        return
    name = str(req.get("assignment", ""))
    if not name or "/" in name or name.startswith("."):
        _send(conn, {"error": f"bad assignment name {name!r}"})
        return
    _kill_others()
    _wipe("/tmp")
    cfg["zygote_pid"] = os.getpid()
    pid = os.fork()
    if pid == 0:
        _child(cfg, boot, req, conn, server)
    _send(conn, {"pid": pid})
    status = None
    try:
        while status is None:
            ready, _, _ = select.select([conn], [], [], 0.05)
            status = _reap().get(pid)
            if status is not None or conn not in ready:
                continue
            line = conn.recv(4096)
            if not line:              # the launcher was killed: so is the kernel
                break
            for part in line.decode(errors="replace").splitlines():
                try:
                    sig = int(json.loads(part).get("signal", 0))
                except (ValueError, AttributeError):
                    continue
                if sig in (signal.SIGINT, signal.SIGTERM, signal.SIGKILL):
                    try:
                        os.kill(pid, sig)
                    except OSError:
                        pass
        if status is not None:
            _send(conn, {"exit": os.waitstatus_to_exitcode(status)})
    finally:
        _kill_others()


def main(argv):
    cfg = json.loads(argv[0])
    token = sys.stdin.readline().strip()
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 0)                  # the kernels read nothing, as a kernel Jupyter starts
    os.close(null)
    _check(_libc.prctl(PR_SET_DUMPABLE, 0, 0, 0, 0), "prctl(DUMPABLE)")
    _check(_libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0), "prctl(CHILD_SUBREAPER)")
    os.chdir(cfg["home"])
    boot = _boot_module()
    boot.preload(cfg["mpl"])
    path = os.path.join(cfg["control"], "zygote.sock")
    if os.path.exists(path):
        os.unlink(path)
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(path)
    os.chmod(path, 0o600)
    server.listen(4)
    print("ready", flush=True)
    os.dup2(2, 1)   # the worker reads no more: what the kernels write to fd 1 goes to the log
    while True:
        conn, _ = server.accept()
        try:
            _serve_one(cfg, boot, conn, server, token)
        except (OSError, ValueError) as err:
            print(f"zygote: a request failed: {type(err).__name__}: {err}", file=sys.stderr, flush=True)
        finally:
            conn.close()


if __name__ == "__main__":
    main(sys.argv[1:])
