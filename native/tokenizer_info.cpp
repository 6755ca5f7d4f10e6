#include "tokenizer_info.h"

#include "model_meta.h"

namespace rerank {

TokenizerInfo describeTokenizer(const llama_model* model) {
  TokenizerInfo info;
  info.pre = metaString(model, "tokenizer.ggml.pre");
  const llama_vocab* vocab = llama_model_get_vocab(model);
  for (llama_token t = 0; t < llama_vocab_n_tokens(vocab); t++) {
    // llama.cpp also marks some user-defined tokens control (the FIM tokens): those stay text.
    const llama_token_attr attr = llama_vocab_get_attr(vocab, t);
    if ((attr & LLAMA_TOKEN_ATTR_USER_DEFINED) && !(attr & LLAMA_TOKEN_ATTR_CONTROL)) {
      info.userDefined.emplace_back(llama_vocab_get_text(vocab, t));
    }
  }
  return info;
}

}  // namespace rerank
