#include "pair_decoder.h"

#include <algorithm>
#include <stdexcept>
#include <string>

#include "backend.h"

namespace rerank {
namespace {

constexpr llama_seq_id kPrefixSeq = 0;

// Tokens every pair starts with. Found on the tokens, not the text: BPE may merge the first
// document characters with the text before them, so only a token-level prefix is safe to share.
// Each pair keeps at least its last token to itself, since that token's output is its score.
size_t sharedPrefix(const std::vector<const std::vector<llama_token>*>& pairs) {
  size_t n = pairs[0]->size() - 1;
  for (const auto* p : pairs) {
    n = std::min(n, p->size() - 1);
    size_t i = 0;
    while (i < n && (*p)[i] == (*pairs[0])[i]) ++i;
    n = i;
  }
  return n;
}

// The KV cache is per call: whatever happens, it is empty again afterwards.
struct MemoryReset {
  llama_memory_t mem;
  explicit MemoryReset(llama_memory_t m) : mem(m) { llama_memory_clear(mem, true); }
  ~MemoryReset() { llama_memory_clear(mem, true); }
};

}  // namespace

PairDecoder::PairDecoder(llama_context* ctx, const ScoreHead& head, HiddenCapture& capture, int32_t batchSize,
                         int32_t maxSeqs)
    : ctx_(ctx), head_(head), capture_(capture), batch_(batchSize), maxSeqs_(maxSeqs) {}

void PairDecoder::decode(DecodeStats& stats) {
  if (batch_.size() == 0) return;
  capture_.reset();
  const int32_t rc = llama_decode(ctx_, batch_.get());
  stats.decodeCalls++;
  stats.computedTokens += batch_.size();
  if (rc != 0) {
    const std::string why = takeLastLlamaError();
    throw std::runtime_error("llama_decode failed (" + std::to_string(rc) + ")" + (why.empty() ? "" : ": " + why));
  }
}

std::vector<float> PairDecoder::score(const std::vector<const std::vector<llama_token>*>& pairs, bool sharePrefix,
                                      DecodeStats& stats) {
  std::vector<float> scores(pairs.size());
  if (pairs.empty()) return scores;
  llama_memory_t mem = llama_get_memory(ctx_);
  MemoryReset reset(mem);

  const size_t shared = sharePrefix && pairs.size() > 1 ? sharedPrefix(pairs) : 0;
  const auto& first = *pairs[0];
  for (size_t at = 0; at < shared;) {
    batch_.clear();
    for (; at < shared && !batch_.full(); ++at) batch_.add(first[at], static_cast<llama_pos>(at), kPrefixSeq, false);
    decode(stats);
  }

  std::vector<llama_seq_id> freeSeqs;
  for (llama_seq_id s = maxSeqs_ - 1; s > kPrefixSeq; --s) freeSeqs.push_back(s);

  struct Ending {
    size_t pair;
    llama_seq_id seq;
    int32_t batchIndex;
  };
  std::vector<Ending> endings;
  size_t next = 0;
  size_t offset = 0;
  llama_seq_id seq = -1;
  while (next < pairs.size()) {
    batch_.clear();
    endings.clear();
    while (next < pairs.size() && !batch_.full()) {
      const auto& tokens = *pairs[next];
      if (seq < 0) {
        if (freeSeqs.empty()) break;
        seq = freeSeqs.back();
        freeSeqs.pop_back();
        if (shared > 0) llama_memory_seq_cp(mem, kPrefixSeq, seq, -1, -1);
        offset = shared;
      }
      for (; offset < tokens.size() && !batch_.full(); ++offset) {
        batch_.add(tokens[offset], static_cast<llama_pos>(offset), seq, offset + 1 == tokens.size());
      }
      if (offset == tokens.size()) {
        endings.push_back({next, seq, batch_.size() - 1});
        ++next;
        seq = -1;
      }
    }
    decode(stats);
    const size_t width = static_cast<size_t>(head_.width());
    if (head_.needsHiddenState() && capture_.floats() != endings.size() * width) {
      throw std::runtime_error("the model's hidden state was not captured for every pair");
    }
    for (size_t k = 0; k < endings.size(); ++k) {
      const Ending& e = endings[k];
      scores[e.pair] = head_.needsHiddenState() ? head_.fromHidden(capture_.row(k, width))
                                                : head_.fromLogits(llama_get_logits_ith(ctx_, e.batchIndex));
      llama_memory_seq_rm(mem, e.seq, -1, -1);
      freeSeqs.push_back(e.seq);
    }
  }
  return scores;
}

}  // namespace rerank
