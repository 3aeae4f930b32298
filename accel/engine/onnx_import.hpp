// ONNX importer: a ModelProto (protobuf; the message types are generated at
// build time from Debian's onnx.proto) into the engine's graph IR. ONNX
// image tensors are NCHW; every NHWC image op (conv2d, the pools, resizes)
// is wrapped in transposes that remove_layout_transposes absorbs, so the
// compiled model runs NHWC like the TF.js and Darknet ones.
#pragma once

#include <string>

#include "accel/engine/graph.hpp"

namespace weaver::engine {

/// Default-domain opsets the importer accepts.
constexpr int onnx_min_opset = 11;
constexpr int onnx_max_opset = 19;

/// Reads `path` (and external-data files named by its initializers, relative
/// to it). Throws model_error naming the file, or the op type and node name:
/// not a ModelProto, an opset outside [11, 19], an unsupported op or
/// attribute, initializers whose data do not fit their shape. The graph is
/// returned as imported (no passes run); its one input is NCHW float.
graph import_onnx(const std::string& path);

} // namespace weaver::engine
