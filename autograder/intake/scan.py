"""Read each submitted notebook's code, without running it, for what only cheating needs.

The grader decides every verdict outside the student's process; what happens inside it
cannot be trusted either way. So before grading, :func:`scan_notebook` reads the cells a
student may write (answer cells, ``solution: true``, and cells the student added) and
names the constructs that no honest answer in these notebooks needs: reading call frames,
finalizers and lying dunders, display and shell hooks, patching modules or course
objects, ``gc``/``ctypes``/threads/tracing, ``exec`` of computed code, the grader's own
internals, process control. Each is a :class:`Finding` (cell, line, construct, a sentence
for the instructor, the line itself); the report lists them under "needs review". They
cost the student nothing by themselves.

Decided on the syntax tree (strings and comments that mention a construct are not
findings). IPython magics and shell escapes are turned into Python by IPython's own
``TransformerManager`` first, keeping line numbers; the magics and shell commands a
student uses honestly (``%matplotlib``, ``%timeit``, ``!pip``, ``!ls`` ...) are not
findings, and the code inside ``%time``/``%timeit``/``%%time`` is scanned as code. A cell
that does not parse is no finding (grading reports it as an error).

Every construct is one row of :data:`autograder.intake.scan_rules.RULES`: its key, how it
is matched, the patterns, and the sentence the instructor reads.
"""
from __future__ import annotations

import ast
import difflib
import re
from dataclasses import dataclass
from functools import lru_cache

import nbformat

from .scan_rules import (BUILTIN_NAMES, GRADER_CHANNEL, INPUT_HISTORY, LINE_MAGICS, MARKUP_CELL_MAGICS, PRIVATE_GRADER,
                         PYTHON_CELL_MAGICS, REBIND_OK, RUNS_CODE, SETTINGS, SHELL_OK, SIZED_BASES, VALUE_TYPES,
                         WRITE_OK_PREFIXES, EXTENSIONS_OK, IMPORTABLE,
                         attribute_rule, detail_of, dunder_rule, name_rule)


@dataclass
class Finding:
    """One construct found in one cell."""
    cell: int                # index of the cell in the notebook (0-based)
    grade_id: str | None     # nbgrader's grade_id of the cell, None for a cell the student added
    line: int                # line inside the cell (1-based)
    construct: str           # short key of the rule (see scan_rules.RULES)
    detail: str              # the rule's sentence for the instructor
    snippet: str             # the line itself, stripped, at most 100 characters

    @property
    def where(self) -> str:
        """The cell as the report names it: its grade_id, else "cell N" (1-based)."""
        return self.grade_id or f"cell {self.cell + 1}"


# ------------------------------------------------------------------------------------ cells
def _nbg(cell) -> dict:
    meta = cell.get("metadata", {}).get("nbgrader")
    return meta if isinstance(meta, dict) else {}


def _course_ids(release_nb) -> dict[str, str]:
    """grade_id -> source of the release's read-only cells (course and test cells)."""
    out = {}
    for cell in (release_nb.cells if release_nb is not None else []):
        meta = _nbg(cell)
        if meta.get("grade_id") and not meta.get("solution") and (meta.get("locked") or meta.get("grade")):
            out[meta["grade_id"]] = cell.source
    return out


def _same_text(source: str) -> str:
    """A cell's source as compared with the course's cells (trailing blanks do not count)."""
    return "\n".join(line.rstrip() for line in source.strip().splitlines())


def _role(cell, course: dict[str, str] | None) -> str:
    """"student" (scanned), "course" (a read-only course cell) or "test"."""
    meta = _nbg(cell)
    if meta.get("solution"):
        return "student"
    if course is not None:     # judged against the release: metadata a student wrote does not count
        if meta.get("grade_id") not in course:
            return "student"
        return "test" if meta.get("grade") else "course"
    if meta.get("grade"):
        return "test"
    return "course" if meta.get("locked") else "student"


# ------------------------------------------------------------------------ magics to Python
@lru_cache(maxsize=1)
def _transformer():
    from IPython.core.inputtransformer2 import TransformerManager
    return TransformerManager()


def _transform(source: str) -> tuple[str, list[int]] | None:
    """The cell as Python (IPython's transformation) and, per line of it, the cell's line."""
    try:
        code = _transformer().transform_cell(source)
    except Exception:   # IPython cannot make Python of it: an ordinary error when it runs
        return None
    old, new = source.splitlines(), code.splitlines()
    where = [0] * len(new)
    for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(None, old, new, autojunk=False).get_opcodes():
        for k in range(j2 - j1):
            where[j1 + k] = i1 + (k if tag == "equal" else min(k, max(0, i2 - i1 - 1)))
    return code, [w + 1 for w in where]


def _parse(source: str) -> tuple[ast.Module, list[int]] | None:
    made = _transform(source)
    if made is None:
        return None
    code, lines = made
    try:
        return ast.parse(code), lines
    except (SyntaxError, ValueError):
        return None


def _strip_options(arg: str) -> str:
    """The statement of a ``%timeit -n 10 -r 3 stmt`` argument (options dropped)."""
    words = arg.split(" ")
    if not arg.lstrip().startswith("-"):
        return arg
    words = [w for w in words if w]
    while words and words[0].startswith("-"):
        flag = words.pop(0)
        if flag in ("-n", "-r", "-p", "-s", "-T", "-l", "-D") and words:
            words.pop(0)
    return " ".join(words)


def _expansions(text: str) -> list[str]:
    """The ``{expression}`` parts IPython evaluates in a shell command or magic argument."""
    return re.findall(r"(?<!\{)\{([^{}]+)\}(?!\})", text)


def _shell_ok(command: str) -> bool:
    if "`" in command or "$(" in command:
        return False
    command = command.replace("{sys.executable}", "python")
    for part in re.split(r"\|\||&&|[|;]", command):
        words = part.split()
        if not words:
            continue
        if words[0] in ("python", "python3") and words[1:3] in (["-m", "pip"], ["--version"], ["-V"]):
            continue
        if words[0] not in SHELL_OK:
            return False
    return True


# ---------------------------------------------------------------------------- notebook facts
class _Notebook:
    """What the scan knows about the whole notebook: imported names, course-owned names."""

    def __init__(self):
        self.imports: dict[str, str] = {}      # name -> dotted name it stands for
        self.course: set[str] = set()          # names a read-only course cell bound
        self.course_defs: set[str] = set()     # ... by def, class or import (functions, classes, modules)
        self.course_imports: dict[str, str] = {}   # ... by import: name -> dotted name

    def learn_imports(self, tree: ast.AST) -> None:
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                for a in node.names:
                    if a.asname:
                        self.imports[a.asname] = a.name
                    else:
                        top = a.name.split(".")[0]
                        self.imports[top] = top
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                for a in node.names:
                    if a.name != "*":
                        self.imports[a.asname or a.name] = f"{node.module}.{a.name}"

    def learn_course(self, tree: ast.Module) -> None:
        for name, how in _top_bindings(tree):
            self.course.add(name)
            if how in ("def", "class", "import"):
                self.course_defs.add(name)
        for stmt in ast.walk(tree):
            if isinstance(stmt, ast.Import):
                self.course_imports.update({a.asname: a.name for a in stmt.names if a.asname})
                self.course_imports.update({a.name.split(".")[0]: a.name.split(".")[0]
                                            for a in stmt.names if not a.asname})
            elif isinstance(stmt, ast.ImportFrom) and stmt.module and not stmt.level:
                self.course_imports.update({a.asname or a.name: f"{stmt.module}.{a.name}" for a in stmt.names})


def _targets(node) -> list[ast.Name]:
    if isinstance(node, ast.Name):
        return [node]
    if isinstance(node, (ast.Tuple, ast.List)):
        return [n for e in node.elts for n in _targets(e)]
    if isinstance(node, ast.Starred):
        return _targets(node.value)
    return []


def _top_bindings(tree: ast.Module) -> list[tuple[str, str]]:
    """(name, how) bound at the module level of a cell, outside functions and classes."""
    out = []

    def visit(stmts):
        for s in stmts:
            if isinstance(s, (ast.FunctionDef, ast.AsyncFunctionDef)):
                out.append((s.name, "def"))
            elif isinstance(s, ast.ClassDef):
                out.append((s.name, "class"))
            elif isinstance(s, (ast.Import, ast.ImportFrom)):
                for a in s.names:
                    if a.name != "*":
                        out.append(((a.asname or a.name).split(".")[0], "import"))
            else:
                for t in ([*s.targets] if isinstance(s, ast.Assign) else
                          [s.target] if isinstance(s, (ast.AugAssign, ast.AnnAssign, ast.For, ast.AsyncFor)) else []):
                    out.extend((n.id, "assign") for n in _targets(t))
                if isinstance(s, (ast.With, ast.AsyncWith)):
                    out.extend((n.id, "assign") for i in s.items if i.optional_vars for n in _targets(i.optional_vars))
                for field in ("body", "orelse", "finalbody"):
                    if isinstance(getattr(s, field, None), list) and not isinstance(s, ast.ClassDef):
                        visit(getattr(s, field))
                for h in getattr(s, "handlers", []):
                    if h.name:
                        out.append((h.name, "assign"))
                    visit(h.body)
    visit(tree.body)
    return out


def _locals(fn) -> set[str]:
    """Names a function or lambda binds for itself (parameters and assignments in its body)."""
    a = fn.args
    names = {x.arg for x in [*a.posonlyargs, *a.args, *a.kwonlyargs, a.vararg, a.kwarg] if x is not None}
    declared = set()
    body = fn.body if isinstance(fn.body, list) else [fn.body]
    stack = list(body)
    while stack:
        node = stack.pop()
        if isinstance(node, (ast.Global, ast.Nonlocal)):
            declared.update(node.names)
        elif isinstance(node, ast.Name) and isinstance(node.ctx, (ast.Store, ast.Del)):
            names.add(node.id)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
            continue
        elif isinstance(node, ast.Lambda):
            continue
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            names.update((a.asname or a.name).split(".")[0] for a in node.names)
        elif isinstance(node, ast.ExceptHandler) and node.name:
            names.add(node.name)
        stack.extend(ast.iter_child_nodes(node))
    return names - declared


def _literal_keys(it) -> list[str] | None:
    """The strings a loop over ``it`` gives (or the first item of each pair it gives), when they
    are written out: ``("a", "b")``, ``{"lr": 1e-3}``, ``{"lr": 1e-3}.items()`` or ``.keys()``."""
    if isinstance(it, ast.Call) and isinstance(it.func, ast.Attribute) and it.func.attr in ("items", "keys") \
            and not it.args:
        it = it.func.value
        if not isinstance(it, ast.Dict):
            return None
    if isinstance(it, (ast.Tuple, ast.List, ast.Set)) and it.elts and all(_is_str(e) for e in it.elts):
        return [e.value for e in it.elts]
    if isinstance(it, ast.Dict) and it.keys and all(k is not None and _is_str(k) for k in it.keys):
        return [k.value for k in it.keys]
    return None


def _literal_loop_names(tree: ast.AST) -> dict[str, set[str]]:
    """Names bound only to string literals: by ``for name in ("a", "b")`` (or over a written-out
    dict's keys or items), or by ``name = "a"``. Their values are as plain as a literal
    (``getattr(layer, kind)`` in such a loop names its attributes)."""
    values: dict[str, set[str]] = {}
    loop_targets = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.For, ast.comprehension)):
            target = node.target
            if isinstance(target, ast.Tuple) and target.elts and isinstance(node.iter, ast.Call):
                target = target.elts[0]           # for key, value in {...}.items()
            keys = _literal_keys(node.iter)
            if isinstance(target, ast.Name) and keys:
                values.setdefault(target.id, set()).update(keys)
                loop_targets.add(id(target))
        elif isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name) \
                and _is_str(node.value):
            values.setdefault(node.targets[0].id, set()).add(node.value.value)
            loop_targets.add(id(node.targets[0]))
    for node in ast.walk(tree):   # bound any other way too: not a literal
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store) and id(node) not in loop_targets:
            values.pop(node.id, None)
        elif isinstance(node, ast.arg):
            values.pop(node.arg, None)
    return values


def _class_of(node):
    """``x`` for ``type(x)`` (a class is changed through it as through ``x.__class__``), else ``node``."""
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "type" \
            and len(node.args) == 1 and not node.keywords:
        return node.args[0]
    return node


def _dotted(node) -> list[str] | None:
    """``a.b.c`` as ["a", "b", "c"]; None when the chain does not start at a name."""
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if not isinstance(node, ast.Name):
        return None
    return [node.id, *reversed(parts)]


def _is_str(node) -> bool:
    return isinstance(node, ast.Constant) and isinstance(node.value, str)


def _is_magic_call(node) -> str | None:
    """The method of ``get_ipython().<method>(...)`` when it is one IPython writes for a magic."""
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) \
            and node.func.attr in ("run_line_magic", "run_cell_magic", "system", "getoutput") \
            and isinstance(node.func.value, ast.Call) and isinstance(node.func.value.func, ast.Name) \
            and node.func.value.func.id == "get_ipython" and not node.func.value.args \
            and node.args and all(_is_str(a) for a in node.args):
        return node.func.attr
    return None


# ------------------------------------------------------------------------------------ scanner
class _CellScanner(ast.NodeVisitor):
    """Visits one cell's tree and collects (line, construct, detail) findings."""

    def __init__(self, facts: _Notebook, tree: ast.Module, lines: list[int], source_lines: list[str],
                 top: set[str], aliases: dict[str, str]):
        self.facts, self.lines, self.source_lines = facts, lines, source_lines
        self.top = top                         # names this cell binds at its top level
        self.aliases = aliases                 # names this cell binds to a module or course object
        self.scopes: list[set[str]] = []       # local names of the enclosing functions
        self.globals: list[set[str]] = []      # names each enclosing function declares global
        self.kinds: list[str] = []             # what each enclosing scope is: function, comprehension, class
        self.literal = _literal_loop_names(tree)
        self.found: list[tuple[int, str, str]] = []   # (line, construct, detail)
        self.fixed_line: int | None = None     # set while scanning code inside a magic: its line

    # --- helpers
    def flag(self, node, construct: str, rule=None) -> None:
        """A finding at ``node``'s line; the sentence is ``rule``'s, else the construct's check row."""
        if self.fixed_line is not None:
            line = self.fixed_line
        else:
            n = getattr(node, "lineno", 1)
            line = self.lines[n - 1] if 0 < n <= len(self.lines) else n
        self.found.append((line, construct, rule.detail if rule is not None else detail_of(construct)))

    def local(self, name: str) -> bool:
        return any(name in s for s in self.scopes)

    def notebook_wide(self, name: str, walrus: bool = False) -> bool:
        """Whether binding ``name`` here binds it for the whole notebook (at the top level, declared
        global, or ``:=`` in a comprehension at the top level)."""
        kinds, globals_ = self.kinds, self.globals
        if walrus:                               # := binds in the nearest scope that is not a comprehension
            while kinds and kinds[-1] == "comprehension":
                kinds, globals_ = kinds[:-1], globals_[:-1]
        return not kinds or name in globals_[-1]

    def resolve(self, name: str) -> tuple[str, str | None]:
        """(kind, dotted name) of a name: local, import, course, builtin or student."""
        if self.local(name):
            return "local", None
        if name in self.aliases:
            target = self.aliases[name]
            return ("course", name) if target.startswith("course:") else ("import", target)
        if name in self.facts.imports:
            return "import", self.facts.imports[name]
        if name in self.top:
            return "student", None
        if name in self.facts.course:
            return "course", name
        if name in BUILTIN_NAMES:
            return "builtin", name
        return "student", None

    def qualified(self, node) -> tuple[str, str | None]:
        parts = _dotted(node)
        if parts is None:
            return "other", None
        kind, base = self.resolve(parts[0])
        if kind == "import":
            return kind, ".".join([base, *parts[1:]])
        return kind, ".".join(parts) if kind in ("course", "builtin") else None

    def builtin(self, node, *names: str) -> str | None:
        """The builtin a call's function is (``exec``, or ``builtins.exec``), if one of ``names``."""
        kind, q = self.qualified(node)
        if kind == "builtin" and q in names:
            return q
        if kind == "import" and q and q.startswith("builtins.") and q[9:] in names:
            return q[9:]
        return None

    def check_name(self, node, qualified: str) -> None:
        rule = name_rule(qualified)
        if rule is not None:
            self.flag(node, rule.construct, rule)

    def check_attr_name(self, node, attr: str) -> None:
        rule = attribute_rule(attr)
        if rule is not None:
            self.flag(node, rule.construct, rule)
        if PRIVATE_GRADER.match(attr):
            self.flag(node, "grader_internals")

    def check_attribute_store(self, node, owner, attr: str | None) -> None:
        """``owner.attr`` is set or deleted (by assignment, ``for``, ``with``, ``del``, ``setattr``)."""
        if attr == "__dict__":
            self.flag(node, "dict_write")
        elif attr == "__class__":
            self.flag(node, "lying_dunder")
        elif attr is not None and dunder_rule(attr) is not None:   # ``A.__eq__ = ...`` after the class
            self.flag(node, dunder_rule(attr).construct, dunder_rule(attr))
        self.check_owner(node, owner, attr)

    def check_owner(self, node, owner, attr: str | None) -> None:
        """``owner.attr`` is set or deleted: flag when ``owner`` (or ``type(owner)``) is imported or
        course-owned."""
        kind, q = self.qualified(_class_of(owner))
        if kind == "import" and q is not None:
            if not any((q + "." + (attr or "")).startswith(s) for s in SETTINGS):
                self.flag(node, "patches_module")
        elif kind == "course":
            self.flag(node, "patches_course_object")
        elif kind == "builtin" and q is not None:
            self.flag(node, "patches_module")

    def check_rebinding(self, node, name: str) -> None:
        """``name`` is bound for the whole notebook (at a cell's top level, or declared global)."""
        if name in BUILTIN_NAMES and name not in REBIND_OK:
            self.flag(node, "rebinds_builtin")
        elif name in self.facts.course_defs and (
                name not in self.facts.course_imports or self.aliases.get(name) != self.facts.course_imports[name]):
            self.flag(node, "rebinds_course_name")

    # --- scopes
    def _function(self, node) -> None:
        for d in getattr(node, "decorator_list", []):
            self.visit(d)
        for default in [*node.args.defaults, *node.args.kw_defaults]:
            if default is not None:
                self.visit(default)
        if not self.scopes and not isinstance(node, ast.Lambda):
            self.check_rebinding(node, node.name)
        body = node.body if isinstance(node.body, list) else [node.body]
        self.scopes.append(_locals(node))
        self.globals.append({n for s in body for g in ast.walk(s) if isinstance(g, ast.Global) for n in g.names})
        self.kinds.append("function")
        for stmt in body:
            self.visit(stmt)
        self.scopes.pop()
        self.globals.pop()
        self.kinds.pop()

    visit_FunctionDef = visit_AsyncFunctionDef = visit_Lambda = _function

    def _comprehension(self, node) -> None:
        self.scopes.append({n.id for g in node.generators for n in _targets(g.target)})
        self.globals.append(set())
        self.kinds.append("comprehension")
        self.generic_visit(node)
        self.scopes.pop()
        self.globals.pop()
        self.kinds.pop()

    visit_ListComp = visit_SetComp = visit_DictComp = visit_GeneratorExp = _comprehension

    def visit_ClassDef(self, node) -> None:
        if not self.scopes:
            self.check_rebinding(node, node.name)
        bases = [".".join(_dotted(b) or []) for b in node.bases]
        for stmt in node.body:
            names = []
            if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef)):
                names = [stmt.name]
            elif isinstance(stmt, ast.Assign):
                names = [n.id for t in stmt.targets for n in _targets(t)]
            elif isinstance(stmt, ast.AnnAssign) and isinstance(stmt.target, ast.Name):
                names = [stmt.target.id]
            for name in names:
                if name == "__len__" and any(SIZED_BASES.search(b) for b in bases):
                    continue
                if dunder_rule(name) is not None:
                    self.flag(stmt, dunder_rule(name).construct, dunder_rule(name))
                elif name in ("__str__", "__repr__", "__format__") and any(
                        b.split(".")[-1] in VALUE_TYPES for b in bases):
                    self.flag(stmt, "lying_dunder")
        for b in [*node.bases, *node.keywords, *node.decorator_list]:
            self.visit(b)
        self.scopes.append(set())   # a class body's names are not seen by the rest of the cell
        self.globals.append(set())
        self.kinds.append("class")
        for stmt in node.body:
            self.visit(stmt)
        self.scopes.pop()
        self.globals.pop()
        self.kinds.pop()

    # --- statements
    def visit_Import(self, node) -> None:
        for a in node.names:
            self.check_name(node, a.name)
            if self.notebook_wide(a.asname or a.name.split(".")[0]):
                self.check_import_rebinding(node, a.asname or a.name.split(".")[0], a.name if a.asname else
                                            a.name.split(".")[0])
        self.generic_visit(node)

    def _binds(self, node, name: str | None) -> None:
        if name and self.notebook_wide(name):
            self.check_rebinding(node, name)

    def visit_ExceptHandler(self, node) -> None:      # except E as name
        self._binds(node, node.name)
        self.generic_visit(node)

    def visit_MatchAs(self, node) -> None:           # case name: / case [*_, name]
        self._binds(node, node.name)
        self.generic_visit(node)

    def visit_MatchStar(self, node) -> None:
        self._binds(node, node.name)
        self.generic_visit(node)

    def visit_MatchMapping(self, node) -> None:      # case {**rest}
        self._binds(node, node.rest)
        self.generic_visit(node)

    def visit_ImportFrom(self, node) -> None:
        if node.module and not node.level:
            self.check_name(node, node.module)
            for a in node.names:
                if a.name == "*":
                    continue
                self.check_name(node, f"{node.module}.{a.name}")
                if PRIVATE_GRADER.match(a.name):
                    self.flag(node, "grader_internals")
                if self.notebook_wide(a.asname or a.name):
                    self.check_import_rebinding(node, a.asname or a.name, f"{node.module}.{a.name}")

    def check_import_rebinding(self, node, name: str, dotted: str) -> None:
        if name in BUILTIN_NAMES and name not in REBIND_OK:
            self.flag(node, "rebinds_builtin")
        elif name in self.facts.course_defs and self.facts.course_imports.get(name) != dotted:
            self.flag(node, "rebinds_course_name")

    # --- expressions
    def visit_Name(self, node) -> None:
        if isinstance(node.ctx, (ast.Store, ast.Del)) and self.notebook_wide(
                node.id, walrus=isinstance(getattr(node, "_parent", None), ast.NamedExpr)):
            self.check_rebinding(node, node.id)   # ``x = ...``, ``for x in``, ``with ... as x``, ``del x``, ``:=``
        if PRIVATE_GRADER.match(node.id):
            self.flag(node, "grader_internals")
        if node.id == "__builtins__":
            self.flag(node, "builtins_access", attribute_rule("__builtins__"))
        if node.id == "get_ipython" and not self.local(node.id):
            self.flag(node, "ipython_shell")
        if isinstance(node.ctx, ast.Load) and INPUT_HISTORY.match(node.id) and not self.local(node.id) \
                and node.id not in self.top:
            self.flag(node, "cell_sources")
        kind, q = self.qualified(node)
        if kind == "import" and q:
            self.check_name(node, q)

    def visit_Attribute(self, node) -> None:
        if isinstance(node.ctx, (ast.Store, ast.Del)):
            self.check_attribute_store(node, node.value, node.attr)
        self.check_attr_name(node, node.attr)
        if node.attr == "__dict__" and self.qualified(node.value)[0] in ("import", "course", "builtin"):
            self.flag(node, "namespace_access")      # sys.__dict__["_getframe"], a course object's insides
        kind, q = self.qualified(node)
        if kind == "import" and q:
            self.check_name(node, q)
        self.generic_visit(node)

    def visit_Subscript(self, node) -> None:
        if isinstance(node.ctx, (ast.Store, ast.Del)):
            inner = node.value
            if isinstance(inner, ast.Attribute) and inner.attr == "__dict__":
                self.flag(node, "dict_write")
            if isinstance(inner, ast.Call) and self.builtin(inner.func, "globals", "locals", "vars"):
                self.flag(node, "namespace_access")
        self.generic_visit(node)

    def visit_Constant(self, node) -> None:
        if isinstance(node.value, (str, bytes)):
            text = node.value if isinstance(node.value, str) else node.value.decode("latin-1")
            if GRADER_CHANNEL in text:
                self.flag(node, "output_hook")
            if PRIVATE_GRADER.match(text):
                self.flag(node, "grader_internals")

    def visit_Call(self, node) -> None:
        magic = _is_magic_call(node)
        if magic and "get_ipython" not in self.source_line(node):
            self.check_magic(node, magic)
            return
        fn = node.func
        name = self.builtin(fn, "exec", "eval", "compile", "__import__", "getattr", "setattr", "hasattr",
                            "delattr", "globals", "locals", "vars", "open", "type", "display")
        if name in ("exec", "eval", "compile"):
            if node.args and _is_str(node.args[0]):
                self.scan_inline(node, node.args[0].value)
            else:
                self.flag(node, "dynamic_code")
        elif name == "__import__":
            if node.args and _is_str(node.args[0]):
                self.check_imported(node, node.args[0].value)
            else:
                self.flag(node, "dynamic_code")
        elif name in ("getattr", "setattr", "hasattr", "delattr"):
            self.check_attribute_call(node, name)
        elif name in ("globals", "locals"):
            if not self.membership_test(node):
                self.flag(node, "namespace_access")
        elif name == "vars":
            if not node.args:
                self.flag(node, "namespace_access")
            elif self.qualified(node.args[0])[0] in ("import", "course"):
                self.flag(node, "namespace_access")
        elif name == "open":
            self.check_open(node)
        elif name == "type" and len(node.args) == 3:
            self.flag(node, "lying_dunder")
        elif name == "display" and any(k.arg == "raw" for k in node.keywords):
            self.flag(node, "output_hook")
        kind, q = self.qualified(fn)
        if kind == "import" and q in ("importlib.import_module",):
            if node.args and _is_str(node.args[0]):
                self.check_imported(node, node.args[0].value)
            else:
                self.flag(node, "dynamic_code")
        if kind == "import" and q and q.split(".")[-1] == "display" and q.startswith("IPython") and any(
                k.arg == "raw" for k in node.keywords):
            self.flag(node, "output_hook")
        if isinstance(fn, ast.Attribute):
            if fn.attr in ("update", "setdefault", "pop", "popitem", "clear", "__setitem__", "__delitem__") \
                    and isinstance(fn.value, ast.Attribute) and fn.value.attr == "__dict__":
                self.flag(node, "dict_write")
            if fn.attr in ("__setattr__", "__delattr__") and node.args:
                target = node.args[0] if self.qualified(fn.value)[1] in ("object", "type") else fn.value
                self.check_owner(node, target, None)
            if fn.attr in ("symlink_to", "hardlink_to", "unlink", "rmdir", "chmod", "lchmod"):
                self.flag(node, "file_write")
            if fn.attr in ("write_text", "write_bytes") and isinstance(fn.value, ast.Call) \
                    and fn.value.args and not self.path_inside(fn.value.args[0]):
                self.flag(node, "file_write")
        self.generic_visit(node)

    def check_imported(self, call, module: str) -> None:
        """``__import__("gc")`` names ``gc``; ``__import__("gc").get_objects`` names ``gc.get_objects``."""
        self.check_name(call, module)
        parent = getattr(call, "_parent", None)
        if isinstance(parent, ast.Attribute) and parent.value is call:
            self.check_name(call, f"{module}.{parent.attr}")

    def membership_test(self, call) -> bool:
        """``"name" in globals()`` or ``globals().get("name", default)``: only asks for one name,
        written out."""
        parent = getattr(call, "_parent", None)
        if isinstance(parent, ast.Attribute) and parent.attr == "get" and parent.value is call:
            outer = getattr(parent, "_parent", None)
            return isinstance(outer, ast.Call) and outer.func is parent and bool(outer.args) \
                and _is_str(outer.args[0]) \
                and not isinstance(getattr(outer, "_parent", None), (ast.Attribute, ast.Subscript))
        return isinstance(parent, ast.Compare) and len(parent.ops) == 1 \
            and isinstance(parent.ops[0], (ast.In, ast.NotIn)) and parent.comparators[0] is call \
            and _is_str(parent.left)

    def check_attribute_call(self, node, name: str) -> None:
        if len(node.args) < 2:
            return
        owner, attr = node.args[0], node.args[1]
        if _is_str(attr):
            names = {attr.value}
        elif isinstance(attr, ast.Name) and attr.id in self.literal:
            names = self.literal[attr.id]
        else:
            self.flag(node, "computed_attribute")
            names = set()
        for a in names:
            self.check_attr_name(node, a)
            kind, q = self.qualified(owner)
            if kind == "import" and q:
                self.check_name(node, f"{q}.{a}")
        if name in ("setattr", "delattr"):
            for a in names or {None}:
                self.check_attribute_store(node, owner, a)

    def path_inside(self, path) -> bool:
        """Whether a path is a literal (or f-string, or os.path.join of them) inside the current folder."""
        if isinstance(path, ast.Call) and self.qualified(path.func)[1] in ("os.path.join", "posixpath.join") \
                and path.args and not path.keywords:
            return all(self.path_inside(a) for a in path.args)
        if _is_str(path):
            text = path.value
        elif isinstance(path, ast.JoinedStr) and path.values:
            first = path.values[0]
            text = first.value if _is_str(first) else ""
        else:
            return False
        if ".." in text.replace("\\", "/").split("/") or text.lower().endswith(IMPORTABLE):
            return False
        return text.startswith(WRITE_OK_PREFIXES) or not text.startswith(("/", "~", "\\"))

    def check_open(self, node) -> None:
        mode = node.args[1] if len(node.args) > 1 else next((k.value for k in node.keywords if k.arg == "mode"), None)
        if mode is None:
            return
        writes = not _is_str(mode) or any(c in mode.value for c in "wax+")
        path = node.args[0] if node.args else next((k.value for k in node.keywords if k.arg == "file"), None)
        if writes and (path is None or not self.path_inside(path)):
            self.flag(node, "file_write")

    def source_line(self, node) -> str:
        n = getattr(node, "lineno", 1)
        line = self.lines[n - 1] if 0 < n <= len(self.lines) else n
        return self.source_lines[line - 1] if 0 < line <= len(self.source_lines) else ""

    # --- code inside strings IPython or exec will run
    def scan_inline(self, node, code: str) -> None:
        try:
            tree = ast.parse(code)
        except (SyntaxError, ValueError):
            return
        self._scan_fixed(node, tree)

    def _scan_fixed(self, node, tree) -> None:
        self.facts.learn_imports(tree)    # exec("import gc") or a %%time body imports for the notebook
        n = getattr(node, "lineno", 1)
        line = self.fixed_line if self.fixed_line is not None else \
            (self.lines[n - 1] if 0 < n <= len(self.lines) else n)
        _link_parents(tree)
        saved = (self.fixed_line, self.literal)
        self.fixed_line, self.literal = line, {**self.literal, **_literal_loop_names(tree)}
        self.visit(tree)
        self.fixed_line, self.literal = saved

    def check_magic(self, node, method: str) -> None:
        args = [a.value for a in node.args]
        if method in ("system", "getoutput"):
            if not _shell_ok(args[0]):
                self.flag(node, "magic")
            self.scan_expansions(node, args[0])
            return
        if method == "run_cell_magic":   # a cell magic that is not the cell's first line
            self.flag(node, "magic")
            return
        name, arg = args[0], args[1] if len(args) > 1 else ""
        if name not in LINE_MAGICS or (name == "config" and not arg.strip().startswith("InlineBackend")) \
                or (name in ("load_ext", "reload_ext") and arg.strip() not in EXTENSIONS_OK) \
                or (name == "debug" and arg.strip()):
            self.flag(node, "magic")
        if name in RUNS_CODE:
            self.scan_inline(node, _strip_options(arg))
        else:
            self.scan_expansions(node, arg)

    def scan_expansions(self, node, text: str) -> None:
        """IPython evaluates ``{expression}`` in a shell command or magic argument: a name or a
        dotted name (``{sys.executable}``) is read like code, anything else needs a look."""
        for expr in _expansions(text):
            try:
                tree = ast.parse(expr.strip(), mode="eval")
            except (SyntaxError, ValueError):
                continue   # IPython leaves it as text
            if _dotted(tree.body) is None:
                self.flag(node, "magic")
            self.scan_inline(node, expr.strip())


def _link_parents(tree: ast.AST) -> None:
    for parent in ast.walk(tree):
        for child in ast.iter_child_nodes(parent):
            child._parent = parent


# ----------------------------------------------------------------------------- the scan
def _cell_magic(source: str) -> tuple[int, str, str, str] | None:
    """(line of the ``%%`` line, magic name, its argument, the body) for a cell magic cell."""
    lines = source.split("\n")
    i = 0
    while i < len(lines) and not lines[i].strip():
        i += 1
    if i >= len(lines) or not lines[i].startswith("%%"):
        return None
    head = lines[i][2:].split(None, 1)
    if not head:
        return None
    return i + 1, head[0], head[1] if len(head) > 1 else "", "\n".join(lines[i + 1:])


def _scan_source(facts: _Notebook, source: str, offset: int = 0) -> tuple[list[tuple[int, str, str]], set[str]]:
    """(line, construct, detail) for one cell's source (``offset`` added to every line), and the
    names the cell binds at its top level to objects of its own."""
    magic = _cell_magic(source)
    if magic is not None:
        at, name, arg, body = magic
        if name in PYTHON_CELL_MAGICS:
            found, own = _scan_source(facts, body, offset + at)
            if name == "timeit" and arg:
                found += [(offset + at, c, d) for _, c, d in _scan_source(facts, _strip_options(arg))[0]]
            return found, own
        if name in MARKUP_CELL_MAGICS:
            return [], set()
        return [(offset + at, "magic", detail_of("magic"))], set()
    parsed = _parse(source)
    if parsed is None:
        return [], set()
    tree, lines = parsed
    facts.learn_imports(tree)            # a %%time body's imports are the notebook's too
    _link_parents(tree)
    top = {name for name, _ in _top_bindings(tree)}
    aliases = {}
    for stmt in tree.body:   # ``T = torch.Tensor``, ``t = tok``: T and t stand for what they name
        if isinstance(stmt, ast.Assign) and len(stmt.targets) == 1 and isinstance(stmt.targets[0], ast.Name):
            parts = _dotted(_class_of(stmt.value))       # ``cls = type(model)`` stands for model's class
            if parts and parts[0] in facts.imports:
                aliases[stmt.targets[0].id] = ".".join([facts.imports[parts[0]], *parts[1:]])
            elif parts and parts[0] in facts.course:
                aliases[stmt.targets[0].id] = "course:" + ".".join(parts)
    scanner = _CellScanner(facts, tree, lines, source.splitlines(), top, aliases)
    scanner.visit(tree)
    return [(line + offset, c, d) for line, c, d in scanner.found], top - set(aliases)


def scan_notebook(nb: nbformat.NotebookNode, release_nb: nbformat.NotebookNode | None = None) -> list[Finding]:
    """Findings in the cells of ``nb`` a student may write, in cell and line order.

    With ``release_nb`` (the notebook as released), a cell is a course or test cell only when
    the release has a read-only cell with its grade_id (nbgrader puts that cell's source
    back before grading): metadata a student wrote does not hide a cell from the scan, and
    the course's names come from the release's source. A name a course cell bound is the
    course's until a student's cell binds it to something of its own."""
    course = _course_ids(release_nb) if release_nb is not None else None
    # a student's own copy of a course or visible test cell (set-up run again, a test pasted to
    # debug it) runs nothing the course does not: it is read as the course's cell it copies
    copies = {_same_text(src) for src in course.values()} if course is not None else set()
    facts = _Notebook()
    cells = []   # (index, cell, role, tree of a course cell)
    for index, cell in enumerate(nb.cells):
        if cell.get("cell_type") != "code":
            continue
        role = _role(cell, course)
        copied = role == "student" and bool(cell.source.strip()) and _same_text(cell.source) in copies
        if copied:
            role = "course"
        source = course[_nbg(cell)["grade_id"]] if course is not None and role != "student" and not copied \
            else cell.source
        try:
            parsed = _parse(source)
        except Exception:   # a student's cell is reported when it is scanned below
            parsed = None
        if parsed is not None:
            facts.learn_imports(parsed[0])   # every cell's imports say which names are modules
        cells.append((index, cell, role, parsed[0] if parsed is not None and role == "course" else None))
    findings: list[Finding] = []
    for index, cell, role, tree in cells:
        if role == "course" and tree is not None:
            facts.learn_course(tree)
        if role != "student":
            continue
        try:
            found, own = _scan_source(facts, cell.source)
        except Exception:   # too deeply nested for the scanner (RecursionError), or a bug: a person reads it
            found, own = [(1, "scan_error", detail_of("scan_error"))], set()
        facts.course -= own
        source_lines = cell.source.splitlines()
        seen = set()
        for line, construct, detail in sorted(found, key=lambda f: f[:2]):
            if (line, construct) in seen:
                continue
            seen.add((line, construct))
            snippet = source_lines[line - 1].strip() if 0 < line <= len(source_lines) else ""
            findings.append(Finding(index, _nbg(cell).get("grade_id"), line, construct, detail, snippet[:100]))
    return findings
