#!/bin/bash
# chain.sh WAIT_PID PRESET...: after WAIT_PID exits, one 'bench quality' per preset not yet claimed by another chain
export PYTHONPATH=/work/scratch/h18/src_bench OMP_NUM_THREADS=1 MKL_NUM_THREADS=1
PY=/work/main/.venv/bin/python
COMMON="--data /work/data/cars300 --budget-minutes 2 --parallel 1 --threads 1 --max-objects 2 --max-views 2 --autodecode-steps 20 --runs /work/scratch/h18/runs"
WAIT=$1; shift
while kill -0 $WAIT 2>/dev/null; do sleep 5; done
for P in "$@"; do
  mkdir /work/scratch/h18/claims/$P 2>/dev/null || { echo "=== $P claimed by the other chain"; continue; }
  echo "=== $P start $(date -u +%H:%M:%S) $(uptime)"
  nice -n 5 $PY -m sceneprior bench quality $COMMON --presets $P --out /work/scratch/h18/out_each/$P
  echo "=== $P end rc=$? $(date -u +%H:%M:%S) $(uptime)"
done
