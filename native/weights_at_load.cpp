#include "weights_at_load.h"

#include <cerrno>
#include <cmath>
#include <cstring>
#include <stdexcept>

#include "gguf_header.h"
#include "llama.h"
#include "model_quantize.h"

#ifdef __linux__
#include <sys/mman.h>
#include <unistd.h>
#endif

namespace rerank {
namespace {

bool endsWith(const std::string& s, const char* suffix) {
  const size_t n = std::strlen(suffix);
  return s.size() >= n && s.compare(s.size() - n, n, suffix) == 0;
}

}  // namespace

bool convertsAtLoad(const AutoWeightsFacts& f) {
  const bool everyLayer = f.gpuLayers < 0 || static_cast<uint32_t>(f.gpuLayers) > f.layers;
  if (!f.inMemoryFiles || !f.discreteCudaDevices || !everyLayer) return false;
  if (!f.qwen3 || f.fileType != LLAMA_FTYPE_MOSTLY_Q8_0 || f.convertedBytes == 0) return false;
  if (f.convertedBytes > f.deviceFreeBytes / 2 || f.convertedBytes + f.contextBytes > f.deviceFreeBytes) return false;
  return f.hostMemoryBytes == 0 || f.convertedBytes <= f.hostMemoryBytes / 2;
}

ConvertibleFile describeForConversion(const std::string& path) {
  const GgufHeader header(path, true);
  // A count from the header, or 0 when absent or not a number
  const auto count = [&](const std::string& key) {
    const double v = header.number(key);
    return std::isfinite(v) && v > 0 ? static_cast<uint64_t>(v) : 0;
  };
  ConvertibleFile file;
  const double type = header.number("general.file_type");
  file.fileType = std::isfinite(type) ? static_cast<int32_t>(type) : -1;
  file.architecture = header.string("general.architecture");
  if (!file.architecture.empty()) {
    const std::string arch = file.architecture + ".";
    file.layers = static_cast<uint32_t>(count(arch + "block_count"));
    // Head sizes as llama.cpp reads them (kv_memory.cpp): key_length / value_length, else n_embd / n_head
    const uint64_t heads = count(arch + "attention.head_count");
    const uint64_t fallback = heads > 0 ? count(arch + "embedding_length") / heads : 0;
    const uint64_t k = count(arch + "attention.key_length") > 0 ? count(arch + "attention.key_length") : fallback;
    const uint64_t v = count(arch + "attention.value_length") > 0 ? count(arch + "attention.value_length") : fallback;
    const uint64_t kvHeads = count(arch + "attention.head_count_kv") > 0 ? count(arch + "attention.head_count_kv") : heads;
    file.kvValuesPerCell = kvHeads * (k + v);
  }
  file.bf16Bytes = gguf_get_meta_size(header.gguf());
  ggml_context* tensors = header.tensors();
  for (ggml_tensor* t = ggml_get_first_tensor(tensors); t != nullptr; t = ggml_get_next_tensor(tensors, t)) {
    const std::string name = ggml_get_name(t);
    const bool converted = ggml_n_dims(t) >= 2 && endsWith(name, "weight") && name.find("_norm.weight") == std::string::npos;
    file.bf16Bytes += converted ? static_cast<uint64_t>(ggml_nelements(t)) * 2 : ggml_nbytes(t);
  }
  return file;
}

bool WeightsInMemory::supported() {
#ifdef __linux__
  return true;
#else
  return false;
#endif
}

std::unique_ptr<WeightsInMemory> WeightsInMemory::convert(const std::string& source, int32_t threads) {
#ifdef __linux__
  const int fd = memfd_create("llama-rerank-bf16", MFD_CLOEXEC);
  if (fd < 0) throw std::runtime_error(std::string("could not make an in-memory file for the BF16 weights: ") + std::strerror(errno));
  std::unique_ptr<WeightsInMemory> file(new WeightsInMemory(fd));
  // The quantizer writes to a path: the in-memory file's, through this process's descriptor.
  quantizeModelFile(source, file->path(), LLAMA_FTYPE_MOSTLY_BF16, threads);
  return file;
#else
  (void)source;
  (void)threads;
  throw std::runtime_error("weights converted at load need an in-memory file, which only Linux has here");
#endif
}

WeightsInMemory::WeightsInMemory(int fd) : fd_(fd), path_("/proc/self/fd/" + std::to_string(fd)) {}

WeightsInMemory::~WeightsInMemory() {
#ifdef __linux__
  if (fd_ >= 0) close(fd_);
#endif
}

}  // namespace rerank
