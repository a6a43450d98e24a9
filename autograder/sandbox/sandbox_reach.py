"""Make the folders a confined kernel needs reachable by its uid (the ``unshare`` sandbox).

Runs as root inside the kernel's fresh mount namespace, then ``exec``s the rest of the
command (prlimit / setpriv / python). A kernel with its own uid cannot pass through a
folder it may not enter: a Python installed under ``/root`` (pyenv, mode 700) would not
even find its shared ``libpython``, and a course under such a folder would hide the
kernel's scratch folder from it. For each folder the kernel's uid cannot pass through on
the way to a needed path, this covers that folder, in this namespace only, with an
empty read-only tmpfs and mounts back just the needed paths (read-only, or writable
where asked). Everything else under the covered folder disappears from the kernel's view.

    python -I sandbox_reach.py '{"uid": 64000, "ro": [...], "rw": [...]}' -- COMMAND...

Standalone on purpose: it imports nothing from the course (the grader's Python runs it).
"""
import json
import os
import stat
import subprocess
import sys
from pathlib import PurePosixPath


def can_pass(path: str, uid: int) -> bool:
    """Whether ``uid`` (its own group, no others) may pass through folder ``path``."""
    st = os.stat(path)
    if st.st_uid == uid:
        return bool(st.st_mode & stat.S_IXUSR)
    if st.st_gid == uid:
        return bool(st.st_mode & stat.S_IXGRP)
    return bool(st.st_mode & stat.S_IXOTH)


def blocking_folder(path: str, uid: int) -> str | None:
    """The outermost folder above ``path`` that ``uid`` cannot pass through, if any."""
    for folder in reversed(PurePosixPath(path).parents):   # "/", "/root", "/root/a", ...
        if not can_pass(str(folder), uid):
            return str(folder)
    return None


def mount(*args: str, fds: tuple = ()) -> None:
    # --no-canonicalize: a source under /proc/self/fd/N must not be resolved to a path
    # that the cover now hides
    subprocess.run(["mount", "--no-canonicalize", *args], check=True, pass_fds=fds)


def reach(uid: int, ro: list[str], rw: list[str]) -> list[str]:
    """Cover what blocks ``uid`` and mount the needed paths back; return the covered folders."""
    wanted = {os.path.abspath(p): False for p in ro if os.path.exists(p)}
    wanted.update({os.path.abspath(p): True for p in rw if os.path.exists(p)})
    paths = sorted(wanted)
    # a path inside another needed path comes with it
    paths = [p for p in paths if not any(p.startswith(q.rstrip("/") + "/") for q in paths if q != p)]
    covers: dict[str, list[str]] = {}
    for p in paths:
        block = blocking_folder(p, uid)
        if block:
            covers.setdefault(block, []).append(p)
    for block, inside in covers.items():
        # a handle on the folder, to reach what lies under it once it is covered
        fd = os.open(block, os.O_PATH | os.O_DIRECTORY)
        try:
            mount("-t", "tmpfs", "-o", "mode=0755,size=1m", "tmpfs", block)
            for p in inside:
                rel = os.path.relpath(p, block)
                target = os.path.join(block, rel)
                os.makedirs(os.path.dirname(target), mode=0o755, exist_ok=True)
                if os.path.isdir(f"/proc/self/fd/{fd}/{rel}"):
                    os.makedirs(target, mode=0o755, exist_ok=True)
                else:
                    open(target, "w").close()
                mount("--bind", f"/proc/self/fd/{fd}/{rel}", target, fds=(fd,))
                if not wanted[p]:
                    mount("-o", "remount,bind,ro", target)
            mount("-o", "remount,ro", block)
        finally:
            os.close(fd)
    return sorted(covers)


def main(argv: list[str]) -> None:
    if len(argv) < 3 or argv[1] != "--":
        sys.exit("usage: sandbox_reach.py SPEC_JSON -- COMMAND...")
    spec = json.loads(argv[0])
    reach(int(spec["uid"]), spec.get("ro", []), spec.get("rw", []))
    os.execvp(argv[2], argv[2:])


if __name__ == "__main__":
    main(sys.argv[1:])
