// Process-wide llama.cpp state: backend initialisation, log routing, device discovery.
#pragma once

#include <atomic>
#include <string>
#include <vector>

#include "ggml-backend.h"

namespace rerank {

// Initialises llama.cpp once per process; safe to call from any thread. With loadable backends
// (GGML_BACKEND_DL) it loads those in `libDir` (the addon's folder: the best CPU variant, and any
// GPU backend shipped beside it).
void ensureBackend(const std::string& libDir = "");

// Loads a ggml backend library (a GPU backend from another package); returns its registry name
// ("CUDA", "Vulkan"...), or throws std::runtime_error when it cannot be loaded.
std::string loadBackendLibrary(const std::string& path);

// The errors llama.cpp logged on this thread since the last take or clear, to explain a failed
// load or decode. Clear before each call whose failure is explained this way, so that an earlier,
// unrelated error cannot pass for its cause.
std::string takeLastLlamaError();
void clearLastLlamaError();

// For its lifetime, the errors llama.cpp logs on this thread once *stopped is set are neither
// printed nor kept: a call stopped on purpose (an abort callback that said stop) is logged by
// llama.cpp as a failure, and is none.
class QuietLlamaErrors {
 public:
  explicit QuietLlamaErrors(const std::atomic<bool>* stopped);
  ~QuietLlamaErrors();
  QuietLlamaErrors(const QuietLlamaErrors&) = delete;
  QuietLlamaErrors& operator=(const QuietLlamaErrors&) = delete;

 private:
  const std::atomic<bool>* previous_;
};

struct DeviceInfo {
  std::string name;         // e.g. "CUDA0", "Vulkan0", "CPU"
  std::string description;  // the device's own name, e.g. the GPU model
  std::string backend;      // the backend registry name: "CUDA", "Vulkan", "Metal", "CPU", ...
  std::string type;         // "cpu" | "gpu" | "igpu" | "accel"
  size_t memoryFree = 0;
  size_t memoryTotal = 0;
};

std::vector<DeviceInfo> listDevices();

// The GPU devices of one backend ("cuda", "vulkan", "metal"), case-insensitively.
std::vector<ggml_backend_dev_t> gpuDevicesOf(const std::string& backend);
// Those of them named (ggml's names: "CUDA0", "Vulkan1"); throws naming a device it does not have.
std::vector<ggml_backend_dev_t> gpuDevicesNamed(const std::string& backend, const std::vector<std::string>& names);

}  // namespace rerank
