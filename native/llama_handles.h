// Owning wrappers for llama.cpp and ggml handles: every handle is freed exactly once, on every path.
#pragma once

#include <memory>
#include <stdexcept>
#include <vector>

#include "ggml.h"
#include "gguf.h"
#include "llama.h"

namespace rerank {

struct ModelDeleter {
  void operator()(llama_model* m) const { llama_model_free(m); }
};
struct ContextDeleter {
  void operator()(llama_context* c) const { llama_free(c); }
};
struct GgufDeleter {
  void operator()(gguf_context* g) const { gguf_free(g); }
};
struct GgmlContextDeleter {
  void operator()(ggml_context* c) const { ggml_free(c); }
};
using ModelPtr = std::unique_ptr<llama_model, ModelDeleter>;
using ContextPtr = std::unique_ptr<llama_context, ContextDeleter>;
using GgufPtr = std::unique_ptr<gguf_context, GgufDeleter>;
using GgmlContextPtr = std::unique_ptr<ggml_context, GgmlContextDeleter>;

// A llama_batch that owns its arrays. A token belongs to one sequence, or to several (a shared
// prefix decoded in the same call as the pairs that continue it: one KV cell each sequence sees).
class Batch {
 public:
  Batch(int32_t capacity, int32_t maxSeqsPerToken)
      : capacity_(capacity), maxSeqsPerToken_(maxSeqsPerToken), batch_(llama_batch_init(capacity, 0, maxSeqsPerToken)) {}
  ~Batch() { llama_batch_free(batch_); }
  Batch(const Batch&) = delete;
  Batch& operator=(const Batch&) = delete;

  void clear() { batch_.n_tokens = 0; }
  bool full() const { return batch_.n_tokens >= capacity_; }
  int32_t size() const { return batch_.n_tokens; }
  int32_t capacity() const { return capacity_; }
  size_t outputs() const {
    size_t n = 0;
    for (int32_t i = 0; i < batch_.n_tokens; ++i) n += batch_.logits[i] != 0;
    return n;
  }

  void add(llama_token token, llama_pos pos, llama_seq_id seq, bool output) {
    const int32_t i = batch_.n_tokens++;
    batch_.token[i] = token;
    batch_.pos[i] = pos;
    batch_.n_seq_id[i] = 1;
    batch_.seq_id[i][0] = seq;
    batch_.logits[i] = output;
  }

  // Token `i` (already added) belongs to `seq` too.
  void addSeq(int32_t i, llama_seq_id seq) {
    if (batch_.n_seq_id[i] >= maxSeqsPerToken_) throw std::logic_error("batch: more sequences for one token than allocated");
    batch_.seq_id[i][batch_.n_seq_id[i]++] = seq;
  }

  const llama_batch& get() const { return batch_; }

 private:
  int32_t capacity_;
  int32_t maxSeqsPerToken_;
  llama_batch batch_;
};

}  // namespace rerank
