// A call's documents as the token pairs the decoder scores. Each request's instruction and query
// are tokenized once; its documents are tokenized on several threads when the call has text enough
// to pay for them. On a GPU that is what a large request waits for before its first decode call:
// llama.cpp's BPE takes about 1 ms per 256-token document on one core, so 100 documents took
// ~130 ms on one thread, next to ~170 ms for the whole request in PyTorch (issue 9). So a large
// call may tokenize its first documents alone, and the rest while those decode (Reranker::score).
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <utility>
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

// One document's outcome.
struct TokenizedDocument {
  bool taken = false;  // false: not tokenized (yet), or skipped: beyond the reach of one-by-one tokenizing
  std::vector<PairTokens> pairs;
  std::string error;
  std::string errorCode;
};

// A call's documents, tokenized in call order (its groups in turn, each from its first document),
// all at once or in steps. What the call's groups give, each as if its documents were tokenized one
// by one from the first: a group scores documents while they fit its token budget (at least one),
// and stops at its first document that fails.
class CallDocuments {
 public:
  // `groups` must outlive this; `maxLength` is the model's (a group's own is at most that).
  CallDocuments(const Prompt& prompt, const std::vector<Group>& groups, uint32_t maxLength);

  // Tokenizes the documents not tokenized yet, from the first, until the pairs of leadingPairs()
  // hold `tokens` tokens (each group's shared prefix counted once) or number `pairs`, or every
  // document is tokenized. Picked by their bytes, a few more may be (at least `threads` a pass, as
  // many as tokenize side by side), but no more documents than pairs are still wanted (a document
  // gives one pair or more).
  void tokenizeFirst(uint64_t tokens, size_t pairs, unsigned threads);
  // Tokenizes every document not tokenized yet. At most `threads` threads, this one among them (and
  // a helper, below).
  void tokenizeRest(unsigned threads);
  // A hand in the tokenizeRest that another thread runs (or is about to): takes the documents no
  // thread has taken, one at a time, until none is left, and returns when its own are done (how many
  // it took, those skipped as beyond a group's reach among them). Every document is tokenized once
  // both have returned. For the thread that waits on tokenizeRest, free meanwhile (a call's, once
  // its first round has decoded).
  size_t helpTokenizeRest() noexcept;
  bool allTokenized() const { return next_ == items_.size(); }

  // Per group, the pairs of the documents from its first that it is sure to score as far as they
  // are tokenized: none failed, and within its budget. None for a group that failed. Valid until
  // assemble(), which takes them.
  struct Leading {
    std::vector<std::vector<const std::vector<llama_token>*>> pairs;  // per group
    uint64_t bytes = 0;                                                // of their documents' text
  };
  Leading leadingPairs() const;
  // Bytes of the documents' text not tokenized yet.
  uint64_t bytesLeft() const;
  // Each group's outcome, once every document is tokenized (tokenizeRest).
  std::vector<PreparedGroup> assemble();

 private:
  void tokenize(size_t end, unsigned threads);  // items_[next_, end)
  size_t tokenizeTaken(size_t end) noexcept;    // items taken from taken_ while below `end`: how many
  void tokenizeItem(size_t k) noexcept;
  size_t itemBytes(size_t k) const { return groups_[items_[k].first].documents[items_[k].second].size(); }

  const Prompt& prompt_;
  const std::vector<Group>& groups_;
  std::vector<PreparedGroup> out_;  // a group's error from its query, before any document
  struct GroupWork {
    std::optional<Prompt::Request> request;  // empty when the query leaves no room: nothing to tokenize
    std::unique_ptr<DocumentProgress> progress;
    std::vector<TokenizedDocument> documents;
  };
  std::vector<GroupWork> work_;
  std::vector<std::pair<size_t, size_t>> items_;  // (group, document), in call order
  size_t next_ = 0;                               // items_[0, next_) are tokenized
  std::atomic<size_t> taken_{0};                  // items_[0, taken_) are taken: tokenized, being tokenized or skipped
};

// Every document of the call at once.
std::vector<PreparedGroup> preparePairs(const Prompt& prompt, const std::vector<Group>& groups, uint32_t maxLength,
                                        unsigned threads);

}  // namespace rerank
