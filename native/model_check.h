// Checks a GGUF header before llama.cpp loads it. llama.cpp refuses most malformed files with an
// error, but a few header values make it abort the whole process instead (found by fuzzing the test
// model: block_count 0 or over 512 at load; a negative or NaN RMS-norm epsilon at the first decode).
// Those are refused here, with the reason. The header also says the file's weight type.
#pragma once

#include <cstdint>
#include <string>

namespace rerank {

// Throws std::runtime_error when the file is no usable GGUF or would make llama.cpp abort.
void checkModelFile(const std::string& path);

// The header's general.file_type (a llama_ftype: 1 F16, 32 BF16...), or -1 when it has none.
// Throws std::runtime_error when the file is no GGUF.
int32_t modelFileType(const std::string& path);

}  // namespace rerank
