"""The web demo (``sceneprior serve``): upload a photo; get the turntable, depth and normal maps, a rotatable mesh,
and sliders that render new views.

Runs offline: gradio's analytics are off (``GRADIO_ANALYTICS_ENABLED=False``, set before gradio is imported), the
theme uses system fonts (no font CDN), and the page needs nothing but the local server. Uploads over
``MAX_UPLOAD_MB`` are refused by the server; files that are not images, too small or too large in pixels get a
one-line message (:mod:`sceneprior.inference.preprocess`).
"""

from __future__ import annotations

import html
import os
import shutil
import signal
import sys
import tempfile
import threading
from pathlib import Path
from typing import Any

import numpy as np

from ..data.image_io import to_uint8
from ..errors import SceneError

MAX_UPLOAD_MB = 20


def _gradio():  # noqa: ANN202
    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
    os.environ.setdefault("GRADIO_TELEMETRY_ENABLED", "False")
    try:
        import gradio as gr
    except ImportError:
        raise SceneError("the web demo needs gradio: pip install gradio") from None
    return gr


class DemoSession:
    """Holds the model and a folder for each upload's outputs (removed at exit)."""

    def __init__(self, model: Any, views: int = 24, resolution: int | None = None, mesh_resolution: int = 48,
                 steps: int = 100, refine_steps: int = 0) -> None:
        from ..api import LoadedModel, inference_mode, load_model

        self.loaded: LoadedModel = model if isinstance(model, LoadedModel) else load_model(model)
        self.views = views
        self.resolution = int(resolution or self.loaded.prior.resolution)
        self.mesh_resolution = mesh_resolution
        self.steps = steps
        self.refine_steps = refine_steps
        inference_mode(self.loaded, None, steps, refine_steps)  # a refine request the model cannot do fails now
        self.root = Path(tempfile.mkdtemp(prefix="sceneprior-serve-"))
        self.lock = threading.Lock()  # one reconstruction at a time on a small CPU
        #: tickets of the reconstructions asked for and not finished, in order; the first one runs
        self._waiting: list[int] = []
        self._tickets = 0
        self._turn = threading.Condition()
        self.count = 0
        #: outputs of this many latest uploads are kept (older ones are deleted; their files stop being served)
        self.keep = 32

    def close(self) -> None:
        shutil.rmtree(self.root, ignore_errors=True)

    def reconstruct(self, path: str | None) -> tuple[Any, ...]:
        from ..api import reconstruct
        from ..inference.outputs import OutputConfig, depth_to_rgb, normals_to_rgb, write_reconstruction
        from ..inference.preprocess import load_image

        gr = _gradio()
        if not path:
            raise gr.Error("Upload a photo first (PNG or JPEG, RGB or RGBA).")
        try:
            size = Path(path).stat().st_size
            if size > MAX_UPLOAD_MB * 2**20:
                raise SceneError(f"the upload is {size / 2**20:.0f} MB, over the limit of {MAX_UPLOAD_MB} MB")
            load_image(path)
            with self.lock:
                self.count += 1
                rec = reconstruct(self.loaded, path, steps=self.steps, refine_steps=self.refine_steps)
                out = self.root / f"run{self.count:04d}"
                config = OutputConfig(views=self.views, resolution=self.resolution, mesh_resolution=self.mesh_resolution)
                result = write_reconstruction(rec, out, config)
                for old in sorted(self.root.glob("run*"))[: -self.keep]:  # bounded disk use on a long-running server
                    shutil.rmtree(old, ignore_errors=True)
        except SceneError as exc:  # the page shows the line; the server's log gets it once, not a traceback
            message = _one_line(exc, path)
            print(f"rejected upload {Path(path).name}: {message}", file=sys.stderr, flush=True)
            raise gr.Error(message, print_exception=False) from None
        mesh = str(out / "mesh.glb") if "mesh" in result.files else None
        first = result.views[0]
        near_far = result.depth_range
        depth = None if first.depth is None else to_uint8(depth_to_rgb(first.depth, *near_far))
        normals = None if first.normals is None else to_uint8(normals_to_rgb(first.normals))
        timings = ", ".join(f"{k} {v:.1f} s" for k, v in result.timings.items())
        status = " ".join(result.notes) + f" Timings: {timings}."
        state = {"rec": rec, "near_far": near_far}
        splats = gr.HTML(splat_frame(result.splats), visible=result.splats is not None)
        return (_big(to_uint8(rec.images[0].permute(1, 2, 0).numpy())), str(out / "turntable.mp4"), mesh, splats,
                _big(to_uint8(first.rgb)), _big(depth), _big(normals), status, state, 0.0, float(rec.prior.elevation_deg))

    def reconstruct_in_turn(self, path: str | None) -> tuple[Any, ...]:
        """:meth:`reconstruct` for the page: requests are served one at a time in arrival order, and a waiting
        request is told its place in the queue (a notice on its page, again each time it moves up)."""
        gr = _gradio()
        with self._turn:
            ticket = self._tickets
            self._tickets += 1
            self._waiting.append(ticket)
        try:
            shown = None
            while True:
                with self._turn:
                    ahead = self._waiting.index(ticket)
                    if ahead == 0:
                        break
                    if ahead == shown:
                        self._turn.wait(timeout=1.0)
                        continue
                shown = ahead
                gr.Info(queue_message(ahead), duration=10)
            return self.reconstruct(path)
        finally:  # done or failed: the next request's turn
            with self._turn:
                self._waiting.remove(ticket)
                self._turn.notify_all()

    def render_view(self, state: dict | None, azimuth: float, elevation: float) -> tuple[Any, Any, Any]:
        from ..inference.outputs import depth_to_rgb, normals_to_rgb

        gr = _gradio()
        if not state:
            raise gr.Error("Reconstruct a photo first.")
        rec = state["rec"]
        with self.lock:
            view = rec.view(azimuth, elevation, None, self.resolution)
        depth = None if view.depth is None else to_uint8(depth_to_rgb(view.depth, *state["near_far"]))
        normals = None if view.normals is None else to_uint8(normals_to_rgb(view.normals))
        return _big(to_uint8(view.rgb)), _big(depth), _big(normals)


def _big(image: np.ndarray | None, size: int = 256) -> np.ndarray | None:
    """Nearest-neighbour upscaling by an integer factor to about ``size`` pixels (small renders stay crisp)."""
    if image is None:
        return None
    factor = max(1, size // max(image.shape[:2]))
    return np.repeat(np.repeat(image, factor, 0), factor, 1)


def splat_frame(splats: dict | None) -> str:
    """The page's splat viewer: index.html's viewer (:func:`~sceneprior.inference.viewer.splat_viewer_page`) in an
    ``iframe`` (a gradio HTML component does not run scripts; a frame's own document does), or nothing."""
    if splats is None:
        return ""
    from ..inference.viewer import splat_viewer_page

    page = html.escape(splat_viewer_page(splats), quote=True)
    return (f"<iframe id='splat-frame' title='Gaussian splats' srcdoc=\"{page}\" "
            "style='width: 100%; height: 360px; border: 0; display: block;'></iframe>")


def queue_message(ahead: int) -> str:
    """The status line of a request with ``ahead`` requests before it."""
    return (f"In the queue: position {ahead + 1} ({ahead} request{'s' if ahead != 1 else ''} ahead of yours; "
            "reconstructions run one at a time).")


def _one_line(exc: Exception, path: str) -> str:
    text = str(exc).replace(str(path), "upload")
    return text.splitlines()[0] if text else type(exc).__name__


def build_app(session: DemoSession):  # noqa: ANN201 - a gradio Blocks
    gr = _gradio()
    from ..api import example_images

    examples = [str(p) for p in example_images()]
    # delete_cache: gradio's copies of uploads and outputs older than an hour go, and all of them at shutdown
    with gr.Blocks(title="sceneprior: one photo to 3D", delete_cache=(600, 3600)) as app:
        gr.Markdown(
            "## sceneprior — one photo in, novel views, depth, normals and a mesh out\n"
            f"Model: **{session.loaded.name}** ({session.loaded.kind}). Upload a PNG or JPEG of one object on a "
            "transparent or plain white background (at most "
            f"{MAX_UPLOAD_MB} MB). The object is found, centred and cropped like the training images, and assumed to "
            f"be seen from elevation {session.loaded.prior.elevation_deg:g}° at distance {session.loaded.prior.distance:g}."
        )
        state = gr.State(None)
        with gr.Row():
            with gr.Column(scale=1):
                upload = gr.File(label="Photo (PNG / JPEG)", type="filepath", elem_id="upload")
                run = gr.Button("Reconstruct", variant="primary", elem_id="run")
                if examples:
                    gr.Examples(examples=examples, inputs=upload, label="Bundled examples")
                model_input = gr.Image(label="Model input (cropped)", interactive=False, height=256, elem_id="model-input")
            with gr.Column(scale=1):
                turntable = gr.Video(label="Turntable", interactive=False, autoplay=True, loop=True, height=320, elem_id="turntable")
                mesh = gr.Model3D(label="Mesh (drag to rotate)", clear_color=(1.0, 1.0, 1.0, 1.0), height=360,
                                   elem_id="mesh")
                # a splat model's own scene, its 3D Gaussians, splatted in the browser next to the mesh
                splats = gr.HTML("", label="Gaussian splats (drag to orbit, wheel to zoom)", show_label=True,
                                 visible=False, elem_id="splats")
        status = gr.Markdown(elem_id="status")
        with gr.Row():
            azimuth = gr.Slider(-180, 180, value=0, step=5, label="Azimuth (degrees from the photo's view)", elem_id="azimuth")
            elevation = gr.Slider(-30, 85, value=30, step=5, label="Elevation (degrees)", elem_id="elevation")
        with gr.Row():
            view = gr.Image(label="Novel view", interactive=False, height=256, elem_id="novel-view")
            depth = gr.Image(label="Depth (near = dark)", interactive=False, height=256, elem_id="depth")
            normals = gr.Image(label="Normals (world, (n+1)/2)", interactive=False, height=256, elem_id="normals")
        # every request enters at once (no gradio concurrency limit) and waits in the session's own queue, which
        # tells it its position; the session runs one reconstruction at a time
        run.click(session.reconstruct_in_turn, inputs=upload,
                  outputs=[model_input, turntable, mesh, splats, view, depth, normals, status, state, azimuth, elevation],
                  concurrency_limit=None)
        for slider in (azimuth, elevation):
            slider.release(session.render_view, inputs=[state, azimuth, elevation], outputs=[view, depth, normals],
                           concurrency_limit=1)
    return app


def serve(model: Any, host: str = "127.0.0.1", port: int = 7860, views: int = 24, resolution: int | None = None,
          mesh_resolution: int = 48, steps: int = 100, refine_steps: int = 0) -> None:
    """Build the app and serve it until interrupted."""
    gr = _gradio()
    session = DemoSession(model, views, resolution, mesh_resolution, steps, refine_steps)
    app = build_app(session)
    theme = gr.themes.Default(font=["ui-sans-serif", "system-ui", "sans-serif"],
                              font_mono=["ui-monospace", "Consolas", "monospace"])
    if threading.current_thread() is threading.main_thread():
        # SIGTERM (a service manager, kill) stops the server like Ctrl-C: gradio closes, its cache and our
        # outputs are deleted (the default handler would end the process on the spot, leaving both behind)
        signal.signal(signal.SIGTERM, _interrupt)
    print(f"outputs of this session in {session.root} (deleted at exit)", flush=True)
    try:
        app.queue(default_concurrency_limit=1).launch(
            server_name=host, server_port=port, share=False, inbrowser=False, show_error=True, quiet=False,
            max_file_size=f"{MAX_UPLOAD_MB}mb", ssr_mode=False, theme=theme, footer_links=[],
            allowed_paths=[str(session.root)],
        )
    finally:
        session.close()


def _interrupt(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt


__all__ = ["DemoSession", "MAX_UPLOAD_MB", "build_app", "serve"]
