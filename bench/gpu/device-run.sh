#!/usr/bin/env bash
# The GPU run's one command (bench/gpu/README.md), on the lent machine after remote.sh's stage a:
#   bash .gpu/b/remote.sh b bash bench/gpu/device-run.sh
# remote.sh unpacks the checkout (dist/ prebuilt: no npm or tsc here), puts node on the PATH and
# names the CUDA library in LLAMA_RERANK_BACKEND_PATH. In about 6 minutes (8 at most) this records
# the machine, writes the pairs' token ids, runs the PyTorch baselines on them, the GPU bench beside
# node-llama-cpp (with the baselines in its report), a profile of one G100 request, the CPU-vs-CUDA
# agreement check and the packing A/B; each step has a time limit, and a failed step does not stop
# the next.
# What comes back: at most 8 files in $OUT.
# For a check elsewhere: BACKEND (default cuda), BENCH_ARGS (more arguments for run.js, e.g.
# "--quick --workloads D"), BASELINE_ARGS (e.g. "--device cpu --tiny"), AGREEMENT_MODELS (tiny,0.6b).
set -u
OUT=${OUT:-/tmp/device-out}
mkdir -p "$OUT"
exec > >(tee -a "$OUT/device-run.log") 2>&1
DEADLINE=$((SECONDS + ${DEVICE_RUN_SECONDS:-470}))
TOKENS=/tmp/bench-tokens.json
BACKEND=${BACKEND:-cuda}
read -r -a more <<<"${BENCH_ARGS:-}"
read -r -a baseline_more <<<"${BASELINE_ARGS:-}"
export PATH=$PATH:/usr/local/cuda/bin:$(ls -d /opt/nvidia/nsight-compute/*/ 2>/dev/null | tail -1)
[ -s bench/gpu/revision.txt ] && export LLAMA_RERANK_REVISION=$(cat bench/gpu/revision.txt)

# step NAME SECONDS CMD...: runs CMD for at most SECONDS (less when the run's deadline is nearer).
step() {
  local name=$1 limit=$2 t0=$SECONDS rc; shift 2
  local left=$((DEADLINE - SECONDS - 5))
  [ "$left" -lt "$limit" ] && limit=$left
  if [ "$limit" -lt 15 ]; then echo "== $name: skipped, the run's time is spent"; return 0; fi
  echo "== $name (at most ${limit} s): $*"
  timeout --kill-after=10 "$limit" "$@"; rc=$?
  echo "== $name: exit $rc after $((SECONDS - t0)) s"
}

echo "== machine"
nvidia-smi --query-gpu=name,memory.total,driver_version,clocks.max.sm,power.limit --format=csv
nvidia-smi --query-gpu=clocks.sm,clocks.mem,temperature.gpu,utilization.gpu --format=csv,noheader
echo "node $(node -v); $(python3 -c 'import torch, transformers; print("torch", torch.__version__, "transformers", transformers.__version__)' 2>&1 | tail -1)"
echo "ncu: $(command -v ncu || echo none); nsys: $(command -v nsys || echo none); cuda library: ${LLAMA_RERANK_BACKEND_PATH:-unset}"
nproc; free -g | head -2

step tokens 150 node dist/bench/run.js --backend "$BACKEND" "${more[@]}" --tokens "$TOKENS" --tokens-only
step baseline 150 env PYTHONUNBUFFERED=1 python3 bench/baselines/qwen3_torch.py --tokens "$TOKENS" --out "$OUT/torch.json" "${baseline_more[@]}"
baseline=(); [ -s "$OUT/torch.json" ] && baseline=(--baseline "$OUT/torch.json")
stamp=$(mktemp)
step bench 300 node dist/bench/run.js --backend "$BACKEND" "${more[@]}" "${baseline[@]}" \
  --configs weights-bf16,streams,streams-batch8192,graphs-off,graph-opt,fusion-off,pdl-off,fa-off,no-share,batch4096,weights-f16
# this run's report only (a committed one of the same day would be older than the stamp)
latest=$(find bench/results -name "*-$BACKEND*.json" -newer "$stamp" | head -1)
[ -n "$latest" ] && cp "${latest%.json}".{json,md,svg} "$OUT/"
# where G100's time goes (issue 9: find it before changing things), before what the deadline may cut
step profile 90 node dist/bench/profile.js --backend "$BACKEND" --out "$OUT/profile-g100.md"
step agreement 90 node dist/bench/agreement.js --backend "$BACKEND" --models "${AGREEMENT_MODELS:-tiny,0.6b}" --out "$OUT/agreement.json"
# concurrent requests decoded alone vs packed (a GPU's default) vs as one request: issue 9's throughput goal
step packing 90 node dist/bench/packing.js --shape 0.6b --gpu "$BACKEND" --requests 32 --docs 8 --words 90 --kv-streams 16

echo "== done after $SECONDS s; in \$OUT:"; ls -la "$OUT"
if [ -n "$latest" ]; then sed -n '1,20p' "${latest%.json}.md"; else echo "no bench report"; fi
