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
// request or of another with the same instruction and query, the head (below) for another of the
// same instruction. Each stream of a wave takes the pair that reuses most, so a request's query is
// decoded about once per stream.
//
// Across runs the streams keep one instruction's head (system line and "<Instruct>: …\n<Query>:",
// by PairDecoder's rule: chooseHead), so a request starts each stream after it. It is decoded alone,
// for a fixed group of kHeadGroup streams at a time, each group in a call of its own with the same
// tokens, so a set sees the same values in it whenever it was decoded, and its scores do not depend
// on what ran earlier; a run decodes it for the groups it can use that lack it (a small request the
// first group only). A group one of whose streams lost it (a pair that does not begin with it) is
// emptied after the run.
//
// A call's first round (Reranker::score, tokenizing ahead) leaves its streams' prefixes for the
// call's rest (RunLink), which starts on them as a pair of the run before would have: the rest does
// not decode its request's query again on every stream. A run of another call finds the head only.
#pragma once

#include "decoder.h"

namespace rerank {

class StreamDecoder : public Decoder {
 public:
  // `streams`: the context's KV streams (sequence i is stream i); `streamCells`: the cells of each,
  // room for the longest pair and the padding of a call of two streams or more (under batch/2);
  // `headReserve`: the most tokens of a head kept on each stream (0: none is kept).
  StreamDecoder(llama_context* ctx, const ScoreHead& head, HiddenCapture& capture, int32_t batchSize, int32_t streams,
                uint32_t streamCells, uint32_t headReserve);

 private:
  class Run;
  // Streams whose head is decoded in one call: a cold head costs a small request (D: 4 pairs) no
  // more than its own streams, and 16 streams 4 calls.
  static constexpr size_t kHeadGroup = 4;

  bool run(std::vector<PairSet*> sets, DecodeStats& stats) override;
  bool decodeHead(const std::vector<PairSet*>& sets, PairSet& payer, bool fresh, DecodeStats& stats) override;
  void keepOnlyHead() override;
  bool keepMore() override;
  // Empties the streams of the groups that lost the head on one of them, so that it is decoded again
  // on the whole group; the others keep the head, and with `prefixes` what prefixes_ records too.
  void trimStreams(bool prefixes);
  size_t groupOf(size_t stream) const { return stream / kHeadGroup; }

  int32_t batchSize_;
  int32_t streams_;
  uint32_t streamCells_;
  // Per group of streams: it holds kept_ in cells 0 … kept_.size()-1 of each of its streams; it
  // lost it on a stream during the run (emptied after it).
  std::vector<bool> groupHeld_;
  std::vector<bool> groupLost_;
  // Per stream, the tokens of its first cells when the last run ended well, beginning with kept_
  // (empty: the head only, or nothing). Read only while holdsMore(): a failed run's cache is emptied
  // (dropHead) without them.
  std::vector<std::vector<llama_token>> prefixes_;
};

}  // namespace rerank
