#include "model_check.h"

#include <cmath>
#include <memory>
#include <stdexcept>

#include "backend.h"
#include "gguf.h"

namespace rerank {
namespace {

struct GgufFree {
  void operator()(gguf_context* g) const { gguf_free(g); }
};

constexpr uint32_t kMaxLayers = 512;  // llama.cpp's LLAMA_MAX_LAYERS

class Header {
 public:
  explicit Header(const std::string& path) {
    gguf_init_params params{true, nullptr};
    gguf_.reset(gguf_init_from_file(path.c_str(), params));
    if (!gguf_) {
      const std::string why = takeLastLlamaError();
      throw std::runtime_error("not a valid GGUF file: " + path + (why.empty() ? "" : ": " + why));
    }
  }

  std::string string(const std::string& key) const {
    const int64_t id = gguf_find_key(gguf_.get(), key.c_str());
    return id >= 0 && gguf_get_kv_type(gguf_.get(), id) == GGUF_TYPE_STRING ? gguf_get_val_str(gguf_.get(), id) : "";
  }

  // A numeric value as double, or NAN when absent or not a scalar number.
  double number(const std::string& key) const {
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

  bool has(const std::string& key) const { return gguf_find_key(gguf_.get(), key.c_str()) >= 0; }

 private:
  std::unique_ptr<gguf_context, GgufFree> gguf_;
};

}  // namespace

void checkModelFile(const std::string& path) {
  ensureBackend();
  clearLastLlamaError();
  const Header h(path);
  const std::string arch = h.string("general.architecture");
  if (arch.empty()) return;  // llama.cpp refuses it with its own message
  auto bad = [&](const std::string& what) { return std::runtime_error("malformed model " + path + ": " + what); };

  const double layers = h.number(arch + ".block_count");
  if (h.has(arch + ".block_count") && !(layers >= 1 && layers <= kMaxLayers)) {
    throw bad(arch + ".block_count must be from 1 to " + std::to_string(kMaxLayers));
  }
  const std::string eps = arch + ".attention.layer_norm_rms_epsilon";
  if (h.has(eps) && !(h.number(eps) >= 0 && std::isfinite(h.number(eps)))) {
    throw bad(eps + " must be a finite number >= 0");
  }
  const std::string rope = arch + ".rope.freq_base";
  if (h.has(rope) && !(h.number(rope) > 0 && std::isfinite(h.number(rope)))) {
    throw bad(rope + " must be a finite number > 0");
  }
}

int32_t modelFileType(const std::string& path) {
  ensureBackend();
  clearLastLlamaError();
  const double type = Header(path).number("general.file_type");
  return std::isfinite(type) ? static_cast<int32_t>(type) : -1;
}

}  // namespace rerank
