// The ONNX importer on hostile files: the input is the .onnx file itself
// (its external-data initializers may name "weights.bin", which stays
// absent or holds a previous input). Each imports and optimises (constant
// folding, shape inference, fusions) or is refused with a model_error naming
// the problem; nothing else may escape.
#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <string>

#include "accel/engine/onnx_import.hpp"
#include "accel/engine/passes.hpp"

namespace {

std::string scratch_dir() {
  static std::string dir = [] {
    char tmpl[] = "/tmp/weaver-fuzz-onnx-XXXXXX";
    const char* d = mkdtemp(tmpl);
    if (!d) std::abort();
    return std::string(d);
  }();
  return dir;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string model = scratch_dir() + "/model.onnx";
  {
    std::ofstream out(model, std::ios::binary | std::ios::trunc);
    out.write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(size));
  }
  try {
    auto g = weaver::engine::import_onnx(model);
    weaver::engine::optimise(g, 1, 0, 0);
  } catch (const weaver::engine::model_error&) {}
  return 0;
}
