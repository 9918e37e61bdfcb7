"""Generator v2's geometry and renderer: objects as signed distance functions, sphere traced and shaded.

An :class:`SDFScene` is a list of :class:`Component` s -- smooth SDF shapes (rounded boxes, lofted profiles,
rounded cylinders, capsules, ellipsoids) that are either smoothly unioned (``blend``) or smoothly carved out
(``carve``: wheel arches, a pickup's bed, a cockpit) -- plus a :class:`Look` that gives every surface point its
albedo and specular response (procedural paint, glass, tyres, wood, fabric ...) and a :class:`Light` (direction,
intensity, ambient level, colour temperature).

:func:`render_sdf_views` sphere-traces pixel-centre rays (the same rays as v1, so depth, normals, mask and parts
are exact at pixel centres up to the trace tolerance), shades Lambert + Blinn-Phong specular with a cast
(soft) shadow from the light, and supersamples the pixels at silhouettes and part edges. The SDF of the union
is a bound (exact outside plain unions), negative inside, and is what ``sdf.npz`` stores.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import torch
from einops import rearrange, reduce
from jaxtyping import Float, Int
from torch import Tensor

from ...geometry import get_rays, rays_from_pixels
from .render import RenderedViews

# ----------------------------------------------------------------------------------------------------
# Shapes: each a pure function of local points (point, 3) and its parameters -> distance (point,)


def _length(x: Tensor, dim: int = -1) -> Tensor:
    return torch.sqrt((x * x).sum(dim))


def sd_round_box(p: Tensor, half: Tensor, radius: float) -> Tensor:
    """Box of half extents ``half`` with edges rounded by ``radius`` (the rounding is inside ``half``)."""
    q = p.abs() - (half - radius)
    return _length(q.clamp_min(0.0)) + q.amax(-1).clamp_max(0.0) - radius


def sd_ellipsoid(p: Tensor, radii: Tensor) -> Tensor:
    """A bound of the ellipsoid's distance (iq's k0 * (k0 - 1) / k1 form)."""
    k0 = _length(p / radii)
    k1 = _length(p / (radii * radii))
    return k0 * (k0 - 1.0) / k1.clamp_min(1e-9)


def sd_capsule(p: Tensor, a: Tensor, b: Tensor, radius: float) -> Tensor:
    pa, ba = p - a, b - a
    h = ((pa * ba).sum(-1) / (ba * ba).sum()).clamp(0.0, 1.0)
    return _length(pa - h[:, None] * ba) - radius


def sd_round_cylinder_z(p: Tensor, radius: float, half: float, rounding: float) -> Tensor:
    """Cylinder along local z, radius ``radius``, half length ``half``, edges rounded by ``rounding``."""
    d = torch.stack([_length(p[:, :2]) - radius + rounding, p[:, 2].abs() - half + rounding], -1)
    return d.amax(-1).clamp_max(0.0) + _length(d.clamp_min(0.0)) - rounding


def sd_polygon(x: Tensor, y: Tensor, verts: Tensor) -> Tensor:
    """Exact signed distance to a simple closed polygon (``verts`` (v, 2), any orientation), negative inside."""
    vi = verts
    vj = torch.roll(verts, 1, dims=0)
    e = vj - vi  # (v, 2)
    wx = x[:, None] - vi[None, :, 0]
    wy = y[:, None] - vi[None, :, 1]
    h = ((wx * e[:, 0] + wy * e[:, 1]) / (e * e).sum(-1)).clamp(0.0, 1.0)
    bx, by = wx - h * e[:, 0], wy - h * e[:, 1]
    dist2 = (bx * bx + by * by).amin(-1)
    c1 = y[:, None] >= vi[None, :, 1]
    c2 = y[:, None] < vj[None, :, 1]
    c3 = e[:, 0] * wy > e[:, 1] * wx
    crossing = (c1 & c2 & c3) | (~c1 & ~c2 & ~c3)
    inside = (crossing.sum(-1) % 2) == 1
    d = torch.sqrt(dist2)
    return torch.where(inside, -d, d)


def sd_lofted_profile(
    p: Tensor, profile: Tensor, half_width: float, taper_from: float, taper: float, radius: float, profile_sdf: "ProfileField | None" = None
) -> Tensor:
    """A side profile (polygon in x-y) swept along z between ``+-half_width(y)``, where the half width narrows by
    ``taper`` per unit of height above ``taper_from`` (tumblehome), every edge rounded by ``radius``. With
    ``profile_sdf`` the polygon's 2D distance comes from its sampled field (one lookup instead of a loop over
    edges)."""
    d2 = (profile_sdf(p[:, 0], p[:, 1]) if profile_sdf is not None else sd_polygon(p[:, 0], p[:, 1], profile)) + radius
    hw = half_width - radius - taper * (p[:, 1] - taper_from).clamp_min(0.0)
    dz = p[:, 2].abs() - hw
    w = torch.stack([d2, dz], -1)
    return w.amax(-1).clamp_max(0.0) + _length(w.clamp_min(0.0)) - radius


class ProfileField:
    """A polygon's 2D signed distance sampled on a fine lattice (cell ~1/3 mm over a car's side) around it and
    looked up bilinearly; outside the lattice, the distance to the lattice plus its border value (a bound)."""

    def __init__(self, profile: Tensor, cells: int = 512, margin: float = 0.08) -> None:
        lo = profile.amin(0) - margin
        hi = profile.amax(0) + margin
        size = float((hi - lo).max())
        self.lo, self.size, self.cells = lo, size, cells
        axis = torch.linspace(0.0, size, cells, dtype=profile.dtype)
        yy, xx = torch.meshgrid(lo[1] + axis, lo[0] + axis, indexing="ij")
        self.grid = sd_polygon(xx.reshape(-1), yy.reshape(-1), profile).reshape(1, 1, cells, cells)

    def __call__(self, x: Tensor, y: Tensor) -> Tensor:
        u = (x - self.lo[0]) / self.size
        v = (y - self.lo[1]) / self.size
        uc, vc = u.clamp(0.0, 1.0), v.clamp(0.0, 1.0)
        coords = torch.stack([uc, vc], -1) * 2.0 - 1.0
        inside = torch.nn.functional.grid_sample(self.grid.to(x.dtype), coords.reshape(1, -1, 1, 2), mode="bilinear", align_corners=True).reshape(-1)
        outside = torch.sqrt((u - uc) ** 2 + (v - vc) ** 2) * self.size
        return inside + outside


def smooth_union(a: Tensor, b: Tensor, k: float) -> Tensor:
    if k <= 0:
        return torch.minimum(a, b)
    h = (0.5 + 0.5 * (b - a) / k).clamp(0.0, 1.0)
    return b + (a - b) * h - k * h * (1.0 - h)


def smooth_carve(a: Tensor, b: Tensor, k: float) -> Tensor:
    """``a`` minus the solid of ``b``."""
    if k <= 0:
        return torch.maximum(a, -b)
    h = (0.5 - 0.5 * (a + b) / k).clamp(0.0, 1.0)
    return a + (-b - a) * h + k * h * (1.0 - h)


def chaikin(points: np.ndarray, iterations: int = 1) -> np.ndarray:
    """Corner cutting of a closed polygon (a smooth, lofted-looking outline from a few control points)."""
    pts = np.asarray(points, dtype=np.float64)
    for _ in range(iterations):
        nxt = np.roll(pts, -1, axis=0)
        pts = np.stack([0.75 * pts + 0.25 * nxt, 0.25 * pts + 0.75 * nxt], 1).reshape(-1, 2)
    return pts


# ----------------------------------------------------------------------------------------------------
# Scenes

#: lattice of the coarse SDF used to skip empty space (tracing ends on the exact SDF)
GRID_RESOLUTION = 80


@dataclass
class Component:
    """One shape of a scene: ``shape`` is a key of :data:`SHAPES`, ``params`` its parameters (floats and
    tuples), placed at ``centre`` with local-to-world ``rotation`` (3x3, columns = local axes); ``part`` the part
    label, ``material`` an index into the scene's :class:`Look`. ``carve``: remove this solid from the shapes
    before it; ``blend``: the smooth union / carving radius."""

    shape: str
    params: dict[str, object]
    part: int
    material: int
    centre: tuple[float, float, float] = (0.0, 0.0, 0.0)
    rotation: tuple[tuple[float, float, float], ...] = ((1.0, 0.0, 0.0), (0.0, 1.0, 0.0), (0.0, 0.0, 1.0))
    blend: float = 0.0
    carve: bool = False
    #: a pair mirrored in z (wheels, mirrors, arches): one shape at ``z = +-mirror_offset``
    mirror_z: bool = False
    mirror_offset: float = 0.0


def _shape_round_box(p: Tensor, params: dict) -> Tensor:
    return sd_round_box(p, p.new_tensor(params["half"]), float(params["radius"]))


def _shape_ellipsoid(p: Tensor, params: dict) -> Tensor:
    return sd_ellipsoid(p, p.new_tensor(params["radii"]))


def _shape_capsule(p: Tensor, params: dict) -> Tensor:
    return sd_capsule(p, p.new_tensor(params["a"]), p.new_tensor(params["b"]), float(params["radius"]))


def _shape_round_cylinder(p: Tensor, params: dict) -> Tensor:
    return sd_round_cylinder_z(p, float(params["radius"]), float(params["half"]), float(params["rounding"]))


def _shape_lofted(p: Tensor, params: dict) -> Tensor:
    return sd_lofted_profile(p, p.new_tensor(params["profile"]), float(params["half_width"]), float(params["taper_from"]),
                             float(params["taper"]), float(params["radius"]))


#: The one table of shapes (a component names its shape here).
SHAPES = {
    "round_box": _shape_round_box,
    "ellipsoid": _shape_ellipsoid,
    "capsule": _shape_capsule,
    "round_cylinder": _shape_round_cylinder,
    "lofted": _shape_lofted,
}


@dataclass
class Light:
    """One directional light (unit ``direction`` towards the light), its RGB ``colour`` (from a colour
    temperature) times ``intensity``, an ``ambient`` level, and the shadow softness ``softness``."""

    direction: tuple[float, float, float]
    intensity: float
    ambient: float
    colour: tuple[float, float, float]
    kelvin: float
    softness: float = 12.0

    def to_json(self) -> dict[str, object]:
        return {"direction": list(self.direction), "intensity": self.intensity, "ambient": self.ambient,
                "colour": list(self.colour), "kelvin": self.kelvin, "softness": self.softness}


def kelvin_to_rgb(kelvin: float) -> tuple[float, float, float]:
    """Normalised RGB of a black body at ``kelvin`` (Tanner Helland's fit, scaled so the maximum is 1)."""
    t = kelvin / 100.0
    r = 255.0 if t <= 66 else 329.698727446 * (t - 60) ** -0.1332047592
    g = 99.4708025861 * math.log(t) - 161.1195681661 if t <= 66 else 288.1221695283 * (t - 60) ** -0.0755148492
    b = 255.0 if t >= 66 else (0.0 if t <= 19 else 138.5177312231 * math.log(t - 10) - 305.0447927307)
    rgb = np.clip(np.array([r, g, b]), 0, 255) / 255.0
    rgb = rgb / rgb.max()
    return tuple(round(float(v), 4) for v in rgb)  # type: ignore[return-value]


class Look:
    """What a surface looks like: :meth:`shade_params` gives albedo, specular strength and shininess of surface
    points from their world position, normal and material index. Subclasses paint cars and chairs."""

    def shade_params(self, points: Tensor, normals: Tensor, material: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        raise NotImplementedError

    def to_json(self) -> dict[str, object]:
        return {}

    def parts(self, points: Tensor, normals: Tensor, material: Tensor, part: Tensor) -> Tensor:
        """Part labels of surface points (default: their component's; a look may split a component by region)."""
        return part

    def shifted(self, shift: tuple[float, float, float]) -> "Look":
        """The same look for the object moved by ``shift`` (looks that paint by position override this)."""
        return self


@dataclass
class SDFScene:
    """A v2 scene: components, look, light, part names, the bounds every component lies in, and the
    generator parameters (``params``, written to ``scene.json``)."""

    category: str
    components: list[Component]
    look: Look
    light: Light
    part_names: list[str]
    bounds: tuple[tuple[float, float, float], tuple[float, float, float]] = ((-0.5, -0.5, -0.5), (0.5, 0.5, 0.5))
    params: dict[str, object] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self._cache: dict[torch.dtype, list[tuple[Tensor, Tensor]]] = {}
        self._grid: Tensor | None = None
        self._profiles: dict[int, ProfileField] = {}

    def _distance(self, k: int, comp: Component, local: Tensor) -> Tensor:
        """Distance to component ``k`` at its local points (a lofted profile's 2D field is sampled once)."""
        if comp.shape == "lofted":
            if k not in self._profiles:
                self._profiles[k] = ProfileField(torch.tensor(comp.params["profile"], dtype=torch.float32))
            prm = comp.params
            return sd_lofted_profile(local, local.new_tensor(prm["profile"]), float(prm["half_width"]), float(prm["taper_from"]),
                                     float(prm["taper"]), float(prm["radius"]), self._profiles[k])
        return SHAPES[comp.shape](local, comp.params)

    def grid(self, resolution: int = GRID_RESOLUTION) -> Tensor:
        """The SDF sampled on a ``resolution``^3 lattice over the bounds (corners included), (1, 1, z, y, x);
        built once per scene, it lets rays skip empty space with one trilinear lookup per step."""
        if self._grid is None or self._grid.shape[-1] != resolution:
            lo, hi = self.bounds
            axes = [torch.linspace(float(a), float(b), resolution) for a, b in zip(lo, hi)]
            zz, yy, xx = torch.meshgrid(axes[2], axes[1], axes[0], indexing="ij")
            pts = torch.stack([xx, yy, zz], -1).reshape(-1, 3)
            self._grid = self.sdf(pts).reshape(1, 1, resolution, resolution, resolution)
        return self._grid

    def has_grid(self) -> bool:
        return self._grid is not None

    def grid_sdf(self, points: Float[Tensor, "point 3"]) -> Float[Tensor, " point"]:
        """Trilinear lookup of :meth:`grid` (points outside the bounds are clamped to them)."""
        grid = self.grid()
        lo, hi = points.new_tensor(self.bounds[0]), points.new_tensor(self.bounds[1])
        uvw = ((points - lo) / (hi - lo) * 2.0 - 1.0).clamp(-1.0, 1.0)
        out = torch.nn.functional.grid_sample(grid.to(points.dtype), uvw.reshape(1, -1, 1, 1, 3), mode="bilinear", align_corners=True)
        return out.reshape(-1)

    def grid_error(self) -> float:
        """A bound of ``|grid_sdf - sdf|``: a trilinear value mixes the cell's corners, each at most a cell
        diagonal away, and the SDF changes by at most its Lipschitz constant per unit (1, up to 1.1 where a tapered
        sweep or a smooth blend stretches it)."""
        lo, hi = self.bounds
        cell = max(float(b) - float(a) for a, b in zip(lo, hi)) / (GRID_RESOLUTION - 1)
        return 1.1 * math.sqrt(3.0) * cell

    def _frames(self, dtype: torch.dtype) -> list[tuple[Tensor, Tensor]]:
        if dtype not in self._cache:
            self._cache[dtype] = [(torch.tensor(c.centre, dtype=dtype), torch.tensor(c.rotation, dtype=dtype)) for c in self.components]
        return self._cache[dtype]

    def evaluate(self, points: Float[Tensor, "point 3"]) -> tuple[Float[Tensor, " point"], Int[Tensor, " point"]]:
        """Scene SDF at world points and the index of the component whose surface is nearest."""
        d = points.new_full((points.shape[0],), math.inf)
        which = torch.zeros(points.shape[0], dtype=torch.long)
        for k, (comp, (centre, rotation)) in enumerate(zip(self.components, self._frames(points.dtype))):
            if comp.mirror_z:
                points_k = torch.cat([points[:, :2], points[:, 2:].abs() - comp.mirror_offset], 1)
            else:
                points_k = points
            local = (points_k - centre) @ rotation
            dk = self._distance(k, comp, local)
            if comp.carve:
                owner = -dk > d  # the carved wall is this component's surface
                d = smooth_carve(d, dk, comp.blend)
            else:
                owner = dk < d
                d = smooth_union(d, dk, comp.blend)
            which = torch.where(owner, torch.full_like(which, k), which)
        return d, which

    def sdf(self, points: Float[Tensor, "point 3"], chunk: int = 32768) -> Float[Tensor, " point"]:
        out = [self.evaluate(points[i : i + chunk])[0] for i in range(0, points.shape[0], chunk)]
        return torch.cat(out) if out else points.new_zeros(0)

    def part_of(self, which: Tensor) -> Tensor:
        return torch.tensor([c.part for c in self.components], dtype=torch.long)[which]

    def material_of(self, which: Tensor) -> Tensor:
        return torch.tensor([c.material for c in self.components], dtype=torch.long)[which]

    def to_json(self) -> dict[str, object]:
        def plain(v: object) -> object:
            if isinstance(v, dict):
                return {str(a): plain(b) for a, b in v.items()}
            if isinstance(v, (tuple, list, np.ndarray)):
                return [plain(x) for x in (v.tolist() if isinstance(v, np.ndarray) else v)]
            if isinstance(v, (float, np.floating)):
                return round(float(v), 6)
            if isinstance(v, np.integer):
                return int(v)
            return v

        comps = [{"shape": c.shape, "part": self.part_names[c.part], "material": c.material, "centre": plain(c.centre),
                  "rotation": plain(c.rotation), "blend": plain(c.blend), "carve": c.carve, "mirror_z": c.mirror_z,
                  "mirror_offset": plain(c.mirror_offset),
                  "params": plain(c.params)} for c in self.components]
        return {"category": self.category, "style": "v2", "bounds": plain(self.bounds), "part_names": list(self.part_names),
                "params": plain(self.params), "look": plain(self.look.to_json()), "light": plain(self.light.to_json()),
                "components": comps}


# ----------------------------------------------------------------------------------------------------
# Tracing and shading

TRACE_STEPS = 64
SHADOW_STEPS = 24


def _box_span(origins: Tensor, dirs: Tensor, lo: Tensor, hi: Tensor) -> tuple[Tensor, Tensor]:
    inv = 1.0 / torch.where(dirs.abs() < 1e-12, torch.full_like(dirs, 1e-12), dirs)
    ta, tb = (lo - origins) * inv, (hi - origins) * inv
    return torch.minimum(ta, tb).amax(-1).clamp_min(0.0), torch.maximum(ta, tb).amin(-1)


def trace(
    scene: SDFScene, origins: Float[Tensor, "ray 3"], dirs: Float[Tensor, "ray 3"], eps: float = 2e-4, use_grid: bool | None = None
) -> tuple[Tensor, Tensor]:
    """Sphere tracing: distance ``t`` of the first hit (inf on a miss) and the hit mask. Steps are 0.9 of the
    SDF (a bound) and only live rays are evaluated. With ``use_grid`` (default: from 8,192 rays on, where building
    the coarse grid pays off) steps far from the surface come from :meth:`SDFScene.grid_sdf` minus its error bound,
    and only steps near the surface evaluate the exact SDF."""
    if use_grid is None:
        use_grid = origins.shape[0] >= 8192
    lo = origins.new_tensor(scene.bounds[0]) - 0.01
    hi = origins.new_tensor(scene.bounds[1]) + 0.01
    t, t_far = _box_span(origins, dirs, lo, hi)
    hit = torch.zeros(origins.shape[0], dtype=torch.bool)
    live = (t < t_far).nonzero()[:, 0]
    # each step: the coarse grid's distance minus its error bound (a step that cannot pass the surface); near the
    # surface, where that is small, the exact SDF
    err = scene.grid_error() if use_grid else 0.0
    for _ in range(TRACE_STEPS):
        if live.numel() == 0:
            break
        q = origins[live] + t[live, None] * dirs[live]
        d = scene.grid_sdf(q) - err if use_grid else torch.full((q.shape[0],), -1.0, dtype=q.dtype)
        near = d < err
        if bool(near.any()):
            exact, _ = scene.evaluate(q[near])
            done = exact < eps
            hit[live[near][done]] = True
            d[near] = torch.where(done, torch.zeros_like(exact), 0.9 * exact)
            finished = torch.zeros_like(near)
            finished[near] = done
        else:
            finished = near
        t[live] = t[live] + d
        live = live[~finished & (t[live] < t_far[live])]
    # where the swept or blended shapes stretch the SDF beyond a bound, a step may end just inside: step back
    # along the ray by the signed distance (a few times) to land on the surface
    rows = hit.nonzero()[:, 0]
    for _ in range(3):
        if rows.numel() == 0:
            break
        d, _ = scene.evaluate(origins[rows] + t[rows, None] * dirs[rows])
        t[rows] = t[rows] + d
    t = torch.where(hit, t, torch.full_like(t, math.inf))
    return t, hit


def sdf_normals(scene: SDFScene, points: Float[Tensor, "point 3"], h: float = 5e-4) -> Float[Tensor, "point 3"]:
    """Unit gradient of the SDF (tetrahedral central differences)."""
    k = points.new_tensor([[1, -1, -1], [-1, -1, 1], [-1, 1, -1], [1, 1, 1]])
    n = points.new_zeros(points.shape)
    for j in range(4):
        n = n + k[j] * scene.evaluate(points + h * k[j])[0][:, None]
    return torch.nn.functional.normalize(n, dim=-1)


def soft_shadow(scene: SDFScene, points: Tensor, normals: Tensor, light_dir: Tensor, softness: float) -> Tensor:
    """Fraction of the light reaching surface points (1 lit, 0 in shadow), iq's soft shadow along the light."""
    o = points + normals * 3e-3
    lo = points.new_tensor(scene.bounds[0]) - 0.01
    hi = points.new_tensor(scene.bounds[1]) + 0.01
    _, t_far = _box_span(o, light_dir.expand_as(o), lo, hi)
    t = torch.full((o.shape[0],), 4e-3, dtype=o.dtype)
    res = torch.ones_like(t)
    live = torch.arange(o.shape[0])
    use_grid = scene.has_grid()
    err = scene.grid_error()
    for _ in range(SHADOW_STEPS):
        if live.numel() == 0:
            break
        q = o[live] + t[live, None] * light_dir
        d = scene.grid_sdf(q) if use_grid else torch.zeros(q.shape[0], dtype=q.dtype)
        close = d < 3 * err if use_grid else torch.ones(q.shape[0], dtype=torch.bool)
        if bool(close.any()):  # near the surface the grid is too coarse: the exact SDF
            d[close] = scene.evaluate(q[close])[0]
        res[live] = torch.minimum(res[live], (softness * d / t[live]).clamp_min(0.0))
        t[live] = t[live] + d.clamp(2e-3, 0.1)
        keep = (res[live] > 1e-3) & (t[live] < t_far[live])
        live = live[keep]
    res = res.clamp(0.0, 1.0)
    return res * res * (3.0 - 2.0 * res)


def shade_hits(scene: SDFScene, points: Tensor, normals: Tensor, which: Tensor, view_dirs: Tensor) -> Tensor:
    """Colour of hit points: ``albedo * (ambient + light * shadow * max(0, n.l)) + light * shadow * spec``."""
    light = scene.light
    l_dir = torch.nn.functional.normalize(points.new_tensor(light.direction), dim=0)
    colour = points.new_tensor(light.colour) * light.intensity
    albedo, spec, shininess = scene.look.shade_params(points, normals, scene.material_of(which))
    cos = (normals @ l_dir).clamp_min(0.0)
    lit = cos > 0
    shadow = torch.zeros_like(cos)
    if bool(lit.any()):
        shadow[lit] = soft_shadow(scene, points[lit], normals[lit], l_dir, light.softness)
    half = torch.nn.functional.normalize(l_dir - view_dirs, dim=-1)
    specular = spec * (normals * half).sum(-1).clamp_min(0.0) ** shininess * (shininess + 8.0) / (8.0 * math.pi) * (cos > 0)
    sky = 0.5 + 0.5 * normals[:, 1:2]  # a little more ambient from above
    ambient = light.ambient * (0.75 + 0.25 * sky) * (0.6 + 0.4 * colour / colour.max())
    out = albedo * (ambient + colour * (shadow * cos)[:, None]) + colour * (shadow * specular)[:, None]
    return out.clamp(0.0, 1.0)


def _trace_and_shade(scene: SDFScene, origins: Tensor, dirs: Tensor) -> tuple[Tensor, Tensor, Tensor, Tensor, Tensor, Tensor]:
    t, hit = trace(scene, origins, dirs)
    n_rays = origins.shape[0]
    normals = origins.new_zeros(n_rays, 3)
    which = torch.full((n_rays,), -1, dtype=torch.long)
    parts = torch.zeros(n_rays, dtype=torch.long)
    colour = origins.new_ones(n_rays, 3)
    if bool(hit.any()):
        p = origins[hit] + t[hit, None] * dirs[hit]
        n = sdf_normals(scene, p)
        _, w = scene.evaluate(p)
        normals[hit] = n
        which[hit] = w
        parts[hit] = scene.look.parts(p, n, scene.material_of(w), scene.part_of(w))
        colour[hit] = shade_hits(scene, p, n, w, dirs[hit])
    return t, hit, normals, which, parts, colour


def render_sdf_views(
    scene: SDFScene,
    cam2world: Float[Tensor, "view 4 4"],
    K: Float[Tensor, "view 3 3"],
    height: int,
    width: int,
    supersample: int = 2,
) -> RenderedViews:
    """Render a v2 scene (see the module docstring); same outputs and conventions as v1's ``render_packed``."""
    dtype = torch.float32
    cam2world, K = cam2world.to(dtype), K.to(dtype)
    views = cam2world.shape[0]
    origins, dirs, z_per_t = get_rays(cam2world, K, height, width)
    t, hit, normals, which, parts, colour = _trace_and_shade(scene, origins.reshape(-1, 3), dirs.reshape(-1, 3))
    depth = torch.where(hit, t * z_per_t.reshape(-1), torch.zeros_like(t))

    def img(x: Tensor) -> Tensor:
        return rearrange(x, "(v h w) ... -> v h w ...", v=views, h=height)

    rgb = img(colour)
    if supersample > 1:
        from .render import edge_pixels

        # edges: silhouettes, part / material borders and creases (textures inside a face are not supersampled)
        where = edge_pixels(img(which * 16 + parts), img(normals)).nonzero()
        if where.shape[0]:
            s = supersample
            offsets = (torch.arange(s, dtype=dtype) + 0.5) / s
            oy, ox = torch.meshgrid(offsets, offsets, indexing="ij")
            sub = torch.stack([ox.reshape(-1), oy.reshape(-1)], dim=-1)
            corner = torch.stack([where[:, 2], where[:, 1]], dim=-1).to(dtype)
            uv = corner[:, None, :] + sub[None]
            view = where[:, 0]
            so, sd, _ = rays_from_pixels(uv, cam2world[view][:, None], K[view][:, None])
            *_, sub_colour = _trace_and_shade(scene, so.reshape(-1, 3), sd.reshape(-1, 3))
            rgb = rgb.clone()
            rgb[where[:, 0], where[:, 1], where[:, 2]] = reduce(sub_colour, "(e k) c -> e c", "mean", k=s * s)
    return RenderedViews(rgb=rgb, depth=img(depth), normals=img(normals), mask=img(hit), parts=img(parts))


def sdf_surface_samples(scene: SDFScene, count: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``count`` surface samples (points, normals, parts): points uniform in a thin shell ``|sdf| < 0.01`` around
    the surface (uniform in volume, hence nearly uniform in area), projected onto the surface by three Newton steps
    (points that do not land within 5e-4 of it are dropped)."""
    lo, hi = (np.asarray(b, dtype=np.float64) for b in scene.bounds)
    kept: list[Tensor] = []
    have = 0
    for _round in range(60):
        if have >= count:
            break
        cand = torch.from_numpy((lo + rng.random((min(65536, max(4096, 64 * count)), 3)) * (hi - lo)).astype(np.float32))
        shell = cand[scene.sdf(cand).abs() < 0.01]
        for _ in range(3):  # Newton steps onto the surface
            shell = shell - scene.sdf(shell)[:, None] * sdf_normals(scene, shell)
        shell = shell[scene.sdf(shell).abs() < 5e-4]  # drop the few that did not converge (creases, carved edges)
        if shell.shape[0]:
            kept.append(shell)
            have += shell.shape[0]
    if have < count:
        raise RuntimeError("surface sampling failed: almost no surface")
    pts = torch.cat(kept)[torch.from_numpy(rng.permutation(have)[:count])]
    n = sdf_normals(scene, pts)
    _, which = scene.evaluate(pts)
    parts = scene.look.parts(pts, n, scene.material_of(which), scene.part_of(which)).numpy().astype(np.uint8)
    return pts.numpy().astype(np.float32), n.numpy().astype(np.float32), parts


def value_noise(points: Float[Tensor, "point 3"], frequency: float, seed: int) -> Float[Tensor, " point"]:
    """Smooth 3D value noise in [0, 1] (hashed lattice values, smoothstep interpolation); deterministic."""
    p = points * frequency
    i = torch.floor(p)
    f = p - i
    f = f * f * (3.0 - 2.0 * f)
    i = i.to(torch.int64)
    out = torch.zeros_like(p[:, 0])
    for dx in (0, 1):
        for dy in (0, 1):
            for dz in (0, 1):
                h = (i[:, 0] + dx) * 73856093 ^ (i[:, 1] + dy) * 19349663 ^ (i[:, 2] + dz) * 83492791 ^ (seed * 2654435761)
                h = (h ^ (h >> 13)) * 1274126177
                v = ((h ^ (h >> 16)) & 0xFFFF).to(p.dtype) / 65535.0
                wx = f[:, 0] if dx else 1 - f[:, 0]
                wy = f[:, 1] if dy else 1 - f[:, 1]
                wz = f[:, 2] if dz else 1 - f[:, 2]
                out = out + v * wx * wy * wz
    return out

