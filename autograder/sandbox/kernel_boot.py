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

#: What every notebook's kernel imports before or in its setup cell. A grading worker's
#: zygote (``zygote_boot.py``) imports these once and forks each kernel from itself; the
#: sandbox's memory limit counts them as the kernel's own (``sandbox.kernel_baseline_mb``).
PRELOAD = ("torch", "torch.nn.functional", "torch._dynamo", "numpy", "matplotlib.pyplot",
           "ipykernel.kernelapp", "encoder_lib", "encoder_lib.checks", "encoder_lib.checks.plain",
           "encoder_lib.notebook", "encoder_lib.device", "encoder_lib.model", "encoder_lib.model.masked_lm",
           "encoder_lib.tokenizer", "encoder_lib.pretrained", "encoder_lib.pretrain",
           "encoder_lib.pretrain.train", "encoder_lib.finetune", "encoder_lib.context_tasks",
           "encoder_lib.probe", "encoder_lib.data", "encoder_lib.data.wic", "encoder_lib.data.heldout",
           "encoder_lib.viz", "encoder_lib.viz.fill_mask", "encoder_lib.viz.loss_curve")

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


def preload(mpl):
    """Import :data:`PRELOAD` (with Matplotlib's font cache seeded first) and load the
    course's data tables (``encoder_lib.data.load_tables``). What fails here is left for
    the notebook to meet, as it would without a zygote."""
    import importlib

    _seed_mpl_cache(mpl)
    for name in PRELOAD:
        try:
            importlib.import_module(name)
        except Exception:   # noqa: BLE001
            pass
    try:
        importlib.import_module("encoder_lib.data").load_tables()
    except Exception:   # noqa: BLE001
        pass


def start_kernel(release, home, mpl, argv):
    """Copy the release material into ``home`` (the kernel's working folder), make the
    probes' module importable and run ipykernel with ``argv`` until it exits."""
    os.makedirs(home, exist_ok=True)
    os.chdir(home)
    _copy_release(release, home)
    _seed_mpl_cache(mpl)
    # the script's own folder must not shadow anything; the notebook's folder is ''
    sys.path[:] = [p for p in sys.path if p and os.path.abspath(p) != os.path.dirname(__file__)]
    _install_probe()
    from ipykernel.kernelapp import IPKernelApp
    app = IPKernelApp.instance()
    # figures are not drawn: the student's feedback shows the figures of their own run
    # (``course/feedback.py``), so drawing the grading run's would only cost time; a
    # figure shows as its text, "<Figure size ... with N Axes>"
    app.config.InlineBackend.figure_formats = set()
    app.initialize(["--IPKernelApp.quiet=True", "--HistoryManager.hist_file=:memory:", *argv])
    app.start()


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
    start_kernel(opts.get("--release"), home, opts.get("--mpl"), rest)


if __name__ == "__main__":
    main(sys.argv[1:])
