#include "hidden_capture.h"

#include <cstring>

#include "ggml.h"

namespace rerank {

bool HiddenCapture::onEval(ggml_tensor* t, bool ask, void* self) {
  const bool wanted = std::strcmp(t->name, "result_norm") == 0;
  if (ask) return wanted;  // observe only this node: the rest of the graph runs unsplit
  if (!wanted || t->type != GGML_TYPE_F32 || !ggml_is_contiguous(t)) return true;
  auto& rows = static_cast<HiddenCapture*>(self)->rows_;
  const size_t n = static_cast<size_t>(ggml_nelements(t));
  const size_t at = rows.size();
  rows.resize(at + n);
  if (n > 0) ggml_backend_tensor_get(t, rows.data() + at, 0, n * sizeof(float));
  return true;
}

}  // namespace rerank
