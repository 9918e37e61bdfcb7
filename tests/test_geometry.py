import math

import pytest
import torch

from sceneprior.geometry import (
    focal_from_fov,
    get_rays,
    intrinsics_matrix,
    invert_rigid,
    look_at,
    opencv_to_opengl,
    opencv_to_srn,
    opengl_to_opencv,
    plucker,
    project,
    rays_from_pixels,
    rotation_error,
    scale_intrinsics,
    srn_to_opencv,
    unproject_depth,
)



@pytest.fixture(autouse=True)
def float64_default():
    """These checks compare against hand-computed values in float64; restore the default afterwards."""
    previous = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    yield
    torch.set_default_dtype(previous)


def random_pose(generator: torch.Generator) -> torch.Tensor:
    q, _ = torch.linalg.qr(torch.randn(3, 3, generator=generator, dtype=torch.float64))
    if torch.det(q) < 0:
        q[:, 0] = -q[:, 0]
    pose = torch.eye(4, dtype=torch.float64)
    pose[:3, :3] = q
    pose[:3, 3] = torch.randn(3, generator=generator, dtype=torch.float64)
    return pose


def test_opengl_opencv_round_trip_and_axes():
    g = torch.Generator().manual_seed(0)
    pose = torch.stack([random_pose(g) for _ in range(5)])
    assert torch.allclose(opengl_to_opencv(opencv_to_opengl(pose)), pose)
    assert torch.allclose(srn_to_opencv(opencv_to_srn(pose)), pose)
    # An OpenGL camera looks along its -z; the OpenCV one along +z: same world direction.
    gl = opencv_to_opengl(pose)
    assert torch.allclose(gl[:, :3, 2], -pose[:, :3, 2])
    assert torch.allclose(gl[:, :3, 1], -pose[:, :3, 1])  # y up vs y down
    assert torch.allclose(gl[:, :3, 0], pose[:, :3, 0])
    assert torch.allclose(gl[:, :3, 3], pose[:, :3, 3])  # the centre does not move


def test_invert_rigid():
    g = torch.Generator().manual_seed(1)
    pose = random_pose(g)
    assert torch.allclose(invert_rigid(pose) @ pose, torch.eye(4, dtype=torch.float64), atol=1e-12)


def test_known_point_projects_to_hand_computed_pixel():
    # Camera at (0, 0, -2) looking at the origin along +z (world), world y down = image down.
    cam2world = torch.eye(4)
    cam2world[2, 3] = -2.0
    K = intrinsics_matrix(100.0, 120.0, 32.0, 24.0, dtype=torch.float64)
    point = torch.tensor([0.5, -0.25, 3.0])  # camera coords (0.5, -0.25, 5.0)
    uv, z = project(point, cam2world, K)
    # u = 100 * 0.5 / 5 + 32 = 42, v = 120 * -0.25 / 5 + 24 = 18
    assert torch.allclose(uv, torch.tensor([42.0, 18.0]))
    assert torch.allclose(z, torch.tensor(5.0))


def test_pixel_centres_at_half():
    K = intrinsics_matrix(50.0, 50.0, 2.0, 2.0, dtype=torch.float64)  # 4x4 image, principal point at the centre
    origins, dirs, _ = get_rays(torch.eye(4), K, 4, 4)
    # the four central pixels (1,1),(1,2),(2,1),(2,2) are symmetric around the optical axis
    assert torch.allclose(dirs[1, 1, :2], -dirs[2, 2, :2])
    assert torch.allclose(dirs[1, 2, :2] * torch.tensor([-1.0, 1.0]), dirs[1, 1, :2])
    # pixel (row 0, col 0) has centre (0.5, 0.5): x = (0.5 - 2) / 50
    expected = torch.nn.functional.normalize(torch.tensor([-1.5 / 50, -1.5 / 50, 1.0]), dim=0)
    assert torch.allclose(dirs[0, 0], expected)


def test_principal_point_ray_is_optical_axis():
    g = torch.Generator().manual_seed(2)
    pose = random_pose(g)
    K = intrinsics_matrix(80.0, 90.0, 30.5, 20.25, dtype=torch.float64)
    origin, direction, z_per_t = rays_from_pixels(torch.tensor([30.5, 20.25]), pose, K)
    assert torch.allclose(direction, pose[:3, 2])
    assert torch.allclose(origin, pose[:3, 3])
    assert torch.allclose(z_per_t, torch.tensor(1.0))


def test_rays_and_projection_round_trip():
    g = torch.Generator().manual_seed(3)
    pose = random_pose(g)
    K = intrinsics_matrix(60.0, 60.0, 16.0, 12.0, dtype=torch.float64)
    origins, dirs, z_per_t = get_rays(pose, K, 24, 32)
    depth = 1.0 + torch.rand(24, 32, generator=g, dtype=torch.float64)
    points = origins + dirs * (depth / z_per_t).unsqueeze(-1)
    assert torch.allclose(points, unproject_depth(depth, pose, K))
    uv, z = project(points, pose, K)
    v, u = torch.meshgrid(torch.arange(24) + 0.5, torch.arange(32) + 0.5, indexing="ij")
    assert torch.allclose(uv, torch.stack([u, v], -1).double())
    assert torch.allclose(z, depth)


def test_plucker_moment_same_for_every_point_on_ray():
    g = torch.Generator().manual_seed(4)
    o = torch.randn(10, 3, generator=g)
    d = torch.randn(10, 3, generator=g)
    ts = torch.randn(10, 7, 1, generator=g)
    base = plucker(o, d)
    moved = plucker(o[:, None] + ts * d[:, None], d[:, None].expand(-1, 7, -1))
    assert torch.allclose(moved, base[:, None].expand(-1, 7, -1), atol=1e-12)
    # scaling the direction does not change it either; reversing the ray flips both halves
    assert torch.allclose(plucker(o, 3.0 * d), base)
    assert torch.allclose(plucker(o, -d), -base)
    # d is unit and orthogonal to the moment
    assert torch.allclose(base[:, :3].norm(dim=-1), torch.ones(10))
    assert torch.allclose((base[:, :3] * base[:, 3:]).sum(-1), torch.zeros(10), atol=1e-12)


def test_look_at_is_opencv():
    eye = torch.tensor([0.0, -1.0, -3.0])
    pose = look_at(eye, torch.zeros(3), torch.tensor([0.0, -1.0, 0.0]))
    ortho, det = rotation_error(pose[:3, :3])
    assert ortho < 1e-12 and torch.isclose(det, torch.tensor(1.0))
    # the target projects to the principal point, in front of the camera
    K = intrinsics_matrix(50.0, 50.0, 32.0, 32.0, dtype=torch.float64)
    uv, z = project(torch.zeros(3), pose, K)
    assert torch.allclose(uv, torch.tensor([32.0, 32.0])) and z > 0
    # a point above the target (world -y is up here) appears higher in the image (smaller v)
    uv_up, _ = project(torch.tensor([0.0, -0.5, 0.0]), pose, K)
    assert uv_up[1] < 32.0


def test_scale_intrinsics_keeps_projection_consistent():
    K = intrinsics_matrix(131.25, 131.25, 64.0, 64.0, dtype=torch.float64)
    K64 = scale_intrinsics(K, 0.5, 0.5)
    assert torch.allclose(K64, intrinsics_matrix(65.625, 65.625, 32.0, 32.0, dtype=torch.float64))
    pose = torch.eye(4)
    point = torch.tensor([0.1, 0.2, 1.5])
    uv128, _ = project(point, pose, K)
    uv64, _ = project(point, pose, K64)
    assert torch.allclose(uv64, uv128 * 0.5)


def test_focal_from_fov():
    assert math.isclose(focal_from_fov(math.pi / 2, 100), 50.0)


@pytest.mark.parametrize("batch", [(), (3,), (2, 5)])
def test_batched_shapes(batch):
    pose = torch.eye(4).expand(*batch, 4, 4).clone()
    K = intrinsics_matrix(10.0, 10.0, 4.0, 3.0, dtype=torch.float64).expand(*batch, 3, 3).clone()
    o, d, z = get_rays(pose, K, 6, 8)
    assert o.shape == (*batch, 6, 8, 3) and d.shape == (*batch, 6, 8, 3) and z.shape == (*batch, 6, 8)


def test_unproject_depth_batched_equals_per_view():
    g = torch.Generator().manual_seed(5)
    poses = torch.stack([random_pose(g) for _ in range(3)])
    K = intrinsics_matrix(40.0, 40.0, 8.0, 6.0, dtype=torch.float64).expand(3, 3, 3).clone()
    depth = 1.0 + torch.rand(3, 12, 16, generator=g, dtype=torch.float64)
    batched = unproject_depth(depth, poses, K)
    assert batched.shape == (3, 12, 16, 3)
    for i in range(3):
        assert torch.allclose(batched[i], unproject_depth(depth[i], poses[i], K[i]))
