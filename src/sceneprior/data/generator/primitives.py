"""Analytic primitives of the procedural scenes: exact ray casting, exact SDFs and surface sampling.

A :class:`Scene` is a list of primitives, each with a rigid frame (``centre`` and a local-to-world
``rotation`` whose columns are the local axes in world coordinates), a size, an albedo and a part label:

* :class:`Box` -- half extents along the local axes;
* :class:`Prism` -- a convex quadrilateral in the local x-y plane (counter-clockwise), extruded by
  ``half_depth`` along local z (a car cabin with a sloped windshield, a bevelled hood);
* :class:`Cylinder` -- a capped cylinder along local y (wheels, legs, pillars);
* :class:`Sphere`.

Boxes are prisms with a rectangular profile, so every flat-faced primitive is cast as a convex set of
six half-spaces (Kay-Kajiya slabs) and gets an exact SDF (2D polygon distance, extruded). The union
SDF is the minimum of the per-primitive SDFs: exact outside the union, a bound inside it.
All heavy functions work on a :class:`PackedScene` (stacked tensors), built once per scene.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import torch
from jaxtyping import Float, Int
from torch import Tensor

Vec3 = tuple[float, float, float]
Mat3 = tuple[Vec3, Vec3, Vec3]

IDENTITY: Mat3 = ((1.0, 0.0, 0.0), (0.0, 1.0, 0.0), (0.0, 0.0, 1.0))


def rotation_y(angle: float) -> Mat3:
    """Rotation by ``angle`` radians about world +y (right-handed: +x turns towards -z)."""
    c, s = math.cos(angle), math.sin(angle)
    return ((c, 0.0, s), (0.0, 1.0, 0.0), (-s, 0.0, c))


def rotation_x(angle: float) -> Mat3:
    """Rotation by ``angle`` radians about world +x (+y turns towards +z)."""
    c, s = math.cos(angle), math.sin(angle)
    return ((1.0, 0.0, 0.0), (0.0, c, -s), (0.0, s, c))


#: Rotation whose local +y axis is world +z (capped cylinders lying along z, e.g. car wheels).
AXIS_Y_TO_Z: Mat3 = ((1.0, 0.0, 0.0), (0.0, 0.0, -1.0), (0.0, 1.0, 0.0))
#: Rotation whose local +y axis is world +x.
AXIS_Y_TO_X: Mat3 = ((0.0, 1.0, 0.0), (-1.0, 0.0, 0.0), (0.0, 0.0, 1.0))


@dataclass(frozen=True)
class Box:
    """Axis-aligned in its local frame: ``|x_local| <= half_extents``."""

    centre: Vec3
    half_extents: Vec3
    albedo: Vec3
    part: int
    rotation: Mat3 = IDENTITY


@dataclass(frozen=True)
class Prism:
    """Convex quadrilateral ``polygon`` (4 counter-clockwise (x, y) vertices in the local x-y plane),
    extruded over ``|z_local| <= half_depth``."""

    centre: Vec3
    polygon: tuple[tuple[float, float], tuple[float, float], tuple[float, float], tuple[float, float]]
    half_depth: float
    albedo: Vec3
    part: int
    rotation: Mat3 = IDENTITY


@dataclass(frozen=True)
class Cylinder:
    """Capped cylinder along local y: ``x^2 + z^2 <= radius^2`` and ``|y| <= half_height``."""

    centre: Vec3
    radius: float
    half_height: float
    albedo: Vec3
    part: int
    rotation: Mat3 = IDENTITY


@dataclass(frozen=True)
class Sphere:
    centre: Vec3
    radius: float
    albedo: Vec3
    part: int


Primitive = Box | Prism | Cylinder | Sphere


@dataclass
class Scene:
    """One procedural scene: its primitives, part names, bounds and the parameters that made it.

    ``params`` holds the sampled generator parameters (proportions, colours, styles) and is written to
    ``scene.json``; ``bounds`` is the axis-aligned cube every primitive lies in.
    """

    category: str
    primitives: list[Primitive]
    part_names: list[str]
    bounds: tuple[Vec3, Vec3]
    params: dict[str, object] = field(default_factory=dict)

    def to_json(self) -> dict[str, object]:
        """A JSON-serialisable description (parameters and every primitive)."""
        prims = []
        for prim in self.primitives:
            entry: dict[str, object] = {"kind": type(prim).__name__.lower(), "part": self.part_names[prim.part]}
            for name, value in prim.__dict__.items():
                if name != "part":
                    entry[name] = _plain(value)
            prims.append(entry)
        return {
            "category": self.category,
            "bounds": _plain(self.bounds),
            "part_names": list(self.part_names),
            "params": _plain(self.params),
            "primitives": prims,
        }


def _plain(value: object) -> object:
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (tuple, list)):
        return [_plain(v) for v in value]
    if isinstance(value, (float, np.floating)):
        return round(float(value), 6)
    if isinstance(value, (np.integer,)):
        return int(value)
    return value


def translate(prim: Primitive, offset: Vec3) -> Primitive:
    """The same primitive moved by ``offset``."""
    centre = tuple(float(c + o) for c, o in zip(prim.centre, offset))
    return type(prim)(**{**prim.__dict__, "centre": centre})


# ----------------------------------------------------------------------------------------------------
# Packing

#: Stands in for an infinite offset of a one-sided slab (a single half-space).
_BIG = 1e30


@dataclass
class PackedScene:
    """Stacked tensors of a scene's primitives, grouped by kind (``p`` prisms, ``c`` cylinders, ``s`` spheres).

    Global primitive index order is prisms, then cylinders, then spheres; ``albedo`` and ``part`` are
    indexed by it. Prisms are also stored as ``unit`` slabs in world space: ``lo <= n . x <= hi``
    (a single face has ``lo = -1e30``; unused slots have ``n = 0``). ``aabb`` bounds the whole scene.
    """

    slab_normal: Float[Tensor, "p unit 3"]
    slab_lo: Float[Tensor, "p unit"]
    slab_hi: Float[Tensor, "p unit"]
    prism_centre: Float[Tensor, "p 3"]
    prism_rotation: Float[Tensor, "p 3 3"]
    prism_polygon: Float[Tensor, "p 4 2"]
    prism_half_depth: Float[Tensor, " p"]
    cyl_centre: Float[Tensor, "c 3"]
    cyl_rotation: Float[Tensor, "c 3 3"]
    cyl_radius: Float[Tensor, " c"]
    cyl_half_height: Float[Tensor, " c"]
    sph_centre: Float[Tensor, "s 3"]
    sph_radius: Float[Tensor, " s"]
    albedo: Float[Tensor, "prim 3"]
    part: Int[Tensor, " prim"]
    aabb: Float[Tensor, "2 3"]

    @property
    def num_prisms(self) -> int:
        return self.prism_centre.shape[0]

    @property
    def num_cylinders(self) -> int:
        return self.cyl_centre.shape[0]

    @property
    def num_spheres(self) -> int:
        return self.sph_centre.shape[0]

    @property
    def num_primitives(self) -> int:
        return self.albedo.shape[0]

    @property
    def cyl_axis(self) -> Tensor:
        return self.cyl_rotation[:, :, 1]


def _as_prism(prim: Box | Prism) -> Prism:
    if isinstance(prim, Prism):
        return prim
    hx, hy, hz = prim.half_extents
    polygon = ((-hx, -hy), (hx, -hy), (hx, hy), (-hx, hy))
    return Prism(prim.centre, polygon, hz, prim.albedo, prim.part, prim.rotation)


def _prism_slabs(prism: Prism) -> list[tuple[np.ndarray, float, float]]:
    """World-space slabs ``(n, lo, hi)`` whose intersection is the prism (opposite parallel edges share one)."""
    rotation = np.asarray(prism.rotation, dtype=np.float64)
    centre = np.asarray(prism.centre, dtype=np.float64)
    verts = np.asarray(prism.polygon, dtype=np.float64)
    normals, offsets = [], []
    for i in range(4):
        edge = verts[(i + 1) % 4] - verts[i]
        n2 = np.array([edge[1], -edge[0]]) / np.linalg.norm(edge)  # outward for counter-clockwise order
        normals.append(n2)
        offsets.append(float(n2 @ verts[i]))
    local: list[tuple[np.ndarray, float, float]] = [(np.array([0.0, 0.0, 1.0]), -prism.half_depth, prism.half_depth)]
    for i, j in ((0, 2), (1, 3)):
        if float(normals[i] @ normals[j]) < -1 + 1e-9:
            local.append((np.array([*normals[i], 0.0]), -offsets[j], offsets[i]))
        else:
            local.append((np.array([*normals[i], 0.0]), -_BIG, offsets[i]))
            local.append((np.array([*normals[j], 0.0]), -_BIG, offsets[j]))
    out = []
    for n, lo, hi in local:
        nw = rotation @ n
        shift = float(nw @ centre)
        out.append((nw, lo + shift if lo > -_BIG else lo, hi + shift))
    return out


def pack_scene(scene: Scene, dtype: torch.dtype = torch.float32) -> PackedScene:
    """Stack a scene's primitives into tensors (see :class:`PackedScene`)."""
    prisms = [_as_prism(p) for p in scene.primitives if isinstance(p, (Box, Prism))]
    cylinders = [p for p in scene.primitives if isinstance(p, Cylinder)]
    spheres = [p for p in scene.primitives if isinstance(p, Sphere)]
    f64 = np.float64
    slabs = [_prism_slabs(q) for q in prisms]
    units = max((len(s) for s in slabs), default=1)
    slab_n = np.zeros((len(prisms), units, 3))
    slab_lo = np.full((len(prisms), units), -_BIG)
    slab_hi = np.full((len(prisms), units), _BIG)
    for k, prism_slabs in enumerate(slabs):
        for u, (n, lo, hi) in enumerate(prism_slabs):
            slab_n[k, u], slab_lo[k, u], slab_hi[k, u] = n, lo, hi

    def tensor(values: object, shape: tuple[int, ...]) -> Tensor:
        array = np.asarray(values, dtype=f64).reshape(shape)
        return torch.from_numpy(array).to(dtype)

    p, c, s = len(prisms), len(cylinders), len(spheres)
    ordered = [*prisms, *cylinders, *spheres]
    lo, hi = scene_aabb(scene.primitives)
    return PackedScene(
        slab_normal=tensor(slab_n, (p, units, 3)),
        slab_lo=tensor(slab_lo, (p, units)),
        slab_hi=tensor(slab_hi, (p, units)),
        prism_centre=tensor([q.centre for q in prisms], (p, 3)),
        prism_rotation=tensor([q.rotation for q in prisms], (p, 3, 3)),
        prism_polygon=tensor([q.polygon for q in prisms], (p, 4, 2)),
        prism_half_depth=tensor([q.half_depth for q in prisms], (p,)),
        cyl_centre=tensor([q.centre for q in cylinders], (c, 3)),
        cyl_rotation=tensor([q.rotation for q in cylinders], (c, 3, 3)),
        cyl_radius=tensor([q.radius for q in cylinders], (c,)),
        cyl_half_height=tensor([q.half_height for q in cylinders], (c,)),
        sph_centre=tensor([q.centre for q in spheres], (s, 3)),
        sph_radius=tensor([q.radius for q in spheres], (s,)),
        albedo=tensor([q.albedo for q in ordered], (len(ordered), 3)),
        part=torch.tensor([q.part for q in ordered], dtype=torch.long),
        aabb=tensor([lo - 1e-3, hi + 1e-3], (2, 3)),
    )


# ----------------------------------------------------------------------------------------------------
# Ray casting
#
# Arrays are laid out (primitive, ray) so that reductions over primitives or slabs run over leading
# dimensions; the intersection of slabs is the classic "max of entries <= min of exits".


@dataclass
class RayHits:
    """Nearest hit of each ray: distance ``t`` along the unit direction (inf on a miss), outward world
    normal (0 on a miss) and global primitive index (-1 on a miss)."""

    t: Float[Tensor, " ray"]
    normal: Float[Tensor, "ray 3"]
    index: Int[Tensor, " ray"]


def _slab_entry(no: Tensor, dn: Tensor, lo: Tensor, hi: Tensor) -> tuple[Tensor, Tensor]:
    """Entry and exit distances of rays through slabs ``lo <= n . x <= hi`` given ``n . o`` and ``n . d``."""
    inv = torch.reciprocal(dn)
    ta = (hi - no) * inv
    tb = (lo - no) * inv
    return torch.minimum(ta, tb), torch.maximum(ta, tb)


def _cast_prisms(packed: PackedScene, origins: Tensor, dirs: Tensor) -> Tensor:
    """Entry distance (prism, ray), inf on a miss."""
    p, u = packed.slab_lo.shape
    n = packed.slab_normal.reshape(p * u, 3)
    no = (n @ origins.T).reshape(p, u, -1)
    dn = (n @ dirs.T).reshape(p, u, -1)
    near, far = _slab_entry(no, dn, packed.slab_lo[..., None], packed.slab_hi[..., None])
    t_in = near.amax(dim=1)
    t_out = far.amin(dim=1)
    hit = (t_in <= t_out) & (t_in > 0)
    return torch.where(hit, t_in, math.inf)


def _cylinder_terms(packed: PackedScene, origins: Tensor, dirs: Tensor) -> tuple[Tensor, ...]:
    """(t0, t1) of the infinite cylinder, (y0, y1) of the cap slab, and the discriminant; (cyl, ray)."""
    axis = packed.cyl_axis
    w = [origins[None, :, k] - packed.cyl_centre[:, k, None] for k in range(3)]
    d = [dirs[None, :, k] for k in range(3)]
    a = [axis[:, k, None] for k in range(3)]
    oa = w[0] * a[0] + w[1] * a[1] + w[2] * a[2]
    da = d[0] * a[0] + d[1] * a[1] + d[2] * a[2]
    wd = w[0] * d[0] + w[1] * d[1] + w[2] * d[2]
    ww = w[0] * w[0] + w[1] * w[1] + w[2] * w[2]
    quad_a = 1.0 - da * da
    quad_b = wd - oa * da
    quad_c = ww - oa * oa - packed.cyl_radius[:, None] ** 2
    disc = quad_b * quad_b - quad_a * quad_c
    root = torch.sqrt(disc.clamp_min(0.0))
    inv_a = 1.0 / quad_a
    t0 = (-quad_b - root) * inv_a
    t1 = (-quad_b + root) * inv_a
    half = packed.cyl_half_height[:, None]
    y0, y1 = _slab_entry(oa, da, -half, half)
    return t0, t1, y0, y1, disc


def _cast_cylinders(packed: PackedScene, origins: Tensor, dirs: Tensor) -> Tensor:
    t0, t1, y0, y1, disc = _cylinder_terms(packed, origins, dirs)
    t_in = torch.maximum(t0, y0)
    t_out = torch.minimum(t1, y1)
    hit = (disc >= 0) & (t_in <= t_out) & (t_in > 0)
    return torch.where(hit, t_in, math.inf)


def _cast_spheres(packed: PackedScene, origins: Tensor, dirs: Tensor) -> Tensor:
    w = [origins[None, :, k] - packed.sph_centre[:, k, None] for k in range(3)]
    b = w[0] * dirs[None, :, 0] + w[1] * dirs[None, :, 1] + w[2] * dirs[None, :, 2]
    c = w[0] * w[0] + w[1] * w[1] + w[2] * w[2] - packed.sph_radius[:, None] ** 2
    disc = b * b - c
    t = -b - torch.sqrt(disc.clamp_min(0.0))
    return torch.where((disc >= 0) & (t > 0), t, math.inf)


def _winner_normals(packed: PackedScene, index: Tensor, origins: Tensor, dirs: Tensor, t: Tensor) -> Tensor:
    """Outward normals of the hits of rays whose nearest primitive is ``index`` (all >= 0)."""
    normal = torch.zeros_like(origins)
    num_p, num_c = packed.num_prisms, packed.num_cylinders
    sel = index < num_p
    if bool(sel.any()):
        k = index[sel]
        n = packed.slab_normal[k]  # (hit, unit, 3)
        o, d = origins[sel], dirs[sel]
        no = (n * o[:, None, :]).sum(-1)
        dn = (n * d[:, None, :]).sum(-1)
        near, _ = _slab_entry(no, dn, packed.slab_lo[k], packed.slab_hi[k])
        unit = near.argmax(dim=1)
        n_unit = n.gather(1, unit[:, None, None].expand(-1, 1, 3))[:, 0]
        sign = -torch.sign(dn.gather(1, unit[:, None]))
        normal[sel] = n_unit * sign
    sel = (index >= num_p) & (index < num_p + num_c)
    if bool(sel.any()):
        k = index[sel] - num_p
        o, d, tt = origins[sel], dirs[sel], t[sel]
        axis = packed.cyl_axis[k]
        w = o + tt[:, None] * d - packed.cyl_centre[k]
        along = (w * axis).sum(-1, keepdim=True)
        radial = torch.nn.functional.normalize(w - along * axis, dim=-1)
        cap = torch.sign(along) * axis
        on_cap = along.abs() >= packed.cyl_half_height[k][:, None] * (1 - 1e-6)  # else on the wall
        normal[sel] = torch.where(on_cap, cap, radial)
    sel = index >= num_p + num_c
    if bool(sel.any()):
        k = index[sel] - num_p - num_c
        p = origins[sel] + t[sel][:, None] * dirs[sel]
        normal[sel] = (p - packed.sph_centre[k]) / packed.sph_radius[k][:, None]
    return normal


def _hits_aabb(aabb: Tensor, origins: Tensor, dirs: Tensor) -> Tensor:
    inv = 1.0 / dirs
    ta = (aabb[0] - origins) * inv
    tb = (aabb[1] - origins) * inv
    t_near = torch.minimum(ta, tb).amax(dim=-1)
    t_far = torch.maximum(ta, tb).amin(dim=-1)
    return (t_near <= t_far) & (t_far > 0)


def cast_rays(
    packed: PackedScene, origins: Float[Tensor, "ray 3"], directions: Float[Tensor, "ray 3"]
) -> RayHits:
    """Nearest hit of every ray (unit ``directions``) with the scene: exact distances and normals.

    Rays are assumed to start outside every primitive (cameras outside the scene). Rays that miss the
    scene's bounding box are skipped.
    """
    num_rays = origins.shape[0]
    dtype = origins.dtype
    best_t = torch.full((num_rays,), math.inf, dtype=dtype)
    best_index = torch.full((num_rays,), -1, dtype=torch.long)
    normal = torch.zeros(num_rays, 3, dtype=dtype)
    live = _hits_aabb(packed.aabb.to(dtype), origins, directions).nonzero()[:, 0]
    if live.numel() == 0 or packed.num_primitives == 0:
        return RayHits(t=best_t, normal=normal, index=best_index)
    o, d = origins[live], directions[live]
    ts = []
    if packed.num_prisms:
        ts.append(_cast_prisms(packed, o, d))
    if packed.num_cylinders:
        ts.append(_cast_cylinders(packed, o, d))
    if packed.num_spheres:
        ts.append(_cast_spheres(packed, o, d))
    t_min, which = torch.cat(ts).min(dim=0)
    hit = t_min < math.inf
    rows = live[hit]
    t_hit, idx_hit = t_min[hit], which[hit]
    best_t[rows] = t_hit
    best_index[rows] = idx_hit
    normal[rows] = _winner_normals(packed, idx_hit, o[hit], d[hit], t_hit)
    return RayHits(t=best_t, normal=normal, index=best_index)


# ----------------------------------------------------------------------------------------------------
# Signed distances


def _local(points: Tensor, centre: Tensor, rotation: Tensor) -> Tensor:
    """Local coordinates (prim, 3, point) of world points: ``R^T (x - c)``."""
    prims = centre.shape[0]
    axes = rotation.transpose(1, 2).reshape(prims * 3, 3)  # rows: local axes in world coordinates
    offset = (rotation.transpose(1, 2) @ centre[:, :, None]).reshape(prims * 3, 1)
    return (axes @ points.T - offset).reshape(prims, 3, -1)


def _extrude(d2: Tensor, dz: Tensor) -> Tensor:
    outside = torch.sqrt(d2.clamp_min(0.0) ** 2 + dz.clamp_min(0.0) ** 2)
    return torch.maximum(d2, dz).clamp_max(0.0) + outside


def _prism_sdf(packed: PackedScene, points: Tensor) -> Tensor:
    local = _local(points, packed.prism_centre, packed.prism_rotation)
    x, y, z = local[:, None, 0], local[:, None, 1], local[:, None, 2]  # (p, 1, point)
    a = packed.prism_polygon  # (p, 4, 2)
    b = torch.roll(a, shifts=-1, dims=1)
    ex, ey = (b - a)[..., 0, None], (b - a)[..., 1, None]  # (p, 4, 1)
    length = torch.sqrt(ex * ex + ey * ey)
    nx, ny = ey / length, -ex / length  # outward for counter-clockwise order
    wx, wy = x - a[..., 0, None], y - a[..., 1, None]  # (p, 4, point)
    h = ((wx * ex + wy * ey) / (length * length)).clamp(0.0, 1.0)
    dx, dy = wx - h * ex, wy - h * ey
    dist2 = (dx * dx + dy * dy).amin(dim=1)
    line = (wx * nx + wy * ny).amax(dim=1)  # > 0 outside; exact distance inside a convex polygon
    d2 = torch.where(line > 0, torch.sqrt(dist2), line)
    return _extrude(d2, z[:, 0].abs() - packed.prism_half_depth[:, None])


def _sdf_columns(packed: PackedScene, points: Tensor) -> Tensor:
    """Exact signed distance (prim, point) of every point to every primitive (global order)."""
    rows = []
    if packed.num_prisms:
        rows.append(_prism_sdf(packed, points))
    if packed.num_cylinders:
        local = _local(points, packed.cyl_centre, packed.cyl_rotation)
        radial = torch.sqrt(local[:, 0] ** 2 + local[:, 2] ** 2) - packed.cyl_radius[:, None]
        axial = local[:, 1].abs() - packed.cyl_half_height[:, None]
        rows.append(_extrude(radial, axial))
    if packed.num_spheres:
        w = points[None] - packed.sph_centre[:, None]
        rows.append(w.norm(dim=-1) - packed.sph_radius[:, None])
    return torch.cat(rows, dim=0)


def packed_sdf(packed: PackedScene, points: Float[Tensor, "point 3"], chunk: int = 16384) -> Float[Tensor, " point"]:
    """Union SDF (minimum over primitives) of a packed scene."""
    out = [_sdf_columns(packed, points[i : i + chunk]).amin(dim=0) for i in range(0, points.shape[0], chunk)]
    return torch.cat(out) if out else points.new_zeros(0)


# ----------------------------------------------------------------------------------------------------
# Surface sampling


def _prism_triangles(prism: Prism) -> tuple[np.ndarray, np.ndarray]:
    """12 world-space triangles (3 vertices each) covering the prism's surface, with outward normals."""
    rotation = np.asarray(prism.rotation, dtype=np.float64)
    centre = np.asarray(prism.centre, dtype=np.float64)
    poly = np.asarray(prism.polygon, dtype=np.float64)
    hz = prism.half_depth
    front = np.concatenate([poly, np.full((4, 1), hz)], 1)
    back = np.concatenate([poly, np.full((4, 1), -hz)], 1)
    tris = [
        [front[0], front[1], front[2]], [front[0], front[2], front[3]],
        [back[0], back[2], back[1]], [back[0], back[3], back[2]],
    ]
    for i in range(4):
        j = (i + 1) % 4
        tris += [[back[i], back[j], front[j]], [back[i], front[j], front[i]]]
    local = np.asarray(tris)
    world = local @ rotation.T + centre
    normals = np.cross(world[:, 1] - world[:, 0], world[:, 2] - world[:, 0])
    normals /= np.linalg.norm(normals, axis=-1, keepdims=True)
    return world, normals


def sample_surface(
    scene: Scene, packed: PackedScene, count: int, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``count`` area-uniform samples on the visible union surface: (points, normals, parts) as
    float32 (count, 3), float32 (count, 3), uint8 (count,).

    Samples on each primitive's surface are kept only when they are not inside another primitive.
    """
    elements = _SurfaceElements(scene)
    points_out, normals_out, parts_out = [], [], []
    have, drawn, kept = 0, 0, 0
    for _round in range(30):
        if have >= count:
            break
        rate = max(kept / drawn, 0.05) if drawn else 0.8
        p, n, owner = elements.draw(int((count - have) / rate * 1.1) + 64, rng)
        sdf = _sdf_columns(packed, torch.from_numpy(p).to(packed.albedo.dtype))
        sdf[torch.from_numpy(owner), torch.arange(len(owner))] = math.inf
        keep = (sdf.amin(dim=0) > -1e-6).numpy()
        points_out.append(p[keep])
        normals_out.append(n[keep])
        parts_out.append(packed.part.numpy()[owner[keep]])
        drawn += len(keep)
        kept += int(keep.sum())
        have = kept
    if have < count:
        raise RuntimeError("surface sampling failed: almost no visible surface")
    # a random subset of the kept samples: ``draw`` returns them grouped by primitive, so the first
    # ``count`` would over-represent the first primitives (in rooms: only the floor was ever kept)
    pick = rng.permutation(have)[:count]
    points = np.concatenate(points_out)[pick].astype(np.float32)
    normals = np.concatenate(normals_out)[pick].astype(np.float32)
    parts = np.concatenate(parts_out)[pick].astype(np.uint8)
    return points, normals, parts


class _SurfaceElements:
    """Every primitive's full surface as triangles (prisms), cylinders and spheres, with areas and the
    owner's index in packed order."""

    def __init__(self, scene: Scene) -> None:
        prisms = [_as_prism(p) for p in scene.primitives if isinstance(p, (Box, Prism))]
        self.cylinders = [p for p in scene.primitives if isinstance(p, Cylinder)]
        self.spheres = [p for p in scene.primitives if isinstance(p, Sphere)]
        tris, normals, owners = [], [], []
        for k, prism in enumerate(prisms):
            t, n = _prism_triangles(prism)
            tris.append(t)
            normals.append(n)
            owners.append(np.full(len(t), k))
        self.tris = np.concatenate(tris) if tris else np.zeros((0, 3, 3))
        self.tri_normals = np.concatenate(normals) if normals else np.zeros((0, 3))
        self.tri_owner = np.concatenate(owners) if owners else np.zeros(0, dtype=np.int64)
        edge_a, edge_b = self.tris[:, 1] - self.tris[:, 0], self.tris[:, 2] - self.tris[:, 0]
        areas = [0.5 * np.linalg.norm(np.cross(edge_a, edge_b), axis=-1)]
        areas.append(np.array([2 * math.pi * c.radius * (2 * c.half_height + c.radius) for c in self.cylinders]))
        areas.append(np.array([4 * math.pi * s.radius**2 for s in self.spheres]))
        self.areas = np.concatenate(areas)
        self.offset_cyl = len(prisms)
        self.offset_sph = len(prisms) + len(self.cylinders)

    def draw(self, count: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        counts = rng.multinomial(count, self.areas / self.areas.sum())
        num_tris = len(self.tris)
        which = np.repeat(np.arange(num_tris), counts[:num_tris])
        r1, r2 = rng.random(len(which)), rng.random(len(which))
        root = np.sqrt(r1)
        bary = np.stack([1 - root, root * (1 - r2), root * r2], 1)
        pts = [np.einsum("nk,nkj->nj", bary, self.tris[which])]
        nrms = [self.tri_normals[which]]
        owners = [self.tri_owner[which]]
        for k, (cyl, m) in enumerate(zip(self.cylinders, counts[num_tris:].tolist())):
            if m:
                p, n = _sample_cylinder(cyl, m, rng)
                pts.append(p)
                nrms.append(n)
                owners.append(np.full(m, self.offset_cyl + k))
        for k, (sph, m) in enumerate(zip(self.spheres, counts[num_tris + len(self.cylinders):].tolist())):
            if m:
                n = rng.normal(size=(m, 3))
                n /= np.linalg.norm(n, axis=1, keepdims=True)
                pts.append(np.asarray(sph.centre) + sph.radius * n)
                nrms.append(n)
                owners.append(np.full(m, self.offset_sph + k))
        return np.concatenate(pts), np.concatenate(nrms), np.concatenate(owners)


def _sample_cylinder(cyl: Cylinder, m: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    r, h = cyl.radius, cyl.half_height
    side_area, cap_area = 2 * math.pi * r * 2 * h, math.pi * r * r
    u = rng.random(m) * (side_area + 2 * cap_area)
    theta = rng.random(m) * 2 * math.pi
    on_side = u < side_area
    y_side = rng.random(m) * 2 * h - h
    radius_cap = r * np.sqrt(rng.random(m))
    top = u > side_area + cap_area
    rad = np.where(on_side, r, radius_cap)
    local = np.stack([rad * np.cos(theta), np.where(on_side, y_side, np.where(top, h, -h)), rad * np.sin(theta)], 1)
    normal_side = np.stack([np.cos(theta), np.zeros(m), np.sin(theta)], 1)
    normal_cap = np.stack([np.zeros(m), np.where(top, 1.0, -1.0), np.zeros(m)], 1)
    local_n = np.where(on_side[:, None], normal_side, normal_cap)
    rotation = np.asarray(cyl.rotation, dtype=np.float64)
    return local @ rotation.T + np.asarray(cyl.centre), local_n @ rotation.T


def primitive_aabb(prim: Primitive) -> tuple[np.ndarray, np.ndarray]:
    """Conservative world axis-aligned bounding box (min, max) of one primitive."""
    if isinstance(prim, Sphere):
        c = np.asarray(prim.centre)
        return c - prim.radius, c + prim.radius
    if isinstance(prim, Cylinder):
        rotation = np.asarray(prim.rotation)
        # exact for a disc-swept cylinder: axis extent + radius * sqrt(1 - axis_i^2)
        axis = rotation[:, 1]
        extent = np.abs(axis) * prim.half_height + prim.radius * np.sqrt(np.clip(1 - axis**2, 0, 1))
        c = np.asarray(prim.centre)
        return c - extent, c + extent
    prism = _as_prism(prim)
    tris, _ = _prism_triangles(prism)
    verts = tris.reshape(-1, 3)
    return verts.min(0), verts.max(0)


def scene_aabb(primitives: list[Primitive]) -> tuple[np.ndarray, np.ndarray]:
    boxes = [primitive_aabb(p) for p in primitives]
    return np.min([b[0] for b in boxes], 0), np.max([b[1] for b in boxes], 0)
