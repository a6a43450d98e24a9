"""First code that runs inside the grading sandbox, as the kernel's unprivileged user.

    kernel_boot.py --release DIR --home DIR --mpl DIR -- -f CONNECTION_FILE
    kernel_boot.py --probe '["/path/that/must/be/hidden", ...]' --release ... --

It copies the assignment's release material into the scratch home (the kernel's
working folder), seeds the Matplotlib font cache, installs the *guard* and starts
ipykernel. With ``--probe`` it instead prints, as JSON, what a student's code could do
here (its uid, whether the network is reachable, which secret paths it can see) and
exits: the grader runs that once to learn which protections really hold.

The guard snapshots, before any student code runs, the builtins and the functions the
tests lean on (``torch.allclose``, ``torch.testing``, ``numpy.allclose``,
``encoder_lib.checks`` ...). After every read-only course cell the grader
calls ``__autograder_guard__.remember()`` (the helpers and imports that cell bound in
the notebook), and before every test cell ``restore()``, silently: anything student
code replaced (a builtin, ``torch.allclose``, a course helper rebound in the notebook,
an IPython hook it added) is put back, and the names are returned for the report. It is a
safeguard against the common tricks, not a security boundary (that is the sandbox).

Standalone on purpose: inside the sandbox the course repository is not visible.
"""
import builtins
import importlib
import json
import os
import shutil
import sys
import types

GUARDED_MODULES = ("torch", "torch.nn.functional", "torch.testing", "numpy", "numpy.testing",
                   "math", "encoder_lib.checks")


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


class _Guard:
    """Originals of guarded functions, and a way to put them back."""

    def __init__(self):
        self.builtins = dict(vars(builtins))
        self.modules = {}
        for name in GUARDED_MODULES:
            try:
                mod = importlib.import_module(name)
            except Exception:
                continue
            attrs = {k: v for k, v in vars(mod).items()
                     if callable(v) and not k.startswith("__")}
            self.modules[name] = (mod, attrs)
        self.names = {}   # notebook names bound by the course's read-only cells

    def remember(self):
        """Called after each read-only course cell: the functions, classes and modules
        it left in the notebook's namespace are the course's, not the student's."""
        import inspect
        ns = get_ipython_shell().user_ns
        for k, v in list(ns.items()):
            if k.startswith("_"):
                continue
            if inspect.isfunction(v) or inspect.isbuiltin(v) or inspect.ismodule(v) or isinstance(v, type):
                self.names[k] = v
        return len(self.names)

    def restore(self):
        """Undo tampering; return the names that had been replaced."""
        changed = []
        b = vars(builtins)
        for k, v in self.builtins.items():
            if b.get(k, _MISSING) is not v:
                b[k] = v
                changed.append(f"builtins.{k}")
        for name, (mod, attrs) in self.modules.items():
            if sys.modules.get(name) is not mod:
                sys.modules[name] = mod
                changed.append(f"sys.modules[{name!r}]")
            d = vars(mod)
            for k, v in attrs.items():
                if d.get(k, _MISSING) is not v:
                    setattr(mod, k, v)
                    changed.append(f"{name}.{k}")
        try:
            ns = get_ipython_shell().user_ns
            for k, v in self.names.items():
                if ns.get(k, _MISSING) is not v:
                    ns[k] = v
                    changed.append(f"notebook name {k!r}")
        except Exception:
            pass
        try:
            shell = get_ipython_shell()
            for event, cbs in shell.events.callbacks.items():
                mine = [cb for cb in cbs if _from_student(cb)]
                for cb in mine:
                    cbs.remove(cb)
                if mine:
                    changed.append(f"IPython {event} hook")
        except Exception:
            pass
        if sys.gettrace() is not None:
            sys.settrace(None)
            changed.append("sys.settrace")
        return changed


_MISSING = object()


def _from_student(cb):
    """True for event callbacks defined in a notebook cell (not by a library)."""
    func = getattr(cb, "__func__", cb)
    code = getattr(func, "__code__", None)
    filename = code.co_filename if code is not None else ""
    module = getattr(func, "__module__", None)
    return (module in ("__main__", None) or filename.startswith("<ipython-input")
            or "/ipykernel_" in filename)


def get_ipython_shell():
    from IPython import get_ipython
    return get_ipython()


def _install_guard():
    guard = _Guard()
    mod = types.ModuleType("__autograder_guard__")
    mod.restore = guard.restore
    mod.remember = guard.remember
    sys.modules["__autograder_guard__"] = mod
    return guard


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
    guard = _install_guard()
    from ipykernel.kernelapp import IPKernelApp
    app = IPKernelApp.instance()
    app.initialize(["--IPKernelApp.quiet=True", "--HistoryManager.hist_file=:memory:", *rest])
    app.start()


if __name__ == "__main__":
    main(sys.argv[1:])
