"""The sealed-cell protocol between the grader (cell_seal.py) and the kernel's guard
(kernel_sentinel.py), against one real kernel started by kernel_boot.py (no sandbox, no
nbgrader: the whole grading run with hostile notebooks is test_grade_robustness.py).

Each test sends what the grader sends and plays the student in between: a receipt is
accepted only for the instructor's code under a fresh nonce, signed with the key; what
student code did to IPython's execution path is undone and named; whatever it hooks
sees ciphertext, never a cell's source.
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from jupyter_client import KernelManager

from autograder.sandbox.cell_seal import HANDSHAKE_EXPR, RECEIPT_EXPR, open_receipt, seal
from autograder.sandbox.execute import GUARD_EXPR

REPO = Path(__file__).resolve().parent.parent
SECRET = "assert QUIZ_ANSWER == 'b', 'the hidden check failed'"


class Kernel:
    def __init__(self, tmp: Path):
        spec = tmp / "share" / "kernels" / "boot"
        spec.mkdir(parents=True)
        (tmp / "home").mkdir()
        (spec / "kernel.json").write_text(json.dumps({
            "argv": [sys.executable, str(REPO / "autograder" / "sandbox" / "kernel_boot.py"), "--home", str(tmp / "home"),
                     "--", "-f", "{connection_file}"],
            "display_name": "boot", "language": "python"}))
        self.km = KernelManager(kernel_name="boot")
        self.km.kernel_spec_manager.kernel_dirs = [str(tmp / "share" / "kernels")]
        self.km.start_kernel()
        self.kc = self.km.client()
        self.kc.start_channels()
        self.kc.wait_for_ready(timeout=120)
        self.key = bytes.fromhex(eval(self.silent(HANDSHAKE_EXPR)["data"]["text/plain"]))  # noqa: S307

    def silent(self, expr: str) -> dict:
        reply = self.kc.execute_interactive("", silent=True, store_history=False,
                                            user_expressions={"g": expr}, timeout=60)
        return reply["content"]["user_expressions"]["g"]

    def cell(self, code: str) -> str:
        """Run a (student) cell; its printed output."""
        out = []
        self.kc.execute_interactive(code, timeout=60, output_hook=lambda m: out.append(
            m["content"].get("text", "") if m["msg_type"] == "stream" else ""))
        return "".join(out)

    def sealed(self, source: str, kind: str = "test"):
        """What the grader does for a course or test cell: (receipt or None, printed output)."""
        nonce, stub = seal(self.key, source, kind)
        printed = self.cell(stub)
        return open_receipt(self.key, nonce, kind, source, self.silent(RECEIPT_EXPR.format(nonce=nonce))), printed

    def close(self):
        self.kc.stop_channels()
        self.km.shutdown_kernel(now=True)


@pytest.fixture
def kernel(tmp_path):
    k = Kernel(tmp_path)
    yield k
    k.close()


def test_a_sealed_cell_runs_as_written_and_its_outcome_is_signed(kernel):
    kernel.cell("QUIZ_ANSWER = 'b'")
    receipt, _ = kernel.sealed(SECRET + "\nprint('hidden check passed')")
    assert receipt is not None and receipt.status == "ok", receipt
    kernel.cell("QUIZ_ANSWER = 'c'")
    receipt, _ = kernel.sealed(SECRET)
    assert (receipt.status, receipt.ename, receipt.evalue) == ("error", "AssertionError", "the hidden check failed")


def test_a_second_handshake_gets_no_key(kernel):
    assert kernel.silent(HANDSHAKE_EXPR)["data"]["text/plain"] == "''"


def test_forged_replayed_or_foreign_receipts_are_rejected(kernel):
    kernel.cell("QUIZ_ANSWER = 'b'")
    nonce, stub = seal(kernel.key, SECRET, "test")
    kernel.cell(stub)
    answer = kernel.silent(RECEIPT_EXPR.format(nonce=nonce))
    assert open_receipt(kernel.key, nonce, "test", SECRET, answer) is not None
    assert open_receipt(kernel.key, nonce, "test", "pass", answer) is None          # other code
    assert open_receipt(kernel.key, nonce, "course", SECRET, answer) is None        # other kind
    assert open_receipt(b"k" * 32, nonce, "test", SECRET, answer) is None           # other key
    forged = dict(answer, data={"text/plain": answer["data"]["text/plain"].replace("'ok'", "'OK'")})
    assert open_receipt(kernel.key, nonce, "test", SECRET, forged) is None
    # the receipt is handed out once; the same stub sent again is refused
    assert open_receipt(kernel.key, nonce, "test", SECRET, kernel.silent(RECEIPT_EXPR.format(nonce=nonce))) is None
    kernel.cell(stub)
    assert kernel.silent(RECEIPT_EXPR.format(nonce=nonce))["data"]["text/plain"] == "None"


def test_the_execution_path_is_put_back_and_named(kernel):
    kernel.cell("""
import ast, torch
from IPython.core.interactiveshell import InteractiveShell
ip = get_ipython()
ip.input_transformers_cleanup.append(lambda lines: lines)
ip.input_transformers_post.append(lambda lines: lines)
ip.ast_transformers.append(ast.NodeTransformer())
ip.transform_cell = lambda raw: "pass"
torch.allclose = lambda *a, **k: True
ip.kernel.do_execute = (lambda orig: lambda *a, **k: orig(*a, **k))(ip.kernel.do_execute)   # a wrapper
InteractiveShell.run_code = lambda *a, **k: None   # last: later statements of this cell would not run
""")
    found = eval(kernel.silent(GUARD_EXPR)["data"]["text/plain"])  # noqa: S307
    for name in ("input_transformers_cleanup", "input_transformers_post", "ast_transformers",
                 "shell.transform_cell", "InteractiveShell.run_code (class)", "kernel.do_execute",
                 "torch.allclose"):
        assert any(name in f for f in found), (name, found)
    receipt, _ = kernel.sealed("import torch\nassert not torch.allclose(torch.zeros(1), torch.ones(1))")
    assert receipt is not None and receipt.status == "ok" and not receipt.before


def test_what_a_test_changes_while_it_runs_is_reported(kernel):
    kernel.cell("import torch\ndef answer():\n    torch.allclose = lambda *a, **k: True\n    return 1")
    receipt, _ = kernel.sealed("assert answer() == 1")
    assert receipt.during == ("torch.allclose",)


def test_a_training_step_inside_a_test_is_not_taken_for_tampering(kernel):
    # an optimizer's first step() imports torch._dynamo, which rebinds torch.manual_seed
    receipt, _ = kernel.sealed(
        "import torch\n"
        "w = torch.nn.Parameter(torch.ones(3))\n"
        "opt = torch.optim.AdamW([w], lr=0.1)\n"
        "(w ** 2).sum().backward()\n"
        "opt.step()\n"
        "assert (w < 1).all()")
    assert receipt is not None and receipt.status == "ok", receipt
    assert not receipt.before and not receipt.during, (receipt.before, receipt.during)


def test_torch_grad_mode_set_by_one_cell_holds_in_the_next_as_in_a_normal_run(kernel):
    # grader cells run in a thread of their own and torch's grad mode is per thread: a
    # setup cell's torch.set_grad_enabled(False) must still hold in the tests after it
    receipt, _ = kernel.sealed("import torch\ntorch.set_grad_enabled(False)", kind="course")
    assert receipt is not None and receipt.status == "ok", receipt
    assert kernel.cell("print(torch.is_grad_enabled())").strip() == "False"     # a student cell
    receipt, _ = kernel.sealed(
        "p = torch.nn.Parameter(torch.ones(2))\n"
        "p.add_(1.0)   # in-place on a leaf: allowed only with grad off\n"
        "assert not torch.is_grad_enabled()")
    assert receipt is not None and receipt.status == "ok", receipt
    kernel.cell("torch.set_grad_enabled(True)")
    receipt, _ = kernel.sealed("assert torch.is_grad_enabled()")
    assert receipt is not None and receipt.status == "ok", receipt


def test_student_hooks_see_only_ciphertext(kernel):
    kernel.cell("""
import ast, builtins, sys
SEEN = []
ip = get_ipython()
ip.input_transformers_cleanup.append(lambda lines: SEEN.append("".join(lines)) or lines)
class Spy(ast.NodeTransformer):
    def visit_Module(self, node):
        SEEN.append(ast.unparse(node)); return node
ip.ast_transformers.append(Spy())
ip.events.register("pre_run_cell", lambda info: SEEN.append(info.raw_cell))
""")
    kernel.cell("QUIZ_ANSWER = 'b'")
    receipt, printed = kernel.sealed(SECRET)
    assert receipt is not None and receipt.status == "ok"
    kernel.cell("QUIZ_ANSWER = 'b'")   # the guard removed the spies; they get registered again
    kernel.cell("""
ip = get_ipython()
ip.input_transformers_cleanup.append(lambda lines: SEEN.append("".join(lines)) or lines)
ip.events.register("pre_run_cell", lambda info: SEEN.append(info.raw_cell))
""")
    nonce, stub = seal(kernel.key, SECRET, "test")
    kernel.cell(stub)   # sent without the guard's clean-up first: the spies see the stub itself
    seen = kernel.cell("print(repr(SEEN))")
    assert "autograder.run" in seen and "QUIZ_ANSWER ==" not in seen and "hidden check" not in seen


def test_introspection_that_could_reach_the_key_is_refused_and_reported(kernel):
    printed = kernel.cell("""
import gc, sys
for attempt in (lambda: sys.settrace(lambda *a: None), lambda: sys.setprofile(lambda *a: None),
                lambda: gc.get_objects(), lambda: sys._current_frames()):
    try:
        attempt()
        print("allowed")
    except RuntimeError:
        print("refused")
sys.addaudithook(lambda event, args: print("student hook saw", event))
import ctypes
ctypes.string_at(id(ctypes), 8)
""")
    assert printed.count("refused") == 4 and "allowed" not in printed and "student hook saw" not in printed
    receipt, _ = kernel.sealed("x = 1", "course")
    flags = " ".join(receipt.flags)
    for words in ("sys.settrace", "sys.setprofile", "gc.get_objects", "sys._current_frames",
                  "sys.addaudithook", "ctypes"):
        assert words in flags, (words, receipt.flags)
