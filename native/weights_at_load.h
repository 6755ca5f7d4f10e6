// BF16 weights made from a Q8_0 file at load, in memory, for CUDA's tensor cores (weights: 'auto').
//
// ggml-cuda multiplies Q8_0 weights with its own int8 kernels, BF16 ones with cuBLAS on the tensor
// cores. On an H200, a BF16 copy of the 0.6B Q8_0 model took 0.69-0.83x the time of the Q8_0 file on
// every workload of the GPU suite (bench/results/2026-11-29-cuda-contexts-default.md). The copy is
// llama.cpp's own quantizer's (model_quantize.h: the Q8_0 weights dequantized, rounded to BF16),
// written to an anonymous in-memory file (Linux's memfd) that the load reads without mapping it, so
// the file is gone once the model is loaded and nothing is written to disk. The token embeddings,
// which llama.cpp keeps on the CPU, then live in process memory in BF16 (a mapped file's pages before).
// Known gap: the quantizer and the loader reopen the file by its /proc path without O_CLOEXEC, so
// a child process started during the load (seconds) inherits a descriptor and keeps the file alive.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

namespace rerank {

// What decides whether weights: 'auto' converts the file (convertsAtLoad).
struct AutoWeightsFacts {
  bool inMemoryFiles = false;     // the platform has anonymous in-memory files (Linux)
  bool discreteCudaDevices = false;  // the layers go to CUDA devices, none of them integrated
  int32_t gpuLayers = -1;         // the load option: -1 every layer
  uint32_t layers = 0;            // the model's blocks
  bool qwen3 = false;             // the header's architecture: others are refused after loading
  int32_t fileType = -1;          // the header's general.file_type (a llama_ftype)
  uint64_t convertedBytes = 0;    // the BF16 file's size
  uint64_t contextBytes = 0;      // one context's KV cache and a reserve for its compute buffers
  uint64_t deviceFreeBytes = 0;   // free memory of the devices the layers go to, together
  uint64_t hostMemoryBytes = 0;   // memory the process may still use; 0: unknown
};

// 'auto' converts a Qwen3 Q8_0 file (the measured case; a file of another type stays as it is)
// whose every layer goes to discrete CUDA devices (llama.cpp counts the output layer too: more
// gpuLayers than blocks), when the BF16 weights take at most half of those devices' free memory and
// leave room for a context (a load whose first context does not fit fails; the stored weights might
// have left it room), and take at most half of the host memory the process may still use (the
// in-memory file holds them during the load).
bool convertsAtLoad(const AutoWeightsFacts& facts);

// From the file's header: its architecture, type, blocks, cache shape and a BF16 copy's size (each weight the quantizer
// converts at 2 bytes an element: 2-D or more, named "...weight", not a norm; the rest as stored).
struct ConvertibleFile {
  std::string architecture;
  int32_t fileType = -1;
  uint32_t layers = 0;
  uint64_t kvValuesPerCell = 0;  // K and V values of a cell in one layer (kv_memory.h)
  uint64_t bf16Bytes = 0;
};
// Throws std::runtime_error when the file is no GGUF.
ConvertibleFile describeForConversion(const std::string& path);

// A BF16 copy of a model file in an anonymous in-memory file, for the time of a load. RAII: the
// destructor closes it, and the memory goes back once nothing else holds it.
class WeightsInMemory {
 public:
  static bool supported();
  // Throws std::runtime_error when the platform has no in-memory files or the conversion fails.
  static std::unique_ptr<WeightsInMemory> convert(const std::string& source, int32_t threads);
  ~WeightsInMemory();
  WeightsInMemory(const WeightsInMemory&) = delete;
  WeightsInMemory& operator=(const WeightsInMemory&) = delete;

  // A path that opens the in-memory file, while this object lives.
  const std::string& path() const { return path_; }

 private:
  explicit WeightsInMemory(int fd);
  int fd_ = -1;
  std::string path_;
};

}  // namespace rerank
