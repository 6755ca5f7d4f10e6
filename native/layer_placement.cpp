#include "layer_placement.h"

#include <algorithm>

namespace rerank {

LayerPlacement placeLayers(const llama_model* model, const llama_model_params& params) {
  LayerPlacement p;
  if (params.devices) {
    for (auto* d = params.devices; *d; ++d) p.devices.push_back(*d);
  } else {
    std::vector<ggml_backend_dev_t> integrated;
    for (size_t i = 0; i < ggml_backend_dev_count(); ++i) {
      ggml_backend_dev_t d = ggml_backend_dev_get(i);
      if (ggml_backend_dev_type(d) == GGML_BACKEND_DEVICE_TYPE_GPU) p.devices.push_back(d);
      if (ggml_backend_dev_type(d) == GGML_BACKEND_DEVICE_TYPE_IGPU) integrated.push_back(d);
    }
    if (p.devices.empty()) p.devices = integrated;
  }
  const int32_t layers = llama_model_n_layer(model);
  p.gpuLayers = p.devices.empty() ? 0 : std::min(params.n_gpu_layers, layers + 1);
  p.layersOnCpu = std::min(std::max(layers + 1 - p.gpuLayers, 0), layers);
  p.integrated = !p.devices.empty() && std::all_of(p.devices.begin(), p.devices.end(), [](ggml_backend_dev_t d) {
    return ggml_backend_dev_type(d) == GGML_BACKEND_DEVICE_TYPE_IGPU;
  });
  return p;
}

}  // namespace rerank
