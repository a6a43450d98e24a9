"""The grader's half of the trusted-cell protocol with the kernel's guard (kernel_sentinel.py).

A read-only course cell or a test cell is never sent to the kernel as source. It is sent
as a one-line *stub* that hands the kernel's audit hook the cell's source encrypted with
the key the hook gave the grader at the handshake (a SHA-256 keystream under a fresh
nonce), so that a student hook printing every cell it sees prints ciphertext. The hook
answers with a *receipt* signed with the same key: the source digest it ran, the
outcome, what it had to put back, what changed during a test, and what it refused.

:func:`open_receipt` accepts a receipt only when the signature, the nonce, the kind of
cell and the digest of the instructor's source all match; anything else (no receipt, a
forged or replayed one, another cell's code) is ``None``: the cell did not run as
written. The kernel side is standalone (it cannot import this module), so the two
implement the same few lines; ``tests/test_grade_tamper.py`` checks they agree.
"""
from __future__ import annotations

import ast
import hashlib
import hmac
import os
from dataclasses import dataclass

HANDSHAKE_EXPR = "__import__('__autograder_guard__').handshake()"
RECEIPT_EXPR = "__import__('__autograder_guard__').receipt({nonce!r})"
STUB = "__import__('sys').audit('autograder.run', {nonce!r}, {blob!r}, {kind!r})"


@dataclass
class Receipt:
    status: str            # "ok" or "error"
    ename: str             # the error's type name ("" when ok)
    evalue: str            # its message
    before: tuple          # what student code had replaced, put back before the cell
    during: tuple          # what changed while a test ran (then the test does not count)
    flags: tuple           # "refused: ..." / "review: ..." since the kernel started


def keystream(key: bytes, nonce: bytes, n: int) -> bytes:
    out, i = [], 0
    while len(out) * 32 < n:
        out.append(hashlib.sha256(key + nonce + i.to_bytes(8, "big")).digest())
        i += 1
    return b"".join(out)[:n]


def seal(key: bytes, source: str, kind: str) -> tuple[str, str]:
    """(nonce, stub): the code to send in place of a cell's ``source``."""
    nonce = os.urandom(16)
    data = source.encode("utf-8")
    blob = bytes(a ^ b for a, b in zip(data, keystream(key, nonce, len(data))))
    return nonce.hex(), STUB.format(nonce=nonce.hex(), blob=blob.hex(), kind=kind)


def open_receipt(key: bytes, nonce: str, kind: str, source: str, answer: dict) -> Receipt | None:
    """The verified receipt from the kernel's answer to RECEIPT_EXPR, or None."""
    try:
        if answer.get("status") != "ok":
            return None
        signed = ast.literal_eval(answer["data"]["text/plain"])
        payload, mac = signed
        if not (isinstance(payload, str) and isinstance(mac, str)):
            return None
        if not hmac.compare_digest(hmac.new(key, payload.encode("utf-8"), "sha256").hexdigest(), mac):
            return None
        got_nonce, got_kind, digest, status, ename, evalue, before, during, flags = ast.literal_eval(payload)
    except (KeyError, TypeError, ValueError, SyntaxError, MemoryError, RecursionError):
        return None
    if (got_nonce, got_kind) != (nonce, kind) or status not in ("ok", "error"):
        return None
    if digest != hashlib.sha256(source.encode("utf-8")).hexdigest():
        return None
    return Receipt(status, ename, evalue, tuple(before), tuple(during), tuple(flags))
