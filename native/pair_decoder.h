// Decodes query-document pairs through one llama_context and reads each pair's score.
//
// Pairs come in sets, one set per request: its pairs share their leading tokens (system line,
// instruction, query). A set's shared tokens are decoded once into a prefix sequence and each of
// its pairs sees those KV cells as its own (a unified cache shares cells, no copying): the pairs
// that start in the prefix's own llama_decode join its tokens' sequences, later ones copy its
// cells (llama_memory_seq_cp). Pair tokens fill each llama_decode to the batch size, a long pair
// spanning several calls; only the last token of each pair is an output.
//
// Several sets can be decoded together, their pairs packed into the same llama_decode calls (fuller
// batches, fewer calls: what a GPU needs), or one after the other, each alone in its batches, so
// that a set's batch layout, and so its scores to the last bit, depend on that set only.
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
};

// One request's pairs, and what became of them.
struct PairSet {
  std::vector<const std::vector<llama_token>*> pairs;
  bool sharePrefix = true;
  const std::atomic<bool>* cancelled = nullptr;  // set from another thread: stop at the next decode call

  std::vector<float> scores;     // p(yes) per pair, in input order
  uint64_t computedTokens = 0;   // tokens of this set run through the model
  std::string error;             // a failed decode, or "cancelled"
  bool aborted = false;
};

class PairDecoder {
 public:
  // `contextCells`: the KV cells the context has; `prefixReserve`: how many of them the prefixes of
  // sets decoded together may hold (the rest is for one pair of maxLength plus one batch).
  PairDecoder(llama_context* ctx, const ScoreHead& head, HiddenCapture& capture, int32_t batchSize, int32_t maxSeqs,
              uint32_t contextCells, uint32_t prefixReserve);

  // Scores every pair of every set; a set fails alone (its `error`) unless a decode it shared
  // with others failed. `pack`: sets share decode calls; otherwise each is decoded alone.
  void score(std::vector<PairSet>& sets, bool pack, DecodeStats& stats);

  // Makes a running llama_decode return early (CPU backends check between graph nodes): for
  // dispose(), when nothing of the call is wanted any more.
  void abortAll() { abortAll_.store(true); }
  void resetAbort() { abortAll_.store(false); }

 private:
  class Run;
  static bool onAbort(void* self);
  int32_t decode(DecodeStats& stats);

  llama_context* ctx_;
  const ScoreHead& head_;
  HiddenCapture& capture_;
  Batch batch_;
  int32_t maxSeqs_;
  uint32_t contextCells_;
  uint32_t prefixReserve_;
  std::atomic<bool> abortAll_{false};
  const std::vector<PairSet*>* running_ = nullptr;  // the sets of the decode in progress, for onAbort
};

}  // namespace rerank
