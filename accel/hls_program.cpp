#include "accel/hls_program.hpp"

#include <cmath>
#include <cstring>

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
  const auto ma = to_fixed(256.0 * sa / so), mb = to_fixed(256.0 * sb / so), mo = to_fixed(1.0 / 256.0);
  l.m0_a = ma.m0;
  l.shift_a = ma.shift;
  l.m0_b = mb.m0;
  l.shift_b = mb.shift;
  l.m0 = mo.m0;
  l.shift = mo.shift;
  layers_.push_back(l);
}

void hls_program::add_resize_bilinear(const hls::view& in, float s_in, const hls::view& out, float s_out,
                                      bool half_pixel, bool align_corners) {
  auto l = base_layer(hls::op_resize, in, out);
  l.mode = 1;
  const auto m = to_fixed(static_cast<double>(s_in) / s_out / 65536.0);
  l.m0 = m.m0;
  l.shift = m.shift;
  // The engine's taps (kernels::resize_bilinear_nhwc), the fraction in Q8.
  std::vector<int32_t> taps;
  auto add_taps = [&](int32_t in_size, int32_t out_size) {
    const float s = align_corners && out_size > 1 ? static_cast<float>(in_size - 1) / static_cast<float>(out_size - 1)
                                                  : static_cast<float>(in_size) / static_cast<float>(out_size);
    for (int32_t o = 0; o < out_size; ++o) {
      const float f = half_pixel ? (static_cast<float>(o) + 0.5f) * s - 0.5f : static_cast<float>(o) * s;
      const float fl = std::floor(f);
      const int32_t lo = std::min(std::max(static_cast<int32_t>(fl), 0), in_size - 1);
      const int32_t hi = std::min(static_cast<int32_t>(std::ceil(f)), in_size - 1);
      taps.insert(taps.end(), {lo, std::max(hi, 0), static_cast<int32_t>(std::lround((f - fl) * 256.0f))});
    }
  };
  add_taps(in.h, out.h);
  add_taps(in.w, out.w);
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
  static const char* const names[] = {"ok",
                                      "a program of another protocol (magic or version)",
                                      "more layers than the kernel takes",
                                      "a layer larger than the kernel's on-chip buffers",
                                      "a malformed layer",
                                      "a tensor or constant beyond its buffer"};
  weaver_dnn(input, weights.data(), program.data(), output, batch);
  int32_t st = 0, layer = 0;
  std::memcpy(&st, output, 4);
  std::memcpy(&layer, output + 4, 4);
  if (st != hls::status_ok)
    throw std::runtime_error(std::string("weaver_dnn: ") + (st > 0 && st <= 5 ? names[st] : "unknown status")
                             + (layer >= 0 ? " (layer " + std::to_string(layer) + ")" : ""));
}

} // namespace weaver
