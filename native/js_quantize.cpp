#include "js_quantize.h"

#include <llama.h>

#include <string>

#include "js_convert.h"
#include "model_check.h"
#include "model_quantize.h"

namespace rerank {
namespace {

struct NamedType {
  const char* name;
  llama_ftype ftype;
};

// Each is written "pure" (quantizeModelFile): every 2-D weight in the named type.
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
      quantizeModelFile(src_, dst_, ftype_, 0);  // 0: a thread per core
    } catch (const std::exception& e) {
      SetError(e.what());
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
