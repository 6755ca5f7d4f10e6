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
  // The tokens every request of its instruction starts with (Prompt::instructionHead), which a
  // decoder keeps in the cache from one call to the next; empty: none to keep.
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

// Which instruction head a run keeps in the cache, the same rule for both decoders: the kept one if
// a set of the run uses it, else the first such set's own head (decoded alone), else none. A set
// decoded alone then starts on a head decoded alone, or on an empty cache: its scores must not
// depend on what an earlier run left (the cells and values its tokens would see). Clears the head
// of a set whose pairs do not all begin with it.
struct HeadChoice {
  enum class Action {
    Nothing,  // no set decodes: the cache stays as it is
    UseKept,
    Decode,   // keep `payer`'s head instead
    Drop,     // no set has a head to use: empty the cache
  };
  Action action = Action::Nothing;
  PairSet* payer = nullptr;  // the set whose head is kept, which pays for what of it is decoded
};
HeadChoice chooseHead(const std::vector<PairSet*>& sets, const std::vector<llama_token>& kept);

// A call's first round (Reranker::score, tokenizing ahead: a packed run) may leave what its KV
// streams hold for the call's rest, the packed run after it: `keepFor`, the call whose round leaves
// it; `continues`, the call whose rest may start on it. Any other run finds the head only, as ever,
// so a call never decodes on what another call decoded (whether its rest starts on its round's
// prefixes can depend on timing: another call may decode in between). 0: none.
struct RunLink {
  uint64_t keepFor = 0;
  uint64_t continues = 0;
};

class Decoder {
 public:
  virtual ~Decoder() = default;
  Decoder(const Decoder&) = delete;
  Decoder& operator=(const Decoder&) = delete;

  // Scores every pair of every set; a set fails alone (its `error`) unless a decode it shared
  // with others failed. `pack`: sets share decode calls; otherwise each is decoded alone, so that
  // its batch layout, and so its scores to the last bit, depend on that set only. `link` (packed
  // only): what the run may leave for another run of its call, or use of one.
  void score(std::vector<PairSet>& sets, bool pack, DecodeStats& stats, const RunLink& link = {});

  // Makes a running llama_decode return early (CPU backends check between graph nodes): for
  // dispose(), when nothing of the call is wanted any more.
  void abortAll() { abortAll_.store(true); }
  void resetAbort() { abortAll_.store(false); }

 protected:
  // `headReserve`: the most tokens of an instruction head kept across runs (0: none is kept).
  Decoder(llama_context* ctx, const ScoreHead& head, HiddenCapture& capture, int32_t batchSize, int32_t maxSeqsPerToken,
          uint32_t headReserve);

  // Scores `sets` on the cache as the last run left it (the kept head, or empty: cells numbered
  // from 0); false when a decode failed (each set then has the error).
  virtual bool run(std::vector<PairSet*> sets, DecodeStats& stats) = 0;
  // Decodes what of kept_ the run needs and the cache lacks (`fresh`: none of it is there), alone,
  // the same way each time, its tokens counted as `payer`'s; false when a decode failed (failAll).
  virtual bool decodeHead(const std::vector<PairSet*>& sets, PairSet& payer, bool fresh, DecodeStats& stats) = 0;
  // After a run that ended well with a head kept: the cache holds the head only, as the next run
  // must find it. Also what a run that held more (keepMore) leaves it with, when the next run is
  // not the one it was held for.
  virtual void keepOnlyHead() = 0;
  // After a run that ended well with a head kept, for the next run of its call (RunLink): the head,
  // and whatever else of the run's cells a run of the same pairs' requests can take up; whether it
  // kept more. By default the head only.
  virtual bool keepMore() {
    keepOnlyHead();
    return false;
  }
  // Whether the cache holds more than the head for this run (keepMore, for the call it continues).
  bool holdsMore() const { return heldFor_ != 0; }

  struct Decoded {
    bool ok = true;
    std::string error;     // when not ok: "cancelled", or why llama_decode failed (llama.cpp's last logged error)
    bool aborted = false;  // stopped inside llama_decode: nothing of the call is wanted any more
  };
  // Decodes batch_ for `sets`; when not ok, the caller ends every set of the run with the error.
  Decoded decode(const std::vector<PairSet*>& sets, DecodeStats& stats);
  // Ends every set not ended yet with a failed decode's error (a cancelled one as cancelled).
  static void failAll(const std::vector<PairSet*>& sets, const Decoded& out);
  // The score of the last decode's `k`-th output, which sits at `batchIndex` in the batch;
  // `outputs`: how many the batch had (each must have its hidden state captured, for a rank head).
  float scoreOf(size_t k, size_t outputs, int32_t batchIndex) const;

  llama_context* ctx_;
  llama_memory_t mem_;
  Batch batch_;
  const uint32_t headReserve_;
  std::vector<llama_token> kept_;  // the instruction head kept in the cache; empty: none

 private:
  static bool onAbort(void* self);
  // One run: its head made ready, the run, then the cache as the next run must find it.
  void runOnce(std::vector<PairSet*> sets, DecodeStats& stats);
  // Makes the run's head (chooseHead) the kept one and ready where the run needs it; false when a
  // decode failed.
  bool prepareHead(const std::vector<PairSet*>& sets, DecodeStats& stats);
  // After each run: the kept head only (and what keepMore keeps, for the call the run keeps it
  // for), or, when none is kept or the run failed, an empty cache. Clearing the cell bookkeeping is
  // enough: the data is overwritten before it is read (and zeroing a large cache cost more than a
  // small request).
  void afterRun();
  void dropHead();

  const ScoreHead& head_;
  HiddenCapture& capture_;
  uint64_t heldFor_ = 0;  // the call whose run left more than the head (keepMore); 0: none
  uint64_t keepFor_ = 0;  // the run in progress leaves more, for this call
  std::atomic<bool> abortAll_{false};
  const std::vector<PairSet*>* running_ = nullptr;  // the sets of the decode in progress, for onAbort
  // onAbort told llama.cpp to stop the decode in progress: its failure lines are ours, not news.
  std::atomic<bool> stopping_{false};
  bool runFailed_ = false;  // a decode of the last run failed, or it threw: the cache is emptied after it
};

}  // namespace rerank
