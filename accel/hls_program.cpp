#include "accel/hls_program.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "accel/engine/int8_layers.hpp"
#include "accel/engine/int8_model.hpp"
#include "accel/engine/int8_plan.hpp"
#include "accel/engine/kernels.hpp"
#include "accel/xrt_protocol.hpp"

namespace weaver {

static_assert(hls::program_version == xrt_protocol::int8_version, "the kernel and the host agree on the protocol");

using engine::quant::fixed_multiplier;
using engine::quant::to_fixed;

hls::view hls_view(hls::space s, int32_t offset, const engine::shape_t& nhwc, bool is_signed, int32_t cstride,
                   int32_t coff) {
  if (nhwc.size() != 4 || nhwc[0] != 1)
    throw engine::model_error("hls_view: one NHWC image, got " + engine::to_string(nhwc));
  const auto c = static_cast<int32_t>(nhwc[3]);
  return {
    s,    offset,           static_cast<int32_t>(nhwc[1]), static_cast<int32_t>(nhwc[2]), c, cstride ? cstride : c,
    coff, is_signed ? 1 : 0};
}

int32_t hls_program::add_constant(const void* p, size_t bytes) {
  const size_t off = (weights_.size() + hls::axi_bytes - 1) / hls::axi_bytes * hls::axi_bytes;
  if (off + bytes > 0x7fffffff) throw std::runtime_error("hls program: weights beyond 2 GB");
  weights_.resize(off + bytes, 0);
  if (bytes) std::memcpy(weights_.data() + off, p, bytes);
  return static_cast<int32_t>(off);
}

namespace {

hls::layer base_layer(int32_t op, const hls::view& in, const hls::view& out) {
  hls::layer l{};
  l.op = op;
  l.in = in;
  l.out = out;
  l.lo = code_lo(out.is_signed);
  l.hi = code_hi(out.is_signed);
  l.b_off = -1;
  return l;
}

void set_window(hls::layer& l, const engine::attrs& a) {
  l.kh = a.kernel[0];
  l.kw = a.kernel[1];
  l.sh = a.stride[0];
  l.sw = a.stride[1];
  l.pt = a.pads[0];
  l.pl = a.pads[1];
  l.dh = a.dilation[0];
  l.dw = a.dilation[1];
  l.groups = a.groups;
}

} // namespace

void hls_program::add_conv(const hls::view& in, const hls::view& out, const engine::attrs& a,
                           const std::vector<int8_t>& w, const std::vector<int32_t>& bias,
                           const std::vector<fixed_multiplier>& m, const std::vector<fixed_multiplier>& m_neg) {
  auto l = base_layer(hls::op_conv, in, out);
  set_window(l, a);
  switch (a.activation) {
    case engine::act::none:
      l.act = hls::act_none;
      break;
    case engine::act::relu:
      l.act = hls::act_relu;
      break;
    case engine::act::leaky:
      l.act = hls::act_leaky;
      if (m_neg.size() != m.size()) throw engine::model_error("hls conv: leaky needs m_neg per channel");
      break;
    default:
      throw engine::model_error("hls conv: activation " + std::to_string(static_cast<int>(a.activation))
                                + " is not in the kernel");
  }
  if (m.size() != static_cast<size_t>(out.c)) throw engine::model_error("hls conv: one multiplier per channel");
  l.w_off = add_constant(w.data(), w.size());
  if (!bias.empty()) l.b_off = add_constant(bias.data(), bias.size() * 4);
  std::vector<int32_t> mw;
  for (size_t c = 0; c < m.size(); ++c) {
    const auto& n = m_neg.empty() ? m[c] : m_neg[c];
    mw.insert(mw.end(), {m[c].m0, m[c].shift, n.m0, n.shift});
  }
  l.m_off = add_constant(mw.data(), mw.size() * 4);
  layers_.push_back(l);
}

void hls_program::add_maxpool(const hls::view& in, const hls::view& out, const engine::attrs& a) {
  auto l = base_layer(hls::op_maxpool, in, out);
  set_window(l, a);
  layers_.push_back(l);
}

void hls_program::add_add(const hls::view& a, float sa, const hls::view& b, float sb, const hls::view& out, float so) {
  auto l = base_layer(hls::op_add, a, out);
  l.in2 = b;
  const auto m = engine::quant::add_multipliers_for(sa, sb, so);
  l.m0_a = m.a.m0;
  l.shift_a = m.a.shift;
  l.m0_b = m.b.m0;
  l.shift_b = m.b.shift;
  l.m0 = m.out.m0;
  l.shift = m.out.shift;
  layers_.push_back(l);
}

void hls_program::add_resize_bilinear(const hls::view& in, float s_in, const hls::view& out, float s_out,
                                      bool half_pixel, bool align_corners) {
  auto l = base_layer(hls::op_resize, in, out);
  l.mode = 1;
  const auto m = engine::quant::resize_multiplier(s_in, s_out);
  l.m0 = m.m0;
  l.shift = m.shift;
  // The engine's taps (quant::resize_taps), rows then columns.
  std::vector<int32_t> taps;
  for (const auto& t : engine::quant::resize_taps(in.h, out.h, half_pixel, align_corners))
    taps.insert(taps.end(), {t.lo, t.hi, t.frac});
  for (const auto& t : engine::quant::resize_taps(in.w, out.w, half_pixel, align_corners))
    taps.insert(taps.end(), {t.lo, t.hi, t.frac});
  l.tap_off = add_constant(taps.data(), taps.size() * 4);
  layers_.push_back(l);
}

void hls_program::add_copy(const hls::view& in, float s_in, const hls::view& out, float s_out) {
  auto l = base_layer(hls::op_copy, in, out);
  const auto m = to_fixed(static_cast<double>(s_in) / s_out);
  l.m0 = m.m0;
  l.shift = m.shift;
  layers_.push_back(l);
}

namespace {

void put_view(std::vector<int32_t>& w, const hls::view& v) {
  w.insert(w.end(), {v.space, v.off, v.h, v.w, v.c, v.cstride, v.coff, v.is_signed});
}

} // namespace

std::vector<uint8_t> hls_program::program(uint32_t input_stride, uint32_t output_stride, uint32_t input_bytes) const {
  std::vector<int32_t> w(hls::header_words, 0);
  w[0] = static_cast<int32_t>(hls::program_magic);
  w[1] = static_cast<int32_t>(hls::program_version);
  w[2] = static_cast<int32_t>(layers_.size());
  w[3] = static_cast<int32_t>(input_stride);
  w[4] = static_cast<int32_t>(output_stride);
  w[5] = static_cast<int32_t>(input_bytes);
  w[6] = static_cast<int32_t>(weights_.size());
  const auto sum = hls::weights_checksum(weights_.data(), static_cast<int32_t>(weights_.size()));
  w[7] = static_cast<int32_t>(sum.a);
  w[8] = static_cast<int32_t>(sum.b);
  for (const auto& l : layers_) {
    const size_t start = w.size();
    w.insert(w.end(), {l.op, l.act});
    put_view(w, l.in);
    put_view(w, l.in2);
    put_view(w, l.out);
    w.insert(w.end(),
             {l.lo,    l.hi,    l.kh,    l.kw, l.sh,    l.sw,   l.pt,      l.pl,   l.dh,      l.dw,   l.groups,
              l.w_off, l.b_off, l.m_off, l.m0, l.shift, l.m0_a, l.shift_a, l.m0_b, l.shift_b, l.mode, l.tap_off});
    w.resize(start + hls::layer_words, 0);
  }
  std::vector<uint8_t> bytes(w.size() * 4);
  for (size_t i = 0; i < w.size(); ++i)
    for (int k = 0; k < 4; ++k) bytes[4 * i + k] = static_cast<uint8_t>(static_cast<uint32_t>(w[i]) >> (8 * k));
  return bytes;
}

void hls_run(const std::vector<uint8_t>& program, const std::vector<uint8_t>& weights, const uint8_t* input,
             uint8_t* output, uint32_t batch) {
  hls_run(program.data(), weights.data(), input, output, batch);
}

std::string hls_status_text(int32_t status, int32_t layer) {
  static const char* const names[] = {"ok",
                                      "a program of another protocol (magic or version)",
                                      "more layers than the kernel takes",
                                      "a layer larger than the kernel's on-chip buffers",
                                      "a malformed layer",
                                      "a tensor or constant beyond its buffer",
                                      "weights that are not the program's (checksum)"};
  const int32_t known = static_cast<int32_t>(sizeof names / sizeof names[0]);
  return (status >= 0 && status < known ? names[status] : "unknown status " + std::to_string(status))
    + (layer >= 0 ? " (layer " + std::to_string(layer) + ")" : "");
}

void hls_run(const uint8_t* program, const uint8_t* weights, const uint8_t* input, uint8_t* output, uint32_t batch) {
  weaver_dnn(input, weights, program, output, batch);
  int32_t st = 0, layer = 0;
  std::memcpy(&st, output, 4);
  std::memcpy(&layer, output + 4, 4);
  if (st != hls::status_ok) throw std::runtime_error("weaver_dnn: " + hls_status_text(st, layer));
}

} // namespace weaver

namespace weaver {

using engine::model_error;
using engine::op;

hls_network::hls_network(std::shared_ptr<const engine::model> m) : m_(std::move(m)) {
  const engine::graph& g = m_->ir();
  const engine::int8_table* t = m_->int8();
  if (!t) throw model_error("weaver_dnn runs int8 models only: this one is float32 (detector.dnn.precision: int8)");
  // The kernel runs what the plan runs on codes, at the plan's scales (the
  // int8 CPU session's, so both compute the same codes).
  const auto plan = engine::plan_codes(g, *t);
  kv_.resize(g.values.size());
  f32_.resize(g.values.size());
  const int in = g.inputs.at(0);
  const auto& iv = g.values[static_cast<size_t>(in)];
  if (iv.shape.size() != 4 || iv.shape[0] != 1)
    throw model_error("weaver_dnn: one NHWC image in, got " + engine::to_string(iv.shape));
  const auto& ci = plan.values[static_cast<size_t>(in)];
  kv_[static_cast<size_t>(in)] = {true, hls_view(hls::space_input, 0, iv.shape, ci.is_signed), ci.scale};
  input_.assign(static_cast<size_t>(engine::numel(iv.shape)), 0.0f);
  codes_in_.assign(input_.size(), 0);
  auto alloc = [&](int v) {
    const auto& s = g.values[static_cast<size_t>(v)].shape;
    const auto& c = plan.values[static_cast<size_t>(v)];
    work_bytes_ = (work_bytes_ + hls::axi_bytes - 1) / hls::axi_bytes * hls::axi_bytes;
    kv_[static_cast<size_t>(v)] = {true, hls_view(hls::space_work, static_cast<int32_t>(work_bytes_), s, c.is_signed),
                                   c.scale};
    work_bytes_ += static_cast<uint32_t>(engine::numel(s));
    return kv_[static_cast<size_t>(v)];
  };
  for (size_t k = 0; k < g.nodes.size(); ++k) {
    const engine::node& n = g.nodes[k];
    if (plan.nodes[k]) {
      const int o = n.out[0];
      const kvalue x = kv_[static_cast<size_t>(n.in[0])];
      const kvalue out = alloc(o);
      switch (n.kind) {
        case op::conv2d: {
          const auto& p = t->convs.at(n.name);
          std::vector<fixed_multiplier> mul, mul_neg;
          engine::quant::conv_multipliers(x.scale, p.scale, out.scale, n.a, mul, mul_neg);
          prog_.add_conv(x.view, out.view, n.a, p.w, p.bias, mul, mul_neg);
          break;
        }
        case op::max_pool:
          prog_.add_maxpool(x.view, out.view, n.a);
          break;
        case op::resize_bilinear:
          prog_.add_resize_bilinear(x.view, x.scale, out.view, out.scale, n.a.half_pixel, n.a.align_corners);
          break;
        case op::add: {
          const kvalue& y = kv_[static_cast<size_t>(n.in[1])];
          prog_.add_add(x.view, x.scale, y.view, y.scale, out.view, out.scale);
          break;
        }
        default: { // concat on channels: each input requantized into its slice
          int32_t coff = 0;
          for (int v : n.in) {
            const kvalue& src = kv_[static_cast<size_t>(v)];
            hls::view slice = out.view;
            slice.c = src.view.c;
            slice.coff = coff;
            prog_.add_copy(src.view, src.scale, slice, out.scale);
            coff += src.view.c;
          }
        }
      }
      continue;
    }
    switch (n.kind) {
      case op::split:
      case op::activation:
      case op::reshape:
      case op::identity:
      case op::concat:
      case op::transpose:
      case op::add:
      case op::sub:
      case op::mul:
      case op::div:
      case op::pow:
      case op::yolo_head:
        break;
      default:
        throw model_error("weaver_dnn: node '" + n.name + "' runs neither in the kernel nor on its host side");
    }
    for (int v : n.in)
      if (kv_[static_cast<size_t>(v)].in_kernel) exported_.push_back(v);
    host_.push_back(&n);
  }
  for (int v : g.outputs)
    if (kv_[static_cast<size_t>(v)].in_kernel) exported_.push_back(v);
  work_bytes_ = (work_bytes_ + hls::axi_bytes - 1) / hls::axi_bytes * hls::axi_bytes;
  const auto in_bytes = static_cast<uint32_t>(codes_in_.size());
  input_stride_ = static_cast<uint32_t>(xrt_protocol::align_up(in_bytes));
  work_bytes_ = static_cast<uint32_t>(xrt_protocol::align_up(work_bytes_));
  program_ = prog_.program(input_stride_, work_bytes_, in_bytes);
  work_.assign(hls::status_bytes + work_bytes_, 0);
}

void hls_network::quantize(const float* x, uint8_t* codes) const {
  const kvalue& in = kv_[static_cast<size_t>(m_->ir().inputs.at(0))];
  engine::kernels::quantize_codes(x, static_cast<int64_t>(input_.size()), in.scale, !in.view.is_signed, codes);
}

void hls_network::run() {
  quantize(input_.data(), codes_in_.data());
  hls_run(program_, prog_.weights(), codes_in_.data(), work_.data(), 1);
  finish(codes_in_.data(), work_.data() + hls::status_bytes);
}

void hls_network::finish(const uint8_t* codes, const uint8_t* block) {
  const engine::graph& g = m_->ir();
  codes_ = codes;
  block_ = block;
  for (auto& f : f32_) f.clear();
  for (int v : exported_) value(g.values[static_cast<size_t>(v)].name);
  auto buf = [&](int v) -> std::vector<float>& {
    auto& f = f32_[static_cast<size_t>(v)];
    if (f.empty()) f.assign(static_cast<size_t>(engine::numel(g.values[static_cast<size_t>(v)].shape)), 0.0f);
    return f;
  };
  auto shape = [&](int v) -> const engine::shape_t& { return g.values[static_cast<size_t>(v)].shape; };
  auto src = [&](int v) -> const float* {
    if (g.values[static_cast<size_t>(v)].is_const) return g.values[static_cast<size_t>(v)].data.f.data();
    return f32_[static_cast<size_t>(v)].data();
  };
  for (const engine::node* n : host_) {
    const int o = n->out[0];
    switch (n->kind) {
      case op::split: {
        std::vector<float*> outs;
        for (int v : n->out) outs.push_back(buf(v).data());
        engine::kernels::split(src(n->in[0]), shape(n->in[0]), n->a.axis, outs, n->a.ints);
        break;
      }
      case op::activation:
        buf(o) = f32_[static_cast<size_t>(n->in[0])];
        engine::kernels::apply_activation(buf(o).data(), static_cast<int64_t>(buf(o).size()), n->a.activation,
                                          n->a.alpha);
        break;
      case op::reshape:
      case op::identity:
        buf(o) = f32_[static_cast<size_t>(n->in[0])];
        break;
      case op::transpose:
        engine::kernels::transpose(src(n->in[0]), shape(n->in[0]), n->a.ints, buf(o).data());
        break;
      case op::yolo_head: // Darknet's region / yolo output (yolov2-tiny)
        engine::kernels::yolo_head_nhwc(src(n->in[0]), shape(o), n->a.anchors, n->a.classes, n->a.softmax_classes,
                                        buf(o).data());
        break;
      case op::concat: {
        std::vector<const float*> ins;
        std::vector<engine::shape_t> shapes;
        for (int v : n->in) {
          ins.push_back(src(v));
          shapes.push_back(shape(v));
        }
        engine::kernels::concat(ins, shapes, n->a.axis, buf(o).data());
        break;
      }
      default:
        engine::kernels::binary(n->kind, src(n->in[0]), shape(n->in[0]), src(n->in[1]), shape(n->in[1]), buf(o).data(),
                                shape(o));
    }
  }
}

const uint8_t* hls_network::codes(const std::string& name, engine::code_type* type) const {
  const int v = m_->ir().find(name);
  if (v < 0 || !kv_[static_cast<size_t>(v)].in_kernel) return nullptr;
  const kvalue& k = kv_[static_cast<size_t>(v)];
  const uint8_t* base = k.view.space == hls::space_input ? codes_ : block_;
  if (!base) return nullptr;
  if (type) *type = {true, k.scale, k.view.is_signed != 0};
  return base + k.view.off;
}

const float* hls_network::value(const std::string& name) {
  const int v = m_->ir().find(name);
  if (v < 0) return nullptr;
  auto& f = f32_[static_cast<size_t>(v)];
  const kvalue& k = kv_[static_cast<size_t>(v)];
  if (f.empty() && k.in_kernel) { // dequantize the kernel's codes
    const size_t n = static_cast<size_t>(engine::numel(m_->ir().values[static_cast<size_t>(v)].shape));
    const uint8_t* base = k.view.space == hls::space_input ? codes_ : block_;
    if (!base) return nullptr; // before the first run
    f.assign(n, 0.0f);
    engine::kernels::dequantize_codes(base + k.view.off, static_cast<int64_t>(n), k.scale, !k.view.is_signed, f.data());
  }
  return f.empty() ? nullptr : f.data();
}

} // namespace weaver
