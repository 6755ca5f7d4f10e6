#!/usr/bin/env bash
# The GPU run's second call (bench/gpu/README.md), with .gpu/c carried: unpacks each CUDA library
# built another way, .gpu/c/libggml-cuda-NAME.so.xz, to /tmp/cuda-variants/NAME/libggml-cuda.so, where
# device-run.sh finds it (NAME: legacy, the GGML_CUDA_NO_VMM build; cublas, the GGML_CUDA_FORCE_CUBLAS
# one). They travel apart from the checkout: beside it a library would take .gpu/b over the 64 MiB a
# call may carry.
set -eu
shopt -s nullglob
found=(.gpu/c/libggml-cuda-*.so.xz)
[ ${#found[@]} -gt 0 ] || { echo "no .gpu/c/libggml-cuda-NAME.so.xz carried" >&2; exit 1; }
for xz in "${found[@]}"; do
  name=${xz#.gpu/c/libggml-cuda-}; name=${name%.so.xz}
  mkdir -p "/tmp/cuda-variants/$name"
  python3 -c "import lzma, shutil, sys; shutil.copyfileobj(lzma.open(sys.argv[1]), open(sys.argv[2], 'wb'))" \
    "$xz" "/tmp/cuda-variants/$name/libggml-cuda.so"
done
ls -la /tmp/cuda-variants/*
