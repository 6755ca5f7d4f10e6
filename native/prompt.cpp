#include "prompt.h"

#include <algorithm>
#include <climits>

namespace rerank {
namespace {

const char* const kPrefix =
    "<|im_start|>system\nJudge whether the Document meets the requirements based on the Query and the Instruct "
    "provided. Note that the answer can only be \"yes\" or \"no\".<|im_end|>\n<|im_start|>user\n";
const char* const kSuffix = "<|im_end|>\n<|im_start|>assistant\n<think>\n\n</think>\n\n";

// Tokens past the kept ones that a prefix must give before its kept tokens count as final.
// Cutting a text changes only how its last words split (the pre-tokenizer's words, and BPE merges
// inside a word, are local): test/prompt-tokens.test.ts compares against whole tokenizations.
constexpr size_t kMarginTokens = 64;
// Bytes per token to start from; the prefix then grows by what the tokens so far took.
constexpr size_t kFirstBytesPerToken = 4;

// The body up to (not including) the space before the query: every request with this instruction
// starts so. Qwen2's pre-tokenizer ends a word at that ':', so its tokens are the body's first
// whatever the query is (the decoder compares tokens before it relies on that).
std::string instructionPart(const std::string& instruction) { return "<Instruct>: " + instruction + "\n<Query>:"; }

// The body up to (not including) the space before the document: these are the body's first
// tokens whatever the document is, for the same reason.
std::string bodyHead(const std::string& instruction, const std::string& query) {
  return instructionPart(instruction) + " " + query + "\n<Document>:";
}

// The largest cut at or below `at` that does not split a UTF-8 sequence.
size_t utf8Cut(const std::string& s, size_t at) {
  if (at >= s.size()) return s.size();
  while (at > 0 && (static_cast<unsigned char>(s[at]) & 0xC0) == 0x80) --at;
  return at;
}

// `s` less an incomplete UTF-8 sequence at its end: byte-level BPE tokens can end inside a
// character, and half a character is no text to hand back.
void dropPartialCharacter(std::string& s) {
  if (s.empty()) return;
  const size_t last = utf8Cut(s, s.size() - 1);  // where the last character starts
  const unsigned char lead = static_cast<unsigned char>(s[last]);
  const size_t length = lead >= 0xF0 ? 4 : lead >= 0xE0 ? 3 : lead >= 0xC0 ? 2 : 1;
  if (s.size() - last < length) s.resize(last);
}

}  // namespace

std::atomic<uint64_t> Prompt::tokenizedBytes_{0};

Prompt::Prompt(const llama_vocab* vocab)
    : vocab_(vocab), prefix_(tokenize(kPrefix, true)), suffix_(tokenize(kSuffix, true)) {}

std::vector<llama_token> Prompt::tokenize(const std::string& text, bool parseSpecial) const {
  if (text.size() >= INT32_MAX) throw std::runtime_error("a text of " + std::to_string(text.size()) + " bytes is too long to tokenize");
  tokenizedBytes_.fetch_add(text.size(), std::memory_order_relaxed);
  // A token is at least one byte, so text.size() + 1 is always enough room.
  std::vector<llama_token> out(text.size() + 1);
  const int32_t n = llama_tokenize(vocab_, text.data(), static_cast<int32_t>(text.size()), out.data(),
                                   static_cast<int32_t>(out.size()), /*add_special=*/false, parseSpecial);
  if (n < 0) throw std::runtime_error("tokenization failed");
  out.resize(n);
  return out;
}

Prompt::Front Prompt::front(const std::string& head, const std::string& text, size_t keep, bool parseSpecial) const {
  const size_t want = keep > SIZE_MAX - kMarginTokens ? SIZE_MAX : keep + kMarginTokens;
  size_t len = std::min(text.size(), want * kFirstBytesPerToken);
  for (;;) {
    len = utf8Cut(text, len);
    std::string piece;
    piece.reserve(head.size() + len);
    piece.append(head).append(text, 0, len);
    std::vector<llama_token> tokens = tokenize(piece, parseSpecial);
    if (len == text.size() || tokens.size() >= want) {
      Front f;
      f.more = tokens.size() > keep;
      if (f.more) tokens.resize(keep);
      f.tokens = std::move(tokens);
      return f;
    }
    // Grow by the bytes per token seen so far, a quarter more for luck, at least doubling.
    const double seen = static_cast<double>(std::max<size_t>(tokens.size(), 1));
    const double estimate = std::min(1.25 * static_cast<double>(piece.size()) * static_cast<double>(want) / seen,
                                     static_cast<double>(text.size()));
    len = std::min(text.size(), std::max(2 * len + 1, static_cast<size_t>(estimate)));
  }
}

std::optional<std::string> Prompt::firstTokensText(const std::string& text, size_t keep) const {
  const Front f = front("", text, keep);
  if (!f.more) return std::nullopt;
  for (size_t n = f.tokens.size();;) {
    std::string out = detokenize(f.tokens.data(), n);
    dropPartialCharacter(out);
    const size_t count = tokenize(out, false).size();
    if (count <= keep) return out;
    n -= std::min(n, count - keep);  // each extra token stands for at least one kept token too many
  }
}

std::string Prompt::detokenize(const llama_token* tokens, size_t n) const {
  // Control tokens as text too, and no spaces "cleaned up": the Qwen2 vocabulary's detokenizer
  // then gives back the very bytes the tokens were read from.
  std::string out(n * 8, '\0');
  int32_t size = llama_detokenize(vocab_, tokens, static_cast<int32_t>(n), out.data(), static_cast<int32_t>(out.size()),
                                  /*remove_special=*/false, /*unparse_special=*/true);
  if (size < 0) {
    out.resize(static_cast<size_t>(-size));
    size = llama_detokenize(vocab_, tokens, static_cast<int32_t>(n), out.data(), static_cast<int32_t>(out.size()), false, true);
  }
  if (size < 0) throw std::runtime_error("detokenization failed");
  out.resize(static_cast<size_t>(size));
  return out;
}

Prompt::Request Prompt::request(const std::string& instruction, const std::string& query, uint32_t maxLength) const {
  Request r;
  r.text = bodyHead(instruction, query);
  r.room = maxLength > fixedTokens() ? maxLength - fixedTokens() : 0;
  r.maxLength = maxLength;
  Front h = front("", r.text, r.room);
  if (h.tokens.size() < r.room) {
    r.tokens = std::move(h.tokens);
    return r;
  }
  const std::string taken = h.more ? "more than " + std::to_string(maxLength)
                                   : std::to_string(fixedTokens() + h.tokens.size()) + " of the " + std::to_string(maxLength);
  throw QueryTooLong("query: with the instruction and the prompt around it, the query takes " + taken +
                     " tokens a pair may have (maxLength), leaving no room for a document");
}

std::vector<llama_token> Prompt::instructionHead(const std::string& instruction, size_t maxTokens) const {
  if (maxTokens <= prefix_.size()) return {};
  const Front body = front("", instructionPart(instruction), maxTokens - prefix_.size());
  if (body.more) return {};
  std::vector<llama_token> out(prefix_);
  out.insert(out.end(), body.tokens.begin(), body.tokens.end());
  return out;
}

PairTokens Prompt::wrap(const std::vector<llama_token>& body, size_t bodyEnd, size_t docBegin, size_t docEnd) const {
  PairTokens p;
  p.tokens.reserve(fixedTokens() + bodyEnd + docEnd - docBegin);
  p.tokens.insert(p.tokens.end(), prefix_.begin(), prefix_.end());
  p.tokens.insert(p.tokens.end(), body.begin(), body.begin() + bodyEnd);
  p.tokens.insert(p.tokens.end(), body.begin() + docBegin, body.begin() + docEnd);
  p.tokens.insert(p.tokens.end(), suffix_.begin(), suffix_.end());
  return p;
}

PairTokens Prompt::pair(const Request& request, const std::string& document, bool truncate) const {
  const Front body = front(request.text + " ", document, request.room);
  if (body.more && !truncate) {
    throw std::length_error("over the limit of " + std::to_string(request.maxLength) + " tokens with the query and the prompt");
  }
  PairTokens out = wrap(body.tokens, body.tokens.size(), 0, 0);
  out.truncated = body.more;
  return out;
}

std::vector<PairTokens> Prompt::windows(const Request& request, const std::string& document, uint32_t maxWindows,
                                        uint32_t overlap) const {
  if (maxWindows <= 1) return {pair(request, document, true)};
  const std::vector<llama_token>& h = request.tokens;
  const size_t split = h.size();
  const size_t width = request.room - split;  // document tokens per window
  if (width < 8) return {pair(request, document, true)};  // no room for a useful window
  const size_t stride = width - std::min<size_t>(overlap, width / 2);  // short windows overlap by half
  const Front body = front(request.text + " ", document, split + (maxWindows - 1) * stride + width);
  if (body.tokens.size() < split || !std::equal(h.begin(), h.end(), body.tokens.begin())) {
    // The document's first token took in text before it: no clean cut, so the official truncation.
    return {pair(request, document, true)};
  }
  const size_t docTokens = body.tokens.size() - split;
  std::vector<PairTokens> out;
  for (size_t start = 0; out.size() < maxWindows; start += stride) {
    const size_t end = std::min(docTokens, start + width);
    out.push_back(wrap(body.tokens, split, split + start, split + end));
    if (end == docTokens) {
      out.back().truncated = body.more;
      return out;
    }
  }
  out.back().truncated = true;  // more text than maxWindows windows hold
  return out;
}

}  // namespace rerank
