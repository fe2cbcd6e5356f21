"""The explorer as a widget in a real JupyterLab page: started on 127.0.0.1, driven in headless Chromium.

A notebook cell runs `explore(y)`; the widget (anywidget, the same script as the HTML page)
renders in the output area, answers a click with the chain-rule panel and the arrow keys with
steps of backward() (JupyterLab's own use of those keys does not get them); the notebook saved by
JupyterLab carries the PNG beside the widget, for readers without a kernel.
"""

from __future__ import annotations

import base64
import json
import math
import os
import secrets
import socket
import subprocess
import sys
import time
import urllib.request

import pytest
from test_explorer_browser import ARGS, CHROMIUM, _unavailable

pytestmark = pytest.mark.browser

NOTEBOOK = {
    "cells": [{"cell_type": "code", "execution_count": None, "id": "explore", "metadata": {}, "outputs": [],
               "source": "from autograd import Value, explore\n"
                         "x = Value(2.0, label='x')\n"
                         "y = (x * x).tanh()\n"
                         "y.label = 'y'\n"
                         "y.backward()\n"
                         "explore(y)"}],
    "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}},
    "nbformat": 4, "nbformat_minor": 5,
}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    """(url of the notebook, its path): JupyterLab serving a folder with one notebook, on 127.0.0.1."""
    try:
        import anywidget  # noqa: F401
        import jupyterlab  # noqa: F401
        from playwright.sync_api import sync_playwright  # noqa: F401
    except ImportError as error:
        _unavailable(f"{error.name} is not installed")
    root = tmp_path_factory.mktemp("lab")
    (root / "explore.ipynb").write_text(json.dumps(NOTEBOOK))
    port, token = _free_port(), secrets.token_hex(16)
    env = {**os.environ, "JUPYTER_CONFIG_DIR": str(root / ".config"), "JUPYTER_RUNTIME_DIR": str(root / ".runtime"),
           "IPYTHONDIR": str(root / ".ipython")}
    server = subprocess.Popen(
        [sys.executable, "-m", "jupyterlab", "--no-browser", "--ip=127.0.0.1", f"--port={port}",
         f"--ServerApp.token={token}", f"--ServerApp.root_dir={root}", "--ServerApp.open_browser=False",
         "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate", "--LabApp.news_url=None",
         "--allow-root"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env, cwd=root, stdin=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                urllib.request.urlopen(f"{base}/api/status?token={token}", timeout=2)
                break
            except OSError:
                if time.monotonic() > deadline or server.poll() is not None:
                    pytest.fail("JupyterLab did not start on 127.0.0.1 within 90 s")
                time.sleep(0.5)
        yield f"{base}/lab/tree/explore.ipynb?token={token}", root / "explore.ipynb"
    finally:
        server.terminate()
        try:
            server.wait(20)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


def test_the_widget_renders_in_jupyterlab_answers_a_click_and_the_saved_notebook_holds_a_png(lab):
    from playwright.sync_api import sync_playwright

    url, path = lab
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 900})
        page_errors, console = [], []
        page.on("pageerror", lambda e: page_errors.append(str(e)))
        page.on("console", lambda m: console.append(f"{m.type}: {m.text}"))
        page.goto(url)
        page.wait_for_selector(".jp-Notebook .jp-Cell", timeout=90_000)
        page.wait_for_function("() => [...document.querySelectorAll('.jp-StatusBar-TextItem')]"
                               ".some(e => e.textContent.includes('Idle'))", timeout=90_000)  # the kernel is ready
        page.click(".jp-Cell .jp-InputArea-editor")
        page.keyboard.press("Shift+Enter")
        try:
            page.wait_for_selector(".jp-OutputArea .cx-root .cx-node.cx-value", timeout=90_000)
        except Exception:
            page.screenshot(path=str(path.with_suffix(".failed.png")))
            raise AssertionError(f"no widget in the output; page console: {console[-15:]}") from None
        page.screenshot(path=str(path.with_suffix(".png")))
        assert len(page.query_selector_all(".jp-OutputArea .cx-node.cx-value")) == 3  # x, x * x, y
        for element in page.query_selector_all(".jp-OutputArea .cx-node.cx-value"):
            if "data 2" in (element.text_content() or ""):
                element.click()
        assert page.inner_text(".jp-OutputArea .cx-panel h3") == "x"
        share = float(page.get_attribute(".jp-OutputArea .cx-panel .cx-share-row", "data-share"))
        page.keyboard.press("ArrowRight")  # the widget has the focus: the arrow keys step, not JupyterLab
        page.keyboard.press("ArrowRight")
        current = page.query_selector(".jp-OutputArea .cx-node.cx-value.cx-current")
        assert current is not None and "data 4" in (current.text_content() or "")  # x * x, backward's 2nd node
        page.click(".jp-OutputArea .cx-step-reset")
        page.keyboard.press("Control+s")
        deadline = time.monotonic() + 30
        saved = {}
        while time.monotonic() < deadline:
            saved = json.loads(path.read_text())
            if saved["cells"][0]["outputs"]:
                break
            time.sleep(0.5)
        browser.close()
    assert page_errors == []
    # x * x uses x twice: each row passes x * tanh'(x * x); together they add up to x.grad
    assert math.isclose(share, 2.0 * (1 - math.tanh(4.0) ** 2), rel_tol=1e-12)
    (result,) = [o for o in saved["cells"][0]["outputs"] if o["output_type"] == "execute_result"]
    png = result["data"]["image/png"]
    assert base64.b64decode("".join(png if isinstance(png, list) else [png]))[:8] == b"\x89PNG\r\n\x1a\n"
    assert "application/vnd.jupyter.widget-view+json" in result["data"]
    text = result["data"]["text/plain"]
    assert "".join(text if isinstance(text, list) else [text]).startswith("Graph explorer of y = ")
