"""Generator v2 (``--style v2``): cars and chairs with smooth, varied shapes and textured, lit appearance.

**Cars** (facing +x, y up): seven body types -- saloon, hatchback, estate, SUV / van, pickup, coupé / sports
and the open-wheel racer -- each a side profile of ~10 control points, smoothed by corner cutting and swept
across the width with tumblehome and rounded edges (:func:`~.sdf.sd_lofted_profile`); wheel arches carved out
of the body, tyres (rounded cylinders) with rims and spokes painted on their sidewalls, mirrors, spoilers, a
pickup's open bed; a racer's nose cone, side pods, wings and driver's helmet. The paint (:class:`CarLook`) is
procedural: base colour, two-tone (lower body or roof), racing or side stripes, a door decal with a race
number (seven-segment digits), noise and dirt; glass (windscreen, side and rear windows with pillars), head and
tail lights, grille and number plates are painted where they belong on the body.

**Chairs** (facing +z): dining (tapered legs, slatted or solid back), office (gas column, five-star base,
padded seat, shell back, optional arms), armchair (upholstered blocks), stool (splayed legs, foot ring) and
spindle-back; wood (grain), fabric (weave), leather, metal and plastic materials.

Every scene has its own light (direction, intensity, ambient level, colour temperature, shadow softness).
Everything is drawn from the scene's random stream: deterministic per seed. Parts use v1's names.
"""

from __future__ import annotations

import colorsys
import math
from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor

from .categories import PART_NAMES
from .sdf import Component, Light, Look, SDFScene, chaikin, kelvin_to_rgb, value_noise

BODY_TYPES = ("saloon", "hatchback", "estate", "suv", "van", "pickup", "coupe", "racer")
CHAIR_TYPES = ("dining", "office", "armchair", "stool", "spindle")


def _u(rng: np.random.Generator, lo: float, hi: float) -> float:
    return float(rng.uniform(lo, hi))


def _hsv(rng: np.random.Generator, s: tuple[float, float], v: tuple[float, float], h: tuple[float, float] = (0.0, 1.0)) -> tuple[float, float, float]:
    r, g, b = colorsys.hsv_to_rgb(_u(rng, *h) % 1.0, _u(rng, *s), _u(rng, *v))
    return (round(r, 4), round(g, 4), round(b, 4))


def car_paint(rng: np.random.Generator) -> tuple[float, float, float]:
    """Real car colours: a third white / silver / grey / black, the rest saturated or muted hues."""
    kind = rng.random()
    if kind < 0.12:
        v = _u(rng, 0.85, 0.96)
        return (v, v, round(v * 0.99, 4))
    if kind < 0.22:
        v = _u(rng, 0.55, 0.8)
        return (v, round(v * 1.01, 4), round(min(1.0, v * 1.04), 4))
    if kind < 0.33:
        v = _u(rng, 0.05, 0.3)
        return (v, v, v)
    return _hsv(rng, (0.35, 0.95), (0.3, 0.92))


def sample_light(rng: np.random.Generator) -> Light:
    elevation = math.radians(_u(rng, 20.0, 75.0))
    azimuth = _u(rng, 0.0, 2 * math.pi)
    direction = (math.cos(elevation) * math.sin(azimuth), math.sin(elevation), math.cos(elevation) * math.cos(azimuth))
    kelvin = _u(rng, 3200.0, 7500.0)
    return Light(direction=tuple(round(v, 6) for v in direction), intensity=round(_u(rng, 0.6, 1.0), 4),  # type: ignore[arg-type]
                 ambient=round(_u(rng, 0.22, 0.45), 4), colour=kelvin_to_rgb(kelvin), kelvin=round(kelvin, 1),
                 softness=round(_u(rng, 8.0, 24.0), 3))


# ----------------------------------------------------------------------------------------------------
# Cars

M_PAINT, M_WHEEL, M_ARCH, M_TRIM, M_ACCENT, M_HELMET = range(6)


@dataclass
class CarLook(Look):
    """The procedural appearance of one car (all lengths in the car's centred frame)."""

    paint: tuple[float, float, float]
    second: tuple[float, float, float]
    two_tone: str  # none | lower | roof
    two_tone_y: float
    stripes: str  # none | racing | side
    stripe_colour: tuple[float, float, float]
    stripe_width: float
    stripe_gap: float
    stripe_y: float
    decal: bool
    number: int
    decal_x: float
    decal_y: float
    decal_r: float
    dirt: float
    dirt_y: float
    noise_seed: int
    glass: tuple[float, float, float]
    rim: tuple[float, float, float]
    spokes: int
    rim_ratio: float
    trim: tuple[float, float, float]
    # where glass, lights and grille are (from the body's profile)
    belt_y: float
    roof_y: float
    glass_x: tuple[float, float]
    pillar_x: float
    front_x: float
    rear_x: float
    half_width: float
    light_y: tuple[float, float]
    grille_y: tuple[float, float]
    wheel_x: tuple[float, float]
    wheel_y: float
    wheel_z: float
    wheel_r: float
    has_glass: bool = True
    specular_paint: float = 0.5

    def to_json(self) -> dict[str, object]:
        return dict(self.__dict__)

    def shifted(self, shift: tuple[float, float, float]) -> "CarLook":
        sx, sy, _ = shift
        out = CarLook(**self.__dict__)
        out.two_tone_y += sy
        out.stripe_y += sy
        out.decal_x += sx
        out.decal_y += sy
        out.dirt_y += sy
        out.belt_y += sy
        out.roof_y += sy
        out.glass_x = (self.glass_x[0] + sx, self.glass_x[1] + sx)
        out.pillar_x += sx
        out.front_x += sx
        out.rear_x += sx
        out.light_y = (self.light_y[0] + sy, self.light_y[1] + sy)
        out.grille_y = (self.grille_y[0] + sy, self.grille_y[1] + sy)
        out.wheel_x = (self.wheel_x[0] + sx, self.wheel_x[1] + sx)
        out.wheel_y += sy
        return out

    def _regions(self, points: Tensor, normals: Tensor, material: Tensor) -> tuple[Tensor, Tensor, Tensor, Tensor]:
        """Painted regions of the body: glass, front face, rear face, lamp band."""
        x, y, z = points[:, 0], points[:, 1], points[:, 2]
        nx, nz = normals[:, 0], normals[:, 2]
        paint = material == M_PAINT
        band_y = (y > self.belt_y + 0.008) & (y < self.roof_y - 0.012)
        side = (nz.abs() > 0.55) & (x > self.glass_x[0]) & (x < self.glass_x[1]) & ((x - self.pillar_x).abs() > 0.012)
        inset = z.abs() < self.half_width - 0.035
        glass = paint & band_y & (side | (((nx > 0.35) | (nx < -0.35)) & inset)) & self.has_glass
        front_face = paint & (nx > 0.5) & (x > self.front_x - 0.06)
        rear_face = paint & (nx < -0.5) & (x < self.rear_x + 0.06)
        lamp_band = (y > self.light_y[0]) & (y < self.light_y[1]) & (z.abs() > self.half_width - 0.1) & (z.abs() < self.half_width - 0.02)
        return glass, front_face, rear_face, lamp_band

    def parts(self, points: Tensor, normals: Tensor, material: Tensor, part: Tensor) -> Tensor:
        """v1's car parts: glass is ``window``, lamps ``light``, paint above the belt line ``cabin``."""
        glass, front_face, rear_face, lamp_band = self._regions(points, normals, material)
        names = {n: i for i, n in enumerate(PART_NAMES["cars"])}
        out = torch.where((material == M_PAINT) & (points[:, 1] > self.belt_y + 0.004), torch.full_like(part, names["cabin"]), part)
        out = torch.where(glass, torch.full_like(part, names["window"]), out)
        return torch.where((front_face | rear_face) & lamp_band, torch.full_like(part, names["light"]), out)

    def shade_params(self, points: Tensor, normals: Tensor, material: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        x, y, z = points[:, 0], points[:, 1], points[:, 2]
        ny, nz = normals[:, 1], normals[:, 2]
        n_pts = points.shape[0]
        t = points.new_tensor
        albedo = t(self.paint).expand(n_pts, 3).clone()
        spec = torch.full((n_pts,), self.specular_paint, dtype=points.dtype)
        shininess = torch.full((n_pts,), 60.0, dtype=points.dtype)
        paint = material == M_PAINT
        # two-tone
        if self.two_tone == "lower":
            albedo = torch.where((paint & (y < self.two_tone_y))[:, None], t(self.second), albedo)
        elif self.two_tone == "roof":
            albedo = torch.where((paint & (y > self.roof_y - 0.012))[:, None], t(self.second), albedo)
        # stripes
        if self.stripes == "racing":
            band = ((z.abs() - self.stripe_gap).abs() < 0.5 * self.stripe_width) & (ny > -0.2)
            albedo = torch.where((paint & band)[:, None], t(self.stripe_colour), albedo)
        elif self.stripes == "side":
            band = ((y - self.stripe_y).abs() < 0.5 * self.stripe_width) & (nz.abs() > 0.5)
            albedo = torch.where((paint & band)[:, None], t(self.stripe_colour), albedo)
        # decal with a race number on both doors
        if self.decal:
            dx, dy = x - self.decal_x, y - self.decal_y
            r = torch.sqrt(dx * dx + dy * dy)
            on_side = paint & (nz.abs() > 0.6)
            disc = on_side & (r < self.decal_r)
            albedo = torch.where(disc[:, None], t((0.95, 0.95, 0.93)), albedo)
            digits = seven_segment(dx / self.decal_r, dy / self.decal_r, self.number, torch.sign(z))
            albedo = torch.where((disc & digits)[:, None], t((0.05, 0.05, 0.06)), albedo)
        # glass: windscreen, side windows (with A/B/C pillars), rear window
        glass, front_face, rear_face, lamp_band = self._regions(points, normals, material)
        if self.has_glass:
            albedo = torch.where(glass[:, None], t(self.glass), albedo)
            spec = torch.where(glass, torch.full_like(spec, 1.2), spec)
            shininess = torch.where(glass, torch.full_like(shininess, 200.0), shininess)
        # lights, grille and number plates on the front and rear faces
        albedo = torch.where((front_face & lamp_band)[:, None], t((1.0, 0.98, 0.85)), albedo)
        albedo = torch.where((rear_face & lamp_band)[:, None], t((0.8, 0.05, 0.04)), albedo)
        spec = torch.where((front_face | rear_face) & lamp_band, torch.full_like(spec, 1.0), spec)
        grille = front_face & (y > self.grille_y[0]) & (y < self.grille_y[1]) & (z.abs() < self.half_width - 0.11)
        slats = torch.sin(y * 260.0) > 0.0
        albedo = torch.where(grille[:, None], torch.where(slats[:, None], t(self.trim), t((0.02, 0.02, 0.02))), albedo)
        plate = (front_face | rear_face) & (z.abs() < 0.05) & (y > self.grille_y[0] - 0.035) & (y < self.grille_y[0] - 0.008)
        albedo = torch.where(plate[:, None], t((0.92, 0.9, 0.55) if self.noise_seed % 2 else (0.93, 0.93, 0.93)), albedo)
        # paint noise and dirt
        noise = value_noise(points, 18.0, self.noise_seed)
        albedo = torch.where(paint[:, None], albedo * (0.93 + 0.14 * noise)[:, None], albedo)
        if self.dirt > 0:
            grime = (self.dirt * (self.dirt_y - y).clamp(0.0, 0.06) / 0.06 * value_noise(points, 30.0, self.noise_seed + 1)).clamp(0.0, 1.0)
            albedo = torch.where(paint[:, None], albedo * (1 - grime[:, None]) + t((0.33, 0.26, 0.18)) * grime[:, None], albedo)
            spec = torch.where(paint, spec * (1 - grime), spec)
        # wheels: black tyres, rims with spokes on the sidewall
        wheel = material == M_WHEEL
        if bool(wheel.any()):
            xc = torch.where(x > 0, t(self.wheel_x[0]), t(self.wheel_x[1]))
            wx, wy = x - xc, y - self.wheel_y
            r = torch.sqrt(wx * wx + wy * wy) / self.wheel_r
            theta = torch.atan2(wy, wx)
            rim = wheel & (nz.abs() > 0.7) & (r < self.rim_ratio)
            spoke = (torch.cos(self.spokes * theta) > -0.2) | (r < 0.25)
            rim_colour = torch.where(spoke[:, None], t(self.rim), t(self.rim) * 0.25)
            tyre = t((0.045, 0.045, 0.05)) * (0.85 + 0.3 * value_noise(points, 60.0, 3))[:, None]
            albedo = torch.where(wheel[:, None], torch.where(rim[:, None], rim_colour, tyre), albedo)
            spec = torch.where(wheel, torch.where(rim, torch.full_like(spec, 0.9), torch.full_like(spec, 0.08)), spec)
            shininess = torch.where(wheel & ~rim, torch.full_like(shininess, 10.0), shininess)
        arch = material == M_ARCH
        albedo = torch.where(arch[:, None], t((0.03, 0.03, 0.035)), albedo)
        spec = torch.where(arch, torch.full_like(spec, 0.02), spec)
        trim = material == M_TRIM
        albedo = torch.where(trim[:, None], t(self.trim), albedo)
        accent = material == M_ACCENT
        albedo = torch.where(accent[:, None], t(self.second), albedo)
        helmet = material == M_HELMET
        albedo = torch.where(helmet[:, None], torch.where((y > self.roof_y)[:, None], t(self.stripe_colour), t((0.95, 0.85, 0.1))), albedo)
        spec = torch.where(helmet, torch.full_like(spec, 1.0), spec)
        return albedo.clamp(0.0, 1.0), spec, shininess


#: segments a-g of each digit (a top, b top right, c bottom right, d bottom, e bottom left, f top left, g middle)
_SEGMENTS = {0: "abcdef", 1: "bc", 2: "abdeg", 3: "abcdg", 4: "bcfg", 5: "acdfg", 6: "acdefg", 7: "abc", 8: "abcdefg", 9: "abcdfg"}


def seven_segment(u: Tensor, v: Tensor, number: int, side: Tensor) -> Tensor:
    """Whether points at decal coordinates (u, v) (the decal disc is the unit disc, v up) lie on the strokes
    of ``number`` (1 or 2 digits) drawn in seven-segment style; ``side`` (+-1) mirrors the text on the -z door so
    it reads left to right from outside."""
    u = u * side
    digits = [int(c) for c in str(number)]
    width, height, stroke = 0.34, 0.62, 0.1
    out = torch.zeros_like(u, dtype=torch.bool)
    starts = [-0.5 * width] if len(digits) == 1 else [-width - 0.04, 0.04]
    for digit, x0 in zip(digits, starts):
        lx = (u - x0) / width  # 0..1 across the digit
        ly = (v + 0.5 * height) / height  # 0..1 up the digit
        s = stroke / width
        sy = stroke / height
        horiz = (lx > 0) & (lx < 1)
        segs = {
            "a": horiz & ((ly - 1).abs() < sy / 2), "g": horiz & ((ly - 0.5).abs() < sy / 2), "d": horiz & (ly.abs() < sy / 2),
            "b": ((lx - 1).abs() < s / 2) & (ly > 0.5) & (ly < 1), "c": ((lx - 1).abs() < s / 2) & (ly > 0) & (ly < 0.5),
            "e": (lx.abs() < s / 2) & (ly > 0) & (ly < 0.5), "f": (lx.abs() < s / 2) & (ly > 0.5) & (ly < 1),
        }
        for name in _SEGMENTS[digit]:
            out = out | segs[name]
    return out


def _profile(points: list[tuple[float, float]]) -> list[list[float]]:
    smooth = chaikin(np.asarray(points), 1)
    return [[round(float(a), 6), round(float(b), 6)] for a, b in smooth]


def sample_car_v2(rng: np.random.Generator) -> SDFScene:
    """A v2 car (see the module docstring)."""
    part = {name: i for i, name in enumerate(PART_NAMES["cars"])}
    body_type = BODY_TYPES[int(rng.integers(len(BODY_TYPES)))]
    if body_type == "racer":
        return _racer(rng, part)
    length = {"hatchback": _u(rng, 0.7, 0.8), "van": _u(rng, 0.78, 0.9), "pickup": _u(rng, 0.86, 0.94)}.get(body_type, _u(rng, 0.8, 0.94))
    width = _u(rng, 0.34, 0.42) if body_type not in ("suv", "van", "pickup") else _u(rng, 0.38, 0.44)
    L = length
    wheel_r = _u(rng, 0.058, 0.072) if body_type in ("coupe", "saloon", "hatchback", "estate") else _u(rng, 0.07, 0.085)
    clearance = wheel_r * (_u(rng, 0.45, 0.7) if body_type in ("suv", "pickup", "van") else _u(rng, 0.3, 0.5))
    belt = clearance + {"coupe": _u(rng, 0.075, 0.095), "suv": _u(rng, 0.15, 0.18), "van": _u(rng, 0.12, 0.15),
                        "pickup": _u(rng, 0.14, 0.17)}.get(body_type, _u(rng, 0.1, 0.125))
    cabin_h = {"coupe": _u(rng, 0.075, 0.095), "van": _u(rng, 0.19, 0.24), "suv": _u(rng, 0.12, 0.15)}.get(body_type, _u(rng, 0.1, 0.13))
    roof = belt + cabin_h
    nose_y = clearance + (belt - clearance) * _u(rng, 0.55, 0.8)
    tail_y = clearance + (belt - clearance) * _u(rng, 0.85, 1.0)
    f = lambda a, b: _u(rng, a, b) * L  # noqa: E731 - x positions as fractions of the length
    x_front, x_rear = 0.5 * L, -0.5 * L
    if body_type == "saloon":
        xw, xr1, xr2, xd, yd = f(0.14, 0.22), f(0.0, 0.08), f(-0.24, -0.16), f(-0.36, -0.3), belt + _u(rng, 0.0, 0.02)
    elif body_type == "hatchback":
        xw, xr1, xr2, xd, yd = f(0.16, 0.24), f(0.04, 0.1), f(-0.34, -0.26), f(-0.49, -0.45), roof - _u(rng, 0.03, 0.06)
    elif body_type == "estate":
        xw, xr1, xr2, xd, yd = f(0.14, 0.2), f(0.02, 0.08), f(-0.44, -0.4), f(-0.495, -0.47), roof - _u(rng, 0.01, 0.025)
    elif body_type == "suv":
        xw, xr1, xr2, xd, yd = f(0.2, 0.26), f(0.08, 0.14), f(-0.45, -0.41), f(-0.495, -0.47), roof - _u(rng, 0.01, 0.03)
    elif body_type == "van":
        xw, xr1, xr2, xd, yd = f(0.34, 0.4), f(0.26, 0.32), f(-0.48, -0.46), f(-0.5, -0.49), roof - 0.01
    elif body_type == "pickup":
        xw, xr1, xr2, xd, yd = f(0.18, 0.24), f(0.06, 0.12), f(-0.1, -0.05), f(-0.14, -0.11), belt + 0.04
    else:  # coupe / sports
        xw, xr1, xr2, xd, yd = f(0.06, 0.14), f(-0.08, 0.0), f(-0.24, -0.18), f(-0.42, -0.36), belt + _u(rng, 0.0, 0.025)
    nose_round = _u(rng, 0.02, 0.05)
    pts = [(x_rear + 0.01, clearance), (x_front - 0.03, clearance), (x_front, nose_y - nose_round), (x_front - 0.01, nose_y),
           (xw + 0.03, belt - 0.005), (xw, belt + 0.004), (xr1, roof), (xr2, roof), (xd, yd)]
    if body_type == "pickup":
        pts += [(xd - 0.005, belt + 0.035), (x_rear + 0.01, belt + 0.035)]
    else:
        pts += [(x_rear + 0.015, tail_y + 0.01)]
    pts += [(x_rear, tail_y - 0.02), (x_rear, clearance + 0.02)]
    profile = _profile(pts)
    taper = _u(rng, 0.35, 0.8) if body_type != "van" else _u(rng, 0.1, 0.25)
    radius = _u(rng, 0.014, 0.028)
    overhang_f = _u(rng, 0.13, 0.2) * L
    overhang_r = _u(rng, 0.12, 0.2) * L
    wx_f, wx_r = x_front - overhang_f, x_rear + overhang_r
    wheel_w = _u(rng, 0.045, 0.07)
    wheel_z = 0.5 * width - 0.5 * wheel_w - _u(rng, 0.0, 0.01)
    comps = [Component("lofted", {"profile": profile, "half_width": 0.5 * width, "taper_from": belt, "taper": taper,
                                  "radius": radius}, part["body"], M_PAINT)]
    for wx in (wx_f, wx_r):  # arches
        comps.append(Component("round_cylinder", {"radius": wheel_r + _u(rng, 0.008, 0.016), "half": 0.06, "rounding": 0.004},
                               part["body"], M_ARCH, centre=(wx, wheel_r, 0.0), blend=0.006, carve=True, mirror_z=True,
                               mirror_offset=(0.5 * width)))
    if body_type == "pickup":
        bed_len = (xd - 0.02) - (x_rear + 0.03)
        comps.append(Component("round_box", {"half": [0.5 * bed_len, 0.06, 0.5 * width - 0.022], "radius": 0.01}, part["body"], M_ARCH,
                               centre=(x_rear + 0.03 + 0.5 * bed_len, belt + 0.035 + 0.04, 0.0), blend=0.004, carve=True))
    for wx in (wx_f, wx_r):
        comps.append(Component("round_cylinder", {"radius": wheel_r, "half": 0.5 * wheel_w, "rounding": 0.35 * 0.5 * wheel_w},
                               part["wheel"], M_WHEEL, centre=(wx, wheel_r, 0.0), mirror_z=True, mirror_offset=(wheel_z)))
    # door mirrors
    comps.append(Component("ellipsoid", {"radii": [0.012, 0.01, 0.018]}, part["body"], M_PAINT,
                           centre=(xw - 0.015, belt + 0.012, 0.0), mirror_z=True, mirror_offset=(0.5 * width + 0.004), blend=0.004))
    has_spoiler = body_type in ("coupe", "hatchback", "saloon") and rng.random() < 0.3
    if has_spoiler:
        sx = xd - 0.02 if body_type != "hatchback" else xr2 - 0.01
        sy = (yd if body_type != "hatchback" else roof) + 0.02
        comps.append(Component("round_box", {"half": [0.03, 0.004, 0.5 * width - 0.02], "radius": 0.003}, part["body"], M_ACCENT,
                               centre=(sx, sy, 0.0)))
        comps.append(Component("round_box", {"half": [0.008, 0.012, 0.006], "radius": 0.003}, part["body"], M_ACCENT,
                               centre=(sx, sy - 0.014, 0.0), mirror_z=True, mirror_offset=(0.5 * width - 0.06)))
    look = _car_look(rng, body_type, dict(belt=belt, roof=roof, glass_x=(xr2 + 0.015, xw - 0.02), pillar=0.5 * (xr1 + xr2) if body_type not in ("coupe", "pickup") else 99.0,
                                        front=x_front, rear=x_rear, half_width=0.5 * width, nose_y=nose_y, tail_y=tail_y,
                                        clearance=clearance, wheel_x=(wx_f, wx_r), wheel_r=wheel_r, wheel_z=wheel_z + 0.5 * wheel_w, length=L))
    height = roof
    params = {"body_type": body_type, "length": L, "width": width, "height": height, "wheel_radius": wheel_r, "wheel_width": wheel_w,
              "clearance": clearance, "belt": belt, "roof": roof, "taper": taper, "edge_radius": radius, "spoiler": has_spoiler}
    return _finish("cars", comps, look, sample_light(rng), params, (x_rear, x_front), (0.0, max(roof, belt + 0.06)), 0.5 * width + 0.01)


def _finish(category: str, comps: list[Component], look: Look, light: Light, params: dict, x_span: tuple[float, float],
            y_span: tuple[float, float], half_z: float) -> SDFScene:
    """Centre the object (its nominal bounding box) at the origin, resolve the mirror offsets, check the fit."""
    cx = 0.5 * (x_span[0] + x_span[1])
    cy = 0.5 * (y_span[0] + y_span[1])
    shift = (-cx, -cy, 0.0)
    fixed = [_moved(c, shift) for c in comps]
    scene = SDFScene(category, fixed, look.shifted(shift), light, list(PART_NAMES[category]), params={**params, "centre_shift": list(shift)})
    _check_fit(scene)
    return scene


def _moved(c: Component, shift: tuple[float, float, float]) -> Component:
    """The component moved by ``shift`` (capsules carry their end points in world coordinates too)."""
    params = dict(c.params)
    if c.shape == "capsule":
        params["a"] = [float(v + o) for v, o in zip(params["a"], shift)]
        params["b"] = [float(v + o) for v, o in zip(params["b"], shift)]
        centre = c.centre
    else:
        centre = tuple(float(v + o) for v, o in zip(c.centre, shift))
    return Component(c.shape, params, c.part, c.material, centre, c.rotation, c.blend, c.carve, c.mirror_z, c.mirror_offset)  # type: ignore[arg-type]


def _check_fit(scene: SDFScene) -> None:
    g = torch.linspace(-0.5, 0.5, 25)
    a, b = torch.meshgrid(g, g, indexing="ij")
    faces = []
    for axis in range(3):
        for side in (-0.5, 0.5):
            p = torch.zeros(a.numel(), 3)
            others = [k for k in range(3) if k != axis]
            p[:, others[0]], p[:, others[1]], p[:, axis] = a.reshape(-1), b.reshape(-1), side
            faces.append(p)
    d = scene.sdf(torch.cat(faces))
    if float(d.min()) <= 0.0:
        raise AssertionError(f"v2 {scene.category} does not fit its box: {scene.params}")


def _car_look(rng: np.random.Generator, body_type: str, g: dict) -> "CarLook":
    paint = car_paint(rng)
    second = car_paint(rng) if rng.random() < 0.7 else (0.05, 0.05, 0.05)
    r = rng.random()
    two_tone = "lower" if r < 0.15 else ("roof" if r < 0.3 else "none")
    r = rng.random()
    stripes = "racing" if r < 0.2 else ("side" if r < 0.35 else "none")
    stripe_colour = car_paint(rng) if rng.random() < 0.6 else (0.95, 0.95, 0.95)
    decal = bool(rng.random() < (0.25 if body_type != "racer" else 0.8))
    return CarLook(
        paint=paint, second=second, two_tone=two_tone, two_tone_y=g["clearance"] + 0.35 * (g["belt"] - g["clearance"]),
        stripes=stripes, stripe_colour=stripe_colour, stripe_width=_u(rng, 0.015, 0.035), stripe_gap=_u(rng, 0.0, 0.05),
        stripe_y=g["clearance"] + _u(rng, 0.4, 0.8) * (g["belt"] - g["clearance"]),
        decal=decal, number=int(rng.integers(1, 100)), decal_x=_u(rng, -0.1, 0.05) * g["length"],
        decal_y=0.5 * (g["clearance"] + g["belt"]), decal_r=min(0.045, 0.45 * (g["belt"] - g["clearance"])),
        dirt=float(rng.choice([0.0, 0.0, _u(rng, 0.3, 0.9)])), dirt_y=g["clearance"] + _u(rng, 0.02, 0.06),
        noise_seed=int(rng.integers(0, 2**20)), glass=_hsv(rng, (0.1, 0.5), (0.06, 0.2), (0.5, 0.7)),
        rim=(0.75, 0.75, 0.78) if rng.random() < 0.6 else _hsv(rng, (0.0, 0.8), (0.1, 0.8)), spokes=int(rng.integers(4, 11)),
        rim_ratio=_u(rng, 0.55, 0.75), trim=_hsv(rng, (0.0, 0.1), (0.05, 0.5)),
        belt_y=g["belt"], roof_y=g["roof"], glass_x=g["glass_x"], pillar_x=g["pillar"], front_x=g["front"], rear_x=g["rear"],
        half_width=g["half_width"], light_y=(g["nose_y"] - 0.03, g["nose_y"] - 0.008),
        grille_y=(g["clearance"] + 0.3 * (g["nose_y"] - g["clearance"]), g["nose_y"] - 0.035),
        wheel_x=g["wheel_x"], wheel_y=g["wheel_r"], wheel_z=g["wheel_z"], wheel_r=g["wheel_r"],
        has_glass=body_type != "racer", specular_paint=_u(rng, 0.3, 0.9),
    )




def _racer(rng: np.random.Generator, part: dict[str, int]) -> SDFScene:
    """An open-wheel racer: lofted tub and nose, side pods, exposed wheels, front and rear wings, a helmet."""
    L = _u(rng, 0.86, 0.94)
    wheel_r = _u(rng, 0.06, 0.075)
    width = _u(rng, 0.38, 0.44)  # across the wheels
    tub_w = _u(rng, 0.09, 0.12)
    clearance = _u(rng, 0.015, 0.03)
    x_front, x_rear = 0.5 * L, -0.5 * L
    top = clearance + _u(rng, 0.08, 0.1)
    nose_tip = clearance + _u(rng, 0.015, 0.03)
    pts = [(x_rear + 0.04, clearance), (x_front - 0.01, nose_tip - 0.01), (x_front, nose_tip + 0.01), (0.15 * L, top - 0.02),
           (0.02 * L, top), (-0.06 * L, top), (-0.1 * L, top + _u(rng, 0.03, 0.05)), (-0.2 * L, top + 0.01), (x_rear + 0.05, clearance + 0.06)]
    comps = [Component("lofted", {"profile": _profile(pts), "half_width": 0.5 * tub_w, "taper_from": clearance + 0.04, "taper": 0.3,
                                  "radius": 0.02}, part["body"], M_PAINT)]
    # cockpit opening and helmet
    comps.append(Component("ellipsoid", {"radii": [0.06, 0.03, 0.035]}, part["cabin"], M_ARCH, centre=(-0.03 * L, top + 0.005, 0.0), carve=True, blend=0.005))
    comps.append(Component("ellipsoid", {"radii": [0.026, 0.026, 0.024]}, part["cabin"], M_HELMET, centre=(-0.04 * L, top + 0.01, 0.0)))
    # side pods
    comps.append(Component("round_box", {"half": [0.13 * L, 0.03, 0.035], "radius": 0.02}, part["body"], M_PAINT,
                           centre=(-0.12 * L, clearance + 0.035, 0.0), blend=0.02, mirror_z=True, mirror_offset=(0.5 * tub_w + 0.02)))
    wheel_w = _u(rng, 0.06, 0.08)
    wheel_z = 0.5 * width - 0.5 * wheel_w
    wx_f, wx_r = x_front - _u(rng, 0.12, 0.16) * L, x_rear + _u(rng, 0.1, 0.14) * L
    for wx, r in ((wx_f, wheel_r), (wx_r, wheel_r * _u(rng, 1.0, 1.15))):
        comps.append(Component("round_cylinder", {"radius": r, "half": 0.5 * wheel_w, "rounding": 0.012}, part["wheel"], M_WHEEL,
                               centre=(wx, r, 0.0), mirror_z=True, mirror_offset=(wheel_z)))
        comps.append(Component("capsule", {"a": [0.0, 0.0, 0.0], "b": [0.0, 0.0, wheel_z - 0.5 * tub_w], "radius": 0.006}, part["body"], M_TRIM,
                               centre=(wx, r, 0.0), mirror_z=True, mirror_offset=(0.5 * tub_w - 0.01)))
    # wings
    comps.append(Component("round_box", {"half": [0.035, 0.005, 0.5 * width - 0.005], "radius": 0.004}, part["light"], M_ACCENT,
                           centre=(x_front - 0.04, clearance + 0.012, 0.0)))
    rear_wing_y = top + _u(rng, 0.04, 0.07)
    comps.append(Component("round_box", {"half": [0.04, 0.006, 0.5 * width - 0.06], "radius": 0.004}, part["light"], M_ACCENT,
                           centre=(x_rear + 0.045, rear_wing_y, 0.0)))
    comps.append(Component("round_box", {"half": [0.045, 0.035, 0.004], "radius": 0.003}, part["light"], M_ACCENT,
                           centre=(x_rear + 0.045, rear_wing_y - 0.025, 0.0), mirror_z=True, mirror_offset=(0.5 * width - 0.06)))
    y_top = max(rear_wing_y + 0.01, top + 0.06)
    look = _car_look(rng, "racer", dict(belt=top, roof=top + 0.015, glass_x=(0.0, 0.0), pillar=99.0, front=x_front, rear=x_rear,
                                        half_width=0.5 * tub_w, nose_y=nose_tip + 0.02, tail_y=clearance + 0.05, clearance=clearance,
                                        wheel_x=(wx_f, wx_r), wheel_r=wheel_r, wheel_z=wheel_z + 0.5 * wheel_w, length=L))
    params = {"body_type": "racer", "length": L, "width": width, "wheel_radius": wheel_r, "wheel_width": wheel_w, "tub_width": tub_w}
    return _finish("cars", comps, look, sample_light(rng), params, (x_rear, x_front), (0.0, y_top), 0.5 * width + 0.01)


# ----------------------------------------------------------------------------------------------------
# Chairs

M_SEAT, M_FRAME, M_BACK, M_METAL = range(4)


@dataclass
class ChairLook(Look):
    """Procedural chair materials: ``upholstery`` (fabric / leather / plastic / wood) for seat and back,
    ``frame`` (wood / metal / plastic) for legs and arms."""

    seat_colour: tuple[float, float, float]
    back_colour: tuple[float, float, float]
    frame_colour: tuple[float, float, float]
    upholstery: str
    frame: str
    noise_seed: int
    grain_axis: int = 1

    def to_json(self) -> dict[str, object]:
        return dict(self.__dict__)

    def _surface(self, kind: str, colour: Tensor, points: Tensor) -> tuple[Tensor, float, float]:
        n = value_noise(points, 25.0, self.noise_seed)
        if kind == "wood":
            stretch = points.clone()
            stretch[:, self.grain_axis] *= 0.08
            rings = torch.sin(value_noise(stretch, 30.0, self.noise_seed + 5) * 25.0)
            return colour * (0.8 + 0.12 * rings + 0.1 * n)[:, None], 0.35, 30.0
        if kind == "fabric":
            weave = torch.sin(points[:, 0] * 700.0) * torch.sin(points[:, 2] * 700.0 + points[:, 1] * 700.0)
            return colour * (0.88 + 0.06 * weave + 0.12 * n)[:, None], 0.04, 6.0
        if kind == "leather":
            return colour * (0.9 + 0.15 * value_noise(points, 90.0, self.noise_seed + 2))[:, None], 0.45, 25.0
        if kind == "metal":
            return colour * (0.95 + 0.05 * n)[:, None], 1.1, 90.0
        return colour * (0.97 + 0.05 * n)[:, None], 0.5, 40.0  # plastic

    def shade_params(self, points: Tensor, normals: Tensor, material: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        t = points.new_tensor
        n_pts = points.shape[0]
        albedo = torch.zeros(n_pts, 3, dtype=points.dtype)
        spec = torch.zeros(n_pts, dtype=points.dtype)
        shininess = torch.ones(n_pts, dtype=points.dtype)
        for mat, kind, colour in ((M_SEAT, self.upholstery, self.seat_colour), (M_BACK, self.upholstery, self.back_colour),
                                  (M_FRAME, self.frame, self.frame_colour), (M_METAL, "metal", (0.62, 0.63, 0.66))):
            sel = material == mat
            if not bool(sel.any()):
                continue
            a, s, sh = self._surface(kind, t(colour).expand(int(sel.sum()), 3), points[sel])
            albedo[sel] = a
            spec[sel] = s
            shininess[sel] = sh
        return albedo.clamp(0.0, 1.0), spec, shininess


def _material_colour(rng: np.random.Generator, kind: str) -> tuple[float, float, float]:
    if kind == "wood":
        return _hsv(rng, (0.35, 0.75), (0.25, 0.75), (0.05, 0.11))
    if kind == "metal":
        v = _u(rng, 0.15, 0.75)
        return (v, v, round(v * 1.03, 4))
    if kind == "leather":
        return _hsv(rng, (0.3, 0.8), (0.08, 0.5), (0.0, 0.12)) if rng.random() < 0.7 else (0.06, 0.06, 0.06)
    return _hsv(rng, (0.1, 0.85), (0.2, 0.9))


def sample_chair_v2(rng: np.random.Generator) -> SDFScene:
    """A v2 chair (see the module docstring), facing +z, legs on y = 0 before centring."""
    part = {name: i for i, name in enumerate(PART_NAMES["chairs"])}
    kind = CHAIR_TYPES[int(rng.integers(len(CHAIR_TYPES)))]
    comps: list[Component] = []
    if kind == "armchair":
        w, d = _u(rng, 0.62, 0.8), _u(rng, 0.55, 0.7)
        seat_y = _u(rng, 0.26, 0.34)
        base_h = seat_y - 0.08
        r = _u(rng, 0.03, 0.06)
        arm_w = _u(rng, 0.08, 0.13)
        comps.append(Component("round_box", {"half": [0.5 * w, 0.5 * base_h, 0.5 * d], "radius": r}, part["seat"], M_SEAT, centre=(0.0, 0.04 + 0.5 * base_h, 0.0)))
        comps.append(Component("round_box", {"half": [0.5 * w - arm_w, 0.05, 0.5 * d - 0.04], "radius": 0.04}, part["seat"], M_SEAT,
                               centre=(0.0, seat_y - 0.03, 0.03), blend=0.01))
        back_h = _u(rng, 0.35, 0.5)
        comps.append(Component("round_box", {"half": [0.5 * w, 0.5 * back_h, 0.07], "radius": r}, part["back"], M_BACK,
                               centre=(0.0, 0.04 + 0.5 * back_h + 0.5 * base_h, -0.5 * d + 0.07), blend=0.02))
        arm_h = _u(rng, 0.12, 0.2)
        arm = {"half": [0.5 * arm_w, 0.5 * (base_h + arm_h), 0.5 * d], "radius": r}
        for sx in (1, -1):
            comps.append(Component("round_box", arm, part["arm"], M_BACK, centre=(sx * (0.5 * w - 0.5 * arm_w), 0.04 + 0.5 * (base_h + arm_h), 0.0), blend=0.015))
        for sx in (1, -1):
            for sz in (1, -1):
                comps.append(Component("round_cylinder", {"radius": 0.018, "half": 0.025, "rounding": 0.005}, part["leg"], M_FRAME,
                                       centre=(sx * (0.5 * w - 0.06), 0.025, sz * (0.5 * d - 0.06)), rotation=_ROT_Y_TO_Z))
        top = 0.04 + base_h + back_h * 0.5 + 0.5 * back_h
        upholstery = "leather" if rng.random() < 0.35 else "fabric"
        frame = "wood"
    elif kind == "office":
        w, d = _u(rng, 0.42, 0.52), _u(rng, 0.4, 0.5)
        seat_y = _u(rng, 0.38, 0.48)
        comps.append(Component("round_box", {"half": [0.5 * w, 0.035, 0.5 * d], "radius": 0.03}, part["seat"], M_SEAT, centre=(0.0, seat_y - 0.035, 0.0)))
        comps.append(Component("capsule", {"a": [0.0, 0.06, 0.0], "b": [0.0, seat_y - 0.07, 0.0], "radius": 0.022}, part["leg"], M_METAL))
        star_r = _u(rng, 0.22, 0.3)
        for k in range(5):
            a = 2 * math.pi * k / 5 + 0.3
            end = [star_r * math.cos(a), 0.05, star_r * math.sin(a)]
            comps.append(Component("capsule", {"a": [0.0, 0.06, 0.0], "b": end, "radius": 0.016}, part["leg"], M_FRAME, blend=0.01))
            comps.append(Component("ellipsoid", {"radii": [0.022, 0.022, 0.016]}, part["leg"], M_METAL, centre=(end[0], 0.022, end[2])))
        back_h = _u(rng, 0.3, min(0.45, 0.98 - seat_y))
        tilt = _u(rng, 0.05, 0.25)
        comps.append(Component("ellipsoid", {"radii": [0.5 * w * _u(rng, 0.85, 1.0), 0.5 * back_h, 0.035]}, part["back"], M_BACK,
                               centre=(0.0, seat_y + 0.5 * back_h + 0.03, -0.5 * d - 0.01), rotation=_rot_x(-tilt)))
        comps.append(Component("capsule", {"a": [0.0, seat_y - 0.04, -0.5 * d + 0.05], "b": [0.0, seat_y + 0.08, -0.5 * d - 0.03], "radius": 0.018},
                               part["back"], M_METAL))
        if rng.random() < 0.5:
            for sx in (1, -1):
                comps.append(Component("capsule", {"a": [sx * (0.5 * w - 0.02), seat_y, -0.05], "b": [sx * (0.5 * w + 0.0), seat_y + 0.18, 0.0], "radius": 0.014}, part["arm"], M_FRAME))
                comps.append(Component("round_box", {"half": [0.03, 0.012, 0.12], "radius": 0.01}, part["arm"], M_FRAME, centre=(sx * (0.5 * w), seat_y + 0.19, 0.0)))
        top = seat_y + back_h + 0.08
        upholstery = "fabric" if rng.random() < 0.6 else "leather"
        frame = "plastic" if rng.random() < 0.6 else "metal"
        w = max(w, 2 * star_r)
        d = max(d, 2 * star_r)
    elif kind == "stool":
        seat_y = _u(rng, 0.45, 0.75)
        seat_r = _u(rng, 0.14, 0.2)
        legs = int(rng.integers(3, 5))
        splay = _u(rng, 0.03, 0.08)
        comps.append(Component("round_cylinder", {"radius": seat_r, "half": 0.025, "rounding": 0.012}, part["seat"], M_SEAT,
                               centre=(0.0, seat_y - 0.025, 0.0), rotation=_ROT_Y_TO_Z))
        leg_r = _u(rng, 0.012, 0.02)
        for k in range(legs):
            a = 2 * math.pi * (k + 0.5) / legs
            ca, sa = math.cos(a), math.sin(a)
            comps.append(Component("capsule", {"a": [0.7 * seat_r * ca, seat_y - 0.04, 0.7 * seat_r * sa],
                                               "b": [(0.7 * seat_r + splay) * ca, leg_r, (0.7 * seat_r + splay) * sa], "radius": leg_r}, part["leg"], M_FRAME))
        ring_y = seat_y * _u(rng, 0.3, 0.45)
        ring_r = 0.7 * seat_r + splay * (1 - ring_y / seat_y)
        for k in range(legs):
            a0, a1 = 2 * math.pi * (k + 0.5) / legs, 2 * math.pi * (k + 1.5) / legs
            comps.append(Component("capsule", {"a": [ring_r * math.cos(a0), ring_y, ring_r * math.sin(a0)],
                                               "b": [ring_r * math.cos(a1), ring_y, ring_r * math.sin(a1)], "radius": 0.8 * leg_r}, part["leg"], M_FRAME))
        w = d = 2 * (0.7 * seat_r + splay + leg_r)
        w = d = max(w, 2 * seat_r)
        top = seat_y
        if rng.random() < 0.4:
            back_h = _u(rng, 0.12, min(0.25, 0.95 - seat_y))
            comps.append(Component("round_box", {"half": [0.8 * seat_r, 0.5 * back_h, 0.015], "radius": 0.012}, part["back"], M_BACK,
                                   centre=(0.0, seat_y + 0.5 * back_h + 0.02, -0.85 * seat_r)))
            comps.append(Component("capsule", {"a": [0.0, seat_y - 0.02, -0.8 * seat_r], "b": [0.0, seat_y + 0.5 * back_h, -0.85 * seat_r],
                                               "radius": 0.012}, part["back"], M_FRAME))  # the post that holds the back
            top = seat_y + back_h + 0.02
        upholstery = "wood" if rng.random() < 0.4 else ("leather" if rng.random() < 0.5 else "plastic")
        frame = "metal" if rng.random() < 0.5 else "wood"
    else:  # dining / spindle
        w, d = _u(rng, 0.38, 0.5), _u(rng, 0.36, 0.48)
        seat_y = _u(rng, 0.38, 0.48)
        seat_t = _u(rng, 0.025, 0.06)
        comps.append(Component("round_box", {"half": [0.5 * w, 0.5 * seat_t, 0.5 * d], "radius": min(0.5 * seat_t - 0.002, 0.02)}, part["seat"], M_SEAT,
                               centre=(0.0, seat_y - 0.5 * seat_t, 0.0)))
        leg_t = _u(rng, 0.014, 0.025)
        taper = _u(rng, 0.0, 0.4)
        inset = _u(rng, 0.01, 0.04)
        for sx in (1, -1):
            for sz in (1, -1):
                x, z = sx * (0.5 * w - inset - leg_t), sz * (0.5 * d - inset - leg_t)
                comps.append(Component("capsule", {"a": [x, seat_y - seat_t, z], "b": [x * (1 + 0.1 * taper), leg_t * (1 - 0.5 * taper), z * (1 + 0.1 * taper)],
                                                   "radius": leg_t * (1 - 0.3 * taper)}, part["leg"], M_FRAME))
        back_h = _u(rng, 0.3, min(0.5, 0.97 - seat_y))
        tilt = _u(rng, 0.0, 0.25)
        bz = -0.5 * d + inset + leg_t
        rot = _rot_x(-tilt)
        rmat = np.asarray(rot)

        def at(local: list[float]) -> list[float]:
            return (np.array([0.0, seat_y - seat_t, bz]) + rmat @ np.asarray(local)).round(6).tolist()

        for sx in (1, -1):
            x = sx * (0.5 * w - inset - leg_t)
            comps.append(Component("capsule", {"a": at([x, 0.0, 0.0]), "b": at([x, back_h + seat_t, 0.0]), "radius": leg_t}, part["back"], M_FRAME))
        if kind == "spindle":
            comps.append(Component("capsule", {"a": at([-(0.5 * w - inset - leg_t), back_h + seat_t, 0.0]), "b": at([0.5 * w - inset - leg_t, back_h + seat_t, 0.0]),
                                               "radius": 1.3 * leg_t}, part["back"], M_FRAME))
            n = int(rng.integers(3, 7))
            for k in range(n):
                x = -0.5 * w + inset + leg_t + (k + 1) * (w - 2 * inset - 2 * leg_t) / (n + 1)
                comps.append(Component("capsule", {"a": at([x, 0.0, 0.0]), "b": at([x, back_h + seat_t, 0.0]), "radius": 0.5 * leg_t}, part["back"], M_FRAME))
        elif rng.random() < 0.5:  # solid, slightly curved panel
            panel_h = back_h * _u(rng, 0.45, 0.9)
            comps.append(Component("round_box", {"half": [0.5 * w - inset, 0.5 * panel_h, 0.012], "radius": 0.01}, part["back"], M_BACK,
                                   centre=tuple(at([0.0, back_h + seat_t - 0.5 * panel_h, 0.0])), rotation=rot))
        else:
            n = int(rng.integers(2, 5))
            for k in range(n):
                y = back_h + seat_t - 0.02 - k * (back_h * 0.8 / n)
                comps.append(Component("round_box", {"half": [0.5 * w - inset - leg_t, 0.02, 0.01], "radius": 0.008}, part["back"], M_BACK,
                                       centre=tuple(at([0.0, y, 0.0])), rotation=rot))
        top = seat_y + (back_h + seat_t) * math.cos(tilt)
        d = d + 2 * (back_h + seat_t) * math.sin(tilt)
        upholstery = "wood" if rng.random() < 0.45 else ("fabric" if rng.random() < 0.6 else "leather")
        frame = "wood" if rng.random() < 0.7 else "metal"
    look = ChairLook(seat_colour=_material_colour(rng, upholstery), back_colour=_material_colour(rng, upholstery),
                     frame_colour=_material_colour(rng, frame), upholstery=upholstery, frame=frame, noise_seed=int(rng.integers(0, 2**20)))
    if rng.random() < 0.7:
        look.back_colour = look.seat_colour
    params = {"chair_type": kind, "width": w, "depth": d, "height": top, "upholstery": upholstery, "frame": frame}
    scale = min(1.0, 0.9 / max(w, d, top))
    if scale < 1.0:
        comps = [_scaled(c, scale) for c in comps]
        top *= scale
    return _finish_chair(comps, look, sample_light(rng), params, top, scale)


def _scaled(c: Component, s: float) -> Component:
    def sc(v: object) -> object:
        if isinstance(v, (int, float)):
            return v * s
        if isinstance(v, (list, tuple)):
            return [sc(x) for x in v]
        return v

    params = {k: (sc(v) if k in ("half", "radius", "radii", "a", "b", "rounding") else v) for k, v in c.params.items()}
    return Component(c.shape, params, c.part, c.material, tuple(x * s for x in c.centre), c.rotation, c.blend * s, c.carve, c.mirror_z)  # type: ignore[arg-type]


def _finish_chair(comps: list[Component], look: ChairLook, light: Light, params: dict, top: float, scale: float) -> SDFScene:
    shift = (0.0, -0.5 * top, 0.0)
    fixed = [_moved(c, shift) for c in comps]
    scene = SDFScene("chairs", fixed, look, light, list(PART_NAMES["chairs"]), params={**params, "scale": scale, "centre_shift": list(shift)})
    _check_fit(scene)
    return scene


_ROT_Y_TO_Z = ((1.0, 0.0, 0.0), (0.0, 0.0, -1.0), (0.0, 1.0, 0.0))  # local z (the cylinder axis) along world y


def _rot_x(angle: float) -> tuple[tuple[float, float, float], ...]:
    c, s = math.cos(angle), math.sin(angle)
    return ((1.0, 0.0, 0.0), (0.0, c, -s), (0.0, s, c))


def sample_scene_v2(category: str, rng: np.random.Generator) -> SDFScene:
    """Sample one v2 scene of ``category`` ("cars" or "chairs")."""
    if category == "cars":
        return sample_car_v2(rng)
    if category == "chairs":
        return sample_chair_v2(rng)
    from ...errors import ConfigError

    raise ConfigError(f"--style v2 makes cars and chairs, not {category!r}")
