#include "call_shape.h"

#include <algorithm>

namespace rerank {
namespace {

// Sequences with a token in the batch: llama.cpp's ubatch.n_seqs_unq, which a reused graph must match.
int32_t sequencesIn(const llama_batch& b) {
  std::vector<llama_seq_id> seen;
  for (int32_t i = 0; i < b.n_tokens; ++i) {
    for (int32_t k = 0; k < b.n_seq_id[i]; ++k) {
      const llama_seq_id s = b.seq_id[i][k];
      if (std::find(seen.begin(), seen.end(), s) == seen.end()) seen.push_back(s);
    }
  }
  return static_cast<int32_t>(seen.size());
}

// The most of `at` (in order) within any `window` consecutive tokens.
int32_t mostWithin(const std::vector<size_t>& at, size_t window) {
  size_t most = 0;
  for (size_t first = 0, last = 0; last < at.size(); ++last) {
    while (at[last] - at[first] >= window) ++first;
    most = std::max(most, last - first + 1);
  }
  return static_cast<int32_t>(most);
}

}  // namespace

void CallShape::begin(size_t prefixCells, size_t longestOwn, const Layout& layout) {
  callTokens_ = 0;
  sentinelPlaced_ = false;
  sequences_ = 0;
  outputs_ = 0;
  fillerSeqs_.clear();
  fillerTokens_ = 0;
  padded_ = 0;
  likelySequences_ = 0;
  likelyOutputs_ = 0;
  if (!enabled_) return;
  // A later call holds the prefixes, at most longestOwn - 1 cells of the pair carried over, and its
  // own tokens: all of them below the sentinel's cell when its tokens are these.
  const int64_t later = static_cast<int64_t>(batchSize_) - 1 - static_cast<int64_t>(prefixCells) - static_cast<int64_t>(longestOwn);
  // Shorter calls than 3/4 of the batch would cost more than a reused graph saves (1024-token calls
  // took 1.16× the time of 2048-token ones on G100: bench/results/2026-11-29-cuda-contexts-batch1024.md).
  if (later < static_cast<int64_t>(batchSize_) * 3 / 4) return;
  // The first call and the one after it build their graphs: only from a third full call on, before
  // the last, is one reused. A run of fewer would pay for the shape and reuse nothing.
  if (static_cast<int64_t>(layout.tokens) <= static_cast<int64_t>(batchSize_) + 2 * later) return;
  callTokens_ = static_cast<int32_t>(later);
  // A call's sequences: those starting in it, the one it carries over from the call before, and a
  // filler's; its outputs: the pairs ending in it.
  const size_t window = static_cast<size_t>(callTokens_ - kReserve);
  likelySequences_ = mostWithin(layout.starts, window) + 2;
  likelyOutputs_ = mostWithin(layout.outputs, window);
}

int32_t CallShape::capacity() const {
  if (!steady()) return batchSize_;
  return sentinelPlaced_ ? callTokens_ - kReserve : batchSize_ - 1;
}

void CallShape::pad(Batch& batch, std::vector<llama_seq_id>& freeSeqs, size_t cellsFree, bool more, llama_token filler) {
  padded_ = 0;
  if (!steady() || !more) return;  // the last call has a shape of its own anyway
  if (!sentinelPlaced_) {
    // The first call: fillers up to the last token, then the sentinel in the call's highest cell.
    const int32_t gap = batchSize_ - 1 - batch.size();
    const size_t seqs = gap > 0 ? 2 : 1;
    // A call the pairs left short (no free sequence or prefix room for more) would be filled with
    // fillers at the GPU's cost: this run then goes on without fillers, as it does without room
    // (its first call one token short of the batch).
    if (gap < 0 || gap > kLeftShort || freeSeqs.size() < seqs || cellsFree < static_cast<size_t>(gap) + 1) {
      callTokens_ = 0;
      return;
    }
    if (gap > 0) addFillers(batch, freeSeqs, filler, gap, 1, 0);
    const llama_seq_id sentinel = freeSeqs.back();  // not given back: its cell stays used until the run ends
    freeSeqs.pop_back();
    batch.add(filler, 0, sentinel, false);
    padded_ = static_cast<size_t>(gap) + 1;
    sentinelPlaced_ = true;
    return;
  }
  const int32_t room = callTokens_ - batch.size();
  if (room <= 0 || room > kReserve + kLeftShort || freeSeqs.empty() || cellsFree < static_cast<size_t>(room)) return;
  const int32_t seqs = sequencesIn(batch.get());
  const int32_t outs = static_cast<int32_t>(batch.outputs());
  if (outputs_ == 0) {
    // The first later call: the most the run's layout allows, as far as this call's room reaches.
    outputs_ = std::clamp(likelyOutputs_, outs, outs + kReserve - 1);
    sequences_ = std::clamp(likelySequences_, seqs + 1, seqs + kReserve);
  }
  outputs_ = std::max(outputs_, outs);
  sequences_ = std::max(sequences_, seqs + 1);
  int32_t moreSeqs = sequences_ - seqs;
  int32_t moreOuts = outputs_ - outs;
  if (moreSeqs > room || static_cast<size_t>(moreSeqs) > freeSeqs.size() || moreOuts > room) {
    moreSeqs = 1;  // this call cannot match the others: it is at least as long
    moreOuts = 0;
  }
  addFillers(batch, freeSeqs, filler, room, moreSeqs, moreOuts);
  padded_ = static_cast<size_t>(room);
}

void CallShape::addFillers(Batch& batch, std::vector<llama_seq_id>& freeSeqs, llama_token filler, int32_t tokens,
                           int32_t sequences, int32_t outputs) {
  const size_t first = fillerSeqs_.size();
  for (int32_t s = 0; s < sequences; ++s) {
    fillerSeqs_.push_back(freeSeqs.back());
    freeSeqs.pop_back();
  }
  // Each sequence but the last takes one token, the last one the rest, at positions from 0. The
  // outputs are the last tokens, after every pair's, so the pairs' outputs keep their order.
  for (int32_t i = 0; i < tokens; ++i) {
    const int32_t alone = sequences - 1;
    const llama_seq_id seq = fillerSeqs_[first + static_cast<size_t>(std::min(i, alone))];
    batch.add(filler, i < alone ? 0 : i - alone, seq, i >= tokens - outputs);
  }
  fillerTokens_ += static_cast<size_t>(tokens);
}

size_t CallShape::release(llama_memory_t mem, std::vector<llama_seq_id>& freeSeqs) {
  for (const llama_seq_id s : fillerSeqs_) {
    llama_memory_seq_rm(mem, s, -1, -1);
    freeSeqs.push_back(s);
  }
  fillerSeqs_.clear();
  const size_t freed = fillerTokens_;
  fillerTokens_ = 0;
  return freed;
}

}  // namespace rerank
