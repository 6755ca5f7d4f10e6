// Owning wrappers for llama.cpp handles: every handle is freed exactly once, on every path.
#pragma once

#include <memory>
#include <vector>

#include "llama.h"

namespace rerank {

struct ModelDeleter {
  void operator()(llama_model* m) const { llama_model_free(m); }
};
struct ContextDeleter {
  void operator()(llama_context* c) const { llama_free(c); }
};
using ModelPtr = std::unique_ptr<llama_model, ModelDeleter>;
using ContextPtr = std::unique_ptr<llama_context, ContextDeleter>;

// A llama_batch that owns its arrays, with one sequence id per token.
class Batch {
 public:
  explicit Batch(int32_t capacity) : capacity_(capacity), batch_(llama_batch_init(capacity, 0, 1)) {}
  ~Batch() { llama_batch_free(batch_); }
  Batch(const Batch&) = delete;
  Batch& operator=(const Batch&) = delete;

  void clear() { batch_.n_tokens = 0; }
  bool full() const { return batch_.n_tokens >= capacity_; }
  int32_t size() const { return batch_.n_tokens; }
  int32_t room() const { return capacity_ - batch_.n_tokens; }

  void add(llama_token token, llama_pos pos, llama_seq_id seq, bool output) {
    const int32_t i = batch_.n_tokens++;
    batch_.token[i] = token;
    batch_.pos[i] = pos;
    batch_.n_seq_id[i] = 1;
    batch_.seq_id[i][0] = seq;
    batch_.logits[i] = output;
  }

  const llama_batch& get() const { return batch_; }

 private:
  int32_t capacity_;
  llama_batch batch_;
};

}  // namespace rerank
