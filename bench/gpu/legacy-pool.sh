#!/usr/bin/env bash
# The GPU run's second call (bench/gpu/README.md), with .gpu/c carried: unpacks the legacy-pool build
# of the CUDA library (GGML_CUDA_NO_VMM) to /tmp/legacy-pool, where device-run.sh finds it. It travels
# alone: beside the checkout it would take .gpu/b over the 64 MiB a call may carry.
set -eu
mkdir -p /tmp/legacy-pool
python3 -c "import lzma, shutil, sys; shutil.copyfileobj(lzma.open(sys.argv[1]), open(sys.argv[2], 'wb'))" \
  .gpu/c/libggml-cuda-legacy.so.xz /tmp/legacy-pool/libggml-cuda.so
ls -la /tmp/legacy-pool
