"""The web demo and the offline viewer, driven in a real headless browser (Debian Chromium through Playwright).

``sceneprior serve`` runs in a subprocess on a free port with a tiny untrained model; the browser uploads the
bundled example, waits for the results, checks that the views, depth, normals and the 3D mesh viewer appear and that
no request left localhost, and saves a screenshot. A second test opens a reconstruction's
``index.html`` from disk and checks that the self-contained mesh viewer draws the inlined mesh.

With ``SCENEPRIOR_DEMO_MODEL=<run folder>`` the server uses that model and the screenshot is written to
``docs/images/demo_screenshot.png``; with the tiny model it goes to a temporary folder (it would show noise). It also passes with no
network at all: ``unshare -n sh -c "ip link set lo up; python -m pytest tests/test_serve_browser.py"``.

Chromium must be installed (``apt-get install -y chromium``; ``.ci/run`` does it): without it these tests fail with
a message instead of skipping.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]
REPO = Path(__file__).resolve().parents[1]
SCREENSHOT = REPO / "docs" / "images" / "demo_screenshot.png"


def _require_browser():
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} not found: install it with `apt-get install -y chromium` (CI does); "
                    "the browser tests need a real Chromium", pytrace=False)
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.fail("playwright is not installed: pip install -e '.[dev]' (never `playwright install`)", pytrace=False)
    return sync_playwright


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory) -> Path:
    from sceneprior.training.tiny import save_tiny_run

    return save_tiny_run(tmp_path_factory.mktemp("runs") / "tiny", "pixelnerf", resolution=32)


def _serve(model: str, steps: str, tmp_path_factory):
    """Run ``sceneprior serve`` on a free port; yield its URL; stop it."""
    port = _free_port()
    env = {**os.environ, "GRADIO_ANALYTICS_ENABLED": "False", "PYTHONUNBUFFERED": "1", "OMP_NUM_THREADS": "1"}
    log = tmp_path_factory.mktemp("serve") / "serve.log"
    handle = open(log, "w")
    proc = subprocess.Popen(
        [sys.executable, "-m", "sceneprior", "serve", "--model", model, "--port", str(port), "--views", "6",
         "--resolution", "64", "--mesh-resolution", "32", "--steps", steps],
        stdout=handle, stderr=subprocess.STDOUT, env=env, cwd=tmp_path_factory.mktemp("cwd"),
    )
    url = f"http://127.0.0.1:{port}/"
    deadline = time.monotonic() + 90
    while True:
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    break
        except OSError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            handle.close()
            pytest.fail(f"the server did not start: {log.read_text()[-2000:]}", pytrace=False)
        time.sleep(0.5)
    yield url
    proc.terminate()
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()
    handle.close()


@pytest.fixture(scope="module")
def server(tiny_run, tmp_path_factory):
    """The demo server, with the tiny model or, for a screenshot of a trained one, $SCENEPRIOR_DEMO_MODEL."""
    model = os.environ.get("SCENEPRIOR_DEMO_MODEL") or str(tiny_run)
    steps = "100" if os.environ.get("SCENEPRIOR_DEMO_MODEL") else "5"  # auto-decoding steps
    yield from _serve(model, steps, tmp_path_factory)


def _draws_something(page, selector: str, seconds: float = 60.0) -> bool:
    """Whether the element's pixels (as screenshotted) hold more than background within ``seconds``."""
    import io

    import numpy as np
    from PIL import Image

    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        shot = np.asarray(Image.open(io.BytesIO(page.locator(selector).screenshot())).convert("RGB")).astype(int)
        background = np.median(shot.reshape(-1, 3), 0)
        if (np.abs(shot - background).max(-1) > 40).sum() > 200:
            return True
        page.wait_for_timeout(500)
    return False


def _browser(playwright):
    return playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)


def _track_external(page, url: str) -> list[str]:
    """Abort and record every request that does not go to the local server (or is a data/blob URL)."""
    external: list[str] = []
    local = url.rstrip("/")

    def handle(route) -> None:  # noqa: ANN001
        target = route.request.url
        if target.startswith(local) or target.startswith(("data:", "blob:")):
            route.continue_()
        else:
            external.append(target)
            route.abort()

    page.route("**/*", handle)
    return external


def test_demo_upload_reconstruct_and_screenshot(server, tmp_path):
    sync_playwright = _require_browser()
    from sceneprior.api import example_images

    example = example_images()[0]
    with sync_playwright() as p:
        browser = _browser(p)
        page = browser.new_page(viewport={"width": 1280, "height": 1400})
        errors: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        external = _track_external(page, server)
        page.goto(server, wait_until="load")
        page.wait_for_selector("#run", timeout=60_000)
        page.locator("#upload input[type=file]").set_input_files(str(example))
        page.locator("#run").click()
        # results: the novel view, depth and normals images and the 3D viewer's canvas
        for elem in ("#novel-view img", "#depth img", "#normals img", "#model-input img"):
            page.wait_for_selector(elem, timeout=400_000, state="visible")
        page.wait_for_selector("#mesh canvas", timeout=60_000, state="visible")
        assert _draws_something(page, "#mesh canvas"), "the 3D mesh viewer stayed blank"
        page.wait_for_selector("#turntable video", timeout=60_000, state="attached")
        assert "Mesh:" in page.locator("#status").inner_text()
        if not os.environ.get("SCENEPRIOR_DEMO_MODEL"):  # the tiny pixelNeRF has no Gaussians: no splat viewer
            assert page.locator("#splats iframe").count() == 0
        # a camera slider renders a new view
        before = page.locator("#novel-view img").get_attribute("src")
        slider = page.locator("#azimuth input[type=range]")
        slider.fill("90")
        slider.dispatch_event("change")
        slider.dispatch_event("mouseup")
        slider.dispatch_event("pointerup")
        page.wait_for_function(
            "(before) => { const i = document.querySelector('#novel-view img'); return i && i.src !== before; }",
            arg=before, timeout=60_000)
        page.wait_for_timeout(1500)
        # the committed screenshot is retaken only with a trained model (the tiny one draws noise)
        shot = SCREENSHOT if os.environ.get("SCENEPRIOR_DEMO_MODEL") else tmp_path / SCREENSHOT.name
        shot.parent.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(shot), full_page=True)
        browser.close()
    assert shot.stat().st_size > 10_000
    assert not external, f"the page tried to reach other hosts: {external[:5]}"
    assert not errors, errors


def _not_white(canvas, level: int = 250) -> int:
    """The number of pixels of a canvas (a locator) with a channel below ``level`` (not the white background)."""
    return canvas.evaluate("""(c, level) => {
        const copy = document.createElement('canvas'); copy.width = c.width; copy.height = c.height;
        const ctx = copy.getContext('2d'); ctx.drawImage(c, 0, 0);
        const d = ctx.getImageData(0, 0, c.width, c.height).data;
        let n = 0; for (let i = 0; i < d.length; i += 4) if (d[i] < level || d[i+1] < level || d[i+2] < level) n++;
        return n; }""", level)


def _drag(page, canvas, dx: float, dy: float, steps: int = 1) -> None:
    """Drag the mouse across ``canvas`` from (100, 100) by (dx, dy) pixels."""
    box = canvas.bounding_box()
    page.mouse.move(box["x"] + 100, box["y"] + 100)
    page.mouse.down()
    page.mouse.move(box["x"] + 100 + dx, box["y"] + 100 + dy, steps=steps)
    page.mouse.up()


def test_demo_shows_a_splat_models_gaussians_next_to_the_mesh(tmp_path_factory):
    """A splat model's page shows its Gaussians in index.html's splat viewer (in a frame), beside the mesh; the
    viewer draws them and turns when dragged."""
    sync_playwright = _require_browser()
    from sceneprior.api import example_images
    from sceneprior.training.tiny import save_tiny_run

    run = save_tiny_run(tmp_path_factory.mktemp("runs") / "splatter", "splatter", resolution=32)
    serving = _serve(str(run), "5", tmp_path_factory)
    url = next(serving)
    try:
        with sync_playwright() as p:
            browser = _browser(p)
            page = browser.new_page(viewport={"width": 1280, "height": 1400})
            errors: list[str] = []
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            external = _track_external(page, url)
            page.goto(url, wait_until="load")
            page.wait_for_selector("#run", timeout=60_000)
            page.locator("#upload input[type=file]").set_input_files(str(example_images()[0]))
            page.wait_for_timeout(500)
            page.locator("#run").click()
            page.wait_for_selector("#splats iframe", timeout=400_000, state="visible")
            # beside the mesh panel (the untrained tiny model's fused depth holds no surface, so the panel is empty)
            assert page.locator("#mesh").is_visible()
            frame = page.frame_locator("#splats iframe")
            canvas = frame.locator("#splat-viewer")
            canvas.wait_for(timeout=30_000)
            page.wait_for_function(
                "() => { const f = document.querySelector('#splats iframe'); const c = f && f.contentDocument &&"
                " f.contentDocument.querySelector('#splat-viewer'); return c && c.dataset.splats !== undefined; }",
                timeout=30_000)
            count = int(canvas.get_attribute("data-splats"))
            renderer = canvas.get_attribute("data-renderer")
            status = page.locator("#status").inner_text()
            page.wait_for_timeout(500)
            drawn = _not_white(canvas)
            before = canvas.screenshot()
            _drag(page, canvas, 100, 30, steps=5)
            page.wait_for_timeout(500)
            after = canvas.screenshot()
            browser.close()
    finally:
        next(serving, None)
    # the tiny splatter's input is 32x32 pixels: one Gaussian per pixel, as the status line says
    assert count == 32 * 32
    assert f"Gaussian splats: {count} 3D Gaussians" in status
    assert renderer in ("webgl", "canvas2d")
    assert drawn > 100, f"the {renderer} splat viewer in the page drew nothing"
    assert before != after, "dragging did not turn the splat viewer"
    assert not external, f"the page tried to reach other hosts: {external[:5]}"
    assert not errors, errors


def _bad_upload(case: str, folder: Path) -> Path:
    if case == "text":
        path = folder / "notes.png"
        path.write_text("this is not an image\n")
    elif case == "large-file":
        path = folder / "large.png"
        path.write_bytes(os.urandom(21 * 2**20))  # over the 20 MB upload limit
    else:
        from PIL import Image

        path = folder / "huge.png"
        Image.new("L", (8000, 6250), 255).save(path)  # 50 megapixels in a small file
    return path


@pytest.mark.parametrize("case, message", [("text", "not a readable image"), ("large-file", "maximum allowed size"),
                                           ("megapixels", "megapixels, over the limit")])
def test_demo_rejects_bad_uploads_with_a_message(server, tmp_path, case, message):
    sync_playwright = _require_browser()
    bad = _bad_upload(case, tmp_path)
    with sync_playwright() as p:
        browser = _browser(p)
        page = browser.new_page()
        page.goto(server, wait_until="load")
        page.wait_for_selector("#run", timeout=60_000)
        page.locator("#upload input[type=file]").set_input_files(str(bad))
        if case != "large-file":  # the server refuses large files at upload time
            page.wait_for_timeout(500)
            page.locator("#run").click()
        page.get_by_text(message).first.wait_for(timeout=60_000)
        browser.close()


def test_demo_shows_the_queue_position_of_a_concurrent_request(server):
    """Two pages ask at once: the second is told its place in the queue, then gets its own results."""
    sync_playwright = _require_browser()
    from sceneprior.api import example_images

    with sync_playwright() as p:
        browser = _browser(p)
        pages = [browser.new_page(), browser.new_page()]
        for page in pages:
            page.goto(server, wait_until="load")
            page.wait_for_selector("#run", timeout=60_000)
            page.locator("#upload input[type=file]").set_input_files(str(example_images()[0]))
            page.wait_for_timeout(500)
        for page in pages:
            page.locator("#run").click()
        pages[1].get_by_text("In the queue: position 2 (1 request ahead of yours").first.wait_for(timeout=60_000)
        for page in pages:
            page.wait_for_selector("#novel-view img", timeout=400_000, state="visible")
        browser.close()


def _open_offline_index(out: Path, viewer: str, count: str, drag: tuple[float, float], level: int) -> dict:
    """Open ``out/index.html`` from disk, wait until the canvas ``#viewer`` has drawn (its ``data-<count>`` set),
    drag across it, and return that count, its renderer, its non-white pixels, page errors and outside requests."""
    sync_playwright = _require_browser()
    with sync_playwright() as p:
        browser = _browser(p)
        page = browser.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        external = _track_external(page, (out / "index.html").as_uri())
        page.goto((out / "index.html").as_uri())
        page.wait_for_function(f"() => document.querySelector('#{viewer}').dataset.{count} !== undefined", timeout=30_000)
        canvas = page.locator(f"#{viewer}")
        found = {"count": int(canvas.get_attribute(f"data-{count}")), "renderer": canvas.get_attribute("data-renderer")}
        _drag(page, canvas, *drag)
        page.wait_for_timeout(300)
        found["drawn"] = _not_white(canvas, level)  # something other than the white background was drawn
        browser.close()
    found["errors"] = errors
    found["external"] = [u for u in external if not u.startswith("file:")]
    return found


def test_offline_index_html_draws_the_mesh(tiny_run, tmp_path):
    from sceneprior.cli.main import main

    out = tmp_path / "rec"
    assert main(["reconstruct", "--model", str(tiny_run), "--out", str(out), "--views", "4", "--resolution", "32",
                 "--mesh-resolution", "24"]) == 0
    found = _open_offline_index(out, "mesh-viewer", "triangles", (100, 40), 240)
    import trimesh

    assert found["count"] == len(trimesh.load(out / "mesh.ply").faces)
    assert found["renderer"] in ("webgl", "canvas2d")
    assert found["drawn"] > 100, f"the {found['renderer']} viewer drew nothing"
    assert not found["errors"], found["errors"]
    assert not found["external"], found["external"]


def test_offline_index_html_draws_the_gaussian_splats(tmp_path):
    """A splat model's index.html splats its Gaussians in the page (WebGL or Canvas 2D), offline."""
    from sceneprior.cli.main import main
    from sceneprior.training.tiny import save_tiny_run

    run = save_tiny_run(tmp_path / "splatter", "splatter", resolution=32)
    out = tmp_path / "rec"
    assert main(["reconstruct", "--model", str(run), "--out", str(out), "--views", "2", "--resolution", "32",
                 "--mesh-resolution", "16"]) == 0
    found = _open_offline_index(out, "splat-viewer", "splats", (60, 20), 250)
    assert found["count"] == 32 * 32
    assert found["renderer"] in ("webgl", "canvas2d")
    assert found["drawn"] > 100, f"the {found['renderer']} splat viewer drew nothing"
    assert not found["errors"], found["errors"]
    assert not found["external"], found["external"]
