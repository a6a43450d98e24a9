"""Run code in a grading kernel started exactly as the grading worker starts one: the
sandbox kernelspec, a per-notebook policy file, ipc sockets in the runtime folder."""
from __future__ import annotations

import os
from pathlib import Path


def run_in_kernel(policy: Path, runtime: Path, kernelspecs: Path, code: str) -> str:
    """Start a kernel under ``policy``, run ``code``, kill the kernel as the grader does;
    what the code printed."""
    from jupyter_client import KernelManager
    from jupyter_client.kernelspec import KernelSpecManager

    from autograder.sandbox.sandbox import KERNEL_NAME, POLICY_ENV

    km = KernelManager(kernel_name=KERNEL_NAME, transport="ipc", ip=str(runtime / "k"),
                       connection_file=str(runtime / "kernel.json"),
                       kernel_spec_manager=KernelSpecManager(kernel_dirs=[str(kernelspecs)]))
    km.start_kernel(env={**os.environ, POLICY_ENV: str(policy)})
    try:
        kc = km.client()
        kc.start_channels()
        kc.wait_for_ready(timeout=120)
        printed = []
        reply = kc.execute_interactive(
            code, timeout=120,
            output_hook=lambda m: printed.append(m["content"].get("text", ""))
            if m["msg_type"] == "stream" else None)
        assert reply["content"]["status"] == "ok", reply["content"]
        kc.stop_channels()
        return "".join(printed)
    finally:
        km.shutdown_kernel(now=True)
