// The numbers that make a compiled float model run in int8: per-tensor
// activation scales calibrated on frames and per-channel s8 weights with s32
// biases, for every convolution. The graph itself stays the float model's
// (the int8 file names it); the file holds every number the int8
// convolutions use, so two machines load bit-identical int8 weights.
//
// File (JSON, written by `weaver model quantize`):
//   { "format": "weaver-int8", "version": 1,
//     "source": "<the float model file, as given>",
//     "calibration": { "video": ..., "frames": [first, end), "every": n,
//                      "method": "minmax", "input": [w, h] },
//     "activations": { "<value name>": { "scale": s, "unsigned": bool }, ... },
//     "convs": { "<conv node name>": { "filter": [kh, kw, cin/groups, cout],
//                 "scales": [per output channel], "bias": [s32 per channel],
//                 "weights": "<base64 of the s8 HWIO filter>" }, ... } }
// Value and node names are those of the optimised graph (`weaver model
// inspect`), which do not depend on the input size.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "accel/engine/executor.hpp"
#include "accel/engine/quantize.hpp"

namespace weaver::engine {

struct int8_conv_params {
  shape_t filter; // HWIO
  std::vector<int8_t> w;
  std::vector<float> scale;
  std::vector<int32_t> bias; // empty when the conv has none
};

struct int8_table {
  std::string source;
  std::string calibration; // JSON text of the calibration record
  std::map<std::string, quant::act_scale> acts; // conv inputs and outputs
  std::map<std::string, int8_conv_params> convs;
};

/// Runs the float model on inputs until `next` returns false (it fills the
/// input, NHWC f32), records min/max of every conv input and output, and
/// quantizes every conv's weights and bias.
int8_table calibrate(const std::shared_ptr<const model>& m, const std::function<bool(float*)>& next);

void save_int8(const int8_table& t, const std::string& path);
int8_table load_int8(const std::string& path);

/// `m` with `t` attached: its sessions run on int8 codes (int8_plan.hpp). Throws
/// model_error when a conv of `m` has no entry in `t` or another filter shape.
/// `exact`: the weaver_dnn kernel's integer requantization (model::with_table).
std::shared_ptr<const model> with_int8(const std::shared_ptr<const model>& m, std::shared_ptr<const int8_table> t,
                                       bool exact = false);

} // namespace weaver::engine
