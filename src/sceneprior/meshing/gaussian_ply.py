"""3D Gaussians as the standard 3D Gaussian Splatting PLY (graphdeco-inria/gaussian-splatting ``save_ply``;
REFERENCE.md §11), the file common splat viewers open.

One ``vertex`` element, every property float32, binary little-endian, in this order: ``x y z``, ``nx ny nz``
(zeros), ``f_dc_0..2`` (the SH DC coefficient: ``rgb = 0.5 + C0 f_dc``), ``f_rest_0..44`` (the higher SH bands of
degree 3, channel-major; zeros here: our colours are view-independent, and degree-3 files are what viewers expect),
``opacity`` (a logit), ``scale_0..2`` (log standard deviations) and ``rot_0..3`` (a quaternion, w first). Values are
stored before activation, as 3DGS stores them.

Gaussians whose opacity is below the rasteriser's skip threshold (1/255) never contribute to a pixel and are left
out (``min_opacity``); everything else is written exactly.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from ..renderers.gaussians import Gaussians

#: the zeroth spherical-harmonic basis constant
SH_C0 = 0.28209479177387814
#: f_rest coefficients of SH degree 3: 3 channels x 15
REST_COEFFICIENTS = 45


def ply_properties(rest: int = REST_COEFFICIENTS) -> list[str]:
    return (["x", "y", "z", "nx", "ny", "nz", "f_dc_0", "f_dc_1", "f_dc_2"] + [f"f_rest_{i}" for i in range(rest)]
            + ["opacity", "scale_0", "scale_1", "scale_2", "rot_0", "rot_1", "rot_2", "rot_3"])


def gaussians_to_ply_array(gaussians: Gaussians, min_opacity: float = 1.0 / 255.0) -> np.ndarray:
    """Scene 0 of ``gaussians`` (colours RGB in [0, 1]) as a structured float32 array in PLY property order."""
    with torch.no_grad():
        means = gaussians.means[0].double()
        keep = gaussians.opacities[0] >= min_opacity
        opacity = gaussians.opacities[0].double().clamp(1e-7, 1 - 1e-7)
        rotations = gaussians.rotations[0].double()
        rotations = rotations / rotations.norm(dim=-1, keepdim=True).clamp_min(1e-12)
        columns = {
            "xyz": means, "normals": torch.zeros_like(means),
            "f_dc": (gaussians.colors[0, :, :3].double() - 0.5) / SH_C0,
            "f_rest": torch.zeros(means.shape[0], REST_COEFFICIENTS, dtype=torch.float64),
            "opacity": torch.log(opacity / (1 - opacity))[:, None],
            "scale": torch.log(gaussians.scales[0].double().clamp_min(1e-12)),
            "rot": rotations,
        }
        flat = torch.cat(list(columns.values()), -1)[keep].numpy().astype("<f4")
    names = ply_properties()
    out = np.empty(flat.shape[0], dtype=[(name, "<f4") for name in names])
    for i, name in enumerate(names):
        out[name] = flat[:, i]
    return out


def write_gaussian_ply(gaussians: Gaussians, path: str | Path, min_opacity: float = 1.0 / 255.0) -> Path:
    """Write scene 0 of ``gaussians`` as a 3DGS PLY (see the module doc); returns the path."""
    data = gaussians_to_ply_array(gaussians, min_opacity)
    header = ["ply", "format binary_little_endian 1.0", "comment written by sceneprior (3D Gaussian Splatting layout)",
              f"element vertex {len(data)}"]
    header += [f"property float {name}" for name in data.dtype.names]
    header += ["end_header"]
    path = Path(path)
    with open(path, "wb") as handle:
        handle.write(("\n".join(header) + "\n").encode("ascii"))
        handle.write(data.tobytes())
    return path
