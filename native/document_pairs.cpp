#include "document_pairs.h"

#include <algorithm>
#include <atomic>
#include <optional>
#include <stdexcept>
#include <string>

#include "decoder.h"
#include "parallel.h"

namespace rerank {
namespace {

// Text per tokenizing thread: starting a thread takes tens of µs, and 2 KiB of text about 1.6 ms to
// tokenize (llama.cpp's BPE, ~0.8 µs a byte), so a thread pays for itself many times over. 16 KiB
// before: one request of 16 documents of 256 tokens (26 KiB, the GPU suite's G16) tokenized on one
// thread, ~15 ms of its 68 on the H200 (bench/results/2026-11-29-cuda-contexts-default.md).
constexpr size_t kBytesPerThread = 2 << 10;

// Bytes of text per token that CallDocuments::tokenizeFirst counts on in its first pass, when it
// picks documents for a number of tokens: about what English prose takes (4 to 5; the GPU suite's
// documents 6.5, counted as a decoder does, without their prompt). A second pass, if one is needed,
// goes by what the first one's documents took. The documents it tokenizes beyond the tokens asked
// for decode with the rest.
constexpr double kFirstBytesPerToken = 4;

uint32_t tokensOf(const std::vector<PairTokens>& pairs) {
  uint32_t n = 0;
  for (const auto& p : pairs) n += static_cast<uint32_t>(p.tokens.size());
  return n;
}

TokenizedDocument tokenizeDocument(const Prompt& prompt, const Group& g, const Prompt::Request& request, size_t i) noexcept {
  TokenizedDocument t;
  t.taken = true;
  try {
    try {
      if (g.truncate && g.maxChunks > 1) {
        t.pairs = prompt.windows(request, g.documents[i], g.maxChunks, g.chunkOverlap);
      } else {
        t.pairs.push_back(prompt.pair(request, g.documents[i], g.truncate));
      }
    } catch (const std::length_error& e) {
      t.error = "document " + std::to_string(i) + " is " + e.what();
      t.errorCode = "DOCUMENT_TOO_LONG";
    } catch (const std::exception& e) {
      // e.g. std::bad_alloc on a huge document: this request fails, the others of the call go on
      t.error = "document " + std::to_string(i) + " could not be tokenized: " + e.what();
      t.errorCode = "TOKENIZE_FAILED";
    }
  } catch (...) {
    // out of memory even for the message: assemble() words it; this code fits the string's own buffer
    t.pairs.clear();
    t.error.clear();
    t.errorCode = "TOKENIZE_FAILED";
  }
  return t;
}

// A group's documents from the first, as the one-by-one loop takes them, as far as they are
// tokenized: `take(i)` for each it scores; it stops before the first that does not fit the budget.
// Returns the first document that failed (the group's error), if it gets there.
template <class Take>
std::optional<size_t> walk(const Group& g, const std::vector<TokenizedDocument>& documents, Take take) {
  uint64_t tokens = 0;
  for (size_t i = 0; i < documents.size(); ++i) {
    const TokenizedDocument& t = documents[i];
    // Not taken: not tokenized yet, or skipped because documents before it spent the budget (so
    // this loop stops at or before it) or one of them failed (so it returned there).
    if (!t.taken) break;
    if (!t.errorCode.empty()) return i;
    const uint32_t docTokens = tokensOf(t.pairs);
    if (g.tokenBudget > 0 && i > 0 && tokens + docTokens > g.tokenBudget) break;
    tokens += docTokens;
    take(i);
  }
  return std::nullopt;
}

}  // namespace

DocumentProgress::DocumentProgress(size_t documents, uint64_t tokenBudget)
    : documents_(documents), budget_(tokenBudget), tokens_(new std::atomic<uint32_t>[documents]()), firstFailure_(SIZE_MAX) {}

void DocumentProgress::finished(size_t i, uint32_t tokens, bool failed) {
  if (i >= documents_) return;
  if (failed) {
    size_t first = firstFailure_.load();
    while (i < first && !firstFailure_.compare_exchange_weak(first, i)) {
    }
    return;
  }
  tokens_[i].store(tokens);
}

bool DocumentProgress::beyondReach(size_t i) const {
  if (firstFailure_.load() < i) return true;
  if (budget_ == 0 || i == 0) return false;
  // The finished documents before i took at most what all of them take: when that already reaches
  // the budget, the loop stops at i at the latest (i's pair has a token or more, and i > 0).
  uint64_t spent = 0;
  for (size_t j = 0; j < i && j < documents_ && spent < budget_; ++j) spent += tokens_[j].load(std::memory_order_relaxed);
  return spent >= budget_;
}

CallDocuments::CallDocuments(const Prompt& prompt, const std::vector<Group>& groups, uint32_t maxLength)
    : prompt_(prompt), groups_(groups), out_(groups.size()), work_(groups.size()) {
  for (size_t g = 0; g < groups.size(); ++g) {
    try {
      work_[g].request = prompt.request(groups[g].instruction, groups[g].query, std::min(groups[g].maxLength, maxLength));
    } catch (const QueryTooLong& e) {
      out_[g].result.error = e.what();
      out_[g].result.errorCode = "QUERY_TOO_LONG";
      continue;
    } catch (const std::exception& e) {
      // e.g. std::bad_alloc: this request fails, the others of the call go on
      out_[g].result.error = std::string("the query could not be tokenized: ") + e.what();
      out_[g].result.errorCode = "TOKENIZE_FAILED";
      continue;
    }
    work_[g].documents.resize(groups[g].documents.size());
    work_[g].progress = std::make_unique<DocumentProgress>(groups[g].documents.size(), groups[g].tokenBudget);
    for (size_t i = 0; i < groups[g].documents.size(); ++i) items_.emplace_back(g, i);
  }
}

void CallDocuments::tokenize(size_t end, unsigned threads) {
  size_t bytes = 0;
  for (size_t k = next_; k < end; ++k) bytes += itemBytes(k);
  const size_t wanted = std::max<size_t>(1, bytes / kBytesPerThread);
  // no more workers than documents; at least one, or none would be taken
  const auto workers = static_cast<unsigned>(std::max<size_t>(1, std::min({static_cast<size_t>(threads), wanted, end - next_})));
  // Each worker takes the next document until none is left below `end`, as does a helper
  // (helpTokenizeRest) that joins it.
  forEachIndex(workers, workers, [&](size_t, unsigned) { tokenizeTaken(end); });
  next_ = end;
}

size_t CallDocuments::tokenizeTaken(size_t end) noexcept {
  size_t done = 0;
  size_t k = taken_.load(std::memory_order_relaxed);
  while (k < end) {
    if (taken_.compare_exchange_weak(k, k + 1, std::memory_order_relaxed)) {
      tokenizeItem(k);
      ++done;
      k = taken_.load(std::memory_order_relaxed);
    }
  }
  return done;
}

// tokenizeDocument catches what tokenizing throws: the document's error.
void CallDocuments::tokenizeItem(size_t k) noexcept {
  const auto [g, i] = items_[k];
  GroupWork& w = work_[g];
  if (w.progress->beyondReach(i)) return;
  TokenizedDocument t = tokenizeDocument(prompt_, groups_[g], *w.request, i);
  w.progress->finished(i, tokensOf(t.pairs), !t.errorCode.empty());
  w.documents[i] = std::move(t);
}

void CallDocuments::tokenizeFirst(uint64_t tokens, size_t pairs, unsigned threads) {
  double bytesPerToken = kFirstBytesPerToken;
  while (next_ < items_.size()) {
    // Counted as a decoder takes them: a group's shared prefix once.
    const Leading leading = leadingPairs();
    uint64_t have = 0;
    size_t havePairs = 0;
    for (const auto& group : leading.pairs) {
      const size_t shared = group.size() > 1 ? sharedPrefix(group) : 0;
      for (const auto* p : group) have += p->size() - shared;
      have += group.empty() ? 0 : shared;
      havePairs += group.size();
    }
    if (have >= tokens || havePairs >= pairs) return;
    // After the first pass, what its text took, and a tenth more.
    if (have > 0 && leading.bytes > 0) bytesPerToken = 1.1 * static_cast<double>(leading.bytes) / static_cast<double>(have);
    const auto bytes = static_cast<uint64_t>(static_cast<double>(tokens - have) * bytesPerToken);
    const size_t most = next_ + std::min(pairs - havePairs, items_.size() - next_);
    // A pass's documents tokenize side by side, a thread each, so up to `threads` of them take about
    // the time of its longest: a pass takes that many at least. Fewer left a call of a few long
    // documents to tokenize them one pass, and one thread, at a time (the GPU suite's L, 8 of 26 KiB,
    // 35 ms longer outside decoding than without a first round on the H200: results 2026-11-30).
    size_t end = next_;
    uint64_t picked = 0;
    do {
      picked += itemBytes(end);
      ++end;
    } while (end < most && (picked < bytes || end - next_ < threads));
    tokenize(end, threads);
  }
}

void CallDocuments::tokenizeRest(unsigned threads) { tokenize(items_.size(), threads); }

size_t CallDocuments::helpTokenizeRest() noexcept { return tokenizeTaken(items_.size()); }

CallDocuments::Leading CallDocuments::leadingPairs() const {
  Leading out;
  out.pairs.resize(groups_.size());
  for (size_t g = 0; g < groups_.size(); ++g) {
    const auto& documents = work_[g].documents;
    uint64_t bytes = 0;
    const auto failed = walk(groups_[g], documents, [&](size_t i) {
      for (const PairTokens& p : documents[i].pairs) out.pairs[g].push_back(&p.tokens);
      bytes += groups_[g].documents[i].size();
    });
    if (failed) {
      out.pairs[g].clear();  // the group fails: nothing of it is decoded
    } else {
      out.bytes += bytes;
    }
  }
  return out;
}

uint64_t CallDocuments::bytesLeft() const {
  uint64_t bytes = 0;
  for (size_t k = next_; k < items_.size(); ++k) bytes += itemBytes(k);
  return bytes;
}

std::vector<PreparedGroup> CallDocuments::assemble() {
  for (size_t g = 0; g < groups_.size(); ++g) {
    if (!work_[g].request) continue;
    PreparedGroup& out = out_[g];
    GroupResult& res = out.result;
    auto& documents = work_[g].documents;
    const auto failed = walk(groups_[g], documents, [&](size_t i) {
      TokenizedDocument& t = documents[i];
      res.pairTokens.push_back(tokensOf(t.pairs));
      res.chunks.push_back(static_cast<uint32_t>(t.pairs.size()));
      res.truncated.push_back(t.pairs.back().truncated);
      for (auto& p : t.pairs) {
        out.owner.push_back(i);
        out.pairs.push_back(std::move(p));
      }
      res.completed = static_cast<uint32_t>(i + 1);
    });
    if (failed) {
      TokenizedDocument& t = documents[*failed];
      res.error = t.error.empty() ? "document " + std::to_string(*failed) + " could not be tokenized" : std::move(t.error);
      res.errorCode = std::move(t.errorCode);
      res.errorIndex = static_cast<int32_t>(*failed);
    }
  }
  return std::move(out_);
}

std::vector<PreparedGroup> preparePairs(const Prompt& prompt, const std::vector<Group>& groups, uint32_t maxLength,
                                        unsigned threads) {
  CallDocuments documents(prompt, groups, maxLength);
  documents.tokenizeRest(threads);
  return documents.assemble();
}

}  // namespace rerank
