// Conversions between the plain objects lib/ passes in and the C++ types, done on the JS thread.
// lib/ has validated every field already; these only read them.
#pragma once

#include <napi.h>

#include <vector>

#include "backend.h"
#include "reranker.h"

namespace rerank {

LoadOptions toLoadOptions(const Napi::Object& o);
std::vector<Group> toGroups(const Napi::Array& a);

Napi::Object toJs(Napi::Env env, const GroupResult& r);
Napi::Object toJs(Napi::Env env, const CallResult& r);
Napi::Object toJs(Napi::Env env, const ModelInfo& info);
Napi::Array toJs(Napi::Env env, const std::vector<DeviceInfo>& devices);

// An Error with a `code` property, as lib/ maps codes to RerankError.
Napi::Error codedError(Napi::Env env, const std::string& message, const char* code);

}  // namespace rerank
