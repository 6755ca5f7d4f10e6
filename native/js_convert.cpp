#include "js_convert.h"

#include <algorithm>

namespace rerank {
namespace {

template <typename T>
void read(const Napi::Object& o, const char* key, T& out);

template <>
void read(const Napi::Object& o, const char* key, std::string& out) {
  Napi::Value v = o.Get(key);
  if (v.IsString()) out = v.As<Napi::String>().Utf8Value();
}
template <>
void read(const Napi::Object& o, const char* key, int32_t& out) {
  Napi::Value v = o.Get(key);
  if (v.IsNumber()) out = v.As<Napi::Number>().Int32Value();
}
template <>
void read(const Napi::Object& o, const char* key, uint32_t& out) {
  Napi::Value v = o.Get(key);
  if (v.IsNumber()) out = v.As<Napi::Number>().Uint32Value();
}
template <>
void read(const Napi::Object& o, const char* key, uint64_t& out) {
  Napi::Value v = o.Get(key);
  if (v.IsNumber()) out = static_cast<uint64_t>(std::max(0.0, v.As<Napi::Number>().DoubleValue()));
}
template <>
void read(const Napi::Object& o, const char* key, bool& out) {
  Napi::Value v = o.Get(key);
  if (v.IsBoolean()) out = v.As<Napi::Boolean>().Value();
}

template <>
void read(const Napi::Object& o, const char* key, std::vector<std::string>& out) {
  Napi::Value v = o.Get(key);
  if (!v.IsArray()) return;
  Napi::Array a = v.As<Napi::Array>();
  for (uint32_t i = 0; i < a.Length(); ++i) {
    if (a.Get(i).IsString()) out.push_back(a.Get(i).As<Napi::String>().Utf8Value());
  }
}

template <typename T, typename Fn>
Napi::Array array(Napi::Env env, const std::vector<T>& items, Fn fn) {
  Napi::Array a = Napi::Array::New(env, items.size());
  for (size_t i = 0; i < items.size(); ++i) a.Set(static_cast<uint32_t>(i), fn(items[i]));
  return a;
}

}  // namespace

LoadOptions toLoadOptions(const Napi::Object& o) {
  LoadOptions l;
  read(o, "path", l.path);
  read(o, "gpu", l.gpu);
  read(o, "gpuLayers", l.gpuLayers);
  read(o, "threads", l.threads);
  read(o, "maxLength", l.maxLength);
  read(o, "batchSize", l.batchSize);
  read(o, "ubatchSize", l.ubatchSize);
  read(o, "maxSequences", l.maxSequences);
  read(o, "flashAttention", l.flashAttention);
  read(o, "kvType", l.kvType);
  read(o, "pack", l.pack);
  read(o, "keepHead", l.keepHead);
  read(o, "kvStreams", l.kvStreams);
  read(o, "contexts", l.contexts);
  read(o, "reuseGraphs", l.reuseGraphs);
  read(o, "devices", l.devices);
  read(o, "hostMemoryBytes", l.hostMemoryBytes);
  read(o, "weights", l.weights);
  read(o, "tokenizeAhead", l.tokenizeAhead);
  return l;
}

std::vector<Group> toGroups(const Napi::Array& a) {
  std::vector<Group> groups(a.Length());
  for (uint32_t i = 0; i < a.Length(); ++i) {
    Napi::Object o = a.Get(i).As<Napi::Object>();
    Group& g = groups[i];
    read(o, "id", g.id);
    read(o, "tokenBudget", g.tokenBudget);
    read(o, "instruction", g.instruction);
    read(o, "query", g.query);
    read(o, "maxLength", g.maxLength);
    read(o, "truncate", g.truncate);
    read(o, "sharePrefix", g.sharePrefix);
    read(o, "maxChunks", g.maxChunks);
    read(o, "chunkOverlap", g.chunkOverlap);
    Napi::Array docs = o.Get("documents").As<Napi::Array>();
    g.documents.reserve(docs.Length());
    for (uint32_t j = 0; j < docs.Length(); ++j) g.documents.push_back(docs.Get(j).As<Napi::String>().Utf8Value());
  }
  return groups;
}

Napi::Object toJs(Napi::Env env, const GroupResult& r) {
  Napi::Object o = Napi::Object::New(env);
  o.Set("completed", r.completed);
  Napi::Float64Array scores = Napi::Float64Array::New(env, r.scores.size());
  for (size_t i = 0; i < r.scores.size(); ++i) scores[i] = r.scores[i];
  o.Set("scores", scores);
  o.Set("pairTokens", array(env, r.pairTokens, [&](uint32_t n) { return Napi::Number::New(env, n); }));
  o.Set("truncated", array(env, r.truncated, [&](uint8_t t) { return Napi::Boolean::New(env, t != 0); }));
  o.Set("chunks", array(env, r.chunks, [&](uint32_t n) { return Napi::Number::New(env, n); }));
  o.Set("computedTokens", Napi::Number::New(env, static_cast<double>(r.computedTokens)));
  if (!r.error.empty()) {
    o.Set("error", r.error);
    o.Set("errorCode", r.errorCode);
    o.Set("errorIndex", r.errorIndex);
  }
  return o;
}

Napi::Object toJs(Napi::Env env, const CallResult& r) {
  Napi::Object o = Napi::Object::New(env);
  o.Set("groups", array(env, r.groups, [&](const GroupResult& g) { return toJs(env, g); }));
  o.Set("decodeCalls", static_cast<double>(r.decodeCalls));
  o.Set("graphsReused", static_cast<double>(r.graphsReused));
  o.Set("decodeMs", r.decodeMs);
  o.Set("pairsAhead", static_cast<double>(r.pairsAhead));
  return o;
}

Napi::Object toJs(Napi::Env env, const ModelInfo& i) {
  Napi::Object o = Napi::Object::New(env);
  o.Set("kind", i.kind);
  o.Set("backend", i.backend);
  o.Set("devices", array(env, i.devices, [&](const std::string& s) { return Napi::String::New(env, s); }));
  o.Set("description", i.description);
  Napi::Object tokenizer = Napi::Object::New(env);
  tokenizer.Set("pre", i.tokenizer.pre);
  tokenizer.Set("userDefined", array(env, i.tokenizer.userDefined, [&](const std::string& s) { return Napi::String::New(env, s); }));
  o.Set("tokenizer", tokenizer);
  o.Set("parameters", static_cast<double>(i.parameters));
  o.Set("sizeBytes", static_cast<double>(i.sizeBytes));
  o.Set("layers", i.layers);
  o.Set("gpuLayers", i.gpuLayers);
  o.Set("embeddingLength", i.embeddingLength);
  o.Set("trainContext", i.trainContext);
  o.Set("threads", i.threads);
  o.Set("contextSize", i.contextSize);
  o.Set("batchSize", i.batchSize);
  o.Set("ubatchSize", i.ubatchSize);
  o.Set("maxLength", i.maxLength);
  o.Set("maxSequences", i.maxSequences);
  o.Set("flashAttention", i.flashAttention);
  o.Set("kvType", i.kvType);
  o.Set("pack", i.pack);
  o.Set("kvStreams", i.kvStreams);
  o.Set("contexts", i.contexts);
  o.Set("reuseGraphs", i.reuseGraphs);
  o.Set("weightsConvertedAtLoad", i.weightsConvertedAtLoad);
  o.Set("tokenizeAhead", i.tokenizeAhead);
  if (!i.weightsConversionError.empty()) o.Set("weightsConversionError", i.weightsConversionError);
  o.Set("kvCacheBytes", static_cast<double>(i.kvCacheBytes));
  o.Set("kvCacheCpuBytes", static_cast<double>(i.kvCacheCpuBytes));
  return o;
}

Napi::Array toJs(Napi::Env env, const std::vector<DeviceInfo>& devices) {
  return array(env, devices, [&](const DeviceInfo& d) {
    Napi::Object o = Napi::Object::New(env);
    o.Set("name", d.name);
    o.Set("description", d.description);
    o.Set("backend", d.backend);
    o.Set("type", d.type);
    o.Set("memoryFree", static_cast<double>(d.memoryFree));
    o.Set("memoryTotal", static_cast<double>(d.memoryTotal));
    return o;
  });
}

Napi::Error codedError(Napi::Env env, const std::string& message, const char* code) {
  Napi::Error e = Napi::Error::New(env, message);
  e.Set("code", code);
  return e;
}

}  // namespace rerank
