"""The grader's trusted path into the kernel: an audit hook installed before any student code.

Student code shares the kernel's interpreter, so every Python-level link between the
grader's request and the interpreter (IPython's input transformers, AST transformers,
``run_cell``, ``transform_cell``, the kernel's execute handler, the ``__autograder_guard__``
module ...) can be replaced by it. An audit hook (``sys.addaudithook``) cannot be removed
or replaced from Python, and it is called synchronously by ``sys.audit``; :func:`install`
puts one in place at kernel start and everything the grader must trust runs inside it:

- ``handshake`` (the grader's first request, before any notebook cell) hands the grader a
  random key and snapshots the shell's execution path (transformer lists, methods of the
  shell, kernel and compiler, the kernel's message handlers); a second handshake gets
  nothing;
- ``run(nonce, blob, kind)``: the grader sends every read-only course cell and test cell
  as a one-line stub carrying its source *encrypted* with the key (a student hook that
  prints every cell sees ciphertext). The hook puts back everything student code replaced,
  decrypts, compiles with the interpreter's own ``compile`` (no transformer in between)
  and runs the code in a fresh thread, so a function the test calls cannot walk up to the
  hook's frame. For a test it then checks again what changed *during* the test. The
  outcome (error or not, what was put back, what changed) is stored as a receipt signed
  with the key (HMAC-SHA256) under the grader's nonce;
- ``receipt(nonce)``: returns that receipt. A stub that never reached the hook, a forged
  or replayed receipt, or a source digest that is not the instructor's is detected by the
  grader (:mod:`autograder.sandbox.execute`), and that cell scores 0.

The hook also refuses what would let student code reach its key: adding audit hooks,
``sys.settrace``/``setprofile``, ``sys._current_frames``, the ``gc`` object graph,
replacing a function's ``__code__``, and frame introspection in the main thread while
the hook runs; each refusal is reported in the next receipt, as are ``ctypes`` memory
access and Python threads left running during a test (flagged for a person to look at).
Secrets live only in this function's closures (no module globals, no class a student
could patch), and only functions captured at install time are used on them. Reading and
rewriting the interpreter's memory through ``ctypes`` can defeat any in-process check:
that is out of scope (see GRADING.md, threat model).

Standalone on purpose: it runs inside the sandbox, where the course repository is not.
"""


def install(guarded_modules):
    """Install the hook and return the public ``__autograder_guard__`` module."""
    import _thread
    import ast
    import binascii
    import builtins
    import contextvars
    import importlib
    import os
    import sys
    import types
    from _hashlib import hmac_digest, openssl_sha256

    from IPython.core.getipython import get_ipython

    # C functions and types captured before any student code can replace them
    _audit, _addhook, _ident = sys.audit, sys.addaudithook, _thread.get_ident
    _type, _id, _len, _str, _repr, _tuple, _list, _set = type, id, len, str, repr, tuple, list, set
    _isinstance, _getattr, _setattr, _delattr, _vars = isinstance, getattr, setattr, delattr, vars
    _bytes, _zip, _callable, _compile = bytes, zip, callable, compile
    _BaseException, _RuntimeError, _Code = BaseException, RuntimeError, types.CodeType
    _FunctionType, _Module, _Interactive, _Expr = types.FunctionType, ast.Module, ast.Interactive, ast.Expr
    _unhex, _start, _lock = binascii.unhexlify, _thread.start_new_thread, _thread.allocate_lock
    _copy_context = contextvars.copy_context
    _ONLY_AST, _dict, _object, _any, _Exception = ast.PyCF_ONLY_AST, dict, object, any, Exception
    _ModuleType, _BuiltinFunctionType = types.ModuleType, types.BuiltinFunctionType
    _METHODS = (types.FunctionType, classmethod, staticmethod, property, types.MethodType)
    _frames, _sleep = sys._current_frames, __import__("time").sleep
    _MISSING = _object()
    REBOUND = ("input", "exit", "quit", "get_ipython")
    # torch's grad mode is per thread: a grader cell runs in a thread of its own, so the mode
    # the notebook set (torch.set_grad_enabled(False) in a setup cell) is carried in and out
    _torch = sys.modules.get("torch")
    _grad_get = _getattr(_getattr(_torch, "_C", None), "is_grad_enabled", None)
    _grad_set = _getattr(_getattr(_torch, "_C", None), "_set_grad_enabled", None)
    if _grad_get is None or _grad_set is None:
        _grad_get = _grad_set = None
    runner, tools = _runner, (exec, type, str, BaseException, _grad_get, _grad_set)
    _main = _ident()
    _builtins_mod, _builtins = builtins, {}   # snapshot at the handshake (IPython adds exit, quit ...)
    _modules = sys.modules

    key = os.urandom(32)
    state = {"armed": False, "busy": False, "self": False, "shell": None, "ns": None}
    path = {}            # handshake snapshot of the execution path
    modules = {}         # guarded module -> (module, {name: original})
    names = {}           # notebook names bound by course cells
    receipts = {}        # nonce -> (payload, mac)
    used = _set()        # nonces seen
    flags = []           # what the hook refused or saw, in order, once each

    for name in guarded_modules:
        try:
            mod = importlib.import_module(name)
        except Exception:
            continue
        modules[name] = (mod, {k: v for k, v in _vars(mod).items() if _callable(v) and not k.startswith("__")})

    def flag(text):
        if text not in flags:
            flags.append(text)

    def sha(data):
        return openssl_sha256(data).hexdigest()

    def keystream(nonce, n):
        out, i = [], 0
        while _len(out) * 32 < n:
            out.append(openssl_sha256(key + nonce + i.to_bytes(8, "big")).digest())
            i += 1
        return b"".join(out)[:n]

    # ---------------------------------------------------------------- execution path
    def path_objects(shell):
        kernel = _getattr(shell, "kernel", None)
        objs = [("shell", shell), ("shell.input_transformer_manager", shell.input_transformer_manager),
                ("shell.compile", shell.compile)]
        if kernel is not None:
            objs.append(("kernel", kernel))
        return objs

    def snapshot_path(shell):
        path["objs"] = path_objects(shell)
        path["attrs"] = {label: _dict(_vars(obj)) for label, obj in path["objs"]}
        classes = []
        for _label, obj in path["objs"]:
            for cls in _type(obj).__mro__:
                if cls is not _object and cls not in classes:
                    classes.append(cls)
        path["classes"] = [(cls, _dict(_vars(cls))) for cls in classes]
        manager = shell.input_transformer_manager
        path["lists"] = [(label, owner, attr, _list(_getattr(owner, attr)))
                         for label, owner, attr in (
                             ("an IPython input transformer (input_transformers_cleanup)", manager,
                              "cleanup_transforms"),
                             ("an IPython input transformer (line_transforms)", manager, "line_transforms"),
                             ("an IPython token transformer", manager, "token_transformers"),
                             ("an IPython input transformer (input_transformers_post)", shell,
                              "input_transformers_post"),
                             ("an IPython AST transformer (ast_transformers)", shell, "ast_transformers"))]
        kernel = _getattr(shell, "kernel", None)
        path["handlers"] = ([(kernel, attr, _dict(_getattr(kernel, attr))) for attr in
                             ("shell_handlers", "control_handlers") if _isinstance(_getattr(kernel, attr, None), _dict)]
                            if kernel is not None else [])

    def is_method(v):
        return _isinstance(v, _METHODS)

    def restore_path(changed):
        if not path:
            return
        shell = state["shell"]
        for label, owner, attr, items in path["lists"]:
            current = _getattr(owner, attr, None)
            if _type(current) is not _list:
                _setattr(owner, attr, _list(items))
                changed.append(f"{label} (the list was replaced)")
            elif _len(current) != _len(items) or _any(a is not b for a, b in _zip(current, items)):
                current[:] = items
                changed.append(label)
        for label, obj in path["objs"]:
            attr = label.split(".", 1)[1] if "." in label else label
            if label != "shell" and _getattr(shell, attr, None) is not obj:
                _setattr(shell, attr, obj)
                changed.append(f"shell.{attr}")
        for label, obj in path["objs"]:
            before = path["attrs"][label]
            d = _vars(obj)
            cls = _type(obj)
            for k in _list(d):
                if k.startswith("__") or k in ("_trait_values", "_trait_notifiers", "_trait_validators"):
                    continue
                v = d[k]
                if before.get(k, _MISSING) is v:
                    continue
                if _callable(v) and is_method(_getattr(cls, k, None)):
                    if k in before:
                        d[k] = before[k]
                    else:
                        del d[k]
                    changed.append(f"{label}.{k}")
        for cls, before in path["classes"]:
            d = _vars(cls)
            for k, v in before.items():
                if d.get(k, _MISSING) is not v and (is_method(v) or _callable(v)):
                    _setattr(cls, k, v)
                    changed.append(f"{cls.__name__}.{k} (class)")
            for k in _list(d):
                if k not in before and (is_method(d[k]) or _callable(d[k])):
                    _delattr(cls, k)
                    changed.append(f"{cls.__name__}.{k} (added to the class)")
        for kernel, attr, before in path["handlers"]:
            current = _getattr(kernel, attr)
            for k, v in before.items():
                if current.get(k, _MISSING) is not v:
                    current[k] = v
                    changed.append(f"the kernel's {k} handler")

    # ---------------------------------------------------------------- restore
    def from_student(cb):
        func = _getattr(cb, "__func__", cb)
        code = _getattr(func, "__code__", None)
        filename = code.co_filename if _type(code) is _Code else ""
        module = _getattr(func, "__module__", None)
        return (module in ("__main__", None) or (_type(filename) is _str and (
            filename.startswith("<ipython-input") or "/ipykernel_" in filename)))

    def restore():
        changed = []
        b = _vars(_builtins_mod)
        for k, v in _builtins.items():
            if b.get(k, _MISSING) is not v:
                b[k] = v
                changed.append(f"builtins.{k}")
        for name, (mod, attrs) in modules.items():
            if _modules.get(name) is not mod:
                _modules[name] = mod
                changed.append(f"sys.modules[{name!r}]")
            d = _vars(mod)
            for k, v in attrs.items():
                if d.get(k, _MISSING) is not v:
                    d[k] = v
                    changed.append(f"{name}.{k}")
        if _getattr(sys, "audit", None) is not _audit:   # the stubs call it
            sys.audit = _audit
            changed.append("sys.audit")
        if _modules.get("__autograder_guard__") is not guard:
            _modules["__autograder_guard__"] = guard
            changed.append("the grader's guard module")
        shell, ns = state["shell"], state["ns"]
        if shell is None:
            return changed
        if shell.user_ns is not ns:
            shell.user_ns = ns
            changed.append("the notebook's namespace")
        if ns.get("__builtins__") is not _builtins_mod:
            ns["__builtins__"] = _builtins_mod
            changed.append("the notebook's __builtins__")
        for k, v in names.items():
            if ns.get(k, _MISSING) is not v:
                ns[k] = v
                changed.append(f"notebook name {k!r}")
        try:
            for event, cbs in shell.events.callbacks.items():
                mine = [cb for cb in cbs if from_student(cb)]
                for cb in mine:
                    cbs.remove(cb)
                if mine:
                    changed.append(f"IPython {event} hook")
        except _Exception:
            changed.append("IPython's event hooks (unreadable)")
        restore_path(changed)
        return changed

    # ---------------------------------------------------------------- running a cell
    def compile_cell(src, kind):
        filename = "<hidden test>" if kind == "test" else "<course cell>"
        tree = _compile(src, filename, "exec", _ONLY_AST, dont_inherit=True)
        body = tree.body
        if body and _type(body[-1]) is _Expr:
            codes = [_compile(_Module(body=body[:-1], type_ignores=[]), filename, "exec", dont_inherit=True),
                     _compile(_Interactive(body=body[-1:]), filename, "single", dont_inherit=True)]
        else:
            codes = [_compile(tree, filename, "exec", dont_inherit=True)]
        return codes

    def threads():
        state["self"] = True   # our own look at the threads (refused to student code)
        try:
            return _set(_frames())
        finally:
            state["self"] = False

    def run_in_thread(codes, ns, kind):
        result, done = [None, _grad_get() if _grad_get is not None else None], _lock()
        done.acquire()
        tid = _start(runner, (codes, ns, result, done, _copy_context(), tools))
        done.acquire()
        while tid in threads():   # the thread really ended: nothing released it early
            _sleep(0.001)
        if kind == "test":
            others = threads() - state["threads"]
            if others:   # such a thread could change what the test relies on while it runs
                flag(f"review: {_len(others)} Python thread(s) started by notebook code were running "
                     "while a test ran")
        if _grad_set is not None and _type(result[1]) is bool:
            _grad_set(result[1])      # the mode the cell left, as if it had run in this thread
        outcome = result[0]
        if _type(outcome) is not _tuple or _len(outcome) != 3 or _any(_type(x) is not _str for x in outcome):
            return ("error", "KernelStopped", "the cell's thread did not report")
        return outcome

    def run(nonce, blob, kind):
        if not state["armed"] or _type(nonce) is not _str or _type(blob) is not _str or nonce in used:
            flag("refused: replayed a grader request")
            return
        used.add(nonce)
        state["busy"] = True
        try:
            before = restore()
            try:
                data = _unhex(blob)
                src = _bytes(a ^ b for a, b in _zip(data, keystream(_unhex(nonce), _len(data)))).decode("utf-8")
                digest = sha(src.encode("utf-8"))
                codes = compile_cell(src, kind)
                del src
            except _BaseException as err:
                receipts[nonce] = sign((nonce, kind, "", "error", "GraderError", _str(_type(err).__name__),
                                        _tuple(before), (), _tuple(flags)))
                return
            mark = {k: _id(v) for k, v in state["ns"].items()} if kind == "course" else None
            status, ename, evalue = run_in_thread(codes, state["ns"], kind)
            during = _tuple(restore()) if kind == "test" else ()
            if mark is not None:
                for k, v in state["ns"].items():
                    if not k.startswith("_") and mark.get(k) != _id(v) and (
                            _isinstance(v, (_FunctionType, _ModuleType, _type))
                            or _type(v) is _BuiltinFunctionType):
                        names[k] = v
            receipts[nonce] = sign((nonce, kind, digest, status, ename, evalue, _tuple(before), during,
                                    _tuple(flags)))
        finally:
            state["busy"] = False

    def sign(fields):
        payload = _repr(_tuple(_str(f) if _type(f) is not _tuple else _tuple(_str(x) for x in f) for f in fields))
        return (payload, hmac_digest(key, payload.encode("utf-8"), "sha256").hex())

    # ---------------------------------------------------------------- the hook
    DENIED = {"sys.settrace": "tried to trace execution (sys.settrace)",
              "sys.setprofile": "tried to profile execution (sys.setprofile)",
              "sys._current_frames": "tried to read other threads' frames (sys._current_frames)",
              "gc.get_objects": "tried to walk the interpreter's objects (gc.get_objects)",
              "gc.get_referrers": "tried to walk the interpreter's objects (gc.get_referrers)",
              "gc.get_referents": "tried to walk the interpreter's objects (gc.get_referents)"}
    FRAME_ATTRS = ("tb_frame", "gi_frame", "cr_frame", "ag_frame")
    CTYPES = {"ctypes.cdata": "ctypes.from_address", "ctypes.string_at": "ctypes.string_at",
              "ctypes.wstring_at": "ctypes.wstring_at", "ctypes.cdata/buffer": "ctypes.from_buffer"}

    def hook(event, args):
        if not event.startswith(("autograder.", "sys.", "gc.", "object.", "ctypes.")):
            return
        if event == "autograder.run":
            if _len(args) == 3:
                run(args[0], args[1], "test" if args[2] == "test" else "course")
            return
        if event == "autograder.receipt":
            if _len(args) == 2 and _type(args[1]) is _list:
                args[1].append(receipts.pop(args[0], None) if _type(args[0]) is _str else None)
            return
        if event == "autograder.restore":
            if _len(args) == 1 and _type(args[0]) is _list:
                args[0].extend(restore())
            return
        if event == "autograder.handshake":
            if _len(args) == 1 and _type(args[0]) is _list:
                if state["armed"]:
                    flag("refused: called the grader's handshake")
                    return
                shell = get_ipython()
                state["shell"], state["ns"] = shell, shell.user_ns
                # rebound by IPython and ipykernel around every request: not a student's doing
                _builtins.update((k, v) for k, v in _vars(_builtins_mod).items() if k not in REBOUND)
                snapshot_path(shell)
                state["threads"] = threads()
                state["armed"] = True
                args[0].append(key.hex())
            return
        if not state["armed"]:
            return
        if event == "sys.addaudithook":
            flag("refused: tried to add an audit hook (sys.addaudithook)")
            raise _RuntimeError("the grader does not allow audit hooks")
        if event in DENIED:
            if state["self"] and _ident() == _main:
                return
            flag("refused: " + DENIED[event])
            raise _RuntimeError("not allowed while grading")
        if event in CTYPES:
            flag(f"review: read or wrote the interpreter's memory through ctypes ({CTYPES[event]})")
            return
        if event == "sys._getframe" or (event == "object.__getattr__" and _len(args) >= 2
                                         and args[1] in FRAME_ATTRS):
            if state["busy"] and _ident() == _main:   # only the hook itself runs there now
                flag("refused: inspected the grader's frames while a cell ran")
                raise _RuntimeError("not allowed while grading")
            return
        if event == "object.__setattr__" and _len(args) >= 2 and args[1] == "__code__":
            flag("refused: replaced a function's __code__")
            raise _RuntimeError("replacing __code__ is not allowed while grading")

    _addhook(hook)

    guard = types.ModuleType("__autograder_guard__")
    guard.__doc__ = "The grader's side of the kernel (see kernel_sentinel.py); every call goes through sys.audit."

    def handshake(_audit=_audit):
        box = []
        _audit("autograder.handshake", box)
        return box[0] if box else ""

    def restore_now(_audit=_audit):
        box = []
        _audit("autograder.restore", box)
        return box

    def receipt(nonce, _audit=_audit):
        box = []
        _audit("autograder.receipt", nonce, box)
        return box[0] if box else None

    guard.handshake, guard.restore, guard.receipt = handshake, restore_now, receipt
    return guard


def _runner(codes, ns, result, done, ctx, tools):
    """Runs a grader cell's code objects in their own thread (no frame of the hook above
    them) and reports ``(status, ename, evalue)``; student code the cell calls runs here.
    Uses only what it is given (``tools``), never a global a student could rebind."""
    exec_, type_, str_, base, grad_get, grad_set = tools
    try:
        try:
            if grad_set is not None and type_(result[1]) is bool:
                grad_set(result[1])   # the notebook's grad mode (per thread in torch)
            for code in codes:
                ctx.run(exec_, code, ns)
            result[0] = ("ok", "", "")
        except base as err:   # the cell's outcome, whatever it raised
            try:
                ename = type_(err).__name__
                evalue = str_(err)
            except base:       # a hostile __str__
                ename, evalue = "Exception", "(the error could not be shown)"
            if type_(ename) is not str_ or type_(evalue) is not str_:
                ename, evalue = "Exception", "(the error could not be shown)"
            result[0] = ("error", ename[:200], evalue[:2000])
    finally:
        try:
            result[1] = grad_get() if grad_get is not None else None
        except base:
            result[1] = None
        done.release()
