#!/usr/bin/env bash
# GPU end-to-end check on a lent GPU machine: `medsyn train` (bf16, gradient checkpointing) for STEPS steps, then
# `medsyn build --backend transformers --adapter` on CUDA; prints losses, held-out loss and a generated row.
#
# Prepare here (the GPU machine has no registry and no ../shared), into folders `.git/info/exclude` ignores:
#   .venv/bin/python -c "import sys; sys.path.insert(0, '.'); from tests.tiny_models import make_tiny_llama; make_tiny_llama('.gpu/tiny')"
#   .venv/bin/medsyn ift build --notes ../shared/data/rumedbench/RuMedTop3/train_v1.jsonl \
#       --markup ../shared/data/rumedbench/raw/rec_markup.csv --out .gpu/ift
#   .venv/bin/python -m pip wheel --no-deps -w .whl .      # plus wheels of trl, datasets, dill, multiprocess,
#   # pymorphy3, pymorphy3-dicts-ru, dawg2-python, datasketch for Python 3.12 (see the device tool's README)
# Run there (carry .whl and .gpu):
#   python3 -m pip install -q --no-index --no-deps --target /tmp/site .whl/*.whl && PYTHONPATH=/tmp/site \
#       bash benchmarks/gpu_check.sh
# Seen on one H200 (transformers 5.17): 40 steps of batch 16 in 7.0 s (5.7 steps/s), loss 6.38 -> 6.25, bf16;
# 32 notes generated with the adapter on CUDA.
set -uo pipefail
PY=${PY:-python3}
OUTDIR=${OUT:-/tmp/gpu-out}; mkdir -p "$OUTDIR"
W=/tmp/gpu-work; rm -rf $W; mkdir -p $W
R=$(pwd); cd /tmp  # not the checkout: its medsyn/ folder would shadow the installed package
export HF_HUB_OFFLINE=1 HF_HOME=$W/hf TOKENIZERS_PARALLELISM=false PYTHONUNBUFFERED=1
$PY -c "import torch; print('torch', torch.__version__, 'cuda', torch.cuda.is_available(), torch.cuda.get_device_name(0) if torch.cuda.is_available() else '')"
$PY -m medsyn.cli train --base-model $R/.gpu/tiny --data $R/.gpu/ift --out $W/adapter --max-steps ${STEPS:-40} \
  --per-device-batch-size 16 --effective-batch-size 16 --max-length 512 --learning-rate 2e-3 --warmup-steps 0 \
  --logging-steps 5 --save-steps 20 --eval-samples 4 --eval-max-new-tokens 32 --quiet 2>&1 | tail -5
cp $W/adapter/training_info.json $W/adapter/generator_eval.json "$OUTDIR"/ 2>/dev/null
$PY - <<'PY'
import json; info = json.load(open("/tmp/gpu-work/adapter/training_info.json"))
print({k: info.get(k) for k in ("global_step", "eval_loss", "precision", "bf16", "resumed_from")})
losses = [e["loss"] for e in info["log_history"] if "loss" in e]; print("losses", losses[:2], "...", losses[-2:])
PY
$PY -m medsyn.cli build --backend transformers --model $R/.gpu/tiny --adapter $W/adapter --out $W/corpus --n 32 \
  --batch-size 16 --max-new-tokens 48 --quiet --min-symptom-recall 0 --min-cyrillic-share 0 --min-words 0 2>&1 | grep -E "built|error|Error" | tail -3
$PY - <<'PY'
import pyarrow.parquet as pq, glob
t = pq.read_table(glob.glob("/tmp/gpu-work/corpus/unfiltered/*.parquet")[0]).to_pylist()
print(len(t), "rows;", t[0]["generation_model"], "|", t[0]["text"][:80])
PY
