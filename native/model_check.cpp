#include "model_check.h"

#include <cmath>
#include <stdexcept>

#include "backend.h"
#include "gguf_header.h"

namespace rerank {
namespace {

constexpr uint32_t kMaxLayers = 512;  // llama.cpp's LLAMA_MAX_LAYERS

}  // namespace

void checkModelFile(const std::string& path) {
  ensureBackend();
  clearLastLlamaError();
  const GgufHeader h(path);
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
  const double type = GgufHeader(path).number("general.file_type");
  return std::isfinite(type) ? static_cast<int32_t>(type) : -1;
}

}  // namespace rerank
