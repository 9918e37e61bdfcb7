"""``index.html`` of a reconstruction: every output file, and the mesh in a small self-contained viewer.

The viewer is plain JavaScript written here (no library, no network): the mesh is inlined in the page as base64
arrays (float32 positions, uint8 colours, uint32 triangle indices) inside a ``<script type="application/json">``,
so the page works when opened from disk (browsers refuse ``fetch`` of local files). It draws with WebGL (flat
shading, vertex colours, a light at the camera); drag to orbit, wheel to zoom, double-click to reset. Where WebGL
is unavailable it falls back to a Canvas 2D painter's-algorithm renderer. When drawn, the ``#mesh-viewer`` canvas
gets ``data-renderer`` ("webgl" or "canvas2d") and ``data-triangles``.
"""

from __future__ import annotations

import base64
import html
import json
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import trimesh

if TYPE_CHECKING:
    from ..renderers.gaussians import Gaussians

#: pieces both viewers' scripts include (``//= name`` lines, by :func:`_include`), inside their own scope: ``b64``
#: decodes an inlined array, ``resize`` fits ``canvas`` to its CSS size, ``program`` links the shaders ``vs``/``fs``
#: into ``prog``, ``controls`` turns (``yaw``, ``pitch``) and zooms (``dist``) by drag, wheel and double-click and draws
_JS_PIECES = {
    "b64": r"""  function b64(text, Type) {
    var bin = atob(text), bytes = new Uint8Array(bin.length);
    for (var i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
    return new Type(bytes.buffer);
  }
""",
    "resize": r"""  function resize() {
    var w = canvas.clientWidth || 480, h = canvas.clientHeight || 480, s = window.devicePixelRatio || 1;
    if (canvas.width !== Math.round(w * s) || canvas.height !== Math.round(h * s)) { canvas.width = Math.round(w * s); canvas.height = Math.round(h * s); }
  }
""",
    "program": r"""    function shader(type, src) { var s = gl.createShader(type); gl.shaderSource(s, src); gl.compileShader(s); return s; }
    var prog = gl.createProgram();
    gl.attachShader(prog, shader(gl.VERTEX_SHADER, vs)); gl.attachShader(prog, shader(gl.FRAGMENT_SHADER, fs));
    gl.linkProgram(prog);
""",
    "controls": r"""  var dragging = false, lastX = 0, lastY = 0, pending = false;
  function redraw() { if (!pending) { pending = true; requestAnimationFrame(function () { pending = false; draw(); }); } }
  canvas.addEventListener('pointerdown', function (e) { dragging = true; lastX = e.clientX; lastY = e.clientY; canvas.setPointerCapture(e.pointerId); });
  canvas.addEventListener('pointerup', function () { dragging = false; });
  canvas.addEventListener('pointermove', function (e) {
    if (!dragging) return;
    yaw -= 0.01 * (e.clientX - lastX); pitch = Math.max(-1.5, Math.min(1.5, pitch + 0.01 * (e.clientY - lastY)));
    lastX = e.clientX; lastY = e.clientY; redraw();
  });
  canvas.addEventListener('wheel', function (e) { e.preventDefault(); dist = Math.max(1.2, Math.min(10, dist * Math.exp(0.001 * e.deltaY))); redraw(); }, { passive: false });
  canvas.addEventListener('dblclick', function () { yaw = 0.6; pitch = 0.35; dist = 3.0; redraw(); });
  window.addEventListener('resize', redraw);
  draw();
""",
}


def _include(script: str) -> str:
    """``script`` with each ``//= name`` line replaced by the piece ``name`` of :data:`_JS_PIECES`."""
    lines = []
    for line in script.splitlines(keepends=True):
        name = line.strip()[4:] if line.strip().startswith("//= ") else None
        lines.append(_JS_PIECES[name] if name else line)
    return "".join(lines)


VIEWER_JS = _include(r"""
(function () {
  'use strict';
  //= b64
  var canvas = document.getElementById('mesh-viewer');
  var dataNode = document.getElementById('mesh-data');
  if (!canvas || !dataNode) return;
  var mesh = JSON.parse(dataNode.textContent);
  var P = b64(mesh.positions, Float32Array), C = b64(mesh.colors, Uint8Array), I = b64(mesh.indices, Uint32Array);
  var nTri = I.length / 3;
  // centre and scale
  var lo = [1e9, 1e9, 1e9], hi = [-1e9, -1e9, -1e9];
  for (var i = 0; i < P.length; i += 3) for (var k = 0; k < 3; k++) { lo[k] = Math.min(lo[k], P[i + k]); hi[k] = Math.max(hi[k], P[i + k]); }
  var centre = [0, 1, 2].map(function (k) { return 0.5 * (lo[k] + hi[k]); });
  var radius = 1e-6;
  for (var i = 0; i < P.length; i += 3) {
    var dx = P[i] - centre[0], dy = P[i + 1] - centre[1], dz = P[i + 2] - centre[2];
    radius = Math.max(radius, Math.sqrt(dx * dx + dy * dy + dz * dz));
  }
  // triangle soup with flat normals (world y is up in sceneprior's scenes)
  var pos = new Float32Array(nTri * 9), col = new Float32Array(nTri * 9), nor = new Float32Array(nTri * 9);
  for (var t = 0; t < nTri; t++) {
    var a = I[3 * t], b = I[3 * t + 1], c = I[3 * t + 2];
    var ax = P[3 * a], ay = P[3 * a + 1], az = P[3 * a + 2];
    var ux = P[3 * b] - ax, uy = P[3 * b + 1] - ay, uz = P[3 * b + 2] - az;
    var vx = P[3 * c] - ax, vy = P[3 * c + 1] - ay, vz = P[3 * c + 2] - az;
    var nx = uy * vz - uz * vy, ny = uz * vx - ux * vz, nz = ux * vy - uy * vx;
    var nl = Math.sqrt(nx * nx + ny * ny + nz * nz) || 1;
    [a, b, c].forEach(function (v, j) {
      for (var k = 0; k < 3; k++) {
        pos[9 * t + 3 * j + k] = (P[3 * v + k] - centre[k]) / radius;
        col[9 * t + 3 * j + k] = C[3 * v + k] / 255;
      }
      nor[9 * t + 3 * j] = nx / nl; nor[9 * t + 3 * j + 1] = ny / nl; nor[9 * t + 3 * j + 2] = nz / nl;
    });
  }
  var yaw = 0.6, pitch = 0.35, dist = 3.0;
  function matrices(aspect) {
    // view: orbit camera looking at the origin; OpenGL clip space
    var cy = Math.cos(yaw), sy = Math.sin(yaw), cp = Math.cos(pitch), sp = Math.sin(pitch);
    var eye = [dist * cp * sy, dist * sp, dist * cp * cy];
    var f = [-eye[0] / dist, -eye[1] / dist, -eye[2] / dist];
    var r = [f[1] * 0 - f[2] * 1, f[2] * 0 - f[0] * 0, f[0] * 1 - f[1] * 0];
    var rl = Math.sqrt(r[0] * r[0] + r[1] * r[1] + r[2] * r[2]) || 1; r = r.map(function (x) { return x / rl; });
    var u = [r[1] * f[2] - r[2] * f[1], r[2] * f[0] - r[0] * f[2], r[0] * f[1] - r[1] * f[0]];
    var view = [r[0], u[0], -f[0], 0, r[1], u[1], -f[1], 0, r[2], u[2], -f[2], 0,
      -(r[0] * eye[0] + r[1] * eye[1] + r[2] * eye[2]), -(u[0] * eye[0] + u[1] * eye[1] + u[2] * eye[2]),
      (f[0] * eye[0] + f[1] * eye[1] + f[2] * eye[2]), 1];
    var near = 0.05, far = 20, fy = 1 / Math.tan(0.5 * 0.7);
    var proj = [fy / aspect, 0, 0, 0, 0, fy, 0, 0, 0, 0, (far + near) / (near - far), -1, 0, 0, 2 * far * near / (near - far), 0];
    return { view: view, proj: proj, eye: eye };
  }
  //= resize
  var draw = null;
  var gl = null;
  try { gl = canvas.getContext('webgl', { antialias: true }) || canvas.getContext('experimental-webgl'); } catch (e) { gl = null; }
  if (gl) {
    var vs = 'attribute vec3 p; attribute vec3 c; attribute vec3 n; uniform mat4 V; uniform mat4 M; uniform vec3 E;' +
      'varying vec3 vc; varying vec3 vn; varying vec3 vd;' +
      'void main() { vc = c; vn = n; vd = normalize(E - p); gl_Position = M * V * vec4(p, 1.0); }';
    var fs = 'precision mediump float; varying vec3 vc; varying vec3 vn; varying vec3 vd;' +
      'void main() { float d = abs(dot(normalize(vn), normalize(vd))); gl_FragColor = vec4(vc * (0.35 + 0.65 * d), 1.0); }';
    //= program
    if (gl.getProgramParameter(prog, gl.LINK_STATUS)) {
      gl.useProgram(prog);
      [['p', pos], ['c', col], ['n', nor]].forEach(function (item) {
        var buf = gl.createBuffer(); gl.bindBuffer(gl.ARRAY_BUFFER, buf); gl.bufferData(gl.ARRAY_BUFFER, item[1], gl.STATIC_DRAW);
        var loc = gl.getAttribLocation(prog, item[0]); gl.enableVertexAttribArray(loc); gl.vertexAttribPointer(loc, 3, gl.FLOAT, false, 0, 0);
      });
      var locV = gl.getUniformLocation(prog, 'V'), locM = gl.getUniformLocation(prog, 'M'), locE = gl.getUniformLocation(prog, 'E');
      gl.enable(gl.DEPTH_TEST);
      draw = function () {
        resize(); gl.viewport(0, 0, canvas.width, canvas.height);
        gl.clearColor(1, 1, 1, 1); gl.clear(gl.COLOR_BUFFER_BIT | gl.DEPTH_BUFFER_BIT);
        var m = matrices(canvas.width / canvas.height);
        gl.uniformMatrix4fv(locV, false, new Float32Array(m.view)); gl.uniformMatrix4fv(locM, false, new Float32Array(m.proj));
        gl.uniform3fv(locE, new Float32Array(m.eye));
        gl.drawArrays(gl.TRIANGLES, 0, nTri * 3);
      };
      canvas.dataset.renderer = 'webgl';
    }
  }
  if (!draw) {
    var ctx = canvas.getContext('2d');
    draw = function () {
      resize();
      var w = canvas.width, h = canvas.height, m = matrices(w / h), V = m.view, M = m.proj;
      ctx.fillStyle = '#fff'; ctx.fillRect(0, 0, w, h);
      var order = [], scr = new Float32Array(nTri * 6);
      for (var t = 0; t < nTri; t++) {
        var zsum = 0, ok = true;
        for (var j = 0; j < 3; j++) {
          var o = 9 * t + 3 * j, x = pos[o], y = pos[o + 1], z = pos[o + 2];
          var ex = V[0] * x + V[4] * y + V[8] * z + V[12], ey = V[1] * x + V[5] * y + V[9] * z + V[13], ez = V[2] * x + V[6] * y + V[10] * z + V[14];
          if (ez > -0.05) ok = false;
          scr[6 * t + 2 * j] = (M[0] * ex / -ez * 0.5 + 0.5) * w; scr[6 * t + 2 * j + 1] = (0.5 - M[5] * ey / -ez * 0.5) * h; zsum += ez;
        }
        if (ok) order.push([zsum, t]);
      }
      order.sort(function (p, q) { return p[0] - q[0]; });
      for (var k = 0; k < order.length; k++) {
        var t = order[k][1], o = 9 * t;
        var dx = m.eye[0] - pos[o], dy = m.eye[1] - pos[o + 1], dz = m.eye[2] - pos[o + 2], dl = Math.sqrt(dx * dx + dy * dy + dz * dz) || 1;
        var s = 0.35 + 0.65 * Math.abs((nor[o] * dx + nor[o + 1] * dy + nor[o + 2] * dz) / dl);
        var rgb = [col[o], col[o + 1], col[o + 2]].map(function (v) { return Math.round(255 * Math.min(1, v * s)); });
        ctx.fillStyle = ctx.strokeStyle = 'rgb(' + rgb.join(',') + ')';
        ctx.beginPath(); ctx.moveTo(scr[6 * t], scr[6 * t + 1]); ctx.lineTo(scr[6 * t + 2], scr[6 * t + 3]); ctx.lineTo(scr[6 * t + 4], scr[6 * t + 5]);
        ctx.closePath(); ctx.fill(); ctx.stroke();
      }
    };
    canvas.dataset.renderer = 'canvas2d';
  }
  //= controls
  canvas.dataset.triangles = String(nTri);
})();
""")

SPLAT_VIEWER_JS = _include(r"""
(function () {
  'use strict';
  //= b64
  var canvas = document.getElementById('splat-viewer');
  var dataNode = document.getElementById('splat-data');
  if (!canvas || !dataNode) return;
  var data = JSON.parse(dataNode.textContent);
  var P = b64(data.positions, Float32Array), S = b64(data.covariances, Float32Array), C = b64(data.colors, Uint8Array);
  var n = P.length / 3;
  var yaw = 0.6, pitch = 0.35, dist = 3.0, FOV = 0.7;
  //= resize
  // every splat projected with the EWA approximation (as the rasteriser does), sorted back to front
  function project(w, h) {
    var cy = Math.cos(yaw), sy = Math.sin(yaw), cp = Math.cos(pitch), sp = Math.sin(pitch);
    var eye = [dist * cp * sy, dist * sp, dist * cp * cy];
    var f = [-eye[0] / dist, -eye[1] / dist, -eye[2] / dist];
    var r = [-f[2], 0, f[0]], rl = Math.sqrt(r[0] * r[0] + r[2] * r[2]) || 1; r = [r[0] / rl, 0, r[2] / rl];
    var u = [r[1] * f[2] - r[2] * f[1], r[2] * f[0] - r[0] * f[2], r[0] * f[1] - r[1] * f[0]];
    var W = [r, u, f];  // camera axes: x right, y up, z forward (depth)
    var focal = 0.5 * h / Math.tan(0.5 * FOV), out = [];
    for (var i = 0; i < n; i++) {
      var px = P[3 * i] - eye[0], py = P[3 * i + 1] - eye[1], pz = P[3 * i + 2] - eye[2];
      var t = W.map(function (a) { return a[0] * px + a[1] * py + a[2] * pz; });
      var z = t[2];
      if (z < 0.05) continue;
      var s = S.subarray(6 * i, 6 * i + 6);  // xx xy xz yy yz zz
      var Sig = [[s[0], s[1], s[2]], [s[1], s[3], s[4]], [s[2], s[4], s[5]]];
      // T = J W: rows of the Jacobian of (x, y) = focal (t_x, t_y) / t_z, times W
      var j0 = [focal / z, 0, -focal * t[0] / (z * z)], j1 = [0, focal / z, -focal * t[1] / (z * z)];
      var T = [j0, j1].map(function (j) { return [0, 1, 2].map(function (k) { return j[0] * W[0][k] + j[1] * W[1][k] + j[2] * W[2][k]; }); });
      var TS = T.map(function (row) { return [0, 1, 2].map(function (k) { return row[0] * Sig[0][k] + row[1] * Sig[1][k] + row[2] * Sig[2][k]; }); });
      var a = TS[0][0] * T[0][0] + TS[0][1] * T[0][1] + TS[0][2] * T[0][2] + 0.3;
      var b = TS[0][0] * T[1][0] + TS[0][1] * T[1][1] + TS[0][2] * T[1][2];
      var c = TS[1][0] * T[1][0] + TS[1][1] * T[1][1] + TS[1][2] * T[1][2] + 0.3;
      var mid = 0.5 * (a + c), rad = Math.sqrt(Math.max(0.25 * (a - c) * (a - c) + b * b, 0));
      var l1 = mid + rad, l2 = Math.max(mid - rad, 1e-6);
      var v1 = Math.abs(b) > 1e-12 ? [b, l1 - a] : (a >= c ? [1, 0] : [0, 1]);
      var vl = Math.sqrt(v1[0] * v1[0] + v1[1] * v1[1]) || 1; v1 = [v1[0] / vl, v1[1] / vl];
      var s1 = Math.min(Math.sqrt(l1), 1024), s2 = Math.min(Math.sqrt(l2), 1024);
      // canvas y points down: flip the y components
      out.push([z, 0.5 * w + focal * t[0] / z, 0.5 * h - focal * t[1] / z, s1 * v1[0], -s1 * v1[1], -s2 * v1[1], -s2 * v1[0], i]);
    }
    out.sort(function (p, q) { return q[0] - p[0]; });
    return out;
  }
  var draw = null, gl = null;
  try { gl = canvas.getContext('webgl', { premultipliedAlpha: true, antialias: false }) || canvas.getContext('experimental-webgl'); } catch (e) { gl = null; }
  if (gl) {
    var vs = 'attribute vec2 p; attribute vec2 q; attribute vec4 c; varying vec2 vq; varying vec4 vc;' +
      'void main() { vq = q; vc = c; gl_Position = vec4(p, 0.0, 1.0); }';
    var fs = 'precision mediump float; varying vec2 vq; varying vec4 vc;' +
      'void main() { float a = min(0.99, vc.a * exp(-0.5 * dot(vq, vq))); if (a < 1.0 / 255.0) discard; gl_FragColor = vec4(vc.rgb * a, a); }';
    //= program
    if (gl.getProgramParameter(prog, gl.LINK_STATUS)) {
      gl.useProgram(prog);
      var buf = gl.createBuffer(), locP = gl.getAttribLocation(prog, 'p'), locQ = gl.getAttribLocation(prog, 'q'), locC = gl.getAttribLocation(prog, 'c');
      var corners = [[-3, -3], [3, -3], [3, 3], [-3, -3], [3, 3], [-3, 3]];
      draw = function () {
        resize(); var w = canvas.width, h = canvas.height;
        gl.viewport(0, 0, w, h); gl.clearColor(1, 1, 1, 1); gl.clear(gl.COLOR_BUFFER_BIT);
        var list = project(w, h), v = new Float32Array(list.length * 6 * 8), o = 0;
        list.forEach(function (e) {
          var i = e[7];
          corners.forEach(function (k) {
            var x = e[1] + k[0] * e[3] + k[1] * e[5], y = e[2] + k[0] * e[4] + k[1] * e[6];
            v[o++] = 2 * x / w - 1; v[o++] = 1 - 2 * y / h; v[o++] = k[0]; v[o++] = k[1];
            v[o++] = C[4 * i] / 255; v[o++] = C[4 * i + 1] / 255; v[o++] = C[4 * i + 2] / 255; v[o++] = C[4 * i + 3] / 255;
          });
        });
        gl.bindBuffer(gl.ARRAY_BUFFER, buf); gl.bufferData(gl.ARRAY_BUFFER, v, gl.DYNAMIC_DRAW);
        gl.enableVertexAttribArray(locP); gl.vertexAttribPointer(locP, 2, gl.FLOAT, false, 32, 0);
        gl.enableVertexAttribArray(locQ); gl.vertexAttribPointer(locQ, 2, gl.FLOAT, false, 32, 8);
        gl.enableVertexAttribArray(locC); gl.vertexAttribPointer(locC, 4, gl.FLOAT, false, 32, 16);
        gl.enable(gl.BLEND); gl.blendFunc(gl.ONE, gl.ONE_MINUS_SRC_ALPHA);
        gl.drawArrays(gl.TRIANGLES, 0, list.length * 6);
      };
      canvas.dataset.renderer = 'webgl';
    }
  }
  if (!draw) {
    var ctx = canvas.getContext('2d');
    var stops = [0, 0.5, 1, 1.5, 2, 2.5, 3].map(function (r) { return [r / 3, Math.exp(-0.5 * r * r)]; });
    draw = function () {
      resize(); var w = canvas.width, h = canvas.height;
      ctx.setTransform(1, 0, 0, 1, 0, 0); ctx.fillStyle = '#fff'; ctx.fillRect(0, 0, w, h);
      project(w, h).forEach(function (e) {
        var i = e[7], rgb = C[4 * i] + ',' + C[4 * i + 1] + ',' + C[4 * i + 2], a = C[4 * i + 3] / 255;
        ctx.setTransform(3 * e[3], 3 * e[4], 3 * e[5], 3 * e[6], e[1], e[2]);
        var g = ctx.createRadialGradient(0, 0, 0, 0, 0, 1);
        stops.forEach(function (st) { g.addColorStop(st[0], 'rgba(' + rgb + ',' + Math.min(0.99, a * st[1]).toFixed(4) + ')'); });
        ctx.fillStyle = g; ctx.beginPath(); ctx.arc(0, 0, 1, 0, 2 * Math.PI); ctx.fill();
      });
      ctx.setTransform(1, 0, 0, 1, 0, 0);
    };
    canvas.dataset.renderer = 'canvas2d';
  }
  //= controls
  canvas.dataset.splats = String(n);
})();
""")


def splat_payload(positions: np.ndarray, covariances: np.ndarray, colors: np.ndarray, opacities: np.ndarray) -> dict[str, object]:
    """Gaussians for the splat viewer, centred on the opaque ones and scaled to unit radius: positions float32
    (n, 3), covariances float32 (n, 6: xx xy xz yy yz zz), colours uint8 RGBA (n, 4; A = opacity)."""
    positions = np.asarray(positions, np.float64)
    solid = positions[opacities > 0.5] if (opacities > 0.5).sum() >= 4 else positions
    centre = 0.5 * (solid.min(0) + solid.max(0)) if len(solid) else np.zeros(3)
    radius = float(np.linalg.norm(solid - centre, axis=1).max()) if len(solid) else 1.0
    radius = max(radius, 1e-6)
    cov = np.asarray(covariances, np.float64) / radius**2
    packed = np.stack([cov[:, 0, 0], cov[:, 0, 1], cov[:, 0, 2], cov[:, 1, 1], cov[:, 1, 2], cov[:, 2, 2]], -1)
    rgba = np.concatenate([np.clip(colors, 0, 1), np.clip(opacities, 0, 1)[:, None]], -1)
    encode = lambda a: base64.b64encode(np.ascontiguousarray(a).tobytes()).decode("ascii")  # noqa: E731
    return {"count": int(len(positions)), "positions": encode(((positions - centre) / radius).astype("<f4")),
            "covariances": encode(packed.astype("<f4")), "colors": encode(np.round(rgba * 255).astype(np.uint8))}


def splat_payload_of(gaussians: "Gaussians", min_opacity: float = 1.0 / 255.0) -> dict[str, object]:
    """:func:`splat_payload` of scene 0 of ``gaussians`` (those with opacity below ``min_opacity`` left out, as in the
    PLY)."""
    import torch

    from ..renderers.gaussians import covariances

    with torch.no_grad():
        keep = gaussians.opacities[0] >= min_opacity
        cov = covariances(gaussians.scales[0][keep], gaussians.rotations[0][keep])
        return splat_payload(gaussians.means[0][keep].numpy(), cov.numpy(), gaussians.colors[0][keep].numpy(),
                             gaussians.opacities[0][keep].numpy())


def mesh_payload(mesh: trimesh.Trimesh) -> dict[str, object]:
    """The mesh as base64 arrays: positions float32 (n, 3), colours uint8 RGB (n, 3), indices uint32 (m, 3)."""
    vertices = np.ascontiguousarray(mesh.vertices, dtype="<f4")
    colours = np.asarray(mesh.visual.vertex_colors)[:, :3] if mesh.visual.kind == "vertex" else np.full((len(vertices), 3), 180)
    faces = np.ascontiguousarray(mesh.faces, dtype="<u4")
    encode = lambda a: base64.b64encode(np.ascontiguousarray(a).tobytes()).decode("ascii")  # noqa: E731
    return {"vertex_count": int(len(vertices)), "triangle_count": int(len(faces)), "positions": encode(vertices),
            "colors": encode(colours.astype(np.uint8)), "indices": encode(faces)}


def decode_payload(payload: dict) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Inverse of :func:`mesh_payload` (for tests and tools)."""
    positions = np.frombuffer(base64.b64decode(payload["positions"]), "<f4").reshape(-1, 3)
    colours = np.frombuffer(base64.b64decode(payload["colors"]), np.uint8).reshape(-1, 3)
    indices = np.frombuffer(base64.b64decode(payload["indices"]), "<u4").reshape(-1, 3)
    return positions, colours, indices


_CSS = """
body { font-family: system-ui, sans-serif; margin: 1.5em; color: #222; max-width: 1100px; }
h1 { font-size: 1.4em; } h2 { font-size: 1.1em; margin-top: 1.6em; }
.row { display: flex; flex-wrap: wrap; gap: 12px; align-items: flex-start; }
figure { margin: 0; } figcaption { font-size: 0.8em; color: #555; }
.grid img { width: 96px; height: 96px; image-rendering: pixelated; border: 1px solid #ddd; }
img.big, video { width: 256px; height: 256px; image-rendering: pixelated; border: 1px solid #ddd; }
#mesh-viewer, #splat-viewer { width: 480px; height: 480px; border: 1px solid #ccc; touch-action: none; cursor: grab; }
table { border-collapse: collapse; font-size: 0.85em; } td { padding: 2px 10px 2px 0; }
code { background: #f4f4f4; padding: 0 3px; }
"""


def splat_viewer_html(splats: dict[str, object]) -> str:
    """The splat viewer as an HTML fragment: the ``#splat-viewer`` canvas, the inlined Gaussians
    (:func:`splat_payload`) and :data:`SPLAT_VIEWER_JS`. Used by ``index.html`` and by :func:`splat_viewer_page`."""
    payload = json.dumps(splats).replace("</", "<\\/")
    return (f"<canvas id='splat-viewer'></canvas><script type='application/json' id='splat-data'>{payload}</script>"
            f"<script>{SPLAT_VIEWER_JS}</script>")


def splat_viewer_page(splats: dict[str, object]) -> str:
    """A self-contained HTML document holding only the splat viewer (the web demo shows it in an ``iframe``:
    scripts inserted into a page's HTML do not run, a frame's document does)."""
    css = ("html, body { margin: 0; background: #fff; overflow: hidden; } "
           "#splat-viewer { width: 100vw; height: 100vh; display: block; touch-action: none; cursor: grab; }")
    return (f"<!doctype html><html><head><meta charset='utf-8'><style>{css}</style></head><body>"
            f"{splat_viewer_html(splats)}</body></html>")


def write_index(
    out_dir: Path, title: str, files: dict[str, list[str]], mesh: trimesh.Trimesh | None, notes: list[str],
    timings: dict[str, float], splats: dict[str, object] | None = None,
) -> Path:
    """Write ``out_dir/index.html``; ``files`` maps a section (input, turntable, views, depth, normals, mesh) to
    paths relative to ``out_dir``."""
    esc = html.escape
    parts = [f"<!doctype html><html><head><meta charset='utf-8'><title>{esc(title)}</title><style>{_CSS}</style></head><body>",
             f"<h1>{esc(title)}</h1>"]
    for note in notes:
        parts.append(f"<p>{esc(note)}</p>")
    parts.append("<h2>Input and turntable</h2><div class='row'>")
    for path in files.get("input", []):
        parts.append(f"<figure><img class='big' src='{esc(path)}' alt='model input'><figcaption>{esc(path)}</figcaption></figure>")
    for path in files.get("turntable", []):
        if path.endswith(".mp4"):
            parts.append(f"<figure><video src='{esc(path)}' autoplay loop muted playsinline controls></video><figcaption>{esc(path)}</figcaption></figure>")
        else:
            parts.append(f"<figure><img class='big' src='{esc(path)}' alt='turntable'><figcaption>{esc(path)}</figcaption></figure>")
    parts.append("</div>")
    captions = {"views": "Novel views", "depth": "Depth (z, colour map: near = dark, far = bright; white = no surface)",
                "normals": "Normals (world space, RGB = (n + 1) / 2; white = unknown)",
                "parts": "Part maps (a probe fitted on a few labelled views; colours in the notes above)"}
    for key, caption in captions.items():
        if files.get(key):
            parts.append(f"<h2>{esc(caption)}</h2><div class='row grid'>")
            parts.extend(f"<a href='{esc(p)}'><img src='{esc(p)}' alt='{esc(key)}' title='{esc(p)}'></a>" for p in files[key])
            parts.append("</div>")
    parts.append("<h2>Mesh</h2>")
    if mesh is not None:
        links = " ".join(f"<a href='{esc(p)}'>{esc(p)}</a>" for p in files.get("mesh", []))
        parts.append(f"<p>{len(mesh.vertices)} vertices, {len(mesh.faces)} triangles; drag to orbit, wheel to zoom, "
                     f"double-click to reset. Files: {links}</p><canvas id='mesh-viewer'></canvas>")
        payload = json.dumps(mesh_payload(mesh)).replace("</", "<\\/")
        parts.append(f"<script type='application/json' id='mesh-data'>{payload}</script><script>{VIEWER_JS}</script>")
    else:
        parts.append("<p>No mesh (see the note above).</p>")
    if splats is not None:
        links = " ".join(f"<a href='{esc(p)}'>{esc(p)}</a>" for p in files.get("splats", []))
        parts.append(f"<h2>Gaussian splats</h2><p>{splats['count']} 3D Gaussians (the model's own scene), splatted in "
                     f"the browser; drag to orbit, wheel to zoom, double-click to reset. File (3D Gaussian Splatting "
                     f"PLY, for splat viewers): {links}</p>")
        parts.append(splat_viewer_html(splats))
    if timings:
        parts.append("<h2>Timings</h2><table>")
        parts.extend(f"<tr><td>{esc(k)}</td><td>{v:.2f} s</td></tr>" for k, v in timings.items())
        parts.append("</table>")
    parts.append("</body></html>\n")
    path = out_dir / "index.html"
    path.write_text("".join(parts), encoding="utf-8")
    return path
