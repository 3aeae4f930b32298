// The engine's graph IR: values (tensors with shapes, a storage order and
// optional constant data) and nodes (ops with attributes). Importers turn
// TensorFlow.js and Darknet models into it, passes rewrite it, the executor
// runs it. ONNX models are NCHW: their importer wraps the NHWC image ops in
// transposes that the layout pass removes. Image tensors are logically NHWC for Darknet models and whatever
// the source says for TF.js ones; the layout pass decides storage order.
#pragma once

#include <array>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

namespace weaver::engine {

/// An import, pass or run failure; the message names the node and the reason.
struct model_error : std::runtime_error {
  using std::runtime_error::runtime_error;
};

/// An importer's file read whole; a model_error naming `what` if it cannot be opened.
std::string read_model_file(const std::string& path, const std::string& what);
/// The folder part of `path` with its trailing slash ("" for a bare name):
/// where a model's weight and external-data files are looked up.
std::string dir_of(const std::string& path);

using shape_t = std::vector<int64_t>;
int64_t numel(const shape_t& s);
std::string to_string(const shape_t& s);
/// Row-major element strides of a shape.
std::vector<int64_t> strides_of(const shape_t& s);

enum class dtype : uint8_t { f32, i64 };

/// Constant data. Integer tensors (shapes, axes, paddings) are held as int64.
struct tensor_data {
  dtype type = dtype::f32;
  shape_t shape;
  std::vector<float> f;
  std::vector<int64_t> i;
};

enum class op : uint8_t {
  conv2d, // NHWC in, weights HWIO [kh,kw,cin/groups,cout], fused bias+act
  add,
  sub,
  mul, // elementwise with numpy broadcasting
  activation, // unary: attrs.act
  pad, // constant pad: attrs.ints = before/after per axis
  max_pool, // NHWC, attrs.kernel/stride/pads (padding never wins the max)
  transpose, // attrs.ints = perm (out axis j = in axis perm[j])
  concat, // attrs.axis
  split, // attrs.axis, attrs.ints = sizes; one output per size
  reshape, // attrs.ints = target shape (one -1 allowed)
  resize_bilinear, // NHWC, attrs.ints = {out_h, out_w}, half_pixel / align_corners
  upsample, // NHWC nearest, attrs.stride = integer factors
  // (upsample and resize_bilinear: a second input, while present, is an ONNX
  // scales or sizes tensor computed in the graph; see set_resize_target)
  reorg, // Darknet's space-to-depth (its own channel order), attrs.stride
  yolo_head, // Darknet region/yolo activations per anchor (see yolo attrs)
  identity,
  sparse_to_dense, // constant-folded only: (indices, out shape, values, default)
  softmax, // over the last axis
  div, // elementwise with numpy broadcasting
  avg_pool, // NHWC, attrs.kernel/stride/pads; attrs.count_include_pad
  global_avg_pool, // NHWC: mean over H and W, out [N,1,1,C]
  slice, // attrs.ints = (axis, start, end, step) per sliced axis, ONNX's rules (slice_geometry)
  // ONNX shape arithmetic on a computed tensor (source_op Shape, Gather,
  // Unsqueeze, Squeeze, Cast, Floor or Ceil; see eval_shape_op): folded into a constant
  // once compile knows the shapes (fold_shapes); never runs.
  shape_fn,
  pow, // elementwise x ^ y with numpy broadcasting (ONNX Pow)
};
const char* op_name(op k);

// clip: min(max(x, alpha), beta); hard_sigmoid: clip(alpha x + beta, 0, 1);
// hard_swish: x * clip(x / 6 + 1 / 2, 0, 1) (ONNX's, and oneDNN's hardswish);
// silu: x * sigmoid(x) (YOLOv5/v8's Sigmoid-Mul pair, fused by fuse_silu).
enum class act : uint8_t { none, relu, leaky, sigmoid, exp, clip, hard_sigmoid, hard_swish, sqrt, silu };
const char* act_name(act a);

struct attrs {
  std::array<int, 2> kernel{1, 1};
  std::array<int, 2> stride{1, 1};
  std::array<int, 2> dilation{1, 1};
  std::array<int, 4> pads{0, 0, 0, 0}; // spatial: top, left, bottom, right
  bool same_padding = false; // TF "SAME": pads set by shape inference
  bool same_lower = false; // with same_padding: the odd pixel at the start (ONNX SAME_LOWER)
  bool ceil_mode = false; // pools: output size rounds up (ONNX ceil_mode; the extra cells are padding)
  int groups = 1;
  int axis = 0;
  std::vector<int64_t> ints;
  act activation = act::none;
  float alpha = 0.1f; // leaky slope; clip's minimum; hard_sigmoid's slope
  float beta = 0.0f; // clip's maximum; hard_sigmoid's offset
  float pad_value = 0.0f;
  // resize: out = in * scale when set (size-free), rounded; with axis 2 (an
  // ONNX file's scales, see set_resize_target) floored, and input
  // coordinates are output ones / scale, ONNX's rules.
  std::array<float, 2> scale{0, 0};
  bool half_pixel = false;
  bool align_corners = false;
  // yolo_head: `anchors` boxes per cell of (5 + classes) channels each;
  // logistic on x, y (and objectness + classes when !softmax_classes), a
  // softmax over the classes when softmax_classes (YOLOv2's region layer).
  int anchors = 0;
  int classes = 0;
  bool softmax_classes = false;
  // avg_pool: padded cells count in the divisor (ONNX count_include_pad).
  bool count_include_pad = false;
  // reshape: a 0 in the target copies the input's dimension (ONNX Reshape).
  bool copy_zero_dims = false;
};

struct value {
  std::string name;
  dtype type = dtype::f32;
  shape_t shape; // logical shape
  std::vector<int> order; // storage order: storage axis i = logical axis order[i]
  int producer = -1; // node index, -1 for inputs and constants
  bool is_const = false;
  tensor_data data; // when is_const
  shape_t storage_shape() const;
};

struct node {
  op kind = op::identity;
  std::string name;
  std::string source_op; // the op as the model file names it
  std::vector<int> in, out; // value indices
  attrs a;
};

struct graph {
  std::string format; // "tfjs", "darknet", "onnx"
  std::vector<value> values;
  std::vector<node> nodes; // topological order
  std::vector<int> inputs, outputs;

  int add_value(value v);
  int add_const(std::string name, tensor_data d);
  /// Appends a node; creates `outputs` fresh values named name, name:1, ...
  int add_node(op kind, std::string name, std::vector<int> in, attrs a = {}, int outputs = 1,
               std::string source_op = {});
  int find(const std::string& value_name) const; // -1 when absent
  /// Nodes reachable backwards from the outputs, in topological order;
  /// unreachable nodes and values lose their links (values stay, unused).
  void prune();
  /// Consumers of every value (node indices).
  std::vector<std::vector<int>> consumers() const;
};

/// A slice's full-rank geometry on an input of shape `in`: per axis the
/// first index and the step, and the output shape. `spec` is
/// (axis, start, end, step) per sliced axis with ONNX's Slice rules (negative
/// indices count from the end, out-of-range ones clamp, steps may be
/// negative). Throws model_error on a zero step or an axis out of range.
void slice_geometry(const std::vector<int64_t>& spec, const shape_t& in, std::vector<int64_t>& starts,
                    std::vector<int64_t>& steps, shape_t& out);

/// The slice of constant data (shape arithmetic: a Slice of a Shape).
tensor_data slice_constant(const tensor_data& t, const std::vector<int64_t>& spec);

/// ONNX shape arithmetic on constant `x`: Shape (attrs.ints = start, end),
/// Gather (attrs.axis; `indices`), Unsqueeze / Squeeze (attrs.ints = axes;
/// Squeeze of none drops every 1), Cast (attrs.axis = the ONNX data type),
/// Floor and Ceil.
/// Throws model_error with the reason.
tensor_data eval_shape_op(const std::string& type, const tensor_data& x, const tensor_data* indices, const attrs& a);

/// ONNX Resize's target into the attributes of an upsample (nearest) or
/// resize_bilinear node: `scales` ([1, 1, sh, sw], floats) when `is_scales`,
/// else `sizes` ([n, c, h, w], integers). Nearest takes integer factors
/// (sizes become factors in infer_shapes). Throws model_error with the
/// reason. The importer calls it on constant inputs, fold_constants on ones
/// computed in the graph (attrs.axis names which: 2 scales, 3 sizes).
void set_resize_target(op kind, const tensor_data& d, bool is_scales, attrs& a);

/// Constants concatenated along `axis`; model_error if they do not fit.
tensor_data concat_constants(const std::vector<const tensor_data*>& in, int64_t axis);

/// Human-readable dump: one line per input, node and output.
std::string describe(const graph& g);

} // namespace weaver::engine
