#include "prompt.h"

#include <stdexcept>

namespace rerank {
namespace {

const char* const kPrefix =
    "<|im_start|>system\nJudge whether the Document meets the requirements based on the Query and the Instruct "
    "provided. Note that the answer can only be \"yes\" or \"no\".<|im_end|>\n<|im_start|>user\n";
const char* const kSuffix = "<|im_end|>\n<|im_start|>assistant\n<think>\n\n</think>\n\n";

}  // namespace

Prompt::Prompt(const llama_vocab* vocab)
    : vocab_(vocab), prefix_(tokenize(kPrefix, true)), suffix_(tokenize(kSuffix, true)) {}

std::vector<llama_token> Prompt::tokenize(const std::string& text, bool parseSpecial) const {
  // A token is at least one byte, so text.size() + 1 is always enough room.
  std::vector<llama_token> out(text.size() + 1);
  const int32_t n = llama_tokenize(vocab_, text.data(), static_cast<int32_t>(text.size()), out.data(),
                                   static_cast<int32_t>(out.size()), /*add_special=*/false, parseSpecial);
  if (n < 0) throw std::runtime_error("tokenization failed");
  out.resize(n);
  return out;
}

PairTokens Prompt::pair(const std::string& instruction, const std::string& query, const std::string& document,
                        uint32_t maxLength, bool truncate) const {
  const std::string body = "<Instruct>: " + instruction + "\n<Query>: " + query + "\n<Document>: " + document;
  std::vector<llama_token> bodyTokens = tokenize(body, false);
  PairTokens out;
  out.bodyTokens = static_cast<uint32_t>(bodyTokens.size());
  const size_t room = maxLength > fixedTokens() ? maxLength - fixedTokens() : 0;
  if (bodyTokens.size() > room) {
    if (!truncate) {
      throw std::length_error(std::to_string(fixedTokens() + bodyTokens.size()) + " tokens, over the limit of " +
                              std::to_string(maxLength));
    }
    bodyTokens.resize(room);
    out.truncated = true;
  }
  out.tokens.reserve(fixedTokens() + bodyTokens.size());
  out.tokens.insert(out.tokens.end(), prefix_.begin(), prefix_.end());
  out.tokens.insert(out.tokens.end(), bodyTokens.begin(), bodyTokens.end());
  out.tokens.insert(out.tokens.end(), suffix_.begin(), suffix_.end());
  return out;
}

}  // namespace rerank
