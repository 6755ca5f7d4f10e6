// The model's metadata (its GGUF keys) as llama.cpp holds it after loading.
#pragma once

#include <string>

#include "llama.h"

namespace rerank {

// The value of a key as text (numbers too), or "" when the model has none.
inline std::string metaString(const llama_model* model, const std::string& key) {
  char buf[256];
  return llama_model_meta_val_str(model, key.c_str(), buf, sizeof buf) < 0 ? std::string() : std::string(buf);
}

}  // namespace rerank
