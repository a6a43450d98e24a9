"""scripts/install_torch.py: which torch build ``make setup`` installs, and why."""
from __future__ import annotations

import http.server
import importlib.util
import socket
import subprocess
import sys
import threading
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
_spec = importlib.util.spec_from_file_location("install_torch", ROOT / "scripts" / "install_torch.py")
install_torch = importlib.util.module_from_spec(_spec)
sys.modules["install_torch"] = install_torch   # dataclasses look their module up
_spec.loader.exec_module(install_torch)
choose, CPU_INDEX = install_torch.choose, install_torch.CPU_INDEX


def _never(index):
    raise AssertionError("the CPU index must not be probed here")


def test_linux_without_a_gpu_gets_the_cpu_build_from_pytorchs_cpu_index():
    c = choose("2.13.0", "", {}, "Linux", nvidia=False, reachable=lambda index: index == CPU_INDEX)
    assert (c.spec, c.index) == ("torch==2.13.0", CPU_INDEX)
    assert "CPU build" in c.why


def test_linux_without_a_gpu_falls_back_to_pypi_when_the_cpu_index_is_unreachable():
    c = choose("2.13.0", "", {}, "Linux", nvidia=False, reachable=lambda index: False)
    assert (c.spec, c.index) == ("torch==2.13.0", None)
    assert "could not be reached" in c.why and "PyPI" in c.why


def test_a_machine_with_an_nvidia_gpu_gets_pypis_cuda_build():
    c = choose("2.13.0", "", {}, "Linux", nvidia=True, reachable=_never)
    assert (c.spec, c.index) == ("torch==2.13.0", None)
    assert "NVIDIA GPU" in c.why


def test_macos_gets_pypis_build():
    c = choose("2.13.0", "", {}, "Darwin", nvidia=False, reachable=_never)
    assert (c.spec, c.index) == ("torch==2.13.0", None)


def test_torch_variable_overrides_the_choice():
    c = choose("2.13.0", "torch", {}, "Linux", nvidia=False, reachable=_never)
    assert (c.spec, c.index) == ("torch", None)
    assert "TORCH=torch" in c.why


def test_colab_never_installs_torch():
    for env in ({"COLAB_RELEASE_TAG": "release-colab_20250101"}, {"COLAB_GPU": "1"}):
        c = choose("2.13.0", "torch", env, "Linux", nvidia=True, reachable=_never)
        assert c.spec is None and "Colab" in c.why


def test_cpu_index_probe_tells_a_live_index_from_a_dead_one(tmp_path):
    (tmp_path / "torch").mkdir()
    (tmp_path / "torch" / "index.html").write_text("<a href='torch-2.13.0+cpu.whl'>torch</a>")

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def __init__(self, *a, **k):
            super().__init__(*a, directory=str(tmp_path), **k)

        def log_message(self, *a):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Quiet)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        assert install_torch.index_reachable(f"http://127.0.0.1:{server.server_port}/", timeout=10)
    finally:
        server.shutdown()
        server.server_close()
    with socket.socket() as s:   # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        dead = s.getsockname()[1]
    assert not install_torch.index_reachable(f"http://127.0.0.1:{dead}/whl/cpu", timeout=10)


def test_make_setup_installs_torch_through_the_script_and_torch_overrides():
    dry = subprocess.run(["make", "-n", "-B", "setup", "VENV=.venv-dry-run", "TORCH=torch==2.9.0"],
                         cwd=ROOT, capture_output=True, text=True, check=True).stdout
    line = next(l for l in dry.splitlines() if "install_torch.py" in l)
    assert '--torch "torch==2.9.0"' in line and '--version "2.13.0"' in line
    assert "pip install" not in line


def test_an_existing_torch_is_kept(tmp_path):
    pytest.importorskip("torch")
    out = subprocess.run([sys.executable, str(ROOT / "scripts" / "install_torch.py"),
                          "--version", "0.0.1", "--torch", "torch==0.0.1"],
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    assert "already installed" in out.stdout and "kept" in out.stdout
