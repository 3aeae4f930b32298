// The model importers on hostile files: a TF.js model.json with one weight
// shard, or a Darknet .cfg with its .weights. Each imports and optimises
// (shape inference, constant folding, fusions) or is refused with a
// model_error naming the problem; nothing else may escape.
//
// Input: byte 0 picks the format (even: TF.js, odd: Darknet); bytes 1-2
// (little endian) the length of the text part; the text (model.json or
// .cfg), then the rest is the binary part (shard or weights).
#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <string>

#include "accel/engine/executor.hpp"
#include "accel/engine/graph.hpp"
#include "accel/engine/passes.hpp"

namespace {

std::string scratch_dir() {
  static std::string dir = [] {
    char tmpl[] = "/tmp/weaver-fuzz-model-XXXXXX";
    const char* d = mkdtemp(tmpl);
    if (!d) std::abort();
    return std::string(d);
  }();
  return dir;
}

void write(const std::string& path, const uint8_t* data, size_t size) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(size));
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 3) return 0;
  const bool darknet = data[0] & 1;
  size_t text = static_cast<size_t>(data[1]) | static_cast<size_t>(data[2]) << 8;
  data += 3;
  size -= 3;
  if (text > size) text = size;
  const std::string dir = scratch_dir();
  // The shard name the seed manifests use; a fuzzed manifest may name others
  // (missing files must be refused as such).
  const std::string model = dir + (darknet ? "/model.cfg" : "/model.json");
  const std::string binary = dir + (darknet ? "/model.weights" : "/group1-shard1of1.bin");
  write(model, data, text);
  write(binary, data + text, size - text);
  try {
    auto g = darknet ? weaver::engine::import_model(model, binary) : weaver::engine::import_model(model);
    weaver::engine::optimise(g, 1, 0, 0);
  } catch (const weaver::engine::model_error&) {}
  return 0;
}
