"""Differentiable rasterisation of 3D Gaussians (3D Gaussian Splatting, Kerbl et al. 2023; REFERENCE.md §11).

A pure function of the Gaussians and the cameras, in our convention (OpenCV cam2world, K in pixels, pixel centres
at +0.5): nothing here knows about a model.

Each Gaussian has a mean ``mu``, a covariance ``Sigma = R S S R^T`` (``S = diag(scales)``, ``R`` from a w-first
quaternion, normalised here), an opacity ``o`` and a colour (any number of channels). Projection is the EWA /
local-affine approximation of 3DGS: in camera space ``t = world2cam mu``, the Jacobian of the perspective map at
``t`` (with ``t_x/t_z``, ``t_y/t_z`` clamped to 1.3x the field of view, as 3DGS and gsplat do) gives the 2D
covariance ``J W Sigma W^T J^T`` plus the 3DGS low-pass dilation (+0.3 px² on the diagonal). A pixel centre ``p``
sees ``alpha = min(0.99, o exp(-1/2 d^T conic d))``, ``d = p - mu_2d``; contributions with ``alpha < 1/255`` are
skipped; Gaussians are composited front to back by view-space z, ``w_i = alpha_i T_i``, ``T_i = prod_{j<i}
(1 - alpha_j)``, and a pixel stops before the first Gaussian that would bring ``T`` below 1e-4. Gaussians with
``z <= near`` are culled. These are the constants of 3DGS's CUDA rasteriser and gsplat (REFERENCE.md §11-12).

The CPU path (pure PyTorch, autograd gives every gradient) avoids per-Gaussian Python loops and dense tile
evaluation: every Gaussian lists the pixels inside the axis-aligned box of its visible ellipse (where
``o exp(-1/2 d^T conic d) >= 1/255``; tile 1 x 1), the (Gaussian, pixel) pairs of the whole batch are sorted by
pixel (stably: the Gaussians were enumerated front to back, so each pixel's list is depth-sorted), and every
pixel's transmittance is one segmented exclusive cumulative sum of ``log(1 - alpha)`` (in float64). The work is
proportional to the pixels each Gaussian really covers, not to tile size x Gaussians per tile: in PyTorch a dense
tile cannot stop early, and small splats (Splatter Image's per-pixel Gaussians) would waste most of a 16 x 16 tile.
On CUDA, :func:`rasterize_gaussians` calls ``gsplat.rasterization`` when gsplat is installed (the same model of
projection and compositing; ``tests/test_gaussians.py`` compares both where a GPU and gsplat exist).

Outputs: colour composited over ``background``, alpha (``sum w``), expected z-depth (``sum w z / sum w``, 0 where
nothing was hit) and, if asked, normals: each Gaussian's shortest axis turned towards the camera (world frame),
composited like colour and normalised.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from jaxtyping import Float
from torch import Tensor

from ..errors import ConfigError


@dataclass
class Gaussians:
    """A batch of Gaussian sets (one set per scene; sets of different sizes are padded with opacity 0).

    ``scales`` are standard deviations along the local axes (after activation, > 0); ``rotations`` are
    quaternions (w, x, y, z), not necessarily normalised; ``opacities`` in [0, 1]; ``colors`` any channels."""

    means: Float[Tensor, "batch gaussian 3"]
    scales: Float[Tensor, "batch gaussian 3"]
    rotations: Float[Tensor, "batch gaussian 4"]
    opacities: Float[Tensor, "batch gaussian"]
    colors: Float[Tensor, "batch gaussian channel"]

    @property
    def batch_size(self) -> int:
        return self.means.shape[0]

    def index(self, i: int) -> "Gaussians":
        return Gaussians(*(t[i : i + 1] for t in (self.means, self.scales, self.rotations, self.opacities, self.colors)))

    def repeat_views(self, views: int) -> "Gaussians":
        """Each set repeated ``views`` times (batch b -> rows b*views .. b*views+views-1), to render several
        cameras of one scene in one call."""
        return Gaussians(*(t.repeat_interleave(views, 0) for t in (self.means, self.scales, self.rotations, self.opacities, self.colors)))


@dataclass
class GaussianRasterConfig:
    """Constants of the 3DGS rasteriser (diff-gaussian-rasterization, gsplat); ``background`` None: transparent."""

    near: float = 0.01
    blur: float = 0.3
    max_alpha: float = 0.99
    alpha_threshold: float = 1.0 / 255.0
    transmittance_threshold: float = 1e-4
    #: t_x/t_z and t_y/t_z are clamped to this multiple of the field of view in the Jacobian (3DGS: 1.3)
    fov_clamp: float = 1.3
    background: float | None = 1.0
    normals: bool = False
    #: side of the square pixel tiles of the PyTorch path (each tile evaluates its front-to-back list densely)
    tile_size: int = 4
    #: "auto": gsplat on CUDA tensors when it is installed, else the PyTorch path; "torch": always PyTorch
    backend: str = "auto"

    def __post_init__(self) -> None:
        if self.backend not in ("auto", "torch", "gsplat"):
            raise ConfigError(f"backend must be 'auto', 'torch' or 'gsplat', got {self.backend!r}")
        if not 0.0 < self.max_alpha < 1.0:
            raise ConfigError(f"max_alpha must be in (0, 1), got {self.max_alpha}")


@dataclass
class GaussianRenderOutput:
    rgb: Float[Tensor, "batch channel height width"]
    alpha: Float[Tensor, "batch 1 height width"]
    depth: Float[Tensor, "batch 1 height width"]
    normals: Float[Tensor, "batch 3 height width"] | None = None
    #: (Gaussian, pixel) pairs that were composited (a measure of the work done)
    num_pairs: int = 0


@dataclass
class ProjectedGaussians:
    """Gaussians in one camera each: 2D means (pixels), conics (inverse 2D covariance: a, b, c of
    ``a dx² + 2 b dx dy + c dy²``), view-space z, and which are in front of the near plane."""

    means2d: Float[Tensor, "batch gaussian 2"]
    conics: Float[Tensor, "batch gaussian 3"]
    cov2d: Float[Tensor, "batch gaussian 3"]
    depths: Float[Tensor, "batch gaussian"]
    valid: Tensor


def quaternion_to_matrix(q: Float[Tensor, "*b 4"]) -> Float[Tensor, "*b 3 3"]:
    """Rotation matrix of a (w, x, y, z) quaternion (normalised here; the zero quaternion gives identity-ish
    garbage-free output via a small epsilon)."""
    q = q / q.norm(dim=-1, keepdim=True).clamp_min(1e-12)
    w, x, y, z = q.unbind(-1)
    return torch.stack([
        1 - 2 * (y * y + z * z), 2 * (x * y - w * z), 2 * (x * z + w * y),
        2 * (x * y + w * z), 1 - 2 * (x * x + z * z), 2 * (y * z - w * x),
        2 * (x * z - w * y), 2 * (y * z + w * x), 1 - 2 * (x * x + y * y),
    ], -1).reshape(*q.shape[:-1], 3, 3)


def matrix_to_quaternion(R: Float[Tensor, "*b 3 3"]) -> Float[Tensor, "*b 4"]:
    """(w, x, y, z) of a rotation matrix, w >= 0 (Shepperd's method, branch-free via the largest component)."""
    m = R
    trace = m[..., 0, 0] + m[..., 1, 1] + m[..., 2, 2]
    candidates = torch.stack([
        torch.stack([1 + trace, m[..., 2, 1] - m[..., 1, 2], m[..., 0, 2] - m[..., 2, 0], m[..., 1, 0] - m[..., 0, 1]], -1),
        torch.stack([m[..., 2, 1] - m[..., 1, 2], 1 + m[..., 0, 0] - m[..., 1, 1] - m[..., 2, 2], m[..., 0, 1] + m[..., 1, 0], m[..., 0, 2] + m[..., 2, 0]], -1),
        torch.stack([m[..., 0, 2] - m[..., 2, 0], m[..., 0, 1] + m[..., 1, 0], 1 - m[..., 0, 0] + m[..., 1, 1] - m[..., 2, 2], m[..., 1, 2] + m[..., 2, 1]], -1),
        torch.stack([m[..., 1, 0] - m[..., 0, 1], m[..., 0, 2] + m[..., 2, 0], m[..., 1, 2] + m[..., 2, 1], 1 - m[..., 0, 0] - m[..., 1, 1] + m[..., 2, 2]], -1),
    ], -2)  # *b 4 4: row k is 4 q_k q
    diag = torch.stack([1 + trace, 1 + m[..., 0, 0] - m[..., 1, 1] - m[..., 2, 2],
                        1 - m[..., 0, 0] + m[..., 1, 1] - m[..., 2, 2], 1 - m[..., 0, 0] - m[..., 1, 1] + m[..., 2, 2]], -1)
    best = diag.argmax(-1)
    q = torch.gather(candidates, -2, best[..., None, None].expand(*best.shape, 1, 4)).squeeze(-2)
    q = q / q.norm(dim=-1, keepdim=True)
    return torch.where(q[..., :1] < 0, -q, q)


def quaternion_multiply(a: Float[Tensor, "*b 4"], b: Float[Tensor, "*b 4"]) -> Float[Tensor, "*b 4"]:
    """Hamilton product ``a b`` of (w, x, y, z) quaternions (the rotation b, then a)."""
    aw, ax, ay, az = a.unbind(-1)
    bw, bx, by, bz = b.unbind(-1)
    return torch.stack([
        aw * bw - ax * bx - ay * by - az * bz,
        aw * bx + ax * bw + ay * bz - az * by,
        aw * by - ax * bz + ay * bw + az * bx,
        aw * bz + ax * by - ay * bx + az * bw,
    ], -1)


def covariances(scales: Float[Tensor, "*b 3"], rotations: Float[Tensor, "*b 4"]) -> Float[Tensor, "*b 3 3"]:
    """``R S S R^T``: the 3D covariance of each Gaussian."""
    M = quaternion_to_matrix(rotations) * scales[..., None, :]
    return M @ M.transpose(-1, -2)


def project_gaussians(
    gaussians: Gaussians,
    cam2world: Float[Tensor, "batch 4 4"],
    intrinsics: Float[Tensor, "batch 3 3"],
    height: int,
    width: int,
    config: GaussianRasterConfig,
) -> ProjectedGaussians:
    """EWA projection of every Gaussian into its scene's camera (3DGS's ``computeCov2D``, pixel units)."""
    world2cam_R = cam2world[:, :3, :3].transpose(1, 2)  # b 3 3
    centre = cam2world[:, :3, 3]
    t = torch.einsum("bij,bnj->bni", world2cam_R, gaussians.means - centre[:, None])
    tz = t[..., 2]
    valid = tz > config.near
    z = torch.where(valid, tz, torch.ones_like(tz))  # keeps culled Gaussians' arithmetic (and gradients) finite
    fx, fy = intrinsics[:, 0, 0, None], intrinsics[:, 1, 1, None]
    cx, cy = intrinsics[:, 0, 2, None], intrinsics[:, 1, 2, None]
    # 1.3 x the field of view, measured from the principal point on each side (gsplat's limits)
    lim_xp = config.fov_clamp * (width - cx) / fx
    lim_xn = config.fov_clamp * cx / fx
    lim_yp = config.fov_clamp * (height - cy) / fy
    lim_yn = config.fov_clamp * cy / fy
    tx = z * torch.minimum(torch.maximum(t[..., 0] / z, -lim_xn), lim_xp)
    ty = z * torch.minimum(torch.maximum(t[..., 1] / z, -lim_yn), lim_yp)
    zero = torch.zeros_like(z)
    J = torch.stack([fx / z, zero, -fx * tx / z**2, zero, fy / z, -fy * ty / z**2], -1).reshape(*z.shape, 2, 3)
    T = J @ world2cam_R[:, None]  # b n 2 3
    cov3 = covariances(gaussians.scales, gaussians.rotations)
    cov = T @ cov3 @ T.transpose(-1, -2)
    a = cov[..., 0, 0] + config.blur
    b = cov[..., 0, 1]
    c = cov[..., 1, 1] + config.blur
    det = (a * c - b * b).clamp_min(1e-12)
    conics = torch.stack([c / det, -b / det, a / det], -1)
    means2d = torch.stack([fx * t[..., 0] / z + cx, fy * t[..., 1] / z + cy], -1)
    return ProjectedGaussians(means2d, conics, torch.stack([a, b, c], -1), tz, valid)


def _gaussian_normals(gaussians: Gaussians, cam2world: Tensor) -> Tensor:
    """Each Gaussian's shortest axis (world frame), turned to face its camera."""
    R = quaternion_to_matrix(gaussians.rotations)
    shortest = gaussians.scales.detach().argmin(-1)
    axis = torch.gather(R, -1, shortest[..., None, None].expand(*shortest.shape, 3, 1)).squeeze(-1)
    to_camera = cam2world[:, None, :3, 3] - gaussians.means
    sign = torch.where((axis * to_camera).sum(-1, keepdim=True) < 0, -1.0, 1.0)
    return axis * sign


def rasterize_gaussians(
    gaussians: Gaussians,
    cam2world: Float[Tensor, "batch 4 4"],
    intrinsics: Float[Tensor, "batch 3 3"],
    height: int,
    width: int,
    config: GaussianRasterConfig | None = None,
) -> GaussianRenderOutput:
    """Render each scene's Gaussians from its camera (batch b: set b, camera b). Differentiable with respect to
    means, scales, rotations, opacities and colours (and the cameras)."""
    config = config or GaussianRasterConfig()
    if gaussians.means.shape[0] != cam2world.shape[0]:
        raise ConfigError(f"{gaussians.means.shape[0]} Gaussian sets for {cam2world.shape[0]} cameras")
    if config.backend == "gsplat" or (config.backend == "auto" and gaussians.means.is_cuda and gsplat_available()):
        return _rasterize_gsplat(gaussians, cam2world, intrinsics, height, width, config)
    return _rasterize_torch(gaussians, cam2world, intrinsics, height, width, config)


def gsplat_available() -> bool:
    try:
        import gsplat  # noqa: F401
    except Exception:  # noqa: BLE001 - any import failure (no CUDA build) means: not available
        return False
    return True


def _rasterize_torch(gaussians: Gaussians, cam2world: Tensor, intrinsics: Tensor, height: int, width: int,
                     config: GaussianRasterConfig) -> GaussianRenderOutput:
    batch, n = gaussians.means.shape[:2]
    channels = gaussians.colors.shape[-1]
    device, dtype = gaussians.means.device, gaussians.means.dtype
    ts = config.tile_size
    tiles_x, tiles_y = -(-width // ts), -(-height // ts)
    tiles_per_image = tiles_x * tiles_y
    proj = project_gaussians(gaussians, cam2world, intrinsics, height, width, config)
    opacity = gaussians.opacities

    # ---- which tiles each Gaussian can reach, lists per tile sorted front to back (no gradient: indices)
    with torch.no_grad():
        # o exp(-q/2) >= threshold  <=>  q <= 2 ln(o / threshold): the box of that ellipse has half-sides
        # sqrt(level cov_xx), sqrt(level cov_yy); outside it every alpha is below the threshold
        level = 2.0 * torch.log((opacity.clamp_min(1e-12) / config.alpha_threshold).clamp_min(1.0))
        keep = proj.valid & (level > 0) & torch.isfinite(proj.means2d).all(-1) & torch.isfinite(proj.cov2d).all(-1)
        rx = torch.sqrt(level * proj.cov2d[..., 0].clamp_min(0))
        ry = torch.sqrt(level * proj.cov2d[..., 2].clamp_min(0))
        u, v = proj.means2d[..., 0], proj.means2d[..., 1]
        # pixel j's centre is j + 0.5: the columns with |j + 0.5 - u| <= rx
        x0 = torch.ceil(u - rx - 0.5).clamp(0, width)
        x1 = torch.floor(u + rx - 0.5).clamp(-1, width - 1)
        y0 = torch.ceil(v - ry - 0.5).clamp(0, height)
        y1 = torch.floor(v + ry - 0.5).clamp(-1, height - 1)
        keep = keep & (x1 >= x0) & (y1 >= y0)
        tx0 = torch.div(x0, ts, rounding_mode="floor").to(torch.long)
        ty0 = torch.div(y0, ts, rounding_mode="floor").to(torch.long)
        ntx = torch.div(x1, ts, rounding_mode="floor").to(torch.long) - tx0 + 1
        nty = torch.div(y1, ts, rounding_mode="floor").to(torch.long) - ty0 + 1
        counts = torch.where(keep, ntx * nty, torch.zeros_like(ntx)).reshape(-1)
        # enumerate Gaussians front to back within each scene, then their tiles
        order = torch.argsort(torch.where(keep, proj.depths, torch.full_like(proj.depths, float("inf"))), dim=1)
        flat_order = (order + torch.arange(batch, device=device)[:, None] * n).reshape(-1)
        counts_sorted = counts[flat_order]
        gid = torch.repeat_interleave(flat_order, counts_sorted)  # flat Gaussian index per (Gaussian, tile) pair
        starts = torch.cumsum(counts_sorted, 0) - counts_sorted
        local = torch.arange(gid.numel(), device=device) - torch.repeat_interleave(starts, counts_sorted)
        ntx_p = ntx.reshape(-1)[gid]
        tile_x = tx0.reshape(-1)[gid] + local % ntx_p
        tile_y = ty0.reshape(-1)[gid] + local // ntx_p
        tile = (gid // n) * tiles_per_image + tile_y * tiles_x + tile_x
        tile, perm = torch.sort(tile, stable=True)  # stable: each tile's list stays front to back
        gid = gid[perm]
        num_tiles = batch * tiles_per_image
        per_tile = torch.bincount(tile, minlength=num_tiles)
        first = torch.cumsum(per_tile, 0) - per_tile
        # tiles grouped by list length (powers of two), each group padded to its longest list
        occupied = torch.nonzero(per_tile).squeeze(1)
        group_of = torch.ceil(torch.log2(per_tile[occupied].to(torch.float32))).to(torch.long)
        groups = [occupied[group_of == g] for g in torch.unique(group_of).tolist()]
        pixel_in_tile = torch.arange(ts * ts, device=device)
        offsets = torch.arange(ts, device=device).to(dtype) + 0.5  # pixel centres within a tile

    flat_means2d = proj.means2d.reshape(-1, 2)
    flat_conics = proj.conics.reshape(-1, 3)
    flat_log_opacity = torch.log(opacity.clamp_min(1e-30)).reshape(-1)
    feats = [gaussians.colors.reshape(-1, channels), proj.depths.reshape(-1, 1), torch.ones_like(flat_log_opacity)[:, None]]
    if config.normals:
        feats.append(_gaussian_normals(gaussians, cam2world).reshape(-1, 3))
    flat_feats = torch.cat(feats, -1)
    minus_inf = torch.tensor(float("-inf"), dtype=dtype, device=device)
    outputs, rows = [], []
    evaluations = 0
    for tiles in groups:
        with torch.no_grad():
            length = per_tile[tiles]
            k_max = int(length.max())
            slot = torch.arange(k_max, device=device)
            present = slot[None] < length[:, None]  # tile, k
            index = gid[(first[tiles][:, None] + slot[None]).clamp_max(gid.numel() - 1)]
            index = torch.where(present, index, torch.zeros_like(index))
            local_tile = tiles % tiles_per_image
            px = ((local_tile % tiles_x) * ts).to(dtype)[:, None] + offsets  # tile, column
            py = ((local_tile // tiles_x) * ts).to(dtype)[:, None] + offsets  # tile, row
        evaluations += tiles.numel() * ts * ts * k_max
        m = flat_means2d[index]  # tile k 2
        conic = flat_conics[index]
        log_o = torch.where(present, flat_log_opacity[index], minus_inf)
        dx = px[:, :, None] - m[:, None, :, 0]  # tile column k
        dy = py[:, :, None] - m[:, None, :, 1]  # tile row k
        # log alpha = log o - 1/2 (a dx² + 2 b dx dy + c dy²): the dx² and dy² terms on (tile, column|row, k),
        # only the cross term on (tile, row, column, k)
        qx = log_o[:, None] - 0.5 * conic[:, None, :, 0] * dx * dx
        qy = -0.5 * conic[:, None, :, 2] * dy * dy
        cross = (-conic[:, None, :, 1] * dy)[:, :, None] * dx[:, None]  # tile row column k
        grad = torch.is_grad_enabled() and cross.requires_grad
        weights = _composite_weights(cross, qx[:, None], qy[:, :, None], config, in_place=not grad)
        weights = weights.reshape(tiles.numel(), ts * ts, k_max)
        outputs.append(torch.bmm(weights, flat_feats[index]).reshape(-1, flat_feats.shape[-1]))
        rows.append((tiles[:, None] * (ts * ts) + pixel_in_tile[None]).reshape(-1))

    buffer = torch.zeros(num_tiles * ts * ts, flat_feats.shape[-1], dtype=dtype, device=device)
    if outputs:
        buffer = buffer.index_copy(0, torch.cat(rows), torch.cat(outputs))
    image = (buffer.reshape(batch, tiles_y, tiles_x, ts, ts, -1).permute(0, 5, 1, 3, 2, 4)
             .reshape(batch, -1, tiles_y * ts, tiles_x * ts)[:, :, :height, :width])
    rgb, depth_sum, acc = image[:, :channels], image[:, channels : channels + 1], image[:, channels + 1 : channels + 2]
    if config.background is not None:
        rgb = rgb + (1.0 - acc) * config.background
    hit = acc > 1e-6
    depth = torch.where(hit, depth_sum / acc.clamp_min(1e-6), torch.zeros_like(acc))
    normals = F.normalize(image[:, channels + 2 :], dim=1) if config.normals else None
    return GaussianRenderOutput(rgb=rgb, alpha=acc, depth=depth, normals=normals, num_pairs=evaluations)


def _composite_weights(cross: Tensor, qx: Tensor, qy: Tensor, config: GaussianRasterConfig, in_place: bool) -> Tensor:
    """Front-to-back compositing weights ``alpha_i T_i`` along the last dim from log alpha = cross + qx + qy
    (before clamping). ``in_place`` (no gradient needed) reuses one buffer: the same numbers, less memory traffic."""
    log_max_alpha = math.log(config.max_alpha)
    log_threshold = math.log(config.alpha_threshold)
    if in_place:
        log_alpha = cross.add_(qx).add_(qy).clamp_max_(log_max_alpha)
        log_alpha.masked_fill_(log_alpha < log_threshold, float("-inf"))  # skipped: alpha < 1/255
        T_after = torch.cumprod(log_alpha.exp_().neg_().add_(1.0), -1)  # transmittance after each Gaussian
        weights = log_alpha  # reuse: alpha T = T_before - T_after
        weights[..., 0] = 1.0 - T_after[..., 0]
        torch.sub(T_after[..., :-1], T_after[..., 1:], out=weights[..., 1:])
        return weights.masked_fill_(T_after < config.transmittance_threshold, 0.0)
    log_alpha = (cross + qx + qy).clamp_max(log_max_alpha)
    log_alpha = torch.where(log_alpha < log_threshold, float("-inf"), log_alpha)
    T_after = torch.cumprod(1.0 - torch.exp(log_alpha), -1)
    T_before = torch.cat([torch.ones_like(T_after[..., :1]), T_after[..., :-1]], -1)
    with torch.no_grad():  # a pixel stops before the Gaussian that would bring T below the threshold (3DGS)
        alive = T_after >= config.transmittance_threshold
    return torch.where(alive, T_before - T_after, 0.0)


def _rasterize_gsplat(gaussians: Gaussians, cam2world: Tensor, intrinsics: Tensor, height: int, width: int,
                      config: GaussianRasterConfig) -> GaussianRenderOutput:
    """gsplat's CUDA rasteriser (one camera per Gaussian set), with our constants."""
    from gsplat import rasterization  # type: ignore[import-not-found]

    from ..geometry import invert_rigid

    batch = gaussians.batch_size
    world2cam = invert_rigid(cam2world)
    rgbs, alphas, depths = [], [], []
    for b in range(batch):  # gsplat batches cameras over one set; our sets differ per scene
        colors, alpha, _ = rasterization(
            gaussians.means[b], gaussians.rotations[b], gaussians.scales[b], gaussians.opacities[b],
            gaussians.colors[b], world2cam[b : b + 1], intrinsics[b : b + 1], width, height,
            near_plane=config.near, eps2d=config.blur, render_mode="RGB+ED", packed=False,
        )
        rgbs.append(colors[0, ..., :-1])
        alphas.append(alpha[0])
        depths.append(colors[0, ..., -1:])
    rgb = torch.stack(rgbs).permute(0, 3, 1, 2)
    alpha = torch.stack(alphas).permute(0, 3, 1, 2)
    depth = torch.stack(depths).permute(0, 3, 1, 2) * (alpha > 1e-6)
    if config.background is not None:
        rgb = rgb + (1.0 - alpha) * config.background
    return GaussianRenderOutput(rgb=rgb, alpha=alpha, depth=depth, normals=None)
