// llama.cpp's quantizer over whole files: the `weights` option's copies (lib/weight-copy.ts, through
// js_quantize), BF16 weights made at load (weights_at_load.h), the tests' weight types.
#pragma once

#include <cstdint>
#include <string>

#include "llama.h"

namespace rerank {

// Writes src's weights in `type` to dst: every 2-D weight in that type ("pure"), a quantized source
// dequantized first. threads 0: one per core. Throws std::runtime_error on failure.
void quantizeModelFile(const std::string& src, const std::string& dst, llama_ftype type, int32_t threads);

}  // namespace rerank
