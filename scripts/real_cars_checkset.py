"""Rebuild the real-object check set: the rally cars of Debian's ``trigger-rally-data`` package, rendered with
``sceneprior data render-meshes`` in the generator's camera model (64², fov 40°, distance 1.4-1.8, elevation
10-50°, white background).

Nobody on the sceneprior team made these models: they are the 9 cars of the game Trigger Rally (3 bodies --
Cordo, Evo, Fox -- in 3 liveries each: kit car, super 500, WRC), textured OBJ + MTL + PNG, copyright Jasmine
Langridge, Richard Langridge, Matthias Keysermann and others, licence GPL-2+ (the package's
``/usr/share/doc/trigger-rally-data/copyright``). They are an evaluation set only: never train or tune on them.

Steps (all deterministic):
1. get ``data.zip`` of trigger-rally-data 0.6.6.1-3: an installed copy (``/usr/share/games/trigger-rally``), a
   ``.deb`` given with ``--deb``, or ``apt-get download trigger-rally-data`` into ``WORK``;
2. assemble each car as the game does (the three Evo bodies name a material their MTL does not define; they get
   the MTL's one material, i.e. their own texture, as in the game: :func:`fix_material_names`) (``vehicles/NAME/NAME.vehicle``): the body OBJ scaled by the body part's
   ``scale`` and four copies of the wheel OBJ scaled by ``wheelscale * radius`` at the ``<wheel pos>`` of the part
   (wheels on the -x side turned 180° about the up axis), written as one textured GLB per car;
3. ``sceneprior data render-meshes WORK/meshes --out OUT --split test --no-test-ood-pose --up +z --forward +y --views 50
   --seed 0 --spp 64``.

    python scripts/real_cars_checkset.py --work /tmp/trigger --out data/real_cars
"""

from __future__ import annotations

import argparse
import io
import subprocess
import sys
import xml.etree.ElementTree as ET
import zipfile
from pathlib import Path

import numpy as np

from debian_package import package_path

PACKAGE = "trigger-rally-data"
DATA_ZIP = "usr/share/games/trigger-rally/data.zip"


def _floats(text: str) -> np.ndarray:
    return np.array([float(v) for v in text.split(",")])


def fix_material_names(obj: Path) -> None:
    """The Evo bodies say ``usemtl _eva.png`` while their MTL defines only ``_evo_*.png`` (the game textures a
    car by its own file names, not through the MTL): where an OBJ uses a material its MTL does not define and the
    MTL defines exactly one, use that one -- else trimesh reads the body untextured (grey)."""
    text = obj.read_text(errors="replace")
    mtl_names = [line.split()[1] for line in text.splitlines() if line.startswith("mtllib ")]
    defined: list[str] = []
    for name in mtl_names:
        mtl = obj.parent / name
        if mtl.is_file():
            defined += [line.split()[1] for line in mtl.read_text(errors="replace").splitlines() if line.startswith("newmtl ")]
    if len(defined) != 1:
        return
    lines = [f"usemtl {defined[0]}" if line.startswith("usemtl ") and line.split()[1] not in defined else line for line in text.splitlines()]
    obj.write_text("\n".join(lines) + "\n")


def assemble(archive: zipfile.ZipFile, vehicle: str, folder: Path) -> Path:
    """One car (body + 4 wheels) as a GLB in the game's frame (x right, y forward, z up)."""
    import trimesh

    name = Path(vehicle).stem
    base = Path(vehicle).parent
    for member in archive.namelist():  # the car's OBJ, MTL and texture files, for trimesh to resolve
        if member.startswith(str(base) + "/") and not member.endswith("/"):
            (folder / "src" / member).parent.mkdir(parents=True, exist_ok=True)
            (folder / "src" / member).write_bytes(archive.read(member))
    for obj in sorted((folder / "src" / base).glob("*.obj")):
        fix_material_names(obj)
    root = ET.fromstring(archive.read(vehicle))
    gen = root.find("genparams")
    part = root.find("part")
    assert gen is not None and part is not None, vehicle
    src = folder / "src" / base
    scene = trimesh.Scene()
    body = trimesh.load(str(src / part.get("model")), force="mesh", process=False)
    body.apply_scale(float(part.get("scale", "1")))
    scene.add_geometry(body, geom_name="body")
    for k, w in enumerate(part.findall("wheel")):
        wheel = trimesh.load(str(src / gen.get("wheelmodel")), force="mesh", process=False)
        wheel.apply_scale(float(gen.get("wheelscale", "1")) * float(w.get("radius", "1")))  # as the game draws it
        pos = _floats(w.get("pos"))
        transform = np.eye(4)
        if pos[0] < 0:
            transform[:3, :3] = trimesh.transformations.rotation_matrix(np.pi, [0, 0, 1])[:3, :3]
        transform[:3, 3] = pos
        scene.add_geometry(wheel, geom_name=f"wheel_{k}", transform=transform)
    out = folder / "meshes" / f"{name}.glb"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(scene.export(file_type="glb"))
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--work", required=True, help="scratch folder (package, extracted files, assembled GLBs)")
    parser.add_argument("--out", required=True, help="the check set (SRN layout)")
    parser.add_argument("--deb", default=None, help="a downloaded trigger-rally-data .deb (default: installed copy or apt-get download)")
    parser.add_argument("--views", type=int, default=50)
    parser.add_argument("--resolution", type=int, default=64)
    parser.add_argument("--spp", type=int, default=64)
    parser.add_argument("--threads", type=int, default=None)
    args = parser.parse_args(argv)
    work = Path(args.work)
    data_zip = package_path(PACKAGE, DATA_ZIP, work, Path(args.deb) if args.deb else None)
    with zipfile.ZipFile(io.BytesIO(data_zip.read_bytes())) as archive:
        vehicles = sorted(n for n in archive.namelist() if n.startswith("vehicles/") and n.endswith(".vehicle"))
        for vehicle in vehicles:
            print(f"assembled {assemble(archive, vehicle, work)}")
    command = [sys.executable, "-m", "sceneprior", "data", "render-meshes", str(work / "meshes"), "--out", args.out,
               "--split", "test", "--no-test-ood-pose", "--up", "+z", "--forward", "+y", "--views", str(args.views), "--resolution",
               str(args.resolution), "--seed", "0", "--spp", str(args.spp)]
    if args.threads:
        command += ["--threads", str(args.threads)]
    print(" ".join(command))
    return subprocess.run(command, check=False).returncode


if __name__ == "__main__":
    raise SystemExit(main())
