// What scoring pairs takes and gives, and what the two ways of decoding them share: the sets of a
// call decoded together (packed) or one after another, each llama_decode timed and abortable, and
// a scored pair's output read from the logits or the captured hidden state.
//
// PairDecoder packs pairs into one unified KV cache (a request's prefix cells shared by its pairs);
// StreamDecoder gives each pair a KV stream of its own, so its tokens attend over its own cells only.
#pragma once

#include <atomic>
#include <cstdint>
#include <string>
#include <vector>

#include "hidden_capture.h"
#include "llama_handles.h"
#include "score_head.h"

namespace rerank {

struct DecodeStats {
  uint64_t decodeCalls = 0;
  double decodeMs = 0;  // wall time inside llama_decode
  // Compute graphs llama.cpp took over from the call before instead of building them (one per
  // micro-batch): what lets ggml-cuda replay a CUDA graph (CallShape).
  uint64_t graphsReused = 0;
};

// One request's pairs, and what became of them.
struct PairSet {
  std::vector<const std::vector<llama_token>*> pairs;
  bool sharePrefix = true;
  // The tokens every request of its instruction starts with (Prompt::instructionHead), which the
  // shared-cache decoder keeps in the cache from one call to the next; empty: none to keep.
  std::vector<llama_token> head;
  const std::atomic<bool>* cancelled = nullptr;  // set from another thread: stop at the next decode call

  std::vector<float> scores;     // p(yes) per pair, in input order
  uint64_t computedTokens = 0;   // tokens of this set run through the model
  std::string error;             // a failed decode, or "cancelled"
  bool aborted = false;
};

// Tokens every pair of a set starts with. Found on the tokens, not the text: BPE may merge the
// first document characters with the text before them, so only a token-level prefix is safe to
// share. Each pair keeps at least its last token to itself, since that token's output is its score.
size_t sharedPrefix(const std::vector<const std::vector<llama_token>*>& pairs);

// Every pair of the set begins with its (non-empty) head's tokens and has more: the tokenizer ended a
// word where the query begins, as it does with Qwen2's vocabulary. Only then can a decoder use the
// head it keeps for the set.
bool startsWithHead(const PairSet& set);

inline bool isCancelled(const PairSet& s) { return s.cancelled && s.cancelled->load(std::memory_order_relaxed); }

class Decoder {
 public:
  virtual ~Decoder() = default;
  Decoder(const Decoder&) = delete;
  Decoder& operator=(const Decoder&) = delete;

  // Scores every pair of every set; a set fails alone (its `error`) unless a decode it shared
  // with others failed. `pack`: sets share decode calls; otherwise each is decoded alone, so that
  // its batch layout, and so its scores to the last bit, depend on that set only.
  void score(std::vector<PairSet>& sets, bool pack, DecodeStats& stats);

  // Makes a running llama_decode return early (CPU backends check between graph nodes): for
  // dispose(), when nothing of the call is wanted any more.
  void abortAll() { abortAll_.store(true); }
  void resetAbort() { abortAll_.store(false); }

 protected:
  Decoder(llama_context* ctx, const ScoreHead& head, HiddenCapture& capture, int32_t batchSize, int32_t maxSeqsPerToken);

  // Scores `sets` on the cache as afterRun() left it (at first: empty, cells numbered from 0).
  virtual void run(std::vector<PairSet*> sets, DecodeStats& stats) = 0;
  // After each run: the cache as the next run must find it; here, empty. Clearing the cell
  // bookkeeping is enough: the data is overwritten before it is read (and zeroing a large cache
  // cost more than a small request).
  virtual void afterRun() { llama_memory_clear(mem_, false); }

  struct Decoded {
    bool ok = true;
    std::string error;     // when not ok: "cancelled", or why llama_decode failed (llama.cpp's last logged error)
    bool aborted = false;  // stopped inside llama_decode: nothing of the call is wanted any more
  };
  // Decodes batch_ for `sets`; when not ok, the caller ends every set of the run with the error.
  Decoded decode(const std::vector<PairSet*>& sets, DecodeStats& stats);
  // The score of the last decode's `k`-th output, which sits at `batchIndex` in the batch;
  // `outputs`: how many the batch had (each must have its hidden state captured, for a rank head).
  float scoreOf(size_t k, size_t outputs, int32_t batchIndex) const;

  llama_context* ctx_;
  llama_memory_t mem_;
  Batch batch_;

 private:
  static bool onAbort(void* self);

  const ScoreHead& head_;
  HiddenCapture& capture_;
  std::atomic<bool> abortAll_{false};
  const std::vector<PairSet*>* running_ = nullptr;  // the sets of the decode in progress, for onAbort
  // onAbort told llama.cpp to stop the decode in progress: its failure lines are ours, not news.
  std::atomic<bool> stopping_{false};
};

}  // namespace rerank
