"""First code that runs inside the grading sandbox, as the kernel's unprivileged user.

    kernel_boot.py --release DIR --home DIR --mpl DIR -- -f CONNECTION_FILE
    kernel_boot.py --probe '["/path/that/must/be/hidden", ...]' --release ... --

It copies the assignment's release material into the scratch home (the kernel's
working folder), seeds the Matplotlib font cache, makes the test probes' reporting
module importable (``kernel_probe.py``, loaded from beside this script, as
``__autograder_probe__``) and starts ipykernel. With ``--probe`` it instead prints, as
JSON, what a student's code could do here (its uid, whether the network is reachable,
which secret paths it can see) and exits: the grader runs that once to learn which
protections really hold.

Standalone on purpose: inside the sandbox the course repository is not visible.
"""
import json
import os
import shutil
import sys

def _copy_release(release, home):
    if not release or not os.path.isdir(release):
        return
    for name in os.listdir(release):
        src, dst = os.path.join(release, name), os.path.join(home, name)
        if os.path.exists(dst) or name.endswith(".ipynb"):
            continue
        if os.path.isdir(src):
            shutil.copytree(src, dst)
        else:
            shutil.copyfile(src, dst)


def _seed_mpl_cache(mpl):
    target = os.environ.get("MPLCONFIGDIR")
    if not target:
        return
    os.makedirs(target, exist_ok=True)
    if mpl and os.path.isdir(mpl):
        for name in os.listdir(mpl):
            src = os.path.join(mpl, name)
            if os.path.isfile(src):
                shutil.copyfile(src, os.path.join(target, name))


def _install_probe():
    """The ``__autograder_probe__`` module test cells report through (kernel_probe.py)."""
    import importlib.util

    # python -I (as the sandbox runs it) does not put this script's folder on sys.path
    spec = importlib.util.spec_from_file_location(
        "kernel_probe", os.path.join(os.path.dirname(os.path.abspath(__file__)), "kernel_probe.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.install()


def _probe(secrets):
    import socket
    blocked = True
    try:
        s = socket.create_connection(("1.1.1.1", 53), timeout=2)
        s.close()
        blocked = False
    except OSError:
        pass
    visible = [p for p in secrets if os.path.exists(p)]
    import ipykernel  # noqa: F401  the kernel must be importable
    import encoder_lib  # noqa: F401
    print(json.dumps({"uid": os.getuid(), "network_blocked": blocked, "visible": visible}))


def main(argv):
    opts, rest = {}, []
    it = iter(argv)
    for a in it:
        if a == "--":
            rest = list(it)
            break
        opts[a] = next(it, "")
    home = opts.get("--home") or os.getcwd()
    os.makedirs(home, exist_ok=True)
    os.chdir(home)
    if "--probe" in opts:
        _probe(json.loads(opts["--probe"]))
        return
    _copy_release(opts.get("--release"), home)
    _seed_mpl_cache(opts.get("--mpl"))
    # the script's own folder must not shadow anything; the notebook's folder is ''
    sys.path[:] = [p for p in sys.path if p and os.path.abspath(p) != os.path.dirname(__file__)]
    _install_probe()
    from ipykernel.kernelapp import IPKernelApp
    app = IPKernelApp.instance()
    app.initialize(["--IPKernelApp.quiet=True", "--HistoryManager.hist_file=:memory:", *rest])
    app.start()


if __name__ == "__main__":
    main(sys.argv[1:])
