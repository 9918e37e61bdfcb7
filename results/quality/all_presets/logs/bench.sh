#!/bin/bash
# one bench quality per preset (so that a failing eval shows at once), then the one table over all presets (reuses every run)
export PYTHONPATH=/work/scratch/h18/src_bench OMP_NUM_THREADS=1 MKL_NUM_THREADS=1
PY=/work/main/.venv/bin/python
COMMON="--data /work/data/cars300 --budget-minutes 2 --parallel 1 --threads 1 --max-objects 2 --max-views 2 --autodecode-steps 20 --runs /work/scratch/h18/runs"
PRESETS=$($PY -c "from sceneprior.bench.quality import IMAGE_PRESETS, SHAPE_PRESETS; print(' '.join(IMAGE_PRESETS + SHAPE_PRESETS))")
for P in $PRESETS; do
  echo "=== $P start $(date -u +%H:%M:%S) $(uptime)"
  nice -n 5 $PY -m sceneprior bench quality $COMMON --presets $P --out /work/scratch/h18/out_each/$P
  echo "=== $P end rc=$? $(date -u +%H:%M:%S) $(uptime)"
done
echo "=== all start $(date -u +%H:%M:%S) $(uptime)"
nice -n 5 $PY -m sceneprior bench quality $COMMON --presets all --out /work/scratch/h18/out_all
echo "=== all end rc=$? $(date -u +%H:%M:%S) $(uptime)"
