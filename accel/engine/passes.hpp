// Graph passes. `optimise` runs them all in the order that makes each one
// see what it needs; the single passes are public for tests and for
// `weaver model inspect --passes`.
#pragma once

#include "accel/engine/graph.hpp"

namespace weaver::engine {

/// Evaluates nodes whose inputs are all constants (shape arithmetic such as
/// SparseToDense + AddV2 feeding a Reshape) and turns Reshape's shape input
/// into an attribute.
void fold_constants(graph& g);

/// Sets every value's logical shape from its inputs; resolves SAME padding,
/// -1 in reshapes and equal splits. Throws model_error naming the node on a
/// shape mismatch.
void infer_shapes(graph& g);
/// The same on the nodes whose inputs are `known` (per value; what it infers
/// is marked), skipping shape_fn and reshapes whose shape is still computed.
void infer_shapes(graph& g, std::vector<char>* known);

/// Resolves shape arithmetic on computed tensors (ONNX Shape -> Gather ->
/// ... -> Reshape): Shape nodes whose input's shape is known become
/// constants and fold_constants evaluates what follows, until none is left.
/// Throws model_error naming a node that needs tensor values, not shapes.
void fold_shapes(graph& g);

/// Rewrites the graph so that every value is stored in the order of its
/// shape (NHWC for images): transposes that only move the layout disappear
/// and axis attributes are mapped into storage order. A 4-D input whose
/// second axis is 1, 3 or 4 channels is taken to be NCHW and stored NHWC.
/// Real transposes remain only where data must move.
void remove_layout_transposes(graph& g);

/// Conv2D followed by a per-channel multiply and add (a batch norm) or a
/// bias add: folded into the filter and bias.
void fold_batch_norm_and_bias(graph& g);

/// A transpose, or a chain of transposes and reshapes starting with one
/// (each value's only reader), that leaves every element at its offset
/// (e.g. one moving only axes of size 1, or YOLOv8's DFL head: [N,A,64] ->
/// [N,64,A] -> [N,4,16,A] -> [N,A,4,16]): one reshape, which costs nothing.
void fold_data_free_transposes(graph& g);

/// x * sigmoid(x) (a Sigmoid whose only consumer multiplies it by its own
/// input, as YOLOv5/v8 spell SiLU): one silu activation, which
/// fuse_activation then folds into the conv before it.
void fuse_silu(graph& g);

/// Activation after a conv2d (the conv's only consumer): fused into it.
void fuse_activation(graph& g);

/// Zero Pad before conv2d, and pad before max_pool whose value can never
/// win (-inf-like): folded into the consumer's padding. Identity removed.
void fold_padding(graph& g);

/// Sets the batch of every input to `batch` (reshapes that name the model's
/// batch of 1 in their first dimension follow) and, when `height` and
/// `width` are set, the input's image size (fully convolutional models: fixed
/// resize sizes become scale factors measured at the native size); then
/// runs every pass.
void optimise(graph& g, int batch = 1, int height = 0, int width = 0);

} // namespace weaver::engine
