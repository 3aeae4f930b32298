// The MOT file reader (ground truth and results, `weaver eval mot`) on
// hostile text: parse or refuse with input_error; what parses evaluates
// against itself without crashing.
#include <cstdint>
#include <sstream>
#include <string>

#include "tools/eval/mot_eval.hpp"

using namespace weaver::mot;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const bool gt = data[0] & 1;
  std::istringstream in(std::string(reinterpret_cast<const char*>(data) + 1, size - 1));
  std::vector<box_row> rows;
  try {
    rows = parse_mot(in, "fuzz", gt);
  } catch (const input_error&) {
    return 0;
  }
  if (rows.size() > 2000) return 0; // evaluation is quadratic per frame: keep executions fast
  auto c = evaluate_sequence(rows, rows);
  (void)c;
  return 0;
}
