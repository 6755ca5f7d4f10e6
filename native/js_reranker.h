// The JS object over a Reranker. Loading and scoring run as AsyncWorkers on libuv's pool,
// never on the event loop; each worker holds its own reference to the Reranker, so dispose()
// while a request runs stops that request at its next decode call and frees the model once the
// worker lets go.
#pragma once

#include <napi.h>

#include <memory>

#include "reranker.h"

namespace rerank {

class JsReranker : public Napi::ObjectWrap<JsReranker> {
 public:
  static Napi::Function define(Napi::Env env);
  static Napi::Object wrap(Napi::Env env, std::shared_ptr<Reranker> reranker);
  explicit JsReranker(const Napi::CallbackInfo& info);

 private:
  Napi::Value score(const Napi::CallbackInfo& info);
  Napi::Value cancel(const Napi::CallbackInfo& info);
  Napi::Value tokenize(const Napi::CallbackInfo& info);
  Napi::Value truncate(const Napi::CallbackInfo& info);
  Napi::Value info(const Napi::CallbackInfo& info);
  Napi::Value dispose(const Napi::CallbackInfo& info);

  std::shared_ptr<Reranker> reranker_;
};

// loadModel(options): Promise<JsReranker>
Napi::Value loadModel(const Napi::CallbackInfo& info);

}  // namespace rerank
