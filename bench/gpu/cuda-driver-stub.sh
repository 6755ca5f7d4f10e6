#!/usr/bin/env bash
# Builds a link-time stand-in for the CUDA driver library (libcuda.so.1) and prints its path.
#   stub=$(bash bench/gpu/cuda-driver-stub.sh)
#   LLAMA_RERANK_CMAKE_ARGS="CUDAToolkit_ROOT=$CUDAToolkit_ROOT CUDA_cuda_driver_LIBRARY=$stub" ...
# Why: ggml-cuda links the driver for its VMM memory pool, the one a build with a full toolkit (the
# prebuilt packages) gets. A machine without the driver or the toolkit's stubs/ folder could only build
# with GGML_CUDA_NO_VMM=ON, whose legacy pool allocates with cudaMalloc whenever a call needs a larger
# scratch buffer than it holds: not the library users run. The stand-in exports every CUresult function
# of the toolkit's cuda.h under the driver's soname, as the toolkit's own stubs do; it is only linked
# against, never loaded: at run time the dynamic loader finds the machine's real libcuda.so.1.
set -euo pipefail
tk=${CUDAToolkit_ROOT:-${CUDA_HOME:-/usr/local/cuda}}
out=${CUDA_DRIVER_STUB:-/tmp/cuda-driver-stub}
header=$(ls "$tk/include/cuda.h" "$tk/targets/x86_64-linux/include/cuda.h" 2>/dev/null | head -1)
[ -n "$header" ] || { echo "no cuda.h under $tk (set CUDAToolkit_ROOT)" >&2; exit 1; }
mkdir -p "$out"
echo '#include <cuda.h>' | ${CC:-cc} -E -I"$(dirname "$header")" -x c - \
  | grep -oE '\bCUresult[[:space:]]+cu[A-Z][A-Za-z0-9_]*[[:space:]]*\(' \
  | sed -E 's/^CUresult[[:space:]]+//; s/[[:space:]]*\($//' | sort -u \
  | awk '{ print "int " $1 "(void) { return 999; /* CUDA_ERROR_UNKNOWN: never called */ }" }' > "$out/libcuda-stub.c"
[ -s "$out/libcuda-stub.c" ] || { echo "found no driver functions in $header" >&2; exit 1; }
${CC:-cc} -shared -fPIC -o "$out/libcuda.so" -Wl,-soname,libcuda.so.1 "$out/libcuda-stub.c"
echo "$out/libcuda.so"
