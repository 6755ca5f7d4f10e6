// The KV cache's size, known before llama.cpp allocates it. llama.cpp writes the whole cache when
// it creates a context, so a cache in host memory larger than the memory free would not fail with
// an error: the kernel's OOM killer would end the process. Such a load is refused, with the numbers.
// On a GPU an allocation that does not fit fails by itself, with an error.
#pragma once

#include <cstdint>
#include <string>

#include "llama.h"

namespace rerank {

struct KvLayout {
  uint32_t contexts = 1;         // a cache of this layout per context (decode_lanes.h)
  uint32_t streams = 1;          // 1: one unified cache
  uint64_t cellsPerStream = 0;   // llama.cpp rounds each stream up to 256 cells
  int32_t layers = 0;
  uint64_t valuesPerCell = 0;    // K and V of one layer: key and value lengths times the KV heads
  uint32_t bytesPerValue = 2;    // f16, or 4 for f32

  uint64_t bytes() const { return contexts * streams * cellsPerStream * static_cast<uint64_t>(layers) * valuesPerCell * bytesPerValue; }
  // The share of layersInHost of the layers (those not offloaded to a GPU).
  uint64_t bytesOfLayers(int32_t layersInHost) const;
  std::string describe() const;
};

// The cache a context of nCtx cells gets, as llama.cpp sizes it (llama_kv_cache): one unified
// stream when streams is 0, else that many streams sharing nCtx.
KvLayout kvLayout(const llama_model* model, uint32_t nCtx, uint32_t streams, ggml_type type);
// The same from the model's shape: its blocks and the K and V values of a cell in one of them.
KvLayout kvLayoutOf(int32_t layers, uint64_t valuesPerCell, uint32_t nCtx, uint32_t streams, ggml_type type);

// How many more contexts fit a device with `freeBytes` free when each takes `perContext` and
// `reserveBytes` must stay free (for the buffers a decode grows: ggml's CUDA pool); at most `wanted`.
uint32_t contextsThatFit(uint64_t freeBytes, uint64_t perContext, uint64_t reserveBytes, uint32_t wanted);

// Throws std::runtime_error naming what to lower when the host's share of the cache and of the
// weights (weightBytes for all layers: the file's tensors) is more than availableBytes (0: unknown,
// nothing checked).
void checkHostMemory(const KvLayout& kv, int32_t layersInHost, uint64_t weightBytes, uint64_t availableBytes, bool streamsOption);

}  // namespace rerank
