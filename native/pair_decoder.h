// Decodes many query-document pairs through one llama_context and reads each pair's score.
//
// Pairs of one request share their leading tokens (system line, instruction, query): those are
// decoded once into a prefix sequence and every pair's sequence starts from a copy of that KV
// (llama_memory_seq_cp on a unified cache: shared cells, no copying). Pair tokens then fill each
// llama_decode to the batch size, a long pair spanning several calls; only the last token of each
// pair is an output.
#pragma once

#include <vector>

#include "hidden_capture.h"
#include "llama_handles.h"
#include "score_head.h"

namespace rerank {

struct DecodeStats {
  uint64_t computedTokens = 0;  // tokens actually run through the model
  uint64_t decodeCalls = 0;
};

class PairDecoder {
 public:
  PairDecoder(llama_context* ctx, const ScoreHead& head, HiddenCapture& capture, int32_t batchSize, int32_t maxSeqs);

  // Scores pairs that belong together (one request): p(yes) per pair, in input order.
  std::vector<float> score(const std::vector<const std::vector<llama_token>*>& pairs, bool sharePrefix,
                           DecodeStats& stats);

 private:
  void decode(DecodeStats& stats);

  llama_context* ctx_;
  const ScoreHead& head_;
  HiddenCapture& capture_;
  Batch batch_;
  int32_t maxSeqs_;
};

}  // namespace rerank
