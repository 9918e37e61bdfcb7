"""Time Blender-as-a-module (bpy 4.2, Cycles on the CPU) on one GLB at the check set's settings, for the renderer
comparison in results/render_meshes_renderers.md. Run with a Python that has bpy==4.2.0 (Python 3.11):

    python scripts/bench_bpy_render.py MESH.glb --views 5 --spp 64 --resolution 64 --threads 2
"""

import argparse
import math
import time

import bpy


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("mesh")
    p.add_argument("--views", type=int, default=5)
    p.add_argument("--spp", type=int, default=64)
    p.add_argument("--resolution", type=int, default=64)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--out", default="/tmp/bpy_view")
    a = p.parse_args()
    t0 = time.perf_counter()
    bpy.ops.wm.read_factory_settings(use_empty=True)
    bpy.ops.import_scene.gltf(filepath=a.mesh)
    t_import = time.perf_counter() - t0
    scene = bpy.context.scene
    scene.render.engine = "CYCLES"
    scene.cycles.device = "CPU"
    scene.cycles.samples = a.spp
    scene.cycles.use_denoising = False
    scene.render.threads_mode = "FIXED"
    scene.render.threads = a.threads
    scene.render.resolution_x = scene.render.resolution_y = a.resolution
    scene.render.film_transparent = True
    cam = bpy.data.objects.new("cam", bpy.data.cameras.new("cam"))
    cam.data.angle = math.radians(40.0)
    scene.collection.objects.link(cam)
    scene.camera = cam
    sun = bpy.data.objects.new("sun", bpy.data.lights.new("sun", "SUN"))
    scene.collection.objects.link(sun)
    times = []
    for k in range(a.views):
        az = 2 * math.pi * k / a.views
        cam.location = (1.6 * math.cos(az), 1.6 * math.sin(az), 0.8)
        direction = -cam.location.normalized() if hasattr(cam.location, "normalized") else None
        cam.rotation_euler = direction.to_track_quat("-Z", "Y").to_euler()
        scene.render.filepath = f"{a.out}_{k}.png"
        t = time.perf_counter()
        bpy.ops.render.render(write_still=True)
        times.append(time.perf_counter() - t)
    print(f"bpy {bpy.app.version_string}: import {t_import:.2f} s, render {sum(times) / len(times):.3f} s/view "
          f"({a.resolution}^2, {a.spp} spp, {a.threads} threads; first view {times[0]:.3f} s)")


if __name__ == "__main__":
    main()
