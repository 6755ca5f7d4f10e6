// Decodes query-document pairs through one llama_context with a unified KV cache.
//
// Pairs come in sets, one set per request: its pairs share their leading tokens (system line,
// instruction, query). A set's shared tokens are decoded once into a prefix sequence and each of
// its pairs sees those KV cells as its own (a unified cache shares cells, no copying): the pairs
// that start in the prefix's own llama_decode join its tokens' sequences, later ones copy its
// cells (llama_memory_seq_cp). Pair tokens fill each llama_decode to the batch size, a long pair
// spanning several calls; only the last token of each pair is an output.
#pragma once

#include "decoder.h"

namespace rerank {

class PairDecoder : public Decoder {
 public:
  // `contextCells`: the KV cells the context has; `prefixReserve`: how many of them the prefixes of
  // sets decoded together may hold (the rest is for one pair of maxLength plus one batch).
  PairDecoder(llama_context* ctx, const ScoreHead& head, HiddenCapture& capture, int32_t batchSize, int32_t maxSeqs,
              uint32_t contextCells, uint32_t prefixReserve)
      : Decoder(ctx, head, capture, batchSize, maxSeqs), maxSeqs_(maxSeqs), contextCells_(contextCells), prefixReserve_(prefixReserve) {}

 private:
  class Run;
  void run(std::vector<PairSet*> sets, DecodeStats& stats) override;

  int32_t maxSeqs_;
  uint32_t contextCells_;
  uint32_t prefixReserve_;
};

}  // namespace rerank
