"""JupyterLab, for real: a server on loopback serves every notebook through its REST API as a valid
python3 notebook, runs one notebook through a kernel it started (over the kernel websocket, the way
the browser does), and the notebook page renders in headless Chromium (screenshot kept in
build/test-artifacts/)."""

from __future__ import annotations

import html
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

FASTEST = "01_relu_manifold"     # the notebook executed through the server's kernel
ARTIFACTS = ROOT / "build" / "test-artifacts"
START_TIMEOUT = 60               # s for the server to answer
CELL_TIMEOUT = 120               # s for one cell of a smoke run
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
        r = requests.request(method, f"{self.url}{path}",
                             headers={"Authorization": f"token {self.token}"}, **kwargs)
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
LAB_SETTINGS = {"@jupyterlab/docmanager-extension/plugin": {"autosave": False},
                "@jupyterlab/apputils-extension/notification": {"fetchNews": "false"}}


def start_lab(root_dir: Path, work: Path) -> LabServer:
    """Start JupyterLab on 127.0.0.1 (random port, fresh token, private config and runtime dirs)."""
    port, token = free_port(), secrets.token_hex(16)
    for plugin, values in LAB_SETTINGS.items():
        target = work / "settings" / f"{plugin}.jupyterlab-settings"
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(json.dumps(values))
    env = dict(os.environ)
    for var, sub in (("JUPYTER_CONFIG_DIR", "config"), ("JUPYTER_DATA_DIR", "data"),
                     ("JUPYTER_RUNTIME_DIR", "runtime"), ("IPYTHONDIR", "ipython")):
        env[var] = str(work / sub)
    cmd = [sys.executable, "-m", "jupyterlab", "--no-browser", "--ip=127.0.0.1",
           f"--port={port}", "--port-retries=0", f"--IdentityProvider.token={token}",
           f"--ServerApp.root_dir={root_dir}", "--LabApp.news_url=None",
           "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
           "--LabApp.extension_manager=readonly",
           f"--LabApp.workspaces_dir={work / 'workspaces'}",
           f"--LabApp.user_settings_dir={work / 'settings'}",
           # Lab checkpoints a notebook when it opens it: keep that out of the repository.
           f"--FileCheckpoints.checkpoint_dir={work / 'checkpoints'}"]
    if os.geteuid() == 0:
        cmd.append("--allow-root")
    log = work / "jupyterlab.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, env=env,
                                start_new_session=True)
    server = LabServer(f"http://127.0.0.1:{port}", token, root_dir, log, proc)
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"JupyterLab exited with {proc.returncode}\n{server.log_tail()}")
        try:
            if requests.get(f"{server.url}/api/status", timeout=2,
                            headers={"Authorization": f"token {token}"}).ok:
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
        model = lab.api("GET", f"/api/contents/{path.name}",
                        params={"type": "notebook", "content": 1}).json()
        assert model["type"] == "notebook" and model["format"] == "json"
        nb = nbformat.from_dict(model["content"])
        nbformat.validate(nb)
        assert nb.metadata["kernelspec"]["name"] == "python3"
        assert first_heading(nb), f"{path.name}: its first cell needs a heading"


# --- a notebook through a kernel the server started -----------------------------------------------

class KernelChannel:
    """The kernel websocket JupyterLab itself uses (/api/kernels/ID/channels, JSON messages)."""

    def __init__(self, lab: LabServer, kernel_id: str):
        import websocket     # websocket-client, a dependency of jupyter_server

        self.session = uuid.uuid4().hex
        url = lab.url.replace("http://", "ws://")
        self.ws = websocket.create_connection(
            f"{url}/api/kernels/{kernel_id}/channels?session_id={self.session}",
            header=[f"Authorization: token {lab.token}"], timeout=CELL_TIMEOUT)

    def execute(self, code: str) -> tuple[dict, list[dict]]:
        """Run ``code``; return the execute_reply content and the iopub messages it caused."""
        msg_id = uuid.uuid4().hex
        self.ws.send(json.dumps({
            "header": {"msg_id": msg_id, "msg_type": "execute_request", "session": self.session,
                       "username": "test", "version": "5.3", "date": ""},
            "parent_header": {}, "metadata": {}, "channel": "shell", "buffers": [],
            "content": {"code": code, "silent": False, "store_history": True,
                        "user_expressions": {}, "allow_stdin": False, "stop_on_error": True}}))
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
    return (f"cell {index} (counting the injected-parameters cell) failed: {err.get('ename')}: "
            f"{err.get('evalue')}\n--- source ---\n{source}\n--- traceback ---\n{trace[-3000:]}")


@pytest.mark.slow
def test_a_notebook_runs_through_a_server_kernel(lab, tmp_path):
    path = next((p for p in NOTEBOOKS if p.stem == FASTEST), NOTEBOOKS[0])
    out_dir = tmp_path / "figs"
    # The same injected-parameters cell papermill would add after the `parameters` cell.
    nb = parameterize_notebook(load_notebook_node(str(path)),
                               {"smoke": True, "out_dir": str(out_dir)})
    session = lab.api("POST", "/api/sessions", json={
        "path": path.name, "name": path.name, "type": "notebook",
        "kernel": {"name": "python3"}}).json()
    channel = KernelChannel(lab, session["kernel"]["id"])
    try:
        reply, iopub = channel.execute("import os, sys; print(os.getcwd()); print(sys.prefix)")
        stdout = "".join(m["content"].get("text", "") for m in iopub
                         if m["header"]["msg_type"] == "stream")
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


# --- the notebook page in a real browser ----------------------------------------------------

def _chromium() -> str:
    exe = shutil.which("chromium") or shutil.which("chromium-browser")
    if exe is None:
        pytest.skip("headless Chromium not installed (Debian: apt-get install chromium "
                    "chromium-driver; .ci/run installs it in CI)")
    return exe


def _rendered_headings(dom: str) -> list[str]:
    """Text of the headings inside JupyterLab's rendered Markdown in a dumped DOM."""
    texts = []
    for block in re.findall(r'<div[^>]*class="[^"]*jp-RenderedMarkdown[^"]*"[^>]*>(.*?)</div>',
                            dom, flags=re.S):
        for inner in re.findall(r"<h[1-6][^>]*>(.*?)</h[1-6]>", block, flags=re.S):
            text = html.unescape(re.sub(r"<[^>]+>", "", inner)).replace("¶", "")
            texts.append(" ".join(re.sub(r"[*_`$]", "", text).split()))
    return texts


@pytest.mark.slow
def test_notebook_page_renders_in_headless_chromium(lab, tmp_path):
    exe = _chromium()
    path = next((p for p in NOTEBOOKS if p.stem == FASTEST), NOTEBOOKS[0])
    heading = first_heading(nbformat.read(path, as_version=4))
    before = {p: p.read_bytes() for p in NOTEBOOKS}
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    shot = ARTIFACTS / f"jupyterlab-{path.stem}.png"
    shot.unlink(missing_ok=True)
    url = f"{lab.url}/lab/tree/{path.name}?token={lab.token}"
    base = [exe, "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
            "--disable-quic", "--no-first-run", "--disable-background-networking",
            "--disable-component-update", "--disable-sync", "--hide-scrollbars",
            f"--user-data-dir={tmp_path / 'chromium'}", "--window-size=1280,900"]
    for budget_ms in (30_000, 90_000):      # a second, longer try on a busy machine
        base_budget = base + [f"--virtual-time-budget={budget_ms}"]
        dom = subprocess.run(base_budget + ["--dump-dom", url], capture_output=True, text=True,
                             timeout=180)
        headings = _rendered_headings(dom.stdout)
        if heading in headings:
            break
    assert heading in headings, (
        f"the first heading {heading!r} of {path.name} was not rendered by JupyterLab; rendered "
        f"headings: {headings[:5]}; chromium exit {dom.returncode}: {dom.stderr[-1500:]}")
    subprocess.run(base_budget + [f"--screenshot={shot}", url], capture_output=True, timeout=180)
    assert shot.exists() and shot.stat().st_size > 10_000, "no screenshot written"
    assert {p: p.read_bytes() for p in NOTEBOOKS} == before, "the browser changed a notebook"
