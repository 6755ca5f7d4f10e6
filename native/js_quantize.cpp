#include "js_quantize.h"

#include <llama.h>

#include <string>

#include "js_convert.h"
#include "model_check.h"

namespace rerank {
namespace {

struct NamedType {
  const char* name;
  llama_ftype ftype;
};

// "pure": every 2-D weight gets the named type (llama.cpp's mixes would keep some at a higher
// precision, and the tests want the named type's kernels). A row too narrow for the type's block
// still falls back to another type inside llama.cpp.
const NamedType kTypes[] = {
    {"F32", LLAMA_FTYPE_ALL_F32},    {"F16", LLAMA_FTYPE_MOSTLY_F16},      {"BF16", LLAMA_FTYPE_MOSTLY_BF16},
    {"Q8_0", LLAMA_FTYPE_MOSTLY_Q8_0}, {"Q4_K", LLAMA_FTYPE_MOSTLY_Q4_K_M},
};

// Quantizing reads and writes whole files: off the event loop.
class QuantizeWorker : public Napi::AsyncWorker {
 public:
  QuantizeWorker(Napi::Env env, std::string src, std::string dst, llama_ftype ftype)
      : Napi::AsyncWorker(env, "quantizeModel"), deferred_(env), src_(std::move(src)), dst_(std::move(dst)), ftype_(ftype) {}

  Napi::Promise promise() { return deferred_.Promise(); }

 private:
  void Execute() override {
    try {
      // The quantizer loads the header as llama.cpp does, so the values that make llama.cpp abort
      // the process must be refused first, as a load refuses them.
      checkModelFile(src_);
    } catch (const std::exception& e) {
      SetError(e.what());
      return;
    }
    llama_model_quantize_params params = llama_model_quantize_default_params();
    params.ftype = ftype_;
    params.pure = true;
    // A quantized source is dequantized first: the F16/BF16 copies of the benchmarks' Q8_0 model.
    params.allow_requantize = true;
    if (llama_model_quantize(src_.c_str(), dst_.c_str(), &params) != 0) {
      SetError("llama_model_quantize failed on " + src_ + " (see the llama.cpp error above)");
    }
  }
  void OnOK() override { deferred_.Resolve(Env().Undefined()); }
  void OnError(const Napi::Error& e) override { deferred_.Reject(codedError(Env(), e.Message(), "QUANTIZE_FAILED").Value()); }

  Napi::Promise::Deferred deferred_;
  std::string src_, dst_;
  llama_ftype ftype_;
};

}  // namespace

Napi::Value quantizeModel(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 3 || !info[0].IsString() || !info[1].IsString() || !info[2].IsString()) {
    throw codedError(env, "quantizeModel(src, dst, type)", "INVALID_ARGUMENT");
  }
  const std::string type = info[2].As<Napi::String>().Utf8Value();
  for (const NamedType& t : kTypes) {
    if (type == t.name) {
      auto* worker = new QuantizeWorker(env, info[0].As<Napi::String>().Utf8Value(), info[1].As<Napi::String>().Utf8Value(), t.ftype);
      Napi::Promise promise = worker->promise();
      worker->Queue();
      return promise;
    }
  }
  throw codedError(env, "quantizeModel: unknown type " + type + " (F32, F16, BF16, Q8_0, Q4_K)", "INVALID_ARGUMENT");
}

}  // namespace rerank
