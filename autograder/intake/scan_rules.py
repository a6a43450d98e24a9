"""The table of what :mod:`autograder.intake.scan` flags: one row per construct.

Each :class:`Rule` names a construct (the short key the report shows), how it is matched
(a dotted name reached through an import, an attribute name, a method a class defines,
or a check written in the scanner), its patterns, and the sentence the instructor reads.
Adding a construct that is a name, an attribute or a dunder is one row here; the lists
below the table say what honest work may do (magics, shell commands, settings).
"""
from __future__ import annotations

import builtins
import re
from dataclasses import dataclass
from fnmatch import fnmatchcase
from functools import lru_cache

# how a rule's patterns are matched:
NAME = "name"          # a dotted name reached through an import, or its prefix (``gc`` covers ``gc.collect``)
ATTRIBUTE = "attr"     # an attribute with this name, on anything
DUNDER = "dunder"      # a method or attribute with this name defined in a class body
CHECK = "check"        # decided by the scanner's code (the patterns only document it)


@dataclass(frozen=True)
class Rule:
    construct: str              # short key shown in the report
    how: str                    # NAME, ATTRIBUTE, DUNDER or CHECK
    patterns: tuple[str, ...]   # fnmatch patterns for NAME (``os.exec*``), plain names otherwise
    detail: str                 # what the instructor reads: what it is and why only cheating needs it


RULES: tuple[Rule, ...] = (
    Rule("frame_access", NAME, ("sys._getframe", "sys._current_frames", "inspect.currentframe", "inspect.stack",
                                "inspect.getouterframes", "inspect.getinnerframes", "inspect.getframeinfo",
                                "inspect.trace", "inspect.getclosurevars", "inspect.getargvalues", "inspect.getargs",
                                "traceback.walk_stack",
                                "traceback.extract_stack", "traceback.walk_tb"),
         "reads the interpreter's call frames: no exercise needs them; they reach the local values of the "
         "test that calls this code"),
    Rule("frame_access", ATTRIBUTE, ("f_back", "f_locals", "f_globals", "f_builtins", "f_code", "f_trace",
                                     "tb_frame", "tb_next", "gi_frame", "cr_frame", "ag_frame"),
         "walks frame or traceback objects: no exercise needs them; they reach the local values of the test "
         "that calls this code"),
    Rule("code_object", ATTRIBUTE, ("__code__", "__globals__", "__closure__", "__defaults__", "__kwdefaults__",
                                    "co_consts", "co_code", "co_names", "cell_contents", "gi_code", "cr_code",
                                    "__subclasses__"),
         "reads or replaces a function's code, globals or closure: lets code change or inspect functions it "
         "does not own (a test's, a check's)"),
    Rule("code_object", NAME, ("types.CodeType", "types.FunctionType", "types.FrameType", "types.new_class",
                               "marshal", "pickle.loads", "_pickle"),
         "builds functions or objects from raw code or bytes: hides what code runs from anyone reading it"),
    Rule("builtins_access", NAME, ("builtins", "__builtin__"),
         "uses the builtins module: an answer calls len or print, it has no reason to reach or change the "
         "module behind them"),
    Rule("builtins_access", ATTRIBUTE, ("__builtins__",),
         "reaches __builtins__: the builtins every cell (tests included) uses; no answer needs it"),
    Rule("rebinds_builtin", CHECK, ("<name in dir(builtins)> = ...", "class <builtin name>"),
         "rebinds a built-in name for the whole notebook: the tests after it would use the replacement "
         "(an exception they check for, type, len, isinstance, print ...)"),
    Rule("rebinds_course_name", CHECK, ("<a function, class or module the course defined or imported> = ...",),
         "rebinds a function, class or module the course's cells defined or imported: the tests after it "
         "would call the replacement"),
    Rule("finalizer", DUNDER, ("__del__",),
         "defines a finalizer (__del__): code that runs whenever the garbage collector decides, after the "
         "cell, even while tests run"),
    Rule("finalizer", NAME, ("weakref", "atexit"),
         "registers code to run later (a weak-reference callback, a finalizer or an exit hook), outside the "
         "cell that wrote it"),
    Rule("lying_dunder", DUNDER, ("__eq__", "__ne__", "__lt__", "__le__", "__gt__", "__ge__", "__bool__",
                                  "__len__", "__hash__", "__instancecheck__", "__subclasscheck__",
                                  "__getattribute__", "__getattr__", "__class__", "__torch_function__",
                                  "__torch_dispatch__", "__array__", "__array_ufunc__", "__array_function__",
                                  "__float__", "__int__", "__index__", "__complex__"),
         "defines how its objects compare, convert or answer isinstance: no answer in these notebooks needs "
         "that, and such an object can tell a test whatever it wants to hear"),
    Rule("lying_dunder", CHECK, ("class ...(str/int/float/list/torch.Tensor ...): def __str__/__repr__/__format__",
                                 "type(name, bases, dict)", "obj.__class__ = ..."),
         "makes a value that poses as another type (a string, a number, a tensor) or changes an object's "
         "class: a test that checks the answer sees what the object chooses to show"),
    Rule("output_hook", NAME, ("sys.displayhook", "sys.excepthook", "sys.__displayhook__", "sys.__excepthook__",
                               "sys.unraisablehook", "sys.breakpointhook", "IPython.display.publish_display_data",
                               "IPython.core.display.publish_display_data",
                               "IPython.core.display_functions.publish_display_data", "IPython.core.displaypub",
                               "IPython.core.displayhook", "IPython.core.interactiveshell", "IPython.core.events",
                               "IPython.core.getipython", "IPython.get_ipython", "IPython.core.inputtransformer",
                               "IPython.core.inputtransformer2", "IPython.core.magic", "IPython.utils.capture",
                               "ipykernel", "jupyter_client", "zmq", "comm"),
         "reaches the kernel's display, error or message machinery: an answer shows results with print or "
         "display; this can fake or hide what a cell shows"),
    Rule("output_hook", CHECK, ("'application/vnd.autograder...' in code", "display(..., raw=True)"),
         "writes raw output messages or names the grader's own output channel (application/vnd.autograder)"),
    Rule("ipython_shell", CHECK, ("get_ipython()",),
         "uses the IPython shell object (get_ipython()): it can register hooks and transformers that run on "
         "every later cell, tests included; magics typed as %magic or !command are not this"),
    Rule("magic", CHECK, ("%run", "%%bash", "%%writefile", "!python ...", "..."),
         "a magic or shell command no exercise needs, which runs code this scan cannot read"),
    Rule("patches_module", CHECK, ("torch.allclose = ...", "setattr(torch, ...)", "del F.softmax",
                                   "sys.modules[...]", "importlib.reload"),
         "changes a module or class it imported (torch, F, encoder_lib, a course class): every later cell, "
         "tests included, would use the changed version"),
    Rule("patches_module", NAME, ("sys.modules", "importlib.reload", "importlib.invalidate_caches", "sys.meta_path",
                                  "sys.path_hooks"),
         "reaches the import system's module table or hooks: it can swap the modules the tests import"),
    Rule("patches_course_object", CHECK, ("tok.encode = ...", "setattr(course_object, ...)"),
         "changes an object a read-only course cell created (the tokenizer, a reference model ...): the "
         "tests after it would use the changed object"),
    Rule("dict_write", CHECK, ("x.__dict__ = ...", "x.__dict__[k] = ...", "x.__dict__.update(...)"),
         "writes into an object's __dict__ directly, past its own methods"),
    Rule("gc", NAME, ("gc.get_*", "gc.callbacks", "gc.garbage"),
         "asks the garbage collector for live objects (gc.get_objects, get_referrers ...): it finds every one, "
         "the tests' and the grader's, which no answer needs (gc.collect() to free memory is not this)"),
    Rule("native_memory", NAME, ("ctypes", "_ctypes", "cffi", "mmap", "numpy.ctypeslib"),
         "uses ctypes, cffi or mmap: raw memory access can read or rewrite anything in the process"),
    Rule("background", NAME, ("threading", "_thread", "multiprocessing", "concurrent.futures", "asyncio",
                              "torch.multiprocessing", "signal", "sched", "logging.handlers.QueueListener",
                              "IPython.lib.backgroundjobs"),
         "starts threads, processes, tasks or signal handlers: code that keeps running after its cell, "
         "while the tests run"),
    Rule("tracing", NAME, ("sys.settrace", "sys.setprofile", "sys.addaudithook", "sys.audit", "sys.monitoring",
                           "sys.call_tracing", "sys.remote_exec", "faulthandler", "tracemalloc", "bdb", "pdb.Pdb",
                           "threading.settrace", "threading.setprofile"),
         "installs a tracer, profiler or audit hook: it watches (and can change) every line the tests run"),
    Rule("dynamic_code", NAME, ("runpy", "code.Interactive*", "code.interact", "code.compile_command", "codeop",
                                "pydoc.locate", "importlib.util", "importlib.machinery", "importlib.__import__"),
         "runs or imports code named at run time (runpy, an interpreter object, importlib's loaders): what "
         "it does cannot be read from the notebook"),
    Rule("dynamic_code", CHECK, ("exec(<not a plain string>)", "eval(...)", "compile(...)",
                                 "__import__(<computed>)", "importlib.import_module(<computed>)"),
         "runs or imports code that is computed at run time: what it does cannot be read from the notebook"),
    Rule("computed_attribute", CHECK, ("getattr/setattr/hasattr/delattr(obj, <computed name>)",),
         "reaches an attribute by a name computed at run time: hides which attribute it reads or changes"),
    Rule("namespace_access", NAME, ("__main__",),
         "reaches the notebook's own module (__main__): its namespace holds every name the tests use, the "
         "test's probe included"),
    Rule("namespace_access", CHECK, ("globals()", "locals()", "vars()", "vars(<module or course object>)",
                                     "<module or course object>.__dict__"),
         "reads or writes the notebook's namespace as a dictionary: it can change names the tests use, past "
         "ordinary assignment"),
    Rule("grader_internals", NAME, ("encoder_lib.checks.calls", "encoder_lib.checks.forbid",
                                    "encoder_lib.checks.forbid_all", "encoder_lib.checks.LIBRARY_*",
                                    "encoder_lib.checks.plain", "encoder_lib.checks.rules"),
         "reaches the parts of encoder_lib.checks that the tests use to watch the answer (which library calls "
         "are forbidden): an answer calls the checks, never their insides"),
    Rule("grader_internals", CHECK, ("__autograder*", "_autograder*", "__probe__", "encoder_lib.<_private>"),
         "names the grader's own internals (__autograder..., the test's __probe__, a private name of "
         "encoder_lib)"),
    Rule("cell_sources", NAME, ("linecache",),
         "reads the line cache, which holds the source of every cell already run (the tests' own included): "
         "no answer needs it"),
    Rule("cell_sources", CHECK, ("In", "_ih", "_i", "_ii", "_iii", "_i<N>"),
         "reads IPython's input history (In, _ih, _i ...), the source of cells already run: no answer needs it"),
    Rule("torch_internals", CHECK, ("torch.<_private> (torch._C, torch._dynamo, torch.utils._python_dispatch)",),
         "reaches torch's private internals (torch._C, torch._dynamo, dispatch modes): the exercises use "
         "torch's public functions; these can change or bypass what the tests check"),
    Rule("torch_internals", NAME, ("torch.overrides", "torch.ops", "torch.library", "torch.native_*",
                                   "torch.nn.modules.module.register_module_*"),
         "reaches torch's internals (torch._C, dispatch and function overrides, raw operators, global module "
         "hooks): the exercises use torch's public functions; these can change or bypass what the tests check"),
    Rule("process_control", NAME, ("os.system", "os.popen", "os.fork", "os.forkpty", "os.kill", "os.killpg",
                                   "os._exit", "os.abort", "os.exec*", "os.spawn*", "os.posix_spawn*",
                                   "os.register_at_fork", "os.set*id", "os.setgroups", "os.chmod", "os.chown",
                                   "os.symlink", "os.link", "os.remove", "os.unlink", "os.rmdir", "os.removedirs",
                                   "os.rename", "os.renames", "os.replace", "os.truncate", "os.dup2", "os.write",
                                   "os.open", "os.memfd_create", "subprocess", "socket", "pty", "pexpect", "resource",
                                   "posix", "nt",
                                   "shutil.rmtree", "shutil.move", "shutil.copy*", "shutil.chown",
                                   "shutil.make_archive", "shutil.unpack_archive"),
         "starts or stops processes, changes files or opens sockets: the exercises compute tensors and never "
         "need that"),
    Rule("import_path", NAME, ("sys.path", "sys.path_importer_cache", "site", "zipimport", "pkgutil"),
         "changes or reads where imports are found: with a module the notebook wrote itself, an import runs "
         "code this scan never reads"),
    Rule("scan_error", CHECK, ("<a cell the scanner could not read>",),
         "the scan could not read this cell (it is nested too deeply, or the scanner failed): read it by hand"),
    Rule("file_write", CHECK, ("open(<outside the current folder>, 'w')", "Path(...).write_text", "p.unlink()",
                               "open('helpers.py', 'w')"),
         "writes, links or deletes a file outside the notebook's folder (or at a path computed at run time), or "
         "writes a file an import would run (.py, .pth, .so, .zip)"),
)

#: Built-in names that may be rebound without a finding (IPython's output history).
REBIND_OK = {"_", "__", "___", "__name__", "__doc__", "__spec__", "__loader__", "__package__",
             # interactive helpers no test or check calls: `input = "a sentence"` is a variable
             "input", "help", "license", "credits", "copyright", "exit", "quit", "breakpoint"}
BUILTIN_NAMES = (set(dir(builtins)) | {"get_ipython"}) - {"display"}   # IPython.display.display is honest
#: Classes whose instances pose as values: a __str__/__repr__/__format__ on their subclass lies.
VALUE_TYPES = {"str", "int", "float", "bool", "complex", "list", "tuple", "dict", "set", "frozenset", "bytes",
               "Tensor", "ndarray"}
#: Base classes for which a __len__ is ordinary (a dataset, a sampler).
SIZED_BASES = re.compile(r"(Dataset|Sampler|DataLoader)$")
#: Attributes of imported modules students may set: settings, not code.
SETTINGS = ("torch.backends.", "pandas.options.", "numpy.random.")
#: Line magics an honest student uses; those in RUNS_CODE get their argument scanned as code.
LINE_MAGICS = {"matplotlib", "timeit", "time", "prun", "pip", "conda", "pwd", "ls", "who", "whos", "who_ls",
               "lsmagic", "precision", "pprint", "pinfo", "pinfo2", "pdoc", "pdef", "psearch", "env", "history",
               "cd", "autoreload", "tb", "pdb", "debug", "config", "load_ext", "reload_ext", "page", "magic",
               "quickref", "doctest_mode", "tensorboard"}
#: IPython extensions an honest student loads (``%load_ext``).
EXTENSIONS_OK = {"autoreload", "tensorboard"}
RUNS_CODE = {"timeit", "time", "prun"}
#: Cell magics whose body is Python (scanned) or markup (not code).
PYTHON_CELL_MAGICS = {"time", "timeit", "capture", "prun"}
MARKUP_CELL_MAGICS = {"html", "markdown", "latex", "svg"}
#: Shell commands an honest student runs (the first word of each command in a pipeline).
SHELL_OK = {"ls", "pwd", "pip", "pip3", "conda", "nvidia-smi", "cat", "head", "tail", "wc", "du", "df", "free",
            "nproc", "lscpu", "uname", "which", "echo", "date", "whoami", "hostname", "tree", "file", "grep",
            "nvcc", "printenv", "env", "sort", "uniq", "less", "more",
            # fetching and unpacking data, making folders (the sandbox has no network: a download fails)
            "mkdir", "wget", "curl", "unzip", "tar", "gzip", "gunzip", "zip", "touch", "find", "ps", "id", "git"}
#: Files an import can run: writing one is a finding wherever it goes.
IMPORTABLE = (".py", ".pyc", ".pth", ".so", ".zip", ".egg", ".whl")
#: Folders outside the notebook's own a student's file may go to: Colab's working folder.
WRITE_OK_PREFIXES = ("/content/",)
GRADER_CHANNEL = "vnd.autograder"
PRIVATE_GRADER = re.compile(r"^(_{1,2}autograder|__probe__$)")
#: IPython's input history: the sources of the cells run so far.
INPUT_HISTORY = re.compile(r"^(In|_ih|_i{1,3}|_i\d+)$")

_BY_CONSTRUCT: dict[tuple[str, str], Rule] = {}
_NAME_RULES: list[tuple[str, Rule]] = []
_ATTRIBUTE_RULES: dict[str, Rule] = {}
_DUNDER_RULES: dict[str, Rule] = {}
for _rule in RULES:
    _BY_CONSTRUCT.setdefault((_rule.construct, _rule.how), _rule)
    for _p in _rule.patterns:
        if _rule.how == NAME:
            _NAME_RULES.append((_p, _rule))
        elif _rule.how == ATTRIBUTE:
            _ATTRIBUTE_RULES[_p] = _rule
        elif _rule.how == DUNDER:
            _DUNDER_RULES[_p] = _rule


def detail_of(construct: str) -> str:
    """The sentence an instructor reads for ``construct`` (its CHECK row when it has one)."""
    rule = _BY_CONSTRUCT.get((construct, CHECK)) or next(r for r in RULES if r.construct == construct)
    return rule.detail


@lru_cache(maxsize=4096)
def name_rule(qualified: str) -> Rule | None:
    """The rule a dotted name reached through an import falls under (``gc.get_objects`` -> gc)."""
    parts = qualified.split(".")
    for i in range(len(parts), 0, -1):
        prefix = ".".join(parts[:i])
        for pattern, rule in _NAME_RULES:
            if fnmatchcase(prefix, pattern):
                return rule
    if parts[0] == "encoder_lib" and any(_private(p) for p in parts[1:]):
        return _BY_CONSTRUCT[("grader_internals", CHECK)]
    if parts[0] == "torch" and any(_private(p) for p in parts[1:]):
        return _BY_CONSTRUCT[("torch_internals", CHECK)]
    return None


def attribute_rule(name: str) -> Rule | None:
    """The rule for an attribute of this name, on any object (``f_locals``, ``__code__``)."""
    return _ATTRIBUTE_RULES.get(name)


def dunder_rule(name: str) -> Rule | None:
    """The rule for a method or attribute of this name defined in a class body (``__eq__``)."""
    return _DUNDER_RULES.get(name)


def _private(part: str) -> bool:
    return part.startswith("_") and not (part.startswith("__") and part.endswith("__"))
