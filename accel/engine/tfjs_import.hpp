// TensorFlow.js graph-model importer: model.json (topology + weights
// manifest) and its binary weight shards, including the float16 and
// uint8/uint16 affine-quantised encodings a manifest may declare.
#pragma once

#include <string>

#include "accel/engine/graph.hpp"

namespace weaver::engine {

/// Reads `model_json` and the shards its manifest names (relative to it).
/// Throws model_error naming the file, node or weight on any problem:
/// unsupported ops (with node name), missing or truncated shards, bad shapes.
/// The graph is returned as imported (no passes run).
graph import_tfjs(const std::string& model_json);

/// IEEE half to float (subnormals, inf and NaN included).
float half_to_float(uint16_t h);

} // namespace weaver::engine
