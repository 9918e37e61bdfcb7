"""Peak memory of hostile uploads (decompression bombs and images at the pixel limit) through the demo's upload
handler, each in a fresh process.

For each case a file is written into a scratch folder, then a new Python process loads the demo
(``DemoSession`` with the shipped default model), resets the kernel's record of its peak resident memory
(``VmHWM``, through ``/proc/self/clear_refs``), hands the file to ``DemoSession.reconstruct`` exactly as the web
page does after an upload, and reads the peak. The figure is the peak minus the resident memory before: what the
upload cost. Accepted images go through the whole reconstruction
(crop, inference, turntable, mesh), so the bundled example is measured too as the cost of a normal upload.

    python scripts/bomb_memory.py --out results/bomb_memory.md      # about 3 minutes on one CPU core

Writes a Markdown table (and prints it); exits 1 if any case's increase is 200 MB or more.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import struct
import subprocess
import sys
import tempfile
import time
import zlib
from pathlib import Path

import numpy as np
from PIL import Image

LIMIT_MB = 200
CHILD = r"""
import json, sys, torch
torch.set_num_threads(1)
from sceneprior.demo.app import DemoSession, _gradio
_gradio()  # the server has gradio loaded before any upload
session = DemoSession("cars", views=8, mesh_resolution=32)

def status(key):  # kB -> MB, from the kernel's own accounting of this process
    for line in open("/proc/self/status"):
        if line.startswith(key + ":"):
            return int(line.split()[1]) / 1024

try:  # reset the peak (VmHWM) to the current resident size, so the peak below is this upload's
    with open("/proc/self/clear_refs", "w") as handle:
        handle.write("5")
    before = status("VmRSS")
except OSError:
    before = status("VmHWM")
try:
    session.reconstruct(sys.argv[1])
    outcome = "accepted"
except Exception as exc:  # gradio.Error: the one line the page shows
    outcome = "refused: " + str(exc).splitlines()[0]
after = status("VmHWM")
session.close()
print(json.dumps({"before_mb": before, "after_mb": after, "outcome": outcome}))
"""


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def png_bomb(path: Path, width: int, height: int, target_bytes: int, exif_after_pixels: bool = False) -> None:
    """An RGBA PNG whose header declares ``width`` x ``height`` and whose IDAT is ``target_bytes`` of deflated zero
    rows (a real bomb: inflating it gives ~1000x its size). With ``exif_after_pixels`` an eXIf chunk follows the
    pixels (Pillow decodes the whole image to read it)."""
    block = bytes(64 * 2**20)
    first = zlib.compressobj(9)
    head = first.compress(block) + first.flush(zlib.Z_FULL_FLUSH)
    repeat = first.compress(block) + first.flush(zlib.Z_FULL_FLUSH)  # after a full flush every block is the same
    tail = first.flush()
    count = max(0, (target_bytes - len(head) - len(tail)) // len(repeat))
    with open(path, "wb") as handle:
        handle.write(b"\x89PNG\r\n\x1a\n")
        handle.write(_chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 6, 0, 0, 0)))
        idat = head + repeat * count + tail
        handle.write(_chunk(b"IDAT", idat))
        if exif_after_pixels:
            exif = Image.Exif()
            exif[0x0112] = 6
            handle.write(_chunk(b"eXIf", exif.tobytes()))
        handle.write(_chunk(b"IEND", b""))


def at_limit(path: Path, mode: str, fmt: str, pixels: int) -> None:
    """A plain white image with a dark box, of nearly ``pixels`` pixels, in ``mode`` (compresses to little)."""
    side = int(pixels ** 0.5)
    if mode == "I;16":
        array = np.full((side, side), 65535, np.uint16)
        array[side // 4: 3 * side // 4, side // 4: 3 * side // 4] = 4000
        image = Image.fromarray(array)
    else:
        array = np.full((side, side, 4), 255, np.uint8)
        array[side // 4: 3 * side // 4, side // 4: 3 * side // 4, :3] = 30
        image = Image.fromarray(array)
        image = image.convert("RGB").convert("P", palette=Image.Palette.ADAPTIVE, colors=4) if mode == "P" else image.convert(mode)
        del array
    image.save(path, fmt, **({"quality": 90} if fmt == "JPEG" else {"compress_level": 1}))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="results/bomb_memory.md")
    parser.add_argument("--scratch", default=None, help="folder for the generated files (default: a temporary one)")
    args = parser.parse_args()
    from sceneprior.api import example_images
    from sceneprior.demo.app import MAX_UPLOAD_MB
    from sceneprior.inference.preprocess import MAX_INPUT_PIXELS

    scratch = Path(args.scratch or tempfile.mkdtemp(prefix="bomb-memory-"))
    scratch.mkdir(parents=True, exist_ok=True)
    limit = MAX_INPUT_PIXELS - 1
    cases = [
        ("bundled example (a normal upload)", example_images()[0], None),
        ("PNG bomb, 20 MB, header 200000x200000 RGBA", scratch / "bomb20mb.png",
         lambda p: png_bomb(p, 200_000, 200_000, 20 * 2**20 - 4096)),
        ("PNG bomb, 0.9 MB, 30000x30000 with EXIF after the pixels", scratch / "bomb_exif.png",
         lambda p: png_bomb(p, 30_000, 30_000, 900_000, exif_after_pixels=True)),
        ("PNG at the pixel limit, RGBA", scratch / "limit_rgba.png", lambda p: at_limit(p, "RGBA", "PNG", limit)),
        ("PNG at the pixel limit, palette", scratch / "limit_p.png", lambda p: at_limit(p, "P", "PNG", limit)),
        ("PNG at the pixel limit, 16-bit gray", scratch / "limit_i16.png", lambda p: at_limit(p, "I;16", "PNG", limit)),
        ("JPEG at the pixel limit", scratch / "limit.jpg", lambda p: at_limit(p, "RGB", "JPEG", limit)),
    ]
    rows = []
    env = dict(os.environ, OMP_NUM_THREADS="1")
    for name, path, make in cases:
        if make is not None:
            make(path)
        size_mb = path.stat().st_size / 2**20
        guard, Image.MAX_IMAGE_PIXELS = Image.MAX_IMAGE_PIXELS, None  # this script only reads the declared size
        with Image.open(path) as probe:
            declared = probe.size
        Image.MAX_IMAGE_PIXELS = guard
        proc = subprocess.run([sys.executable, "-c", CHILD, str(path)], capture_output=True, text=True, env=env)
        if proc.returncode != 0:
            print(proc.stderr, file=sys.stderr)
            return 2
        result = json.loads(proc.stdout.strip().splitlines()[-1])
        increase = result["after_mb"] - result["before_mb"]
        rows.append((name, size_mb, declared, increase, result["before_mb"], result["outcome"]))
        print(f"{name}: {size_mb:.2f} MB file, {declared[0]}x{declared[1]}: peak +{increase:.1f} MB -> {result['outcome']}")
    worst = max(r[3] for r in rows)
    load = os.getloadavg()
    lines = [
        "# Peak memory of hostile uploads (demo upload handler)",
        "",
        f"Command: `python scripts/bomb_memory.py --out {args.out}` ({time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, "
        f"{platform.machine()}, Python {platform.python_version()}, load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f} "
        "at the end: other developers' jobs shared the 2 cores).",
        "",
        f"Each file goes to `DemoSession.reconstruct` (what the page calls after an upload of at most {MAX_UPLOAD_MB} MB) "
        "in a fresh process with the shipped `cars` model loaded; *peak increase* is the process's peak resident memory during the call (`VmHWM`, reset just before it through `/proc/self/clear_refs`) minus its resident memory before. "
        f"Pixel limit: {MAX_INPUT_PIXELS / 1e6:.0f} megapixels, checked from the header before anything is decoded; "
        "accepted photos are reduced while decoding to at most 1024 pixels per side.",
        "",
        "| case | file MB | header size | peak increase MB | resident before MB | outcome |",
        "| --- | ---: | --- | ---: | ---: | --- |",
    ]
    for name, size_mb, declared, increase, before, outcome in rows:
        lines.append(f"| {name} | {size_mb:.2f} | {declared[0]}x{declared[1]} | {increase:.1f} | {before:.0f} | {outcome.replace('|', '/')} |")
    lines += ["", f"Largest increase: {worst:.0f} MB (limit {LIMIT_MB} MB): {'PASS' if worst < LIMIT_MB else 'FAIL'}.", ""]
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text("\n".join(lines))
    print("\n".join(lines))
    return 0 if worst < LIMIT_MB else 1


if __name__ == "__main__":
    raise SystemExit(main())
