#include "backend.h"

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <stdexcept>

#include "llama.h"

namespace rerank {
namespace {

thread_local std::string lastError;
thread_local const std::atomic<bool>* quietWhen = nullptr;  // QuietLlamaErrors
// GGML_LOG_LEVEL_CONT continues the message before it, so it goes where that one went.
thread_local bool continuingError = false;

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  return s;
}

// llama.cpp is chatty at INFO level; a library embedded in a service should be quiet unless asked.
// Errors are not: they go to stderr as they happen, since ggml aborts the process on some of them
// (a CUDA error) and the thrown error that would carry them never comes.
void onLog(ggml_log_level level, const char* text, void*) {
  // Unset, empty or "0" is off, as a user who writes LLAMA_RERANK_VERBOSE=0 means.
  static const bool verbose = [] {
    const char* v = std::getenv("LLAMA_RERANK_VERBOSE");
    return v != nullptr && *v != '\0' && std::strcmp(v, "0") != 0;
  }();
  bool error = level == GGML_LOG_LEVEL_ERROR || (level == GGML_LOG_LEVEL_CONT && continuingError);
  if (level != GGML_LOG_LEVEL_CONT) continuingError = level == GGML_LOG_LEVEL_ERROR;
  if (error && quietWhen && quietWhen->load(std::memory_order_relaxed)) error = false;
  if (error) {
    lastError += text;
    if (lastError.size() > 4096) lastError.erase(0, lastError.size() - 4096);
  }
  if (verbose || error) std::fputs(text, stderr);
}

const char* typeName(enum ggml_backend_dev_type t) {
  switch (t) {
    case GGML_BACKEND_DEVICE_TYPE_CPU: return "cpu";
    case GGML_BACKEND_DEVICE_TYPE_GPU: return "gpu";
    case GGML_BACKEND_DEVICE_TYPE_IGPU: return "igpu";
    default: return "accel";
  }
}

}  // namespace

void ensureBackend(const std::string& libDir) {
  static std::once_flag once;
  std::call_once(once, [&] {
    llama_log_set(onLog, nullptr);
#ifdef GGML_BACKEND_DL
    // Without a folder, ggml searches the executable's (node's) folder and the working directory.
    ggml_backend_load_all_from_path(libDir.empty() ? nullptr : libDir.c_str());
#endif
    llama_backend_init();
  });
}

std::string loadBackendLibrary(const std::string& path) {
  ensureBackend();
  clearLastLlamaError();
  ggml_backend_reg_t reg = ggml_backend_load(path.c_str());
  if (!reg) {
    const std::string why = takeLastLlamaError();
    throw std::runtime_error("cannot load the backend library " + path + (why.empty() ? "" : ": " + why));
  }
  return ggml_backend_reg_name(reg);
}

std::string takeLastLlamaError() {
  std::string e;
  e.swap(lastError);
  while (!e.empty() && std::isspace(static_cast<unsigned char>(e.back()))) e.pop_back();
  return e;
}

QuietLlamaErrors::QuietLlamaErrors(const std::atomic<bool>* stopped) : previous_(quietWhen) { quietWhen = stopped; }
QuietLlamaErrors::~QuietLlamaErrors() { quietWhen = previous_; }

void clearLastLlamaError() {
  lastError.clear();
  continuingError = false;
}

std::vector<DeviceInfo> listDevices() {
  ensureBackend();
  std::vector<DeviceInfo> out;
  for (size_t i = 0; i < ggml_backend_dev_count(); ++i) {
    ggml_backend_dev_t dev = ggml_backend_dev_get(i);
    DeviceInfo info;
    info.name = ggml_backend_dev_name(dev);
    info.description = ggml_backend_dev_description(dev);
    info.backend = ggml_backend_reg_name(ggml_backend_dev_backend_reg(dev));
    info.type = typeName(ggml_backend_dev_type(dev));
    ggml_backend_dev_memory(dev, &info.memoryFree, &info.memoryTotal);
    out.push_back(std::move(info));
  }
  return out;
}

std::vector<ggml_backend_dev_t> gpuDevicesOf(const std::string& backend) {
  ensureBackend();
  const std::string want = lower(backend);
  std::vector<ggml_backend_dev_t> out;
  for (size_t i = 0; i < ggml_backend_dev_count(); ++i) {
    ggml_backend_dev_t dev = ggml_backend_dev_get(i);
    if (ggml_backend_dev_type(dev) == GGML_BACKEND_DEVICE_TYPE_CPU) continue;
    std::string reg = lower(ggml_backend_reg_name(ggml_backend_dev_backend_reg(dev)));
    if (reg == want || (want == "metal" && reg == "mtl")) out.push_back(dev);
  }
  return out;
}

std::vector<ggml_backend_dev_t> gpuDevicesNamed(const std::string& backend, const std::vector<std::string>& names) {
  const std::vector<ggml_backend_dev_t> all = gpuDevicesOf(backend);
  std::vector<ggml_backend_dev_t> out;
  for (const std::string& name : names) {
    const auto it = std::find_if(all.begin(), all.end(), [&](ggml_backend_dev_t d) { return name == ggml_backend_dev_name(d); });
    if (it == all.end()) {
      std::string known;
      for (auto* d : all) known += (known.empty() ? "" : ", ") + std::string(ggml_backend_dev_name(d));
      throw std::runtime_error("no " + backend + " device named \"" + name + "\" (" +
                               (known.empty() ? "it has none" : "it has " + known) + ")");
    }
    if (std::find(out.begin(), out.end(), *it) == out.end()) out.push_back(*it);
  }
  return out;
}

}  // namespace rerank
