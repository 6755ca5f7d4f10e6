// llama-rerank's native module: loadModel(), listDevices(), quantizeModel() and the NativeReranker class.
#include <napi.h>

#include "backend.h"
#include "device_probe.h"
#include "js_convert.h"
#include "js_reranker.h"
#include "js_quantize.h"
#include "model_check.h"
#include "prompt.h"

namespace {

Napi::Value listDevices(const Napi::CallbackInfo& info) { return rerank::toJs(info.Env(), rerank::listDevices()); }

// init(libDir, backendLibraries): must come first; lib/native.ts calls it when it loads the addon.
// Loading a library is quick (no device work), so it runs on the JS thread.
Napi::Value initBackends(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 2 || !info[0].IsString() || !info[1].IsArray()) {
    throw rerank::codedError(env, "init(libDir, backendLibraries)", "INVALID_ARGUMENT");
  }
  rerank::ensureBackend(info[0].As<Napi::String>().Utf8Value());
  Napi::Array paths = info[1].As<Napi::Array>();
  Napi::Array out = Napi::Array::New(env, paths.Length());
  for (uint32_t i = 0; i < paths.Length(); ++i) {
    Napi::Object r = Napi::Object::New(env);
    const std::string path = paths.Get(i).As<Napi::String>().Utf8Value();
    r.Set("path", path);
    try {
      r.Set("backend", rerank::loadBackendLibrary(path));
    } catch (const std::exception& e) {
      r.Set("error", e.what());
    }
    out.Set(i, r);
  }
  return out;
}

// probeDevice(name): "" when the device computes correctly, else the reason. For child processes.
Napi::Value probeDevice(const Napi::CallbackInfo& info) {
  if (info.Length() < 1 || !info[0].IsString()) throw rerank::codedError(info.Env(), "probeDevice(name)", "INVALID_ARGUMENT");
  return Napi::String::New(info.Env(), rerank::probeDevice(info[0].As<Napi::String>().Utf8Value()));
}

// tokenizedBytes(): bytes handed to the tokenizer so far in this process, for tests to see that the
// work is bounded by what is kept.
Napi::Value tokenizedBytes(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), static_cast<double>(rerank::Prompt::tokenizedBytes()));
}

// modelFileType(path): the GGUF header's general.file_type (a llama_ftype), -1 when absent.
Napi::Value modelFileType(const Napi::CallbackInfo& info) {
  if (info.Length() < 1 || !info[0].IsString()) throw rerank::codedError(info.Env(), "modelFileType(path)", "INVALID_ARGUMENT");
  try {
    return Napi::Number::New(info.Env(), rerank::modelFileType(info[0].As<Napi::String>().Utf8Value()));
  } catch (const std::exception& e) {
    throw rerank::codedError(info.Env(), e.what(), "MODEL_LOAD_FAILED");
  }
}

// systemInfo(): llama.cpp's "CPU : SSE3 = 1 | AVX = 1 | ..." line of the registered backends'
// features, for the doctor (which instruction sets the CPU backend uses).
Napi::Value systemInfo(const Napi::CallbackInfo& info) { return Napi::String::New(info.Env(), llama_print_system_info()); }

Napi::Object init(Napi::Env env, Napi::Object exports) {
  exports.Set("NativeReranker", rerank::JsReranker::define(env));
  exports.Set("loadModel", Napi::Function::New(env, rerank::loadModel, "loadModel"));
  exports.Set("init", Napi::Function::New(env, initBackends, "init"));
  exports.Set("backendDl", Napi::Boolean::New(env,
#ifdef GGML_BACKEND_DL
                                               true
#else
                                               false
#endif
                                               ));
  exports.Set("probeDevice", Napi::Function::New(env, probeDevice, "probeDevice"));
  exports.Set("listDevices", Napi::Function::New(env, listDevices, "listDevices"));
  exports.Set("quantizeModel", Napi::Function::New(env, rerank::quantizeModel, "quantizeModel"));
  exports.Set("tokenizedBytes", Napi::Function::New(env, tokenizedBytes, "tokenizedBytes"));
  exports.Set("systemInfo", Napi::Function::New(env, systemInfo, "systemInfo"));
  exports.Set("modelFileType", Napi::Function::New(env, modelFileType, "modelFileType"));
  exports.Set("llamaCppRelease", Napi::String::New(env, LLAMA_RERANK_LLAMA_RELEASE));
  return exports;
}

}  // namespace

NODE_API_MODULE(llama_rerank, init)
