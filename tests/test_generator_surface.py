"""Surface samples of the generator (``points.npz``) are area-uniform over the whole visible surface.

Regression: ``sample_surface`` used to keep the *first* ``count`` of its candidate samples, which ``draw``
returns grouped by primitive, so the first primitives took every sample: each room's points.npz held the
floor only (no wall, no object), and the SDF samples jittered around the floor only.
"""

from __future__ import annotations

import numpy as np

from sceneprior.data.generator.categories import ROOM_FLOOR_Y, sample_room
from sceneprior.data.generator.primitives import Box, Scene, Sphere, pack_scene, sample_surface

GREY = (0.5, 0.5, 0.5)


def test_samples_split_between_primitives_by_area() -> None:
    # two equal disjoint boxes (area 6 * 0.2^2 each) and a sphere (4 pi 0.1^2), parts 1, 2, 3
    box_area, sphere_area = 6 * 0.2**2, 4 * np.pi * 0.1**2
    scene = Scene("cars", [Box((-0.25, 0.0, 0.0), (0.1, 0.1, 0.1), GREY, 1), Box((0.25, 0.0, 0.0), (0.1, 0.1, 0.1), GREY, 2),
                           Sphere((0.0, 0.3, 0.0), 0.1, GREY, 3)], ["background", "a", "b", "c"],
                  ((-0.5, -0.5, -0.5), (0.5, 0.5, 0.5)), {})
    count = 6000
    _, _, parts = sample_surface(scene, pack_scene(scene), count, np.random.default_rng(0))
    share = np.bincount(parts, minlength=4)[1:] / count
    expected = np.array([box_area, box_area, sphere_area]) / (2 * box_area + sphere_area)
    # binomial standard deviation <= 0.0065 at 6000 samples; the old truncation gave about 0.69 / 0.31 / 0
    np.testing.assert_allclose(share, expected, atol=0.03)


def test_room_samples_cover_walls_and_objects() -> None:
    rng = np.random.default_rng(0)
    for _ in range(3):
        scene = sample_room(rng)
        points, _, parts = sample_surface(scene, pack_scene(scene), 4000, rng)
        present = {p.part for p in scene.primitives}
        assert set(np.unique(parts)) == present  # floor, walls and every kind of object placed
        assert points[:, 1].max() > ROOM_FLOOR_Y + 0.15  # not only the floor slab
        assert (parts == 1).mean() < 0.8
