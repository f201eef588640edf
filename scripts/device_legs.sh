#!/usr/bin/env bash
# One device-machine call that trains several fine-tuning legs side by side on one GPU (each leg's step is
# launch-bound, so two processes overlap), from the shipped model, on the compact DUTS copy (carried as
# data/duts_gpu.zip, see scripts/device_train.sh), and brings back each leg's last weights as fp16 plus its log.
#   carry: data/duts_gpu.zip
#   command: OUT=$OUT CONFIGS="gpu-distil gpu-distil-light" bash scripts/device_legs.sh
# DEVICE=cpu, PYTHON=.venv/bin/python and DATA=<folder with train/ and val/> run the same thing here (a smoke test with short budgets:
# TRAIN_ARGS="--time-budget-min 0.2 --workers 1 --batch 4").
set -u
export PYTHONUNBUFFERED=1
OUT=${OUT:-/tmp/device_out}
DATA=${DATA:-data/duts_gpu}
INIT=${INIT:-inference/weights/clicklabel_default.pth}
mkdir -p "$OUT"
if [ ! -d "$DATA" ] && [ -f data/duts_gpu.zip ]; then
    python3 -m zipfile -e data/duts_gpu.zip /tmp/ && DATA=/tmp/duts_gpu || exit 5
fi
[ "${DEVICE:-cuda}" = cuda ] && nvidia-smi -L
START=$(date +%s)
mkdir -p /tmp/legs
for config in ${CONFIGS:?name the legs}; do
    timeout "${TRAIN_TIMEOUT:-510}" "${PYTHON:-python3}" -m inference.train --config "$config" --device "${DEVICE:-cuda}" \
        --out "/tmp/legs/$config" --data "$DATA/train" --val-data "$DATA/val" --init "$INIT" ${TRAIN_ARGS:-} \
        >"/tmp/legs/$config.out" 2>&1 &
done
wait
echo "training wall: $(( $(date +%s) - START )) s"
for config in $CONFIGS; do
    run="/tmp/legs/$config"
    echo "== $config"; tr '\r' '\n' <"$run.out" | grep -v '^\s*$' | tail -n 6
    grep -E '"(startup_s|val)"' "$run/log.jsonl"; tail -n 1 "$run/log.jsonl"
    cp "$run/log.jsonl" "$OUT/$config.log.jsonl"
    # the last weights (fp16, no optimiser state); last.pth is written every ckpt_every updates and at the end
    "${PYTHON:-python3}" -c "import sys; from inference.training.export import export_checkpoint as e; e(sys.argv[1], sys.argv[2])" \
        "$run/last.pth" "$OUT/$config.pth" && ls -l "$OUT/$config.pth"
done
echo "total wall: $(( $(date +%s) - START )) s"
