"""Notebook 03 in a real JupyterLab, driven through headless Chromium (Debian's
``/usr/bin/chromium``, via Playwright; never ``playwright install``).

The test starts the venv's ``jupyter lab`` on a free port with a token and hermetic
Jupyter/IPython dirs, opens a copy of the solution notebook, runs all cells, waits for
the widget explorer to draw, changes the layer and then the sentence, checks that the
picture and the status line follow, and that no cell wrote an error or stderr. The
screenshots land in the test's temporary folder. Every wait is bounded.
"""
from __future__ import annotations

import http.client
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from autograder.course.course import SOLUTIONS_DIR

pytestmark = pytest.mark.slow

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
NOTEBOOK = SOLUTIONS_DIR / "part1_representations" / "03_sequence_representations.ipynb"
SERVER_START_S = 120       # jupyter lab answering /api/status
PAGE_LOAD_S = 120          # the notebook open with an idle kernel
RUN_ALL_S = 300            # every cell run and the explorer drawn (slow, shared CI cores)
WIDGET_UPDATE_S = 60       # the explorer redrawn after a control changed
STOP_S = 20


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _server_ready(port: int, token: str) -> bool:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    try:
        conn.request("GET", "/api/status", headers={"Authorization": f"token {token}"})
        return conn.getresponse().status == 200
    except OSError:
        return False
    finally:
        conn.close()


@pytest.fixture
def lab_server(hermetic_jupyter, tmp_path):
    """A JupyterLab serving a folder that holds a copy of notebook 03: (notebook url, log file)."""
    if not CHROMIUM.is_file():
        pytest.skip(f"{CHROMIUM} is missing: install Debian's chromium "
                    "(`make system-deps` as root) to run the browser test")
    pytest.importorskip("playwright.sync_api", reason="the playwright python package is not installed")
    lab = Path(sys.executable).with_name("jupyter-lab")
    if not lab.is_file():
        pytest.skip(f"{lab} is missing: install the course's lab extra (`make setup`)")

    # no "get Jupyter news?" prompt over the page (and no news fetched)
    labconfig = Path(hermetic_jupyter["JUPYTER_CONFIG_DIR"]) / "labconfig"
    labconfig.mkdir(parents=True, exist_ok=True)
    (labconfig / "page_config.json").write_text(json.dumps(
        {"disabledExtensions": {"@jupyterlab/apputils-extension:announcements": True}}))
    root = tmp_path / "lab_root"
    root.mkdir()
    shutil.copyfile(NOTEBOOK, root / NOTEBOOK.name)
    port, token = _free_port(), secrets.token_hex(16)
    args = [str(lab), "--no-browser", "--ip=127.0.0.1", f"--port={port}", "--ServerApp.port_retries=0",
            f"--ServerApp.token={token}", f"--ServerApp.root_dir={root}",
            "--LabApp.expose_app_in_browser=True",            # window.jupyterapp, to run commands
            "--LabApp.news_url=None",                         # no network, no news pop-up
            "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate"]
    if os.geteuid() == 0:   # CI containers run as root
        args.append("--allow-root")
    log_path = tmp_path / "lab.log"
    with open(log_path, "w") as log:
        proc = subprocess.Popen(args, cwd=root, env=hermetic_jupyter, stdout=log, stderr=subprocess.STDOUT,
                                start_new_session=True)
    try:
        deadline = time.monotonic() + SERVER_START_S
        while not _server_ready(port, token):
            if proc.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"jupyter lab did not start within {SERVER_START_S} s "
                            f"(exit code {proc.poll()}):\n{log_path.read_text(errors='replace')[-3000:]}")
            time.sleep(0.5)
        yield f"http://127.0.0.1:{port}/lab/tree/{NOTEBOOK.name}?token={token}", log_path
    finally:
        try:
            os.killpg(proc.pid, signal.SIGTERM)   # the server and the kernels it started
            proc.wait(timeout=STOP_S)
        except ProcessLookupError:
            pass
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=STOP_S)


KERNEL_IDLE_JS = ("() => window.jupyterapp?.shell.currentWidget?.sessionContext?.session?.kernel?.status"
                  " === 'idle'")
STATUS = ".encoder-explorer .explorer-status"
IMAGE = ".encoder-explorer .explorer-output img"


def _explorer_image(page) -> str:
    return page.locator(IMAGE).first.get_attribute("src") or ""


def _wait_for_new_image(page, old: str) -> str:
    """Wait until the explorer shows a picture other than ``old``; return it. The status
    line is drawn separately and may change first, so it is no sign the picture did."""
    page.wait_for_function(
        "(old) => { const img = document.querySelector('.encoder-explorer .explorer-output img');"
        " return img && img.src !== old; }", arg=old, timeout=WIDGET_UPDATE_S * 1000)
    return _explorer_image(page)


def _drive_notebook(page, url: str, shots: Path) -> None:
    page.goto(url, timeout=PAGE_LOAD_S * 1000)
    page.wait_for_selector(".jp-NotebookPanel .jp-Cell", timeout=PAGE_LOAD_S * 1000)
    page.wait_for_function(KERNEL_IDLE_JS, timeout=PAGE_LOAD_S * 1000)

    page.evaluate("() => window.jupyterapp.commands.execute('notebook:run-all-cells')")
    page.wait_for_selector(IMAGE, timeout=RUN_ALL_S * 1000)
    page.wait_for_function(KERNEL_IDLE_JS, timeout=RUN_ALL_S * 1000)
    explorer = page.locator(".encoder-explorer")
    explorer.scroll_into_view_if_needed()
    page.screenshot(path=str(shots / "explorer_before.png"))
    assert "layer 3" in page.locator(STATUS).inner_text()
    before = _explorer_image(page)
    assert before.startswith("data:image/png"), before[:80]

    # change the layer: the picture and the status line follow
    page.locator(".encoder-explorer .explorer-layer select").select_option(label="6")
    after_layer = _wait_for_new_image(page, before)
    page.wait_for_function(f"() => document.querySelector('{STATUS}').innerText.includes('layer 6')",
                           timeout=WIDGET_UPDATE_S * 1000)
    assert after_layer.startswith("data:image/png"), after_layer[:80]

    # type a new sentence and press Enter
    box = page.locator(".encoder-explorer .explorer-sentence input")
    box.fill("the bank raised its interest rates")
    box.press("Enter")
    after_sentence = _wait_for_new_image(page, after_layer)
    page.wait_for_function(f"() => document.querySelector('{STATUS}').innerText.includes('interest')",
                           timeout=WIDGET_UPDATE_S * 1000)
    assert after_sentence.startswith("data:image/png"), after_sentence[:80]
    explorer.scroll_into_view_if_needed()
    explorer.screenshot(path=str(shots / "explorer_after.png"))
    page.screenshot(path=str(shots / "explorer_page.png"))

    # every cell ran without an error or stderr output
    errors = page.locator(".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.stderr']")
    assert errors.count() == 0, errors.first.inner_text()[:2000]
    assert page.locator(".jp-Cell .jp-InputPrompt").filter(has_text="[*]").count() == 0


def test_notebook_03_runs_in_jupyterlab_and_its_explorer_responds(lab_server, tmp_path):
    from playwright.sync_api import sync_playwright

    url, log_path = lab_server
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.set_default_timeout(WIDGET_UPDATE_S * 1000)
            try:
                _drive_notebook(page, url, tmp_path)
            except Exception as err:
                page.screenshot(path=str(tmp_path / "failure.png"))
                log = log_path.read_text(errors="replace")[-3000:]
                raise AssertionError(f"{err}\n(screenshot: {tmp_path / 'failure.png'}; "
                                     f"jupyter lab log:)\n{log}") from err
        finally:
            browser.close()
    assert (tmp_path / "explorer_after.png").stat().st_size > 10_000
