// Which parts of an int8 model run on codes, and every such value's code
// type: shared by the int8 CPU session and the weaver_dnn kernel's host
// compiler, so both compute the same codes at the same scales.
//
// A node runs on codes when every non-constant input is in codes and it is
// a conv with no, relu or leaky activation, a max pool, an add of two equal
// shapes, a bilinear resize or a channel (NHWC axis 3) concat, all on 4-D
// values (quant::* in int8_layers.hpp give their arithmetic). The model's
// input is quantized at its calibrated scale; what the plan leaves out runs
// in float32 on dequantized codes (NanoDet: the heads' split, sigmoid,
// reshape). Output scales: the int8 table's where it has one (every conv's
// input and output); otherwise the input's for max pool (max commutes with
// the scale), resize and concat (never beyond the inputs' range: the largest
// scale, signed if any input is), and sa + sb for add (cannot saturate).
#pragma once

#include <vector>

#include "accel/engine/graph.hpp"

namespace weaver::engine {

struct int8_table; // int8_model.hpp

struct code_type {
  bool in_codes = false;
  float scale = 1.0f;
  bool is_signed = false;
};

struct int8_plan {
  std::vector<code_type> values; // per graph value
  std::vector<char> nodes; // per graph node: 1 when it runs on codes
};

/// Throws model_error when the table has no scale for the input or no
/// numbers for a conv the plan would run on codes.
int8_plan plan_codes(const graph& g, const int8_table& t);

} // namespace weaver::engine
