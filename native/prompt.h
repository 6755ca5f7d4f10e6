// The official Qwen3-Reranker prompt, tokenized exactly as the reference implementation does:
// prefix and suffix with special tokens parsed; the body as ONE string with special-token parsing
// off, so text in a query or document can never become a control token.
#pragma once

#include <atomic>
#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "llama.h"

namespace rerank {

struct PairTokens {
  std::vector<llama_token> tokens;  // prefix + body + suffix
  bool truncated = false;
};

// The instruction and query alone fill the pair: no document token fits in maxLength. A fault of
// the request, whatever its truncate flag says (truncating would score every document the same).
class QueryTooLong : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

class Prompt {
 public:
  explicit Prompt(const llama_vocab* vocab);

  // What every pair of one request shares: the body up to its document, "<Instruct>: …\n<Query>:
  // …\n<Document>:", tokenized once for all of the request's documents. `maxLength` bounds the
  // whole pair. Throws QueryTooLong when the instruction and query leave no room for a document token.
  struct Request {
    std::string text;                 // the body up to the document
    std::vector<llama_token> tokens;  // its tokens: the body's first, whatever the document is
    size_t room = 0;                  // body tokens a pair may have
    uint32_t maxLength = 0;
  };
  Request request(const std::string& instruction, const std::string& query, uint32_t maxLength) const;

  // A pair's body longer than `maxLength` loses tokens from its end (the official rule). With
  // truncate off a pair that does not fit throws std::length_error instead. Only as much of the
  // document is tokenized as the kept tokens need.
  PairTokens pair(const Request& request, const std::string& document, bool truncate) const;

  // A document too long for one pair, as the hosted APIs chunk it: overlapping windows of the
  // pair's document tokens, each its own pair, at most `maxWindows` (later text is dropped, as
  // truncation would); windows share `overlap` tokens, or half their width when they are short.
  // Every window is the official pair's tokens without the document's tokens outside the window;
  // window 0 is the truncated pair.
  std::vector<PairTokens> windows(const Request& request, const std::string& document, uint32_t maxWindows,
                                  uint32_t overlap) const;

  // The tokens every pair of this instruction starts with, whatever its query and document: the
  // system line and "<Instruct>: …\n<Query>:". Empty when they are more than `maxTokens`.
  std::vector<llama_token> instructionHead(const std::string& instruction, size_t maxTokens) const;

  size_t fixedTokens() const { return prefix_.size() + suffix_.size(); }
  std::vector<llama_token> tokenize(const std::string& text, bool parseSpecial) const;

  // The first `keep` tokens of `head + text`: exactly those of tokenizing it whole, from a prefix
  // of `text` sized for them (grown when it falls short). `more`: the whole has more tokens.
  struct Front {
    std::vector<llama_token> tokens;
    bool more = false;
  };
  Front front(const std::string& head, const std::string& text, size_t keep, bool parseSpecial = false) const;

  // The text of `text`'s first `keep` tokens, as a hosted API's token truncation (Cohere's
  // max_tokens_per_doc) keeps it: the tokens' own text, less a character the last one ends inside,
  // and fewer tokens while that text, tokenized alone, has more than `keep` (a word cut short can
  // split otherwise). nullopt when the whole text has no more than `keep` tokens.
  std::optional<std::string> firstTokensText(const std::string& text, size_t keep) const;

  // Bytes handed to the tokenizer by every Prompt of the process: shows the work is bounded.
  static uint64_t tokenizedBytes() { return tokenizedBytes_.load(std::memory_order_relaxed); }

 private:
  std::string detokenize(const llama_token* tokens, size_t n) const;
  // prefix + body[0, bodyEnd) + body[docBegin, docEnd) + suffix
  PairTokens wrap(const std::vector<llama_token>& body, size_t bodyEnd, size_t docBegin, size_t docEnd) const;

  const llama_vocab* vocab_;
  std::vector<llama_token> prefix_;
  std::vector<llama_token> suffix_;
  static std::atomic<uint64_t> tokenizedBytes_;
};

}  // namespace rerank
