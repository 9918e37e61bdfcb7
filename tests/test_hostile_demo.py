"""The demo under load and at shutdown: concurrent requests are served one at a time in arrival order and each
waiting request is told its place in the queue; SIGTERM stops the server cleanly, deleting its outputs and gradio's
copies of the uploads."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
import time
import urllib.request
import uuid
from pathlib import Path

import pytest

pytest.importorskip("gradio")

from sceneprior.demo.app import DemoSession, queue_message  # noqa: E402
from sceneprior.training.tiny import save_tiny_run  # noqa: E402

pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory) -> Path:
    return save_tiny_run(tmp_path_factory.mktemp("runs") / "tiny", "autoencoder", resolution=32)


def test_concurrent_requests_are_told_their_queue_position_and_served_in_order(tiny_run, monkeypatch):
    import gradio as gr

    session = DemoSession(tiny_run, views=2, mesh_resolution=8)
    release = {name: threading.Event() for name in "abc"}
    served: list[str] = []
    notices: dict[str, list[str]] = {name: [] for name in "abc"}

    def slow_reconstruct(path):  # noqa: ANN001 - stands in for the model: runs until released
        served.append(path)
        release[path].wait(30)
        return ("result of " + path,)

    def info(message, duration=None):  # noqa: ANN001 - gradio shows it on the requesting page
        notices[threading.current_thread().name].append(message)

    monkeypatch.setattr(session, "reconstruct", slow_reconstruct)
    monkeypatch.setattr(gr, "Info", info)
    results: dict[str, tuple] = {}
    threads = {}
    for name in "abc":  # arrive in this order
        threads[name] = threading.Thread(target=lambda n=name: results.__setitem__(n, session.reconstruct_in_turn(n)),
                                         name=name)
        threads[name].start()
        deadline = time.monotonic() + 10
        while not (served if name == "a" else notices[name]) and time.monotonic() < deadline:
            time.sleep(0.01)
    assert served == ["a"] and notices["a"] == []
    assert notices["b"] == [queue_message(1)] and "position 2 (1 request ahead" in notices["b"][0]
    assert notices["c"] == [queue_message(2)] and "position 3 (2 requests ahead" in notices["c"][0]
    release["a"].set()
    deadline = time.monotonic() + 10
    while notices["c"][-1] != queue_message(1) and time.monotonic() < deadline:
        time.sleep(0.01)
    assert notices["c"] == [queue_message(2), queue_message(1)]  # told again when a finished
    release["b"].set()
    release["c"].set()
    for thread in threads.values():
        thread.join(30)
    assert served == ["a", "b", "c"] and results == {name: ("result of " + name,) for name in "abc"}
    session.close()


def test_a_failed_request_does_not_block_the_queue(tiny_run, tmp_path):
    import gradio as gr

    session = DemoSession(tiny_run, views=2, mesh_resolution=8)
    (tmp_path / "bad.png").write_text("not an image")
    with pytest.raises(gr.Error):
        session.reconstruct_in_turn(str(tmp_path / "bad.png"))
    assert session._waiting == []
    session.close()


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _upload(url: str, path: Path) -> str:
    """POST a file to gradio's upload route, as the page does; returns where gradio stored its copy."""
    boundary = uuid.uuid4().hex
    body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"files\"; filename=\"{path.name}\"\r\n"
            "Content-Type: image/png\r\n\r\n").encode() + path.read_bytes() + f"\r\n--{boundary}--\r\n".encode()
    request = urllib.request.Request(url + "gradio_api/upload", data=body, method="POST",
                                     headers={"Content-Type": f"multipart/form-data; boundary={boundary}"})
    with urllib.request.urlopen(request, timeout=30) as response:
        import json

        return json.loads(response.read())[0]


def test_sigterm_deletes_the_session_outputs_and_gradios_upload_cache(tiny_run, tmp_path):
    from sceneprior.api import example_images

    port = _free_port()
    cache = tmp_path / "gradio-cache"
    env = {**os.environ, "GRADIO_ANALYTICS_ENABLED": "False", "GRADIO_TEMP_DIR": str(cache), "PYTHONUNBUFFERED": "1",
           "OMP_NUM_THREADS": "1"}
    log = tmp_path / "serve.log"
    with open(log, "w") as handle:
        proc = subprocess.Popen([sys.executable, "-m", "sceneprior", "serve", "--model", str(tiny_run), "--port",
                                 str(port), "--views", "2", "--mesh-resolution", "8"], stdout=handle,
                                stderr=subprocess.STDOUT, env=env, cwd=tmp_path)
        try:
            url = f"http://127.0.0.1:{port}/"
            deadline = time.monotonic() + 120
            while True:
                try:
                    with urllib.request.urlopen(url, timeout=2):
                        break
                except OSError:
                    if proc.poll() is not None or time.monotonic() > deadline:
                        pytest.fail(f"the server did not start: {log.read_text()[-2000:]}", pytrace=False)
                    time.sleep(0.5)
            stored = Path(_upload(url, example_images()[0]))
            assert stored.is_file() and cache in stored.parents
            root = Path(re.search(r"outputs of this session in (\S+) ", log.read_text()).group(1))
            assert root.is_dir()
            proc.send_signal(signal.SIGTERM)
            code = proc.wait(60)
        finally:
            if proc.poll() is None:
                proc.kill()
    text = log.read_text()
    assert code == 0 and "Traceback" not in text, text[-2000:]
    assert not root.exists() and not stored.exists()
