"""Markdown table of a 3D-preset comparison from the `sceneprior eval --json` files in a results folder
(PRESET.json for each preset, PRESET_partial.json for a `--partial` evaluation).
Run: .venv/bin/python scripts/shapes3d_table.py results/shapes3d_rooms"""

import json
import sys
from pathlib import Path

HERE = Path(sys.argv[1])
PRESETS = ["deepsdf", "occnet", "convonet-grid", "convonet-plane", "convonet-triplane", "voxel-decoder"]
CODE = {"deepsdf": "global (auto-decoded)", "occnet": "global (encoder)", "convonet-grid": "local, 16³ grid",
        "convonet-plane": "local, ground plane 32²", "convonet-triplane": "local, 3 planes 32²",
        "voxel-decoder": "global → 16³ grid"}

rows = ["| preset | code | steps | IoU | Chamfer-L1 | normal cons. | F@1% | latent floats | params | act. memory (MB) | inference s/object |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
for name in PRESETS + ["deepsdf_partial"]:
    path = HERE / f"{name}.json"
    if not path.is_file():
        continue
    r = json.loads(path.read_text())
    preset = name.removesuffix("_partial")
    label = f"{preset} (`--partial`)" if r.get("partial") else preset
    rows.append(f"| {label} | {CODE[preset]} | {r['checkpoint_step']:,} | {r['iou']:.3f} | {r['chamfer_l1']:.4f} | "
                f"{r['normal_consistency']:.3f} | {r['fscore']:.3f} | {r['latent_floats']:,} | {r['params']:,} | "
                f"{r['peak_memory_mb']:.1f} | {r['inference_seconds_per_object']:.2f} |")
sys.stdout.write("\n".join(rows) + "\n")
