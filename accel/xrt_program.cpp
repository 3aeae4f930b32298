#include "accel/xrt_program.hpp"

#include <cstring>
#include <stdexcept>

#include "accel/xrt_protocol.hpp"
#include "schemas/xrt_program_generated.h"

namespace weaver {

namespace {

namespace fbx = weaver::xrt;
namespace xp = xrt_protocol;
using engine::model_error;

// The schema's enums mirror the engine's; a switch per direction keeps them
// honest (-Wswitch flags a new engine op that the schema lacks).
fbx::Op to_fb(engine::op k) {
  using engine::op;
  switch (k) {
    case op::conv2d:
      return fbx::Op::Conv2d;
    case op::add:
      return fbx::Op::Add;
    case op::sub:
      return fbx::Op::Sub;
    case op::mul:
      return fbx::Op::Mul;
    case op::activation:
      return fbx::Op::Activation;
    case op::pad:
      return fbx::Op::Pad;
    case op::max_pool:
      return fbx::Op::MaxPool;
    case op::transpose:
      return fbx::Op::Transpose;
    case op::concat:
      return fbx::Op::Concat;
    case op::split:
      return fbx::Op::Split;
    case op::reshape:
      return fbx::Op::Reshape;
    case op::resize_bilinear:
      return fbx::Op::ResizeBilinear;
    case op::upsample:
      return fbx::Op::Upsample;
    case op::reorg:
      return fbx::Op::Reorg;
    case op::yolo_head:
      return fbx::Op::YoloHead;
    case op::identity:
      return fbx::Op::Identity;
    case op::sparse_to_dense:
      return fbx::Op::SparseToDense;
    case op::softmax:
      return fbx::Op::Softmax;
    case op::div:
      return fbx::Op::Div;
    case op::avg_pool:
      return fbx::Op::AvgPool;
    case op::global_avg_pool:
      return fbx::Op::GlobalAvgPool;
    case op::slice:
      return fbx::Op::Slice;
    case op::pow:
      return fbx::Op::Pow;
    case op::shape_fn: // folded by compile, never in a compiled graph
      break;
  }
  throw model_error("xrt program: unknown engine op");
}

engine::op from_fb(fbx::Op k) {
  using engine::op;
  switch (k) {
    case fbx::Op::Conv2d:
      return op::conv2d;
    case fbx::Op::Add:
      return op::add;
    case fbx::Op::Sub:
      return op::sub;
    case fbx::Op::Mul:
      return op::mul;
    case fbx::Op::Activation:
      return op::activation;
    case fbx::Op::Pad:
      return op::pad;
    case fbx::Op::MaxPool:
      return op::max_pool;
    case fbx::Op::Transpose:
      return op::transpose;
    case fbx::Op::Concat:
      return op::concat;
    case fbx::Op::Split:
      return op::split;
    case fbx::Op::Reshape:
      return op::reshape;
    case fbx::Op::ResizeBilinear:
      return op::resize_bilinear;
    case fbx::Op::Upsample:
      return op::upsample;
    case fbx::Op::Reorg:
      return op::reorg;
    case fbx::Op::YoloHead:
      return op::yolo_head;
    case fbx::Op::Identity:
      return op::identity;
    case fbx::Op::SparseToDense:
      return op::sparse_to_dense;
    case fbx::Op::Softmax:
      return op::softmax;
    case fbx::Op::Div:
      return op::div;
    case fbx::Op::AvgPool:
      return op::avg_pool;
    case fbx::Op::GlobalAvgPool:
      return op::global_avg_pool;
    case fbx::Op::Slice:
      return op::slice;
    case fbx::Op::Pow:
      return op::pow;
  }
  throw std::runtime_error("xrt program: unknown op " + std::to_string(static_cast<int>(k)));
}

fbx::Act to_fb(engine::act a) {
  using engine::act;
  switch (a) {
    case act::none:
      return fbx::Act::None;
    case act::relu:
      return fbx::Act::Relu;
    case act::leaky:
      return fbx::Act::Leaky;
    case act::sigmoid:
      return fbx::Act::Sigmoid;
    case act::exp:
      return fbx::Act::Exp;
    case act::clip:
      return fbx::Act::Clip;
    case act::hard_sigmoid:
      return fbx::Act::HardSigmoid;
    case act::hard_swish:
      return fbx::Act::HardSwish;
    case act::sqrt:
      return fbx::Act::Sqrt;
    case act::silu:
      return fbx::Act::Silu;
  }
  throw model_error("xrt program: unknown engine activation");
}

engine::act from_fb(fbx::Act a) {
  using engine::act;
  switch (a) {
    case fbx::Act::None:
      return act::none;
    case fbx::Act::Relu:
      return act::relu;
    case fbx::Act::Leaky:
      return act::leaky;
    case fbx::Act::Sigmoid:
      return act::sigmoid;
    case fbx::Act::Exp:
      return act::exp;
    case fbx::Act::Clip:
      return act::clip;
    case fbx::Act::HardSigmoid:
      return act::hard_sigmoid;
    case fbx::Act::HardSwish:
      return act::hard_swish;
    case fbx::Act::Sqrt:
      return act::sqrt;
    case fbx::Act::Silu:
      return act::silu;
  }
  throw std::runtime_error("xrt program: unknown activation " + std::to_string(static_cast<int>(a)));
}

template <class T, size_t N>
std::vector<T> vec(const std::array<T, N>& a) {
  return std::vector<T>(a.begin(), a.end());
}

flatbuffers::Offset<fbx::Attrs> write_attrs(flatbuffers::FlatBufferBuilder& fb, const engine::attrs& a) {
  auto kernel = fb.CreateVector(vec(a.kernel));
  auto stride = fb.CreateVector(vec(a.stride));
  auto dilation = fb.CreateVector(vec(a.dilation));
  auto pads = fb.CreateVector(vec(a.pads));
  auto ints = fb.CreateVector(a.ints);
  auto scale = fb.CreateVector(vec(a.scale));
  return fbx::CreateAttrs(fb, kernel, stride, dilation, pads, a.same_padding, a.groups, a.axis, ints,
                          to_fb(a.activation), a.alpha, a.pad_value, scale, a.half_pixel, a.align_corners, a.anchors,
                          a.classes, a.softmax_classes, a.count_include_pad, a.copy_zero_dims, a.beta, a.same_lower,
                          a.ceil_mode);
}

size_t tensor_bytes(const engine::shape_t& s) { return static_cast<size_t>(engine::numel(s)) * sizeof(float); }

} // namespace

uint64_t xrt_checksum(const uint8_t* p, size_t n) {
  uint64_t h = 0xcbf29ce484222325ull;
  for (size_t i = 0; i < n; ++i) h = (h ^ p[i]) * 0x100000001b3ull;
  return h;
}

xrt_program::xrt_program(std::shared_ptr<const engine::model> m, const std::vector<xrt_tensor>& needed)
  : model_(std::move(m)) {
  const engine::graph& g = model_->ir();
  if (g.inputs.size() != 1) throw model_error("xrt program: the kernel takes models with one input");
  // This program (protocol version 1) is float32; running an int8 model's
  // graph as float would silently drop its quantization. int8 models compile
  // to the kernel's layer stream instead (hls_network, version 2).
  if (model_->int8())
    throw model_error("xrt program: version 1 runs float32 models only; int8 models take the version 2 layer stream");

  // Constants, each at an aligned offset of the weights buffer.
  size_t cursor = 0;
  std::vector<size_t> offset_of(g.values.size(), 0);
  for (size_t v = 0; v < g.values.size(); ++v) {
    const auto& val = g.values[v];
    if (!val.is_const || val.type != engine::dtype::f32) continue;
    size_t at = xp::align_up(cursor);
    offset_of[v] = at;
    constants_.push_back({at, val.data.f.data(), val.data.f.size()});
    cursor = at + val.data.f.size() * sizeof(float);
  }
  layout_.weights_bytes = std::max(xp::alignment, xp::align_up(cursor));

  layout_.input_shape = model_->input_shape();
  layout_.input_bytes = tensor_bytes(layout_.input_shape);
  layout_.input_stride = xp::align_up(layout_.input_bytes);

  // The host's tensors, each at an aligned offset of an image's block.
  struct resolved {
    int value;
    int graph_output;
  };
  std::vector<resolved> slots;
  cursor = 0;
  for (const auto& t : needed) {
    int v = -1;
    if (t.graph_output >= 0) {
      if (static_cast<size_t>(t.graph_output) >= g.outputs.size())
        throw model_error("xrt program: graph output " + std::to_string(t.graph_output) + " out of range");
      v = g.outputs[static_cast<size_t>(t.graph_output)];
      if (g.values[static_cast<size_t>(v)].name != t.name)
        throw model_error("xrt program: graph output " + std::to_string(t.graph_output) + " is '"
                          + g.values[static_cast<size_t>(v)].name + "', not '" + t.name + "'");
    } else {
      // Found by name, as a session finds intermediate values.
      v = g.find(t.name);
      if (v < 0 || g.values[static_cast<size_t>(v)].is_const)
        throw model_error("xrt program: no computed value '" + t.name + "' in the graph");
    }
    const auto& shape = g.values[static_cast<size_t>(v)].shape;
    xrt_layout::slot s{t.name, shape, xp::align_up(cursor), tensor_bytes(shape)};
    cursor = s.offset + s.bytes;
    layout_.outputs.push_back(s);
    slots.push_back({v, t.graph_output});
  }
  layout_.output_stride = std::max(xp::alignment, xp::align_up(cursor));

  std::vector<uint8_t> weights(layout_.weights_bytes);
  write_weights(weights.data());

  flatbuffers::FlatBufferBuilder fb(1 << 16);
  std::vector<flatbuffers::Offset<fbx::Value>> values;
  for (size_t v = 0; v < g.values.size(); ++v) {
    const auto& val = g.values[v];
    bool f32_const = val.is_const && val.type == engine::dtype::f32;
    bool i64_const = val.is_const && val.type == engine::dtype::i64;
    values.push_back(fbx::CreateValue(
      fb, fb.CreateString(val.name), val.type == engine::dtype::f32 ? fbx::DType::F32 : fbx::DType::I64,
      fb.CreateVector(val.shape), fb.CreateVector(val.order), val.producer, val.is_const, f32_const ? offset_of[v] : 0,
      i64_const ? fb.CreateVector(val.data.i) : 0));
  }
  std::vector<flatbuffers::Offset<fbx::Node>> nodes;
  for (const auto& n : g.nodes)
    nodes.push_back(fbx::CreateNode(fb, to_fb(n.kind), fb.CreateString(n.name), fb.CreateString(n.source_op),
                                    fb.CreateVector(n.in), fb.CreateVector(n.out), write_attrs(fb, n.a)));
  std::vector<flatbuffers::Offset<fbx::OutputSlot>> fslots;
  for (size_t i = 0; i < slots.size(); ++i) {
    const auto& s = layout_.outputs[i];
    fslots.push_back(fbx::CreateOutputSlot(fb, slots[i].value, slots[i].graph_output, fb.CreateString(s.name),
                                           fb.CreateVector(s.shape), s.offset, s.bytes));
  }
  auto root =
    fbx::CreateProgram(fb, xp::version, xp::alignment, fb.CreateString(g.format), fb.CreateVector(values),
                       fb.CreateVector(nodes), fb.CreateVector(g.inputs), fb.CreateVector(g.outputs),
                       fb.CreateVector(layout_.input_shape), layout_.input_stride, fb.CreateVector(fslots),
                       layout_.output_stride, layout_.weights_bytes, xrt_checksum(weights.data(), weights.size()));
  fbx::FinishProgramBuffer(fb, root);
  program_.assign(fb.GetBufferPointer(), fb.GetBufferPointer() + fb.GetSize());
  layout_.program_bytes = program_.size();
}

void xrt_program::write_weights(uint8_t* dst) const {
  std::memset(dst, 0, layout_.weights_bytes);
  for (const auto& c : constants_) std::memcpy(dst + c.offset, c.data, c.count * sizeof(float));
}

// ---------------------------------------------------------------- emulator

struct xrt_kernel_emulator::impl {
  struct slot {
    int graph_output;
    std::string name;
    size_t offset, bytes;
  };
  std::shared_ptr<const engine::model> model;
  std::unique_ptr<engine::session> session;
  std::vector<slot> slots;
  size_t input_bytes = 0, input_stride = 0, output_stride = 0;
};

namespace {

[[noreturn]] void bad_program(const std::string& why) { throw std::runtime_error("xrt program: " + why); }

template <class T, class F>
std::vector<T> read_vec(const flatbuffers::Vector<F>* v) {
  return v ? std::vector<T>(v->begin(), v->end()) : std::vector<T>{};
}

template <class A>
void read_fixed(const flatbuffers::Vector<typename A::value_type>* v, A& out, const char* what) {
  if (!v) return;
  if (v->size() != out.size()) bad_program(std::string("attribute ") + what + " has the wrong length");
  std::copy(v->begin(), v->end(), out.begin());
}

engine::attrs read_attrs(const fbx::Attrs* fa) {
  engine::attrs a;
  if (!fa) return a;
  read_fixed(fa->kernel(), a.kernel, "kernel");
  read_fixed(fa->stride(), a.stride, "stride");
  read_fixed(fa->dilation(), a.dilation, "dilation");
  read_fixed(fa->pads(), a.pads, "pads");
  read_fixed(fa->scale(), a.scale, "scale");
  a.same_padding = fa->same_padding();
  a.groups = fa->groups();
  a.axis = fa->axis();
  a.ints = read_vec<int64_t>(fa->ints());
  a.activation = from_fb(fa->activation());
  a.alpha = fa->alpha();
  a.pad_value = fa->pad_value();
  a.half_pixel = fa->half_pixel();
  a.align_corners = fa->align_corners();
  a.anchors = fa->anchors();
  a.classes = fa->classes();
  a.softmax_classes = fa->softmax_classes();
  a.count_include_pad = fa->count_include_pad();
  a.copy_zero_dims = fa->copy_zero_dims();
  a.beta = fa->beta();
  a.same_lower = fa->same_lower();
  a.ceil_mode = fa->ceil_mode();
  return a;
}

std::string str(const flatbuffers::String* s) { return s ? s->str() : std::string(); }

} // namespace

xrt_kernel_emulator::xrt_kernel_emulator(const uint8_t* program, size_t program_bytes, const uint8_t* weights,
                                         size_t weights_bytes, int threads)
  : p_(std::make_unique<impl>()) {
  flatbuffers::Verifier verifier(program, program_bytes);
  if (!fbx::VerifyProgramBuffer(verifier)) bad_program("the program buffer is not a weaver.xrt.Program");
  const fbx::Program* pr = fbx::GetProgram(program);
  if (pr->version() != xp::version)
    bad_program("protocol version " + std::to_string(pr->version()) + ", this kernel speaks "
                + std::to_string(xp::version));
  if (pr->weights_bytes() > weights_bytes)
    bad_program("expects " + std::to_string(pr->weights_bytes()) + " bytes of weights, the buffer has "
                + std::to_string(weights_bytes));
  if (xrt_checksum(weights, pr->weights_bytes()) != pr->weights_checksum())
    bad_program("the weights buffer does not hold this program's weights (checksum mismatch)");
  if (!pr->values() || !pr->nodes()) bad_program("no graph");

  // The graph, value for value and node for node; constants from the weights.
  engine::graph g;
  g.format = str(pr->format());
  const int nvalues = static_cast<int>(pr->values()->size());
  auto check_index = [&](int v, const char* what) {
    if (v < 0 || v >= nvalues) bad_program(std::string(what) + " refers to value " + std::to_string(v));
  };
  for (const fbx::Value* fv : *pr->values()) {
    engine::value v;
    v.name = str(fv->name());
    v.type = fv->type() == fbx::DType::F32 ? engine::dtype::f32 : engine::dtype::i64;
    v.shape = read_vec<int64_t>(fv->shape());
    v.order = read_vec<int>(fv->order());
    v.producer = fv->producer();
    v.is_const = fv->is_const();
    if (v.is_const) {
      v.data.type = v.type;
      v.data.shape = v.shape;
      if (v.type == engine::dtype::f32) {
        for (auto d : v.shape)
          if (d < 0) bad_program("constant '" + v.name + "' has a negative dimension");
        const size_t bytes = static_cast<size_t>(engine::numel(v.shape)) * sizeof(float);
        const uint64_t at = fv->weights_offset();
        if (at % xp::alignment != 0 || at > pr->weights_bytes() || bytes > pr->weights_bytes() - at)
          bad_program("constant '" + v.name + "' lies outside the weights");
        v.data.f.resize(bytes / sizeof(float));
        std::memcpy(v.data.f.data(), weights + at, bytes);
      } else {
        v.data.i = read_vec<int64_t>(fv->ints());
      }
    }
    g.values.push_back(std::move(v));
  }
  for (const fbx::Node* fn : *pr->nodes()) {
    engine::node n;
    n.kind = from_fb(fn->kind());
    n.name = str(fn->name());
    n.source_op = str(fn->source_op());
    n.in = read_vec<int>(fn->inputs());
    n.out = read_vec<int>(fn->outputs());
    for (int v : n.in) check_index(v, ("node '" + n.name + "'").c_str());
    for (int v : n.out) check_index(v, ("node '" + n.name + "'").c_str());
    n.a = read_attrs(fn->attrs());
    g.nodes.push_back(std::move(n));
  }
  for (const auto& v : g.values)
    if (v.producer >= static_cast<int>(g.nodes.size())) bad_program("value '" + v.name + "' has no producer");
  g.inputs = read_vec<int>(pr->inputs());
  g.outputs = read_vec<int>(pr->outputs());
  for (int v : g.inputs) check_index(v, "an input");
  for (int v : g.outputs) check_index(v, "an output");

  auto& s = *p_;
  try {
    s.model = engine::model::adopt(std::move(g), 1);
  } catch (const engine::model_error& e) {
    bad_program(e.what());
  }
  s.input_bytes = tensor_bytes(s.model->input_shape());
  if (read_vec<int64_t>(pr->input_shape()) != s.model->input_shape())
    bad_program("input shape differs from the graph's input");
  s.input_stride = pr->input_stride();
  s.output_stride = pr->output_stride();
  if (s.input_stride < s.input_bytes) bad_program("input stride smaller than an image");
  if (pr->slots())
    for (const fbx::OutputSlot* fs : *pr->slots()) {
      if (fs->offset() > s.output_stride || fs->bytes() > s.output_stride - fs->offset())
        bad_program("output slot '" + str(fs->name()) + "' outside the output block");
      if (fs->graph_output() >= static_cast<int>(s.model->ir().outputs.size()))
        bad_program("output slot '" + str(fs->name()) + "' names a missing graph output");
      s.slots.push_back({fs->graph_output(), str(fs->name()), fs->offset(), fs->bytes()});
    }
  s.session = std::make_unique<engine::session>(s.model, threads);
  for (const auto& sl : s.slots) {
    engine::shape_t shape;
    const float* src = nullptr;
    if (sl.graph_output >= 0) {
      src = s.session->output(static_cast<size_t>(sl.graph_output));
      shape = s.session->output_shape(static_cast<size_t>(sl.graph_output));
    } else {
      src = s.session->value(sl.name, &shape);
    }
    if (!src) bad_program("output slot '" + sl.name + "' is not a computed value");
    if (tensor_bytes(shape) != sl.bytes) bad_program("output slot '" + sl.name + "' has the wrong size");
  }
}

xrt_kernel_emulator::~xrt_kernel_emulator() = default;

const engine::model& xrt_kernel_emulator::model() const { return *p_->model; }

void xrt_kernel_emulator::run(const uint8_t* input, uint8_t* output, uint32_t batch) {
  auto& s = *p_;
  for (uint32_t b = 0; b < batch; ++b) {
    std::memcpy(s.session->input(), input + b * s.input_stride, s.input_bytes);
    s.session->run();
    uint8_t* block = output + b * s.output_stride;
    for (const auto& sl : s.slots) {
      const float* src =
        sl.graph_output >= 0 ? s.session->output(static_cast<size_t>(sl.graph_output)) : s.session->value(sl.name);
      std::memcpy(block + sl.offset, src, sl.bytes);
    }
  }
}

} // namespace weaver
