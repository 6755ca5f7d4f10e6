#include "js_reranker.h"

#include <algorithm>
#include <cstdint>
#include <functional>
#include <memory>

#include "js_convert.h"

namespace rerank {
namespace {

// A token count from JS: a number at or above 0, NaN excluded; SIZE_MAX for one past what size_t holds.
bool tokenCount(const Napi::Value& v, size_t& out) {
  if (!v.IsNumber()) return false;
  const double d = v.As<Napi::Number>().DoubleValue();
  if (!(d >= 0)) return false;
  out = d >= static_cast<double>(SIZE_MAX) ? SIZE_MAX : static_cast<size_t>(d);
  return true;
}

struct AddonData {
  Napi::FunctionReference constructor;
};

// Runs `work` on a libuv thread, then settles a promise on the JS thread: resolved with
// toJs(result), or rejected with an Error carrying `errorCode`.
template <typename Result>
class PromiseWorker : public Napi::AsyncWorker {
 public:
  using Work = std::function<Result()>;
  using ToJs = std::function<Napi::Value(Napi::Env, Result&)>;

  static Napi::Promise run(Napi::Env env, const char* name, const char* errorCode, Work work, ToJs toJs) {
    auto* worker = new PromiseWorker(env, name, errorCode, std::move(work), std::move(toJs));
    Napi::Promise promise = worker->deferred_.Promise();
    worker->Queue();
    return promise;
  }

 private:
  PromiseWorker(Napi::Env env, const char* name, const char* errorCode, Work work, ToJs toJs)
      : Napi::AsyncWorker(env, name),
        deferred_(env),
        errorCode_(errorCode),
        work_(std::move(work)),
        toJs_(std::move(toJs)) {}

  void Execute() override {
    try {
      result_ = work_();
    } catch (const std::exception& e) {
      SetError(e.what());
    }
    work_ = nullptr;  // drops what the work holds (a disposed model is freed here, off the JS thread)
  }
  // A conversion that fails (a JS exception, out of memory) rejects the promise: never left pending.
  void OnOK() override {
    Napi::Env env = Env();
    try {
      deferred_.Resolve(toJs_(env, result_));
    } catch (const Napi::Error& e) {
      deferred_.Reject(e.Value());
    } catch (const std::exception& e) {
      deferred_.Reject(codedError(env, e.what(), errorCode_).Value());
    }
  }
  void OnError(const Napi::Error& e) override {
    deferred_.Reject(codedError(Env(), e.Message(), errorCode_).Value());
  }

  Napi::Promise::Deferred deferred_;
  const char* errorCode_;
  Work work_;
  ToJs toJs_;
  Result result_{};
};

}  // namespace

Napi::Function JsReranker::define(Napi::Env env) {
  Napi::Function ctor = DefineClass(env, "NativeReranker",
                                    {
                                        InstanceMethod<&JsReranker::score>("score"),
                                        InstanceMethod<&JsReranker::cancel>("cancel"),
                                        InstanceMethod<&JsReranker::tokenize>("tokenize"),
                                        InstanceMethod<&JsReranker::truncate>("truncate"),
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
  // Moved, not copied: the External lives until V8 collects it, and a copy there would keep the
  // model (and its KV cache) alive after dispose().
  reranker_ = std::move(*info[0].As<Napi::External<std::shared_ptr<Reranker>>>().Data());
}

Napi::Value JsReranker::score(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!reranker_) throw codedError(env, "the model has been disposed", "DISPOSED");
  if (info.Length() < 1 || !info[0].IsArray()) throw codedError(env, "score() takes an array of groups", "INVALID_ARGUMENT");
  auto groups = std::make_shared<std::vector<Group>>(toGroups(info[0].As<Napi::Array>()));
  // Registered now, on the JS thread, so a cancel() that follows this call always finds its group.
  for (Group& g : *groups) g.cancelled = reranker_->watch(g.id);
  return PromiseWorker<CallResult>::run(
      env, "llama-rerank:score", "DECODE_FAILED",
      [r = reranker_, groups] {
        struct Unwatch {
          Reranker& r;
          const std::vector<Group>& groups;
          ~Unwatch() {
            for (const Group& g : groups) r.unwatch(g.id);
          }
        } unwatch{*r, *groups};
        return r->score(*groups);
      },
      [](Napi::Env env, CallResult& result) -> Napi::Value { return toJs(env, result); });
}

Napi::Value JsReranker::cancel(const Napi::CallbackInfo& info) {
  if (reranker_ && info.Length() > 0 && info[0].IsNumber()) reranker_->cancel(info[0].As<Napi::Number>().Uint32Value());
  return info.Env().Undefined();
}

Napi::Value JsReranker::tokenize(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!reranker_) throw codedError(env, "the model has been disposed", "DISPOSED");
  if (info.Length() < 1 || !info[0].IsString()) throw codedError(env, "tokenize() takes a string", "INVALID_ARGUMENT");
  const bool special = info.Length() > 1 && info[1].ToBoolean().Value();
  // tokenize(text, parseSpecial, maxTokens?): the first maxTokens tokens only
  size_t maxTokens = SIZE_MAX;  // left so when absent or not a count: every token
  if (info.Length() > 2) tokenCount(info[2], maxTokens);
  return PromiseWorker<std::vector<llama_token>>::run(
      env, "llama-rerank:tokenize", "TOKENIZE_FAILED",
      [r = reranker_, text = info[0].As<Napi::String>().Utf8Value(), special, maxTokens] {
        return r->tokenize(text, special, maxTokens);
      },
      [](Napi::Env env, std::vector<llama_token>& tokens) -> Napi::Value {
        Napi::Int32Array out = Napi::Int32Array::New(env, tokens.size());
        std::copy(tokens.begin(), tokens.end(), out.Data());
        return out;
      });
}

Napi::Value JsReranker::truncate(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!reranker_) throw codedError(env, "the model has been disposed", "DISPOSED");
  size_t maxTokens = 0;
  if (info.Length() < 2 || !info[0].IsString() || !tokenCount(info[1], maxTokens)) {
    throw codedError(env, "truncate() takes a string and a token count", "INVALID_ARGUMENT");
  }
  // truncate(text, maxTokens): the text of its first maxTokens tokens, null when that is all of it
  return PromiseWorker<std::optional<std::string>>::run(
      env, "llama-rerank:truncate", "TOKENIZE_FAILED",
      [r = reranker_, text = info[0].As<Napi::String>().Utf8Value(),
       maxTokens] { return r->firstTokensText(text, maxTokens); },
      [](Napi::Env env, std::optional<std::string>& text) -> Napi::Value {
        return text ? Napi::String::New(env, *text) : env.Null();
      });
}

Napi::Value JsReranker::info(const Napi::CallbackInfo& info) {
  if (!reranker_) throw codedError(info.Env(), "the model has been disposed", "DISPOSED");
  return toJs(info.Env(), reranker_->info());
}

Napi::Value JsReranker::dispose(const Napi::CallbackInfo& info) {
  if (reranker_) reranker_->abortAll();  // a running call stops at its next decode, or inside it on a CPU
  reranker_.reset();
  return info.Env().Undefined();
}

Napi::Value loadModel(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsObject()) throw codedError(env, "loadModel() takes an options object", "INVALID_ARGUMENT");
  return PromiseWorker<std::shared_ptr<Reranker>>::run(
      env, "llama-rerank:load", "MODEL_LOAD_FAILED",
      [options = toLoadOptions(info[0].As<Napi::Object>())] { return std::shared_ptr<Reranker>(Reranker::load(options)); },
      [](Napi::Env env, std::shared_ptr<Reranker>& reranker) -> Napi::Value { return JsReranker::wrap(env, std::move(reranker)); });
}

}  // namespace rerank
