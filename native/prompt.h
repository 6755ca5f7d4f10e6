// The official Qwen3-Reranker prompt, tokenized exactly as the reference implementation does:
// prefix and suffix with special tokens parsed; the body as ONE string with special-token parsing
// off, so text in a query or document can never become a control token.
#pragma once

#include <string>
#include <vector>

#include "llama.h"

namespace rerank {

struct PairTokens {
  std::vector<llama_token> tokens;  // prefix + body + suffix
  uint32_t bodyTokens = 0;          // body length before any truncation
  bool truncated = false;
};

class Prompt {
 public:
  explicit Prompt(const llama_vocab* vocab);

  // `maxLength` bounds the whole pair; a longer body loses tokens from its end (the official rule).
  // With truncate off a pair that does not fit throws std::length_error instead.
  PairTokens pair(const std::string& instruction, const std::string& query, const std::string& document,
                  uint32_t maxLength, bool truncate) const;

  // A document too long for one pair, as the hosted APIs chunk it: overlapping windows of its
  // tokens, each its own pair, at most `maxWindows` (later text is dropped, as truncation would);
  // windows share `overlap` tokens, or half their width when they are short.
  // The document is tokenized apart from the text before it here, so a window's first token can
  // differ from what one long string would give.
  std::vector<PairTokens> windows(const std::string& instruction, const std::string& query,
                                  const std::string& document, uint32_t maxLength, uint32_t maxWindows,
                                  uint32_t overlap) const;

  size_t fixedTokens() const { return prefix_.size() + suffix_.size(); }
  std::vector<llama_token> tokenize(const std::string& text, bool parseSpecial) const;

 private:
  const llama_vocab* vocab_;
  std::vector<llama_token> prefix_;
  std::vector<llama_token> suffix_;
};

}  // namespace rerank
