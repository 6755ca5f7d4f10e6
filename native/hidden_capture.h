// Copies the final hidden state ("result_norm", after the output norm) of each output token as
// llama.cpp computes it, through the scheduler's eval callback. In logits mode llama.cpp keeps
// only output tokens in that tensor, so the rows arrive in output order, one per scored pair.
#pragma once

#include <vector>

#include "ggml-backend.h"

namespace rerank {

class HiddenCapture {
 public:
  void reset() { rows_.clear(); }
  const float* row(size_t i, size_t width) const { return rows_.data() + i * width; }
  size_t floats() const { return rows_.size(); }

  // The callback and user data for llama_context_params.cb_eval / cb_eval_user_data.
  static bool onEval(ggml_tensor* t, bool ask, void* self);

 private:
  std::vector<float> rows_;
};

}  // namespace rerank
