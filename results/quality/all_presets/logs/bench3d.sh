#!/bin/bash
# the 3D presets, last first, beside bench.sh's image presets (same options, same runs folder; one preset each)
export PYTHONPATH=/work/scratch/h18/src_bench OMP_NUM_THREADS=1 MKL_NUM_THREADS=1
PY=/work/main/.venv/bin/python
COMMON="--data /work/data/cars300 --budget-minutes 2 --parallel 1 --threads 1 --max-objects 2 --max-views 2 --autodecode-steps 20 --runs /work/scratch/h18/runs"
for P in voxel-decoder convonet-triplane convonet-plane convonet-grid occnet deepsdf; do
  echo "=== $P start $(date -u +%H:%M:%S) $(uptime)"
  nice -n 5 $PY -m sceneprior bench quality $COMMON --presets $P --out /work/scratch/h18/out_each/$P
  echo "=== $P end rc=$? $(date -u +%H:%M:%S) $(uptime)"
done
