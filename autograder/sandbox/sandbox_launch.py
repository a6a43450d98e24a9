"""Kernelspec entry point of the grading sandbox (runs as the grader, then ``exec``s).

Jupyter starts ``python sandbox_launch.py <connection_file>``. This reads the
per-notebook policy named by ``$AUTOGRADER_SANDBOX_POLICY`` (written by the worker),
copies the connection file so the kernel's unprivileged user can read it, and replaces
itself with the confining command (bubblewrap / prlimit / setpriv / kernel_boot.py).
Because it ``exec``s, the process Jupyter manages *is* the sandbox: killing it (on a
timeout or at shutdown) tears down everything inside.

When the policy names the worker's zygote (``zygote_boot.py``), it first asks that for
a kernel instead and stays as its stand-in: it passes SIGINT and SIGTERM on, exits with
the kernel's exit status, and when it is killed its connection closes, on which the
zygote kills the kernel and everything it started. If the zygote does not answer, it
starts the per-notebook sandbox as above: a broken zygote costs time, not the notebook.

Standalone on purpose: it imports nothing from the course.
"""
import json
import os
import shutil
import signal
import socket
import sys


def ask_zygote(zygote, conn):
    """A connection to the zygote with a kernel forked for ``conn``, or None."""
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        s.settimeout(30)
        s.connect(zygote["socket"])
        s.sendall((json.dumps({"token": zygote["token"], "connection_file": conn,
                               "assignment": zygote["assignment"]}) + "\n").encode())
        reply = b""
        while not reply.endswith(b"\n"):
            chunk = s.recv(4096)
            if not chunk:
                break
            reply += chunk
        if "pid" in json.loads(reply or b"{}"):
            s.settimeout(None)
            return s
        sys.stderr.write(f"sandbox_launch: the zygote refused: {reply[:200]!r}\n")
    except (OSError, ValueError) as err:
        sys.stderr.write(f"sandbox_launch: no answer from the zygote ({err})\n")
    s.close()
    return None


def stand_in(s):
    """Pass signals to the forked kernel; exit with its status."""
    def forward(signum, _frame):
        try:
            s.sendall((json.dumps({"signal": signum}) + "\n").encode())
        except OSError:
            pass
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, forward)
    data = b""
    while True:
        try:
            chunk = s.recv(4096)
        except InterruptedError:
            continue
        if not chunk:
            sys.exit(1)
        data += chunk
        for line in data.split(b"\n")[:-1]:
            msg = json.loads(line)
            if "exit" in msg:
                code = msg["exit"]
                sys.exit(code if code >= 0 else 128 - code)


def main(argv):
    if len(argv) != 2:
        sys.exit("usage: sandbox_launch.py CONNECTION_FILE")
    with open(os.environ["AUTOGRADER_SANDBOX_POLICY"], encoding="utf-8") as f:
        policy = json.load(f)
    conn = argv[1]
    uid = policy["uid"]
    if uid is not None:
        copy = os.path.join(policy["runtime_dir"], "box-" + os.path.basename(conn))
        shutil.copyfile(conn, copy)
        os.chown(copy, uid, uid)
        os.chmod(copy, 0o600)
        conn = copy
    if policy.get("zygote"):
        s = ask_zygote(policy["zygote"], conn)
        if s is not None:
            stand_in(s)
    args = [conn if a == "{connection_file}" else a for a in policy["argv"]]
    i = args.index("{boot_args}")
    args[i:i + 1] = []
    os.execvpe(args[0], args, policy["env"])


if __name__ == "__main__":
    main(sys.argv)
