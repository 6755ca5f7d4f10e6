#include "score_head.h"

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <memory>
#include <stdexcept>

#include "ggml.h"
#include "gguf_header.h"
#include "model_meta.h"

#ifndef _WIN32
#include <sys/types.h>  // off_t
#endif

namespace rerank {
namespace {

// The id of a word that must be a single token, or LLAMA_TOKEN_NULL.
llama_token singleToken(const llama_vocab* vocab, const std::string& word) {
  llama_token tokens[4];
  const int32_t n = llama_tokenize(vocab, word.data(), static_cast<int32_t>(word.size()), tokens, 4, false, false);
  return n == 1 ? tokens[0] : LLAMA_TOKEN_NULL;
}

float pYes(float yes, float no) {
  // softmax over two logits, written so that large gaps neither overflow nor lose precision
  return 1.0f / (1.0f + std::exp(no - yes));
}

struct FileCloser {
  void operator()(FILE* f) const { std::fclose(f); }
};

// Seeks to a 64-bit offset: an untied 8B head lies past 2 GB, and on Windows `long` and `off_t`
// are 32-bit and there is no fseeko.
bool seekTo(FILE* f, uint64_t offset) {
#ifdef _WIN32
  return _fseeki64(f, static_cast<__int64>(offset), SEEK_SET) == 0;
#else
  static_assert(sizeof(off_t) >= 8, "a 64-bit off_t is needed to read past 2 GB");
  return fseeko(f, static_cast<off_t>(offset), SEEK_SET) == 0;
#endif
}

// A tensor of the GGUF file as float32, whatever its storage type.
std::vector<float> readTensor(const std::string& path, const char* name, int64_t* rows, int64_t* cols) {
  const GgufHeader header(path, true);
  const gguf_context* gguf = header.gguf();
  const int64_t id = gguf_find_tensor(gguf, name);
  ggml_tensor* t = header.tensors() ? ggml_get_tensor(header.tensors(), name) : nullptr;
  if (id < 0 || !t) throw std::runtime_error(std::string("tensor ") + name + " not found in " + path);
  const auto* traits = ggml_get_type_traits(t->type);
  if (t->type != GGML_TYPE_F32 && !traits->to_float) {
    throw std::runtime_error(std::string("tensor ") + name + " has a type that cannot be read as float");
  }
  std::vector<uint8_t> bytes(ggml_nbytes(t));
  std::unique_ptr<FILE, FileCloser> f(std::fopen(path.c_str(), "rb"));
  const uint64_t offset = gguf_get_data_offset(gguf) + gguf_get_tensor_offset(gguf, id);
  if (!f || !seekTo(f.get(), offset) ||
      std::fread(bytes.data(), 1, bytes.size(), f.get()) != bytes.size()) {
    throw std::runtime_error(std::string("cannot read tensor ") + name + " from " + path);
  }
  const int64_t n = ggml_nelements(t);
  std::vector<float> out(n);
  if (t->type == GGML_TYPE_F32) {
    std::memcpy(out.data(), bytes.data(), n * sizeof(float));
  } else {
    traits->to_float(bytes.data(), out.data(), n);
  }
  *cols = t->ne[0];
  *rows = n / t->ne[0];
  return out;
}

}  // namespace

ScoreHead ScoreHead::detect(const llama_model* model, const std::string& path) {
  const std::string arch = metaString(model, "general.architecture");
  if (arch != "qwen3") {
    throw std::runtime_error("not a Qwen3-Reranker: the model's architecture is \"" + arch + "\", not \"qwen3\"");
  }
  ScoreHead head;
  head.nEmbd_ = llama_model_n_embd(model);
  const llama_vocab* vocab = llama_model_get_vocab(model);
  head.yes_ = singleToken(vocab, "yes");
  head.no_ = singleToken(vocab, "no");
  if (head.yes_ == LLAMA_TOKEN_NULL || head.no_ == LLAMA_TOKEN_NULL) {
    throw std::runtime_error("not a Qwen3-Reranker: the vocabulary has no single \"yes\" and \"no\" tokens");
  }

  // llama.cpp's converter marks a reranker with RANK pooling and classifier labels; a causal-LM
  // conversion has neither and is scored from the logits of "yes" and "no".
  const char* l0 = llama_model_cls_label(model, 0);
  const bool rankPooling = metaString(model, arch + ".pooling_type") == "4";  // LLAMA_POOLING_TYPE_RANK
  if (!l0 && !rankPooling) return head;

  const char* l1 = llama_model_cls_label(model, 1);
  if (!l0 || !l1 || llama_model_cls_label(model, 2) || std::string(l0) != "yes" || std::string(l1) != "no") {
    throw std::runtime_error("not a Qwen3-Reranker: its classifier outputs are not [\"yes\", \"no\"]");
  }
  int64_t rows = 0, cols = 0;
  head.weights_ = readTensor(path, "cls.output.weight", &rows, &cols);
  if (rows != 2 || cols != head.nEmbd_) {
    throw std::runtime_error("not a Qwen3-Reranker: cls.output.weight is not 2 rows of the embedding width");
  }
  try {
    int64_t br = 0, bc = 0;
    std::vector<float> bias = readTensor(path, "cls.output.bias", &br, &bc);
    if (bias.size() == 2) {
      head.biasYes_ = bias[0];
      head.biasNo_ = bias[1];
    }
  } catch (const std::runtime_error&) {
    // Qwen3's converter writes no bias; the head is a pure projection.
  }
  head.kind_ = Kind::Classifier;
  return head;
}

float ScoreHead::fromLogits(const float* logits) const { return pYes(logits[yes_], logits[no_]); }

float ScoreHead::fromHidden(const float* hidden) const {
  double yes = biasYes_, no = biasNo_;
  const float* wy = weights_.data();
  const float* wn = wy + nEmbd_;
  for (int32_t i = 0; i < nEmbd_; ++i) {
    yes += static_cast<double>(wy[i]) * hidden[i];
    no += static_cast<double>(wn[i]) * hidden[i];
  }
  return pYes(static_cast<float>(yes), static_cast<float>(no));
}

}  // namespace rerank
