"""Kernelspec entry point of the grading sandbox (runs as the grader, then ``exec``s).

Jupyter starts ``python sandbox_launch.py <connection_file>``. This reads the
per-notebook policy named by ``$AUTOGRADER_SANDBOX_POLICY`` (written by the worker),
copies the connection file so the kernel's unprivileged user can read it, and replaces
itself with the confining command (bubblewrap / prlimit / setpriv / kernel_boot.py).
Because it ``exec``s, the process Jupyter manages *is* the sandbox: killing it (on a
timeout or at shutdown) tears down everything inside.

Standalone on purpose: it imports nothing from the course.
"""
import json
import os
import shutil
import sys


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
    args = [conn if a == "{connection_file}" else a for a in policy["argv"]]
    i = args.index("{boot_args}")
    args[i:i + 1] = []
    os.execvpe(args[0], args, policy["env"])


if __name__ == "__main__":
    main(sys.argv)
