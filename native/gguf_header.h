// A GGUF file's header (its keys, and on request its tensors' names, types and shapes), read as
// llama.cpp reads it, without the tensors' data.
#pragma once

#include <string>

#include "ggml.h"
#include "gguf.h"
#include "llama_handles.h"

namespace rerank {

class GgufHeader {
 public:
  // Throws std::runtime_error when the file is no GGUF, with llama.cpp's reason.
  explicit GgufHeader(const std::string& path, bool withTensors = false);

  bool has(const std::string& key) const { return gguf_find_key(gguf_.get(), key.c_str()) >= 0; }
  // A string value, or "" when absent or of another type.
  std::string string(const std::string& key) const;
  // A numeric value as double, or NAN when absent or not a scalar number.
  double number(const std::string& key) const;

  const gguf_context* gguf() const { return gguf_.get(); }
  // The tensors' metadata (withTensors), else null.
  ggml_context* tensors() const { return tensors_.get(); }

 private:
  GgufPtr gguf_;
  GgmlContextPtr tensors_;
};

}  // namespace rerank
