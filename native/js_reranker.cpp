#include "js_reranker.h"

#include <algorithm>

#include "js_convert.h"

namespace rerank {
namespace {

struct AddonData {
  Napi::FunctionReference constructor;
};

class LoadWorker : public Napi::AsyncWorker {
 public:
  LoadWorker(Napi::Env env, LoadOptions options)
      : Napi::AsyncWorker(env, "llama-rerank:load"), deferred_(env), options_(std::move(options)) {}
  Napi::Promise promise() { return deferred_.Promise(); }

  void Execute() override {
    try {
      result_ = Reranker::load(options_);
    } catch (const std::exception& e) {
      SetError(e.what());
    }
  }
  void OnOK() override { deferred_.Resolve(JsReranker::wrap(Env(), std::move(result_))); }
  void OnError(const Napi::Error& e) override {
    deferred_.Reject(codedError(Env(), e.Message(), "MODEL_LOAD_FAILED").Value());
  }

 private:
  Napi::Promise::Deferred deferred_;
  LoadOptions options_;
  std::shared_ptr<Reranker> result_;
};

class ScoreWorker : public Napi::AsyncWorker {
 public:
  ScoreWorker(Napi::Env env, std::shared_ptr<Reranker> reranker, std::vector<Group> groups)
      : Napi::AsyncWorker(env, "llama-rerank:score"),
        deferred_(env),
        reranker_(std::move(reranker)),
        groups_(std::move(groups)) {}
  Napi::Promise promise() { return deferred_.Promise(); }

  void Execute() override {
    try {
      results_ = reranker_->score(groups_);
    } catch (const std::exception& e) {
      SetError(e.what());
    }
    reranker_.reset();  // let a disposed model go from this thread, not the JS one
  }
  void OnOK() override {
    Napi::Env env = Env();
    Napi::Array out = Napi::Array::New(env, results_.size());
    for (size_t i = 0; i < results_.size(); ++i) out.Set(static_cast<uint32_t>(i), toJs(env, results_[i]));
    deferred_.Resolve(out);
  }
  void OnError(const Napi::Error& e) override {
    deferred_.Reject(codedError(Env(), e.Message(), "DECODE_FAILED").Value());
  }

 private:
  Napi::Promise::Deferred deferred_;
  std::shared_ptr<Reranker> reranker_;
  std::vector<Group> groups_;
  std::vector<GroupResult> results_;
};

class TokenizeWorker : public Napi::AsyncWorker {
 public:
  TokenizeWorker(Napi::Env env, std::shared_ptr<Reranker> reranker, std::string text, bool parseSpecial)
      : Napi::AsyncWorker(env, "llama-rerank:tokenize"),
        deferred_(env),
        reranker_(std::move(reranker)),
        text_(std::move(text)),
        parseSpecial_(parseSpecial) {}
  Napi::Promise promise() { return deferred_.Promise(); }

  void Execute() override {
    try {
      tokens_ = reranker_->tokenize(text_, parseSpecial_);
    } catch (const std::exception& e) {
      SetError(e.what());
    }
    reranker_.reset();
  }
  void OnOK() override {
    Napi::Int32Array out = Napi::Int32Array::New(Env(), tokens_.size());
    std::copy(tokens_.begin(), tokens_.end(), out.Data());
    deferred_.Resolve(out);
  }
  void OnError(const Napi::Error& e) override { deferred_.Reject(e.Value()); }

 private:
  Napi::Promise::Deferred deferred_;
  std::shared_ptr<Reranker> reranker_;
  std::string text_;
  bool parseSpecial_;
  std::vector<llama_token> tokens_;
};

}  // namespace

Napi::Function JsReranker::define(Napi::Env env) {
  Napi::Function ctor = DefineClass(env, "NativeReranker",
                                    {
                                        InstanceMethod<&JsReranker::score>("score"),
                                        InstanceMethod<&JsReranker::tokenize>("tokenize"),
                                        InstanceMethod<&JsReranker::info>("info"),
                                        InstanceMethod<&JsReranker::dispose>("dispose"),
                                    });
  auto* data = new AddonData{Napi::Persistent(ctor)};
  env.SetInstanceData<AddonData>(data);
  return ctor;
}

Napi::Object JsReranker::wrap(Napi::Env env, std::shared_ptr<Reranker> reranker) {
  auto* holder = new std::shared_ptr<Reranker>(std::move(reranker));
  auto external = Napi::External<std::shared_ptr<Reranker>>::New(
      env, holder, [](Napi::Env, std::shared_ptr<Reranker>* p) { delete p; });
  return env.GetInstanceData<AddonData>()->constructor.New({external});
}

JsReranker::JsReranker(const Napi::CallbackInfo& info) : Napi::ObjectWrap<JsReranker>(info) {
  if (info.Length() != 1 || !info[0].IsExternal()) {
    throw codedError(info.Env(), "NativeReranker is created by loadModel()", "INVALID_ARGUMENT");
  }
  reranker_ = *info[0].As<Napi::External<std::shared_ptr<Reranker>>>().Data();
}

Napi::Value JsReranker::score(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!reranker_) throw codedError(env, "the model has been disposed", "DISPOSED");
  if (info.Length() < 1 || !info[0].IsArray()) throw codedError(env, "score() takes an array of groups", "INVALID_ARGUMENT");
  auto* worker = new ScoreWorker(env, reranker_, toGroups(info[0].As<Napi::Array>()));
  Napi::Promise promise = worker->promise();
  worker->Queue();
  return promise;
}

Napi::Value JsReranker::tokenize(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!reranker_) throw codedError(env, "the model has been disposed", "DISPOSED");
  if (info.Length() < 1 || !info[0].IsString()) throw codedError(env, "tokenize() takes a string", "INVALID_ARGUMENT");
  const bool special = info.Length() > 1 && info[1].ToBoolean().Value();
  auto* worker = new TokenizeWorker(env, reranker_, info[0].As<Napi::String>().Utf8Value(), special);
  Napi::Promise promise = worker->promise();
  worker->Queue();
  return promise;
}

Napi::Value JsReranker::info(const Napi::CallbackInfo& info) {
  if (!reranker_) throw codedError(info.Env(), "the model has been disposed", "DISPOSED");
  return toJs(info.Env(), reranker_->info());
}

Napi::Value JsReranker::dispose(const Napi::CallbackInfo& info) {
  reranker_.reset();
  return info.Env().Undefined();
}

Napi::Value loadModel(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsObject()) throw codedError(env, "loadModel() takes an options object", "INVALID_ARGUMENT");
  auto* worker = new LoadWorker(env, toLoadOptions(info[0].As<Napi::Object>()));
  Napi::Promise promise = worker->promise();
  worker->Queue();
  return promise;
}

}  // namespace rerank
