"""Training data from real car models: the 17 cars of Debian's ``torcs-data`` package, rendered with
``sceneprior data render-meshes`` in the generator's camera model.

These meshes are **training data only**; the real-object check set (``scripts/real_cars_checkset.py``, the
Trigger Rally cars of another package and other authors) is never trained on, and no TORCS car is in it.

The models are TORCS's (``/usr/share/games/torcs/cars/NAME/NAME.acc``: AC3D ``.acc`` bodies with SGI ``.rgb``
textures; ``torcs-data`` 1.3.7+dfsg-5, licence GPL-2+ and free-art licences per the package's
``/usr/share/doc/torcs-data/copyright``; the models are not copied into this repository). TORCS draws the wheels
itself from each car's XML, so this script does the same (:func:`wheel_meshes`): a tyre (a cylinder of radius
rim/2 + width x aspect ratio, dark rubber) and a rim disc (radius rim/2, light grey) at the axle's ``xpos`` and
the wheel's ``ypos``, resting on the ground (the tyre's bottom ``--clearance`` below the body's lowest point). The
``.acc`` frame is x forward, y up, z lateral (``--up +y --forward +x``).

``--variants K`` writes each car K times, variant k with its textures' hue turned by k/K of a turn (new liveries
of the same shapes; grey, black and white parts are unchanged), so K x 17 training objects.

    python scripts/torcs_cars.py --work /tmp/torcs --out data/torcs_cars --variants 3 --views 30 --seed 5
"""

from __future__ import annotations

import argparse
import colorsys
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np

from debian_package import package_path

PACKAGE = "torcs-data"
CARS = "usr/share/games/torcs/cars"


def _attnum(section: ET.Element, name: str) -> float:
    for a in section.iter("attnum"):
        if a.get("name") == name:
            return float(a.get("val", "nan"))
    raise KeyError(name)


def _section(root: ET.Element, name: str) -> ET.Element:
    for s in root.iter("section"):
        if s.get("name") == name:
            return s
    raise KeyError(name)


def wheel_meshes(xml: Path, ground: float) -> list[object]:
    """Four wheels (tyre + rim disc each) from a TORCS car XML, in the ``.acc`` frame (x forward, y up, z lateral)."""
    import trimesh

    root = ET.parse(xml).getroot()
    out = []
    for axle, sides in (("Front Axle", ("Front Right Wheel", "Front Left Wheel")), ("Rear Axle", ("Rear Right Wheel", "Rear Left Wheel"))):
        x = _attnum(_section(root, axle), "xpos")
        for side in sides:
            s = _section(root, side)
            rim = 0.5 * _attnum(s, "rim diameter") * 0.0254
            width = _attnum(s, "tire width") / 1000.0
            radius = rim + width * _attnum(s, "tire height-width ratio")
            lateral = _attnum(s, "ypos")
            centre = np.array([x, ground + radius, lateral])
            for r, w, grey in ((radius, width, 25), (0.92 * rim, 1.04 * width, 150)):
                part = trimesh.creation.cylinder(radius=r, height=w, sections=32)  # axis z = the lateral axis
                part.apply_translation(centre)
                part.visual.face_colors = np.array([grey, grey, grey, 255], dtype=np.uint8)
                out.append(part)
    return out


def turn_hue(texture: np.ndarray, turn: float) -> np.ndarray:
    """The texture (h, w, 3) uint8 with every pixel's hue turned by ``turn`` (0-1) of a circle."""
    if turn == 0:
        return texture
    keys, inverse = np.unique(texture.reshape(-1, 3) / 255.0, axis=0, return_inverse=True)
    hsv = np.array([colorsys.rgb_to_hsv(*p) for p in keys])
    hsv[:, 0] = (hsv[:, 0] + turn) % 1.0
    turned = np.array([colorsys.hsv_to_rgb(*p) for p in hsv])
    return (turned[inverse.reshape(-1)] * 255.0 + 0.5).astype(np.uint8).reshape(texture.shape)


def assemble(car: Path, out: Path, variants: int, clearance: float) -> list[Path]:
    """The car's body (its ``.acc``) + four wheels as GLBs, one per hue variant."""
    import trimesh
    from PIL import Image

    from sceneprior.data.meshes.ac3d import read_ac3d

    parts = read_ac3d(car / f"{car.name}.acc")
    ground = min(float(p.vertices[:, 1].min()) for p in parts) - clearance
    wheels = wheel_meshes(car / f"{car.name}.xml", ground)
    written = []
    for k in range(variants):
        scene = trimesh.Scene()
        turned: dict[int, Image.Image] = {}
        for j, p in enumerate(parts):
            visual = None
            if p.texture is not None and p.uv is not None:
                key = id(p.texture)
                if key not in turned:
                    turned[key] = Image.fromarray(turn_hue(p.texture, k / variants))
                visual = trimesh.visual.TextureVisuals(uv=p.uv, image=turned[key])
            mesh = trimesh.Trimesh(p.vertices, p.faces, vertex_normals=p.normals, visual=visual, process=False)
            if visual is None:
                mesh.visual.face_colors = np.append((p.colour * 255).astype(np.uint8), 255)
            scene.add_geometry(mesh, geom_name=f"body_{j}")
        for j, w in enumerate(wheels):
            scene.add_geometry(w, geom_name=f"wheel_{j}")
        path = out / f"{car.name}_v{k}.glb"
        path.write_bytes(scene.export(file_type="glb"))
        written.append(path)
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--work", required=True, help="scratch folder (package, assembled GLBs)")
    parser.add_argument("--out", required=True, help="the training set (SRN layout, split train)")
    parser.add_argument("--deb", default=None, help="a downloaded torcs-data .deb (default: installed copy or apt-get download)")
    parser.add_argument("--variants", type=int, default=1, help="hue-turned liveries per car")
    parser.add_argument("--clearance", type=float, default=0.1, help="metres between the body's lowest point and the ground")
    parser.add_argument("--views", type=int, default=30)
    parser.add_argument("--resolution", type=int, default=64)
    parser.add_argument("--seed", type=int, default=5, help="camera seed (use one the check set does not: it uses 0)")
    parser.add_argument("--spp", type=int, default=64)
    parser.add_argument("--threads", type=int, default=None)
    args = parser.parse_args(argv)
    work = Path(args.work)
    cars = package_path(PACKAGE, CARS, work, Path(args.deb) if args.deb else None)
    meshes = work / "meshes"
    meshes.mkdir(parents=True, exist_ok=True)
    for car in sorted(p for p in cars.iterdir() if (p / f"{p.name}.acc").is_file()):
        for path in assemble(car, meshes, args.variants, args.clearance):
            print(f"assembled {path}")
    command = [sys.executable, "-m", "sceneprior", "data", "render-meshes", str(meshes), "--out", args.out, "--split", "train",
               "--up", "+y", "--forward", "+x", "--views", str(args.views), "--resolution", str(args.resolution),
               "--seed", str(args.seed), "--spp", str(args.spp)]
    if args.threads:
        command += ["--threads", str(args.threads)]
    print(" ".join(command))
    return subprocess.run(command, check=False).returncode


if __name__ == "__main__":
    raise SystemExit(main())
