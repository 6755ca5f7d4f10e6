#include "prompt.h"

#include <algorithm>
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

std::vector<PairTokens> Prompt::windows(const std::string& instruction, const std::string& query,
                                        const std::string& document, uint32_t maxLength, uint32_t maxWindows,
                                        uint32_t overlap) const {
  PairTokens whole = pair(instruction, query, document, maxLength, true);
  if (!whole.truncated || maxWindows <= 1) return {whole};

  const std::vector<llama_token> head = tokenize("<Instruct>: " + instruction + "\n<Query>: " + query + "\n<Document>: ", false);
  const std::vector<llama_token> doc = tokenize(document, false);
  const size_t fixed = fixedTokens() + head.size();
  if (maxLength < fixed + 8) return {whole};  // no room for a useful window: truncate as usual
  const size_t width = maxLength - fixed;
  const size_t stride = width - std::min<size_t>(overlap, width / 2);  // short windows overlap by half
  std::vector<PairTokens> out;
  for (size_t start = 0; out.size() < maxWindows; start += stride) {
    const size_t end = std::min(doc.size(), start + width);
    PairTokens w;
    w.bodyTokens = static_cast<uint32_t>(head.size() + end - start);
    w.tokens.reserve(fixed + end - start);
    w.tokens.insert(w.tokens.end(), prefix_.begin(), prefix_.end());
    w.tokens.insert(w.tokens.end(), head.begin(), head.end());
    w.tokens.insert(w.tokens.end(), doc.begin() + start, doc.begin() + end);
    w.tokens.insert(w.tokens.end(), suffix_.begin(), suffix_.end());
    out.push_back(std::move(w));
    if (end == doc.size()) return out;
  }
  out.back().truncated = true;  // more text than maxWindows windows hold
  return out;
}

}  // namespace rerank
