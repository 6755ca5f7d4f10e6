#include "gguf_header.h"

#include <cmath>
#include <stdexcept>

#include "backend.h"

namespace rerank {

GgufHeader::GgufHeader(const std::string& path, bool withTensors) {
  ggml_context* tensors = nullptr;
  gguf_init_params params{true, withTensors ? &tensors : nullptr};
  gguf_.reset(gguf_init_from_file(path.c_str(), params));
  tensors_.reset(tensors);
  if (!gguf_) {
    const std::string why = takeLastLlamaError();
    throw std::runtime_error("not a valid GGUF file: " + path + (why.empty() ? "" : ": " + why));
  }
}

std::string GgufHeader::string(const std::string& key) const {
  const int64_t id = gguf_find_key(gguf_.get(), key.c_str());
  return id >= 0 && gguf_get_kv_type(gguf_.get(), id) == GGUF_TYPE_STRING ? gguf_get_val_str(gguf_.get(), id) : "";
}

double GgufHeader::number(const std::string& key) const {
  const int64_t id = gguf_find_key(gguf_.get(), key.c_str());
  if (id < 0) return NAN;
  switch (gguf_get_kv_type(gguf_.get(), id)) {
    case GGUF_TYPE_UINT32: return gguf_get_val_u32(gguf_.get(), id);
    case GGUF_TYPE_INT32: return gguf_get_val_i32(gguf_.get(), id);
    case GGUF_TYPE_UINT64: return static_cast<double>(gguf_get_val_u64(gguf_.get(), id));
    case GGUF_TYPE_FLOAT32: return gguf_get_val_f32(gguf_.get(), id);
    case GGUF_TYPE_FLOAT64: return gguf_get_val_f64(gguf_.get(), id);
    default: return NAN;
  }
}

}  // namespace rerank
