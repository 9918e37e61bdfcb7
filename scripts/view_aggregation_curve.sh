#!/usr/bin/env bash
# Mean pooling vs learned attention over source views (pixelnerf vs pixelnerf-attention) at an equal wall-clock
# budget, then held-out PSNR/SSIM with N = 1, 2, 3, 5 source views. Results: results/quality/view_aggregation/.
#   SRC      python sources to run (default: this checkout's src)
#   DATA     dataset (default /work/data/cars300), OUT scratch folder for runs, MINUTES budget per model (20)
#   TRAIN    presets to train (default both; empty: only score existing runs)
set -euo pipefail
SRC=${SRC:-$(pwd)/src}
DATA=${DATA:-/work/data/cars300}
OUT=${OUT:-/work/scratch/h18/view_aggregation}
MINUTES=${MINUTES:-20}
PY=${PY:-/work/main/.venv/bin/python}
RESULTS=${RESULTS:-$(pwd)/results/quality/view_aggregation}
TRAIN=${TRAIN-pixelnerf pixelnerf-attention}
mkdir -p "$OUT" "$RESULTS"
export OMP_NUM_THREADS=1 PYTHONPATH="$SRC"
( while true; do echo "$(date -u +%H:%M:%S) $(cut -d' ' -f1-3 /proc/loadavg)"; sleep 30; done ) >> "$RESULTS/load.log" &
LOADER=$!
trap 'kill $LOADER' EXIT
for preset in $TRAIN; do
  nice -n 5 "$PY" -m sceneprior train --preset "$preset" --data "$DATA" --out "$OUT/$preset" --minutes "$MINUTES" \
    --input-views 1 2 3 --threads 1 --image-every 0 --no-progress --seed 0
done
for preset in pixelnerf pixelnerf-attention; do
  cp "$OUT/$preset/config.json" "$RESULTS/${preset}_config.json"
  cp "$OUT/$preset/metrics.jsonl" "$RESULTS/${preset}_metrics.jsonl"
done
# scoring: the same 8 held-out objects, 3 target views each (every view but the sources, subsampled evenly)
for n in 1 2 3 5; do
  for preset in pixelnerf pixelnerf-attention; do
    nice -n 5 "$PY" -m sceneprior eval "$OUT/$preset" --data "$DATA" --split test --input-views "$n" \
      --max-objects 8 --max-views 3 --json "$RESULTS/eval_${preset}_test_${n}v.json" 2>/dev/null | tail -2
  done
done
