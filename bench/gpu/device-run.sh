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
# For a shorter run: STEPS (the steps to run, e.g. "tokens,baseline,bench,agreement"; default all)
# and CONFIGS (the bench's --configs; with BENCH_ARGS="--configs-everywhere" on every workload);
# OUTSIDE_WORKLOADS, the workloads of the outside-decode steps (default G100,G16).
set -u
OUT=${OUT:-/tmp/device-out}
mkdir -p "$OUT"
exec > >(tee -a "$OUT/device-run.log") 2>&1
DEADLINE=$((SECONDS + ${DEVICE_RUN_SECONDS:-470}))
TOKENS=/tmp/bench-tokens.json
BACKEND=${BACKEND:-cuda}
OUTSIDE_WORKLOADS=${OUTSIDE_WORKLOADS:-G100,G16}
read -r -a more <<<"${BENCH_ARGS:-}"
read -r -a baseline_more <<<"${BASELINE_ARGS:-}"
export PATH=$PATH:/usr/local/cuda/bin:$(ls -d /opt/nvidia/nsight-compute/*/ 2>/dev/null | tail -1)
[ -s bench/gpu/revision.txt ] && export LLAMA_RERANK_REVISION=$(cat bench/gpu/revision.txt)

# step NAME SECONDS CMD...: runs CMD for at most SECONDS (less when the run's deadline is nearer).
step() {
  local name=$1 limit=$2 t0=$SECONDS rc; shift 2
  if [[ ",${STEPS:-all}," != *",all,"* && ",${STEPS:-}," != *",$name,"* ]]; then echo "== $name: not in STEPS"; return 0; fi
  local left=$((DEADLINE - SECONDS - 5))
  [ "$left" -lt "$limit" ] && limit=$left
  if [ "$limit" -lt 15 ]; then echo "== $name: skipped, the run's time is spent"; return 0; fi
  echo "== $name (at most ${limit} s): $*"
  timeout --kill-after=10 "$limit" "$@"; rc=$?
  echo "== $name: exit $rc after $((SECONDS - t0)) s"
}

# The CUDA library remote.sh names is the one users get, linked with the driver for ggml's VMM memory
# pool (bench/gpu/README.md). Builds of it made another way, when the call before unpacked them
# (variants.sh): a GGML_CUDA_NO_VMM one (the legacy pool) runs as the bench's pool-legacy configuration
# and in the profile; a GGML_CUDA_FORCE_CUBLAS one as the cublas configurations and in an agreement
# check of its own. The preloaded CUDA API tracer (cuda-api-trace.c) is built here if it was not
# packed built.
legacy=/tmp/cuda-variants/legacy/libggml-cuda.so
[ -s "$legacy" ] || legacy=""
cublas=/tmp/cuda-variants/cublas/libggml-cuda.so
[ -s "$cublas" ] || cublas=""
tracer=$PWD/bench/gpu/cuda-api-trace.so
[ -s "$tracer" ] || cc -O2 -shared -fPIC -o "$tracer" bench/gpu/cuda-api-trace.c -ldl -lpthread || tracer=""
# doctor --json names the backend models load onto: cuda when the library loads and computes here
loads_cuda() {
  LLAMA_RERANK_BACKEND_PATH=$1 node dist/lib/cli/main.js doctor --json 2>/dev/null \
    | node -e 'let s = ""; process.stdin.on("data", (d) => (s += d)).on("end", () => process.exit(JSON.parse(s).selected === "cuda" ? 0 : 1))'
}

echo "== machine"
nvidia-smi --query-gpu=name,memory.total,driver_version,clocks.max.sm,power.limit --format=csv
nvidia-smi --query-gpu=clocks.sm,clocks.mem,temperature.gpu,utilization.gpu --format=csv,noheader
echo "node $(node -v); $(python3 -c 'import torch, transformers; print("torch", torch.__version__, "transformers", transformers.__version__)' 2>&1 | tail -1)"
echo "ncu: $(command -v ncu || echo none); nsys: $(command -v nsys || echo none); cuda library: ${LLAMA_RERANK_BACKEND_PATH:-unset}"
nproc; free -g | head -2
if [ "$BACKEND" = cuda ] && ! loads_cuda "${LLAMA_RERANK_BACKEND_PATH:-}"; then
  echo "== the CUDA library ${LLAMA_RERANK_BACKEND_PATH:-} does not load here:"; node dist/lib/cli/main.js doctor
  if [ -n "$legacy" ] && loads_cuda "$legacy"; then
    echo "== measuring the legacy-pool build instead"
    export LLAMA_RERANK_BACKEND_PATH=$legacy; legacy=""
    for d in node_modules/@node-llama-cpp/linux-x64-cuda/bins/*/; do [ -d "$d" ] && cp "$LLAMA_RERANK_BACKEND_PATH" "$d"; done
  else
    echo "== no CUDA library loads here: stopping before the GPU steps (device time is short)"; exit 4
  fi
fi
echo "cuda library: ${LLAMA_RERANK_BACKEND_PATH:-unset}; legacy-pool build: ${legacy:-none}; cuBLAS build: ${cublas:-none}; API tracer: ${tracer:-none}"
configs=${CONFIGS:-weights-stored,contexts-2,streams,streams-batch8192,graphs-off,graph-opt,fusion-off,pdl-off,fa-off,no-share,batch4096,weights-f16}
[ -n "$legacy" ] && configs=pool-legacy,$configs && export LLAMA_RERANK_LEGACY_POOL_LIBRARY=$legacy
if [ -n "$cublas" ]; then
  export LLAMA_RERANK_CUBLAS_LIBRARY=$cublas
elif [[ ",$configs" == *",cublas"* ]]; then  # without the library they could not run, and the bench would refuse them all
  echo "== no cuBLAS build unpacked (variants.sh): its configurations are left out"
  configs=$(tr ',' '\n' <<<"$configs" | grep -v '^cublas' | paste -sd, -)
fi

step tokens 150 node dist/bench/run.js --backend "$BACKEND" "${more[@]}" --tokens "$TOKENS" --tokens-only
step baseline 150 env PYTHONUNBUFFERED=1 python3 bench/baselines/qwen3_torch.py --tokens "$TOKENS" --out "$OUT/torch.json" "${baseline_more[@]}"
baseline=(); [ -s "$OUT/torch.json" ] && baseline=(--baseline "$OUT/torch.json")
stamp=$(mktemp)
step bench 300 node dist/bench/run.js --backend "$BACKEND" "${more[@]}" "${baseline[@]}" --configs "$configs"
# this run's report only (a committed one of the same day would be older than the stamp)
latest=$(find bench/results -name "*-$BACKEND*.json" -newer "$stamp" | head -1)
[ -n "$latest" ] && cp "${latest%.json}".{json,md,svg} "$OUT/"
# where G100's time goes (issue 9: find it before changing things), before what the deadline may cut
trace=(); [ -n "$tracer" ] && trace=(--api-trace "$tracer")
step profile 90 node dist/bench/profile.js --backend "$BACKEND" --out "$OUT/profile-g100.md" "${trace[@]}"
# the same request's CUDA calls on the legacy pool, appended to the same file (8 files come back at most)
if [ -n "$legacy" ] && [ -n "$tracer" ]; then
  rm -f /tmp/profile-legacy.md
  step profile-legacy 40 env LLAMA_RERANK_BACKEND_PATH="$legacy" node dist/bench/profile.js --backend "$BACKEND" \
    --out /tmp/profile-legacy.md --api-trace "$tracer" --no-kernels
  [ -s /tmp/profile-legacy.md ] && { printf '\n\n## The legacy-pool build (GGML_CUDA_NO_VMM)\n\n'; cat /tmp/profile-legacy.md; } >> "$OUT/profile-g100.md"
fi
rm -f "$OUT/agreement.json"  # the cuBLAS checks below compare with this run's, never an older one
step agreement 90 node dist/bench/agreement.js --backend "$BACKEND" --models "${AGREEMENT_MODELS:-tiny,0.6b}" --out "$OUT/agreement.json"
# the cuBLAS build's scores with BF16 products and with ggml's own choice of type ("auto": F16 for
# quantized weights, F32 where llama.cpp asks for it), as the cublas-bf16 and cublas configurations
# run: against the CPU, and against the library users get (--against)
if [ -n "$cublas" ]; then
  against=(); [ -s "$OUT/agreement.json" ] && against=(--against "$OUT/agreement.json")  # absent when that step failed
  for type in bf16 auto; do
    step "agreement-cublas-$type" 60 env LLAMA_RERANK_BACKEND_PATH="$cublas" GGML_CUDA_CUBLAS_COMPUTE_TYPE=$type node dist/bench/agreement.js \
      --backend "$BACKEND" --models "${AGREEMENT_MODELS:-tiny,0.6b}" --types Q8_0 "${against[@]}" --out "$OUT/agreement-cublas-$type.json"
  done
fi
# concurrent requests decoded alone vs packed (a GPU's default) vs as one request: issue 9's throughput goal
step packing 90 node dist/bench/packing.js --shape 0.6b --gpu "$BACKEND" --requests 32 --docs 8 --words 90 --kv-streams 16
# reuseGraphs against the default, one request at a time in one process, alternating: on one context
# (where the host's share of a call shows most) and on the default three
step reuse-graphs 45 node dist/bench/reuse-graphs.js --backend "$BACKEND" --shape 0.6b --contexts 1 --workloads G100,S1
step reuse-graphs-3 45 node dist/bench/reuse-graphs.js --backend "$BACKEND" --shape 0.6b --contexts 3 --workloads G100,S1
# last, the first cut when time runs short: what a G100 request waits for outside llama_decode (its tokenizing), on up to 16 tokenizing threads and on 1
step outside-decode 40 node dist/bench/outside-decode.js --backend "$BACKEND" --workloads "$OUTSIDE_WORKLOADS"
# the same without tokenizing ahead (README "Tokenizing ahead"): every document tokenized first
step outside-decode-tokenize-first 40 node dist/bench/outside-decode.js --backend "$BACKEND" --tokenize-ahead off --workloads "$OUTSIDE_WORKLOADS"
step outside-decode-1-thread 40 node dist/bench/outside-decode.js --backend "$BACKEND" --threads 1 --workloads "$OUTSIDE_WORKLOADS"
# KV streams (16, their 4096-token calls, tokenizing ahead): a request's calls, tokens and graphs reused, and its time outside decoding
step outside-decode-streams 40 node dist/bench/outside-decode.js --backend "$BACKEND" --kv-streams 16 --workloads G100,S1,L

echo "== done after $SECONDS s; in \$OUT:"; ls -la "$OUT"
if [ -n "$latest" ]; then sed -n '1,20p' "${latest%.json}.md"; else echo "no bench report"; fi
