// How a pair's relevance is read from the model at its last token. Qwen3-Reranker GGUFs come in
// two kinds, and both give p(yes) = softmax(l_yes, l_no)[yes] for the same weights:
//  - Classifier: llama.cpp's converter output (pooling RANK, 2-row cls.output = the "yes"/"no"
//    rows of the LM head). We apply that head to the last token's final hidden state ourselves,
//    which is what llama.cpp's RANK pooling computes, without paying for its full-vocabulary
//    output layer on every token (embedding mode makes every token an output).
//  - CausalLm: a plain causal-LM conversion; the last token's logits of "yes" and "no".
#pragma once

#include <string>
#include <vector>

#include "llama.h"

namespace rerank {

class ScoreHead {
 public:
  enum class Kind { Classifier, CausalLm };

  // Throws std::runtime_error (with the reason) for a GGUF that is not a Qwen3 reranker.
  static ScoreHead detect(const llama_model* model, const std::string& path);

  Kind kind() const { return kind_; }
  const char* kindName() const { return kind_ == Kind::Classifier ? "rank" : "causal"; }
  // The classifier reads the final hidden state, which llama.cpp does not expose in logits mode.
  bool needsHiddenState() const { return kind_ == Kind::Classifier; }

  float fromLogits(const float* logits) const;
  float fromHidden(const float* hidden) const;

  llama_token yesToken() const { return yes_; }
  llama_token noToken() const { return no_; }
  int32_t width() const { return nEmbd_; }

 private:
  Kind kind_ = Kind::CausalLm;
  llama_token yes_ = LLAMA_TOKEN_NULL;
  llama_token no_ = LLAMA_TOKEN_NULL;
  int32_t nEmbd_ = 0;
  std::vector<float> weights_;  // [yes row, no row], nEmbd_ each
  float biasYes_ = 0.0f;
  float biasNo_ = 0.0f;
};

}  // namespace rerank
