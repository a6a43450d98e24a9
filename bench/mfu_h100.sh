#!/usr/bin/env bash
# Issue 23 on one H100 or H200 (bf16), in under 10 minutes: the pre-training speed settings.
#   speed    BERT-base 256 x 128: today's step, layers compiled, the whole model compiled with
#            the fixed-size head, all settings on (+ CUDA graphs), BertForMaskedLM compiled the
#            same way, the attention kernels, the fastest row's profile split   (timeout 280 s)
#   toggles  BERT-base 256 x 128: each setting alone on the whole-model row (row 1: off, the
#            others on, so "vs row 1" is the setting's speed-up)                 (timeout 120 s)
#   loss     the course preset cut to 1,160 steps (a fifth): today / all on (dropout 0 included),
#            held-out loss, step time (real tokens/s)                            (timeout 150 s)
#   autotune BERT-base, all on + max-autotune (not in the default: minutes of kernel search)
# STAGES picks them (default "speed toggles loss"). Results go to $OUT (or ./gpu_results).
#   bash bench/mfu_h100.sh                    # then copy $OUT/*.txt to bench/results/ with the card's name
set -uo pipefail
cd "$(dirname "$0")/.."
OUT=${OUT:-gpu_results}; mkdir -p "$OUT"
STAGES=${STAGES:-"speed toggles loss"}
PY=${PY:-python3}
export PYTHONPATH=$PWD${PYTHONPATH:+:$PYTHONPATH} PYTHONUNBUFFERED=1
has() { [[ " $STAGES " == *" $1 "* ]]; }
quiet() { grep -v -i -E "warning|^\s*$|USDT"; }
nvidia-smi -L | tee "$OUT/device.txt"
$PY -c "import torch, transformers; print('torch', torch.__version__, 'transformers', transformers.__version__)" \
    | tee -a "$OUT/device.txt"
BENCH="$PY bench/pretrain_speed.py --settings --configs bert-base --batch 256"
if has speed; then
  timeout 280 $BENCH --only "today,layers,whole model, fixed,all on" --skip max-autotune 2>&1 | quiet \
      | tee "$OUT/mfu_bert_base.txt"
fi
if has toggles; then
  timeout 120 $BENCH --only "whole model, fixed,  +,  -" --rows-only 2>&1 | quiet | tee "$OUT/mfu_bert_base_toggles.txt"
fi
if has loss; then
  timeout 150 $PY bench/pretrain_settings_loss.py --variants today,fast --max-steps 1160 --eval-every 290 --compile \
      --out "$OUT/runs" \
      2>&1 | quiet | tee "$OUT/settings_loss_course.txt"
  rm -rf "$OUT/runs"
fi
if has autotune; then
  timeout 400 $BENCH --only "all on: ,max-autotune" --rows-only 2>&1 | quiet | tee "$OUT/mfu_bert_base_autotune.txt"
fi
true
