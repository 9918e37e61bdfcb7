#!/usr/bin/env bash
# The equal-budget comparison, exactly as it was run (S=/work/scratch/i16 on the development machine; data: the shared
# cars300, `sceneprior data generate --category cars --out data/cars300 --objects 300 --views 50 --resolution 64`).
set -euo pipefail
S=${S:-runs}
DATA=${DATA:-data/cars300}
OUT=results/quality/splatter_vs_pixelnerf
# 1. both presets trained at the same time, one torch thread each, 60 minutes of wall clock each
#    (the load average was logged every 30 s: `while true; do echo "$(date -u +%H:%M:%S) $(cat /proc/loadavg)" >> $S/load.log; sleep 30; done`)
for p in splatter pixelnerf; do
  sceneprior train --preset $p --data $DATA --out $S/eq_$p --minutes 60 --threads 1 --no-progress \
    --log-every 20 --image-every 0 --checkpoint-every 500 > $S/eq_$p.log 2>&1 &
done
wait
# 2. scored with the SRN/pixelNeRF protocol (fixed input view, single view). pixelNeRF took 14 s per 64² view under the
#    load, so both were scored on the same first 10 objects, every 10th target view; splatter also on all 30 objects,
#    every 5th view
for p in splatter pixelnerf; do
  for split in test test_ood_pose; do
    sceneprior eval $S/eq_$p --data $DATA --split $split --max-objects 10 --max-views 5 --threads 1 \
      --json $OUT/eval_${p}_${split}_10obj.json
  done
done
for split in test test_ood_pose; do
  sceneprior eval $S/eq_splatter --data $DATA --split $split --max-views 10 --threads 1 \
    --json $OUT/eval_splatter_${split}_1v.json --save-images $S/eq_splatter/renders/$split
done
# 3. training curves and load
python scripts/splatter_vs_pixelnerf_plot_training.py $S/eq_splatter $S/eq_pixelnerf $S/load.log $OUT/training.png
