// Decodes query-document pairs through one llama_context with a unified KV cache.
//
// Pairs come in sets, one set per request: its pairs share their leading tokens (system line,
// instruction, query). A set's shared tokens are decoded once into a prefix sequence and each of
// its pairs sees those KV cells as its own (a unified cache shares cells, no copying): the pairs
// that start in the prefix's own llama_decode join its tokens' sequences, later ones copy its
// cells (llama_memory_seq_cp). Pair tokens fill each llama_decode to the batch size, a long pair
// spanning several calls; only the last token of each pair is an output.
//
// Across calls, the cache keeps one instruction's head (the system line and "<Instruct>: …
// \n<Query>:", the same for every request of that instruction) in a sequence of its own, so a
// request with that instruction starts its prefix from those cells. The head is always decoded
// alone, in a call of its own, and the cache then holds it in cells 0…n-1 and nothing else between
// runs; a run that has no use for it empties the cache. So a set decoded alone sees the same cells
// and values whether its head was decoded just before it or long ago, or none was kept, and its
// scores do not depend on what ran earlier.
#pragma once

#include "call_shape.h"
#include "decoder.h"

namespace rerank {

class PairDecoder : public Decoder {
 public:
  // `contextCells`: the KV cells the context has; `prefixReserve`: how many of them the prefixes of
  // sets decoded together may hold; `headReserve`: how many the kept instruction head may hold (0:
  // none is kept); the rest is for one pair of maxLength plus one batch. `maxSeqs`: the context's
  // sequences, the last of them the head's when one is kept. `steadyCalls`: keep a run's calls one
  // shape (CallShape), for a context that computes each call as one graph.
  PairDecoder(llama_context* ctx, const ScoreHead& head, HiddenCapture& capture, int32_t batchSize, int32_t maxSeqs,
              uint32_t contextCells, uint32_t prefixReserve, uint32_t headReserve, bool steadyCalls)
      : Decoder(ctx, head, capture, batchSize, maxSeqs, headReserve),
        shape_(steadyCalls, batchSize),
        maxSeqs_(headReserve > 0 ? maxSeqs - 1 : maxSeqs),
        headSeq_(maxSeqs - 1),
        contextCells_(contextCells),
        prefixReserve_(prefixReserve) {}

 private:
  class Run;
  bool run(std::vector<PairSet*> sets, DecodeStats& stats) override;
  // The head alone, on the emptied cache, in cells 0 … kept_.size()-1 of headSeq_.
  bool decodeHead(const std::vector<PairSet*>& sets, PairSet& payer, bool fresh, DecodeStats& stats) override;
  void keepOnlyHead() override;

  CallShape shape_;
  int32_t maxSeqs_;  // sequences a run may use: 0 … maxSeqs_-1
  llama_seq_id headSeq_;
  uint32_t contextCells_;
  uint32_t prefixReserve_;
};

}  // namespace rerank
