"""The kernel sandbox: what it confines here, and that it says what it could not."""
from __future__ import annotations

import os
import shutil

import pytest

from autograder.course import REPO_ROOT, SOLUTIONS_DIR
from autograder.sandbox import SandboxPlan, python_roots

pytestmark = pytest.mark.slow

FULL = os.geteuid() == 0 and shutil.which("bwrap") is not None


def test_python_roots_never_expose_the_repository():
    roots = python_roots()
    assert str(REPO_ROOT) not in roots
    assert not any(str(REPO_ROOT).startswith(r + "/") for r in roots)


@pytest.mark.skipif(not FULL, reason="needs root and bubblewrap (scripts/install_system_deps.sh)")
def test_full_sandbox_hides_secrets_blocks_network_and_drops_privileges(tmp_path):
    secret = tmp_path / "gradebook.db"
    secret.write_text("hidden tests")
    plan = SandboxPlan.detect(secrets=[str(secret), str(SOLUTIONS_DIR)])
    assert plan.mode == "bwrap"
    on = {p.name: p.on for p in plan.protections}
    assert all(on.values()), plan.protections


def test_without_isolation_every_missing_protection_is_named(tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("x")
    plan = SandboxPlan.detect(isolate=False, secrets=[str(secret)])
    assert plan.mode == "plain"
    off = {p.name: p.how for p in plan.off}
    assert "no network" in off and "private filesystem view" in off
    assert str(secret) in off["private filesystem view"]
    assert all("switched off" in how for how in off.values() if "see" not in how)
    assert any(p.name == "resource limits" and p.on for p in plan.protections)
