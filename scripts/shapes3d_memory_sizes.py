"""Training-step memory of the ConvONet feature structures at three sizes, on one room (untrained weights:
the measure does not depend on them). Run: .venv/bin/python scripts/shapes3d_memory_sizes.py data/rooms150

For each: latent floats per scene, network parameters, and the bytes autograd saves for the backward pass of
one training loss on one scene (3000 input points, 2048 queries) -- training.memory.saved_activation_bytes,
the figure `sceneprior eval` reports -- and the same without the weight tensors that layers save for their
input gradient (activations only).
"""

import sys

import torch
from torch import Tensor

from sceneprior.encoders3d import LocalPointNetConfig, UNet2DConfig, UNet3DConfig
from sceneprior.evaluation.eval3d import activation_memory
from sceneprior.models3d import ShapeBatch, ShapeCache, draw_queries, parameter_count
from sceneprior.models3d.models import ConvONet, ConvONetConfig
from sceneprior.encoders3d import sample_input_points
from sceneprior.representations import Bounds
from sceneprior.training.data import open_split

torch.set_num_threads(1)


def saved_bytes_without_weights(model, batch) -> int:
    weights = {p.untyped_storage().data_ptr() for p in model.parameters()}
    seen: dict[int, int] = {}

    def pack(t: Tensor) -> Tensor:
        storage = t.untyped_storage()
        if storage.data_ptr() not in weights:
            seen[storage.data_ptr()] = storage.nbytes()
        return t

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        out = model.loss(batch)
    del out
    return sum(seen.values())


SIZES = {  # name -> (plane resolution, 2D U-Net depth, grid resolution, 3D U-Net levels)
    "presets here (CPU)": (32, 3, 16, 2),
    "ConvONet ShapeNet": (64, 4, 32, 3),
    "ConvONet scenes": (128, 5, 64, 4),
}
cache = ShapeCache(open_split(sys.argv[1], "test", load_extras=False))
sample = cache.scene(0)
generator = torch.Generator().manual_seed(0)
points, occupancy, sdf = draw_queries(sample, 2048, generator)
observed = sample_input_points(sample.surface_points[None], 3000, 0.005, generator)
batch = ShapeBatch(torch.zeros(1, dtype=torch.long), observed, points[None], occupancy[None], sdf[None])
bounds = Bounds(half_extent=1.0)
print("| size | structure | resolution | latent floats | params | saved for backward (MB) | without weights (MB) |")
print("| --- | --- | --- | --- | --- | --- | --- |")
for name, (plane_res, depth, grid_res, levels) in SIZES.items():
    for kind in ("grid", "plane_xz", "triplane"):
        encoder = LocalPointNetConfig(kind=kind, plane_resolution=plane_res, grid_resolution=grid_res,
                                      unet2d=UNet2DConfig(depth=depth), unet3d=UNet3DConfig(num_levels=levels, feature_maps=32),
                                      bounds=bounds)
        model = ConvONet(ConvONetConfig(encoder=encoder, bounds=bounds), num_train_scenes=1).train()
        with torch.no_grad():
            floats = model.encode_points(observed).floats_per_scene()
        mb = activation_memory(model, batch) / 2**20
        activations = saved_bytes_without_weights(model, batch) / 2**20
        res = f"{grid_res}³" if kind == "grid" else f"{plane_res}²"
        print(f"| {name} | {kind} | {res} | {floats:,} | {parameter_count(model):,} | {mb:.1f} | {activations:.1f} |", flush=True)
