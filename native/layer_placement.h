// Where llama.cpp puts a model's layers (llama_model_load_from_file, llama_model::load_tensors): on
// the devices given, else on every discrete GPU, else on the integrated ones; with n_gpu_layers n,
// the output layer and the last n - 1 repeating layers offloaded, the rest on the CPU. A layer's KV
// cells follow it. Known before the context exists: the KV cache's memory check needs it.
#pragma once

#include <cstdint>
#include <vector>

#include "llama.h"

namespace rerank {

struct LayerPlacement {
  std::vector<ggml_backend_dev_t> devices;  // the GPUs holding layers; none: everything on the CPU
  int32_t gpuLayers = 0;                    // offloaded layers, the output layer counted (ModelInfo's)
  int32_t layersOnCpu = 0;                  // repeating layers left on the CPU
  bool integrated = false;                  // every device an integrated GPU, whose memory is the host's
};

LayerPlacement placeLayers(const llama_model* model, const llama_model_params& params);

}  // namespace rerank
