// ONNX export: a compiled (optimised) graph written as an ONNX model, so any
// model the engine imported (NanoDet from TF.js, ...) runs in other runtimes
// and the importer and engine can be checked against ONNX Runtime on real
// weights. The file keeps the engine's storage order: its input and outputs
// have the compiled model's shapes (NHWC for images); each NHWC image op is
// written as the NCHW ONNX op between two Transposes.
#pragma once

#include <string>

#include "accel/engine/graph.hpp"

namespace weaver::engine {

/// Writes `g` (optimised: shapes inferred, constants folded) to `path` as an
/// opset-13 ONNX model. Throws model_error naming the node for an op that has
/// no ONNX form here (Darknet's reorg and yolo_head) or a write failure.
void export_onnx(const graph& g, const std::string& path);

} // namespace weaver::engine
