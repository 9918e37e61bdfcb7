"""Procedural scene families: cars, chairs (in the spirit of the ShapeNet-SRN categories) and rooms.

Each family samples part proportions, styles and colours from a ``numpy.random.Generator`` and builds
a :class:`~.primitives.Scene`. Objects are centred (bounding box centre at the origin) inside
[-0.5, 0.5]^3 with y up; cars face +x, chairs face +z. Rooms lie inside [-1, 1]^3 with the floor top at
``ROOM_FLOOR_Y``.
"""

from __future__ import annotations

import colorsys
import math

import numpy as np

from .primitives import (
    AXIS_Y_TO_Z,
    Box,
    Cylinder,
    Primitive,
    Prism,
    Scene,
    Sphere,
    Vec3,
    rotation_x,
    rotation_y,
    scene_aabb,
    translate,
)

CATEGORIES = ("cars", "chairs", "rooms")
#: Scene families that change over time (one folder per time step), each written by its own module.
VIDEO_CATEGORIES = ("streets",)  # streets.py: static street + moving cars, see streets.generate_streets

PART_NAMES: dict[str, list[str]] = {
    "cars": ["background", "body", "cabin", "window", "wheel", "light"],
    "chairs": ["background", "seat", "back", "leg", "arm"],
    "rooms": ["background", "floor", "wall", "table", "cabinet", "chair", "pillar", "ball"],
}

OBJECT_BOUNDS: tuple[Vec3, Vec3] = ((-0.5, -0.5, -0.5), (0.5, 0.5, 0.5))
ROOM_BOUNDS: tuple[Vec3, Vec3] = ((-1.0, -1.0, -1.0), (1.0, 1.0, 1.0))
#: Height of the top of a room's floor.
ROOM_FLOOR_Y = -0.4


def _u(rng: np.random.Generator, lo: float, hi: float) -> float:
    return float(rng.uniform(lo, hi))


def _colour(rng: np.random.Generator, sat: tuple[float, float] = (0.3, 0.9), val: tuple[float, float] = (0.35, 0.95)) -> Vec3:
    """A random albedo: random hue, saturation and value (HSV), as an RGB tuple."""
    r, g, b = colorsys.hsv_to_rgb(_u(rng, 0.0, 1.0), _u(rng, *sat), _u(rng, *val))
    return (round(r, 4), round(g, 4), round(b, 4))


def _paint(rng: np.random.Generator) -> Vec3:
    """Car paint: mostly saturated colours, sometimes white / silver / grey / black."""
    kind = rng.random()
    if kind < 0.25:
        v = _u(rng, 0.15, 0.92)
        return (round(v, 4), round(v, 4), round(min(1.0, v * 1.02), 4))
    return _colour(rng, (0.45, 0.95), (0.35, 0.9))


def _centre(primitives: list[Primitive], limit: float) -> list[Primitive]:
    """Move the primitives so their bounding box is centred at the origin; check it fits in ``limit``."""
    lo, hi = scene_aabb(primitives)
    offset = tuple(float(-0.5 * (a + b)) for a, b in zip(lo, hi))
    half = 0.5 * (hi - lo)
    if float(half.max()) > limit + 1e-9:
        raise AssertionError(f"procedural object does not fit its bounds: half extents {half}")
    return [translate(p, offset) for p in primitives]


# ----------------------------------------------------------------------------------------------------
# Cars


def sample_car(rng: np.random.Generator) -> Scene:
    """A car: lower body box + bevelled upper body + cabin (trapezoid prism) + window band + 4 wheels +
    head and tail lights. Random length, width, heights, wheel size, cabin position and slopes, paint."""
    part = {name: i for i, name in enumerate(PART_NAMES["cars"])}
    length = _u(rng, 0.72, 0.94)
    width = _u(rng, 0.33, 0.43)
    wheel_r = _u(rng, 0.065, 0.1)
    wheel_w = _u(rng, 0.045, 0.075)
    body_bottom = wheel_r * _u(rng, 0.55, 0.9)
    lower_h = _u(rng, 0.06, 0.11)
    upper_h = _u(rng, 0.03, 0.07)
    bevel_front = _u(rng, 0.02, 0.12)
    bevel_rear = _u(rng, 0.0, 0.06)
    cabin_len = length * _u(rng, 0.42, 0.66)
    cabin_shift = length * _u(rng, -0.12, 0.04)
    cabin_h = _u(rng, 0.08, 0.15)
    wind_front = cabin_h * _u(rng, 0.5, 1.6)
    wind_rear = cabin_h * _u(rng, 0.2, 1.3)
    cabin_w = width * _u(rng, 0.78, 0.94)
    overhang = _u(rng, 0.02, 0.1)
    paint = _paint(rng)
    glass = (0.08, 0.1, 0.13)
    tyre = (0.06, 0.06, 0.065)
    head = (1.0, 0.97, 0.78)
    tail = (0.75, 0.05, 0.04)

    eps = 0.004
    half_l = 0.5 * length
    lower_top = body_bottom + lower_h
    upper_top = lower_top + upper_h
    prims: list[Primitive] = []
    prims.append(Box((0.0, body_bottom + 0.5 * lower_h, 0.0), (half_l, 0.5 * lower_h, 0.5 * width), paint, part["body"]))
    y0, y1 = lower_top - 0.01, upper_top
    upper = ((-half_l, y0), (half_l, y0), (half_l - bevel_front, y1), (-half_l + bevel_rear, y1))
    prims.append(Prism((0.0, 0.0, 0.0), upper, 0.5 * width, paint, part["body"]))
    # cabin: trapezoid in the x-y profile, windshield towards +x
    cx0 = cabin_shift - 0.5 * cabin_len
    cx1 = cabin_shift + 0.5 * cabin_len
    top_front = max(cx1 - wind_front, cabin_shift + 0.05 * cabin_len)
    top_rear = min(cx0 + wind_rear, cabin_shift - 0.05 * cabin_len)
    cb, ct = upper_top - 0.01, upper_top + cabin_h
    cabin = ((cx0, cb), (cx1, cb), (top_front, ct), (top_rear, ct))
    prims.append(Prism((0.0, 0.0, 0.0), cabin, 0.5 * cabin_w, paint, part["cabin"]))

    # window band: the cabin profile between two heights, pushed out by eps through every face but the roof
    def x_on(a: tuple[float, float], b: tuple[float, float], y: float) -> float:
        return a[0] + (b[0] - a[0]) * (y - a[1]) / (b[1] - a[1])

    g0 = cb + 0.01 + (ct - cb) * _u(rng, 0.1, 0.3)
    g1 = ct - (ct - cb) * _u(rng, 0.08, 0.18)
    win = (
        (x_on(cabin[0], cabin[3], g0) - eps, g0),
        (x_on(cabin[1], cabin[2], g0) + eps, g0),
        (x_on(cabin[1], cabin[2], g1) + eps, g1),
        (x_on(cabin[0], cabin[3], g1) - eps, g1),
    )
    prims.append(Prism((0.0, 0.0, 0.0), win, 0.5 * cabin_w + eps, glass, part["window"]))
    # wheels
    wx = half_l - overhang - wheel_r
    wz = 0.5 * width - 0.5 * wheel_w + _u(rng, -0.005, 0.015)
    for sx in (1.0, -1.0):
        for sz in (1.0, -1.0):
            prims.append(Cylinder((sx * wx, wheel_r, sz * wz), wheel_r, 0.5 * wheel_w, tyre, part["wheel"], AXIS_Y_TO_Z))
    # lights on the vertical faces of the lower body
    light_h = min(0.4 * lower_h, _u(rng, 0.015, 0.035))
    light_w = _u(rng, 0.03, 0.07)
    ly = body_bottom + lower_h * _u(rng, 0.45, 0.75)
    ly = min(ly, lower_top - 0.5 * light_h - 0.002)
    lz = 0.5 * width - 0.5 * light_w - _u(rng, 0.01, 0.03)
    for sz in (1.0, -1.0):
        prims.append(Box((half_l, ly, sz * lz), (0.006, 0.5 * light_h, 0.5 * light_w), head, part["light"]))
        prims.append(Box((-half_l, ly, sz * lz), (0.006, 0.5 * light_h, 0.5 * light_w), tail, part["light"]))
    params = {
        "length": length, "width": width, "wheel_radius": wheel_r, "wheel_width": wheel_w,
        "body_bottom": body_bottom, "lower_body_height": lower_h, "upper_body_height": upper_h,
        "bevel_front": bevel_front, "bevel_rear": bevel_rear, "cabin_length": cabin_len,
        "cabin_shift": cabin_shift, "cabin_height": cabin_h, "cabin_width": cabin_w,
        "windshield_run": wind_front, "rear_window_run": wind_rear, "overhang": overhang,
        "paint": paint, "glass": glass,
    }
    return Scene("cars", _centre(prims, 0.495), list(PART_NAMES["cars"]), OBJECT_BOUNDS, params)


# ----------------------------------------------------------------------------------------------------
# Chairs


def sample_chair(rng: np.random.Generator) -> Scene:
    """A chair facing +z: seat, back (solid or slatted, tilted), four legs (square or round) or a
    pedestal, optional arms. Random proportions and colours."""
    part = {name: i for i, name in enumerate(PART_NAMES["chairs"])}
    seat_w = _u(rng, 0.36, 0.56)
    seat_d = _u(rng, 0.34, 0.5)
    seat_t = _u(rng, 0.03, 0.08)
    seat_top = _u(rng, 0.3, 0.48)
    back_h = _u(rng, 0.26, min(0.5, 0.93 - seat_top))
    back_t = _u(rng, 0.025, 0.055)
    tilt = math.radians(_u(rng, 0.0, 16.0))
    base_style = "pedestal" if rng.random() < 0.2 else ("round" if rng.random() < 0.45 else "square")
    back_style = "slats" if rng.random() < 0.35 else "solid"
    has_arms = bool(rng.random() < 0.35)
    leg_t = _u(rng, 0.022, 0.05)
    leg_inset = _u(rng, 0.0, 0.04)
    fabric = _colour(rng, (0.15, 0.85), (0.3, 0.95))
    frame = _colour(rng, (0.0, 0.6), (0.08, 0.75)) if rng.random() < 0.7 else fabric
    back_colour = fabric if rng.random() < 0.8 else _colour(rng, (0.15, 0.85), (0.3, 0.95))

    prims: list[Primitive] = []
    seat_c = (0.0, seat_top - 0.5 * seat_t, 0.0)
    prims.append(Box(seat_c, (0.5 * seat_w, 0.5 * seat_t, 0.5 * seat_d), fabric, part["seat"]))
    seat_bottom = seat_top - seat_t
    leg_top = seat_bottom + 0.5 * seat_t  # legs reach into the seat
    if base_style == "pedestal":
        column_r = _u(rng, 0.025, 0.045)
        foot_r = _u(rng, 0.14, 0.5 * min(seat_w, seat_d))
        foot_h = _u(rng, 0.02, 0.04)
        prims.append(Cylinder((0.0, 0.5 * foot_h, 0.0), foot_r, 0.5 * foot_h, frame, part["leg"]))
        prims.append(Cylinder((0.0, 0.5 * leg_top, 0.0), column_r, 0.5 * leg_top, frame, part["leg"]))
    else:
        lx = 0.5 * seat_w - leg_inset - 0.5 * leg_t
        lz = 0.5 * seat_d - leg_inset - 0.5 * leg_t
        for sx in (1.0, -1.0):
            for sz in (1.0, -1.0):
                centre = (sx * lx, 0.5 * leg_top, sz * lz)
                if base_style == "round":
                    prims.append(Cylinder(centre, 0.5 * leg_t, 0.5 * leg_top, frame, part["leg"]))
                else:
                    prims.append(Box(centre, (0.5 * leg_t, 0.5 * leg_top, 0.5 * leg_t), frame, part["leg"]))
    # back: built upright in a frame hinged at the seat's rear top edge, then tilted backwards (-z)
    hinge = np.array([0.0, seat_top - 0.5 * seat_t, -0.5 * seat_d + 0.5 * back_t])
    rot = rotation_x(-tilt)  # top of the back moves towards -z
    rot_np = np.asarray(rot)

    def back_box(local_centre: tuple[float, float, float], half: Vec3, colour: Vec3, label: int) -> Box:
        world = hinge + rot_np @ np.asarray(local_centre)
        return Box(tuple(float(v) for v in world), half, colour, label, rot)  # type: ignore[arg-type]

    total_back = back_h + 0.5 * seat_t
    if back_style == "solid":
        prims.append(back_box((0.0, 0.5 * total_back, 0.0), (0.5 * seat_w * _u(rng, 0.85, 1.0), 0.5 * total_back, 0.5 * back_t), back_colour, part["back"]))
    else:
        post_w = _u(rng, 0.025, 0.045)
        rail_h = _u(rng, 0.04, 0.09)
        bw = 0.5 * seat_w - 0.5 * post_w
        for sx in (1.0, -1.0):
            prims.append(back_box((sx * bw, 0.5 * total_back, 0.0), (0.5 * post_w, 0.5 * total_back, 0.5 * back_t), frame, part["back"]))
        prims.append(back_box((0.0, total_back - 0.5 * rail_h, 0.0), (bw, 0.5 * rail_h, 0.5 * back_t * 0.9), back_colour, part["back"]))
        slats = int(rng.integers(2, 5))
        slat_w = _u(rng, 0.015, 0.035)
        slat_len = total_back - rail_h + 0.5 * rail_h  # slats reach into the top rail
        for k in range(slats):
            x = -bw + (k + 1) * 2 * bw / (slats + 1)
            prims.append(back_box((x, 0.5 * slat_len, 0.0), (0.5 * slat_w, 0.5 * slat_len, 0.4 * back_t), back_colour, part["back"]))
    if has_arms:
        arm_h = _u(rng, 0.12, 0.22)
        arm_w = _u(rng, 0.03, 0.06)
        arm_t = _u(rng, 0.02, 0.04)
        arm_len = seat_d * _u(rng, 0.75, 1.0)
        ax = 0.5 * seat_w - 0.5 * arm_w
        az = -0.5 * seat_d + 0.5 * arm_len
        for sx in (1.0, -1.0):
            prims.append(Box((sx * ax, seat_top + arm_h, az), (0.5 * arm_w, 0.5 * arm_t, 0.5 * arm_len), frame, part["arm"]))
            post_z = az + 0.5 * arm_len - 0.5 * arm_w
            post_bottom = seat_top - 0.5 * seat_t  # posts reach into the seat (no coincident faces)
            post_half = 0.5 * (seat_top + arm_h - post_bottom)
            prims.append(Box((sx * ax, post_bottom + post_half, post_z), (0.5 * arm_w * 0.8, post_half, 0.5 * arm_w * 0.8), frame, part["arm"]))
    params = {
        "seat_width": seat_w, "seat_depth": seat_d, "seat_thickness": seat_t, "seat_height": seat_top,
        "back_height": back_h, "back_thickness": back_t, "back_tilt_deg": math.degrees(tilt),
        "base_style": base_style, "back_style": back_style, "arms": has_arms, "leg_thickness": leg_t,
        "leg_inset": leg_inset, "fabric": fabric, "frame": frame, "back_colour": back_colour,
    }
    return Scene("chairs", _centre(prims, 0.495), list(PART_NAMES["chairs"]), OBJECT_BOUNDS, params)


# ----------------------------------------------------------------------------------------------------
# Rooms


def sample_room(rng: np.random.Generator) -> Scene:
    """A room-scale scene: a floor slab, 2-3 low walls (so cameras outside and above see in) and 3-6
    objects (tables, cabinets, small chairs, pillars, balls) placed without overlap."""
    part = {name: i for i, name in enumerate(PART_NAMES["rooms"])}
    hx = _u(rng, 0.72, 0.95)
    hz = _u(rng, 0.72, 0.95)
    floor_t = 0.05
    floor_colour = _colour(rng, (0.1, 0.5), (0.45, 0.85))
    wall_colour = _colour(rng, (0.05, 0.35), (0.6, 0.95))
    prims: list[Primitive] = [
        Box((0.0, ROOM_FLOOR_Y - 0.5 * floor_t, 0.0), (hx, 0.5 * floor_t, hz), floor_colour, part["floor"])
    ]
    wall_h = _u(rng, 0.22, 0.45)
    wall_t = 0.04
    num_walls = int(rng.integers(2, 4))
    sides = [int(s) for s in rng.permutation(4)[:num_walls]]
    wall_y = ROOM_FLOOR_Y - floor_t + 0.5 * (wall_h + floor_t)
    for side in sorted(sides):
        if side in (0, 1):  # walls at x = +/- hx
            sx = 1.0 if side == 0 else -1.0
            prims.append(Box((sx * (hx - 0.5 * wall_t), wall_y, 0.0), (0.5 * wall_t, 0.5 * (wall_h + floor_t), hz), wall_colour, part["wall"]))
        else:
            sz = 1.0 if side == 2 else -1.0
            prims.append(Box((0.0, wall_y, sz * (hz - 0.5 * wall_t)), (hx, 0.5 * (wall_h + floor_t), 0.5 * wall_t), wall_colour, part["wall"]))
    placed: list[tuple[float, float, float]] = []  # (x, z, radius) footprints
    inner_x, inner_z = hx - wall_t - 0.03, hz - wall_t - 0.03
    kinds = ["table", "cabinet", "chair", "pillar", "ball"]
    num_objects = int(rng.integers(3, 7))
    objects: list[dict[str, object]] = []
    for _ in range(num_objects):
        kind = kinds[int(rng.integers(len(kinds)))]
        radius = {"table": _u(rng, 0.2, 0.32), "cabinet": _u(rng, 0.12, 0.22), "chair": _u(rng, 0.14, 0.18),
                  "pillar": _u(rng, 0.05, 0.12), "ball": _u(rng, 0.06, 0.14)}[kind]
        spot = None
        for _attempt in range(30):
            x = _u(rng, -inner_x + radius, inner_x - radius)
            z = _u(rng, -inner_z + radius, inner_z - radius)
            if all((x - px) ** 2 + (z - pz) ** 2 > (radius + pr + 0.02) ** 2 for px, pz, pr in placed):
                spot = (x, z)
                break
        if spot is None:
            continue
        placed.append((spot[0], spot[1], radius))
        yaw = _u(rng, 0.0, 2 * math.pi)
        colour = _colour(rng)
        new = _room_object(kind, radius, yaw, colour, rng, part)
        # sunk 5 mm into the floor so no face of an object coincides with the floor's top face
        prims.extend(translate(p, (spot[0], ROOM_FLOOR_Y - 0.005, spot[1])) for p in new)
        objects.append({"kind": kind, "x": spot[0], "z": spot[1], "radius": radius, "yaw_deg": math.degrees(yaw), "colour": colour})
    params = {"half_x": hx, "half_z": hz, "wall_height": wall_h, "wall_sides": sorted(sides),
              "floor_colour": floor_colour, "wall_colour": wall_colour, "objects": objects}
    lo, hi = scene_aabb(prims)
    if float(np.abs(lo).max()) > 0.999 or float(np.abs(hi).max()) > 0.999:
        raise AssertionError("procedural room does not fit [-1, 1]^3")
    return Scene("rooms", prims, list(PART_NAMES["rooms"]), ROOM_BOUNDS, params)


def _room_object(kind: str, radius: float, yaw: float, colour: Vec3, rng: np.random.Generator, part: dict[str, int]) -> list[Primitive]:
    """One room object standing on y = 0 (moved to the floor by the caller), footprint within ``radius``."""
    rot = rotation_y(yaw)
    rot_np = np.asarray(rot)

    def box(centre: tuple[float, float, float], half: Vec3, col: Vec3, label: int) -> Box:
        return Box(tuple(float(v) for v in rot_np @ np.asarray(centre)), half, col, label, rot)  # type: ignore[arg-type]

    if kind == "table":
        height = _u(rng, 0.18, 0.32)
        top_t = _u(rng, 0.02, 0.04)
        aspect = _u(rng, 0.6, 1.0)
        half_x = radius / math.sqrt(1 + aspect**2)
        half_z = half_x * aspect
        leg = _u(rng, 0.015, 0.03)
        out: list[Primitive] = [box((0.0, height - 0.5 * top_t, 0.0), (half_x, 0.5 * top_t, half_z), colour, part["table"])]
        for sx in (1.0, -1.0):
            for sz in (1.0, -1.0):
                out.append(box((sx * (half_x - leg), 0.5 * (height - 0.5 * top_t), sz * (half_z - leg)), (0.5 * leg * 1.4, 0.5 * (height - 0.5 * top_t), 0.5 * leg * 1.4), colour, part["table"]))
        return out
    if kind == "cabinet":
        height = _u(rng, 0.15, 0.55)
        aspect = _u(rng, 0.4, 1.0)
        half_x = radius / math.sqrt(1 + aspect**2)
        return [box((0.0, 0.5 * height, 0.0), (half_x, 0.5 * height, half_x * aspect), colour, part["cabinet"])]
    if kind == "chair":
        seat_h = _u(rng, 0.1, 0.16)
        half = radius / math.sqrt(2)
        seat_t = 0.02
        leg = 0.012
        out = [box((0.0, seat_h - 0.5 * seat_t, 0.0), (half, 0.5 * seat_t, half), colour, part["chair"])]
        for sx in (1.0, -1.0):
            for sz in (1.0, -1.0):
                out.append(box((sx * (half - leg), 0.5 * (seat_h - 0.01), sz * (half - leg)), (leg, 0.5 * (seat_h - 0.01), leg), colour, part["chair"]))
        back_h = _u(rng, 0.1, 0.18)
        out.append(box((0.0, seat_h + 0.5 * back_h - 0.01, -half + 0.01), (half, 0.5 * back_h, 0.01), colour, part["chair"]))
        return out
    if kind == "pillar":
        height = _u(rng, 0.2, 0.6)
        return [Cylinder((0.0, 0.5 * height, 0.0), radius, 0.5 * height, colour, part["pillar"])]
    return [Sphere((0.0, radius, 0.0), radius, colour, part["ball"])]


def sample_scene(category: str, rng: np.random.Generator) -> Scene:
    """Sample one scene of ``category`` ("cars", "chairs" or "rooms") from ``rng``."""
    if category == "cars":
        return sample_car(rng)
    if category == "chairs":
        return sample_chair(rng)
    if category == "rooms":
        return sample_room(rng)
    from ...errors import ConfigError

    raise ConfigError(f"unknown category {category!r}; choose one of {', '.join(CATEGORIES)}")
