// llama-rerank's native module: loadModel(), listDevices() and the NativeReranker class.
#include <napi.h>

#include "backend.h"
#include "js_convert.h"
#include "js_reranker.h"

namespace {

Napi::Value listDevices(const Napi::CallbackInfo& info) { return rerank::toJs(info.Env(), rerank::listDevices()); }

Napi::Object init(Napi::Env env, Napi::Object exports) {
  exports.Set("NativeReranker", rerank::JsReranker::define(env));
  exports.Set("loadModel", Napi::Function::New(env, rerank::loadModel, "loadModel"));
  exports.Set("listDevices", Napi::Function::New(env, listDevices, "listDevices"));
  exports.Set("llamaCppRelease", Napi::String::New(env, LLAMA_RERANK_LLAMA_RELEASE));
  return exports;
}

}  // namespace

NODE_API_MODULE(llama_rerank, init)
