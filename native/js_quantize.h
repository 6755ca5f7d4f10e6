// quantizeModel(src, dst, type): llama.cpp's own quantizer over a GGUF file, so the tests can make
// every weight type (F16, BF16, Q4_K...) from the generated F32 model.
#pragma once

#include <napi.h>

namespace rerank {

// quantizeModel(src, dst, type): Promise<void>; type is one of F32, F16, BF16, Q8_0, Q4_K.
Napi::Value quantizeModel(const Napi::CallbackInfo& info);

}  // namespace rerank
