#!/usr/bin/env bash
# The image-model benchmark on a one-GPU machine (16 cores): generate data/cars300, run 'sceneprior bench quality'
# with every preset trained side by side on the GPU for $MINUTES each, package the models in fp16, and put the
# table, the eval JSONs/logs, a few renders and the packaged models under $OUT (split into <=15 MB parts).
# Used for results/quality (see results/quality/README.md for the exact invocation and the machine).
set -u
OUT=${OUT:-gpu_out}; MINUTES=${MINUTES:-4.5}; DEADLINE=${DEADLINE:-560}
mkdir -p "$OUT"
START=$(date +%s)
if [ -d .whl ]; then
  python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl || exit 1
  export PYTHONPATH=/tmp/site
fi
export PYTHONPATH="$PWD/src${PYTHONPATH:+:$PYTHONPATH}" PYTHONUNBUFFERED=1
SP="python3 -m sceneprior"
nvidia-smi -L
$SP data generate --category cars --out data/cars300 --objects 300 --views 50 --test-objects 30 --val-objects 10 \
  --resolution 64 --seed 0 --workers 16 > "$OUT/gen.log" 2>&1 || { tail -5 "$OUT/gen.log"; exit 1; }
echo "data in $(( $(date +%s) - START )) s"
$SP bench quality --data data/cars300 --out runs/quality_table --runs runs/quality --budget-minutes "$MINUTES" \
  --device cuda --parallel 10 --threads 1 --save-images 1 > "$OUT/bench.log" 2>&1 &
BENCH=$!
# models: packaged as soon as every training has finished, while the evaluations run
while kill -0 $BENCH 2>/dev/null && [ "$(grep -l '"finished": true' runs/quality/*/bench_quality.json 2>/dev/null | wc -l)" -lt 6 ]; do sleep 5; done
echo "trainings done at $(( $(date +%s) - START )) s"; grep -h "train" "$OUT/bench.log"
for p in srn-encoder pixelnerf srn lfn; do
  [ -d runs/quality/$p/checkpoints ] && $SP package runs/quality/$p --out pkg/$p --half > /dev/null 2>&1 || echo "package $p failed"
done
tar -cf - pkg | split -b 15M - "$OUT/models.tar.part-"
while kill -0 $BENCH 2>/dev/null && [ $(( $(date +%s) - START )) -lt "$DEADLINE" ]; do sleep 5; done
kill $BENCH 2>/dev/null; sleep 1
echo "bench ended at $(( $(date +%s) - START )) s"; tail -30 "$OUT/bench.log"
# results: table, eval JSONs + logs, training logs and metrics, renders of the first 4 objects per split
keep=$(for d in runs/quality/*/renders/*; do ls -d "$d"/* 2>/dev/null | sort | head -4; done)
tar -czf "$OUT/results.tgz" runs/quality_table runs/quality/*.log runs/quality/*/eval runs/quality/*/metrics.jsonl \
  runs/quality/*/config.json runs/quality/*/bench_quality.json $keep 2>/dev/null
ls -la "$OUT"
