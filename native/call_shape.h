// Keeps the decode calls of one PairDecoder run the same shape, so that llama.cpp reuses the compute
// graph of the call before (llm_graph_params::allow_reuse: as many tokens, sequences and outputs,
// and a KV mask over as many cells) and ggml-cuda replays it as one CUDA graph instead of launching
// ~600 kernels one by one. Issue 9's profile of G100 on an H200: 17 decode calls, 6 CUDA graphs
// captured and instantiated (18 ms of host time), each replayed once, as consecutive calls seldom
// matched; with CUDA graphs off the request took 0.93× the time.
//
// What varies between the full calls of a run, and how it is held still:
// - tokens: every call between the first and the last takes exactly callTokens() (one its pairs
//   leave more than kLeftShort tokens short keeps its own shape);
// - sequences and outputs: a call's pairs end in different places, so the call ends in filler
//   tokens, each of a sequence of its own that no other token attends to, as many sequences and as
//   many of them outputs as it takes to reach the most the run's layout allows (within the call's
//   room; a call that has more raises it);
// - KV cells: the mask spans the cache up to its highest used cell (rounded up to 256), which moves
//   with the cells of the pair a call carries over from the one before. So the run's first call ends
//   in a sentinel token, whose cell stays used until the run ends, and the later calls are shorter by
//   the longest pair and the prefixes, so that their cells stay below it.
// A run that cannot have that decodes as before: when the longest pair and the prefixes take more than
// a quarter of a call (the later calls would be too short), or the run is too short to reuse a graph
// (under four calls). No pair attends to a filler or the sentinel: scores move by float rounding only,
// as with any other layout of the pairs in cells and calls.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "llama_handles.h"

namespace rerank {

class CallShape {
 public:
  // `enabled`: the reuseGraphs load option, with one compute graph per call (n_ubatch == n_batch).
  CallShape(bool enabled, int32_t batchSize) : enabled_(enabled), batchSize_(batchSize) {}

  // The tokens a run decodes, in order: where a sequence (a prefix, a pair) starts, where an output is.
  struct Layout {
    size_t tokens = 0;
    std::vector<size_t> starts;
    std::vector<size_t> outputs;
  };
  // A run starts on a cache that holds at most the kept head, from cell 0, so that its first call
  // takes the cells after it, in order. The prefixes it may hold at once take at most `prefixCells`;
  // a pair's own tokens, past its prefix, at most `longestOwn`.
  void begin(size_t prefixCells, size_t longestOwn, const Layout& layout);
  bool enabled() const { return enabled_; }
  bool steady() const { return callTokens_ > 0; }
  // Tokens of pairs and prefixes the next call may hold.
  int32_t capacity() const;
  // After filling a call with `cellsFree` cells left in the cache: when `more` calls follow, ends it
  // as above (nothing when there is no room or no free sequence for it). `filler` is any token.
  void pad(Batch& batch, std::vector<llama_seq_id>& freeSeqs, size_t cellsFree, bool more, llama_token filler);
  // Cells the last pad() took (the sentinel's stay taken until the run ends).
  size_t padded() const { return padded_; }
  // After the call's decode: frees the fillers' cells and sequences; how many cells that frees.
  size_t release(llama_memory_t mem, std::vector<llama_seq_id>& freeSeqs);

 private:
  // Filler tokens a later call keeps room for: the sequences and outputs it may lack.
  static constexpr int32_t kReserve = 8;
  // Tokens a call's pairs may leave unfilled for other reasons (no free sequence, no room for another
  // request's prefix) that fillers still make up: beyond that the call keeps its own shape.
  static constexpr int32_t kLeftShort = 32;

  void addFillers(Batch& batch, std::vector<llama_seq_id>& freeSeqs, llama_token filler, int32_t tokens, int32_t sequences,
                  int32_t outputs);

  bool enabled_;
  int32_t batchSize_;
  int32_t callTokens_ = 0;  // 0: not steady
  // The most sequences and outputs a later call can have, from the run's layout: what the first
  // later call aims at, within its room, so that the others need not raise it.
  int32_t likelySequences_ = 0;
  int32_t likelyOutputs_ = 0;
  bool sentinelPlaced_ = false;
  int32_t sequences_ = 0;   // the most a later call has had, fillers' included
  int32_t outputs_ = 0;
  std::vector<llama_seq_id> fillerSeqs_;  // of the call being decoded
  size_t fillerTokens_ = 0;
  size_t padded_ = 0;
};

}  // namespace rerank
