#include "accel/engine/kernels.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <unordered_map>

#include <omp.h>

#include <oneapi/dnnl/dnnl.hpp>

#include "accel/engine/page_block.hpp"
#include "accel/engine/parallel.hpp"
#include "accel/engine/simd.hpp"

namespace weaver::engine::kernels {

namespace {

inline float sigmoid(float x) { return 1.0f / (1.0f + std::exp(-x)); }

// e^x in a form the compiler vectorises (libm's expf is a call per element,
// which left Sigmoid and Softmax the costliest nodes of a YOLOv8 graph):
// x = n ln2 + r with |r| <= ln2 / 2, e^r by a degree-7 polynomial (Cephes'
// expf coefficients, about 2 ulp), 2^n put into the exponent bits. x is
// clamped to where the result is a normal float, so it saturates at about
// 1.2e-38 and 2.4e38 instead of reaching 0 and inf (1 / (1 + e^x) stays
// finite and within float rounding of the exact value).
inline float exp_vec(float x) {
  x = x < -87.3f ? -87.3f : x;
  x = x > 88.3f ? 88.3f : x;
  const float magic = 12582912.0f; // 1.5 * 2^23: adding it rounds to an integer
  const float n = (x * 1.44269504088896341f + magic) - magic;
  float r = x - n * 0.693359375f;
  r = r + n * 2.12194440e-4f;
  float p = 1.9875691500e-4f;
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  p = p * r * r + r + 1.0f;
  const int32_t bits = (static_cast<int32_t>(n) + 127) << 23;
  float scale;
  std::memcpy(&scale, &bits, sizeof scale);
  return p * scale;
}

inline float sigmoid_vec(float x) { return 1.0f / (1.0f + exp_vec(-x)); }

// The exp loops, each vectorised (AVX-512 / AVX2 / SSE2 builds, simd.hpp).
// GCC if-converts exp_vec's clamps only without -ftrapping-math, which
// CMakeLists.txt turns off for this file (the engine reads no FP flags).
WEAVER_SIMD_CLONES void sigmoid_run(float* x, int64_t n) {
  WEAVER_OMP_SIMD
  for (int64_t i = 0; i < n; ++i) x[i] = sigmoid_vec(x[i]);
}

WEAVER_SIMD_CLONES void silu_run(float* x, int64_t n) {
  WEAVER_OMP_SIMD
  for (int64_t i = 0; i < n; ++i) x[i] = x[i] * sigmoid_vec(x[i]);
}

// One softmax row: d = e^(s - max) / sum.
WEAVER_SIMD_CLONES void softmax_row(const float* s, float* d, int64_t n) {
  float mx = -std::numeric_limits<float>::infinity(), sum = 0;
  for (int64_t k = 0; k < n; ++k) mx = std::max(mx, s[k]);
  WEAVER_OMP_SIMD
  for (int64_t k = 0; k < n; ++k) d[k] = exp_vec(s[k] - mx);
  for (int64_t k = 0; k < n; ++k) sum += d[k];
  const float inv = 1.0f / sum;
  WEAVER_OMP_SIMD
  for (int64_t k = 0; k < n; ++k) d[k] *= inv;
}

// Elementwise loops run on `threads` OpenMP threads when there is enough
// work to pay for the fork (the session's thread count: 1 on card workers).
constexpr int64_t parallel_min = 1 << 15;

} // namespace

namespace {

dnnl::engine& cpu_engine() {
  static dnnl::engine e(dnnl::engine::kind::cpu, 0);
  return e;
}

// oneDNN fixes a primitive's thread count when it is created; the caller's
// count comes back on every way out (a refused shape throws).
struct omp_threads {
  int was = omp_get_max_threads();
  explicit omp_threads(int n) { omp_set_num_threads(std::max(n, 1)); }
  ~omp_threads() { omp_set_num_threads(was); }
  omp_threads(const omp_threads&) = delete;
  omp_threads& operator=(const omp_threads&) = delete;
};

// The activation as a oneDNN post-op; `scale` multiplies its result.
void append_activation(dnnl::post_ops& po, const attrs& a, float scale) {
  switch (a.activation) {
    case act::none:
      if (scale != 1.f) po.append_eltwise(scale, dnnl::algorithm::eltwise_linear, 1.f, 0.f);
      break;
    case act::relu:
      po.append_eltwise(scale, dnnl::algorithm::eltwise_relu, 0.f, 0.f);
      break;
    case act::leaky:
      po.append_eltwise(scale, dnnl::algorithm::eltwise_relu, a.alpha, 0.f);
      break;
    case act::sigmoid:
      po.append_eltwise(scale, dnnl::algorithm::eltwise_logistic, 0.f, 0.f);
      break;
    case act::exp:
      po.append_eltwise(scale, dnnl::algorithm::eltwise_exp, 0.f, 0.f);
      break;
    case act::clip:
      po.append_eltwise(scale, dnnl::algorithm::eltwise_clip, a.alpha, a.beta);
      break;
    case act::hard_sigmoid: // oneDNN 2.6 has no hardsigmoid: a linear step, then a clip
      po.append_eltwise(1.f, dnnl::algorithm::eltwise_linear, a.alpha, a.beta);
      po.append_eltwise(scale, dnnl::algorithm::eltwise_clip, 0.f, 1.f);
      break;
    case act::hard_swish:
      po.append_eltwise(scale, dnnl::algorithm::eltwise_hardswish, 0.f, 0.f);
      break;
    case act::sqrt:
      po.append_eltwise(scale, dnnl::algorithm::eltwise_sqrt, 0.f, 0.f);
      break;
    case act::silu: // oneDNN's swish is x * sigmoid(alpha x)
      po.append_eltwise(scale, dnnl::algorithm::eltwise_swish, 1.f, 0.f);
      break;
  }
}

using dnnl::memory;
using dt = memory::data_type;
using cf = dnnl::convolution_forward;

// What the f32 and int8 convolutions share: NHWC source and destination, our
// HWIO filter (grouped or not) as oneDNN sees it through explicit strides,
// and a descriptor that lets oneDNN choose the weights' layout.
struct conv_shape {
  memory::desc src, dst, user_w, bias;
  cf::desc desc;
};

conv_shape describe(const shape_t& is, dt src_t, const shape_t& ws, dt w_t, bool has_bias, dt bias_t, const attrs& a,
                    const shape_t& os, dt dst_t) {
  const int64_t G = a.groups, cg = ws[2], co = ws[3], kh = ws[0], kw = ws[1];
  memory::desc src({is[0], is[3], is[1], is[2]}, src_t, memory::format_tag::nhwc);
  memory::desc dst({os[0], os[3], os[1], os[2]}, dst_t, memory::format_tag::nhwc);
  memory::desc user_w = G == 1
    ? memory::desc({co, cg, kh, kw}, w_t, memory::dims{1, co, kw * cg * co, cg * co})
    : memory::desc({G, co / G, cg, kh, kw}, w_t, memory::dims{co / G, 1, co, kw * cg * co, cg * co});
  memory::desc any_w = G == 1 ? memory::desc({co, cg, kh, kw}, w_t, memory::format_tag::any)
                              : memory::desc({G, co / G, cg, kh, kw}, w_t, memory::format_tag::any);
  memory::desc bias_d({co}, bias_t, memory::format_tag::a);
  memory::dims strides{a.stride[0], a.stride[1]};
  memory::dims dil{a.dilation[0] - 1, a.dilation[1] - 1};
  memory::dims pl{a.pads[0], a.pads[1]}, pr{a.pads[2], a.pads[3]};
  const auto kind = dnnl::prop_kind::forward_inference;
  const auto algo = dnnl::algorithm::convolution_direct;
  return {src, dst, user_w, bias_d,
          has_bias ? cf::desc(kind, algo, src, any_w, bias_d, dst, strides, dil, pl, pr)
                   : cf::desc(kind, algo, src, any_w, dst, strides, dil, pl, pr)};
}

// oneDNN (2.6, AVX-512) lists its brgemm convolution first. With few input
// channels its direct jit kernel runs as fast or faster (0.78-0.98 of the
// time on the three ONNX benchmark models' shapes, one thread) and is
// generated for a fraction of the cost: one kernel instead of a brgemm
// kernel per tail and blocking, 1-7 ms of session creation each (README,
// ONNX figures). With 25-32 inputs, or for a 1x1 conv, it holds only while
// the outputs are few too (<= 16; 32 outputs: 1.04-1.12 of the time).
bool few_channels(const shape_t& ws, const attrs& a) {
  const int64_t kh = ws[0], kw = ws[1], cg = ws[2], co = ws[3];
  if (a.groups != 1) return false;
  if (kh * kw == 1) return cg <= 24 && co <= 16;
  return cg <= 24 || (cg <= 32 && co <= 16);
}

// A 1x1 convolution that is a matrix product of the NHWC rows: stride 1,
// no padding, no groups.
bool plain_1x1(const shape_t& ws, const attrs& a) {
  return ws[0] == 1 && ws[1] == 1 && a.groups == 1 && a.stride[0] == 1 && a.stride[1] == 1 && a.dilation[0] == 1
    && a.dilation[1] == 1 && a.pads[0] == 0 && a.pads[1] == 0 && a.pads[2] == 0 && a.pads[3] == 0;
}

} // namespace

// One built convolution: the primitive, its stream, its bound buffers and
// its own scratchpad (so sessions never share state).
struct conv_primitive {
  dnnl::primitive prim; // a convolution, or a matmul for a plain 1x1 one
  dnnl::stream stream;
  std::unordered_map<int, dnnl::memory> args;
  std::vector<uint8_t> scratch;
  page_block weights; // in huge pages when large: fewer page faults to fill, fewer TLB misses to stream
  std::string name;

  // Weights reordered once into the layout the kernel chose (for s8 inputs
  // oneDNN adds its compensation here), buffers bound.
  void build(const dnnl::primitive_desc_base& pd, dnnl::primitive p, const memory::desc& src,
             const memory::desc& user_w, const memory::desc& dst, const void* w, const void* in, void* out) {
    auto& eng = cpu_engine();
    name = pd.impl_info_str();
    prim = std::move(p);
    stream = dnnl::stream(eng);
    memory wsrc(user_w, eng, const_cast<void*>(w));
    const memory::desc wd = pd.weights_desc(0);
    weights = page_block(wd.get_size());
    memory wdst(wd, eng, weights.data());
    dnnl::reorder(wsrc, wdst).execute(stream, wsrc, wdst);
    stream.wait();
    scratch.assign(pd.scratchpad_desc().get_size() + 1, 0);
    args = {{DNNL_ARG_SRC, memory(src, eng, const_cast<void*>(in))},
            {DNNL_ARG_WEIGHTS, wdst},
            {DNNL_ARG_DST, memory(dst, eng, out)},
            {DNNL_ARG_SCRATCHPAD, memory(pd.scratchpad_desc(), eng, scratch.data())}};
  }
  void build(const cf::primitive_desc& pd, const conv_shape& d, const void* w, const void* in, void* out) {
    build(pd, cf(pd), d.src, d.user_w, d.dst, w, in, out);
  }
  void run() {
    prim.execute(stream, args);
    stream.wait();
  }
};

namespace {

bool as_matmul(conv_primitive& c, const shape_t& is, const shape_t& ws, const shape_t& os, const float* w,
               const float* in, const float* bias, float* out, const dnnl::primitive_attr& attr) {
  // NHWC rows of `ic` times the HWIO filter's ic x oc matrix: the same
  // bytes, no im2col. oneDNN's brgemm matmul runs it as fast as its 1x1
  // brgemm convolution and generates fewer kernels for it (README, ONNX
  // figures); anything else it offers (a reference loop) is not used.
  const int64_t m = is[0] * is[1] * is[2], k = ws[2], n = ws[3];
  const memory::desc src({m, k}, dt::f32, memory::format_tag::ab), dst({m, n}, dt::f32, memory::format_tag::ab);
  const memory::desc user_w({k, n}, dt::f32, memory::format_tag::ab), any_w({k, n}, dt::f32, memory::format_tag::any);
  const memory::desc bias_d({1, n}, dt::f32, memory::format_tag::ab);
  if (os[0] * os[1] * os[2] != m || os[3] != n) return false;
  dnnl::matmul::primitive_desc pd;
  try {
    pd = bias ? dnnl::matmul::primitive_desc(dnnl::matmul::desc(src, any_w, bias_d, dst), attr, cpu_engine())
              : dnnl::matmul::primitive_desc(dnnl::matmul::desc(src, any_w, dst), attr, cpu_engine());
  } catch (const dnnl::error&) {
    return false;
  }
  if (std::string(pd.impl_info_str()).rfind("brg", 0) != 0) return false;
  c.build(pd, dnnl::matmul(pd), src, user_w, dst, w, in, out);
  if (bias) c.args.insert({DNNL_ARG_BIAS, memory(bias_d, cpu_engine(), const_cast<float*>(bias))});
  return true;
}

} // namespace

struct conv2d::impl : conv_primitive {};

conv2d::conv2d(const shape_t& is, const float* in, const shape_t& ws, const float* w, const float* bias, const attrs& a,
               const shape_t& os, float* out, int threads)
  : p_(std::make_unique<impl>()) {
  omp_threads use(threads);
  auto d = describe(is, dt::f32, ws, dt::f32, bias != nullptr, dt::f32, a, os, dt::f32);
  dnnl::primitive_attr attr;
  attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);
  dnnl::post_ops po;
  append_activation(po, a, 1.f);
  attr.set_post_ops(po);
  cf::primitive_desc pd(d.desc, attr, cpu_engine());
  if (few_channels(ws, a) && std::string(pd.impl_info_str()).rfind("brgconv", 0) == 0) {
    // The next implementation in oneDNN's list that is its direct jit
    // kernel, else the first choice again (another ISA, another version).
    while (pd.next_impl())
      if (std::string(pd.impl_info_str()).rfind("jit:", 0) == 0) break;
    if (std::string(pd.impl_info_str()).rfind("jit:", 0) != 0) pd = cf::primitive_desc(d.desc, attr, cpu_engine());
  }
  if (std::string(pd.impl_info_str()).rfind("brgconv_1x1", 0) == 0 && plain_1x1(ws, a)
      && as_matmul(*p_, is, ws, os, w, in, bias, out, attr))
    return;
  p_->build(pd, d, w, in, out);
  if (bias) p_->args.insert({DNNL_ARG_BIAS, memory(d.bias, cpu_engine(), const_cast<float*>(bias))});
}

conv2d::~conv2d() = default;
conv2d::conv2d(conv2d&&) noexcept = default;
conv2d& conv2d::operator=(conv2d&&) noexcept = default;
void conv2d::run() { p_->run(); }
std::string conv2d::implementation() const { return p_->name; }

struct conv2d_s8::impl : conv_primitive {};

conv2d_s8::conv2d_s8(const shape_t& is, const void* in, const shape_t& ws, const int8_conv& q, const attrs& a,
                     const shape_t& os, void* out, int threads)
  : p_(std::make_unique<impl>()) {
  omp_threads use(threads);
  const int64_t G = a.groups, co = ws[3], kh = ws[0], kw = ws[1];
  if (static_cast<int64_t>(q.w_scale.size()) != co) throw model_error("conv2d_s8: one weight scale per channel");
  const dt src_t = q.in_unsigned ? dt::u8 : dt::s8;
  const dt dst_t = q.raw_acc ? dt::s32 : !q.out_codes ? dt::f32 : q.out_unsigned ? dt::u8 : dt::s8;
  const bool has_bias = !q.bias.empty() && !q.raw_acc;
  auto d = describe(is, src_t, ws, dt::s8, has_bias, dt::s32, a, os, dst_t);
  dnnl::primitive_attr attr;
  attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);
  if (!q.raw_acc) {
    // dst = act(in_scale * w_scale[c] * (acc + bias)) [/ out_scale]
    std::vector<float> oscale(static_cast<size_t>(co));
    for (int64_t c = 0; c < co; ++c) oscale[static_cast<size_t>(c)] = q.in_scale * q.w_scale[static_cast<size_t>(c)];
    attr.set_output_scales(1 << 1, oscale);
    dnnl::post_ops po;
    append_activation(po, a, q.out_codes ? 1.f / q.out_scale : 1.f);
    attr.set_post_ops(po);
  }
  cf::primitive_desc pd(d.desc, attr, cpu_engine());
  // oneDNN 2.6's brgemm int8 kxk convolution is often no faster than float
  // on NanoDet's layers (32->32 channels at 112x144: 20 ms int8 vs 4 ms f32,
  // 128->128 at 56x72: 16.5 vs 16.8; ONEDNN_VERBOSE=1 bench_engine --int8)
  // where its direct int8 kernel takes 1.7 and ~3 ms: skip it.
  if (G == 1 && kh * kw > 1)
    while (std::string(pd.impl_info_str()).rfind("brgconv:", 0) == 0 && pd.next_impl()) {}
  p_->build(pd, d, q.w, in, out);
  if (has_bias) {
    memory b(d.bias, cpu_engine());
    std::memcpy(b.get_data_handle(), q.bias.data(), q.bias.size() * sizeof(int32_t));
    p_->args.insert({DNNL_ARG_BIAS, b});
  }
}

conv2d_s8::~conv2d_s8() = default;
conv2d_s8::conv2d_s8(conv2d_s8&&) noexcept = default;
conv2d_s8& conv2d_s8::operator=(conv2d_s8&&) noexcept = default;
void conv2d_s8::run() { p_->run(); }
void conv2d_s8::run_into(void* out) {
  p_->args.at(DNNL_ARG_DST).set_data_handle(out);
  p_->run();
}
std::string conv2d_s8::implementation() const { return p_->name; }

void quantize_codes(const float* x, int64_t n, float scale, bool is_unsigned, void* out, int threads) {
  // Clamp, then round to nearest even by adding and removing 1.5 * 2^23
  // (exact for |v| < 2^22 in the default rounding mode): no libm call, so
  // the loop vectorises.
  const float inv = 1.0f / scale, magic = 12582912.0f;
  const float lo = is_unsigned ? 0.f : -128.f, hi = is_unsigned ? 255.f : 127.f;
  auto code = [&](float v) {
    v *= inv;
    v = v < lo ? lo : v;
    v = v > hi ? hi : v;
    return static_cast<int32_t>((v + magic) - magic);
  };
  parallel_ranges(n, threads, 32 * 1024, [&](int64_t i0, int64_t i1) {
    if (is_unsigned) {
      auto* d = static_cast<uint8_t*>(out);
      for (int64_t i = i0; i < i1; ++i) d[i] = static_cast<uint8_t>(code(x[i]));
    } else {
      auto* d = static_cast<int8_t*>(out);
      for (int64_t i = i0; i < i1; ++i) d[i] = static_cast<int8_t>(code(x[i]));
    }
  });
}

void dequantize_codes(const void* q, int64_t n, float scale, bool is_unsigned, float* out, int threads) {
  parallel_ranges(n, threads, 32 * 1024, [&](int64_t i0, int64_t i1) {
    if (is_unsigned) {
      const auto* s = static_cast<const uint8_t*>(q);
      for (int64_t i = i0; i < i1; ++i) out[i] = scale * static_cast<float>(s[i]);
    } else {
      const auto* s = static_cast<const int8_t*>(q);
      for (int64_t i = i0; i < i1; ++i) out[i] = scale * static_cast<float>(s[i]);
    }
  });
}

void apply_activation(float* x, int64_t n, act a, float alpha, float beta, int threads) {
  if (threads > 1 && n >= 2 * parallel_min) {
    // Contiguous slices, each a vectorised loop on one thread.
    parallel_ranges(n, threads, parallel_min,
                    [&](int64_t b, int64_t e) { apply_activation(x + b, e - b, a, alpha, beta, 1); });
    return;
  }
  switch (a) {
    case act::none:
      return;
    case act::relu:
      for (int64_t i = 0; i < n; ++i) x[i] = x[i] > 0 ? x[i] : 0;
      return;
    case act::leaky:
      for (int64_t i = 0; i < n; ++i) x[i] = x[i] > 0 ? x[i] : alpha * x[i];
      return;
    case act::sigmoid:
      sigmoid_run(x, n);
      return;
    case act::silu:
      silu_run(x, n);
      return;
    case act::exp:
      for (int64_t i = 0; i < n; ++i) x[i] = std::exp(x[i]);
      return;
    case act::clip:
      for (int64_t i = 0; i < n; ++i) x[i] = std::min(std::max(x[i], alpha), beta);
      return;
    case act::hard_sigmoid:
      for (int64_t i = 0; i < n; ++i) x[i] = std::min(std::max(alpha * x[i] + beta, 0.f), 1.f);
      return;
    case act::hard_swish:
      for (int64_t i = 0; i < n; ++i) x[i] *= std::min(std::max(x[i] / 6.f + 0.5f, 0.f), 1.f);
      return;
    case act::sqrt:
      for (int64_t i = 0; i < n; ++i) x[i] = std::sqrt(x[i]);
      return;
  }
}

namespace {

// out = x (op) y over n elements of equal shape, one loop per op so each
// vectorises (`omp simd`: out may be x or y itself, element for element, but
// GCC's -O2 would not add the check for it).
WEAVER_SIMD_CLONES void binary_same(op k, const float* x, const float* y, float* out, int64_t n) {
  switch (k) {
    case op::add:
      WEAVER_OMP_SIMD
      for (int64_t i = 0; i < n; ++i) out[i] = x[i] + y[i];
      return;
    case op::sub:
      WEAVER_OMP_SIMD
      for (int64_t i = 0; i < n; ++i) out[i] = x[i] - y[i];
      return;
    case op::mul:
      WEAVER_OMP_SIMD
      for (int64_t i = 0; i < n; ++i) out[i] = x[i] * y[i];
      return;
    case op::div:
      WEAVER_OMP_SIMD
      for (int64_t i = 0; i < n; ++i) out[i] = x[i] / y[i];
      return;
    default:
      for (int64_t i = 0; i < n; ++i) out[i] = std::pow(x[i], y[i]);
  }
}

} // namespace

void binary(op k, const float* x, const shape_t& xs, const float* y, const shape_t& ys, float* out, const shape_t& os,
            int threads) {
  const int64_t n = numel(os);
  auto f = [k](float p, float q) {
    return k == op::add ? p + q : k == op::sub ? p - q : k == op::div ? p / q : k == op::pow ? std::pow(p, q) : p * q;
  };
  if (xs == os && ys == os) {
    parallel_ranges(n, threads, parallel_min,
                    [&](int64_t b, int64_t e) { binary_same(k, x + b, y + b, out + b, e - b); });
    return;
  }
  // Broadcast strides: 0 along broadcast axes.
  const size_t r = os.size();
  auto bst = [&](const shape_t& s) {
    auto st = strides_of(s);
    for (size_t i = 0; i < r; ++i)
      if (s[i] == 1) st[i] = 0;
    return st;
  };
  auto sx = bst(xs), sy = bst(ys);
  // Innermost axis runs contiguously; walk the outer index odometer.
  const int64_t inner = os.back();
  std::vector<int64_t> idx(r, 0);
  for (int64_t base = 0; base < n; base += inner) {
    int64_t ox = 0, oy = 0;
    for (size_t d = 0; d + 1 < r; ++d) {
      ox += idx[d] * sx[d];
      oy += idx[d] * sy[d];
    }
    const int64_t ix = sx[r - 1], iy = sy[r - 1];
    for (int64_t i = 0; i < inner; ++i) out[base + i] = f(x[ox + i * ix], y[oy + i * iy]);
    for (int d = static_cast<int>(r) - 2; d >= 0; --d) {
      if (++idx[d] < os[d]) break;
      idx[d] = 0;
    }
  }
}

void pad(const float* in, const shape_t& is, const std::vector<int64_t>& pads, float value, float* out,
         const shape_t& os) {
  std::fill(out, out + numel(os), value);
  const size_t r = is.size();
  auto ost = strides_of(os);
  const int64_t inner = is.back();
  int64_t base_off = 0;
  for (size_t d = 0; d < r; ++d) base_off += pads[2 * d] * ost[d];
  std::vector<int64_t> idx(r, 0);
  const int64_t rows = numel(is) / std::max<int64_t>(inner, 1);
  for (int64_t row = 0; row < rows; ++row) {
    int64_t off = base_off;
    for (size_t d = 0; d + 1 < r; ++d) off += idx[d] * ost[d];
    std::memcpy(out + off, in + row * inner, sizeof(float) * inner);
    for (int d = static_cast<int>(r) - 2; d >= 0; --d) {
      if (++idx[d] < is[d]) break;
      idx[d] = 0;
    }
  }
}

void avg_pool_nhwc(const float* in, const shape_t& is, const attrs& a, float* out, const shape_t& os) {
  const int64_t N = is[0], H = is[1], W = is[2], C = is[3], Ho = os[1], Wo = os[2];
  for (int64_t n = 0; n < N; ++n)
    for (int64_t oy = 0; oy < Ho; ++oy)
      for (int64_t ox = 0; ox < Wo; ++ox) {
        float* d = out + ((n * Ho + oy) * Wo + ox) * C;
        std::fill(d, d + C, 0.0f);
        int64_t inside = 0, padded = 0;
        for (int ky = 0; ky < a.kernel[0]; ++ky) {
          int64_t y = oy * a.stride[0] - a.pads[0] + ky;
          if (y >= H + a.pads[2]) continue; // past the bottom padding (ceil-mode windows)
          for (int kx = 0; kx < a.kernel[1]; ++kx) {
            int64_t x = ox * a.stride[1] - a.pads[1] + kx;
            if (x >= W + a.pads[3]) continue;
            ++padded;
            if (y < 0 || y >= H || x < 0 || x >= W) continue;
            ++inside;
            const float* s = in + ((n * H + y) * W + x) * C;
            for (int64_t c = 0; c < C; ++c) d[c] += s[c];
          }
        }
        const float inv = 1.0f / static_cast<float>(std::max<int64_t>(a.count_include_pad ? padded : inside, 1));
        for (int64_t c = 0; c < C; ++c) d[c] *= inv;
      }
}

void global_avg_pool_nhwc(const float* in, const shape_t& is, float* out) {
  const int64_t N = is[0], HW = is[1] * is[2], C = is[3];
  for (int64_t n = 0; n < N; ++n) {
    float* d = out + n * C;
    std::fill(d, d + C, 0.0f);
    for (int64_t p = 0; p < HW; ++p) {
      const float* s = in + (n * HW + p) * C;
      for (int64_t c = 0; c < C; ++c) d[c] += s[c];
    }
    for (int64_t c = 0; c < C; ++c) d[c] /= static_cast<float>(HW);
  }
}

namespace {

// d = max(d, s) over n channels, NaN in s never winning (std::max's rule).
// The buffers never alias; `omp simd` vectorises the loop, which GCC's -O2
// cost model leaves scalar for want of an alias check (simd.hpp).
inline void max_into(float* __restrict d, const float* __restrict s, int64_t n) {
  WEAVER_OMP_SIMD
  for (int64_t c = 0; c < n; ++c) d[c] = d[c] < s[c] ? s[c] : d[c];
}

} // namespace

void max_pool_nhwc(const float* in, const shape_t& is, const attrs& a, float* out, const shape_t& os) {
  const int64_t N = is[0], H = is[1], W = is[2], C = is[3], Ho = os[1], Wo = os[2];
  for (int64_t n = 0; n < N; ++n)
    for (int64_t oy = 0; oy < Ho; ++oy) {
      // The window clipped to the image once per row and column, not per
      // tap: padding never wins the max, so it is simply left out.
      const int64_t wy = oy * a.stride[0] - a.pads[0];
      const int64_t y0 = std::max<int64_t>(wy, 0), y1 = std::min<int64_t>(wy + a.kernel[0], H);
      for (int64_t ox = 0; ox < Wo; ++ox) {
        const int64_t wx = ox * a.stride[1] - a.pads[1];
        const int64_t x0 = std::max<int64_t>(wx, 0), x1 = std::min<int64_t>(wx + a.kernel[1], W);
        float* d = out + ((n * Ho + oy) * Wo + ox) * C;
        if (y0 >= y1 || x0 >= x1) { // a window wholly in the padding (ceil mode)
          std::fill(d, d + C, -std::numeric_limits<float>::infinity());
          continue;
        }
        std::memcpy(d, in + ((n * H + y0) * W + x0) * C, sizeof(float) * static_cast<size_t>(C));
        for (int64_t y = y0; y < y1; ++y)
          for (int64_t x = y == y0 ? x0 + 1 : x0; x < x1; ++x) max_into(d, in + ((n * H + y) * W + x) * C, C);
      }
    }
}

void transpose(const float* in, const shape_t& is, const std::vector<int64_t>& perm, float* out, int threads) {
  const size_t r = is.size();
  shape_t os(r);
  for (size_t j = 0; j < r; ++j) os[j] = is[static_cast<size_t>(perm[j])];
  auto ist = strides_of(is);
  std::vector<int64_t> st(r); // input stride of each output axis
  for (size_t j = 0; j < r; ++j) st[j] = ist[static_cast<size_t>(perm[j])];
  const int64_t n = numel(os), inner = os.back(), step = st.back();
  // The output's last axis strided in the input (e.g. [N,A,B] -> [N,B,A]):
  // element by element, every read would touch a new cache line. Instead
  // tiles of the output axis the input is contiguous along (`k`) by the
  // output's last axis, so reads and writes both stay within a few lines.
  int k = -1;
  for (size_t j = 0; j + 1 < r; ++j)
    if (st[j] == 1 && os[j] > 1) k = static_cast<int>(j);
  if (r >= 2 && n > 0 && step != 1 && inner > 1 && k >= 0) {
    const auto ost = strides_of(os);
    constexpr int64_t tile = 32;
    const int64_t ka = os[static_cast<size_t>(k)], kst = ost[static_cast<size_t>(k)];
    const int64_t outer = n / (ka * inner), blocks = (ka + tile - 1) / tile;
#pragma omp parallel for num_threads(threads) schedule(static) if (threads > 1 && n >= parallel_min)
    for (int64_t job = 0; job < outer * blocks; ++job) {
      // The other axes' index from `job / blocks`, last fastest.
      int64_t rest = job / blocks, src = 0, dst = 0;
      for (int d = static_cast<int>(r) - 2; d >= 0; --d) {
        if (d == k) continue;
        const int64_t i = rest % os[static_cast<size_t>(d)];
        rest /= os[static_cast<size_t>(d)];
        src += i * st[static_cast<size_t>(d)];
        dst += i * ost[static_cast<size_t>(d)];
      }
      const int64_t a0 = (job % blocks) * tile, a1 = std::min(ka, a0 + tile);
      for (int64_t b0 = 0; b0 < inner; b0 += tile) {
        const int64_t b1 = std::min(inner, b0 + tile);
        for (int64_t a = a0; a < a1; ++a)
          for (int64_t b = b0; b < b1; ++b) out[dst + a * kst + b] = in[src + a + b * step];
      }
    }
    return;
  }
  std::vector<int64_t> idx(r, 0);
  for (int64_t base = 0; base < n; base += inner) {
    int64_t src = 0;
    for (size_t d = 0; d + 1 < r; ++d) src += idx[d] * st[d];
    for (int64_t i = 0; i < inner; ++i) out[base + i] = in[src + i * step];
    for (int d = static_cast<int>(r) - 2; d >= 0; --d) {
      if (++idx[d] < os[d]) break;
      idx[d] = 0;
    }
  }
}

void concat(const std::vector<const float*>& ins, const std::vector<shape_t>& shapes, int axis, float* out) {
  int64_t outer = 1;
  for (int d = 0; d < axis; ++d) outer *= shapes[0][static_cast<size_t>(d)];
  std::vector<int64_t> chunk;
  int64_t total = 0;
  for (const auto& s : shapes) {
    int64_t c = 1;
    for (size_t d = static_cast<size_t>(axis); d < s.size(); ++d) c *= s[d];
    chunk.push_back(c);
    total += c;
  }
  for (int64_t o = 0; o < outer; ++o) {
    float* d = out + o * total;
    for (size_t k = 0; k < ins.size(); ++k) {
      std::memcpy(d, ins[k] + o * chunk[k], sizeof(float) * chunk[k]);
      d += chunk[k];
    }
  }
}

void split(const float* in, const shape_t& is, int axis, const std::vector<float*>& outs,
           const std::vector<int64_t>& sizes) {
  int64_t outer = 1, inner = 1;
  for (int d = 0; d < axis; ++d) outer *= is[static_cast<size_t>(d)];
  for (size_t d = static_cast<size_t>(axis) + 1; d < is.size(); ++d) inner *= is[d];
  const int64_t total = is[static_cast<size_t>(axis)] * inner;
  for (int64_t o = 0; o < outer; ++o) {
    const float* s = in + o * total;
    for (size_t k = 0; k < outs.size(); ++k) {
      int64_t c = sizes[k] * inner;
      std::memcpy(outs[k] + o * c, s, sizeof(float) * c);
      s += c;
    }
  }
}

void resize_bilinear_nhwc(const float* in, const shape_t& is, bool half_pixel, bool align_corners, float* out,
                          const shape_t& os, float scale_h, float scale_w) {
  const int64_t N = is[0], H = is[1], W = is[2], C = is[3], Ho = os[1], Wo = os[2];
  auto scale = [&](int64_t in_size, int64_t out_size, float given) {
    if (align_corners && out_size > 1) return static_cast<float>(in_size - 1) / static_cast<float>(out_size - 1);
    if (given > 0) return 1.0f / given;
    return static_cast<float>(in_size) / static_cast<float>(out_size);
  };
  const float sy = scale(H, Ho, scale_h), sx = scale(W, Wo, scale_w);
  struct tap {
    int64_t lo, hi;
    float t;
  };
  auto taps = [&](int64_t out_size, int64_t in_size, float s) {
    std::vector<tap> v(static_cast<size_t>(out_size));
    for (int64_t o = 0; o < out_size; ++o) {
      float f = half_pixel ? (static_cast<float>(o) + 0.5f) * s - 0.5f : static_cast<float>(o) * s;
      float fl = std::floor(f);
      int64_t lo = std::max<int64_t>(static_cast<int64_t>(fl), 0);
      int64_t hi = std::min<int64_t>(static_cast<int64_t>(std::ceil(f)), in_size - 1);
      v[static_cast<size_t>(o)] = {std::min(lo, in_size - 1), hi, f - fl};
    }
    return v;
  };
  auto ty = taps(Ho, H, sy), tx = taps(Wo, W, sx);
  for (int64_t n = 0; n < N; ++n)
    for (int64_t y = 0; y < Ho; ++y) {
      const auto& a = ty[static_cast<size_t>(y)];
      const float* r0 = in + (n * H + a.lo) * W * C;
      const float* r1 = in + (n * H + a.hi) * W * C;
      for (int64_t x = 0; x < Wo; ++x) {
        const auto& b = tx[static_cast<size_t>(x)];
        float* d = out + ((n * Ho + y) * Wo + x) * C;
        for (int64_t c = 0; c < C; ++c) {
          float tl = r0[b.lo * C + c], tr = r0[b.hi * C + c];
          float bl = r1[b.lo * C + c], br = r1[b.hi * C + c];
          float top = tl + (tr - tl) * b.t, bot = bl + (br - bl) * b.t;
          d[c] = top + (bot - top) * a.t;
        }
      }
    }
}

void upsample_nhwc(const float* in, const shape_t& is, int sy, int sx, float* out) {
  const int64_t N = is[0], H = is[1], W = is[2], C = is[3];
  for (int64_t n = 0; n < N; ++n)
    for (int64_t y = 0; y < H * sy; ++y)
      for (int64_t x = 0; x < W * sx; ++x)
        std::memcpy(out + ((n * H * sy + y) * W * sx + x) * C, in + ((n * H + y / sy) * W + x / sx) * C,
                    sizeof(float) * C);
}

void reorg_nhwc(const float* in, const shape_t& is, int s, float* out, const shape_t& os) {
  // Darknet indexes the output with the input's (w,h,c) strides and reads
  // the input as if it were (w*s, h*s, c/s^2): flat CHW positions.
  const int64_t N = is[0], h = is[1], w = is[2], c = is[3];
  const int64_t oh = os[1], ow = os[2], oc = os[3];
  const int64_t out_c = c / (s * s);
  auto in_at = [&](int64_t n, int64_t flat) { // flat CHW index into the input
    int64_t ch = flat / (h * w), rem = flat % (h * w);
    return in[((n * h + rem / w) * w + rem % w) * c + ch];
  };
  for (int64_t n = 0; n < N; ++n)
    for (int64_t k = 0; k < c; ++k)
      for (int64_t j = 0; j < h; ++j)
        for (int64_t i = 0; i < w; ++i) {
          int64_t c2 = k % out_c, offset = k / out_c;
          int64_t w2 = i * s + offset % s, h2 = j * s + offset / s;
          int64_t src = w2 + w * s * (h2 + h * s * c2);
          int64_t dst = i + w * (j + h * k); // flat CHW index into the output
          int64_t ch = dst / (oh * ow), rem = dst % (oh * ow);
          out[((n * oh + rem / ow) * ow + rem % ow) * oc + ch] = in_at(n, src);
        }
}

void yolo_head_nhwc(const float* in, const shape_t& shape, int anchors, int classes, bool softmax_classes, float* out) {
  const int64_t cells = shape[0] * shape[1] * shape[2], per = 5 + classes;
  for (int64_t p = 0; p < cells; ++p) {
    const float* s = in + p * anchors * per;
    float* d = out + p * anchors * per;
    for (int a = 0; a < anchors; ++a, s += per, d += per) {
      d[0] = sigmoid(s[0]);
      d[1] = sigmoid(s[1]);
      d[2] = s[2];
      d[3] = s[3];
      d[4] = sigmoid(s[4]);
      if (softmax_classes) {
        float mx = -std::numeric_limits<float>::infinity(), sum = 0;
        for (int k = 0; k < classes; ++k) mx = std::max(mx, s[5 + k]);
        for (int k = 0; k < classes; ++k) sum += d[5 + k] = std::exp(s[5 + k] - mx);
        for (int k = 0; k < classes; ++k) d[5 + k] /= sum;
      } else {
        for (int k = 0; k < classes; ++k) d[5 + k] = sigmoid(s[5 + k]);
      }
    }
  }
}

void softmax_last(const float* in, const shape_t& shape, float* out, int threads) {
  const int64_t inner = shape.back(), rows = numel(shape) / std::max<int64_t>(inner, 1);
#pragma omp parallel for num_threads(threads) schedule(static) if (threads > 1 && rows * inner >= parallel_min)
  for (int64_t r = 0; r < rows; ++r) softmax_row(in + r * inner, out + r * inner, inner);
}

void slice(const float* in, const shape_t& in_shape, const std::vector<int64_t>& spec, float* out) {
  std::vector<int64_t> starts, steps;
  shape_t os;
  slice_geometry(spec, in_shape, starts, steps, os);
  const int64_t n = numel(os);
  if (n == 0) return;
  const auto ist = strides_of(in_shape);
  const size_t r = os.size();
  // Odometer over the output; the innermost axis is a strided run.
  std::vector<int64_t> idx(r, 0);
  const int64_t inner = r ? os[r - 1] : 1, inner_step = r ? steps[r - 1] * ist[r - 1] : 0;
  for (int64_t k = 0; k < n; k += inner) {
    int64_t src = 0;
    for (size_t j = 0; j + 1 < r; ++j) src += (starts[j] + idx[j] * steps[j]) * ist[j];
    if (r) src += starts[r - 1] * ist[r - 1];
    for (int64_t q = 0; q < inner; ++q) out[k + q] = in[src + q * inner_step];
    for (int j = static_cast<int>(r) - 2; j >= 0; --j) {
      if (++idx[static_cast<size_t>(j)] < os[static_cast<size_t>(j)]) break;
      idx[static_cast<size_t>(j)] = 0;
    }
  }
}

} // namespace weaver::engine::kernels
