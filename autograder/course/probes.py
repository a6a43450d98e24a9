"""Test cells as probes: what a test runs beside the student's code, and what it reports.

nbgrader runs a test cell in the student's kernel, where student code can change
anything, so the grader never lets that kernel decide. Each test cell is rewritten,
from the instructor's source, into two *probes*:

- the **reference probe** runs in the instructor's solution notebook, once per course
  version; every check reports what it was given (the value under test, the expected
  value, the tolerance, its name, rule and hint) as plain data;
- the **student probe** runs in the student's kernel. Its checks report only the value
  under test. The expected values are not computed there at all: each check's expected
  argument is dropped, and every statement that only served to compute one (a reference
  model's output, ``expected = F.layer_norm(...)``, a helper that wraps the reference)
  is removed. What stays is what the student's code must be given: the inputs.

The grader (:mod:`autograder.sandbox.judge`) pairs the two reports check by check and
decides with :mod:`encoder_lib.checks.rules`. An expected value that depends on what
the student's code returned (``torch.ones(weights.shape[:-1])``, a property of the
student's own mask) cannot come from the reference run; such arguments are kept and
reported by the student probe (*tainted*: they read a name the student's cells bind,
directly or through course cells and earlier statements). Plain ``assert`` statements
become comparisons reported the same way: ``assert QUIZ_1 == "b"`` reports the answer,
and the ``"b"`` comes from the reference run.

Each reported expected value that came from the reference run carries a fingerprint of
its inputs (the names it reads), so the grader can tell when a student's kernel gave a
check other inputs than the reference run did (a random draw consumed differently):
then the check is not judged against the reference but flagged.

A test statement may end with ``# grader: keep`` to keep it, and every check on it,
in the student probe as it is.
"""
from __future__ import annotations

import ast
import builtins
import copy
import re
from dataclasses import dataclass, field

#: Parameters of the checks of :mod:`encoder_lib.checks`: which is the value under test,
#: which the expected value.
CHECKS = {
    "check_type": (("name", "value", "expected", "hint"), "value", "expected"),
    "check_shape": (("name", "tensor", "expected", "hint"), "tensor", "expected"),
    "check_dtype": (("name", "tensor", "expected", "hint"), "tensor", "expected"),
    "check_finite": (("name", "tensor", "hint", "rule"), "tensor", None),
    "check_close": (("name", "got", "expected", "atol", "rtol", "hint", "rule"), "got", "expected"),
    "check_sequence": (("name", "got", "expected", "hint", "rule"), "got", "expected"),
    "check_choice": (("name", "value", "options", "hint"), "value", "options"),
    # the scores come from the student's run; with ``record``, the grader takes them from the
    # run recorded in the submitted notebook (autograder/sandbox/recorded.py)
    "check_argmax": (("name", "value", "scores", "atol", "record", "hint", "rule"), "value", "scores"),
}
RAISES = ("call", "fn", "exception")
#: Calls that draw random numbers: a statement making one is never removed.
RANDOM_CALLS = {"randn", "rand", "randint", "randperm", "normal_", "uniform_", "manual_seed", "seed",
                "bernoulli", "multinomial", "dropout", "shuffle", "random", "choice", "sample",
                "normal", "init_weights", "random_reference", "xavier_uniform_", "kaiming_uniform_"}
KEEP_PRAGMA = re.compile(r"#\s*grader:\s*keep\b")
HIDDEN_BEGIN = "### BEGIN HIDDEN TESTS"
HIDDEN_END = "### END HIDDEN TESTS"
PROBE = "__probe__"
INPUTS_MARK = "__inputs__"
MESSAGE_MARK = "__message__"


class ProbeError(ValueError):
    """A test cell the grader cannot turn into probes (the instructor's to fix)."""


@dataclass
class Site:
    """One check or assertion of a test cell."""
    kind: str            # "check_close", ..., "check_raises", "compare", "truth"
    line: int            # line in the test cell's source (1-based)
    hidden: bool         # inside the hidden tests
    stripped: bool       # the expected value comes from the reference run
    op: str = ""         # for "compare": the Python operator
    message: str = ""    # an assertion's message when the test wrote it as a plain string


@dataclass
class Probes:
    """The two probes of one test cell and what each of its sites checks."""
    grade_id: str
    reference: str
    student: str
    sites: dict[int, Site] = field(default_factory=dict)
    kept_inputs: list[str] = field(default_factory=list)   # reference values the student kernel still needs
    hidden_literals: list[str] = field(default_factory=list)  # constants of the hidden tests (not rules)

    def to_json(self) -> dict:
        return {"grade_id": self.grade_id, "reference": self.reference, "student": self.student,
                "kept_inputs": self.kept_inputs, "hidden_literals": self.hidden_literals,
                "sites": {str(k): vars(s) for k, s in self.sites.items()}}

    @classmethod
    def from_json(cls, data: dict) -> "Probes":
        return cls(data["grade_id"], data["reference"], data["student"],
                   {int(k): Site(**v) for k, v in data["sites"].items()}, list(data.get("kept_inputs", [])),
                   list(data.get("hidden_literals", [])))


# ------------------------------------------------------------------ names
def loaded_names(node: ast.AST) -> set[str]:
    return {n.id for n in ast.walk(node) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)}


def _target_names(target: ast.AST) -> set[str]:
    return {n.id for n in ast.walk(target) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)}


def bound_names(tree: ast.AST) -> set[str]:
    """Names a cell binds at its top level (not inside its functions and classes)."""
    out: set[str] = set()

    def visit(stmts):
        for s in stmts:
            if isinstance(s, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                out.add(s.name)
            elif isinstance(s, (ast.Import, ast.ImportFrom)):
                out.update((a.asname or a.name).split(".")[0] for a in s.names)
            elif isinstance(s, (ast.Assign, ast.AugAssign, ast.AnnAssign)):
                for t in (s.targets if isinstance(s, ast.Assign) else [s.target]):
                    out.update(_target_names(t))
            elif isinstance(s, (ast.For, ast.AsyncFor)):
                out.update(_target_names(s.target))
            elif isinstance(s, (ast.With, ast.AsyncWith)):
                for item in s.items:
                    if item.optional_vars is not None:
                        out.update(_target_names(item.optional_vars))
            if isinstance(s, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                continue
            for name in ("body", "orelse", "finalbody"):
                visit(getattr(s, name, []) or [])
            for h in getattr(s, "handlers", []) or []:
                if h.name:
                    out.add(h.name)
                visit(h.body)
            if isinstance(s, ast.Expr) or isinstance(s, (ast.If, ast.While)):
                out.update(n.id for n in ast.walk(s) if isinstance(n, ast.NamedExpr)
                           for n in [n.target])
    visit(getattr(tree, "body", []))
    return out


def parse_cell(source: str) -> ast.Module:
    """A cell's source as Python (IPython magics turned into calls first)."""
    try:
        return ast.parse(source)
    except SyntaxError:
        from IPython.core.inputtransformer2 import TransformerManager
        return ast.parse(TransformerManager().transform_cell(source))


def _taint_statements(stmts, tainted: set[str], mutate: bool, defined: set[str]) -> None:
    """Update ``tainted`` by the statements, in order (loops twice, for a fixpoint)."""
    for s in stmts:
        reads = loaded_names(s) if not isinstance(s, (ast.FunctionDef, ast.AsyncFunctionDef,
                                                      ast.ClassDef)) else set()
        if isinstance(s, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            body_reads = set().union(*(loaded_names(b) for b in s.body)) if s.body else set()
            deco = set().union(*(loaded_names(d) for d in s.decorator_list)) if s.decorator_list else set()
            bases = set().union(*(loaded_names(b) for b in getattr(s, "bases", []))) if getattr(
                s, "bases", None) else set()
            (tainted.add if (body_reads | deco | bases) & tainted else tainted.discard)(s.name)
            continue
        if isinstance(s, (ast.Assign, ast.AnnAssign, ast.AugAssign)):
            targets = s.targets if isinstance(s, ast.Assign) else [s.target]
            value_reads = loaded_names(s.value) if s.value is not None else set()
            dirty = bool(value_reads & tainted)
            for t in targets:
                names = _target_names(t)
                if isinstance(s, ast.AugAssign) or not isinstance(t, (ast.Name, ast.Tuple, ast.List)):
                    # x += ..., x[i] = ...: the object changes, it stays what it was unless dirtied
                    roots = {n.id for n in ast.walk(t) if isinstance(n, ast.Name)}
                    if dirty:
                        tainted.update(roots)
                    continue
                for n in names:
                    (tainted.add if dirty else tainted.discard)(n)
        elif isinstance(s, (ast.For, ast.AsyncFor)):
            (tainted.update if loaded_names(s.iter) & tainted else
             lambda ns: tainted.difference_update(ns))(_target_names(s.target))
            for _ in range(2):
                _taint_statements(s.body, tainted, mutate, defined)
            _taint_statements(s.orelse, tainted, mutate, defined)
        elif isinstance(s, (ast.With, ast.AsyncWith)):
            for item in s.items:
                if item.optional_vars is not None:
                    (tainted.update if loaded_names(item.context_expr) & tainted else
                     lambda ns: tainted.difference_update(ns))(_target_names(item.optional_vars))
            _taint_statements(s.body, tainted, mutate, defined)
        elif isinstance(s, (ast.If, ast.While, ast.Try)):
            for _ in range(2 if isinstance(s, ast.While) else 1):
                for part in ("body", "orelse", "finalbody"):
                    _taint_statements(getattr(s, part, []) or [], tainted, mutate, defined)
            for h in getattr(s, "handlers", []) or []:
                _taint_statements(h.body, tainted, mutate, defined)
        elif isinstance(s, (ast.Import, ast.ImportFrom)):
            for a in s.names:
                tainted.discard((a.asname or a.name).split(".")[0])
        if mutate and reads & tainted:
            # a course cell that hands an object to student code: the object may have changed
            tainted.update(_handed_over(s, tainted) & defined)


#: Methods that change their object: one called with what student code made taints it.
MUTATING = {"load_state_dict", "copy_", "update", "append", "extend", "step", "backward", "add_", "mul_",
            "fill_", "zero_", "set_", "insert", "setdefault", "train_step", "fit"}


def _root(node: ast.AST) -> str | None:
    while isinstance(node, (ast.Attribute, ast.Subscript, ast.Starred)):
        node = node.value
    return node.id if isinstance(node, ast.Name) else None


def _handed_over(stmt: ast.AST, tainted: set[str]) -> set[str]:
    """Names a statement hands to a call that also gets something student code made (or
    that is student code): student code may have changed what they hold."""
    out = set()
    for call in (n for n in ast.walk(stmt) if isinstance(n, ast.Call)):
        args = [*call.args, *(k.value for k in call.keywords)]
        involved = loaded_names(call.func) & tainted or any(loaded_names(a) & tainted for a in args)
        if not involved:
            continue
        out |= {r for r in (_root(a) for a in args) if r}
        if isinstance(call.func, ast.Attribute) and call.func.attr in MUTATING:
            r = _root(call.func.value)
            if r:
                out.add(r)
    return out


def notebook_taint(cells: list[dict]) -> dict[int, set[str]]:
    """For each test cell (by index): the names that hold, or may hold, what student code
    made when the cell starts. ``cells``: nbformat cells of the instructor's notebook."""
    tainted: set[str] = set()
    defined: set[str] = set()
    trees = {}
    for i, cell in enumerate(cells):
        if cell.get("cell_type") == "code":
            try:
                trees[i] = parse_cell(_source(cell))
            except SyntaxError:
                continue
            defined |= {n for n in bound_names(trees[i])}
    functions = set()
    for tree in trees.values():
        functions |= {s.name for s in tree.body if isinstance(s, (ast.FunctionDef, ast.ClassDef))}
        functions |= {(a.asname or a.name).split(".")[0] for s in tree.body
                      if isinstance(s, (ast.Import, ast.ImportFrom)) for a in s.names}
    data_names = defined - functions
    out: dict[int, set[str]] = {}
    for i, tree in trees.items():
        meta = cells[i].get("metadata", {}).get("nbgrader", {})
        if meta.get("solution"):
            tainted |= bound_names(tree)
            continue
        if is_test(cells[i]):
            out[i] = set(tainted)
        _taint_statements(tree.body, tainted, mutate=not is_test(cells[i]), defined=data_names)
    return out


def is_test(cell: dict) -> bool:
    meta = cell.get("metadata", {}).get("nbgrader", {})
    return cell.get("cell_type") == "code" and bool(meta.get("grade")) and not meta.get("solution")


def _source(cell: dict) -> str:
    src = cell.get("source", "")
    return "".join(src) if isinstance(src, list) else src


# ------------------------------------------------------------------ the rewrite
def _call_name(node: ast.Call) -> str | None:
    f = node.func
    if isinstance(f, ast.Name):
        return f.id
    if isinstance(f, ast.Attribute) and isinstance(f.value, ast.Name) and f.value.id in ("checks", "C"):
        return f.attr
    return None


def _probe_call(method: str, *args: ast.expr, **kwargs: ast.expr) -> ast.Call:
    return ast.Call(func=ast.Attribute(value=ast.Name(PROBE, ast.Load()), attr=method, ctx=ast.Load()),
                    args=list(args), keywords=[ast.keyword(arg=k, value=v) for k, v in kwargs.items()])


def _lambda(body: ast.expr) -> ast.Lambda:
    return ast.Lambda(args=ast.arguments(posonlyargs=[], args=[], vararg=None, kwonlyargs=[], kw_defaults=[],
                                         kwarg=None, defaults=[]), body=body)


def _dict(items: dict[str, ast.expr]) -> ast.Dict:
    return ast.Dict(keys=[ast.Constant(k) for k in items], values=list(items.values()))


class _Rewriter(ast.NodeTransformer):
    """Turns checks and asserts into probe calls; ``student`` drops untainted expected values."""

    def __init__(self, student: bool, tainted: set[str], hidden_lines: tuple[int, int] | None,
                 keep_lines: set[int]):
        self.student, self.tainted = student, tainted
        self.hidden_lines, self.keep_lines = hidden_lines, keep_lines
        self.sites: dict[int, Site] = {}
        self.inputs: dict[int, set[str]] = {}      # site -> names its expected value reads
        self.messages: dict[int, ast.expr] = {}    # site -> its assertion's message
        self.scopes: list[set[str]] = []           # locals of the functions being rewritten

    # -- helpers
    def _hidden(self, node: ast.AST) -> bool:
        if not self.hidden_lines:
            return False
        lo, hi = self.hidden_lines
        return lo <= node.lineno <= hi

    def _dirty(self, expr: ast.AST, line: int) -> bool:
        """Whether ``expr`` may differ between the student's run and the reference run: it
        reads what student code made, a local of a function (its arguments vary by call), or
        an object's identity."""
        scope = set().union(*self.scopes) if self.scopes else set()
        if any(isinstance(n, ast.Call) and isinstance(n.func, ast.Name) and n.func.id in ("id", "hash")
               for n in ast.walk(expr)):
            return True
        return bool(loaded_names(expr) & (self.tainted | scope)) or line in self.keep_lines

    def visit_FunctionDef(self, node):
        args = node.args
        params = {a.arg for a in [*args.posonlyargs, *args.args, *args.kwonlyargs]}
        params |= {a.arg for a in (args.vararg, args.kwarg) if a is not None}
        local = params | {n.id for n in ast.walk(node) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)}
        self.scopes.append(local)
        try:
            self.generic_visit(node)
        finally:
            self.scopes.pop()
        return node

    visit_AsyncFunctionDef = visit_FunctionDef

    def visit_Lambda(self, node):
        self.scopes.append({a.arg for a in [*node.args.posonlyargs, *node.args.args, *node.args.kwonlyargs]})
        try:
            self.generic_visit(node)
        finally:
            self.scopes.pop()
        return node

    def _site(self, kind: str, node: ast.AST, stripped: bool, op: str = "") -> ast.Constant:
        k = len(self.sites)
        message = node.msg.value if isinstance(node, ast.Assert) and isinstance(node.msg, ast.Constant) \
            and isinstance(node.msg.value, str) else ""
        self.sites[k] = Site(kind, node.lineno, self._hidden(node), stripped, op, message)
        return ast.Constant(k)

    def _fingerprint(self, expr: ast.expr) -> ast.expr:
        """A placeholder: the names are filled in once the student probe is pruned."""
        self.inputs[len(self.sites)] = loaded_names(expr) - set(dir(builtins))
        return ast.Constant(INPUTS_MARK)

    # -- checks
    def visit_Call(self, node: ast.Call):
        self.generic_visit(node)
        name = _call_name(node)
        if name in CHECKS:
            return self._check(node, name)
        if name == "check_raises":
            return self._raises(node)
        return node

    def _bind(self, node: ast.Call, params: tuple[str, ...]) -> dict[str, ast.expr]:
        if any(isinstance(a, ast.Starred) for a in node.args) or any(k.arg is None for k in node.keywords):
            raise ProbeError(f"line {node.lineno}: a check called with *args or **kwargs cannot be probed")
        bound = dict(zip(params, node.args))
        if len(node.args) > len(params):
            raise ProbeError(f"line {node.lineno}: too many arguments for {_call_name(node)}")
        for k in node.keywords:
            bound[k.arg] = k.value
        return bound

    def _check(self, node: ast.Call, name: str) -> ast.Call:
        params, got_p, exp_p = CHECKS[name]
        args = self._bind(node, params)
        got = args.pop(got_p, ast.Constant(None))
        expected = args.pop(exp_p, None) if exp_p else None
        keep = expected is not None and self._dirty(expected, node.lineno)
        stripped = self.student and expected is not None and not keep
        kw: dict[str, ast.expr] = {}
        if expected is not None and not keep:
            kw["inputs"] = self._fingerprint(expected)
        site = self._site(name, node, stripped=expected is not None and not keep)
        if expected is not None and not stripped:
            kw["expected"] = expected
        if not self.student:
            kw["params"] = _dict(args)
        return ast.copy_location(_probe_call("check", site, got, **kw), node)

    def _raises(self, node: ast.Call) -> ast.Call:
        if any(k.arg is None for k in node.keywords):
            raise ProbeError(f"line {node.lineno}: check_raises with **kwargs cannot be probed")
        fixed = dict(zip(RAISES, node.args[:3]))
        rest = node.args[3:]
        kwargs = {k.arg: k.value for k in node.keywords}
        params = {p: kwargs.pop(p) for p in ("hint", "rule") if p in kwargs}
        for p in RAISES:
            if p in kwargs:
                fixed[p] = kwargs.pop(p)
        site = self._site("check_raises", node, stripped=True)
        kw = {"fn": fixed["fn"], "args": ast.Tuple(elts=rest, ctx=ast.Load()), "kwargs": _dict(kwargs)}
        if not self.student:
            kw["params"] = _dict({"call": fixed["call"], "exception": fixed["exception"], **params})
        return ast.copy_location(_probe_call("raises", site, **kw), node)

    # -- asserts
    def visit_Assert(self, node: ast.Assert):
        self.generic_visit(node)
        parts = node.test.values if isinstance(node.test, ast.BoolOp) and isinstance(node.test.op, ast.And) \
            else [node.test]
        hidden = self._hidden(node)
        message = node.msg
        out = []
        for part in parts:
            call = self._assert_part(part, node, message if not (self.student and hidden) else None)
            out.append(ast.copy_location(ast.Expr(call), node))
        return out

    def _assert_part(self, part: ast.expr, node: ast.Assert, message: ast.expr | None) -> ast.Call:
        if (isinstance(part, ast.Call) and isinstance(part.func, ast.Attribute) and part.func.attr == "equal"
                and isinstance(part.func.value, ast.Name) and part.func.value.id == "torch"
                and len(part.args) == 2 and not part.keywords):
            part = ast.Compare(left=part.args[0], ops=[ast.Eq()], comparators=[part.args[1]])
        msg = {}
        if message is not None:
            # the student's probe gets the message only if it reads nothing the pruning removes
            self.messages[len(self.sites)] = message
            msg["message"] = ast.Constant(MESSAGE_MARK) if self.student else _lambda(message)
        near = _near(part)
        if near is not None:
            got, want, tol, op = near
            if self._dirty(got, node.lineno) and not self._dirty(want, node.lineno):
                pass
            elif self._dirty(want, node.lineno) and not self._dirty(got, node.lineno):
                got, want = want, got
            else:
                near = None
        if near is not None:
            # assert abs(got - want) < tol: the expected value and the tolerance from the reference run
            keep = self._dirty(tol, node.lineno)
            kw = {"left": _lambda(got), "inputs": self._fingerprint(ast.Tuple([want, tol], ast.Load()))}
            site = self._site("compare", node, stripped=True, op=op)
            if not self.student:
                kw["right"] = _lambda(want)
            if not self.student or keep:
                kw["tolerance"] = _lambda(tol)
            return _probe_call("compare", site, **kw, **msg)
        if isinstance(part, ast.Compare) and len(part.ops) == 1:
            op = _OPS[type(part.ops[0])]
            right = part.comparators[0]
            keep = self._dirty(right, node.lineno)
            stripped = self.student and not keep
            kw: dict[str, ast.expr] = {"left": _lambda(part.left)}
            if not keep:
                kw["inputs"] = self._fingerprint(right)
            site = self._site("compare", node, stripped=not keep, op=op)
            if not stripped:
                kw["right"] = _lambda(right)
            return _probe_call("compare", site, **kw, **msg)
        site = self._site("truth", node, stripped=False)
        return _probe_call("truth", site, _lambda(part), **msg)


def _near(part: ast.expr):
    """``abs(a - b) < tol`` (or ``<=``) as (a, b, tol, "near<"), else None."""
    if not (isinstance(part, ast.Compare) and len(part.ops) == 1 and isinstance(part.ops[0], (ast.Lt, ast.LtE))):
        return None
    left = part.left
    if not (isinstance(left, ast.Call) and isinstance(left.func, ast.Name) and left.func.id == "abs"
            and len(left.args) == 1 and not left.keywords and isinstance(left.args[0], ast.BinOp)
            and isinstance(left.args[0].op, ast.Sub)):
        return None
    diff = left.args[0]
    return diff.left, diff.right, part.comparators[0], "near" + _OPS[type(part.ops[0])]


_OPS = {ast.Eq: "==", ast.NotEq: "!=", ast.Is: "is", ast.IsNot: "is not", ast.In: "in", ast.NotIn: "not in",
        ast.Lt: "<", ast.LtE: "<=", ast.Gt: ">", ast.GtE: ">="}


def _hidden_range(source: str) -> tuple[int, int] | None:
    lines = source.splitlines()
    begin = next((i + 1 for i, l in enumerate(lines) if l.strip() == HIDDEN_BEGIN), None)
    if begin is None:
        return None
    end = next((i + 1 for i, l in enumerate(lines) if l.strip() == HIDDEN_END and i + 1 > begin), len(lines))
    return begin, end


def _mark_hidden(tree: ast.Module, hidden: tuple[int, int] | None) -> None:
    """``__probe__.phase("hidden")`` before the first hidden statement, and "visible" after."""
    if not hidden:
        return
    body, out, state = tree.body, [], "visible"
    for s in body:
        now = "hidden" if hidden[0] <= s.lineno <= hidden[1] else "visible"
        if now != state:
            out.append(ast.copy_location(ast.Expr(_probe_call("phase", ast.Constant(now))), s))
            state = now
        out.append(s)
    tree.body = out


# ------------------------------------------------------------------ removing what only expected values need
def _stores_root(target: ast.AST) -> str | None:
    while isinstance(target, (ast.Subscript, ast.Attribute)):
        target = target.value
    return target.id if isinstance(target, ast.Name) else None


def _draws_random(node: ast.AST) -> bool:
    for n in ast.walk(node):
        if isinstance(n, ast.Call):
            f = n.func
            name = f.attr if isinstance(f, ast.Attribute) else f.id if isinstance(f, ast.Name) else ""
            if name in RANDOM_CALLS:
                return True
    return False


def _live_loads(tree: ast.AST, changers: list[ast.stmt] = ()) -> set[str]:
    """Names read anywhere, not counting the root of an assignment target (``x[0] = 1``
    reads ``x`` only to change it) nor what ``changers`` read (statements that only change
    objects, such as ``loss.backward()``)."""
    skip: set[int] = {id(n) for s in changers for n in ast.walk(s)}
    for n in ast.walk(tree):
        targets = n.targets if isinstance(n, ast.Assign) else [n.target] if isinstance(
            n, (ast.AugAssign, ast.AnnAssign)) else []
        for t in targets:
            if isinstance(t, (ast.Subscript, ast.Attribute)):
                root = t
                while isinstance(root, (ast.Subscript, ast.Attribute)):
                    root = root.value
                if isinstance(root, ast.Name):
                    skip.add(id(root))
    return {n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)
            and id(n) not in skip}


def _prune(tree: ast.Module, tainted: set[str], needed_later: set[str],
           keep_lines: set[int]) -> dict[str, set[str]]:
    """Remove statements whose only job was to compute what is no longer read; returns,
    for each name whose binding was removed, the names its value read."""
    removed_defs: dict[str, list[tuple[int, set[str]]]] = {}
    cell_names = bound_names(tree)
    defs: dict[str, set[str]] = {}              # name -> names its values in this cell were made from
    for st in _statements(tree):
        if isinstance(st, (ast.Assign, ast.AugAssign, ast.AnnAssign)) and st.value is not None:
            for t in (st.targets if isinstance(st, ast.Assign) else [st.target]):
                for n in _target_names(t) | {_stores_root(t)} - {None}:
                    defs.setdefault(n, set()).update(loaded_names(st.value) - MODULES)
        elif isinstance(st, (ast.For, ast.AsyncFor)):
            for n in _target_names(st.target):
                defs.setdefault(n, set()).update(loaded_names(st.iter) - MODULES)
    while True:
        changers = [s for s in _statements(tree) if isinstance(s, ast.Expr) and isinstance(s.value, ast.Call)
                    and not loaded_names(s) & tainted and not _draws_random(s)
                    and loaded_names(s) & cell_names
                    and not (isinstance(s.value.func, ast.Name) and s.value.func.id == "print")
                    and PROBE not in loaded_names(s)]
        live = _live_loads(tree, changers) | needed_later

        def removable(c: ast.stmt) -> bool:
            # x.backward(), f(x).backward(): changes objects that everything it reads came
            # from; removable only when none of them is read later (nor came from outside)
            cone = _cone(loaded_names(c) - MODULES, defs)
            return bool(cone) and cone <= cell_names and not cone & live

        while True:                              # a changer that stays keeps what it reads
            grown = live | set().union(*(loaded_names(c) for c in changers if not removable(c)))
            if grown == live:
                break
            live = grown
        gone = {id(c) for c in changers if removable(c)}
        removed = False

        def dead(s: ast.stmt) -> bool:
            if getattr(s, "lineno", None) in keep_lines or isinstance(s, ast.Pass) or _draws_random(s):
                return False
            if isinstance(s, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                return s.name not in live
            if isinstance(s, (ast.Import, ast.ImportFrom)):
                return not bound_names(ast.Module(body=[s], type_ignores=[])) & live
            if isinstance(s, (ast.Assign, ast.AnnAssign, ast.AugAssign)):
                if s.value is None or loaded_names(s.value) & tainted:
                    return False
                targets = s.targets if isinstance(s, ast.Assign) else [s.target]
                names = set()
                for t in targets:
                    if isinstance(t, (ast.Name, ast.Tuple, ast.List)):
                        names |= _target_names(t)
                    else:
                        root = _stores_root(t)
                        if root is None:
                            return False
                        names.add(root)
                return bool(names) and not names & live
            if id(s) in gone:
                return True
            return False

        def sweep(stmts: list[ast.stmt]) -> list[ast.stmt]:
            nonlocal removed
            out = []
            for s in stmts:
                if dead(s):
                    removed = True
                    line = getattr(s, "lineno", 0)
                    if isinstance(s, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                        removed_defs.setdefault(s.name, []).append((line, set()))
                    elif isinstance(s, (ast.Import, ast.ImportFrom)):
                        for n in bound_names(ast.Module(body=[s], type_ignores=[])):
                            removed_defs.setdefault(n, []).append((line, set()))
                    elif isinstance(s, ast.Expr):
                        for n in loaded_names(s) & cell_names:
                            removed_defs.setdefault(n, []).append((line, loaded_names(s) - {n}))
                    else:
                        targets = s.targets if isinstance(s, ast.Assign) else [s.target]
                        for t in targets:
                            for n in _target_names(t) | {_stores_root(t)} - {None}:
                                removed_defs.setdefault(n, []).append((line, loaded_names(s.value)))
                    continue
                for part in ("body", "orelse", "finalbody"):
                    block = getattr(s, part, None)
                    if isinstance(block, list) and block and not isinstance(
                            s, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                        new = sweep(block)
                        setattr(s, part, new or ([ast.copy_location(ast.Pass(), s)] if part == "body" else []))
                out.append(s)
            return out

        tree.body = sweep(tree.body)
        if not removed:
            return removed_defs


#: Module names test cells use: reading one does not tie a statement to any data.
MODULES = {"torch", "F", "nn", "copy", "math", "np", "numpy", "random", "itertools", "functools"}


def _cone(names: set[str], defs: dict[str, set[str]]) -> set[str]:
    """``names`` and every name their values in the cell were made from."""
    out, todo = set(), list(names)
    while todo:
        n = todo.pop()
        if n in out:
            continue
        out.add(n)
        todo.extend(defs.get(n, ()))
    return out


def _statements(tree: ast.AST):
    """Every statement of the cell's own code: not those inside its functions and classes."""
    todo = list(getattr(tree, "body", []))
    while todo:
        s = todo.pop()
        yield s
        if isinstance(s, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            continue
        for part in ("body", "orelse", "finalbody"):
            todo.extend(getattr(s, part, []) or [])
        for h in getattr(s, "handlers", []) or []:
            todo.extend(h.body)


def _roots(names: set[str], removed: dict[str, list[tuple[int, set[str]]]], line: int) -> list[str]:
    """``names`` (read at ``line``) with every removed binding before that line replaced by
    the names its value read; a removed name with no binding before the line is left out."""
    out, seen, todo = set(), set(), [(n, line) for n in names]
    while todo:
        n, at = todo.pop()
        if (n, at) in seen:
            continue
        seen.add((n, at))
        if n in removed:
            for where, reads in removed[n]:
                if where < at:
                    todo.extend((r, where) for r in reads)
        else:
            out.add(n)
    return sorted(out - set(dir(builtins)))


class _FillInputs(ast.NodeTransformer):
    """Replace each site's inputs placeholder by ``lambda: {name: lambda: name, ...}``."""

    def __init__(self, names: dict[int, list[str]], messages: dict[int, ast.expr] | None = None,
                 removed: set[str] = frozenset()):
        self.names, self.messages, self.removed = names, messages or {}, removed

    def visit_Call(self, node: ast.Call):
        self.generic_visit(node)
        if (isinstance(node.func, ast.Attribute) and isinstance(node.func.value, ast.Name)
                and node.func.value.id == PROBE and node.args and isinstance(node.args[0], ast.Constant)):
            site = node.args[0].value
            keywords = []
            for k in node.keywords:
                if k.arg == "inputs" and isinstance(k.value, ast.Constant) and k.value.value == INPUTS_MARK:
                    names = self.names.get(site, [])
                    k.value = (_lambda(_dict({n: _lambda(ast.Name(n, ast.Load())) for n in names}))
                               if names else ast.Constant(None))
                if k.arg == "message" and isinstance(k.value, ast.Constant) and k.value.value == MESSAGE_MARK:
                    message = self.messages.get(site)
                    if message is None or loaded_names(message) & self.removed:
                        continue
                    k.value = _lambda(message)
                keywords.append(k)
            node.keywords = keywords
        return node


# ------------------------------------------------------------------ entry point
def make_probes(grade_id: str, source: str, tainted: set[str], needed_later: set[str] = frozenset(),
                other_tests: set[str] = frozenset()) -> Probes:
    """The reference and student probes of one test cell (see the module docstring)."""
    try:
        tree = ast.parse(source)
    except SyntaxError as err:
        raise ProbeError(f"{grade_id}: the test does not parse ({err})") from None
    hidden = _hidden_range(source)
    keep_lines = {i + 1 for i, line in enumerate(source.splitlines()) if KEEP_PRAGMA.search(line)}
    tainted = set(tainted)
    _taint_statements(tree.body, tainted, mutate=False, defined=set())
    # names tainted anywhere in the cell count as tainted everywhere in it (a fixpoint
    # over the cell is simpler than tracking each statement, and errs on keeping)
    cell_tainted = _cell_taint(tree, tainted)
    out = {}
    inputs: dict[int, list[str]] = {}
    for student in (True, False):          # the student's first: its pruning names the inputs
        t = copy.deepcopy(tree)
        rewriter = _Rewriter(student, cell_tainted, hidden, keep_lines)
        t = rewriter.visit(t)
        removed: dict[str, list] = {}
        if student:
            removed = _prune(t, cell_tainted, set(needed_later), keep_lines)
            # an input named by another test cell may be pruned there: not compared
            foreign = set(other_tests) - bound_names(tree)
            inputs = {k: [n for n in _roots(v, removed, rewriter.sites[k].line) if n not in foreign]
                      for k, v in rewriter.inputs.items()}
        t = _FillInputs(inputs, rewriter.messages, set(removed) - bound_names(t)).visit(t)
        _mark_hidden(t, hidden)
        ast.fix_missing_locations(t)
        out[student] = (ast.unparse(t), rewriter.sites)
    sites = out[False][1]
    student_sites = out[True][1]
    for k, s in sites.items():
        s.stripped = student_sites[k].stripped
    probes = Probes(grade_id, out[False][0], out[True][0], sites)
    probes.kept_inputs = _kept_reference_names(tree, out[True][0], cell_tainted)
    probes.hidden_literals = _hidden_literals(tree, hidden)
    return probes


def _hidden_literals(tree: ast.Module, hidden: tuple[int, int] | None) -> list[str]:
    """String and long number constants of the hidden tests, except the rules, hints and
    plain assertion messages written for students."""
    if not hidden:
        return []
    for_students: set[int] = set()
    for n in ast.walk(tree):
        if isinstance(n, ast.keyword) and n.arg in ("rule", "hint", "reason"):
            for c in ast.walk(n.value):
                for_students.add(id(c))
        if isinstance(n, ast.Assert) and n.msg is not None:
            for c in ast.walk(n.msg):
                for_students.add(id(c))
        if isinstance(n, ast.Call) and isinstance(n.func, ast.Name) and n.func.id == "print":
            for c in ast.walk(n):
                for_students.add(id(c))
    out = set()
    for n in ast.walk(tree):
        if not isinstance(n, ast.Constant) or id(n) in for_students:
            continue
        if not hidden[0] <= getattr(n, "lineno", 0) <= hidden[1]:
            continue
        if isinstance(n.value, str) and len(n.value.strip()) >= 4:
            out.add(n.value.strip())
        elif isinstance(n.value, int) and not isinstance(n.value, bool) and abs(n.value) >= 10_000:
            out.add(repr(n.value))
    source_visible = _visible_text(tree, hidden)
    return sorted(lit for lit in out if lit not in source_visible)


def _visible_text(tree: ast.Module, hidden: tuple[int, int]) -> str:
    """The text of the test's statements outside the hidden region."""
    return "\n".join(ast.unparse(s) for s in tree.body if not hidden[0] <= s.lineno <= hidden[1])


def _cell_taint(tree: ast.Module, tainted: set[str]) -> set[str]:
    t = set(tainted)
    for _ in range(3):
        before = set(t)
        _taint_statements(tree.body, t, mutate=False, defined=set())
        t |= before
        if t == before:
            break
    return t


def _kept_reference_names(tree: ast.Module, student_source: str, tainted: set[str]) -> list[str]:
    """Names the student probe still binds from reference calls (for the audit): bound in
    the cell from untainted values and still read by the student probe."""
    student = ast.parse(student_source)
    still = bound_names(student)
    return sorted(n for n in still if n not in tainted and n.startswith(("exp", "_exp", "ref", "_ref", "want")))


def _reads_before_binding(tree: ast.Module) -> tuple[set[str], set[str]]:
    """Names a cell reads before it binds them, and the names its top level always binds."""
    reads, binds = set(), set()
    for stmt in tree.body:
        reads |= loaded_names(stmt) - binds
        if isinstance(stmt, (ast.Assign, ast.AnnAssign, ast.FunctionDef, ast.ClassDef, ast.Import,
                             ast.ImportFrom)):
            binds |= bound_names(ast.Module(body=[stmt], type_ignores=[]))
    return reads, binds


def notebook_probes(nb) -> dict[str, Probes]:
    """Probes for every test cell of the instructor's notebook ``nb`` (nbformat)."""
    cells = nb["cells"] if isinstance(nb, dict) else nb.cells
    taint = notebook_taint(cells)
    later_reads: list[set[str]] = []
    acc: set[str] = set()              # names some later cell reads before binding them
    for cell in reversed(cells):
        later_reads.append(set(acc))
        if cell.get("cell_type") == "code":
            try:
                reads, binds = _reads_before_binding(parse_cell(_source(cell)))
            except SyntaxError:
                continue
            acc = reads | (acc - binds)
    later_reads.reverse()
    test_names: set[str] = set()
    for cell in cells:
        if is_test(cell):
            try:
                test_names |= bound_names(parse_cell(_source(cell)))
            except SyntaxError:
                pass
    out = {}
    for i, cell in enumerate(cells):
        if is_test(cell):
            gid = cell["metadata"]["nbgrader"]["grade_id"]
            out[gid] = make_probes(gid, _source(cell), taint.get(i, set()), later_reads[i], test_names)
    shown = _released_text(cells)
    for probes in out.values():
        probes.hidden_literals = [lit for lit in probes.hidden_literals if lit not in shown]
    return out


def _released_text(cells) -> str:
    """What a student sees of the notebook: every cell without its hidden tests and
    solutions."""
    out, skip = [], False
    for cell in cells:
        for line in _source(cell).splitlines():
            mark = line.strip()
            if mark in (HIDDEN_BEGIN, "### BEGIN SOLUTION"):
                skip = True
            elif mark in (HIDDEN_END, "### END SOLUTION"):
                skip = False
            elif not skip:
                out.append(line)
    return "\n".join(out)
