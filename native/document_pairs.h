// A call's documents as the token pairs the decoder scores. Each request's instruction and query
// are tokenized once; its documents are tokenized on several threads when the call has text enough
// to pay for them. On a GPU that is what a large request waits for before its first decode call:
// llama.cpp's BPE takes about 1 ms per 256-token document on one core, so 100 documents took
// ~130 ms on one thread, next to ~170 ms for the whole request in PyTorch (issue 9).
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

#include "prompt.h"
#include "reranker.h"

namespace rerank {

struct PreparedGroup {
  GroupResult result;             // completed, pairTokens, chunks, truncated; or the group's error
  std::vector<PairTokens> pairs;  // the pairs of the documents it completed (windows when chunking), in order
  std::vector<size_t> owner;      // the document each pair belongs to
};

// What a group's tokenizing threads know of its documents, which finish in any order: enough to
// tell that one-by-one tokenizing would never reach document i, from the documents before i only (a
// failure among them, or tokens of theirs that spend the budget). Knowledge of later documents must
// not count: a thread that took document i may run after others have finished the ones after it.
class DocumentProgress {
 public:
  DocumentProgress(size_t documents, uint64_t tokenBudget);
  void finished(size_t i, uint32_t tokens, bool failed);
  bool beyondReach(size_t i) const;

 private:
  size_t documents_;
  uint64_t budget_;                                  // 0: none
  std::unique_ptr<std::atomic<uint32_t>[]> tokens_;  // per document; 0 until it has finished (a pair has tokens)
  std::atomic<size_t> firstFailure_;
};

// What a call's groups give, each as if its documents were tokenized one by one from the first:
// a group scores documents while they fit its token budget (at least one), and stops at its first
// document that fails. `maxLength` is the model's (a group's own is at most that); at most
// `threads` threads tokenize, this one among them.
std::vector<PreparedGroup> preparePairs(const Prompt& prompt, const std::vector<Group>& groups, uint32_t maxLength,
                                        unsigned threads);

}  // namespace rerank
