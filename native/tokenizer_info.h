// What lib/normalize.ts needs to give llama.cpp text as the model's official tokenizer would see it.
#pragma once

#include <string>
#include <vector>

#include "llama.h"

namespace rerank {

struct TokenizerInfo {
  std::string pre;  // the GGUF's tokenizer.ggml.pre: which official tokenizer the vocabulary is ("qwen2")
  // Added tokens llama.cpp matches in text even with special-token parsing off (<think>, <tool_call>):
  // the official tokenizer takes them out of the text before it normalizes the rest.
  std::vector<std::string> userDefined;
};

TokenizerInfo describeTokenizer(const llama_model* model);

}  // namespace rerank
