"""Named presets of the shape models, with CPU-sized defaults (each config's docstring lists the paper's sizes).

=====================  ======================================================================================
preset                 what
=====================  ======================================================================================
``deepsdf``            auto-decoder (64-d codes) + concatenation MLP 6x128 -> SDF; clamped L1 (delta 0.1),
                       code regulariser; test-time latent optimisation
``occnet``             ResNet-PointNet (300 noisy points) -> 128-d code -> conditional-BN decoder -> occupancy
``occnet-film``        the same with FiLM instead of conditional batch norm
``convonet-grid``      local PointNet -> 16^3 x 32 grid + 2-level 3D U-Net -> local decoder
``convonet-plane``     local PointNet -> ground plane (xz) 32^2 + depth-3 2D U-Net -> local decoder
``convonet-triplane``  local PointNet -> three planes 32^2 + depth-3 2D U-Net -> local decoder
``voxel-decoder``      ResNet-PointNet -> 128-d code -> transposed 3D convs -> 16^3 x 16 grid -> local decoder
``voxel-autodecoder``  the same grid decoder with an auto-decoder table instead of the encoder
=====================  ======================================================================================

Training defaults: Adam, 8 shapes per step (ONet/ConvONet: 32-64 on a GPU), 2048 query points per shape;
lr 5e-4 (DeepSDF's decoder rate; ONet/ConvONet use 1e-4 over days on a GPU, too slow for a minutes-long CPU
run); auto-decoder codes at 1e-3 as in DeepSDF.
"""

from __future__ import annotations

from dataclasses import replace

from ..encoders3d import LocalPointNetConfig, UNet2DConfig, UNet3DConfig
from .models import ConvONetConfig, DeepSDFConfig, OccNetConfig, VoxelModelConfig


def _convonet(kind: str) -> ConvONetConfig:
    return ConvONetConfig(encoder=LocalPointNetConfig(
        kind=kind, plane_resolution=32, grid_resolution=16, unet2d=UNet2DConfig(depth=3),
        unet3d=UNet3DConfig(num_levels=2, feature_maps=32)))


def shape_presets() -> dict:
    """Preset name -> :class:`~sceneprior.models.presets.Preset` (imported here: models/presets.py lists these)."""
    from ..models.presets import Preset, TrainingDefaults

    shapes = TrainingDefaults(lr=5e-4, scenes_per_batch=8, target_views=1, rays_per_scene=None)
    occnet = OccNetConfig()
    return {
        "deepsdf": Preset("deepsdf", "deepsdf", DeepSDFConfig(), replace(shapes, latent_lr=1e-3),
                          "DeepSDF: auto-decoder + concatenation MLP -> SDF (3D-supervised, sdf.npz)"),
        "occnet": Preset("occnet", "occnet", occnet, shapes,
                         "Occupancy Networks: PointNet encoder -> global code -> conditional batch norm decoder"),
        "occnet-film": Preset("occnet-film", "occnet",
                              replace(occnet, decoder=replace(occnet.decoder, conditioning="film")), shapes,
                              "Occupancy Networks with FiLM conditioning instead of conditional batch norm"),
        "convonet-grid": Preset("convonet-grid", "convonet", _convonet("grid"), shapes,
                                "ConvONet: local PointNet -> 16^3 feature grid + 3D U-Net -> local decoder"),
        "convonet-plane": Preset("convonet-plane", "convonet", _convonet("plane_xz"), shapes,
                                 "ConvONet: local PointNet -> ground plane 32^2 + 2D U-Net -> local decoder"),
        "convonet-triplane": Preset("convonet-triplane", "convonet", _convonet("triplane"), shapes,
                                    "ConvONet: local PointNet -> three planes 32^2 + 2D U-Net -> local decoder"),
        "voxel-decoder": Preset("voxel-decoder", "voxel-decoder", VoxelModelConfig(), shapes,
                                "global code (PointNet) -> transposed 3D convs -> 16^3 grid -> local decoder"),
        "voxel-autodecoder": Preset("voxel-autodecoder", "voxel-decoder", VoxelModelConfig(encoder=None),
                                    replace(shapes, latent_lr=1e-3),
                                    "auto-decoded global code -> transposed 3D convs -> 16^3 grid -> local decoder"),
    }


__all__ = ["shape_presets"]
