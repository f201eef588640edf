#!/usr/bin/env bash
# One device-machine call (see docs/model_card.md): train the `gpu` config on the compact DUTS copy made by
# scripts/training/make_compact_dataset.py (carried as one stored zip, data/duts_gpu.zip: the travel limit counts
# per-file overhead, and 6000 small files do not fit), export the best DUTS-validation checkpoint, then check
# the engine on CUDA (per-click timings; CHECKS=0 skips them). Everything worth
# keeping goes to $OUT.
#   carry: data/duts_gpu.zip data/mobilenet_v2_imagenet_fp16.pth   command: OUT=$OUT scripts/training/device_train.sh
# Continuing a trained model instead (no ImageNet weights needed):
#   CONFIG=gpu-continue TRAIN_ARGS="--init inference/weights/clicklabel_default.pth" CHECKS=0 scripts/training/device_train.sh
# Make them with: python scripts/training/make_compact_dataset.py ... --out data/duts_gpu, then
#   (cd data && python -c "import shutil; shutil.make_archive('duts_gpu', 'zip', '.', 'duts_gpu')") (or zip -0),
#   and the fp16 ImageNet weights as data/mobilenet_v2_imagenet_fp16.pth.
# The EfficientNet-Lite0 network instead: TRAIN_ARGS="--network efficientnet_lite0_deeplabv3p", carrying
#   data/efficientnet_lite0_imagenet_fp16.pth, made with
#   python -c "import torch; from inference.networks.efficientnet_lite import imagenet_weights_path as p; \
#     torch.save({k: v.half() if v.is_floating_point() else v for k, v in torch.load(p()).items()}, \
#     'data/efficientnet_lite0_imagenet_fp16.pth')"
set -u
export PYTHONUNBUFFERED=1 CLICKLABEL_MOBILENET_WEIGHTS=data/mobilenet_v2_imagenet_fp16.pth
export CLICKLABEL_EFFICIENTNET_LITE0_WEIGHTS=data/efficientnet_lite0_imagenet_fp16.pth
OUT=${OUT:-/tmp/device_out}
RUN=/tmp/run_gpu
DATA=data/duts_gpu
mkdir -p "$OUT"
if [ ! -d "$DATA" ] && [ -f data/duts_gpu.zip ]; then
    python3 -m zipfile -e data/duts_gpu.zip /tmp/ && DATA=/tmp/duts_gpu || exit 5
fi
nvidia-smi -L
python3 -c "import torch, cv2, scipy, numpy; print('torch', torch.__version__, 'cuda', torch.cuda.is_available(), 'cv2', cv2.__version__, 'numpy', numpy.__version__)" || exit 3
START=$(date +%s)
timeout "${TRAIN_TIMEOUT:-470}" python3 -m inference.train --config "${CONFIG:-gpu}" --device cuda --out "$RUN" \
    --data "$DATA/train" --val-data "$DATA/val" ${TRAIN_ARGS:-} 2>&1 | tr '\r' '\n' | grep -v '^\s*$' | tail -n 25
echo "training wall: $(( $(date +%s) - START )) s"
cp "$RUN/log.jsonl" "$RUN/config.json" "$OUT/" 2>/dev/null
ls "$RUN"/val_step*.pth | tail -n 4 | xargs -r -I{} cp {} "$OUT/"   # at most 8 files come back
grep '"val"' "$RUN/log.jsonl"
python3 -m inference.training.export --run "$RUN" --out "$OUT/clicklabel_gpu.pth" || exit 4
[ "${CHECKS:-1}" = 0 ] && { echo "total wall: $(( $(date +%s) - START )) s"; exit 0; }
timeout "${BENCH_TIMEOUT:-40}" python3 -m inference.bench --model "$OUT/clicklabel_gpu.pth" --device cuda \
    --modes nobrs,rgb-brs,distmap-brs,f-brs-a,f-brs-b,f-brs-c --size 480 --clicks 10 --json "$OUT/bench_cuda.json"
echo "total wall: $(( $(date +%s) - START )) s"
