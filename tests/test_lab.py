"""JupyterLab, for real: a server on loopback serves every notebook through its REST API as a valid
python3 notebook, runs one notebook through a kernel it started (over the kernel websocket, the way
the browser does), and in headless Chromium (driven over WebDriver by chromedriver) a notebook opens,
runs all its cells from the page and renders its figures (screenshot kept in build/test-artifacts/).
In CI the browser test must run: a missing browser fails it there instead of skipping it."""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import nbformat
import pytest
import requests
from papermill.iorw import load_notebook_node
from papermill.parameterize import parameterize_notebook

from conftest import NOTEBOOKS, ROOT

FASTEST = "01_relu_manifold"  # the notebook executed through the server's kernel
ARTIFACTS = ROOT / "build" / "test-artifacts"
START_TIMEOUT = 60  # s for the server to answer
CELL_TIMEOUT = 120  # s for one cell of a smoke run
ANSI = re.compile(r"\x1b\[[0-9;]*m")


@dataclass
class LabServer:
    """A running JupyterLab: its base URL, token and log."""

    url: str
    token: str
    root: Path
    log: Path
    proc: subprocess.Popen

    def api(self, method: str, path: str, **kwargs) -> requests.Response:
        kwargs.setdefault("timeout", 30)
        r = requests.request(
            method, f"{self.url}{path}", headers={"Authorization": f"token {self.token}"}, **kwargs
        )
        assert r.ok, f"{method} {path}: HTTP {r.status_code} {r.text[:300]}\n{self.log_tail()}"
        return r

    def log_tail(self, lines: int = 30) -> str:
        text = self.log.read_text(errors="replace") if self.log.exists() else ""
        return "server log (tail):\n" + "\n".join(text.splitlines()[-lines:])


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# User settings for the test server: never autosave (the browser must not write into notebooks/)
# and do not ask about Jupyter news (a clean screenshot).
LAB_SETTINGS = {
    "@jupyterlab/docmanager-extension/plugin": {"autosave": False},
    "@jupyterlab/apputils-extension/notification": {"fetchNews": "false"},
}


def start_lab(root_dir: Path, work: Path) -> LabServer:
    """Start JupyterLab on 127.0.0.1 (random port, fresh token, private config and runtime dirs)."""
    port, token = free_port(), secrets.token_hex(16)
    for plugin, values in LAB_SETTINGS.items():
        target = work / "settings" / f"{plugin}.jupyterlab-settings"
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(json.dumps(values))
    env = dict(os.environ)
    for var, sub in (
        ("JUPYTER_CONFIG_DIR", "config"),
        ("JUPYTER_DATA_DIR", "data"),
        ("JUPYTER_RUNTIME_DIR", "runtime"),
        ("IPYTHONDIR", "ipython"),
    ):
        env[var] = str(work / sub)
    # Kernels import this checkout's mnv2lab, whatever folder the server serves.
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    cmd = [
        sys.executable,
        "-m",
        "jupyterlab",
        "--no-browser",
        "--ip=127.0.0.1",
        f"--port={port}",
        "--port-retries=0",
        f"--IdentityProvider.token={token}",
        f"--ServerApp.root_dir={root_dir}",
        "--LabApp.news_url=None",
        "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
        "--LabApp.extension_manager=readonly",
        f"--LabApp.workspaces_dir={work / 'workspaces'}",
        f"--LabApp.user_settings_dir={work / 'settings'}",
        # Lab checkpoints a notebook when it opens it: keep that out of the repository.
        f"--FileCheckpoints.checkpoint_dir={work / 'checkpoints'}",
        # window.jupyterapp: the browser test drives the notebook through Lab's own commands.
        "--LabApp.expose_app_in_browser=True",
    ]
    if os.geteuid() == 0:
        cmd.append("--allow-root")
    log = work / "jupyterlab.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            cmd, stdout=out, stderr=subprocess.STDOUT, env=env, start_new_session=True
        )
    server = LabServer(f"http://127.0.0.1:{port}", token, root_dir, log, proc)
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"JupyterLab exited with {proc.returncode}\n{server.log_tail()}")
        try:
            if requests.get(
                f"{server.url}/api/status", timeout=2, headers={"Authorization": f"token {token}"}
            ).ok:
                return server
        except requests.ConnectionError:
            pass
        time.sleep(0.3)
    stop_lab(server)
    raise RuntimeError(f"JupyterLab did not answer within {START_TIMEOUT} s\n{server.log_tail()}")


def stop_lab(server: LabServer) -> None:
    """SIGTERM (the server then shuts its kernels down), SIGKILL the group if it hangs."""
    if server.proc.poll() is None:
        server.proc.send_signal(signal.SIGTERM)
        try:
            server.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(server.proc.pid, signal.SIGKILL)
            server.proc.wait(timeout=5)


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    if not NOTEBOOKS:
        pytest.skip("notebooks/ holds no NN_topic.ipynb yet")
    server = start_lab(ROOT / "notebooks", tmp_path_factory.mktemp("lab"))
    yield server
    stop_lab(server)


def first_heading(nb: nbformat.NotebookNode) -> str:
    """Plain text of the first Markdown heading of the notebook's first cell."""
    for line in nb.cells[0].source.splitlines():
        if line.lstrip().startswith("#"):
            return " ".join(re.sub(r"[*_`$]", "", line.strip().lstrip("#")).split())
    raise AssertionError("the first cell has no Markdown heading")


# --- the REST API ---------------------------------------------------------------------------------


def test_every_notebook_opens_through_the_server_api(lab):
    specs = lab.api("GET", "/api/kernelspecs").json()["kernelspecs"]
    assert "python3" in specs
    listed = {m["name"]: m["type"] for m in lab.api("GET", "/api/contents").json()["content"]}
    for path in NOTEBOOKS:
        assert listed.get(path.name) == "notebook", f"{path.name} not served as a notebook"
        model = lab.api(
            "GET", f"/api/contents/{path.name}", params={"type": "notebook", "content": 1}
        ).json()
        assert model["type"] == "notebook" and model["format"] == "json"
        nb = nbformat.from_dict(model["content"])
        nbformat.validate(nb)
        assert nb.metadata["kernelspec"]["name"] == "python3"
        assert first_heading(nb), f"{path.name}: its first cell needs a heading"


# --- a notebook through a kernel the server started -----------------------------------------------


class KernelChannel:
    """The kernel websocket JupyterLab itself uses (/api/kernels/ID/channels, JSON messages)."""

    def __init__(self, lab: LabServer, kernel_id: str):
        import websocket  # websocket-client, a dependency of jupyter_server

        self.session = uuid.uuid4().hex
        url = lab.url.replace("http://", "ws://")
        self.ws = websocket.create_connection(
            f"{url}/api/kernels/{kernel_id}/channels?session_id={self.session}",
            header=[f"Authorization: token {lab.token}"],
            timeout=CELL_TIMEOUT,
        )

    def execute(self, code: str) -> tuple[dict, list[dict]]:
        """Run ``code``; return the execute_reply content and the iopub messages it caused."""
        msg_id = uuid.uuid4().hex
        self.ws.send(
            json.dumps(
                {
                    "header": {
                        "msg_id": msg_id,
                        "msg_type": "execute_request",
                        "session": self.session,
                        "username": "test",
                        "version": "5.3",
                        "date": "",
                    },
                    "parent_header": {},
                    "metadata": {},
                    "channel": "shell",
                    "buffers": [],
                    "content": {
                        "code": code,
                        "silent": False,
                        "store_history": True,
                        "user_expressions": {},
                        "allow_stdin": False,
                        "stop_on_error": True,
                    },
                }
            )
        )
        reply, iopub, idle = None, [], False
        deadline = time.monotonic() + CELL_TIMEOUT
        while reply is None or not idle:
            assert time.monotonic() < deadline, f"no reply within {CELL_TIMEOUT} s to:\n{code}"
            msg = json.loads(self.ws.recv())
            if msg.get("parent_header", {}).get("msg_id") != msg_id:
                continue
            kind = msg["header"]["msg_type"]
            if msg["channel"] == "shell" and kind == "execute_reply":
                reply = msg["content"]
            elif msg["channel"] == "iopub":
                iopub.append(msg)
                idle = idle or (kind == "status" and msg["content"]["execution_state"] == "idle")
        return reply, iopub

    def close(self) -> None:
        self.ws.close()


def _failure(index: int, source: str, reply: dict, iopub: list[dict]) -> str:
    err = next((m["content"] for m in iopub if m["header"]["msg_type"] == "error"), reply)
    trace = ANSI.sub("", "\n".join(err.get("traceback", [])))
    return (
        f"cell {index} (counting the injected-parameters cell) failed: {err.get('ename')}: "
        f"{err.get('evalue')}\n--- source ---\n{source}\n--- traceback ---\n{trace[-3000:]}"
    )


@pytest.mark.slow
def test_a_notebook_runs_through_a_server_kernel(lab, tmp_path):
    path = next((p for p in NOTEBOOKS if p.stem == FASTEST), NOTEBOOKS[0])
    out_dir = tmp_path / "figs"
    # The same injected-parameters cell papermill would add after the `parameters` cell.
    nb = parameterize_notebook(
        load_notebook_node(str(path)), {"smoke": True, "out_dir": str(out_dir)}
    )
    session = lab.api(
        "POST",
        "/api/sessions",
        json={
            "path": path.name,
            "name": path.name,
            "type": "notebook",
            "kernel": {"name": "python3"},
        },
    ).json()
    channel = KernelChannel(lab, session["kernel"]["id"])
    try:
        reply, iopub = channel.execute("import os, sys; print(os.getcwd()); print(sys.prefix)")
        stdout = "".join(
            m["content"].get("text", "") for m in iopub if m["header"]["msg_type"] == "stream"
        )
        cwd, prefix = stdout.split("\n")[:2]
        assert Path(cwd) == lab.root, "JupyterLab runs a kernel in the notebook's folder"
        assert Path(prefix) == Path(sys.prefix), "the kernel must run in the project's venv"
        for i, cell in enumerate(nb.cells):
            if cell.cell_type != "code":
                continue
            reply, iopub = channel.execute(cell.source)
            assert reply["status"] == "ok", _failure(i, cell.source, reply, iopub)
    finally:
        channel.close()
        lab.api("DELETE", f"/api/sessions/{session['id']}")
    for name in nb.metadata["mnv2lab"]["figures"]:
        for ext in ("png", "pdf", "json"):
            assert (out_dir / f"{name}.{ext}").exists(), f"{path.stem} did not write {name}.{ext}"


# --- the notebook run in a real browser -----------------------------------------------------------


def browser_required() -> bool:
    """In CI (``CI`` set, as CI services do, or ``MNV2LAB_REQUIRE_BROWSER=1`` from ``.ci/run``) a
    missing browser is a failure, not a skip: a skip there would hide that the test never ran."""
    return bool(os.environ.get("CI")) or os.environ.get("MNV2LAB_REQUIRE_BROWSER") == "1"


def _browser() -> tuple[str, str]:
    """Paths of headless Chromium and its matching chromedriver (Debian: chromium, chromium-driver)."""
    exe = shutil.which("chromium") or shutil.which("chromium-browser")
    driver = shutil.which("chromedriver")
    if exe is None or driver is None:
        missing = " and ".join(n for n, p in (("chromium", exe), ("chromedriver", driver)) if not p)
        message = (
            f"{missing} not installed (Debian: apt-get install chromium chromium-driver; "
            ".ci/run installs them in CI)"
        )
        if browser_required():
            pytest.fail(f"browser test required here (CI): {message}")
        pytest.skip(message)
    return exe, driver


class WebDriver:
    """A minimal W3C WebDriver client (plain HTTP + JSON) for one headless Chromium session."""

    def __init__(self, driver: str, chromium: str, profile: Path, log: Path):
        port = free_port()
        self.log = log
        with open(log, "wb") as out:
            self.proc = subprocess.Popen(
                [driver, f"--port={port}"],
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self.url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            try:
                if requests.get(f"{self.url}/status", timeout=2).json()["value"]["ready"]:
                    break
            except (requests.ConnectionError, ValueError, KeyError):
                pass
            if time.monotonic() > deadline or self.proc.poll() is not None:
                self.quit()
                raise RuntimeError(f"chromedriver did not start\n{log.read_text(errors='replace')}")
            time.sleep(0.2)
        args = [
            "--headless=new",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-sync",
            "--disable-component-update",
            "--hide-scrollbars",
            "--window-size=1280,900",
            f"--user-data-dir={profile}",
        ]
        caps = {
            "capabilities": {
                "alwaysMatch": {
                    "browserName": "chrome",
                    "goog:chromeOptions": {"binary": chromium, "args": args},
                }
            }
        }
        self.session = self._call("POST", "/session", caps)["sessionId"]

    def _call(self, method: str, path: str, body: dict | None = None):
        r = requests.request(method, f"{self.url}{path}", json=body, timeout=CELL_TIMEOUT)
        value = r.json().get("value")
        assert r.ok, f"WebDriver {method} {path}: HTTP {r.status_code}: {str(value)[:500]}"
        return value

    def open(self, url: str) -> None:
        self._call("POST", f"/session/{self.session}/url", {"url": url})

    def js(self, script: str):
        """Run ``script`` (a function body; ``return`` gives the value) in the page."""
        return self._call(
            "POST", f"/session/{self.session}/execute/sync", {"script": script, "args": []}
        )

    def screenshot(self, path: Path) -> None:
        import base64

        path.write_bytes(base64.b64decode(self._call("GET", f"/session/{self.session}/screenshot")))

    def quit(self) -> None:
        if getattr(self, "session", None):
            try:
                self._call("DELETE", f"/session/{self.session}")
            except (AssertionError, requests.RequestException):
                pass
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)


# The notebook as JupyterLab holds it (window.jupyterapp, exposed by start_lab): which code cells
# ran, the errors they raised, whether the kernel is idle, and the images the page has rendered.
NOTEBOOK_STATE_JS = """
const app = window.jupyterapp;
const panel = app && app.shell.currentWidget;
if (!panel || !panel.content || !panel.content.model || !panel.sessionContext) return null;
const kernel = panel.sessionContext.session && panel.sessionContext.session.kernel;
const cells = Array.from(panel.content.model.cells).filter(c => c.type === 'code');
const errors = [];
for (const c of cells) {
  for (const o of c.toJSON().outputs || []) {
    if (o.output_type === 'error') errors.push(o.ename + ': ' + o.evalue);
  }
}
const images = Array.from(panel.node.querySelectorAll('.jp-RenderedImage img'))
  .filter(img => img.complete && img.naturalWidth > 100 && img.naturalHeight > 100);
return {kernel: kernel ? kernel.status : 'none', code: cells.length,
        ran: cells.filter(c => c.executionCount !== null).length, errors: errors,
        images: images.length,
        headings: Array.from(panel.node.querySelectorAll('.jp-RenderedMarkdown h1'))
          .map(h => h.textContent.replace('\u00b6', '').trim())};
"""
RUN_TIMEOUT = 600  # s for the whole smoke run in the browser


@pytest.mark.slow
def test_notebook_runs_in_the_browser_and_renders_a_figure(tmp_path):
    """Open a notebook in JupyterLab in headless Chromium, run all its cells from the page (the
    command a student's "Run All" issues) and check the page renders the figures it draws."""
    chromium, driver = _browser()
    path = next((p for p in NOTEBOOKS if p.stem == FASTEST), NOTEBOOKS[0])
    heading = first_heading(nbformat.read(path, as_version=4))
    before = {p: p.read_bytes() for p in NOTEBOOKS}
    # A smoke-parameterized copy in a folder of its own, so the run writes nothing into the repo.
    root, figs = tmp_path / "root", tmp_path / "figs"
    root.mkdir()
    nb = parameterize_notebook(load_notebook_node(str(path)), {"smoke": True, "out_dir": str(figs)})
    nbformat.write(nb, root / path.name)
    server = start_lab(root, tmp_path / "lab")
    browser = None
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    shot = ARTIFACTS / f"jupyterlab-{path.stem}.png"
    shot.unlink(missing_ok=True)
    try:
        browser = WebDriver(driver, chromium, tmp_path / "chromium", tmp_path / "chromedriver.log")
        browser.open(f"{server.url}/lab/tree/{path.name}?token={server.token}")
        state, deadline = None, time.monotonic() + START_TIMEOUT * 2
        while not (state and state["kernel"] == "idle"):
            assert time.monotonic() < deadline, (
                f"the notebook did not open with an idle kernel: {state}\n{server.log_tail()}"
            )
            time.sleep(0.5)
            state = browser.js(NOTEBOOK_STATE_JS)
        assert heading in state["headings"], f"{heading!r} not rendered: {state['headings']}"
        assert state["ran"] == 0 and state["images"] == 0, f"outputs before the run: {state}"
        browser.js("window.jupyterapp.commands.execute('notebook:run-all-cells'); return 1;")
        deadline = time.monotonic() + RUN_TIMEOUT
        while (
            not (state["ran"] == state["code"] and state["kernel"] == "idle" and state["images"])
            and not state["errors"]
        ):
            assert time.monotonic() < deadline, f"run not finished in {RUN_TIMEOUT} s: {state}"
            time.sleep(1)
            state = browser.js(NOTEBOOK_STATE_JS)
        browser.js(
            "const img = document.querySelector('.jp-RenderedImage img'); "
            "if (img) img.scrollIntoView(); return 1;"
        )  # a figure in the shot
        browser.screenshot(shot)
    finally:
        if browser is not None:
            browser.quit()
        stop_lab(server)
    assert not state["errors"], f"cells raised in the browser: {state['errors']}"
    assert state["images"] >= 1, f"no figure rendered on the page: {state}"
    for name in nb.metadata["mnv2lab"]["figures"]:
        assert (figs / f"{name}.png").exists(), f"the browser run did not save {name}.png"
    assert shot.exists() and shot.stat().st_size > 10_000, "no screenshot written"
    assert {p: p.read_bytes() for p in NOTEBOOKS} == before, "the browser changed a notebook"
