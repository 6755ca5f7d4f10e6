// Decodes query-document pairs with a KV stream per pair (llama.cpp's non-unified cache): each
// pair's tokens attend over its own cells only. On a unified cache every token of a batch attends
// over all of its cells, the other pairs' masked out; ggml's CUDA flash attention skips only a
// masked tail, so a batch of P pairs costs about P/2 times the attention its pairs need.
//
// llama.cpp computes a batch over several streams as one graph only when every stream in it has
// the same number of tokens and the streams are consecutive ones (its split_equal). So pairs go in
// waves: the next pairs, longest first, one per stream from stream 0, each wave decoded in calls
// of k tokens per stream. A stream whose pair ends before k is filled up with padding tokens after
// its last one (later positions of its own sequence: no token of the pair attends to them), unless
// it is the only stream of the call. Being longest first, the pairs that end first are mostly on
// the highest-numbered streams, so the streams left stay consecutive; when not, llama.cpp computes
// the call as more than one graph, with the same results.
//
// A stream keeps its request's prefix (system line, instruction, query) for the next pair it gets,
// which starts after the tokens of it that it begins with too: all of them for a pair of the same
// request or of another with the same instruction and query, the system line for another. Each
// stream of a wave takes the pair that reuses most, so a request's prefix is decoded about once
// per stream.
#pragma once

#include "decoder.h"

namespace rerank {

class StreamDecoder : public Decoder {
 public:
  // `streams`: the context's KV streams (sequence i is stream i); `streamCells`: the cells of each,
  // room for the longest pair and the padding of a call of two streams or more (under batch/2).
  StreamDecoder(llama_context* ctx, const ScoreHead& head, HiddenCapture& capture, int32_t batchSize, int32_t streams,
                uint32_t streamCells)
      : Decoder(ctx, head, capture, batchSize, 1), batchSize_(batchSize), streams_(streams), streamCells_(streamCells) {}

 private:
  class Run;
  void run(std::vector<PairSet*> sets, DecodeStats& stats) override;

  int32_t batchSize_;
  int32_t streams_;
  uint32_t streamCells_;
};

}  // namespace rerank
