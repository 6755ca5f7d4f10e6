#include "weights_at_load.h"

#include <cerrno>
#include <cstring>
#include <stdexcept>

#include "ggml.h"
#include "gguf.h"
#include "llama.h"
#include "model_quantize.h"

#ifdef __linux__
#include <sys/mman.h>
#include <unistd.h>
#endif

namespace rerank {
namespace {

struct GgufFree {
  void operator()(gguf_context* g) const { gguf_free(g); }
};
struct GgmlFree {
  void operator()(ggml_context* c) const { ggml_free(c); }
};

bool endsWith(const std::string& s, const char* suffix) {
  const size_t n = std::strlen(suffix);
  return s.size() >= n && s.compare(s.size() - n, n, suffix) == 0;
}

// A key's value as an unsigned integer, or -1 when absent or of another type.
int64_t unsignedValue(const gguf_context* g, const std::string& key) {
  const int64_t id = gguf_find_key(g, key.c_str());
  if (id < 0) return -1;
  switch (gguf_get_kv_type(g, id)) {
    case GGUF_TYPE_UINT32: return gguf_get_val_u32(g, id);
    case GGUF_TYPE_INT32: return gguf_get_val_i32(g, id);
    default: return -1;
  }
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
  ggml_context* meta = nullptr;
  gguf_init_params params{true, &meta};
  std::unique_ptr<gguf_context, GgufFree> gguf(gguf_init_from_file(path.c_str(), params));
  std::unique_ptr<ggml_context, GgmlFree> tensors(meta);
  if (!gguf || !meta) throw std::runtime_error("not a valid GGUF file: " + path);
  ConvertibleFile file;
  file.fileType = static_cast<int32_t>(unsignedValue(gguf.get(), "general.file_type"));
  const int64_t arch = gguf_find_key(gguf.get(), "general.architecture");
  if (arch >= 0 && gguf_get_kv_type(gguf.get(), arch) == GGUF_TYPE_STRING) {
    file.architecture = gguf_get_val_str(gguf.get(), arch);
    const auto value = [&](const char* key) { return unsignedValue(gguf.get(), file.architecture + "." + key); };
    const int64_t blocks = value("block_count");
    file.layers = blocks > 0 ? static_cast<uint32_t>(blocks) : 0;
    // Head sizes as llama.cpp reads them (kv_memory.cpp): key_length / value_length, else n_embd / n_head
    const int64_t heads = value("attention.head_count");
    const int64_t fallback = heads > 0 ? value("embedding_length") / heads : 0;
    const int64_t k = value("attention.key_length") > 0 ? value("attention.key_length") : fallback;
    const int64_t v = value("attention.value_length") > 0 ? value("attention.value_length") : fallback;
    const int64_t kvHeads = value("attention.head_count_kv") > 0 ? value("attention.head_count_kv") : heads;
    file.kvValuesPerCell = kvHeads > 0 && k > 0 && v > 0 ? static_cast<uint64_t>(kvHeads * (k + v)) : 0;
  }
  file.bf16Bytes = gguf_get_meta_size(gguf.get());
  for (ggml_tensor* t = ggml_get_first_tensor(meta); t != nullptr; t = ggml_get_next_tensor(meta, t)) {
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
