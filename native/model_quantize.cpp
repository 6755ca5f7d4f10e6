#include "model_quantize.h"

#include <stdexcept>

#include "backend.h"

namespace rerank {
namespace {

constexpr size_t kSlabBytes = 64u << 20;

}  // namespace

void quantizeModelFile(const std::string& src, const std::string& dst, llama_ftype type, int32_t threads) {
  llama_model_quantize_params params = llama_model_quantize_default_params();
  params.ftype = type;
  params.nthread = threads;
  // "pure": every 2-D weight gets the named type (llama.cpp's mixes would keep some at a higher
  // precision, and the tests want the named type's kernels). A row too narrow for the type's block
  // still falls back to another type inside llama.cpp.
  params.pure = true;
  // A quantized source is dequantized first: the F16/BF16 copies of a Q8_0 model.
  params.allow_requantize = true;
  // Rows go through in slabs of at most this many bytes (the output is the same). llama.cpp's
  // default, 8 GiB, sizes its buffers to the largest tensor: 0.9 GB for the 0.6B's token embeddings,
  // whose fresh pages, not the arithmetic, took most of a conversion's time (perf).
  params.max_buf_size = kSlabBytes;
  clearLastLlamaError();
  if (llama_model_quantize(src.c_str(), dst.c_str(), &params) != 0) {
    const std::string why = takeLastLlamaError();
    throw std::runtime_error("llama_model_quantize failed on " + src + (why.empty() ? " (see the llama.cpp error above)" : ": " + why));
  }
}

}  // namespace rerank
