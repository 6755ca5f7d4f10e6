#include "document_pairs.h"

#include <algorithm>
#include <atomic>
#include <optional>
#include <stdexcept>
#include <string>

#include "parallel.h"

namespace rerank {
namespace {

// Text per tokenizing thread: starting a thread takes tens of µs, and 2 KiB of text about 1.6 ms to
// tokenize (llama.cpp's BPE, ~0.8 µs a byte), so a thread pays for itself many times over. 16 KiB
// before: one request of 16 documents of 256 tokens (26 KiB, the GPU suite's G16) tokenized on one
// thread, ~15 ms of its 68 on the H200 (bench/results/2026-11-29-cuda-contexts-default.md).
constexpr size_t kBytesPerThread = 2 << 10;

// One document's outcome.
struct Tokenized {
  bool taken = false;  // false: skipped, beyond the reach of one-by-one tokenizing (DocumentProgress)
  std::vector<PairTokens> pairs;
  std::string error;
  std::string errorCode;
};

// A group's shared state while its documents tokenize.
struct GroupWork {
  std::optional<Prompt::Request> request;  // empty when the query leaves no room: nothing to tokenize
  std::unique_ptr<DocumentProgress> progress;
  std::vector<Tokenized> documents;
};

Tokenized tokenizeDocument(const Prompt& prompt, const Group& g, const Prompt::Request& request, size_t i) noexcept {
  Tokenized t;
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

uint32_t tokensOf(const std::vector<PairTokens>& pairs) {
  uint32_t n = 0;
  for (const auto& p : pairs) n += static_cast<uint32_t>(p.tokens.size());
  return n;
}

// A group's documents from the first, as the one-by-one loop takes them: its first failure is its
// error; it stops before the first document that does not fit its budget.
void assemble(const Group& g, GroupWork& work, PreparedGroup& out) {
  GroupResult& res = out.result;
  uint64_t tokens = 0;
  for (size_t i = 0; i < work.documents.size(); ++i) {
    Tokenized& t = work.documents[i];
    // Skipped only when documents before it spent the budget (so this loop stops at or before it)
    // or one of them failed (so it returned there).
    if (!t.taken) break;
    if (!t.errorCode.empty()) {
      res.error = t.error.empty() ? "document " + std::to_string(i) + " could not be tokenized" : std::move(t.error);
      res.errorCode = std::move(t.errorCode);
      res.errorIndex = static_cast<int32_t>(i);
      return;
    }
    const uint32_t docTokens = tokensOf(t.pairs);
    if (g.tokenBudget > 0 && i > 0 && tokens + docTokens > g.tokenBudget) break;
    tokens += docTokens;
    res.pairTokens.push_back(docTokens);
    res.chunks.push_back(static_cast<uint32_t>(t.pairs.size()));
    res.truncated.push_back(t.pairs.back().truncated);
    for (auto& p : t.pairs) {
      out.owner.push_back(i);
      out.pairs.push_back(std::move(p));
    }
    res.completed = static_cast<uint32_t>(i + 1);
  }
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

std::vector<PreparedGroup> preparePairs(const Prompt& prompt, const std::vector<Group>& groups, uint32_t maxLength,
                                        unsigned threads) {
  std::vector<PreparedGroup> out(groups.size());
  std::vector<GroupWork> work(groups.size());
  std::vector<std::pair<size_t, size_t>> items;  // (group, document), in order
  size_t bytes = 0;
  for (size_t g = 0; g < groups.size(); ++g) {
    try {
      work[g].request = prompt.request(groups[g].instruction, groups[g].query, std::min(groups[g].maxLength, maxLength));
    } catch (const QueryTooLong& e) {
      out[g].result.error = e.what();
      out[g].result.errorCode = "QUERY_TOO_LONG";
      continue;
    } catch (const std::exception& e) {
      // e.g. std::bad_alloc: this request fails, the others of the call go on
      out[g].result.error = std::string("the query could not be tokenized: ") + e.what();
      out[g].result.errorCode = "TOKENIZE_FAILED";
      continue;
    }
    work[g].documents.resize(groups[g].documents.size());
    work[g].progress = std::make_unique<DocumentProgress>(groups[g].documents.size(), groups[g].tokenBudget);
    for (size_t i = 0; i < groups[g].documents.size(); ++i) {
      items.emplace_back(g, i);
      bytes += groups[g].documents[i].size();
    }
  }

  const size_t wanted = std::max<size_t>(1, bytes / kBytesPerThread);
  forEachIndex(items.size(), static_cast<unsigned>(std::min<size_t>(threads, wanted)), [&](size_t k, unsigned) {
    const auto [g, i] = items[k];
    GroupWork& w = work[g];
    if (w.progress->beyondReach(i)) return;
    Tokenized t = tokenizeDocument(prompt, groups[g], *w.request, i);
    w.progress->finished(i, tokensOf(t.pairs), !t.errorCode.empty());
    w.documents[i] = std::move(t);
  });

  for (size_t g = 0; g < groups.size(); ++g) {
    if (work[g].request) assemble(groups[g], work[g], out[g]);
  }
  return out;
}

}  // namespace rerank
